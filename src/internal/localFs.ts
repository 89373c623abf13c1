// The node:fs edge of LocalStore: errno mapping, file-handle reads and writes, temporary names, and the
// per-path locks of conditional updates. The data path uses node:fs directly (measured here: positioned
// FileHandle reads into 1 MiB buffers match fs.createReadStream, @effect/platform's FileSystem.stream reached
// 0.45-0.7x of it), and metadata needs bigint stats for nanosecond mtimes, which platform's File.Info lacks.
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import type { BigIntStats } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import * as fsp from "node:fs/promises"
import type { ObjectMeta, ResolvedRange } from "../ObjectStore.js"
import { NotFound, PermissionDenied, PreconditionFailed, StoreError } from "../ObjectStoreError.js"

/** Temporary files end with this; list skips such names and paths may not use them. */
export const TEMP_SUFFIX = ".obstore-tmp"

/** Bytes per read, and the size writes are gathered to. */
export const CHUNK_SIZE = 1024 * 1024

/** Writes smaller than this are copied into a staging buffer and written together. */
const SMALL_WRITE = 64 * 1024

export interface Context {
  readonly store: string
  readonly method: string
  readonly path: string
}

/** The errno code of a node:fs error, or of the error a platform `SystemError` wraps. */
export const errnoCode = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  if ("code" in u && typeof u.code === "string") return u.code
  return "cause" in u ? errnoCode(u.cause) : undefined
}

const messageOf = (u: unknown): string => u instanceof Error ? u.message : String(u)

/** What any filesystem call can fail with once the expected codes are handled. */
export const accessFailure = (
  context: Context,
  what: string,
  cause: unknown
): PermissionDenied | StoreError => {
  const code = errnoCode(cause)
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new PermissionDenied({ ...context, description: `${what}: ${messageOf(cause)}`, cause })
  }
  return new StoreError({ ...context, description: `${what} failed: ${messageOf(cause)}`, cause })
}

/**
 * Runs a node:fs promise. `on` maps the codes the caller expects (returning undefined for the rest, which become
 * `PermissionDenied` or `StoreError`).
 */
export const attempt = <A, E = never>(
  context: Context,
  what: string,
  f: () => Promise<A>,
  on?: (code: string | undefined, cause: unknown) => E | undefined
): Effect.Effect<A, E | PermissionDenied | StoreError> =>
  Effect.tryPromise({
    try: f,
    catch: (cause) => on?.(errnoCode(cause), cause) ?? accessFailure(context, what, cause)
  })

/** Resolves a promise to `fallback` instead of failing when it fails with one of `codes`. */
export const ignoring = <A, B>(codes: ReadonlyArray<string>, promise: Promise<A>, fallback: B): Promise<A | B> =>
  promise.catch((cause) => {
    const code = errnoCode(cause)
    return code !== undefined && codes.includes(code) ? fallback : Promise.reject(cause)
  })

/** The ETag of a file: inode, nanosecond mtime and size, so a rewrite in place or a replacement both change it. */
export const eTagOf = (stats: BigIntStats): string =>
  `${stats.ino.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.size.toString(16)}`

export const metaOf = (path: string, stats: BigIntStats): ObjectMeta => ({
  path,
  lastModified: new Date(Number(stats.mtimeMs)),
  size: Number(stats.size),
  eTag: eTagOf(stats)
})

/** A fresh temporary name next to `base` (cut so that the name stays under common 255-byte limits). */
export const tempName = (base: string): string =>
  `.${base.slice(0, 48)}.${randomBytes(8).toString("hex")}${TEMP_SUFFIX}`

/** Whether any segment of a key uses the reserved temporary suffix. */
export const isReserved = (key: string): boolean => key.endsWith(TEMP_SUFFIX) || key.includes(`${TEMP_SUFFIX}/`)

const closeQuietly = (handle: FileHandle) => Effect.promise(() => handle.close().catch(() => undefined))

/**
 * Opens a file for reading, in a scope, and checks that it is still the object `eTag` describes: a get result is
 * read lazily, and by then the path may hold another file.
 */
export const openChecked = (
  context: Context,
  file: string,
  eTag: string
): Effect.Effect<FileHandle, NotFound | PreconditionFailed | PermissionDenied | StoreError, Scope.Scope> =>
  Effect.acquireRelease(
    attempt(
      context,
      `opening ${file}`,
      () => fsp.open(file, "r"),
      (code) =>
        code === "ENOENT" || code === "ENOTDIR"
          ? new NotFound({ ...context, description: "the object was deleted since get" })
          : undefined
    ),
    closeQuietly
  ).pipe(
    Effect.tap((handle) =>
      Effect.flatMap(
        attempt(context, `stat of ${file}`, () => handle.stat({ bigint: true })),
        (stats) =>
          eTagOf(stats) === eTag ? Effect.void : Effect.fail(
            new PreconditionFailed({
              ...context,
              description: `object changed since get (ETag ${eTag}, now ${eTagOf(stats)})`
            })
          )
      )
    )
  )

/** Reads up to `length` bytes at `position` into a fresh buffer; an early end of file means the object shrank. */
const readAt = (
  context: Context,
  handle: FileHandle,
  target: Uint8Array,
  offset: number,
  length: number,
  position: number
): Effect.Effect<number, PreconditionFailed | PermissionDenied | StoreError> =>
  Effect.flatMap(
    attempt(context, "reading the object", () => handle.read(target, offset, length, position)),
    ({ bytesRead }) =>
      bytesRead > 0 ? Effect.succeed(bytesRead) : Effect.fail(
        new PreconditionFailed({ ...context, description: "object changed while it was read (it became shorter)" })
      )
  )

/** An own, uninitialised buffer (never a slice of Node's shared pool) viewed as a plain Uint8Array. */
const allocate = (size: number): Uint8Array => {
  const buffer = Buffer.allocUnsafeSlow(size)
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size)
}

/**
 * The bytes of `range` as a stream of chunks of at most 1 MiB, read with positioned reads.
 *
 * Each read goes into one scratch buffer owned by the stream and is then copied into a fresh chunk. Measured here:
 * reading straight into fresh buffers kept each one alive across its read, V8 then promoted them and ran a full
 * mark-compact every ~17 MiB (15 per 256 MiB, half the time of a read); with the copy it runs none.
 */
export const rangeStream = (
  context: Context,
  handle: FileHandle,
  range: ResolvedRange
): Stream.Stream<Uint8Array, PreconditionFailed | PermissionDenied | StoreError> =>
  Stream.suspend(() => {
    const scratch = allocate(Math.max(1, Math.min(CHUNK_SIZE, range.end - range.start)))
    return Stream.unfoldEffect(range.start, (position) => {
      if (position >= range.end) return Effect.succeed(Option.none())
      return Effect.map(
        readAt(context, handle, scratch, 0, Math.min(scratch.byteLength, range.end - position), position),
        (n) => {
          const chunk = allocate(n)
          chunk.set(n === scratch.byteLength ? scratch : scratch.subarray(0, n))
          return Option.some([chunk, position + n] as const)
        }
      )
    })
  })

/** The bytes of `range` in one buffer. */
export const readRange = (
  context: Context,
  handle: FileHandle,
  range: ResolvedRange
): Effect.Effect<Uint8Array, PreconditionFailed | PermissionDenied | StoreError> => {
  const size = range.end - range.start
  const out = allocate(size)
  const loop = (done: number): Effect.Effect<Uint8Array, PreconditionFailed | PermissionDenied | StoreError> =>
    done >= size
      ? Effect.succeed(out)
      : Effect.flatMap(
        readAt(context, handle, out, done, Math.min(size - done, 16 * CHUNK_SIZE), range.start + done),
        (n) => loop(done + n)
      )
  return loop(0)
}

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
