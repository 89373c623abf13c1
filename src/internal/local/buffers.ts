// The chunk size of LocalStore's data path, the buffers it reads into and the most one buffer can hold.
import { constants } from "node:buffer"
import type { ResolvedRange } from "../../ObjectStore.js"
import type { Context } from "./errors.js"

/** Bytes per read, and the size writes are gathered to. */
export const CHUNK_SIZE = 1024 * 1024

/** An own, uninitialised buffer (never a slice of Node's shared pool) viewed as a plain Uint8Array. */
export const allocate = (size: number): Uint8Array => {
  const buffer = Buffer.allocUnsafeSlow(size)
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size)
}

/** The most bytes one buffer can hold (4 GiB on Node 20): a bigger range cannot be one Uint8Array. */
export const MAX_BUFFER = constants.MAX_LENGTH

/**
 * Why a range cannot be read into one buffer (it is longer than `MAX_BUFFER`), or undefined when it can: the fields
 * of a typed error, so that `bytes` and `getRange` of a huge object fail with a message instead of a RangeError.
 */
export const bufferLimit = (
  ctx: Context,
  range: ResolvedRange
): Context & { readonly description: string } | undefined => {
  const size = range.end - range.start
  return size <= MAX_BUFFER ? undefined : {
    ...ctx,
    description: `${size} bytes do not fit in one buffer (at most ${MAX_BUFFER} bytes here): ` +
      "read them with `stream`, or in smaller `getRange` calls"
  }
}
