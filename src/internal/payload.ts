// Every accepted put payload as one Stream of chunks, plus the cheap paths for payloads already in memory.
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { PutPayload } from "../ObjectStore.js"
import { StoreError } from "../ObjectStoreError.js"

const encoder = new TextEncoder()

const isReadableStream = (u: unknown): u is ReadableStream<Uint8Array> =>
  typeof ReadableStream !== "undefined" && u instanceof ReadableStream

const isAsyncIterable = (u: unknown): u is AsyncIterable<Uint8Array> => Predicate.hasProperty(u, Symbol.asyncIterator)

/** The payload's bytes when they are already in memory (no stream to drain), otherwise undefined. */
export const inMemory = <E>(payload: PutPayload<E>): ReadonlyArray<Uint8Array> | undefined => {
  if (typeof payload === "string") return [encoder.encode(payload)]
  if (payload instanceof Uint8Array) return [payload]
  if (Array.isArray(payload)) return payload as ReadonlyArray<Uint8Array>
  return undefined
}

/** The number of bytes of an in-memory payload. */
export const byteLength = (chunks: ReadonlyArray<Uint8Array>): number => {
  let n = 0
  for (const c of chunks) n += c.byteLength
  return n
}

/** Chunks into one buffer, without copying when there is a single chunk and `copy` is false. */
export const concat = (chunks: ReadonlyArray<Uint8Array>, copy: boolean): Uint8Array => {
  if (chunks.length === 1) return copy ? chunks[0].slice() : chunks[0]
  const out = new Uint8Array(byteLength(chunks))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

/**
 * Any payload as a stream. Failures of foreign streams (AsyncIterable, ReadableStream) become a `StoreError`; an
 * Effect Stream keeps its own error type.
 */
export const toStream = <E>(
  payload: PutPayload<E>,
  context: { readonly store: string; readonly method: string; readonly path: string }
): Stream.Stream<Uint8Array, E | StoreError> => {
  const chunks = inMemory(payload)
  if (chunks !== undefined) return Stream.fromIterable(chunks)
  const onError = (cause: unknown) =>
    new StoreError({ ...context, description: "the payload stream failed while it was being read", cause })
  if (Stream.StreamTypeId in (payload as object)) return payload as Stream.Stream<Uint8Array, E>
  if (isReadableStream(payload)) return Stream.fromReadableStream(() => payload, onError)
  if (isAsyncIterable(payload)) return Stream.fromAsyncIterable(payload, onError)
  return Stream.fail(
    new StoreError({ ...context, description: `unsupported payload type: ${Object.prototype.toString.call(payload)}` })
  )
}

/** Drains any payload into one buffer (used by stores that keep whole objects, and for small uploads). */
export const collect = <E>(
  payload: PutPayload<E>,
  context: { readonly store: string; readonly method: string; readonly path: string }
): Effect.Effect<Uint8Array, E | StoreError> => {
  const chunks = inMemory(payload)
  if (chunks !== undefined) return Effect.sync(() => concat(chunks, true))
  return Stream.runCollect(toStream(payload, context)).pipe(
    Effect.map((chunk) => concat(Chunk.toReadonlyArray(chunk), true))
  )
}
