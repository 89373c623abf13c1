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

const isAny = (value: string | undefined) => value !== undefined && value.trim() === "*"

/**
 * The range and conditional headers of a GET. `*` in If-Match / If-None-Match is left to the client (some servers,
 * RGW among them, ignore it): If-Match: * holds for any object, If-None-Match: * for none, and a missing object fails
 * with 404 either way.
 */
export const getHeaders = (options: GetOptions): Record<string, string> => {
  const headers: Record<string, string> = {}
  if (options.range !== undefined) headers.range = rangeHeader(options.range)
  if (options.ifMatch !== undefined && !isAny(options.ifMatch)) headers["if-match"] = options.ifMatch
  if (options.ifNoneMatch !== undefined && !isAny(options.ifNoneMatch)) headers["if-none-match"] = options.ifNoneMatch
  if (options.ifModifiedSince !== undefined) headers["if-modified-since"] = options.ifModifiedSince.toUTCString()
  if (options.ifUnmodifiedSince !== undefined) headers["if-unmodified-since"] = options.ifUnmodifiedSince.toUTCString()
  return headers
}

/** Whether the caller asked for If-None-Match: *, which the client evaluates (any existing object fails it). */
export const noneMatchAny = (options: GetOptions): boolean => isAny(options.ifNoneMatch)
