// Ways out of the library into Node and web streams, matching the payloads `put` already accepts: a body (or any
// stream of bytes) as a Node Readable or a web ReadableStream, bytes written into a Node Writable with its back-
// pressure honoured, and a Node Writable that writes into an object.
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { Readable, Writable } from "node:stream"
import type { GetResult, ObjectStore } from "../../ObjectStore.js"
import type { InvalidConfig } from "../../ObjectStoreError.js"
import { StoreError } from "../../ObjectStoreError.js"
import { forEachChunk, toAsyncIterable, toReadableStream as pulledReadableStream } from "../pull.js"
import * as Writer from "./writer.js"

export type Source<E> = GetResult | Stream.Stream<Uint8Array, E>

const isStream = (u: unknown): u is Stream.Stream<Uint8Array, unknown> => Predicate.hasProperty(u, Stream.StreamTypeId)

export const streamOf = <E>(source: Source<E>): Stream.Stream<Uint8Array, E> =>
  isStream(source)
    ? source as Stream.Stream<Uint8Array, E>
    : (source as GetResult).stream as Stream.Stream<Uint8Array, E>

export const toReadable = <E>(source: Source<E>, options?: { readonly highWaterMark?: number }): Readable =>
  Readable.from(toAsyncIterable(streamOf(source)), { objectMode: false, ...options })

export const toReadableStream = <E>(source: Source<E>): ReadableStream<Uint8Array> =>
  pulledReadableStream(streamOf(source))

/** A failure of a Node Writable, as the store errors say it. */
const writableError = (cause: unknown) =>
  new StoreError({ store: "NodeStreams", method: "write", description: "the Writable failed", cause })

// Writes one chunk, waiting for "drain" when the Writable's buffer is full.
const writeChunk = (writable: NodeJS.WritableStream, chunk: Uint8Array): Effect.Effect<void, StoreError> =>
  Effect.async<void, StoreError>((resume) => {
    let settled = false
    const done = (error?: unknown) => {
      if (settled) return
      settled = true
      writable.removeListener("drain", onDrain)
      writable.removeListener("error", done)
      resume(error === undefined || error === null ? Effect.void : Effect.fail(writableError(error)))
    }
    const onDrain = () => done()
    writable.once("error", done)
    if (writable.write(chunk)) done()
    else writable.once("drain", onDrain)
    return Effect.sync(() => {
      settled = true
      writable.removeListener("drain", onDrain)
      writable.removeListener("error", done)
    })
  })

export const writableSink = (writable: NodeJS.WritableStream): Sink.Sink<void, Uint8Array, never, StoreError> =>
  Sink.forEach((chunk: Uint8Array) => writeChunk(writable, chunk))

const endWritable = (writable: NodeJS.WritableStream): Effect.Effect<void, StoreError> =>
  Effect.async<void, StoreError>((resume) => {
    const onError = (error: unknown) => resume(Effect.fail(writableError(error)))
    writable.once("error", onError)
    writable.end(() => {
      writable.removeListener("error", onError)
      resume(Effect.void)
    })
  })

export const writeTo = <E>(
  source: Source<E>,
  writable: NodeJS.WritableStream,
  options?: { readonly end?: boolean | undefined }
): Effect.Effect<void, E | StoreError> => {
  const run = forEachChunk(
    streamOf(source),
    (chunk) => Effect.forEach(chunk, (bytes) => writeChunk(writable, bytes), { discard: true })
  )
  return options?.end === false ? run : Effect.zipRight(run, endWritable(writable))
}

/**
 * A Node Writable whose bytes become the object at `path`: committed when the Writable finishes (`end()`), aborted
 * when it is destroyed with an error or the scope closes first.
 */
export const toWritable = (
  store: ObjectStore.Service,
  path: string,
  options?: Writer.WriterOptions
): Effect.Effect<Writable, InvalidConfig, Scope.Scope> =>
  Effect.gen(function*() {
    const writer = yield* Writer.open(store, path, options)
    const runtime = yield* Effect.runtime<never>()
    const run = <A, E>(effect: Effect.Effect<A, E>, callback: (error?: Error | null) => void) =>
      Runtime.runCallback(runtime)(effect, {
        onExit: (exit) => callback(exit._tag === "Success" ? null : squash(exit.cause))
      })
    return new Writable({
      write(chunk: Uint8Array, _encoding, callback) {
        run(writer.write(chunk), callback)
      },
      final(callback) {
        run(writer.close, callback)
      },
      destroy(error, callback) {
        if (error === null) return callback(null)
        run(writer.abort, () => callback(error))
      }
    })
  })

const squash = (cause: Cause.Cause<unknown>): Error => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error : new Error(String(error))
}
