/**
 * Amazon S3 and S3-compatible servers (Ceph RADOS Gateway, MinIO, R2, ...), over the shared HTTP transport, signed
 * with our own SigV4 signer.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { ClientConfig, type ClientOptions } from "./ClientConfig.js"
import type * as Credentials from "./internal/aws/credentials.js"
import * as Profile from "./internal/aws/profile.js"
import * as StoreLayer from "./internal/cloud/storeLayer.js"
import { decode } from "./internal/config.js"
import type { Transport } from "./internal/http/transport.js"
import * as S3 from "./internal/s3/store.js"
import * as ObjectStore from "./ObjectStore.js"
import type { InvalidPath, StoreError, Unauthenticated } from "./ObjectStoreError.js"
import { InvalidConfig } from "./ObjectStoreError.js"
import { RetryConfig, type RetryOptions } from "./RetryConfig.js"
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
 * What `make` and `layer` take: the plain form of `S3Config` (strings for secrets, durations as a `Duration`,
 * milliseconds or a string such as `"30 seconds"`), plus an optional credential provider. Unknown fields are
 * refused with `InvalidConfig`.
 *
 * @since 0.1.0
 * @category options
 */
export interface S3Options {
  /** The bucket: 3 to 63 characters, lowercase letters, digits, dots and hyphens. */
  readonly bucket: string
  /** The AWS region the bucket lives in (it is part of every signature). Default `"us-east-1"`. */
  readonly region?: string | undefined
  /** The server to talk to, an `http(s)://` URL. Default `https://s3.{region}.amazonaws.com`. */
  readonly endpoint?: string | undefined
  /** A static access key id; with `secretAccessKey`. Without them, `credentials` (or the AWS default chain) is used. */
  readonly accessKeyId?: string | undefined
  /** The secret of `accessKeyId`. Held as `Redacted` once decoded: never printed, logged or traced. */
  readonly secretAccessKey?: string | undefined
  /** The session token of temporary credentials (`AWS_SESSION_TOKEN`). */
  readonly sessionToken?: string | undefined
  /** Send unsigned requests (public buckets). Default `false`. */
  readonly skipSignature?: boolean | undefined
  /** `https://{bucket}.{endpoint host}/key` instead of the default path style `https://{endpoint}/{bucket}/key`. */
  readonly virtualHostedStyleRequest?: boolean | undefined
  /** Every path of the store lives below this prefix. */
  readonly prefix?: string | undefined
  /** Sign `UNSIGNED-PAYLOAD` instead of hashing request bodies (saves CPU; TLS protects the body). Default `false`. */
  readonly unsignedPayload?: boolean | undefined
  /** Send a checksum of every uploaded body for the server to verify. */
  readonly checksumAlgorithm?: "SHA256" | undefined
  /**
   * How conditional puts are sent: `etag` (default) sends `If-Match` with the ETag as returned (AWS), `etag-unquoted`
   * without its quotes (Ceph RADOS Gateway), `disabled` refuses create/update modes with `NotSupported`.
   */
  readonly conditionalPut?: "etag" | "etag-unquoted" | "disabled" | undefined
  /**
   * How `copy`/`rename` with `overwrite: false` are done: `header` sends `If-None-Match: *` (for servers that honour
   * it on CopyObject); `disabled` (default) fails with `NotSupported` rather than risk overwriting.
   */
  readonly copyIfNotExists?: "header" | "disabled" | undefined
  /** Send `x-amz-request-payer: requester` (buckets whose requester pays). Default `false`. */
  readonly requestPayer?: boolean | undefined
  /** Server-side encryption of uploaded objects (`x-amz-server-side-encryption`). */
  readonly serverSideEncryption?: "AES256" | "aws:kms" | "aws:kms:dsse" | undefined
  /** The KMS key for `serverSideEncryption: "aws:kms"` / `"aws:kms:dsse"`. */
  readonly sseKmsKeyId?: string | undefined
  /** HTTP client settings: timeouts, `allowHttp`, default headers, connection pool. */
  readonly client?: ClientOptions | undefined
  /** When and how often requests are retried (up to 10 retries within 180 s by default). */
  readonly retry?: RetryOptions | undefined
  /**
   * Where credentials come from when no static keys are given: an effect run whenever credentials are needed
   * (its result is cached and refreshed 5 minutes before it expires). Default: the AWS default chain
   * (environment, web identity, container, EC2 instance metadata).
   */
  readonly credentials?: Effect.Effect<AwsCredentials, Unauthenticated | StoreError> | undefined
}

// Declared by hand because editors show no documentation for the fields of `Schema.Encoded` types: this stops the
// build when the declaration and the schema disagree (a field added to `S3Config` must be added here too).
true satisfies Same<Omit<S3Options, "credentials">, typeof S3Config.Encoded>
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

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
  Effect.map(build.undici(options), (s) => s.store)

// The store on either transport.
const build = StoreLayer.builders(
  decodeOptions,
  ({ config }) => config.client,
  ({ config, credentials }, transport: Transport) => S3.make(config, transport, credentials)
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
  StoreLayer.layerFrom(S3Store, build.undici(options))

/**
 * Like `layer`, but sends every request through the `HttpClient` in context (custom TLS, proxies, other runtimes).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithHttpClient = (
  options: S3Options
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | S3Store, InvalidConfig | InvalidPath, HttpClient.HttpClient> =>
  StoreLayer.layerFrom(S3Store, build.platform(options))

const optionalString = (name: string) => Config.option(Config.string(name))

/**
 * Reads the usual AWS environment variables: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
 * `AWS_REGION` / `AWS_DEFAULT_REGION` (else the `region` of the `AWS_PROFILE` profile in `~/.aws/config`), `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` / `AWS_ENDPOINT` (obstore's name, read
 * last), `AWS_BUCKET` / `AWS_BUCKET_NAME`,
 * `AWS_ALLOW_HTTP`, `AWS_SKIP_SIGNATURE`. `overrides` win over the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<S3Options> = {}
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | S3Store, InvalidConfig | InvalidPath> =>
  StoreLayer.layerFrom(S3Store, Effect.flatMap(fromEnv(overrides), build.undici))

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
      endpointObstore: optionalString("AWS_ENDPOINT"),
      bucket: optionalString("AWS_BUCKET"),
      bucketName: optionalString("AWS_BUCKET_NAME"),
      allowHttp: Config.option(Config.boolean("AWS_ALLOW_HTTP")),
      skipSignature: Config.option(Config.boolean("AWS_SKIP_SIGNATURE")),
      profile: optionalString("AWS_PROFILE"),
      configFile: optionalString("AWS_CONFIG_FILE"),
      credentialsFile: optionalString("AWS_SHARED_CREDENTIALS_FILE"),
      home: optionalString("HOME"),
      userProfile: optionalString("USERPROFILE")
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
    // Like the SDKs: the profile's region when the environment names none (an override still wins below).
    set(
      "region",
      pick(env.region, env.defaultRegion) ??
        (overrides.region === undefined
          ? yield* Profile.configuredRegion({
            AWS_PROFILE: Option.getOrUndefined(env.profile),
            AWS_CONFIG_FILE: Option.getOrUndefined(env.configFile),
            AWS_SHARED_CREDENTIALS_FILE: Option.getOrUndefined(env.credentialsFile),
            HOME: Option.getOrUndefined(env.home),
            USERPROFILE: Option.getOrUndefined(env.userProfile)
          })
          : undefined)
    )
    set("endpoint", pick(env.endpointS3, env.endpoint, env.endpointObstore))
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
    // Checked by the strict decoder of `make`; an interface has no index signature to convert from directly.
    return merged as unknown as S3Options
  })

export {
  /**
   * Reads the URL forms of an S3 store (`s3://`, `s3a://`, AWS `https://` path and virtual-hosted style, R2) into
   * the bucket, prefix, region and endpoint they name; the left is why a URL is not one.
   *
   * @since 0.1.0
   * @category constructors
   */
  parse as parseUrl
} from "./internal/s3/url.js"
