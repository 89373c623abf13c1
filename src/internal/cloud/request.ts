// The request engine every HTTP store sends through: builds each attempt's headers, lets the cloud authorize (sign)
// it, sends it over the shared transport, turns an error response into an HttpFailure (its body read by the cloud's
// parser: XML for S3 and Azure, JSON for GCS) and retries what is safe to retry with the RetryConfig schedule.
// It adds no Effect layers of its own to a request: one flatMap to look at the status, the retry driver only after a
// retryable failure.
import * as Effect from "effect/Effect"
import type { Unauthenticated } from "../../ObjectStoreError.js"
import { StoreError } from "../../ObjectStoreError.js"
import type { RetryConfig } from "../../RetryConfig.js"
import { parseRetryAfter, Retryable, retrying } from "../http/retry.js"
import type { Method, Response, Transport } from "../http/transport.js"
import { header, isTransportError, TransportError } from "../http/transport.js"
import { errorText } from "./body.js"
import type { Context } from "./failure.js"
import { HttpFailure } from "./failure.js"
import { unsendableHeader } from "./headers.js"
import { scrubber, scrubError, sentSecrets } from "./scrub.js"

export type Query = ReadonlyArray<readonly [string, string]>

export interface CloudRequest {
  readonly method: Method
  /** The encoded path, starting with "/", without the query. */
  readonly path: string
  readonly query?: Query | undefined
  readonly headers?: Record<string, string> | undefined
  readonly body?: Uint8Array | string | undefined
  /** Whether sending it twice does no harm. GET/HEAD/DELETE and plain PUTs are; conditional writes are not. */
  readonly idempotent: boolean
  /**
   * The caller checks a lost answer of this (non-idempotent) request itself: a 5xx, which may come after the write
   * took effect, is then reported like a lost answer instead of being retried blindly (429 and SlowDown, which say
   * the request was refused, are still retried).
   */
  readonly reconciles?: boolean | undefined
}

/** Sends one attempt with the headers and the encoded query string the authorizer settled on. */
export type Send = (headers: Record<string, string>, query: string) => Effect.Effect<Response, TransportError>

/**
 * A cloud's authorization of a request. Called once per request; the effect it returns runs once per attempt (so a
 * retry is signed afresh), and must build a fresh header object each time with `headers()`.
 */
export type Authorize = (
  request: CloudRequest,
  headers: () => Record<string, string>,
  send: Send
) => Effect.Effect<Response, TransportError | Unauthenticated | StoreError>

/** The code and message of an error body, as the cloud writes them. */
export type ParseError = (body: string) => { readonly code: string; readonly message: string | undefined } | undefined

export interface EngineOptions {
  readonly transport: Transport
  /** `scheme://host[:port]` the requests go to. */
  readonly origin: string
  /** The `host` header (signed by clouds that sign it). */
  readonly host: string
  readonly authorize: Authorize
  readonly parseError: ParseError
  readonly retry: RetryConfig
  /** Headers added to every request. */
  readonly headers?: Record<string, string> | undefined
  /**
   * Secrets the server must never be quoted on (the secret key, a session token, an account key, a SAS token):
   * taken out of error bodies and of every error a request fails with. Asked again for each failure, so rotated
   * credentials are covered. What the engine sent itself (Authorization, x-amz-security-token, signature query
   * parameters, see `scrub.ts`) is scrubbed without being listed here.
   */
  readonly secrets?: (() => ReadonlyArray<string>) | undefined
  /** More request headers whose values are credentials (beyond `SECRET_HEADERS`). */
  readonly secretHeaders?: ReadonlyArray<string> | undefined
}

/** Handles a 2xx response; may fail with Retryable (a bad body of a request safe to repeat) or a TransportError. */
export type Handle<A, E> = (response: Response) => Effect.Effect<A, E | HttpFailure | Retryable | TransportError>

export type Execute = <A, E>(
  request: CloudRequest,
  context: Context,
  handle: Handle<A, E>
) => Effect.Effect<A, Exclude<E, TransportError | Retryable | HttpFailure> | HttpFailure | StoreError | Unauthenticated>

export interface Engine {
  readonly execute: Execute
  readonly retry: RetryConfig
  /** Takes the store's secrets (`EngineOptions.secrets`) out of a text, for server text used outside `execute`. */
  readonly scrub: (text: string) => string
}

export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

export const make = (options: EngineOptions): Engine => {
  const extra = options.headers ?? {}
  const host = options.host

  const storeSecrets = options.secrets ?? (() => [])
  const scrub = (text: string) => scrubber(storeSecrets())(text)

  const failureOf = (
    response: Response,
    context: Context,
    idempotent: boolean,
    clean: (text: string) => string,
    head: boolean,
    reconciles: boolean
  ): Effect.Effect<never, Retryable | HttpFailure | StoreError> =>
    Effect.flatMap(
      // Error bodies are small documents (a HEAD has none); a server sending more gets its first 64 KiB read.
      head ? Effect.as(response.body.discard, "") : errorText(response.body, response.headers),
      (body): Effect.Effect<never, Retryable | HttpFailure | StoreError> => {
        const parsed = options.parseError(clean(body))
        const failure = new HttpFailure(response.status, parsed?.code, parsed?.message, response.headers)
        if (reconciles && response.status >= 500 && parsed?.code !== "SlowDown") {
          const description = failure.describe()
          return Effect.fail(
            new StoreError({ ...context, description, cause: new TransportError("other", description, failure, true) })
          )
        }
        if (isRetryableStatus(response.status) && (idempotent || response.status !== 408)) {
          return Effect.fail(
            new Retryable(
              new StoreError({ ...context, description: failure.describe(), cause: failure }),
              parseRetryAfter(header(response.headers, "retry-after"), Date.now())
            )
          )
        }
        return Effect.fail(failure)
      }
    )

  // A request that never left, or one that is safe to repeat, is retried; others report what happened.
  const transportFailure = (error: TransportError, context: Context, idempotent: boolean) => {
    const failure = new StoreError({ ...context, description: error.description, cause: error })
    return Effect.fail(!error.sent || idempotent ? new Retryable(failure) : failure)
  }

  const execute: Execute = <A, E>(request: CloudRequest, context: Context, handle: Handle<A, E>) => {
    // A request that can never be sent (a header value with a line break, beyond Latin-1) fails before any attempt,
    // and is never retried. Stores check what callers give them first, with a typed error naming the option.
    if (request.headers !== undefined) {
      const bad = unsendableHeader(request.headers)
      if (bad !== undefined) {
        return Effect.fail(
          new StoreError({ ...context, description: `the request header ${JSON.stringify(bad)} cannot be sent` })
        )
      }
    }
    // The headers and query of the latest attempt: their credentials are looked for only when something failed.
    let sentHeaders: Record<string, string> = {}
    let sentQuery = ""
    // Built once per failed attempt (the body and the final error are scrubbed by the same one).
    let cached: { readonly headers: object; readonly query: string; readonly scrub: (t: string) => string } | undefined
    const clean = (text: string) => {
      if (cached === undefined || cached.headers !== sentHeaders || cached.query !== sentQuery) {
        const secrets = [...storeSecrets(), ...sentSecrets(sentHeaders, sentQuery, options.secretHeaders)]
        cached = { headers: sentHeaders, query: sentQuery, scrub: scrubber(secrets) }
      }
      return cached.scrub(text)
    }
    const send: Send = (headers, query) => {
      sentHeaders = headers
      sentQuery = query
      return options.transport.send({
        method: request.method,
        origin: options.origin,
        path: query === "" ? request.path : request.path + "?" + query,
        headers,
        body: request.body
      })
    }
    const headers = () => ({ ...extra, ...request.headers, host })
    const attempt = options.authorize(request, headers, send).pipe(
      Effect.flatMap((response): Effect.Effect<A, E | Retryable | HttpFailure | StoreError | TransportError> =>
        response.status >= 300
          ? failureOf(
            response,
            context,
            request.idempotent,
            clean,
            request.method === "HEAD",
            !request.idempotent && request.reconciles === true
          )
          : handle(response)
      ),
      Effect.catchIf(isTransportError, (error) => transportFailure(error, context, request.idempotent))
    )
    // Whatever the request fails with may quote the server (a 200 with an error body, a malformed page): scrubbed.
    return Effect.mapError(retrying(options.retry, attempt), (error) => scrubError(error, clean)) as Effect.Effect<
      A,
      Exclude<E, TransportError | Retryable | HttpFailure> | HttpFailure | StoreError | Unauthenticated
    >
  }

  return { execute, retry: options.retry, scrub }
}

/**
 * A 2xx answer whose body says the request failed (S3 does this for CopyObject and CompleteMultipartUpload, and a
 * broken proxy can do it to anything). Retried when the request is safe to repeat; otherwise reported like a lost
 * response, so a conditional write checks what happened instead of guessing.
 */
export const errorInSuccess = (
  context: Context,
  error: { readonly code: string; readonly message: string | undefined },
  idempotent: boolean
): Retryable | StoreError => {
  const description = `HTTP 200 with an error body: ${error.code}${error.message ? `: ${error.message}` : ""}`
  return idempotent
    ? new Retryable(new StoreError({ ...context, description }))
    : new StoreError({ ...context, description, cause: new TransportError("other", description, undefined, true) })
}

/** Whether an error is a response lost after the request was sent (it may have been applied). */
export const isLostResponse = (e: { readonly _tag: string; readonly cause?: unknown }): e is StoreError =>
  e._tag === "StoreError" && isTransportError(e.cause) && e.cause.sent
