// The S3 request engine: builds the URL, signs each attempt, sends through the shared transport, retries what is
// safe to retry and turns error responses into an HttpFailure the operations map to their own errors.
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { StoreError } from "../../ObjectStoreError.js"
import type { Unauthenticated } from "../../ObjectStoreError.js"
import type { RetryConfig } from "../../RetryConfig.js"
import type { CredentialProvider } from "../aws/credentials.js"
import { parseRetryAfter, Retryable, retrying } from "../http/retry.js"
import type { Method, Response, Transport } from "../http/transport.js"
import { header, isTransportError, TransportError } from "../http/transport.js"
import { encodeRfc3986, encodeS3Key, signRequest } from "../signing/sigv4.js"
import * as Xml from "./xml.js"

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/** An error response, kept raw until the operation decides what it means. */
export class HttpFailure {
  readonly _tag = "HttpFailure"
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly message: string | undefined,
    readonly headers: Response["headers"]
  ) {}
  describe(): string {
    const parts = [`HTTP ${this.status}`]
    if (this.code !== undefined) parts.push(this.code)
    if (this.message !== undefined && this.message !== "") parts.push(this.message)
    return parts.join(": ")
  }
}

export interface Target {
  readonly origin: string
  /** Encoded path of the bucket, e.g. "/bucket" (path style) or "" (virtual-hosted). */
  readonly bucketPath: string
  readonly host: string
}

export interface S3Request {
  readonly method: Method
  /** The object key (normalised path); undefined for bucket-level requests. */
  readonly key?: string | undefined
  readonly query?: ReadonlyArray<readonly [string, string]> | undefined
  readonly headers?: Record<string, string> | undefined
  readonly body?: Uint8Array | string | undefined
  /** Whether sending it twice does no harm. GET/HEAD/DELETE and plain PUTs are; conditional writes are not. */
  readonly idempotent: boolean
}

export interface Context {
  readonly store: string
  readonly method: string
  readonly path?: string | undefined
}

export interface Client {
  readonly execute: <A, E>(
    request: S3Request,
    context: Context,
    handle: (response: Response) => Effect.Effect<A, E | HttpFailure | Retryable | TransportError>
  ) => Effect.Effect<
    A,
    Exclude<E, TransportError | Retryable | HttpFailure> | HttpFailure | StoreError | Unauthenticated
  >
  /** The encoded request path of a key, as sent and signed. */
  readonly pathOf: (key: string | undefined) => string
  readonly target: Target
}

export interface ClientOptions {
  readonly transport: Transport
  readonly target: Target
  readonly region: string
  readonly credentials: CredentialProvider | undefined
  readonly retry: RetryConfig
  readonly unsignedPayload: boolean
  /** Headers added to every request (and signed): requester pays, server-side encryption, ... */
  readonly extraHeaders: Record<string, string>
}

const isRetryableStatus = (status: number) => status === 408 || status === 429 || status >= 500

const sha256Hex = (body: Uint8Array | string) => createHash("sha256").update(body).digest("hex")

export const make = (options: ClientOptions): Client => {
  const { target } = options
  const pathOf = (key: string | undefined) =>
    key === undefined
      ? (target.bucketPath === "" ? "/" : target.bucketPath)
      : target.bucketPath + "/" + encodeS3Key(key)

  const failureOf = (
    response: Response,
    context: Context,
    idempotent: boolean
  ): Effect.Effect<never, Retryable | HttpFailure> =>
    Effect.flatMap(
      // Error bodies are small XML documents; a HEAD has none.
      Effect.orElseSucceed(response.body.text, () => ""),
      (body): Effect.Effect<never, Retryable | HttpFailure> => {
        const parsed = Xml.error(body)
        const failure = new HttpFailure(response.status, parsed?.code, parsed?.message, response.headers)
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

  const execute: Client["execute"] = <A, E>(
    request: S3Request,
    context: Context,
    handle: (response: Response) => Effect.Effect<A, E | HttpFailure | Retryable | TransportError>
  ) => {
    const path = pathOf(request.key)
    const body = request.body
    const payloadHash = body === undefined || body.length === 0
      ? EMPTY_SHA256
      : options.unsignedPayload
      ? UNSIGNED_PAYLOAD
      : sha256Hex(body)
    const send = (headers: Record<string, string>, query: string) =>
      options.transport.send({
        method: request.method,
        origin: target.origin,
        path: query === "" ? path : path + "?" + query,
        headers,
        body
      })
    const credentials = options.credentials
    // Plain flatMaps, no generator: this runs for every request.
    const signedSend = credentials === undefined
      ? Effect.suspend(() =>
        send({ ...options.extraHeaders, ...request.headers, host: target.host }, canonicalQuery(request.query))
      )
      : Effect.flatMap(credentials, (creds) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const headers: Record<string, string> = { ...options.extraHeaders, ...request.headers, host: target.host }
          const signed = signRequest({
            method: request.method,
            path,
            query: request.query,
            headers,
            payloadHash,
            credentials: {
              accessKeyId: Redacted.value(creds.accessKeyId),
              secretAccessKey: Redacted.value(creds.secretAccessKey),
              sessionToken: creds.sessionToken === undefined ? undefined : Redacted.value(creds.sessionToken)
            },
            region: options.region,
            service: "s3",
            date: new Date(now),
            contentSha256Header: true
          })
          Object.assign(headers, signed.headers)
          return send(headers, signed.canonicalQuery)
        }))
    const attempt: Effect.Effect<A, E | HttpFailure | Retryable | StoreError | Unauthenticated> = signedSend.pipe(
      Effect.flatMap((response) =>
        response.status >= 300 ? failureOf(response, context, request.idempotent) : handle(response)
      ),
      Effect.catchIf(isTransportError, (error) =>
        Effect.fail(
          // A request that never left, or one that is safe to repeat, is retried; others report what happened.
          !error.sent || request.idempotent
            ? new Retryable(new StoreError({ ...context, description: error.description, cause: error }))
            : new StoreError({ ...context, description: error.description, cause: error })
        ))
    )
    return retrying(options.retry, attempt) as Effect.Effect<
      A,
      Exclude<E, TransportError | Retryable | HttpFailure> | HttpFailure | StoreError | Unauthenticated
    >
  }

  return { execute, pathOf, target }
}

/** The query string of an unsigned request, in the same canonical form the signer produces. */
const canonicalQuery = (query: ReadonlyArray<readonly [string, string]> | undefined): string => {
  if (query === undefined || query.length === 0) return ""
  return query
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")
}

/**
 * S3 can answer 200 and still have failed, with the error in the body (CopyObject, CompleteMultipartUpload, and any
 * response a broken proxy or server mangles). Such an answer is retried when the request is safe to repeat; otherwise
 * it is reported like a lost response, so a conditional write checks what happened instead of guessing.
 */
export const errorIn200 = (
  context: Context,
  error: { readonly code: string; readonly message: string | undefined },
  idempotent: boolean
): Retryable | StoreError => {
  const description = `HTTP 200 with an error body: ${error.code}${error.message ? `: ${error.message}` : ""}`
  return idempotent
    ? new Retryable(new StoreError({ ...context, description }))
    : new StoreError({ ...context, description, cause: new TransportError("other", description, undefined, true) })
}

/** Drops a response body that should be empty, failing if it holds an S3 error. */
export const discardChecked = (
  response: Response,
  context: Context,
  idempotent: boolean
): Effect.Effect<void, Retryable | StoreError | TransportError> =>
  header(response.headers, "content-length") === "0"
    ? response.body.discard
    : Effect.flatMap(response.body.text, (text) => {
      const error = Xml.error(text)
      return error === undefined ? Effect.void : Effect.fail(errorIn200(context, error, idempotent))
    })
