// The body of a big GET as one unbroken stream: a read that breaks (or ends short) resumes with a Range request
// from the byte where it stopped, pinned to the ETag, so the caller never sees mixed or short data. A body nobody
// starts reading is let go after a grace period; a stream started later fetches it again the same way.
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ResolvedRange } from "../../ObjectStore.js"
import type { StreamError } from "../../ObjectStoreError.js"
import { StoreError } from "../../ObjectStoreError.js"
import type { Body } from "../http/transport.js"
import * as Errors from "./errors.js"
import { mapFailure } from "./failure.js"
import type { GetClient } from "./get.js"
import { rangeHeader } from "./range.js"

/** How long a body may wait unread after `get` returned before its connection is let go. */
export const UNREAD_BODY_GRACE_MS = 2_000

export const resumingStream = (
  client: GetClient,
  path: string,
  first: Body,
  range: ResolvedRange,
  eTag: string | undefined
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
      const headers = { range: rangeHeader({ start: range.start + received, end: range.end }), "if-match": eTag }
      return Stream.unwrap(
        mapFailure(
          client.request({ path, head: false, headers }, ctx, (response) => Effect.succeed(response.body)),
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
  eTag: string | undefined
): Stream.Stream<Uint8Array, StreamError> => {
  let started = false
  const idle = setTimeout(() => {
    if (!started) Effect.runFork(body.discard)
  }, UNREAD_BODY_GRACE_MS)
  idle.unref()
  return Stream.suspend(() => {
    started = true
    clearTimeout(idle)
    return resumingStream(client, path, body, range, eTag)
  })
}
