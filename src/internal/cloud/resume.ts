// The body of a big GET as one unbroken stream: a read that breaks (or ends short) resumes with a Range request
// from the byte where it stopped, pinned to the ETag, so the caller never sees mixed or short data. A body nobody
// starts reading is let go after a grace period; a stream started later fetches it again the same way.
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ResolvedRange } from "../../ObjectStore.js"
import type { StreamError } from "../../ObjectStoreError.js"
import { PreconditionFailed, StoreError } from "../../ObjectStoreError.js"
import type { Body, Response } from "../http/transport.js"
import { header } from "../http/transport.js"
import { sliceBody } from "./body.js"
import * as Errors from "./errors.js"
import type { Context } from "./failure.js"
import { mapFailure } from "./failure.js"
import type { GetClient } from "./get.js"
import { matches, parseContentRange, rangeHeader } from "./range.js"
import type { Handle } from "./request.js"

/** How long a body may wait unread after `get` returned before its connection is let go. */
export const UNREAD_BODY_GRACE_MS = 2_000

/**
 * The answer to a resume, checked before one byte of it is used: the ETag must be the pinned one (else the object
 * changed: PreconditionFailed, even from a server that ignored If-Match), a 206 must carry exactly the remainder
 * asked for (and the object's size, when known), and a 200 must be the whole object (its Content-Length the size),
 * which is then cut to the remainder. Anything else is a StoreError.
 */
export const checkResumed = (
  ctx: Context & { readonly path: string },
  rest: ResolvedRange,
  eTag: string,
  size: number | undefined
): Handle<Body, StoreError | PreconditionFailed> =>
(response: Response) => {
  const refuse = (error: StoreError | PreconditionFailed) => Effect.zipRight(response.body.discard, Effect.fail(error))
  const got = header(response.headers, "etag")
  if (got === undefined) return refuse(new StoreError({ ...ctx, description: "the resumed answer has no ETag" }))
  if (!matches([eTag], got, true)) {
    const description = `the object changed while it was read: ETag ${got}, the read began at ${eTag}`
    return refuse(new PreconditionFailed({ ...ctx, description }))
  }
  const asked = rangeHeader(rest)
  if (response.status === 206) {
    const value = header(response.headers, "content-range")
    const parsed = parseContentRange(value)
    if (
      parsed === undefined || parsed.start !== rest.start || parsed.end !== rest.end ||
      (size !== undefined && parsed.size !== undefined && parsed.size !== size)
    ) {
      return refuse(
        new StoreError({ ...ctx, description: `resumed with ${asked}, the server answered content-range ${value}` })
      )
    }
    return Effect.succeed(response.body)
  }
  const length = Number(header(response.headers, "content-length") ?? "NaN")
  if (response.status === 200 && size !== undefined && length === size) {
    return Effect.succeed(sliceBody(response.body, rest.start, rest.end - rest.start))
  }
  const description = `resumed with ${asked}, the server answered ${response.status} with ${
    Number.isNaN(length) ? "no length" : `${length} bytes`
  }${size === undefined ? "" : ` (the object has ${size})`}`
  return refuse(new StoreError({ ...ctx, description }))
}

export const resumingStream = (
  client: GetClient,
  path: string,
  first: Body,
  range: ResolvedRange,
  eTag: string | undefined,
  size?: number | undefined
): Stream.Stream<Uint8Array, StreamError> =>
  Stream.suspend(() => {
    const ctx = { store: client.store, method: "get", path }
    const total = range.end - range.start
    let received = 0
    let resumes = 0
    const broken = (cause: unknown) =>
      new StoreError({ ...ctx, description: `the body broke after ${received} of ${total} bytes`, cause })
    // Counted per batch of chunks (the transport hands them over together), not per chunk.
    const count = (chunks: Iterable<Uint8Array>) => {
      for (const chunk of chunks) received += chunk.byteLength
    }
    const ended = Stream.suspend(() =>
      received === total
        ? Stream.empty
        : Stream.fail(broken(new Error(`expected ${total} bytes, the body ended after ${received}`)))
    )
    const again = (error: StreamError): Stream.Stream<Uint8Array, StreamError> => {
      if (received > total) {
        return Stream.fail(new StoreError({ ...ctx, description: `the body is longer than its ${total} bytes` }))
      }
      if (eTag === undefined || resumes >= client.maxResumes) return Stream.fail(error)
      resumes++
      const rest = { start: range.start + received, end: range.end }
      const headers = { range: rangeHeader(rest), "if-match": eTag }
      return Stream.unwrap(
        mapFailure(
          client.request({ path, head: false, headers }, ctx, checkResumed(ctx, rest, eTag, size)),
          (failure) => Errors.toError(client.errors, ctx, failure, Errors.resume(received))
        ).pipe(Effect.map(from))
      )
    }
    const from = (body: Body): Stream.Stream<Uint8Array, StreamError> =>
      body.stream.pipe(
        Stream.mapChunks((chunks) => {
          count(chunks)
          return chunks
        }),
        Stream.mapError(broken),
        Stream.concat(ended),
        Stream.catchAll(again)
      )
    return from(first)
  })

/**
 * A body to be read later: if the stream has not started within the grace period, the connection is let go (a
 * result dropped unread must not hold it), and a stream started afterwards fetches the bytes again.
 */
export const lazyStream = (
  client: GetClient,
  path: string,
  body: Body,
  range: ResolvedRange,
  eTag: string | undefined,
  size?: number | undefined
): Stream.Stream<Uint8Array, StreamError> => {
  let started = false
  const idle = setTimeout(() => {
    if (!started) Effect.runFork(body.discard)
  }, UNREAD_BODY_GRACE_MS)
  idle.unref()
  return Stream.suspend(() => {
    started = true
    clearTimeout(idle)
    return resumingStream(client, path, body, range, eTag, size)
  })
}
