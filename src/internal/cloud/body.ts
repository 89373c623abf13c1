// Bounded reads of response bodies, for every cloud: a server decides how much it sends, so what the client reads is
// capped (error documents, listing pages) or cut to what was asked (a ranged read answered with the whole object).
// Reading stops at the cap and the rest is let go: the transport closes a connection whose body was not read to the
// end, so an unbounded answer costs at most the cap plus what was in flight.
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { StoreError } from "../../ObjectStoreError.js"
import type { Body, Headers, TransportError } from "../http/transport.js"
import { header } from "../http/transport.js"
import { collect } from "../pull.js"
import type { Context } from "./failure.js"

/** Bytes of an error body that are read (its code and message are at the start); the rest is discarded. */
export const ERROR_BODY_LIMIT = 64 * 1024

/** The largest listing page read (1,000 keys of 1 KiB each fit with room to spare). */
export const PAGE_LIMIT = 16 * 1024 * 1024

const decoder = new TextDecoder()

// `copy`: a view of a socket read could expose other bytes (headers, the next response) through `.buffer`.
const concat = (chunks: ReadonlyArray<Uint8Array>, total: number, copy = false): Uint8Array => {
  if (chunks.length === 1 && !copy) return chunks[0]
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.byteLength
  }
  return out
}

const declaredLength = (headers: Headers): number | undefined => {
  const value = header(headers, "content-length")
  const n = value === undefined ? NaN : Number(value)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

/** Up to `limit` bytes of a body, and whether that was all of it. */
export const readAtMost = (
  body: Body,
  headers: Headers,
  limit: number
): Effect.Effect<{ readonly bytes: Uint8Array; readonly complete: boolean }, TransportError> => {
  const length = declaredLength(headers)
  // The common case (a small body with a length) reads as before: no stream, no copies.
  if (length !== undefined && length <= limit) return Effect.map(body.bytes, (bytes) => ({ bytes, complete: true }))
  return Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    let total = 0
    let complete = true
    return Stream.runForEachWhile(body.stream, (chunk) =>
      Effect.sync(() => {
        const room = limit - total
        if (chunk.byteLength > room) {
          if (room > 0) chunks.push(chunk.subarray(0, room))
          total = limit
          complete = false
          return false
        }
        chunks.push(chunk)
        total += chunk.byteLength
        return true
      })).pipe(Effect.map(() => ({ bytes: concat(chunks, total), complete })))
  })
}

/** The text of an error body, at most `ERROR_BODY_LIMIT` bytes of it; "" when it cannot be read. */
export const errorText = (body: Body, headers: Headers): Effect.Effect<string> =>
  Effect.orElseSucceed(
    Effect.map(readAtMost(body, headers, ERROR_BODY_LIMIT), ({ bytes }) => decoder.decode(bytes)),
    () => ""
  )

const MiB = 1024 * 1024
const size = (n: number) => n % MiB === 0 ? `${n / MiB} MiB` : `${n} bytes`

/**
 * The text of a document (a listing page) of at most `limit` bytes; a bigger one is a StoreError naming the cap,
 * refused from its Content-Length when it has one, else once the cap is read.
 */
export const boundedText = (
  ctx: Context,
  what: string,
  body: Body,
  headers: Headers,
  limit: number = PAGE_LIMIT
): Effect.Effect<string, StoreError | TransportError> => {
  const tooBig = () => new StoreError({ ...ctx, description: `${what} is larger than ${size(limit)}, the most read` })
  const length = declaredLength(headers)
  if (length !== undefined && length > limit) return Effect.zipRight(body.discard, Effect.fail(tooBig()))
  return Effect.flatMap(
    readAtMost(body, headers, limit),
    ({ bytes, complete }) => complete ? Effect.succeed(decoder.decode(bytes)) : Effect.fail(tooBig())
  )
}

/**
 * Bytes `skip` to `skip + length` of a stream; reading stops (and the upstream is closed) once the last of them
 * arrived. For a ranged read answered with more than the range.
 */
export const sliceStream = <E>(
  stream: Stream.Stream<Uint8Array, E>,
  skip: number,
  length: number
): Stream.Stream<Uint8Array, E> => {
  if (length <= 0) return Stream.empty
  return Stream.suspend(() => {
    const end = skip + length
    let at = 0
    // The piece holding the last wanted byte: the stream ends right after it.
    let last: Uint8Array | undefined
    return stream.pipe(
      Stream.mapChunks((chunks) => {
        const out: Array<Uint8Array> = []
        for (const chunk of chunks) {
          const from = at
          at += chunk.byteLength
          const a = Math.max(skip, from)
          const b = Math.min(end, at)
          if (a < b) {
            const piece = a === from && b === at ? chunk : chunk.subarray(a - from, b - from)
            out.push(piece)
            if (b === end) {
              last = piece
              break
            }
          }
        }
        return Chunk.unsafeFromArray(out)
      }),
      Stream.takeUntil((piece) => piece === last)
    )
  })
}

/** A body seen from byte `skip`, `length` bytes long (see `sliceStream`). */
export const sliceBody = (body: Body, skip: number, length: number): Body => {
  const stream = sliceStream(body.stream, skip, length)
  const bytes = Effect.map(
    collect(stream),
    (chunks) => concat(chunks, chunks.reduce((n, chunk) => n + chunk.byteLength, 0), true)
  )
  return {
    bytes,
    text: Effect.map(bytes, (b) => decoder.decode(b)),
    stream,
    discard: body.discard
  }
}
