/**
 * Google Cloud Storage over its JSON API, on the shared HTTP transport and cloud core: OAuth tokens from a service
 * account key, an `authorized_user` refresh token, the GCE metadata server or a static bearer token; V4 signed URLs.
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
import * as StoreLayer from "./internal/cloud/storeLayer.js"
import { decode } from "./internal/config.js"
import * as GCS from "./internal/gcs/store.js"
import * as ObjectStore from "./ObjectStore.js"
import type { InvalidPath } from "./ObjectStoreError.js"
import { InvalidConfig } from "./ObjectStoreError.js"
import { RetryConfig, type RetryOptions } from "./RetryConfig.js"
import * as Signer from "./Signer.js"

const STORE = "GCSStore"

// Bucket names as GCS allows them (https://cloud.google.com/storage/docs/buckets#naming), without the dotted
// domain-named form's extra length rules.
const BucketName = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, {
    message: () => "a bucket name has 3 to 222 characters: lowercase letters, digits, dots, dashes and underscores"
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

/**
 * The configuration of a GCS store. Secrets are `Redacted` from the moment they are decoded.
 *
 * @since 0.1.0
 * @category models
 */
export class GCSConfig extends Schema.Class<GCSConfig>("effect-obstore/GCSConfig")({
  bucket: BucketName,
  /** Path of a service account key file. */
  serviceAccount: Schema.optional(Schema.String),
  /** A service account key, the JSON document itself. */
  serviceAccountKey: Schema.optional(Secret),
  /** Path of an application default credentials file: a service account key or an `authorized_user` file. */
  applicationCredentials: Schema.optional(Schema.String),
  /** A static OAuth access token. */
  bearerToken: Schema.optional(Secret),
  /** Default `https://storage.googleapis.com`. */
  endpoint: Schema.optional(Endpoint),
  /** The GCE metadata server, asked for tokens when no credentials are configured. */
  metadataEndpoint: Schema.optional(Endpoint),
  /** Send no credentials (public buckets, emulators). */
  skipSignature: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /**
   * The server is the Cloud Storage emulator: metadata is read from the object resource (its downloads lack it),
   * conditional puts and copies without overwrite fail with `NotSupported` (it ignores preconditions), and streams
   * are uploaded in one request (it completes an object on the first chunk of a resumable upload).
   */
  emulator: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Every path of the store lives below this prefix. */
  prefix: Schema.optional(Schema.String),
  client: Schema.optionalWith(ClientConfig, { default: () => ClientConfig.make({}) }),
  retry: Schema.optionalWith(RetryConfig, { default: () => RetryConfig.make({}) })
}) {}

/**
 * What `make` and `layer` take: the plain form of `GCSConfig`. Unknown fields are refused with `InvalidConfig`.
 *
 * @since 0.1.0
 * @category options
 */
export interface GCSOptions {
  /** The bucket. */
  readonly bucket: string
  /** Path of a service account key file (`GOOGLE_SERVICE_ACCOUNT`). */
  readonly serviceAccount?: string | undefined
  /** A service account key as JSON (`GOOGLE_SERVICE_ACCOUNT_KEY`). Held as `Redacted` once decoded. */
  readonly serviceAccountKey?: string | undefined
  /** Path of an ADC file, service account or `authorized_user` (`GOOGLE_APPLICATION_CREDENTIALS`). */
  readonly applicationCredentials?: string | undefined
  /** A static OAuth access token. Held as `Redacted` once decoded. */
  readonly bearerToken?: string | undefined
  /** The server, an `http(s)://` URL. Default `https://storage.googleapis.com`. */
  readonly endpoint?: string | undefined
  /** The GCE metadata server (default `http://metadata.google.internal`, `GCE_METADATA_HOST`). */
  readonly metadataEndpoint?: string | undefined
  /** Send no credentials (public buckets, emulators). Default `false`. */
  readonly skipSignature?: boolean | undefined
  /**
   * The server is the Cloud Storage emulator (set by `layerConfig` from `STORAGE_EMULATOR_HOST`): metadata comes from
   * the object resource, conditional puts and copies without overwrite are `NotSupported`, streams go in one request.
   */
  readonly emulator?: boolean | undefined
  /** Every path of the store lives below this prefix. */
  readonly prefix?: string | undefined
  /** HTTP client settings: timeouts, `allowHttp`, default headers, connection pool. */
  readonly client?: ClientOptions | undefined
  /** When and how often requests are retried (up to 10 retries within 180 s by default). */
  readonly retry?: RetryOptions | undefined
}

// Declared by hand for editor documentation; this stops the build when it and the schema disagree.
true satisfies Same<GCSOptions, typeof GCSConfig.Encoded>
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/**
 * The GCS-specific service, provided beside `ObjectStore` by the layers.
 *
 * @since 0.1.0
 * @category tags
 */
export class GCSStore extends Context.Tag("effect-obstore/GCSStore")<GCSStore, {
  readonly config: GCSConfig
  readonly store: ObjectStore.ObjectStore.Service
  readonly signer: Signer.Signer.Service
}>() {}

// The store on either transport.
const build = StoreLayer.builders(
  (options: GCSOptions) => decode(GCSConfig, options, STORE),
  (config) => config.client,
  GCS.make
)

/**
 * Builds a GCS store on the default transport (an undici connection pool per origin, closed with the scope).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: GCSOptions
): Effect.Effect<ObjectStore.ObjectStore.Service, InvalidConfig | InvalidPath, Scope.Scope> =>
  Effect.map(build.undici(options), (s) => s.store)

/**
 * Provides `ObjectStore`, `Signer` and `GCSStore` on the default transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: GCSOptions
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | GCSStore, InvalidConfig | InvalidPath> =>
  StoreLayer.layerFrom(GCSStore, build.undici(options))

/**
 * Like `layer`, but sends every request through the `HttpClient` in context (custom TLS, proxies, other runtimes).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithHttpClient = (
  options: GCSOptions
): Layer.Layer<
  ObjectStore.ObjectStore | Signer.Signer | GCSStore,
  InvalidConfig | InvalidPath,
  HttpClient.HttpClient
> => StoreLayer.layerFrom(GCSStore, build.platform(options))

/**
 * Reads the usual Google environment variables: `GOOGLE_SERVICE_ACCOUNT` (or `GOOGLE_SERVICE_ACCOUNT_PATH`),
 * `GOOGLE_SERVICE_ACCOUNT_KEY`, `GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_BUCKET` / `GOOGLE_BUCKET_NAME`,
 * `GCE_METADATA_HOST`, and `STORAGE_EMULATOR_HOST` (the emulator: its endpoint, `emulator: true`, plain HTTP
 * allowed). `overrides` win over the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<GCSOptions> = {}
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | GCSStore, InvalidConfig | InvalidPath> =>
  StoreLayer.layerFrom(GCSStore, Effect.flatMap(fromEnv(overrides), build.undici))

const optionalString = (name: string) => Config.option(Config.string(name))

/**
 * The options `layerConfig` reads from the environment (through `Config`, so a ConfigProvider can stand in).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv = (overrides: Partial<GCSOptions> = {}): Effect.Effect<GCSOptions, InvalidConfig> =>
  Effect.gen(function*() {
    const env = yield* Config.all({
      serviceAccount: optionalString("GOOGLE_SERVICE_ACCOUNT"),
      serviceAccountPath: optionalString("GOOGLE_SERVICE_ACCOUNT_PATH"),
      serviceAccountKey: optionalString("GOOGLE_SERVICE_ACCOUNT_KEY"),
      applicationCredentials: optionalString("GOOGLE_APPLICATION_CREDENTIALS"),
      bucket: optionalString("GOOGLE_BUCKET"),
      bucketName: optionalString("GOOGLE_BUCKET_NAME"),
      metadataHost: optionalString("GCE_METADATA_HOST"),
      emulatorHost: optionalString("STORAGE_EMULATOR_HOST")
    }).pipe(
      Effect.mapError((error) =>
        new InvalidConfig({ store: STORE, method: "layerConfig", description: String(error), cause: error })
      )
    )
    const get = <A>(o: Option.Option<A>) => Option.getOrUndefined(o)
    const options: Record<string, unknown> = {}
    const set = (key: string, value: unknown) => {
      if (value !== undefined) options[key] = value
    }
    set("bucket", get(Option.orElse(env.bucket, () => env.bucketName)))
    set("serviceAccount", get(Option.orElse(env.serviceAccount, () => env.serviceAccountPath)))
    set("serviceAccountKey", get(env.serviceAccountKey))
    set("applicationCredentials", get(env.applicationCredentials))
    const metadataHost = get(env.metadataHost)
    if (metadataHost !== undefined) {
      set("metadataEndpoint", /^https?:\/\//.test(metadataHost) ? metadataHost : `http://${metadataHost}`)
    }
    const emulator = get(env.emulatorHost)
    const merged = { ...options, ...overrides } as Record<string, unknown>
    if (emulator !== undefined && overrides.endpoint === undefined) {
      // The SDKs take a bare host:port as http.
      merged.endpoint = /^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`
      merged.emulator = overrides.emulator ?? true
      merged.client = { allowHttp: true, ...(overrides.client ?? {}) }
    }
    if (merged.bucket === undefined) {
      return yield* Effect.fail(
        new InvalidConfig({
          store: STORE,
          method: "layerConfig",
          field: "bucket",
          description: "no bucket: set GOOGLE_BUCKET (or GOOGLE_BUCKET_NAME) or pass { bucket }"
        })
      )
    }
    return merged as unknown as GCSOptions
  })

export {
  /**
   * Reads the URL forms of a GCS store (`gs://<bucket>[/<prefix>]`, `https://storage.googleapis.com/<bucket>`) into
   * the bucket and prefix they name; the left is why a URL is not one.
   *
   * @since 0.1.0
   * @category constructors
   */
  parse as parseUrl
} from "./internal/gcs/url.js"
