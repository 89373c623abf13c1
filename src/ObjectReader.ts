/**
 * Readers over stored objects, like obstore's `open_reader`: a file-like view with a position (`read`, `seek`,
 * `tell`) and random access (`readRange`), read through buffers of `bufferSize` bytes, one ranged get per buffer.
 * A read that lands in a buffer already fetched costs no request, and sequential reads fetch the next `prefetch`
 * buffers concurrently ahead of time. Every request is pinned to the ETag the reader opened: if the object changes
 * underneath, reads fail with `PreconditionFailed` and never mix bytes of two versions.
 *
 * ```ts
 * const footer = Effect.scoped(Effect.gen(function*() {
 *   const reader = yield* ObjectReader.openReader("data.parquet", { bufferSize: 64 * 1024 })
 *   return yield* reader.readRange(reader.size - 8, reader.size)
 * }))
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/io/reader.js"
import type { Attributes, ObjectMeta } from "./ObjectStore.js"
import { ObjectStore } from "./ObjectStore.js"
import type { GetError, InvalidRange } from "./ObjectStoreError.js"

/**
 * @since 0.1.0
 * @category options
 */
export interface ReaderOptions {
  /** Bytes per request, and per buffer kept; default 1 MiB. */
  readonly bufferSize?: number | undefined
  /** Buffers fetched ahead, concurrently, while the reader reads sequentially; default 2, 0 turns it off. */
  readonly prefetch?: number | undefined
  /**
   * Buffers kept at most, the least recently used forgotten first; default `prefetch + 2`. More of them let random
   * reads that come back to the same regions (a columnar file's footer, then its row groups) cost no request again.
   * At least `prefetch + 1`; memory is up to `buffers x bufferSize`.
   */
  readonly buffers?: number | undefined
  /** Read this version of the object, on stores that keep versions. */
  readonly version?: string | undefined
}

/**
 * Where `seek` counts from: the start of the object, the current position, or the end.
 *
 * @since 0.1.0
 * @category models
 */
export type Whence = "start" | "current" | "end"

/**
 * An open reader. Use it from one fiber at a time for `read`/`seek`; `readRange` does not move the position and may
 * run concurrently. It holds at most `buffers` buffers (by default `prefetch + 2`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectReader {
  /** The metadata of the object as it was opened (its ETag pins every read). */
  readonly meta: ObjectMeta
  /** The object's size in bytes. */
  readonly size: number
  /** The attributes stored with the object. */
  readonly attributes: Attributes
  /** Reads up to `n` bytes from the position (all the rest without `n`) and moves past them; empty at the end. */
  readonly read: (n?: number) => Effect.Effect<Uint8Array, GetError>
  /** Reads from the position to the end of the object. */
  readonly readAll: Effect.Effect<Uint8Array, GetError>
  /** Reads bytes `start` (inclusive) to `end` (exclusive), cut to the object's size, without moving the position. */
  readonly readRange: (start: number, end: number) => Effect.Effect<Uint8Array, GetError>
  /** Moves the position (past the end is allowed: reads there are empty); returns the new position. */
  readonly seek: (offset: number, whence?: Whence) => Effect.Effect<number, InvalidRange>
  /** The position. */
  readonly tell: Effect.Effect<number>
  /** How many ranged gets the reader has sent so far (for tuning `bufferSize`). */
  readonly requests: () => number
}

/**
 * Opens a reader over an object of the given store; the reader's fetches are stopped when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open: (
  store: ObjectStore.Service,
  path: string,
  options?: ReaderOptions
) => Effect.Effect<ObjectReader, GetError, Scope.Scope> = internal.open

/**
 * Opens a reader over an object of the `ObjectStore` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openReader = (
  path: string,
  options?: ReaderOptions
): Effect.Effect<ObjectReader, GetError, ObjectStore | Scope.Scope> =>
  Effect.flatMap(ObjectStore, (store) => internal.open(store, path, options))
