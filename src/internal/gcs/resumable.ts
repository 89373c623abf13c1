// Resumable uploads (https://cloud.google.com/storage/docs/performing-resumable-uploads) as the cloud core's
// multipart `Upload`: a session is started with the object's resource and preconditions, chunks of a multiple of
// 256 KiB are PUT in order with `Content-Range`, a chunk that fails is resumed from the offset the server says it
// committed (asked with `Content-Range: bytes */*`), and the session is cancelled (DELETE) on any failure or
// interruption, so no object appears. The emulator, which completes an object on its first chunk, gets the whole
// stream in one PUT instead (`single`).
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Attributes, PutResult } from "../../ObjectStore.js"
import { StoreError } from "../../ObjectStoreError.js"
import * as Errors from "../cloud/errors.js"
import type { Overrides } from "../cloud/errors.js"
import type { Context } from "../cloud/failure.js"
import { HttpFailure, isFailure, mapFailure } from "../cloud/failure.js"
import type { Upload } from "../cloud/multipart.js"
import type { Query } from "../cloud/request.js"
import { Retryable, retrying } from "../http/retry.js"
import type { Response } from "../http/transport.js"
import { header } from "../http/transport.js"
import { toAsyncIterable } from "../pull.js"
import type { Client } from "./client.js"
import { errorDialect, malformed, STORE } from "./client.js"
import type { Preconditions, Resource } from "./object.js"
import { preconditionQuery, putResultOf, readResource, resourceOf } from "./object.js"

export interface Session {
  readonly path: string
  readonly query: Query
}

/** What a chunk left behind: its size, and the object's resource when it was the last. */
export interface Chunk {
  readonly size: number
  readonly resource?: Resource | undefined
}

type WriteError = Errors.ErrorOf<"AlreadyExists" | "PreconditionFailed"> | Errors.AccessError

/** The session URI of a start answer; it must be on the store's own origin (GCS hands out its own host). */
const sessionOf = (gcs: Client, ctx: Context, response: Response) => {
  const location = header(response.headers, "location")
  if (location === undefined) return Effect.fail(malformed(ctx, "the resumable upload started without a Location"))
  let url: URL
  try {
    url = new URL(location, gcs.target.origin)
  } catch {
    return Effect.fail(malformed(ctx, "the resumable upload's Location is not a URL"))
  }
  if (url.origin !== gcs.target.origin) {
    return Effect.fail(malformed(ctx, `the resumable upload's session is on another host (${url.origin})`))
  }
  return Effect.zipRight(
    response.body.discard,
    Effect.succeed<Session>({ path: url.pathname, query: Array.from(url.searchParams.entries()) })
  )
}

/** Starts a session (https://cloud.google.com/storage/docs/json_api/v1/objects/insert, uploadType=resumable). */
export const start = (
  gcs: Client,
  path: string,
  attributes: Attributes,
  preconditions: Preconditions,
  overrides: Overrides<"AlreadyExists" | "PreconditionFailed">
): Effect.Effect<Session, WriteError> => {
  const ctx = { store: STORE, method: "put", path }
  const body = JSON.stringify(resourceOf(path, attributes))
  return mapFailure(
    gcs.execute(
      {
        method: "POST",
        path: gcs.uploadPath,
        query: [["uploadType", "resumable"], ["name", path], ...preconditionQuery(preconditions)],
        headers: {
          "content-type": "application/json; charset=UTF-8",
          "x-upload-content-type": attributes.contentType ?? "application/octet-stream"
        },
        body,
        // Starting a session twice leaves one unused session, which expires: harmless.
        idempotent: true
      },
      ctx,
      (response) => sessionOf(gcs, ctx, response)
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, overrides)
  )
}

/** Cancels a session; never fails (a session nobody completes expires after a week anyway). */
export const cancel = (gcs: Client, session: Session): Effect.Effect<void> =>
  Effect.ignore(
    gcs.executeOnce(
      { method: "DELETE", path: session.path, query: session.query, idempotent: true },
      { store: STORE, method: "put" },
      (response) => response.body.discard
    )
  )

/** The committed byte count of a 308 answer: its `Range: bytes=0-N` (none: nothing is committed yet). */
export const committedOf = (headers: HttpFailure["headers"]): number | undefined => {
  const range = header(headers, "range")
  if (range === undefined) return 0
  const match = /^bytes=0-(\d+)$/.exec(range.trim())
  return match === null ? undefined : Number(match[1]) + 1
}

type Answer = { readonly _tag: "done"; readonly resource: Resource } | {
  readonly _tag: "incomplete"
  readonly committed: number
}

/** One PUT to the session: a 308 says how much is committed, a 200/201 carries the finished object. */
const put = (
  gcs: Client,
  session: Session,
  ctx: Context,
  contentRange: string,
  body: Uint8Array
): Effect.Effect<Answer, StoreError | HttpFailure> =>
  gcs.executeOnce(
    {
      method: "PUT",
      path: session.path,
      query: session.query,
      headers: { "content-range": contentRange, "content-length": String(body.byteLength) },
      body,
      idempotent: false
    },
    ctx,
    (response) => Effect.map(readResource(response, ctx, false), (resource): Answer => ({ _tag: "done", resource }))
  ).pipe(
    Effect.catchIf(
      (e): e is HttpFailure => isFailure(e) && e.status === 308,
      (failure): Effect.Effect<Answer, StoreError> => {
        const committed = committedOf(failure.headers)
        return committed === undefined
          ? Effect.fail(malformed(ctx, `a 308 answer with range ${header(failure.headers, "range")}`))
          : Effect.succeed({ _tag: "incomplete", committed })
      }
    ),
    Effect.catchAll((e) => Effect.fail(e as StoreError | HttpFailure))
  )

/**
 * Sends bytes `[offset, offset + body.length)` of the object (`total` when this is the last chunk), resuming from
 * the server's committed offset after a failure, within the retry budget. A 4xx is the session's end and not
 * retried (410: it was cancelled or expired).
 */
export const sendChunk = (
  gcs: Client,
  session: Session,
  ctx: Context,
  offset: number,
  body: Uint8Array,
  total: number | undefined
): Effect.Effect<Answer, StoreError | HttpFailure> => {
  const end = offset + body.byteLength
  const totalText = total === undefined ? "*" : String(total)
  let from = offset
  const range = (start: number) => start === end ? `bytes */${totalText}` : `bytes ${start}-${end - 1}/${totalText}`
  const check = (answer: Answer): Effect.Effect<Answer, StoreError> => {
    if (answer._tag === "done") return Effect.succeed(answer)
    if (answer.committed < offset || answer.committed > end) {
      return Effect.fail(malformed(ctx, `the server committed ${answer.committed} bytes, expected ${end}`))
    }
    return Effect.succeed(answer)
  }
  // After a failure: ask what the server has, then send the rest.
  const resume = Effect.flatMap(put(gcs, session, ctx, `bytes */${totalText}`, new Uint8Array(0)), (answer) => {
    if (answer._tag === "done") return Effect.succeed(answer)
    if (answer.committed < offset || answer.committed > end) {
      return Effect.fail(malformed(ctx, `the server committed ${answer.committed} bytes, expected ${offset}-${end}`))
    }
    from = answer.committed
    return from === end && total === undefined
      ? Effect.succeed(answer)
      : put(gcs, session, ctx, range(from), body.subarray(from - offset))
  })
  let attempts = 0
  const attempt = Effect.suspend(() =>
    (attempts++ === 0 ? put(gcs, session, ctx, range(from), body) : resume).pipe(
      Effect.flatMap(check),
      Effect.catchIf(
        (e): e is StoreError => e instanceof StoreError,
        (e) => Effect.fail(new Retryable(e))
      )
    )
  )
  return retrying(gcs.retry, attempt)
}

/** The multipart driver's view of a resumable upload: chunks of `chunkSize` bytes, sent one at a time. */
export const upload = (
  gcs: Client,
  path: string,
  attributes: Attributes,
  preconditions: Preconditions,
  overrides: Overrides<"AlreadyExists" | "PreconditionFailed">,
  chunkSize: number
): Upload<Session, Chunk, PutResult, WriteError> => {
  const ctx = { store: STORE, method: "put", path }
  const failed = (failure: StoreError | HttpFailure): WriteError =>
    failure instanceof StoreError ? failure : Errors.toError(errorDialect, ctx, failure, overrides)
  return {
    start: start(gcs, path, attributes, preconditions, overrides),
    part: (session, body, index) => {
      const offset = index * chunkSize
      // Only the last chunk is short: it names the total, which completes the object.
      const last = body.byteLength < chunkSize
      return sendChunk(gcs, session, ctx, offset, body, last ? offset + body.byteLength : undefined).pipe(
        Effect.mapError(failed),
        Effect.map((answer): Chunk => ({
          size: body.byteLength,
          resource: answer._tag === "done" ? answer.resource : undefined
        }))
      )
    },
    complete: (session, chunks) => {
      const last = chunks[chunks.length - 1]
      if (last?.resource !== undefined) return Effect.succeed(putResultOf(last.resource))
      // Every chunk was full: an empty request with the total completes the object.
      const total = chunks.reduce((n, c) => n + c.size, 0)
      return sendChunk(gcs, session, ctx, total, new Uint8Array(0), total).pipe(
        Effect.mapError(failed),
        Effect.flatMap((answer) =>
          answer._tag === "done"
            ? Effect.succeed(putResultOf(answer.resource))
            : Effect.fail(malformed(ctx, `the upload is not complete after ${total} bytes`))
        )
      )
    },
    abort: (session) => cancel(gcs, session)
  }
}

/**
 * The whole stream in one PUT to a fresh session, with no Content-Range (for servers that cannot take several
 * chunks: the emulator). Memory stays bounded (the body streams); a failure cannot be resumed, and it cancels the
 * session. A payload failure is reported as itself, not as the aborted request it causes.
 */
export const single = <E>(
  gcs: Client,
  path: string,
  payload: Stream.Stream<Uint8Array, E>,
  attributes: Attributes,
  preconditions: Preconditions,
  overrides: Overrides<"AlreadyExists" | "PreconditionFailed">
): Effect.Effect<PutResult, WriteError | E> => {
  const ctx = { store: STORE, method: "put", path }
  return Effect.acquireUseRelease(
    start(gcs, path, attributes, preconditions, overrides),
    (session) =>
      Effect.suspend(() => {
        let payloadError: { readonly error: E } | undefined
        const body = toAsyncIterable(
          Stream.tapError(payload, (error) => Effect.sync(() => payloadError = { error }))
        )
        return gcs.executeOnce(
          // The core's request type names only bytes, but the transport streams an async iterable as it is
          // (see the report: CloudRequest.body should say so).
          {
            method: "PUT",
            path: session.path,
            query: session.query,
            body: body as unknown as Uint8Array,
            idempotent: false
          },
          ctx,
          (response) => Effect.map(readResource(response, ctx, false), putResultOf)
        ).pipe(
          Effect.catchAll((e): Effect.Effect<never, WriteError | E> =>
            payloadError !== undefined
              ? Effect.fail(payloadError.error)
              : Effect.fail(isFailure(e) ? Errors.toError(errorDialect, ctx, e, overrides) : e as StoreError)
          )
        )
      }),
    (session, exit) => exit._tag === "Success" ? Effect.void : cancel(gcs, session)
  )
}
