// Range and conditional request headers of a GET, and the Content-Range of its answer (RFC 9110), the same for
// every cloud.
import type { ByteRange, GetOptions } from "../../ObjectStore.js"

export const rangeHeader = (range: ByteRange): string => {
  if ("suffix" in range) return `bytes=-${range.suffix}`
  if ("offset" in range) {
    return range.length === undefined
      ? `bytes=${range.offset}-`
      : `bytes=${range.offset}-${range.offset + range.length - 1}`
  }
  return `bytes=${range.start}-${range.end - 1}`
}

/** "bytes 0-9/100" as an exclusive range and the total size (undefined for "*"); undefined when malformed. */
export const parseContentRange = (
  value: string | undefined
): { readonly start: number; readonly end: number; readonly size: number | undefined } | undefined => {
  const match = value === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim())
  if (match === null) return undefined
  return { start: Number(match[1]), end: Number(match[2]) + 1, size: match[3] === "*" ? undefined : Number(match[3]) }
}

/**
 * The entity tags of an If-Match / If-None-Match value (RFC 9110 13.1.1): `*`, or a comma-separated list of
 * (possibly weak) quoted tags. A bare token is read as the tag it names, as a single value always was.
 */
export type ETagCondition = "*" | ReadonlyArray<string>

export const parseETags = (value: string): ETagCondition => {
  const trimmed = value.trim()
  if (trimmed === "*") return "*"
  const tags: Array<string> = []
  // Commas may appear inside a quoted tag: split on commas outside quotes only.
  let current = ""
  let quoted = false
  for (const c of trimmed) {
    if (c === "\"") quoted = !quoted
    if (c === "," && !quoted) {
      if (current.trim() !== "") tags.push(current.trim())
      current = ""
    } else {
      current += c
    }
  }
  if (current.trim() !== "") tags.push(current.trim())
  return tags
}

/**
 * The opaque tag without its weakness marker and quotes, and whether it is weak. Only `W/` before a quote marks a
 * weak tag (RFC 9110 8.8.3): a bare token may itself begin with `W/` (the GCS emulator's base64 ETags do, 1 in 4096).
 */
const opaque = (tag: string): { readonly weak: boolean; readonly value: string } => {
  const weak = tag.startsWith("W/\"")
  const rest = weak ? tag.slice(2) : tag
  return { weak, value: rest.length >= 2 && rest.startsWith("\"") && rest.endsWith("\"") ? rest.slice(1, -1) : rest }
}

/**
 * Whether an object that exists, with ETag `current` (undefined when the answer had none), matches a condition: strong comparison
 * for If-Match (a weak tag matches nothing), weak comparison for If-None-Match.
 */
export const matches = (condition: ETagCondition, current: string | undefined, strong: boolean): boolean => {
  // `*` is about the object existing, which an answer proves, ETag or not.
  if (condition === "*") return true
  if (current === undefined) return false
  const have = opaque(current)
  if (strong && have.weak) return false
  return condition.some((tag) => {
    const want = opaque(tag)
    return want.value === have.value && (!strong || !want.weak)
  })
}

/**
 * A condition the client evaluates rather than the server: `*` (some servers, RGW among them, ignore it) and lists
 * of more than one tag (RGW reads only the first). A single tag is sent as it was given.
 */
const clientSide = (value: string | undefined): ETagCondition | undefined => {
  if (value === undefined) return undefined
  const parsed = parseETags(value)
  return parsed === "*" || parsed.length > 1 ? parsed : undefined
}

/** The If-Match / If-None-Match conditions of a GET that the client evaluates on the answer. */
export interface ClientConditions {
  readonly ifMatch: ETagCondition | undefined
  readonly ifNoneMatch: ETagCondition | undefined
}

export const clientConditions = (options: GetOptions): ClientConditions => ({
  ifMatch: clientSide(options.ifMatch),
  ifNoneMatch: clientSide(options.ifNoneMatch)
})

/**
 * The range and conditional headers of a GET. A condition evaluated by the client is not sent, and neither is the
 * date condition it takes precedence over where the date could change the answer (RFC 9110 13.2.2: If-Unmodified-Since is ignored when If-Match is present,
 * If-Modified-Since when If-None-Match is): the client then checks the answer's ETag. A missing object fails with
 * 404 either way, which is what If-Match does and what If-None-Match lets through as a miss.
 */
export const getHeaders = (options: GetOptions): Record<string, string> => {
  const headers: Record<string, string> = {}
  const client = clientConditions(options)
  if (options.range !== undefined) headers.range = rangeHeader(options.range)
  if (options.ifMatch !== undefined && client.ifMatch === undefined) headers["if-match"] = options.ifMatch
  if (options.ifNoneMatch !== undefined && client.ifNoneMatch === undefined) {
    headers["if-none-match"] = options.ifNoneMatch
  }
  // With If-None-Match: * an existing object fails whatever the date says: the date may go along.
  if (options.ifModifiedSince !== undefined && (client.ifNoneMatch === undefined || client.ifNoneMatch === "*")) {
    headers["if-modified-since"] = options.ifModifiedSince.toUTCString()
  }
  if (options.ifUnmodifiedSince !== undefined && client.ifMatch === undefined) {
    headers["if-unmodified-since"] = options.ifUnmodifiedSince.toUTCString()
  }
  return headers
}
