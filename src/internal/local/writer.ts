// Writing a payload to an open file: big chunks as they come, small ones gathered first, short writes resumed.
import * as Effect from "effect/Effect"
import type { FileHandle } from "node:fs/promises"
import { StoreError } from "../../ObjectStoreError.js"
import type { PermissionDenied } from "../../ObjectStoreError.js"
import { CHUNK_SIZE } from "./buffers.js"
import { attempt, type Context } from "./errors.js"

/** Writes smaller than this are copied into a staging buffer and written together. */
const SMALL_WRITE = 64 * 1024

const writeAll = async (handle: FileHandle, buffers: ReadonlyArray<Uint8Array>): Promise<void> => {
  let pending: Array<Uint8Array> = buffers as Array<Uint8Array>
  let total = 0
  for (const b of pending) total += b.byteLength
  while (total > 0) {
    const { bytesWritten } = await handle.writev(pending)
    if (bytesWritten >= total) return
    // A short write: skip what was written and go on with the rest.
    total -= bytesWritten
    let skip = bytesWritten
    const rest: Array<Uint8Array> = []
    for (const b of pending) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength
        continue
      }
      rest.push(skip > 0 ? b.subarray(skip) : b)
      skip = 0
    }
    pending = rest
  }
}

/**
 * A writer for a file handle: big chunks are written as they come, small ones are gathered in a staging buffer
 * first so that a stream of 16 KiB chunks does not cost one write per chunk. A chunk is copied or written before
 * `push` completes, so a producer may reuse its buffers.
 */
export const makeWriter = (context: Context, handle: FileHandle) => {
  let staging: Buffer | undefined
  let used = 0
  // A staging buffer is handed to one write and never refilled: the next small chunk starts a fresh one.
  const takeStaged = (into: Array<Uint8Array>) => {
    if (staging !== undefined && used > 0) into.push(staging.subarray(0, used))
    staging = undefined
    used = 0
  }
  const write = (buffers: ReadonlyArray<Uint8Array>) =>
    attempt(
      context,
      "writing the temporary file",
      () => writeAll(handle, buffers),
      (code, cause) =>
        code === "ENOSPC" || code === "EDQUOT"
          ? new StoreError({ ...context, description: "no space left on the device", cause })
          : undefined
    )
  const push = (chunks: Iterable<Uint8Array>): Effect.Effect<void, PermissionDenied | StoreError> =>
    Effect.suspend(() => {
      const out: Array<Uint8Array> = []
      for (const chunk of chunks) {
        if (chunk.byteLength >= SMALL_WRITE) {
          takeStaged(out)
          out.push(chunk)
          continue
        }
        if (used + chunk.byteLength > CHUNK_SIZE) takeStaged(out)
        staging ??= Buffer.allocUnsafeSlow(CHUNK_SIZE)
        staging.set(chunk, used)
        used += chunk.byteLength
      }
      return out.length === 0 ? Effect.void : write(out)
    })
  const flush = Effect.suspend(() => {
    const out: Array<Uint8Array> = []
    takeStaged(out)
    return out.length === 0 ? Effect.void : write(out)
  })
  return { push, flush } as const
}
