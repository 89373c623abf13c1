/**
 * Node and web streams out of the library, the other half of the payloads `put` takes in (a Node `Readable`, a web
 * `ReadableStream`, an async iterable):
 *
 * ```ts
 * import { pipeline } from "node:stream/promises"
 *
 * const gzipTo = (path: string, file: string) => Effect.gen(function*() {
 *   const result = yield* ObjectStore.get(path)
 *   yield* Effect.promise(() => pipeline(NodeStreams.toReadable(result), zlib.createGzip(), fs.createWriteStream(file)))
 * })
 *
 * // and the other way: a Writable whose bytes become an object, committed when the pipeline ends
 * const upload = (file: string, path: string) => Effect.scoped(Effect.gen(function*() {
 *   const writable = yield* NodeStreams.toWritable(path)
 *   yield* Effect.promise(() => pipeline(fs.createReadStream(file), zlib.createGzip(), writable))
 * }))
 * ```
 *
 * A stream handed to Node runs on the default runtime; a failure of the stream destroys the `Readable` with the
 * store's error (an `Error` with its `_tag`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Sink from "effect/Sink"
import type * as Stream from "effect/Stream"
import type { Readable, Writable } from "node:stream"
import * as internal from "./internal/io/nodeStreams.js"
import type { GetResult } from "./ObjectStore.js"
import { ObjectStore } from "./ObjectStore.js"
import type { InvalidConfig, StoreError } from "./ObjectStoreError.js"
import type { WriterOptions } from "./ObjectWriter.js"

/**
 * What can be turned into a Node or web stream: a `GetResult` (its body) or any stream of bytes.
 *
 * @since 0.1.0
 * @category models
 */
export type Source<E> = GetResult | Stream.Stream<Uint8Array, E>

/**
 * A Node `Readable` of the body; destroying it early stops the download.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toReadable: <E>(source: Source<E>, options?: { readonly highWaterMark?: number }) => Readable =
  internal.toReadable

/**
 * A web `ReadableStream` of the body (for `fetch` responses, `Response`, web APIs); cancelling it stops the download.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toReadableStream: <E>(source: Source<E>) => ReadableStream<Uint8Array> = internal.toReadableStream

/**
 * A sink that writes every chunk into a Node `Writable`, waiting for `drain` when it is full; it does not end the
 * Writable. A failing Writable is a `StoreError` with the Writable's error as its cause.
 *
 * @since 0.1.0
 * @category sinks
 */
export const writableSink: (writable: NodeJS.WritableStream) => Sink.Sink<void, Uint8Array, never, StoreError> =
  internal.writableSink

/**
 * Writes a body into a Node `Writable` with back-pressure, and ends it (unless `end: false`), e.g. `process.stdout`
 * or a file stream.
 *
 * @since 0.1.0
 * @category sinks
 */
export const writeTo: <E>(
  source: Source<E>,
  writable: NodeJS.WritableStream,
  options?: { readonly end?: boolean | undefined }
) => Effect.Effect<void, E | StoreError> = internal.writeTo

/**
 * A Node `Writable` whose bytes become the object at `path` of the given store (through an `ObjectWriter`):
 * committed when the Writable finishes, aborted when it is destroyed with an error or the scope closes first.
 *
 * @since 0.1.0
 * @category sinks
 */
export const writableFor: (
  store: ObjectStore.Service,
  path: string,
  options?: WriterOptions
) => Effect.Effect<Writable, InvalidConfig, Scope.Scope> = internal.toWritable

/**
 * A Node `Writable` whose bytes become the object at `path` of the `ObjectStore` in context.
 *
 * @since 0.1.0
 * @category sinks
 */
export const toWritable = (
  path: string,
  options?: WriterOptions
): Effect.Effect<Writable, InvalidConfig, ObjectStore | Scope.Scope> =>
  Effect.flatMap(ObjectStore, (store) => internal.toWritable(store, path, options))
