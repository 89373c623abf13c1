// Byte range rules shared by every store: validation before I/O, resolution against an object's size, and the
// coalescing of nearby ranges into fewer requests (as object_store does for get_ranges).
import * as Either from "effect/Either"
import type { ByteRange, ResolvedRange } from "../ObjectStore.js"

/** Why a range is malformed, or undefined. Checked before any I/O. */
export const problem = (range: ByteRange): string | undefined => {
  const isCount = (n: unknown) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0
  if ("suffix" in range) {
    return isCount(range.suffix) && range.suffix > 0
      ? undefined
      : `suffix must be a positive integer, got ${String(range.suffix)}`
  }
  if ("offset" in range) {
    if (!isCount(range.offset)) return `offset must be a non-negative integer, got ${String(range.offset)}`
    if (range.length !== undefined && (!isCount(range.length) || range.length === 0)) {
      return `length must be a positive integer, got ${String(range.length)}`
    }
    return undefined
  }
  if (!isCount(range.start)) return `start must be a non-negative integer, got ${String(range.start)}`
  if (!isCount(range.end)) return `end must be a non-negative integer, got ${String(range.end)}`
  if (range.end <= range.start) return `end (${range.end}) must be greater than start (${range.start})`
  return undefined
}

/** A readable form for messages. */
export const show = (range: ByteRange): string =>
  "suffix" in range
    ? `last ${range.suffix} bytes`
    : "offset" in range
    ? range.length === undefined ? `bytes ${range.offset}-` : `bytes ${range.offset}+${range.length}`
    : `bytes ${range.start}..${range.end}`

/** The absolute, bounded form of a valid range: `end` is exclusive. Unbounded ends become `undefined`. */
export const bounds = (range: ByteRange): { readonly start: number; readonly end: number | undefined } =>
  "suffix" in range
    ? { start: -range.suffix, end: undefined }
    : "offset" in range
    ? { start: range.offset, end: range.length === undefined ? undefined : range.offset + range.length }
    : range

/**
 * Resolves a valid range against an object of `size` bytes: an end past the object is cut to its size, a start at
 * or past the end is unsatisfiable (as HTTP 416), a suffix longer than the object is the whole object, and no range
 * of an empty object is satisfiable.
 */
export const resolve = (range: ByteRange, size: number): Either.Either<ResolvedRange, string> => {
  // An empty object has no byte to satisfy any range with, a suffix included (HTTP answers 416).
  if (size === 0) return Either.left(`${show(range)} of an empty object`)
  if ("suffix" in range) return Either.right({ start: Math.max(0, size - range.suffix), end: size })
  const b = bounds(range)
  if (b.start >= size) {
    return Either.left(`${show(range)} starts at or past the end of the object (${size} bytes)`)
  }
  return Either.right({ start: b.start, end: b.end === undefined ? size : Math.min(b.end, size) })
}

/** Bounded ranges only: getRanges needs to know where each one ends. */
export type Bounded = { readonly start: number; readonly end: number }

/**
 * Merges ranges whose gap is at most `coalesce` bytes. Returns the merged ranges in order of start, and for each
 * input range the index of the merged range holding it.
 */
export const coalesce = (
  ranges: ReadonlyArray<Bounded>,
  gap: number
): { readonly merged: ReadonlyArray<Bounded>; readonly owner: ReadonlyArray<number> } => {
  const order = ranges.map((_, i) => i).sort((a, b) => ranges[a].start - ranges[b].start)
  const merged: Array<{ start: number; end: number }> = []
  const owner: Array<number> = new Array(ranges.length)
  for (const i of order) {
    const r = ranges[i]
    const last = merged[merged.length - 1]
    if (last !== undefined && r.start <= last.end + gap) {
      if (r.end > last.end) last.end = r.end
    } else {
      merged.push({ start: r.start, end: r.end })
    }
    owner[i] = merged.length - 1
  }
  return { merged, owner }
}
