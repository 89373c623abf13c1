// Object metadata and attributes <-> HTTP headers, through a per-cloud header config (S3 `x-amz-meta-`, Azure
// `x-ms-meta-`, GCS `x-goog-meta-`; the version and storage-class headers differ too). The standard content headers
// are the same everywhere.
import type { Attributes, ObjectMeta } from "../../ObjectStore.js"
import type { Headers } from "../http/transport.js"
import { header } from "../http/transport.js"

export interface HeaderConfig {
  /** Prefix of user metadata headers, lowercase, e.g. `x-amz-meta-`. */
  readonly metadataPrefix: string
  /** The header holding the object's version, if the cloud has versions. */
  readonly versionHeader?: string | undefined
  /** The header holding the storage class (tier), if the cloud has one. */
  readonly storageClassHeader?: string | undefined
}

type MutableAttributes = { -readonly [K in keyof Attributes]: Attributes[K] }

// Attribute -> header, for the headers every cloud names the same.
const standard: ReadonlyArray<readonly [keyof Attributes & string, string]> = [
  ["contentType", "content-type"],
  ["contentDisposition", "content-disposition"],
  ["contentEncoding", "content-encoding"],
  ["contentLanguage", "content-language"],
  ["cacheControl", "cache-control"]
]

/** The metadata of an object from a GET or HEAD answer (`size` comes from the caller, who checked the ranges). */
export const metaFrom = (config: HeaderConfig, path: string, headers: Headers, size: number): ObjectMeta => {
  const lastModified = header(headers, "last-modified")
  return {
    path,
    lastModified: lastModified === undefined ? new Date(0) : new Date(lastModified),
    size,
    eTag: header(headers, "etag"),
    version: config.versionHeader === undefined ? undefined : header(headers, config.versionHeader)
  }
}

/** The attributes (content headers, storage class, user metadata) of a GET or HEAD answer. */
export const attributesFrom = (config: HeaderConfig, headers: Headers): Attributes => {
  const attributes: MutableAttributes = {}
  for (const [key, name] of standard) {
    const value = header(headers, name)
    if (value !== undefined) (attributes as Record<string, unknown>)[key] = value
  }
  if (config.storageClassHeader !== undefined) {
    const value = header(headers, config.storageClassHeader)
    if (value !== undefined) attributes.storageClass = value
  }
  const prefix = config.metadataPrefix
  let metadata: Record<string, string> | undefined
  for (const name in headers) {
    const value = headers[name]
    if (value !== undefined && name.startsWith(prefix)) {
      ;(metadata ??= {})[name.slice(prefix.length)] = typeof value === "string" ? value : value.join(",")
    }
  }
  if (metadata !== undefined) attributes.metadata = metadata
  return attributes
}

/** Adds the headers of attributes to `into` (user metadata keys lowercased, as HTTP/1.1 servers store them). */
export const attributeHeaders = (
  config: HeaderConfig,
  attributes: Attributes,
  into: Record<string, string>
): Record<string, string> => {
  for (const [key, name] of standard) {
    const value = attributes[key]
    if (typeof value === "string") into[name] = value
  }
  if (attributes.storageClass !== undefined && config.storageClassHeader !== undefined) {
    into[config.storageClassHeader] = attributes.storageClass
  }
  if (attributes.metadata !== undefined) {
    for (const key in attributes.metadata) into[config.metadataPrefix + key.toLowerCase()] = attributes.metadata[key]
  }
  return into
}

// -- values that cannot go on the wire

/** A header name as HTTP allows it (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/** A header value as HTTP/1.1 can carry it: visible Latin-1, spaces and tabs; no CR, LF, NUL or other controls. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

export const isHeaderName = (name: string): boolean => TOKEN.test(name)
export const isHeaderValue = (value: string): boolean => FIELD_VALUE.test(value)

/** Whether a string is well-formed UTF-16 (no lone surrogate): only then can it be UTF-8- or percent-encoded. */
export const isWellFormed = (value: string): boolean =>
  !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)

/** The name of the first header of `headers` that cannot be sent (a bad name or value), or undefined. */
export const unsendableHeader = (headers: Record<string, string>): string | undefined => {
  for (const name in headers) {
    const value = headers[name]
    if (!TOKEN.test(name) || typeof value !== "string" || !FIELD_VALUE.test(value)) return name
  }
  return undefined
}

const why = (value: string) =>
  /[\r\n]/.test(value)
    ? "holds a line break"
    : /[\x00-\x08\x0a-\x1f\x7f]/.test(value)
    ? "holds a control character"
    : "holds a character HTTP headers cannot carry (beyond Latin-1)"

/** What is wrong with a value that goes into a header, or undefined. */
export const headerValueProblem = (value: unknown): string | undefined =>
  typeof value !== "string" ? "is not a string" : FIELD_VALUE.test(value) ? undefined : why(value)

/**
 * The first attribute that cannot be sent as a header, as `[field, problem]`: content headers, storage class, user
 * metadata names (HTTP tokens) and values. For `InvalidConfig` before any request.
 */
export const attributesProblem = (attributes: Attributes | undefined): readonly [string, string] | undefined => {
  if (attributes === undefined) return undefined
  for (const [key] of standard) {
    const value = attributes[key]
    if (value === undefined) continue
    const problem = headerValueProblem(value)
    if (problem !== undefined) return [`attributes.${key}`, problem]
  }
  if (attributes.storageClass !== undefined) {
    const problem = headerValueProblem(attributes.storageClass)
    if (problem !== undefined) return ["attributes.storageClass", problem]
  }
  if (attributes.metadata !== undefined) {
    for (const key in attributes.metadata) {
      if (!TOKEN.test(key)) {
        return [`attributes.metadata`, `the key ${JSON.stringify(key)} is not a header name (letters, digits, -_.)`]
      }
      const problem = headerValueProblem(attributes.metadata[key])
      if (problem !== undefined) return [`attributes.metadata.${key}`, problem]
    }
  }
  return undefined
}

/** The first tag that cannot be encoded (a lone surrogate), as `[field, problem]`. */
export const tagsProblem = (
  tags: Readonly<Record<string, string>> | undefined
): readonly [string, string] | undefined => {
  if (tags === undefined) return undefined
  for (const key in tags) {
    if (!isWellFormed(key)) return ["tags", `a tag key is not well-formed unicode (a lone surrogate)`]
    const value = tags[key]
    if (typeof value !== "string" || !isWellFormed(value)) {
      return [`tags.${key}`, "is not well-formed unicode (a lone surrogate)"]
    }
  }
  return undefined
}
