// The S3 side of the request engine: the bucket's URL (path or virtual-hosted style), SigV4 signing as the cloud's
// authorize hook, S3's XML error bodies, and S3's error codes and headers for the shared tables.
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { StoreError } from "../../ObjectStoreError.js"
import type { RetryConfig } from "../../RetryConfig.js"
import type { S3Config } from "../../S3Store.js"
import type { AwsCredentials, CredentialProvider } from "../aws/credentials.js"
import { ERROR_BODY_LIMIT, readAtMost } from "../cloud/body.js"
import type { ErrorDialect } from "../cloud/errors.js"
import type { Context } from "../cloud/failure.js"
import { HttpFailure, isFailure } from "../cloud/failure.js"
import type { GetClient } from "../cloud/get.js"
import type { HeaderConfig } from "../cloud/headers.js"
import type { Authorize, Engine, Query } from "../cloud/request.js"
import * as Request from "../cloud/request.js"
import { errorInSuccess } from "../cloud/request.js"
import type { Retryable } from "../http/retry.js"
import type { Response, Transport, TransportError } from "../http/transport.js"
import { header } from "../http/transport.js"
import { encodeRfc3986, encodeS3Key, signRequest } from "../signing/sigv4.js"
import * as Xml from "./xml.js"

export type { Context } from "../cloud/failure.js"
export { HttpFailure } from "../cloud/failure.js"

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
const decoder = new TextDecoder()
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

export const STORE = "S3Store"

/** S3's part sizes (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html); at most 10,000 parts. */
export const PART_LIMITS = { minPartSize: 5 * 1024 * 1024, maxPartSize: 5 * 1024 * 1024 * 1024 } as const
export const MAX_PARTS = 10_000

/** S3's error codes for the shared error table. */
export const errorDialect: ErrorDialect = {
  unauthenticatedCodes: new Set([
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed"
  ]),
  containerMissingCodes: new Set(["NoSuchBucket"])
}

/** S3's headers for metadata and attributes. */
export const headerConfig: HeaderConfig = {
  metadataPrefix: "x-amz-meta-",
  versionHeader: "x-amz-version-id",
  storageClassHeader: "x-amz-storage-class"
}

export interface Target {
  readonly origin: string
  /** Encoded path of the bucket, e.g. "/bucket" (path style) or "" (virtual-hosted). */
  readonly bucketPath: string
  readonly host: string
}

export interface Client {
  /** Sends a request (its `path` from `pathOf`), retrying what is safe to retry. */
  readonly execute: Engine["execute"]
  /** The encoded request path of a key, as sent and signed. */
  readonly pathOf: (key: string | undefined) => string
  readonly target: Target
  readonly retry: RetryConfig
  /** GET and HEAD of objects, for the shared get. */
  readonly getClient: GetClient
}

export interface ClientOptions {
  readonly transport: Transport
  /** The bucket's name, for the errors that say it is missing. */
  readonly bucket: string
  readonly target: Target
  readonly region: string
  readonly credentials: CredentialProvider | undefined
  readonly retry: RetryConfig
  readonly unsignedPayload: boolean
  /** Headers added to every request (and signed): requester pays, ... */
  readonly extraHeaders: Record<string, string>
}

/** The query string of an unsigned request, in the same canonical form the signer produces. */
const canonicalQuery = (query: Query | undefined): string => {
  if (query === undefined || query.length === 0) return ""
  return query
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")
}

/** The credentials the signer used last: their secrets are scrubbed from whatever the server says. */
interface Signing {
  last: AwsCredentials | undefined
}

const secretsOf = (signing: Signing) => (): ReadonlyArray<string> => {
  const creds = signing.last
  if (creds === undefined) return []
  const out = [Redacted.value(creds.secretAccessKey)]
  if (creds.sessionToken !== undefined) out.push(Redacted.value(creds.sessionToken))
  return out
}

/** SigV4 as the engine's authorize hook (plain flatMaps, no generator: it runs for every request). */
const sigV4 =
  (region: string, credentials: CredentialProvider, unsignedPayload: boolean, signing: Signing): Authorize =>
  (
    request,
    headers,
    send
  ) => {
    const body = request.body
    const payloadHash = body === undefined || body.length === 0
      ? EMPTY_SHA256
      : unsignedPayload
      ? UNSIGNED_PAYLOAD
      : createHash("sha256").update(body).digest("hex")
    return Effect.flatMap(credentials, (creds) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        signing.last = creds
        const all = headers()
        const signed = signRequest({
          method: request.method,
          path: request.path,
          query: request.query,
          headers: all,
          payloadHash,
          credentials: {
            accessKeyId: Redacted.value(creds.accessKeyId),
            secretAccessKey: Redacted.value(creds.secretAccessKey),
            sessionToken: creds.sessionToken === undefined ? undefined : Redacted.value(creds.sessionToken)
          },
          region,
          service: "s3",
          date: new Date(now),
          contentSha256Header: true
        })
        Object.assign(all, signed.headers)
        return send(all, signed.canonicalQuery)
      }))
  }

const unsigned: Authorize = (request, headers, send) =>
  Effect.suspend(() => send(headers(), canonicalQuery(request.query)))

/** S3's error bodies, with a missing bucket described by name (S3's own message does not name it). */
const parseError = (bucket: string) => (body: string) => {
  const parsed = Xml.error(body)
  return parsed?.code === "NoSuchBucket" ? { code: parsed.code, message: bucketMissing(bucket) } : parsed
}

const bucketMissing = (bucket: string) => `bucket "${bucket}" does not exist`

/**
 * A HEAD answer has no body, so a 404 to a HEAD cannot say whether the object or the bucket is missing. The first
 * such 404 asks the bucket (HeadBucket); once it has answered that it exists, the answer is kept and later misses
 * cost nothing more. A missing bucket then fails as S3 says it for a GET: NoSuchBucket.
 */
const bucketCheck = (execute: Engine["execute"], bucketPath: string, bucket: string) => {
  let exists = false
  return (failure: HttpFailure): Effect.Effect<never, HttpFailure> =>
    exists || failure.status !== 404 || failure.code !== undefined
      ? Effect.fail(failure)
      : Effect.flatMap(
        Effect.either(execute(
          { method: "HEAD", path: bucketPath, idempotent: true },
          { store: STORE, method: "head" },
          (response) => response.body.discard
        )),
        (answer) => {
          const missing = answer._tag === "Left" && isFailure(answer.left) && answer.left.status === 404
          if (answer._tag === "Right" || (isFailure(answer.left) && answer.left.status === 403)) exists = true
          return Effect.fail(
            missing ? new HttpFailure(404, "NoSuchBucket", bucketMissing(bucket), failure.headers) : failure
          )
        }
      )
}

export const make = (options: ClientOptions): Client => {
  const { target } = options
  const pathOf = (key: string | undefined) =>
    key === undefined
      ? (target.bucketPath === "" ? "/" : target.bucketPath)
      : target.bucketPath + "/" + encodeS3Key(key)
  const signing: Signing = { last: undefined }
  const engine = Request.make({
    transport: options.transport,
    origin: target.origin,
    host: target.host,
    authorize: options.credentials === undefined
      ? unsigned
      : sigV4(options.region, options.credentials, options.unsignedPayload, signing),
    parseError: parseError(options.bucket),
    retry: options.retry,
    headers: options.extraHeaders,
    secrets: secretsOf(signing)
  })
  const execute = engine.execute
  const headMissing = bucketCheck(execute, pathOf(undefined), options.bucket)
  const getClient: GetClient = {
    store: STORE,
    headers: headerConfig,
    errors: errorDialect,
    maxResumes: options.retry.maxRetries,
    request: (request, context, handle) =>
      execute(
        {
          method: request.head ? "HEAD" : "GET",
          path: pathOf(request.path),
          headers: request.headers,
          query: request.version === undefined ? undefined : [["versionId", request.version]],
          idempotent: true
        },
        context,
        handle
      ).pipe(request.head ? Effect.catchIf(isFailure, headMissing) : identity)
  }
  return { execute, pathOf, target, retry: options.retry, getClient }
}

/** S3 can answer 200 and still have failed, with the error in the body (see `errorInSuccess`). */
export const errorIn200 = errorInSuccess

/** Drops a response body that should be empty, failing if it holds an S3 error. */
export const discardChecked = (
  response: Response,
  context: Context,
  idempotent: boolean
): Effect.Effect<void, Retryable | StoreError | TransportError> =>
  header(response.headers, "content-length") === "0"
    ? response.body.discard
    // An error document is small: the first 64 KiB say whether it is one, the rest is let go.
    : Effect.flatMap(readAtMost(response.body, response.headers, ERROR_BODY_LIMIT), ({ bytes }) => {
      const error = Xml.error(decoder.decode(bytes))
      return error === undefined ? Effect.void : Effect.fail(errorIn200(context, error, idempotent))
    })

/** What every S3 request function needs: the client and the store's config. */
export interface S3 {
  readonly client: Client
  readonly config: S3Config
}

export const malformed = (ctx: Context, description: string): StoreError => new StoreError({ ...ctx, description })
