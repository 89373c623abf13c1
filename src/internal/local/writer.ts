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
 * first so that a stream of 16 KiB chunks does not cost one write per chunk.
 *
 * One write stays in flight while the next chunks are pulled (write-behind, as a Node WriteStream does): waiting for
 * each write before pulling again left the download idle for the length of every write. A write's failure is
 * reported by the next `push` or by `flush`. Chunks are therefore held until written: a producer must not reuse a
 * chunk's memory after emitting it (Effect's chunks are immutable). Closing the handle waits for the write in
 * flight (Node's FileHandle counts its operations), so an interrupted put never writes into a closed descriptor.
 */
export const makeWriter = (context: Context, handle: FileHandle) => {
  let staging: Buffer | undefined
  let used = 0
  let inFlight: Promise<void> | undefined
  // A staging buffer is handed to one write and never refilled: the next small chunk starts a fresh one.
  const takeStaged = (into: Array<Uint8Array>) => {
    if (staging !== undefined && used > 0) into.push(staging.subarray(0, used))
    staging = undefined
    used = 0
  }
  // Waits for the write in flight, with its failure typed.
  const settle = Effect.suspend(() => {
    const pending = inFlight
    if (pending === undefined) return Effect.void
    inFlight = undefined
    return attempt(
      context,
      "writing the temporary file",
      () => pending,
      (code, cause) =>
        code === "ENOSPC" || code === "EDQUOT"
          ? new StoreError({ ...context, description: "no space left on the device", cause })
          : undefined
    )
  })
  const start = (buffers: ReadonlyArray<Uint8Array>) =>
    Effect.sync(() => {
      const write = writeAll(handle, buffers)
      // Observed by `settle`; never an unhandled rejection when the put fails before settling it.
      write.catch(() => undefined)
      inFlight = write
    })
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
      return out.length === 0 ? Effect.void : Effect.zipRight(settle, start(out))
    })
  const flush = Effect.suspend(() => {
    const out: Array<Uint8Array> = []
    takeStaged(out)
    return out.length === 0 ? settle : Effect.zipRight(settle, Effect.zipRight(start(out), settle))
  })
  return { push, flush } as const
}
