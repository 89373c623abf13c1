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
