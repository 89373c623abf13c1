/**
 * Amazon S3 and S3-compatible servers (Ceph RADOS Gateway, MinIO, R2, ...), over the shared HTTP transport, signed
 * with our own SigV4 signer.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import { ClientConfig } from "./ClientConfig.js"
import * as Credentials from "./internal/aws/credentials.js"
import { decode } from "./internal/config.js"
import * as PlatformTransport from "./internal/http/platform.js"
import { Retryable } from "./internal/http/retry.js"
import type { Body, Response, Transport } from "./internal/http/transport.js"
import { header, isTransportError, TransportError } from "./internal/http/transport.js"
import * as Undici from "./internal/http/undici.js"
import * as payloads from "./internal/payload.js"
import * as S3Client from "./internal/s3/client.js"
import { HttpFailure } from "./internal/s3/client.js"
import { parseListPage } from "./internal/s3/listXml.js"
import * as Xml from "./internal/s3/xml.js"
import { encodeS3Key, expiresInProblem, presign } from "./internal/signing/sigv4.js"
import * as ObjectPath from "./ObjectPath.js"
import * as ObjectStore from "./ObjectStore.js"
import type { InvalidPath, StreamError } from "./ObjectStoreError.js"
import {
  AlreadyExists,
  InvalidConfig,
  InvalidRange,
  NotFound,
  NotModified,
  NotSupported,
  PermissionDenied,
  PreconditionFailed,
  StoreError,
  Unauthenticated,
  withContext
} from "./ObjectStoreError.js"
import * as PrefixStore from "./PrefixStore.js"
import { RetryConfig } from "./RetryConfig.js"
import * as Signer from "./Signer.js"

const STORE = "S3Store"

// Bucket names as S3 allows them (3-63 characters, lowercase letters, digits, dots and hyphens).
const BucketName = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    message: () => "a bucket name has 3 to 63 characters: lowercase letters, digits, dots and hyphens"
  })
)

const Endpoint = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const url = new URL(s)
      return url.protocol === "http:" || url.protocol === "https:" ? true : "the endpoint must be an http(s) URL"
    } catch {
      return `not a URL: ${JSON.stringify(s)}`
    }
  })
)

// A secret of the wrong type must not be echoed in the error that says so.
const Secret = Schema.Redacted(
  Schema.String.annotations({ message: () => "expected a string (the value is not shown: it is a secret)" })
)

// Literals whose error names every allowed value (the default names only the first).
const oneOf = <const L extends ReadonlyArray<string>>(...values: L) =>
  Schema.Literal(...values).annotations({
    message: (issue) => ({
      message: `expected one of ${values.map((v) => JSON.stringify(v)).join(", ")}, got ${
        JSON.stringify(issue.actual)
      }`,
      override: true
    })
  })

const Region = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
    message: () => "a region is letters, digits, dots, dashes and underscores, like \"eu-west-1\""
  })
)

/**
 * The configuration of an S3 store. Secrets are `Redacted` from the moment they are decoded.
 *
 * @since 0.1.0
 * @category models
 */
export class S3Config extends Schema.Class<S3Config>("effect-obstore/S3Config")({
  bucket: BucketName,
  region: Schema.optionalWith(Region, { default: () => "us-east-1" }),
  /** Default `https://s3.{region}.amazonaws.com`. */
  endpoint: Schema.optional(Endpoint),
  accessKeyId: Schema.optional(Secret),
  secretAccessKey: Schema.optional(Secret),
  sessionToken: Schema.optional(Secret),
  /** Send unsigned requests (public buckets). */
  skipSignature: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** `https://{bucket}.{endpoint host}/key` instead of the default path style `https://{endpoint}/{bucket}/key`. */
  virtualHostedStyleRequest: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Every path of the store lives below this prefix. */
  prefix: Schema.optional(Schema.String),
  /** Sign `UNSIGNED-PAYLOAD` instead of hashing request bodies (saves CPU; TLS protects the body). */
  unsignedPayload: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Send a checksum of every uploaded body for the server to verify. */
  checksumAlgorithm: Schema.optional(oneOf("SHA256")),
  /**
   * How conditional puts are sent: `etag` sends `If-Match` with the ETag as returned (AWS), `etag-unquoted` without
   * its quotes (Ceph RADOS Gateway), `disabled` refuses create/update modes with `NotSupported`.
   */
  conditionalPut: Schema.optionalWith(oneOf("etag", "etag-unquoted", "disabled"), { default: () => "etag" }),
  /**
   * How `copy`/`rename` with `overwrite: false` are done: `header` sends `If-None-Match: *` (for servers that honour
   * it on CopyObject); `disabled` (default) fails with `NotSupported` rather than risk overwriting.
   */
  copyIfNotExists: Schema.optionalWith(oneOf("header", "disabled"), { default: () => "disabled" }),
  /** Send `x-amz-request-payer: requester`. */
  requestPayer: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  serverSideEncryption: Schema.optional(oneOf("AES256", "aws:kms", "aws:kms:dsse")),
  sseKmsKeyId: Schema.optional(Schema.String),
  client: Schema.optionalWith(ClientConfig, { default: () => ClientConfig.make({}) }),
  retry: Schema.optionalWith(RetryConfig, {
    default: () => RetryConfig.make({})
  })
}) {}

/**
 * What `make` and `layer` take: the encoded form of `S3Config` (plain strings for secrets, durations as
 * `DurationInput`), plus an optional credential provider.
 *
 * @since 0.1.0
 * @category models
 */
export type S3Options = Schema.Schema.Encoded<typeof S3Config> & {
  /**
   * Where credentials come from when no static keys are given: an effect run whenever credentials are needed
   * (its result is cached and refreshed 5 minutes before it expires). Default: the AWS default chain
   * (environment, web identity, container, EC2 instance metadata).
   */
  readonly credentials?: Effect.Effect<AwsCredentials, Unauthenticated | StoreError> | undefined
}

/**
 * Credentials as a provider returns them.
 *
 * @since 0.1.0
 * @category models
 */
export type AwsCredentials = Credentials.AwsCredentials

/**
 * The S3-specific service, provided beside `ObjectStore` by the layers.
 *
 * @since 0.1.0
 * @category tags
 */
export class S3Store extends Context.Tag("effect-obstore/S3Store")<S3Store, {
  readonly config: S3Config
  readonly store: ObjectStore.ObjectStore.Service
  readonly signer: Signer.Signer.Service
  /** Multipart uploads in progress under a prefix (left behind by crashed writers), for cleanup and tests. */
  readonly listMultipartUploads: (
    prefix?: string
  ) => Effect.Effect<ReadonlyArray<{ readonly key: string; readonly uploadId: string }>, StoreError | Unauthenticated>
}>() {}

const DEFAULT_PART_SIZE = 8 * 1024 * 1024
const MIN_PART_SIZE = 5 * 1024 * 1024
const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024
const DEFAULT_PART_CONCURRENCY = 4
// Bodies up to this size are read before `get` returns: nothing stays open if the result is dropped unread, and a
// break while reading is retried with the request.
const EAGER_BODY_BYTES = 256 * 1024
const DELETE_BATCH = 1000
const UNREAD_BODY_GRACE_MS = 2_000
// How far back a stray upload (from a create whose answer was lost) may have started, allowing for clock skew.
const STRAY_WINDOW_MS = 60_000
const NONE_MATCH_ANY = Symbol.for("effect-obstore/S3Store/noneMatchAny")

const originOf = (url: URL) => `${url.protocol}//${url.host}`

const toHttpDate = (d: Date) => d.toUTCString()

const headerText = (response: Response, name: string) => header(response.headers, name)

// ---------------------------------------------------------------------------------------------------------------
// failures → typed errors
// ---------------------------------------------------------------------------------------------------------------

const UNAUTHENTICATED_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "AuthorizationHeaderMalformed"
])

type Ctx = { readonly store: string; readonly method: string; readonly path?: string | undefined }

const ctxFields = (ctx: Ctx, failure: HttpFailure) => ({
  store: ctx.store,
  method: ctx.method,
  ...(ctx.path === undefined ? {} : { path: ctx.path }),
  description: failure.describe(),
  cause: failure
})

const accessError = (ctx: Ctx, failure: HttpFailure): PermissionDenied | Unauthenticated | StoreError => {
  if (failure.status === 401 || (failure.code !== undefined && UNAUTHENTICATED_CODES.has(failure.code))) {
    return new Unauthenticated(ctxFields(ctx, failure))
  }
  if (failure.status === 403) return new PermissionDenied(ctxFields(ctx, failure))
  return new StoreError(ctxFields(ctx, failure))
}

const isFailure = (u: unknown): u is HttpFailure => u instanceof HttpFailure

/** Maps raw HTTP failures of an effect with `f`, leaving its other errors alone. */
const mapFailure = <A, E, E2>(effect: Effect.Effect<A, E>, f: (failure: HttpFailure) => E2) =>
  Effect.catchIf(effect, isFailure, (failure) => Effect.fail(f(failure))) as Effect.Effect<
    A,
    Exclude<E, HttpFailure> | E2
  >

// ---------------------------------------------------------------------------------------------------------------
// make
// ---------------------------------------------------------------------------------------------------------------

/**
 * Builds an S3 store over a given transport (internal: `make` and `makeWithHttpClient` choose the transport).
 */
const makeWith = (
  config: S3Config,
  transport: Transport,
  providedCredentials: Credentials.CredentialProvider | undefined
) =>
  Effect.gen(function*() {
    const invalid = (field: string, description: string) =>
      new InvalidConfig({ store: STORE, method: "make", field, description })

    const endpoint = new URL(config.endpoint ?? `https://s3.${config.region}.amazonaws.com`)
    if (endpoint.protocol === "http:" && !config.client.allowHttp) {
      return yield* Effect.fail(
        invalid("endpoint", `${endpoint.origin} is plain HTTP; set client.allowHttp: true to allow it`)
      )
    }
    if (config.serverSideEncryption === undefined && config.sseKmsKeyId !== undefined) {
      return yield* Effect.fail(invalid("sseKmsKeyId", "needs serverSideEncryption \"aws:kms\" or \"aws:kms:dsse\""))
    }
    if (config.sessionToken !== undefined && config.accessKeyId === undefined) {
      return yield* Effect.fail(
        invalid("sessionToken", "a session token goes with accessKeyId and secretAccessKey; set them too")
      )
    }
    const hasKey = config.accessKeyId !== undefined
    if (hasKey !== (config.secretAccessKey !== undefined)) {
      return yield* Effect.fail(
        invalid(hasKey ? "secretAccessKey" : "accessKeyId", "accessKeyId and secretAccessKey go together")
      )
    }

    const basePath = endpoint.pathname.replace(/\/+$/, "")
    const target: S3Client.Target = config.virtualHostedStyleRequest
      ? {
        origin: `${endpoint.protocol}//${config.bucket}.${endpoint.host}`,
        bucketPath: basePath,
        host: `${config.bucket}.${endpoint.host}`
      }
      : { origin: originOf(endpoint), bucketPath: `${basePath}/${encodeS3Key(config.bucket)}`, host: endpoint.host }

    const credentials: Credentials.CredentialProvider | undefined = config.skipSignature
      ? undefined
      : config.accessKeyId !== undefined && config.secretAccessKey !== undefined
      ? Credentials.staticProvider({
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        sessionToken: config.sessionToken
      })
      : yield* Credentials.cached(providedCredentials ?? Credentials.defaultChain({ region: config.region }))

    const extraHeaders: Record<string, string> = {}
    if (config.requestPayer) extraHeaders["x-amz-request-payer"] = "requester"

    const client = S3Client.make({
      transport,
      target,
      region: config.region,
      credentials,
      retry: config.retry,
      unsignedPayload: config.unsignedPayload,
      extraHeaders
    })

    // -- reading --------------------------------------------------------------------------------------------------

    const metaFrom = (path: string, response: Response, size: number): ObjectStore.ObjectMeta => {
      const lastModified = headerText(response, "last-modified")
      return {
        path,
        lastModified: lastModified === undefined ? new Date(0) : new Date(lastModified),
        size,
        eTag: headerText(response, "etag"),
        version: headerText(response, "x-amz-version-id")
      }
    }

    const attributesFrom = (response: Response): ObjectStore.Attributes => {
      const metadata: Record<string, string> = {}
      let hasMetadata = false
      for (const [name, value] of Object.entries(response.headers)) {
        if (name.startsWith("x-amz-meta-") && value !== undefined) {
          metadata[name.slice(11)] = typeof value === "string" ? value : value.join(",")
          hasMetadata = true
        }
      }
      const attributes: {
        -readonly [K in keyof ObjectStore.Attributes]: ObjectStore.Attributes[K]
      } = {}
      const set = (key: keyof ObjectStore.Attributes, name: string) => {
        const value = headerText(response, name)
        if (value !== undefined) (attributes as Record<string, unknown>)[key] = value
      }
      set("contentType", "content-type")
      set("contentDisposition", "content-disposition")
      set("contentEncoding", "content-encoding")
      set("contentLanguage", "content-language")
      set("cacheControl", "cache-control")
      set("storageClass", "x-amz-storage-class")
      if (hasMetadata) attributes.metadata = metadata
      return attributes
    }

    const rangeHeader = (range: ObjectStore.ByteRange): string => {
      if ("suffix" in range) return `bytes=-${range.suffix}`
      if ("offset" in range) {
        return range.length === undefined
          ? `bytes=${range.offset}-`
          : `bytes=${range.offset}-${range.offset + range.length - 1}`
      }
      return `bytes=${range.start}-${range.end - 1}`
    }

    // "bytes 0-9/100" → range and total size.
    const parseContentRange = (value: string | undefined) => {
      const match = value === undefined ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim())
      if (match === null) return undefined
      return {
        start: Number(match[1]),
        end: Number(match[2]) + 1,
        size: match[3] === "*" ? undefined : Number(match[3])
      }
    }

    const getFailure = (ctx: Ctx, range: ObjectStore.ByteRange | undefined) => (failure: HttpFailure) => {
      switch (failure.status) {
        case 404:
          return failure.code === "NoSuchBucket"
            ? new StoreError(ctxFields(ctx, failure))
            : new NotFound(ctxFields(ctx, failure))
        case 304:
          return new NotModified(ctxFields(ctx, failure))
        case 412:
          return new PreconditionFailed(ctxFields(ctx, failure))
        case 416:
          return new InvalidRange({
            ...ctxFields(ctx, failure),
            description: `${
              range === undefined ? "range" : rangeHeader(range)
            } is not satisfiable: ${failure.describe()}`
          })
        default:
          return accessError(ctx, failure)
      }
    }

    const malformed = (ctx: Ctx, description: string) => new StoreError({ ...ctx, description })

    /**
     * The body of a GET as one unbroken stream: a read that breaks (or ends short of the expected length) resumes
     * with a Range request from the byte where it stopped, pinned to the ETag, so the caller never sees mixed or
     * short data.
     */
    const resumingStream = (
      path: string,
      first: Body,
      range: ObjectStore.ResolvedRange,
      eTag: string | undefined
    ): Stream.Stream<Uint8Array, StreamError> =>
      Stream.suspend(() => {
        const ctx = { store: STORE, method: "get", path }
        const total = range.end - range.start
        let received = 0
        let resumes = 0
        const broken = (cause: unknown) =>
          new StoreError({
            ...ctx,
            description: `the body broke after ${received} of ${total} bytes`,
            cause
          })
        const from = (body: Body): Stream.Stream<Uint8Array, StreamError> =>
          body.stream.pipe(
            Stream.map((chunk) => {
              received += chunk.byteLength
              return chunk
            }),
            Stream.mapError(broken),
            Stream.concat(Stream.suspend(() =>
              received === total
                ? Stream.empty
                : Stream.fail(broken(new Error(`expected ${total} bytes, the body ended after ${received}`)))
            )),
            Stream.catchAll((error): Stream.Stream<Uint8Array, StreamError> => {
              if (received > total) {
                return Stream.fail(malformed(ctx, `the body is longer than its ${total} bytes`))
              }
              if (eTag === undefined || resumes >= config.retry.maxRetries) return Stream.fail(error)
              resumes++
              const rest: ObjectStore.ByteRange = { start: range.start + received, end: range.end }
              return Stream.unwrap(
                mapFailure(
                  client.execute(
                    {
                      method: "GET",
                      key: path,
                      headers: { range: rangeHeader(rest), "if-match": eTag },
                      idempotent: true
                    },
                    ctx,
                    (response) => Effect.succeed(response.body)
                  ),
                  (failure) =>
                    failure.status === 412
                      ? new PreconditionFailed({
                        ...ctxFields(ctx, failure),
                        description: `the object changed while its body was read (after ${received} bytes)`
                      })
                      : failure.status === 404
                      ? new NotFound({
                        ...ctxFields(ctx, failure),
                        description: "the object was deleted while its body was read"
                      })
                      : accessError(ctx, failure)
                ).pipe(Effect.map(from))
              )
            })
          )
        return from(first)
      })

    const get: ObjectStore.Backend["get"] = (path, options) => {
      const ctx = { store: STORE, method: "get", path }
      const headers: Record<string, string> = {}
      if (options.range !== undefined) headers.range = rangeHeader(options.range)
      // RGW ignores "*" in both headers on GET; it adds nothing to a request that fails with 404 anyway when the
      // object is missing, so "*" is evaluated here: If-Match: * holds for any object, If-None-Match: * for none.
      if (options.ifMatch !== undefined && options.ifMatch.trim() !== "*") headers["if-match"] = options.ifMatch
      const noneMatchAny = options.ifNoneMatch !== undefined && options.ifNoneMatch.trim() === "*"
      if (options.ifNoneMatch !== undefined && !noneMatchAny) headers["if-none-match"] = options.ifNoneMatch
      if (options.ifModifiedSince !== undefined) headers["if-modified-since"] = toHttpDate(options.ifModifiedSince)
      if (options.ifUnmodifiedSince !== undefined) {
        headers["if-unmodified-since"] = toHttpDate(options.ifUnmodifiedSince)
      }
      const head = options.head === true
      return mapFailure(
        client.execute(
          {
            method: head ? "HEAD" : "GET",
            key: path,
            headers,
            query: options.version === undefined ? undefined : [["versionId", options.version]],
            idempotent: true
          },
          ctx,
          (response): Effect.Effect<ObjectStore.GetResult, StoreError | TransportError | Retryable> => {
            const length = Number(headerText(response, "content-length") ?? "NaN")
            let range: ObjectStore.ResolvedRange
            let size: number
            if (response.status === 206) {
              const parsed = parseContentRange(headerText(response, "content-range"))
              if (parsed === undefined || parsed.size === undefined) {
                return Effect.zipRight(
                  response.body.discard,
                  Effect.fail(
                    malformed(ctx, `a 206 response with content-range ${headerText(response, "content-range")}`)
                  )
                )
              }
              range = { start: parsed.start, end: parsed.end }
              size = parsed.size
              // The server must answer the range that was asked for: anything else would hand back wrong bytes.
              const expected = options.range === undefined
                ? undefined
                : ObjectStore.resolveRange(options.range, size, ctx)
              if (
                expected === undefined || Either.isLeft(expected) || expected.right.start !== range.start ||
                expected.right.end !== range.end
              ) {
                return Effect.zipRight(
                  response.body.discard,
                  Effect.fail(
                    malformed(
                      ctx,
                      `asked for ${options.range === undefined ? "the whole object" : rangeHeader(options.range)}, ` +
                        `the server answered content-range ${headerText(response, "content-range")}`
                    )
                  )
                )
              }
            } else {
              if (!Number.isSafeInteger(length) || length < 0) {
                return Effect.zipRight(
                  response.body.discard,
                  Effect.fail(malformed(ctx, "the response has no valid content-length"))
                )
              }
              size = length
              // A server that ignores Range answers 200 with everything: cut the range out ourselves.
              if (options.range !== undefined && !head) {
                const resolved = ObjectStore.resolveRange(options.range, size, ctx)
                if (Either.isLeft(resolved)) {
                  return Effect.zipRight(response.body.discard, Effect.fail(malformed(ctx, resolved.left.message)))
                }
                range = resolved.right
              } else {
                range = { start: 0, end: size }
              }
            }
            const meta = metaFrom(path, response, size)
            const attributes = attributesFrom(response)
            if (noneMatchAny) {
              return Effect.zipRight(
                response.body.discard,
                Effect.fail(new StoreError({ ...ctx, description: "NotModified", cause: NONE_MATCH_ANY }))
              )
            }
            if (head) {
              return Effect.succeed(ObjectStore.makeGetResult({
                meta,
                range,
                attributes,
                stream: Stream.empty,
                bytes: Effect.succeed(new Uint8Array(0))
              }))
            }
            const whole = response.status !== 206 && options.range !== undefined
            if (whole || range.end - range.start <= EAGER_BODY_BYTES) {
              const expectedBytes = whole ? size : range.end - range.start
              return Effect.flatMap(response.body.bytes, (all) => {
                // A body that ended early (or ran long) is a broken read, and a GET is safe to send again.
                if (all.byteLength !== expectedBytes) {
                  return Effect.fail(
                    new Retryable(
                      new StoreError({
                        ...ctx,
                        description: `the body has ${all.byteLength} bytes, the response announced ${expectedBytes}`
                      })
                    )
                  )
                }
                const data = whole ? all.subarray(range.start, range.end) : all
                const bytes = Effect.succeed(data)
                return Effect.succeed(
                  ObjectStore.makeGetResult({ meta, range, attributes, stream: Stream.succeed(data), bytes })
                )
              })
            }
            // A result dropped unread must not hold its connection: if the body is not being read soon, let it
            // go. A stream started later fetches the bytes again, pinned to the ETag, like any broken read.
            let started = false
            const idle = setTimeout(() => {
              if (!started) Effect.runFork(response.body.discard)
            }, UNREAD_BODY_GRACE_MS)
            idle.unref()
            return Effect.succeed(ObjectStore.makeGetResult({
              meta,
              range,
              attributes,
              stream: Stream.suspend(() => {
                started = true
                clearTimeout(idle)
                return resumingStream(path, response.body, range, meta.eTag)
              })
            }))
          }
        ),
        getFailure(ctx, options.range)
      ).pipe(
        Effect.catchIf(
          (e): e is StoreError => e._tag === "StoreError" && e.cause === NONE_MATCH_ANY,
          () => Effect.fail(new NotModified({ ...ctx, description: "the object exists and ifNoneMatch is *" }))
        )
      )
    }

    const headObject: ObjectStore.Backend["head"] = (path) =>
      Effect.map(get(path, { head: true }), (result) => result.meta).pipe(
        Effect.mapError((error) => withContext(error, { method: "head" })),
        // A HEAD answer has no body, so a 403 cannot tell a bad signature from a denied read: ask with a GET of
        // one byte, whose error body says which.
        Effect.catchTag(
          "PermissionDenied",
          (denied) =>
            Effect.matchEffect(get(path, { range: { offset: 0, length: 1 } }), {
              onFailure: (probe) => Effect.fail(probe._tag === "Unauthenticated" ? probe : denied),
              onSuccess: () => Effect.fail(denied)
            })
        ),
        Effect.catchTags({
          NotModified: (e) => Effect.fail(new StoreError({ ...e, description: e.message })),
          PreconditionFailed: (e) => Effect.fail(new StoreError({ ...e, description: e.message })),
          InvalidRange: (e) => Effect.fail(new StoreError({ ...e, description: e.message })),
          NotSupported: (e) => Effect.fail(new StoreError({ ...e, description: e.message }))
        })
      )

    // -- writing --------------------------------------------------------------------------------------------------

    const putHeaders = (
      options: ObjectStore.PutOptions,
      ctx: Ctx
    ): Either.Either<Record<string, string>, NotSupported | PreconditionFailed> => {
      const headers: Record<string, string> = {}
      const attributes = options.attributes ?? {}
      if (attributes.contentType !== undefined) headers["content-type"] = attributes.contentType
      if (attributes.contentDisposition !== undefined) headers["content-disposition"] = attributes.contentDisposition
      if (attributes.contentEncoding !== undefined) headers["content-encoding"] = attributes.contentEncoding
      if (attributes.contentLanguage !== undefined) headers["content-language"] = attributes.contentLanguage
      if (attributes.cacheControl !== undefined) headers["cache-control"] = attributes.cacheControl
      if (attributes.storageClass !== undefined) headers["x-amz-storage-class"] = attributes.storageClass
      for (const [key, value] of Object.entries(attributes.metadata ?? {})) {
        headers[`x-amz-meta-${key.toLowerCase()}`] = value
      }
      const tags = Object.entries(options.tags ?? {})
      if (tags.length > 0) {
        headers["x-amz-tagging"] = tags.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")
      }
      if (config.serverSideEncryption !== undefined) {
        headers["x-amz-server-side-encryption"] = config.serverSideEncryption
        if (config.sseKmsKeyId !== undefined) {
          headers["x-amz-server-side-encryption-aws-kms-key-id"] = config.sseKmsKeyId
        }
      }
      const mode = options.mode ?? "overwrite"
      if (mode !== "overwrite") {
        if (config.conditionalPut === "disabled") {
          return Either.left(
            new NotSupported({ ...ctx, description: "conditional puts are disabled (conditionalPut: \"disabled\")" })
          )
        }
        if (mode === "create") headers["if-none-match"] = "*"
        else {
          if (mode.version !== undefined) {
            return Either.left(
              new NotSupported({ ...ctx, description: "S3 conditional puts compare ETags, not versions" })
            )
          }
          if (mode.eTag === undefined) {
            return Either.left(new PreconditionFailed({ ...ctx, description: "an update needs the ETag to compare" }))
          }
          headers["if-match"] = config.conditionalPut === "etag-unquoted" ? mode.eTag.replace(/^"|"$/g, "") : mode.eTag
        }
      }
      return Either.right(headers)
    }

    const putFailure = (ctx: Ctx, mode: ObjectStore.PutMode) => (failure: HttpFailure) => {
      const conditional = mode !== "overwrite"
      if (conditional && (failure.status === 412 || failure.status === 409)) {
        return mode === "create"
          ? new AlreadyExists(ctxFields(ctx, failure))
          : new PreconditionFailed(ctxFields(ctx, failure))
      }
      // AWS answers an If-Match on a missing key with 404: the precondition is what failed.
      if (conditional && failure.status === 404 && failure.code !== "NoSuchBucket") {
        return new PreconditionFailed({
          ...ctxFields(ctx, failure),
          description: "the object to update does not exist"
        })
      }
      return accessError(ctx, failure)
    }

    const checksumHeaders = (body: Uint8Array): Record<string, string> =>
      config.checksumAlgorithm === "SHA256"
        ? { "x-amz-checksum-sha256": createHash("sha256").update(body).digest("base64") }
        : {}

    type PutObjectError = AlreadyExists | PreconditionFailed | PermissionDenied | Unauthenticated | StoreError

    const isLostResponse = (e: PutObjectError) => e._tag === "StoreError" && isTransportError(e.cause) && e.cause.sent

    /**
     * A conditional put is not repeated blindly after its response was lost: it may have been applied. Look at the
     * object instead. Our content there (S3's ETag of a single PUT is the MD5 of the body) means it was applied;
     * the old object untouched (or none, for a create) means it was not, and it is sent again; anything else is
     * someone else's write.
     */
    const reconcile = (
      path: string,
      body: Uint8Array,
      headers: Record<string, string>,
      mode: ObjectStore.PutMode,
      lost: StoreError,
      tries: number
    ): Effect.Effect<ObjectStore.PutResult, PutObjectError> => {
      const ctx = { store: STORE, method: "put", path }
      const ours = `"${createHash("md5").update(body).digest("hex")}"`
      const unquote = (e: string | undefined) => e?.replace(/^"|"$/g, "")
      const again = tries < config.retry.maxRetries
        ? putObject(path, body, headers, mode, tries + 1)
        : Effect.fail(lost)
      return headObject(path).pipe(
        Effect.matchEffect({
          onFailure: (error): Effect.Effect<ObjectStore.PutResult, PutObjectError> =>
            error._tag !== "NotFound"
              ? Effect.fail(lost)
              : mode === "create"
              ? again
              : Effect.fail(new PreconditionFailed({ ...ctx, description: "the object to update does not exist" })),
          onSuccess: (meta): Effect.Effect<ObjectStore.PutResult, PutObjectError> => {
            if (config.serverSideEncryption === "aws:kms" || config.serverSideEncryption === "aws:kms:dsse") {
              return Effect.fail(lost) // KMS ETags are not the MD5 of the body: we cannot tell.
            }
            if (unquote(meta.eTag) === unquote(ours)) return Effect.succeed({ eTag: meta.eTag, version: meta.version })
            if (mode !== "create" && mode !== "overwrite" && unquote(meta.eTag) === unquote(mode.eTag)) return again
            return Effect.fail(
              mode === "create"
                ? new AlreadyExists({ ...ctx, description: "the response was lost, and another object is there now" })
                : new PreconditionFailed({
                  ...ctx,
                  description: "the response was lost, and the object now holds another write"
                })
            )
          }
        })
      )
    }

    const putObject = (
      path: string,
      body: Uint8Array,
      headers: Record<string, string>,
      mode: ObjectStore.PutMode,
      tries = 0
    ): Effect.Effect<ObjectStore.PutResult, PutObjectError> => {
      const ctx = { store: STORE, method: "put", path }
      return mapFailure(
        client.execute(
          {
            method: "PUT",
            key: path,
            headers: { ...headers, ...checksumHeaders(body), "content-length": String(body.byteLength) },
            body,
            idempotent: mode === "overwrite"
          },
          ctx,
          (response) =>
            Effect.as(S3Client.discardChecked(response, ctx, mode === "overwrite"), {
              eTag: headerText(response, "etag"),
              version: headerText(response, "x-amz-version-id")
            })
        ),
        putFailure(ctx, mode)
      ).pipe(
        Effect.catchIf(
          (e): e is StoreError => mode !== "overwrite" && isLostResponse(e),
          (lost) => reconcile(path, body, headers, mode, lost, tries)
        )
      )
    }

    /** Splits a stream of chunks into parts of exactly `size` bytes (the last may be shorter, never empty). */
    const toParts = <E>(stream: Stream.Stream<Uint8Array, E>, size: number): Stream.Stream<Uint8Array, E> =>
      Stream.suspend(() => {
        let pending: Array<Uint8Array> = []
        let pendingBytes = 0
        const take = (n: number): Uint8Array => {
          const out = new Uint8Array(n)
          let at = 0
          while (at < n) {
            const head = pending[0]
            const need = n - at
            if (head.byteLength <= need) {
              out.set(head, at)
              at += head.byteLength
              pending.shift()
            } else {
              out.set(head.subarray(0, need), at)
              pending[0] = head.subarray(need)
              at += need
            }
          }
          pendingBytes -= n
          return out
        }
        return stream.pipe(
          Stream.mapConcat((chunk) => {
            if (chunk.byteLength === 0) return []
            pending.push(chunk)
            pendingBytes += chunk.byteLength
            const parts: Array<Uint8Array> = []
            while (pendingBytes >= size) parts.push(take(size))
            return parts
          }),
          Stream.concat(Stream.suspend(() => {
            if (pendingBytes === 0) return Stream.empty
            const last = take(pendingBytes)
            pending = []
            return Stream.make(last)
          }))
        )
      })

    const putTagging = (path: string, tags: ReadonlyArray<readonly [string, string]>) => {
      const ctx = { store: STORE, method: "put", path }
      const body = "<Tagging><TagSet>" +
        tags.map(([k, v]) => `<Tag><Key>${Xml.escape(k)}</Key><Value>${Xml.escape(v)}</Value></Tag>`).join("") +
        "</TagSet></Tagging>"
      return mapFailure(
        client.execute(
          {
            method: "PUT",
            key: path,
            query: [["tagging", ""]],
            headers: {
              "content-md5": createHash("md5").update(body).digest("base64"),
              "content-type": "application/xml"
            },
            body,
            idempotent: true
          },
          ctx,
          (response) => S3Client.discardChecked(response, ctx, true)
        ),
        (failure) => accessError(ctx, failure)
      )
    }

    const abortUpload = (path: string, uploadId: string) =>
      client.execute(
        { method: "DELETE", key: path, query: [["uploadId", uploadId]], idempotent: true },
        { store: STORE, method: "put", path },
        (response) => response.body.discard
      ).pipe(Effect.ignore)

    const listUploads = (
      prefix: string
    ): Effect.Effect<
      ReadonlyArray<{ readonly key: string; readonly uploadId: string; readonly initiated: Date }>,
      StoreError | Unauthenticated
    > => {
      const ctx = { store: STORE, method: "listMultipartUploads", path: prefix }
      const page = (
        keyMarker: string | undefined,
        uploadIdMarker: string | undefined
      ): Effect.Effect<
        ReadonlyArray<{ readonly key: string; readonly uploadId: string; readonly initiated: Date }>,
        StoreError | Unauthenticated
      > => {
        const query: Array<readonly [string, string]> = [["uploads", ""]]
        if (prefix !== "") query.push(["prefix", prefix])
        if (keyMarker !== undefined) query.push(["key-marker", keyMarker])
        if (uploadIdMarker !== undefined) query.push(["upload-id-marker", uploadIdMarker])
        return mapFailure(
          client.execute({ method: "GET", query, idempotent: true }, ctx, (response) =>
            Effect.flatMap(response.body.text, (text) => {
              const result = Xml.child(Xml.parse(text), "ListMultipartUploadsResult")
              if (result === undefined) return Effect.fail(malformed(ctx, "ListMultipartUploads returned no result"))
              const uploads = Xml.list(result, "Upload").map((u) => ({
                key: Xml.text(u, "Key") ?? "",
                uploadId: Xml.text(u, "UploadId") ?? "",
                initiated: new Date(Xml.text(u, "Initiated") ?? 0)
              }))
              const next = Xml.text(result, "IsTruncated") === "true"
                ? [Xml.text(result, "NextKeyMarker"), Xml.text(result, "NextUploadIdMarker")] as const
                : undefined
              return next === undefined || next[0] === undefined
                ? Effect.succeed(uploads)
                : Effect.map(page(next[0], next[1]), (more) => [...uploads, ...more])
            })),
          (failure) => {
            const e = accessError(ctx, failure)
            return e._tag === "PermissionDenied" ? new StoreError({ ...e, description: e.message }) : e
          }
        )
      }
      return page(undefined, undefined)
    }

    const abortStrays = (path: string, since: number) =>
      Effect.flatMap(
        Effect.orElseSucceed(listUploads(path), () => []),
        (uploads) =>
          Effect.forEach(
            uploads.filter((u) =>
              u.key === path && u.initiated.getTime() >= since
            ),
            (u) => abortUpload(path, u.uploadId),
            { discard: true }
          )
      )

    const multipartPut = <E>(
      path: string,
      first: ReadonlyArray<Uint8Array>,
      rest: Stream.Stream<Uint8Array, E | StoreError>,
      headers: Record<string, string>,
      mode: ObjectStore.PutMode,
      concurrency: number
    ) => {
      const ctx = { store: STORE, method: "put", path }
      const { "if-none-match": ifNoneMatch, "if-match": ifMatch, ...createHeaders } = headers
      const garbled = new TransportError("other", "CreateMultipartUpload returned no UploadId", undefined, true)
      const createOnce = mapFailure(
        client.execute(
          // Not repeated blindly: a create whose answer is lost has started an upload nobody knows the id of.
          { method: "POST", key: path, query: [["uploads", ""]], headers: createHeaders, idempotent: false },
          ctx,
          (response) =>
            Effect.flatMap(response.body.text, (text) => {
              const uploadId = Xml.text(Xml.child(Xml.parse(text), "InitiateMultipartUploadResult"), "UploadId")
              return uploadId === undefined || uploadId === ""
                ? Effect.fail(new StoreError({ ...ctx, description: garbled.description, cause: garbled }))
                : Effect.succeed(uploadId)
            })
        ),
        (failure) => accessError(ctx, failure)
      )
      // After a lost or unreadable answer, abort the uploads of this key started since the attempt (the one whose
      // id never arrived), then start again.
      const create = (tries: number): Effect.Effect<string, PermissionDenied | Unauthenticated | StoreError> =>
        Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
          Effect.catchIf(createOnce, (e): e is StoreError => isLostResponse(e), (lost) =>
            Effect.zipRight(
              abortStrays(path, startedAt - STRAY_WINDOW_MS),
              tries >= config.retry.maxRetries ? Effect.fail(lost) : create(tries + 1)
            )))
      const uploadPart = (uploadId: string, part: Uint8Array, number: number) =>
        mapFailure(
          client.execute(
            {
              method: "PUT",
              key: path,
              query: [["partNumber", String(number)], ["uploadId", uploadId]],
              headers: { ...checksumHeaders(part), "content-length": String(part.byteLength) },
              body: part,
              idempotent: true
            },
            ctx,
            (response) => {
              const eTag = headerText(response, "etag")
              return Effect.zipRight(
                S3Client.discardChecked(response, ctx, true),
                eTag === undefined
                  ? Effect.fail(malformed(ctx, `part ${number} was stored without an ETag`))
                  : Effect.succeed(eTag)
              )
            }
          ),
          (failure) =>
            accessError(ctx, failure)
        )
      const complete = (uploadId: string, eTags: ReadonlyArray<string>) => {
        const body = "<CompleteMultipartUpload>" +
          eTags.map((eTag, i) =>
            `<Part><PartNumber>${i + 1}</PartNumber><ETag>${Xml.escape(eTag)}</ETag></Part>`
          ).join(
            ""
          ) +
          "</CompleteMultipartUpload>"
        const conditional: Record<string, string> = {}
        if (ifNoneMatch !== undefined) conditional["if-none-match"] = ifNoneMatch
        if (ifMatch !== undefined) conditional["if-match"] = ifMatch
        return mapFailure(
          client.execute(
            {
              method: "POST",
              key: path,
              query: [["uploadId", uploadId]],
              headers: { ...conditional, "content-type": "application/xml" },
              body,
              // Completing twice fails (the upload is gone): a lost answer is checked below instead.
              idempotent: false
            },
            ctx,
            (response) =>
              Effect.flatMap(
                response.body.text,
                (text): Effect.Effect<ObjectStore.PutResult, StoreError | Retryable> => {
                  // S3 can answer 200 and still fail: the error is in the body.
                  const error = Xml.error(text)
                  if (error !== undefined) return Effect.fail(S3Client.errorIn200(ctx, error, false))
                  const result = Xml.child(Xml.parse(text), "CompleteMultipartUploadResult")
                  const eTag = Xml.text(result, "ETag")
                  return Effect.succeed({
                    eTag: eTag === undefined || eTag === "" ? undefined : eTag,
                    version: headerText(response, "x-amz-version-id")
                  })
                }
              )
          ),
          putFailure(ctx, mode)
        )
      }
      // The ETag S3 gives a completed upload: the MD5 of the parts' MD5s, and the number of parts.
      const multipartETag = (eTags: ReadonlyArray<string>) => {
        const hash = createHash("md5")
        for (const eTag of eTags) hash.update(Buffer.from(eTag.replace(/"/g, ""), "hex"))
        return `"${hash.digest("hex")}-${eTags.length}"`
      }
      // After a lost (or error-in-200) answer, the object tells whether the upload was completed.
      const completeChecked = (
        uploadId: string,
        eTags: ReadonlyArray<string>,
        tries: number
      ): ReturnType<typeof complete> =>
        Effect.catchIf(complete(uploadId, eTags), (e): e is StoreError =>
          isLostResponse(e), (lost) =>
          Effect.flatMap(Effect.either(headObject(path)), (head) =>
            Either.isRight(head) && head.right.eTag?.replace(/"/g, "") === multipartETag(eTags).replace(/"/g, "")
              ? Effect.succeed({ eTag: head.right.eTag, version: head.right.version })
              : tries < config.retry.maxRetries
              ? completeChecked(uploadId, eTags, tries + 1)
              : Effect.fail(lost)))
      return Effect.acquireUseRelease(
        create(0),
        (uploadId) =>
          Stream.concat(Stream.fromIterable(first), rest).pipe(
            Stream.zipWithIndex,
            Stream.mapEffect(([part, index]) =>
              uploadPart(uploadId, part, index + 1), { concurrency }),
            Stream.runCollect,
            Effect.flatMap((eTags) =>
              completeChecked(uploadId, Array.from(eTags), 0)
            ),
            // RGW leaves the CompleteMultipartUpload ETag empty; HEAD has the right one.
            Effect.flatMap((result) =>
              result.eTag !== undefined
                ? Effect.succeed(result)
                : Effect.map(Effect.orElseSucceed(headObject(path), () => undefined), (meta) => ({
                  eTag: meta?.eTag,
                  version: result.version ?? meta?.version
                }))
            )
          ),
        // Any failure or interruption aborts the upload, so no parts are left behind (a completed upload has
        // nothing to abort).
        (uploadId, exit) => exit._tag === "Success" ? Effect.void : abortUpload(path, uploadId)
      )
    }

    const put: ObjectStore.Backend["put"] = <E>(
      path: string,
      payload: ObjectStore.PutPayload<E>,
      options: ObjectStore.PutOptions
    ) => {
      const ctx = { store: STORE, method: "put", path }
      const headers = putHeaders(options, ctx)
      if (Either.isLeft(headers)) return Effect.fail(headers.left)
      const mode = options.mode ?? "overwrite"
      const multipart = typeof options.multipart === "object" ? options.multipart : {}
      const partSize = multipart.partSize ?? DEFAULT_PART_SIZE
      const concurrency = multipart.concurrency ?? DEFAULT_PART_CONCURRENCY
      if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
        return Effect.fail(
          new StoreError({
            ...ctx,
            description: `multipart.partSize must be a whole number of bytes from 5 MiB to 5 GiB, got ${partSize}`
          })
        )
      }
      if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
        return Effect.fail(
          new StoreError({
            ...ctx,
            description: `multipart.concurrency must be a positive integer, got ${concurrency}`
          })
        )
      }
      const inMemory = payloads.inMemory(payload)
      if (inMemory !== undefined || options.multipart === false) {
        return Effect.flatMap(
          inMemory !== undefined
            ? Effect.succeed(payloads.concat(inMemory, false))
            : ObjectStore.payloadBytes(payload, ctx),
          (body) => putObject(path, body, headers.right, mode)
        )
      }
      const parts = toParts(ObjectStore.payloadStream(payload, ctx), partSize)
      // Look at the first two parts: a payload of one part or less goes up in a single PutObject.
      return Effect.scoped(
        Effect.flatMap(Stream.toPull(parts), (pull) => {
          const buffered: Array<Uint8Array> = []
          let done = false
          const fill = (n: number): Effect.Effect<void, E | StoreError> =>
            done || buffered.length >= n ? Effect.void : Effect.matchEffect(pull, {
              onFailure: Option.match({
                onNone: () => {
                  done = true
                  return Effect.void
                },
                onSome: Effect.fail
              }),
              onSuccess: (chunk) => {
                for (const part of chunk) buffered.push(part)
                return fill(n)
              }
            })
          return Effect.flatMap(fill(2), () => {
            if (done && buffered.length <= 1) {
              return putObject(path, buffered[0] ?? new Uint8Array(0), headers.right, mode)
            }
            const rest: Stream.Stream<Uint8Array, E | StoreError> = done
              ? Stream.empty
              : Stream.repeatEffectChunkOption(pull)
            const tags = Object.entries(options.tags ?? {})
            return multipartPut(path, buffered, rest, headers.right, mode, concurrency).pipe(
              // Some servers (RGW) drop the x-amz-tagging of CreateMultipartUpload: set the tags once more.
              Effect.tap(() => tags.length === 0 ? Effect.void : putTagging(path, tags))
            )
          })
        })
      )
    }

    // -- listing --------------------------------------------------------------------------------------------------

    interface Page {
      readonly objects: ReadonlyArray<ObjectStore.ObjectMeta>
      readonly commonPrefixes: ReadonlyArray<string>
      readonly next: string | undefined
    }

    const listPage = (
      method: string,
      prefix: string,
      delimiter: boolean,
      token: string | undefined,
      startAfter: string | undefined
    ): Effect.Effect<Page, PermissionDenied | Unauthenticated | StoreError> => {
      const ctx = { store: STORE, method, path: prefix }
      const query: Array<readonly [string, string]> = [["list-type", "2"]]
      if (prefix !== "") query.push(["prefix", prefix + "/"])
      if (delimiter) query.push(["delimiter", "/"])
      if (token !== undefined) query.push(["continuation-token", token])
      if (startAfter !== undefined) query.push(["start-after", startAfter])
      return mapFailure(
        client.execute({ method: "GET", query, idempotent: true }, ctx, (response) =>
          Effect.flatMap(response.body.text, (text): Effect.Effect<Page, StoreError | Retryable> => {
            const page = parseListPage(text)
            // A listing is safe to ask for again: an unreadable page is retried like a broken connection.
            if (typeof page === "string") {
              return Effect.fail(new Retryable(malformed(ctx, `ListObjectsV2: ${page}`)))
            }
            const objects: Array<ObjectStore.ObjectMeta> = []
            for (const entry of page.contents) {
              const size = Number(entry.size)
              const lastModified = new Date(entry.lastModified)
              if (
                entry.size === "" || !Number.isSafeInteger(size) || size < 0 || Number.isNaN(lastModified.getTime())
              ) {
                return Effect.fail(
                  malformed(
                    ctx,
                    `ListObjectsV2 returned "${entry.key}" with size ${entry.size}, time ${entry.lastModified}`
                  )
                )
              }
              // Keys that break our path rules (written by other clients) cannot be addressed: leave them out.
              if (Either.isLeft(ObjectPath.parse(entry.key))) {
                continue
              }
              objects.push({ path: entry.key, lastModified, size, eTag: entry.eTag })
            }
            const commonPrefixes = page.commonPrefixes.map((p) =>
              p.endsWith("/") ? p.slice(0, -1) : p
            )
            const truncated = page.isTruncated
            const next = page.nextContinuationToken
            if (truncated && (next === undefined || next === "")) {
              return Effect.fail(malformed(ctx, "ListObjectsV2 was truncated but gave no continuation token"))
            }
            return Effect.succeed({ objects, commonPrefixes, next: truncated ? next : undefined })
          })),
        (failure) =>
          accessError(ctx, failure)
      )
    }

    const list: ObjectStore.Backend["list"] = (prefix, options) =>
      Stream.paginateEffect(
        undefined as string | undefined,
        (token) =>
          Effect.map(
            listPage("list", prefix, false, token, token === undefined ? options.offset : undefined),
            (page): readonly [ReadonlyArray<ObjectStore.ObjectMeta>, Option.Option<string | undefined>] => [
              page.objects,
              page.next === undefined ? Option.none() : Option.some(page.next)
            ]
          )
      ).pipe(Stream.flattenIterables)

    const listWithDelimiter: ObjectStore.Backend["listWithDelimiter"] = (prefix) =>
      Effect.suspend(() => {
        const objects: Array<ObjectStore.ObjectMeta> = []
        const commonPrefixes: Array<string> = []
        const loop = (
          token: string | undefined
        ): Effect.Effect<ObjectStore.ListResult, PermissionDenied | Unauthenticated | StoreError> =>
          Effect.flatMap(listPage("listWithDelimiter", prefix, true, token, undefined), (page) => {
            objects.push(...page.objects)
            commonPrefixes.push(...page.commonPrefixes)
            return page.next === undefined ? Effect.succeed({ objects, commonPrefixes }) : loop(page.next)
          })
        return loop(undefined)
      })

    // -- copy, delete ---------------------------------------------------------------------------------------------

    const copy: ObjectStore.Backend["copy"] = (from, to, options) => {
      const ctx = { store: STORE, method: "copy", path: from }
      if (!options.overwrite && config.copyIfNotExists === "disabled") {
        return Effect.fail(
          new NotSupported({
            ...ctx,
            description: "copy without overwrite needs a server that honours If-None-Match on CopyObject; set " +
              "copyIfNotExists: \"header\" if yours does"
          })
        )
      }
      const headers: Record<string, string> = { "x-amz-copy-source": client.pathOf(from) }
      if (!options.overwrite) headers["if-none-match"] = "*"
      if (config.serverSideEncryption !== undefined) {
        headers["x-amz-server-side-encryption"] = config.serverSideEncryption
        if (config.sseKmsKeyId !== undefined) {
          headers["x-amz-server-side-encryption-aws-kms-key-id"] = config.sseKmsKeyId
        }
      }
      return mapFailure(
        client.execute(
          { method: "PUT", key: to, headers, idempotent: options.overwrite },
          ctx,
          (response) =>
            Effect.flatMap(response.body.text, (text): Effect.Effect<void, StoreError | Retryable> => {
              const error = Xml.error(text)
              return error === undefined ? Effect.void : Effect.fail(S3Client.errorIn200(ctx, error, options.overwrite))
            })
        ),
        (failure) =>
          failure.status === 404
            ? new NotFound(ctxFields(ctx, failure))
            : !options.overwrite && (failure.status === 412 || failure.status === 409)
            ? new AlreadyExists({ ...ctxFields(ctx, failure), path: to })
            : accessError(ctx, failure)
      )
    }

    const deleteOne: ObjectStore.Backend["delete"] = (path) => {
      const ctx = { store: STORE, method: "delete", path }
      return mapFailure(
        client.execute(
          { method: "DELETE", key: path, idempotent: true },
          ctx,
          (response) => S3Client.discardChecked(response, ctx, true)
        ),
        (failure) => failure.status === 404 && failure.code !== "NoSuchBucket" ? undefined : accessError(ctx, failure)
      ).pipe(
        Effect.catchIf((e) => e === undefined, () => Effect.void)
      ) as Effect.Effect<void, PermissionDenied | Unauthenticated | StoreError>
    }

    const deleteBatch = (keys: ReadonlyArray<string>) => {
      const ctx = { store: STORE, method: "delete" }
      const body = "<Delete><Quiet>true</Quiet>" +
        keys.map((key) => `<Object><Key>${Xml.escape(key)}</Key></Object>`).join("") + "</Delete>"
      const md5 = createHash("md5").update(body).digest("base64")
      return mapFailure(
        client.execute(
          {
            method: "POST",
            query: [["delete", ""]],
            headers: { "content-md5": md5, "content-type": "application/xml" },
            body,
            idempotent: true
          },
          ctx,
          (response) =>
            Effect.flatMap(response.body.text, (text): Effect.Effect<void, StoreError> => {
              const result = Xml.child(Xml.parse(text), "DeleteResult")
              if (result === undefined) {
                const error = Xml.error(text)
                return Effect.fail(malformed(
                  ctx,
                  error === undefined
                    ? "DeleteObjects returned no DeleteResult"
                    : `DeleteObjects failed: ${error.code}`
                ))
              }
              const failed = Xml.list(result, "Error")
                .map((e) => ({
                  key: Xml.text(e, "Key") ?? "?",
                  code: Xml.text(e, "Code") ?? "?",
                  message: Xml.text(e, "Message")
                }))
                .filter((e) => e.code !== "NoSuchKey")
              if (failed.length === 0) return Effect.void
              return Effect.fail(
                new StoreError({
                  ...ctx,
                  path: failed[0].key,
                  description: `${failed.length} of ${keys.length} deletes failed: ` +
                    failed.slice(0, 10).map((e) => `"${e.key}" (${e.code}${e.message ? `: ${e.message}` : ""})`).join(
                      ", "
                    ) +
                    (failed.length > 10 ? ", ..." : ""),
                  cause: failed
                })
              )
            })
        ),
        (failure) => accessError(ctx, failure)
      )
    }

    const deleteMany: ObjectStore.Backend["deleteMany"] = (paths) => {
      const batches: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < paths.length; i += DELETE_BATCH) batches.push(paths.slice(i, i + DELETE_BATCH))
      return Effect.forEach(batches, deleteBatch, { concurrency: 4, discard: true })
    }

    const listMultipartUploads = (prefix?: string) =>
      Effect.map(
        listUploads(
          ObjectPath.join(config.prefix === undefined ? "" : config.prefix.replace(/^\/|\/$/g, ""), prefix ?? "")
        ),
        (uploads) => uploads.map(({ key, uploadId }) => ({ key, uploadId }))
      )

    const base = ObjectStore.make({
      name: STORE,
      get,
      head: headObject,
      put,
      list,
      listWithDelimiter,
      copy,
      delete: deleteOne,
      deleteMany
    })
    const store = config.prefix === undefined ? base : yield* PrefixStore.make(base, config.prefix)

    // -- signing --------------------------------------------------------------------------------------------------

    const prefixPath = config.prefix === undefined ? "" : config.prefix.replace(/^\/|\/$/g, "")
    const signOne = (method: Signer.SignMethod, input: string, expiresIn: Duration.Duration) =>
      Effect.gen(function*() {
        const parsed = ObjectPath.parse(input, { store: STORE, method: "sign" })
        if (Either.isLeft(parsed)) {
          return yield* Effect.fail(parsed.left)
        }
        const key = ObjectPath.join(prefixPath, parsed.right)
        const path = client.pathOf(key)
        const url = new URL(target.origin + path)
        if (credentials === undefined) {
          return url
        }
        const creds = yield* credentials
        const now = yield* Clock.currentTimeMillis
        const signed = presign({
          method,
          path,
          headers: { host: target.host },
          payloadHash: S3Client.UNSIGNED_PAYLOAD,
          credentials: {
            accessKeyId: Redacted.value(creds.accessKeyId),
            secretAccessKey: Redacted.value(creds.secretAccessKey),
            sessionToken: creds.sessionToken === undefined ? undefined : Redacted.value(creds.sessionToken)
          },
          region: config.region,
          service: "s3",
          date: new Date(now),
          expiresIn: Duration.toSeconds(expiresIn)
        })
        url.search = signed.queryString
        return url
      })

    const sign =
      ((method: Signer.SignMethod, paths: string | ReadonlyArray<string>, expiresInInput: Duration.DurationInput) => {
        const decoded = Duration.decodeUnknown(expiresInInput)
        const expiresIn = Option.getOrElse(decoded, () => Duration.zero)
        const seconds = Duration.toSeconds(expiresIn)
        const problem = Option.isNone(decoded)
          ? `expected a duration such as "1 hour" or milliseconds, got ${JSON.stringify(String(expiresInInput))}`
          : Number.isFinite(seconds) && !Number.isInteger(seconds)
          ? `expiresIn must be whole seconds between 1 and 604800 (7 days), got ${seconds} s`
          : expiresInProblem(seconds)
        const effect: Effect.Effect<URL | ReadonlyArray<URL>, Signer.SignError> = problem !== undefined
          ? Effect.fail(new InvalidConfig({ store: STORE, method: "sign", field: "expiresIn", description: problem }))
          : typeof paths === "string"
          ? signOne(method, paths, expiresIn)
          : Effect.forEach(paths, (p) => signOne(method, p, expiresIn))
        return Effect.withSpan(effect, "S3Store.sign", { attributes: { "objectstore.store": STORE } })
      }) as Signer.Signer.Service["sign"]

    const signer: Signer.Signer.Service = { sign }
    return { store, signer, service: { config, store, signer, listMultipartUploads } }
  })

const decodeOptions = (options: S3Options) => {
  const { credentials, ...rest } = options
  return Effect.map(decode(S3Config, rest, STORE), (config) => ({ config, credentials }))
}

/**
 * Builds an S3 store on the default transport (an undici connection pool per origin, closed with the scope).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: S3Options
): Effect.Effect<ObjectStore.ObjectStore.Service, InvalidConfig | InvalidPath, Scope.Scope> =>
  Effect.map(makeFull(options), (s) => s.store)

const makeFull = (options: S3Options) =>
  Effect.flatMap(
    decodeOptions(options),
    ({ config, credentials }) =>
      Effect.flatMap(Undici.make(config.client), (transport) => makeWith(config, transport, credentials))
  )

const makeFullWithHttpClient = (options: S3Options) =>
  Effect.flatMap(
    decodeOptions(options),
    ({ config, credentials }) =>
      Effect.flatMap(PlatformTransport.make(config.client), (transport) => makeWith(config, transport, credentials))
  )

const layerFrom = <E, R>(
  full: Effect.Effect<
    {
      readonly store: ObjectStore.ObjectStore.Service
      readonly signer: Signer.Signer.Service
      readonly service: S3Store["Type"]
    },
    E,
    R
  >
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | S3Store, E, Exclude<R, Scope.Scope>> =>
  Layer.scopedContext(
    Effect.map(full, ({ service, signer, store }) =>
      Context.make(ObjectStore.ObjectStore, store).pipe(
        Context.add(Signer.Signer, signer),
        Context.add(S3Store, service)
      ))
  )

/**
 * Provides `ObjectStore`, `Signer` and `S3Store` on the default transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: S3Options
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | S3Store, InvalidConfig | InvalidPath> =>
  layerFrom(makeFull(options))

/**
 * Like `layer`, but sends every request through the `HttpClient` in context (custom TLS, proxies, other runtimes).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithHttpClient = (
  options: S3Options
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | S3Store, InvalidConfig | InvalidPath, HttpClient.HttpClient> =>
  layerFrom(makeFullWithHttpClient(options))

const optionalString = (name: string) => Config.option(Config.string(name))

/**
 * Reads the usual AWS environment variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
 * `AWS_REGION` / `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, `AWS_BUCKET` / `AWS_BUCKET_NAME`,
 * `AWS_ALLOW_HTTP`, `AWS_SKIP_SIGNATURE`. `overrides` win over the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<S3Options> = {}
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | S3Store, InvalidConfig | InvalidPath> =>
  layerFrom(Effect.flatMap(fromEnv(overrides), makeFull))

/**
 * The options `layerConfig` reads from the environment (through `Config`, so a ConfigProvider can stand in).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv = (overrides: Partial<S3Options> = {}): Effect.Effect<S3Options, InvalidConfig> =>
  Effect.gen(function*() {
    const env = yield* Config.all({
      accessKeyId: optionalString("AWS_ACCESS_KEY_ID"),
      secretAccessKey: optionalString("AWS_SECRET_ACCESS_KEY"),
      sessionToken: optionalString("AWS_SESSION_TOKEN"),
      region: optionalString("AWS_REGION"),
      defaultRegion: optionalString("AWS_DEFAULT_REGION"),
      endpointS3: optionalString("AWS_ENDPOINT_URL_S3"),
      endpoint: optionalString("AWS_ENDPOINT_URL"),
      bucket: optionalString("AWS_BUCKET"),
      bucketName: optionalString("AWS_BUCKET_NAME"),
      allowHttp: Config.option(Config.boolean("AWS_ALLOW_HTTP")),
      skipSignature: Config.option(Config.boolean("AWS_SKIP_SIGNATURE"))
    }).pipe(
      Effect.mapError((error) =>
        new InvalidConfig({ store: STORE, method: "layerConfig", description: String(error), cause: error })
      )
    )
    const pick = <A>(...options: ReadonlyArray<Option.Option<A>>) => Option.getOrUndefined(Option.firstSomeOf(options))
    const options: Record<string, unknown> = {}
    const set = (key: string, value: unknown) => {
      if (value !== undefined) options[key] = value
    }
    set("bucket", pick(env.bucket, env.bucketName))
    set("region", pick(env.region, env.defaultRegion))
    set("endpoint", pick(env.endpointS3, env.endpoint))
    set("accessKeyId", Option.getOrUndefined(env.accessKeyId))
    set("secretAccessKey", Option.getOrUndefined(env.secretAccessKey))
    set("sessionToken", Option.getOrUndefined(env.sessionToken))
    set("skipSignature", Option.getOrUndefined(env.skipSignature))
    const allowHttp = Option.getOrUndefined(env.allowHttp)
    const merged = { ...options, ...overrides } as Record<string, unknown>
    if (allowHttp !== undefined) {
      merged.client = { allowHttp, ...(overrides.client ?? {}) }
    }
    if (merged.bucket === undefined) {
      return yield* Effect.fail(
        new InvalidConfig({
          store: STORE,
          method: "layerConfig",
          field: "bucket",
          description: "no bucket: set AWS_BUCKET (or AWS_BUCKET_NAME) or pass { bucket }"
        })
      )
    }
    return merged as S3Options
  })
