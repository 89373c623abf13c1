// Get Blob and Get Blob Properties for the shared get, with what Azure (and Azurite) need on top: a suffix range is
// resolved with a HEAD first (Azurite answers `bytes=-N` with `content-length: NaN`), a range past the end that
// comes back as a 206 with an inverted Content-Range (Azurite) is the 416 it should have been, a 412 to If-Match is
// checked for a missing blob (Azurite answers 412 where the object is simply not there), and an answer to a
// versioned read that is not that version (a server without versions ignores `versionid`) is a miss.
import * as Effect from "effect/Effect"
import type { StoreError, Unauthenticated } from "../../ObjectStoreError.js"
import { HttpFailure, isFailure } from "../cloud/failure.js"
import type { GetClient, GetRequest } from "../cloud/get.js"
import type { Engine, Handle } from "../cloud/request.js"
import type { Retryable } from "../http/retry.js"
import type { TransportError } from "../http/transport.js"
import { header } from "../http/transport.js"

type Execute = Engine["execute"]

type Send = <A, E>(
  headers: Record<string, string>,
  head: boolean,
  handle: Handle<A, E>
) => Effect.Effect<A, Exclude<E, TransportError | Retryable | HttpFailure> | HttpFailure | StoreError | Unauthenticated>

const INVERTED = /^bytes (\d+)-(-?\d+)\/(\d+)$/

/** A 206 whose Content-Range is empty or inverted: the server meant 416. */
const unsatisfiable = (contentRange: string | undefined): boolean => {
  const match = contentRange === undefined ? null : INVERTED.exec(contentRange.trim())
  return match !== null && (Number(match[2]) < Number(match[1]) || Number(match[1]) >= Number(match[3]))
}

const guard = <A, E>(request: GetRequest, handle: Handle<A, E>): Handle<A, E> => (response) => {
  if (response.status === 206 && unsatisfiable(header(response.headers, "content-range"))) {
    return Effect.zipRight(
      response.body.discard,
      Effect.fail(new HttpFailure(416, "InvalidRange", "the range is not satisfiable", response.headers))
    )
  }
  if (request.version !== undefined && header(response.headers, "x-ms-version-id") !== request.version) {
    return Effect.zipRight(
      response.body.discard,
      Effect.fail(new HttpFailure(404, "BlobNotFound", `no version ${request.version}`, response.headers))
    )
  }
  return handle(response)
}

/** The GET and HEAD of blobs for the shared get. */
export const makeGetRequest = (
  execute: Execute,
  pathOf: (blob: string) => string
): GetClient["request"] =>
(request, context, handle) => {
  const send: Send = (headers, head, h) =>
    execute(
      {
        method: head ? "HEAD" : "GET",
        path: pathOf(request.path),
        headers,
        query: request.version === undefined ? undefined : [["versionid", request.version]],
        idempotent: true
      },
      context,
      guard(request, h)
    )
  const { range, ...rest } = request.headers
  const sent = range !== undefined && range.startsWith("bytes=-") && !request.head
    ? resolveSuffix(send, request.headers, rest, Number(range.slice(7)), handle)
    : send(request.headers, request.head, handle)
  return request.headers["if-match"] === undefined
    ? sent
    : Effect.catchIf(sent, isFailure, (f) => missing(send, rest, f))
}

/** `bytes=-N` as `bytes=(size-N)-`, from a HEAD; the whole blob (cut by the shared get) when N covers it. */
const resolveSuffix = <A, E>(
  send: Send,
  headers: Record<string, string>,
  rest: Record<string, string>,
  suffix: number,
  handle: Handle<A, E>
) =>
  Effect.flatMap(
    send(
      rest,
      true,
      (response) => Effect.as(response.body.discard, Number(header(response.headers, "content-length")))
    ),
    (size) => {
      // HTTP answers a suffix range of an empty representation with 416.
      if (size === 0) return Effect.fail(new HttpFailure(416, "InvalidRange", "the blob is empty", {}))
      if (!Number.isSafeInteger(size) || size - suffix <= 0) return send(rest, false, handle)
      return send({ ...headers, range: `bytes=${size - suffix}-` }, false, handle)
    }
  )

/** A 412 to a read with If-Match: a missing blob when a plain HEAD says so (Azurite answers 412 for it). */
const missing = (
  send: Send,
  rest: Record<string, string>,
  failure: HttpFailure
) => {
  if (failure.status !== 412) return Effect.fail(failure)
  const plain: Record<string, string> = {}
  for (const name in rest) if (!name.startsWith("if-")) plain[name] = rest[name]
  return Effect.flatMap(
    Effect.either(send(plain, true, (response) => response.body.discard)),
    (probe) =>
      Effect.fail(
        probe._tag === "Left" && isFailure(probe.left) && probe.left.status === 404 ? probe.left : failure
      )
  )
}
