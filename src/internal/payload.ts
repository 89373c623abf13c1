// Every accepted put payload as one Stream of chunks, plus the cheap paths for payloads already in memory. One-shot
// payloads (a Node Readable, a web ReadableStream, an async iterator) are claimed when a put runs: one that is
// already read, locked or destroyed fails with `PayloadError` before any request, instead of being stored empty.
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Stream from "effect/Stream"
import type { PutPayload } from "../ObjectStore.js"
import { PayloadError } from "../ObjectStoreError.js"
import { collect } from "./pull.js"

const encoder = new TextEncoder()

type Where = { readonly store: string; readonly method: string; readonly path: string }

// Node's web streams expose whether a stream was ever read (`stream.isDisturbed` reads the same flag).
const DISTURBED = Symbol.for("nodejs.stream.disturbed")

// One-shot payloads this process has started reading: a retried put of the same one fails instead of storing "".
const claimed = new WeakSet<object>()

const isReadableStream = (u: unknown): u is ReadableStream<Uint8Array> =>
  typeof ReadableStream !== "undefined" && u instanceof ReadableStream

const isAsyncIterable = (u: unknown): u is AsyncIterable<Uint8Array> => Predicate.hasProperty(u, Symbol.asyncIterator)

interface NodeReadable extends AsyncIterable<Uint8Array> {
  readonly readableDidRead?: boolean
  readonly readableEnded: boolean
  readonly destroyed: boolean
}

const isNodeReadable = (u: unknown): u is NodeReadable =>
  Predicate.hasProperty(u, "readableEnded") && typeof u.readableEnded === "boolean" &&
  Predicate.hasProperty(u, "destroyed") && Predicate.hasProperty(u, "pipe") && typeof u.pipe === "function"

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

/** Starts reading a foreign (non-Effect) stream payload, or says why it cannot be read. */
const claim = (
  payload: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  where: Where
): Stream.Stream<Uint8Array, PayloadError> => {
  const refuse = (description: string) => Stream.fail(new PayloadError({ ...where, description }))
  const onError = (cause: unknown) =>
    new PayloadError({ ...where, description: "the payload stream failed while it was being read", cause })
  if (isReadableStream(payload)) {
    if (payload.locked) return refuse("the ReadableStream is locked (another reader holds it)")
    if (claimed.has(payload) || (payload as unknown as Record<symbol, unknown>)[DISTURBED] === true) {
      return refuse("the ReadableStream was already read; a ReadableStream can be read only once")
    }
    claimed.add(payload)
    return Stream.fromReadableStream(() => payload, onError)
  }
  if (isNodeReadable(payload)) {
    if (payload.destroyed) return refuse("the Readable was destroyed")
    if (claimed.has(payload) || payload.readableEnded || payload.readableDidRead === true) {
      return refuse("the Readable was already read; a Readable can be read only once")
    }
    claimed.add(payload)
    return Stream.fromAsyncIterable(payload, onError)
  }
  let iterator: AsyncIterator<Uint8Array>
  try {
    iterator = payload[Symbol.asyncIterator]()
  } catch (cause) {
    return Stream.fail(onError(cause))
  }
  // An iterator that is its own iterable (an async generator) is one-shot; an iterable that makes a fresh iterator
  // per call can be read again.
  if ((iterator as unknown) === payload) {
    if (claimed.has(payload)) {
      return refuse("the async iterator was already read; an async generator or iterator can be read only once")
    }
    claimed.add(payload)
  }
  return Stream.fromAsyncIterable({ [Symbol.asyncIterator]: () => iterator }, onError)
}

/**
 * Any payload as a stream, checked when it runs. Failures of foreign streams (AsyncIterable, ReadableStream) and
 * one-shot payloads already read are a `PayloadError`; an Effect Stream keeps its own error type.
 */
export const stream = <E>(payload: PutPayload<E>, where: Where): Stream.Stream<Uint8Array, E | PayloadError> => {
  const chunks = inMemory(payload)
  if (chunks !== undefined) return Stream.fromIterable(chunks)
  if (Predicate.hasProperty(payload, Stream.StreamTypeId)) return payload as Stream.Stream<Uint8Array, E>
  if (isReadableStream(payload) || isAsyncIterable(payload)) return Stream.suspend(() => claim(payload, where))
  return Stream.fail(
    new PayloadError({ ...where, description: `unsupported payload type: ${Object.prototype.toString.call(payload)}` })
  )
}

/** Drains any payload into one buffer (used by stores that keep whole objects, and for small uploads). */
export const bytes = <E>(payload: PutPayload<E>, where: Where): Effect.Effect<Uint8Array, E | PayloadError> => {
  const chunks = inMemory(payload)
  if (chunks !== undefined) return Effect.sync(() => concat(chunks, true))
  return Effect.map(collect(stream(payload, where)), (chunks) => concat(chunks, true))
}
