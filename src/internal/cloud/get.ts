// GET and HEAD of an object for every cloud: conditional and range headers, the answer checked against what was
// asked (a 206 must carry the requested Content-Range, a 200 a valid Content-Length), small bodies read before `get`
// returns, bigger ones streamed with resume. A cloud supplies only how to send the request (`GetClient.request`).
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type { Attributes, GetOptions, GetResult, ObjectMeta, ResolvedRange } from "../../ObjectStore.js"
import * as ObjectStore from "../../ObjectStore.js"
import type { GetError, HeadError, Unauthenticated } from "../../ObjectStoreError.js"
import { InvalidConfig, NotModified, PreconditionFailed, StoreError, withContext } from "../../ObjectStoreError.js"
import { Retryable } from "../http/retry.js"
import type { Response, TransportError } from "../http/transport.js"
import { header } from "../http/transport.js"
import * as Internal from "../objectStore.js"
import { sliceBody } from "./body.js"
import type { ErrorDialect } from "./errors.js"
import * as Errors from "./errors.js"
import type { Context, HttpFailure } from "./failure.js"
import { mapFailure } from "./failure.js"
import type { HeaderConfig } from "./headers.js"
import { attributesFrom, headerValueProblem, isWellFormed, metaFrom } from "./headers.js"
import { clientConditions, getHeaders, matches, parseContentRange, rangeHeader } from "./range.js"
import type { Handle } from "./request.js"
import { lazyStream } from "./resume.js"

/** Bodies up to this size are read before `get` returns: nothing stays open if the result is dropped unread. */
export const EAGER_BODY_BYTES = 256 * 1024

export interface GetRequest {
  /** The object path (not encoded). */
  readonly path: string
  readonly head: boolean
  readonly headers: Record<string, string>
  readonly version?: string | undefined
}

/** What a cloud provides to get objects. */
export interface GetClient {
  readonly store: string
  readonly headers: HeaderConfig
  readonly errors: ErrorDialect
  /** How many times a broken body is fetched again. */
  readonly maxResumes: number
  /** Sends one GET or HEAD (retried inside), handing a 2xx answer to `handle`. */
  readonly request: <A, E>(
    request: GetRequest,
    context: Context,
    handle: Handle<A, E>
  ) => Effect.Effect<
    A,
    Exclude<E, TransportError | Retryable | HttpFailure> | HttpFailure | StoreError | Unauthenticated
  >
}

const malformed = (ctx: Context, description: string) => new StoreError({ ...ctx, description })

const rejected = (response: Response, error: StoreError) => Effect.zipRight(response.body.discard, Effect.fail(error))

interface Answer {
  readonly range: ResolvedRange
  readonly size: number
}

/** The range and size an answer holds, checked against what was asked; a StoreError when they do not fit. */
export const checkAnswer = (
  ctx: Context & { readonly path: string },
  options: GetOptions,
  status: number,
  contentRange: string | undefined,
  contentLength: string | undefined
): Answer | StoreError => {
  if (status === 206) {
    const parsed = parseContentRange(contentRange)
    if (parsed === undefined || parsed.size === undefined) {
      return malformed(ctx, `a 206 response with content-range ${contentRange}`)
    }
    // The server must answer the range that was asked for: anything else would hand back wrong bytes.
    const expected = options.range === undefined ? undefined : ObjectStore.resolveRange(options.range, parsed.size, ctx)
    if (
      expected === undefined || Either.isLeft(expected) || expected.right.start !== parsed.start ||
      expected.right.end !== parsed.end
    ) {
      const asked = options.range === undefined ? "the whole object" : rangeHeader(options.range)
      return malformed(ctx, `asked for ${asked}, the server answered content-range ${contentRange}`)
    }
    return { range: { start: parsed.start, end: parsed.end }, size: parsed.size }
  }
  const size = Number(contentLength ?? "NaN")
  if (!Number.isSafeInteger(size) || size < 0) return malformed(ctx, "the response has no valid content-length")
  // A server that ignores Range answers 200 with everything: the range is cut out here.
  if (options.range === undefined || options.head === true) return { range: { start: 0, end: size }, size }
  const resolved = ObjectStore.resolveRange(options.range, size, ctx)
  return Either.isLeft(resolved) ? malformed(ctx, resolved.left.message) : { range: resolved.right, size }
}

/** A small body, read now; a short or long one is a broken read, and a GET is safe to send again. */
const eager = (
  response: Response,
  ctx: Context,
  result: { readonly meta: ObjectMeta; readonly attributes: Attributes },
  answer: Answer,
  whole: boolean
): Effect.Effect<GetResult, Retryable | TransportError> => {
  const { range } = answer
  const expected = range.end - range.start
  // A whole object answered to a ranged read: only the range is read, then the connection is let go.
  const body = whole ? sliceBody(response.body, range.start, expected) : response.body
  return Effect.flatMap(body.bytes, (data) => {
    if (data.byteLength !== expected) {
      const description = `the body has ${data.byteLength} bytes, the response announced ${expected}`
      return Effect.fail(new Retryable(new StoreError({ ...ctx, description })))
    }
    // The stream is built only if the caller asks for it (most read `bytes` or `text`).
    return Effect.succeed(Internal.unsafeGetResult(result.meta, range, result.attributes, Effect.succeed(data)))
  })
}

/** The If-Match / If-None-Match conditions the server was not asked to evaluate, checked on the answer's ETag. */
const conditionFailure = (
  ctx: Context & { readonly path: string },
  options: GetOptions,
  eTag: string | undefined
): PreconditionFailed | NotModified | undefined => {
  const { ifMatch, ifNoneMatch } = clientConditions(options)
  if (ifMatch !== undefined && !matches(ifMatch, eTag, true)) {
    return new PreconditionFailed({ ...ctx, description: `the object's ETag ${eTag} is not one of ifMatch` })
  }
  if (ifNoneMatch !== undefined && matches(ifNoneMatch, eTag, false)) {
    const description = ifNoneMatch === "*"
      ? "the object exists and ifNoneMatch is *"
      : `the object's ETag ${eTag} is one of ifNoneMatch`
    return new NotModified({ ...ctx, description })
  }
  return undefined
}

/** What to do with a 2xx answer to a GET or HEAD. */
const onAnswer = (
  client: GetClient,
  ctx: Context & { readonly path: string },
  options: GetOptions
): Handle<GetResult, StoreError | NotModified | PreconditionFailed> =>
(response) => {
  const answer = checkAnswer(
    ctx,
    options,
    response.status,
    header(response.headers, "content-range"),
    header(response.headers, "content-length")
  )
  if (answer instanceof StoreError) return rejected(response, answer)
  const meta = metaFrom(client.headers, ctx.path, response.headers, answer.size)
  const failed = conditionFailure(ctx, options, meta.eTag)
  if (failed !== undefined) return Effect.zipRight(response.body.discard, Effect.fail(failed))
  const attributes = attributesFrom(client.headers, response.headers)
  const { range } = answer
  if (options.head === true) {
    const bytes = Effect.succeed(new Uint8Array(0))
    return Effect.succeed(ObjectStore.makeGetResult({ meta, range, attributes, stream: Stream.empty, bytes }))
  }
  const whole = response.status !== 206 && options.range !== undefined
  if (range.end - range.start <= EAGER_BODY_BYTES) {
    return eager(response, ctx, { meta, attributes }, answer, whole)
  }
  const body = whole ? sliceBody(response.body, range.start, range.end - range.start) : response.body
  const stream = lazyStream(client, ctx.path, body, range, meta.eTag, answer.size)
  return Effect.succeed(ObjectStore.makeGetResult({ meta, range, attributes, stream }))
}

/** GET (or HEAD, with `options.head`) of an object. */
/** The first condition of a GET that cannot go into a header (or a query), as an InvalidConfig naming it. */
const unsendable = (ctx: Context, options: GetOptions): InvalidConfig | undefined => {
  for (const field of ["ifMatch", "ifNoneMatch"] as const) {
    const value = options[field]
    const problem = value === undefined ? undefined : headerValueProblem(value)
    if (problem !== undefined) return new InvalidConfig({ ...ctx, field, description: `${field} ${problem}` })
  }
  if (options.version !== undefined && !isWellFormed(options.version)) {
    return new InvalidConfig({ ...ctx, field: "version", description: "version is not well-formed unicode" })
  }
  return undefined
}

export const get = (client: GetClient, path: string, options: GetOptions): Effect.Effect<GetResult, GetError> => {
  const ctx = { store: client.store, method: "get", path }
  const invalid = unsendable(ctx, options)
  if (invalid !== undefined) return Effect.fail(invalid)
  const request = { path, head: options.head === true, headers: getHeaders(options), version: options.version }
  return mapFailure(
    client.request(request, ctx, onAnswer(client, ctx, options)),
    (failure) =>
      Errors.toError(
        client.errors,
        ctx,
        failure,
        Errors.read(options.range === undefined ? "range" : rangeHeader(options.range))
      )
  )
}

/**
 * HEAD of an object. A HEAD answer has no body, so a 403 cannot tell a bad signature from a denied read: it is
 * asked again as a GET of one byte, whose error body says which.
 */
export const head = (client: GetClient, path: string): Effect.Effect<ObjectMeta, HeadError> =>
  Effect.map(get(client, path, { head: true }), (result) => result.meta).pipe(
    Effect.mapError((error) => withContext(error, { method: "head" })),
    Effect.catchTag(
      "PermissionDenied",
      (denied) =>
        Effect.matchEffect(get(client, path, { range: { offset: 0, length: 1 } }), {
          onFailure: (probe) =>
            Effect.fail(probe._tag === "Unauthenticated" ? withContext(probe, { method: "head" }) : denied),
          onSuccess: () => Effect.fail(denied)
        })
    ),
    // A plain HEAD cannot fail a condition or a range: such an answer is the server's fault.
    Effect.catchTags({
      NotModified: (e) => Effect.fail(new StoreError({ ...e, description: e.message })),
      PreconditionFailed: (e) => Effect.fail(new StoreError({ ...e, description: e.message })),
      InvalidRange: (e) => Effect.fail(new StoreError({ ...e, description: e.message })),
      NotSupported: (e) => Effect.fail(new StoreError({ ...e, description: e.message })),
      InvalidConfig: (e) => Effect.fail(new StoreError({ ...e, description: e.message }))
    })
  )
