/**
 * Picks a store from a URL, like obstore's `from_url`: `memory:///`, `file:///absolute/dir`, `s3://bucket/prefix`
 * (and AWS or R2 `https://` hosts), `az://container/prefix` (and `azure://`, `adl://`, `abfs[s]://`, Azure account
 * hosts, the emulator's `http://127.0.0.1:10000/devstoreaccount1/<container>`), `gs://bucket/prefix` (and
 * `https://storage.googleapis.com/<bucket>`), and any other `http(s)://` URL as an `HTTPStore` (WebDAV, or a plain
 * server read-only). Each store reads its own URL forms; the store modules are loaded only when their URL is used, so
 * a program that never calls this module carries none of them.
 *
 * Options are typed by scheme: an S3 URL takes the options of `S3Store` (but the bucket, which the URL names), an Azure
 * URL those of `AzureStore` (but the container), a GCS URL those of `GCSStore` (but the bucket), a plain http(s) URL
 * those of `HTTPStore` (but the url), a file URL those of `LocalStore` (but the root), a memory URL none. An option the
 * picked store does not have is an `InvalidConfig` naming it, and so is an option the URL already fixes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { AzureOptions } from "./AzureStore.js"
import type { GCSOptions } from "./GCSStore.js"
import type { HTTPOptions } from "./HTTPStore.js"
import * as AzureUrls from "./internal/azure/url.js"
import * as GcsUrls from "./internal/gcs/url.js"
import * as S3Urls from "./internal/s3/url.js"
import { toUrl } from "./internal/url.js"
import * as HttpUrls from "./internal/webdav/url.js"
import type { LocalOptions } from "./LocalStore.js"
import { ObjectStore } from "./ObjectStore.js"
import type { InvalidPath } from "./ObjectStoreError.js"
import { InvalidConfig } from "./ObjectStoreError.js"
import type { S3Options } from "./S3Store.js"

/**
 * What an S3 URL takes: every `S3Store` option but `bucket`. Credentials and the endpoint are also read from the
 * usual `AWS_*` variables, as `S3Store.layerConfig` does; options win over the environment.
 *
 * @since 0.1.0
 * @category options
 */
export type S3UrlOptions = Omit<S3Options, "bucket">

/**
 * What a file URL takes: every `LocalStore` option but `root`.
 *
 * @since 0.1.0
 * @category options
 */
export type LocalUrlOptions = Omit<LocalOptions, "root">

/**
 * What an Azure URL takes: every `AzureStore` option but `container`. Credentials are also read from the usual
 * `AZURE_*` variables, as `AzureStore.layerConfig` does; options win over the environment.
 *
 * @since 0.1.0
 * @category options
 */
export type AzureUrlOptions = Omit<AzureOptions, "container">

/**
 * What a GCS URL takes: every `GCSStore` option but `bucket`. Credentials are also read from the usual `GOOGLE_*`
 * variables, as `GCSStore.layerConfig` does; options win over the environment.
 *
 * @since 0.1.0
 * @category options
 */
export type GCSUrlOptions = Omit<GCSOptions, "bucket">

/**
 * What a plain http(s) URL takes: every `HTTPStore` option but `url`.
 *
 * @since 0.1.0
 * @category options
 */
export type HTTPUrlOptions = Omit<HTTPOptions, "url">

/**
 * The options of a URL whose scheme is known only at run time.
 *
 * @since 0.1.0
 * @category options
 */
export type UrlOptions = S3UrlOptions | AzureUrlOptions | GCSUrlOptions | HTTPUrlOptions | LocalUrlOptions

/**
 * The URLs of S3 stores.
 *
 * @since 0.1.0
 * @category models
 */
export type S3Url = `s3://${string}` | `s3a://${string}`

/**
 * The URLs of Azure stores by scheme (account hosts are `https://` URLs).
 *
 * @since 0.1.0
 * @category models
 */
export type AzureUrl =
  | `az://${string}`
  | `azure://${string}`
  | `adl://${string}`
  | `abfs://${string}`
  | `abfss://${string}`

/**
 * The URLs of GCS stores by scheme (`https://storage.googleapis.com/...` is an `https://` URL).
 *
 * @since 0.1.0
 * @category models
 */
export type GCSUrl = `gs://${string}`

/**
 * `http(s)://` URLs: an S3, Azure or GCS store when the host is theirs, otherwise an `HTTPStore`.
 *
 * @since 0.1.0
 * @category models
 */
export type HttpUrl = `https://${string}` | `http://${string}`

/**
 * Every URL form with an overload of its own.
 *
 * @since 0.1.0
 * @category models
 */
export type KnownUrl = S3Url | AzureUrl | GCSUrl | HttpUrl | `file://${string}` | `memory://${string}`

/**
 * The error of a URL whose store is known only at run time.
 *
 * @since 0.1.0
 * @category errors
 */
export type FromUrlError = InvalidConfig | InvalidPath

const SUPPORTED = [
  "memory:///",
  "file:///<absolute directory>",
  ...S3Urls.forms,
  ...AzureUrls.forms,
  ...GcsUrls.forms,
  ...HttpUrls.forms
].join(", ")

const invalid = (description: string, field = "url") =>
  Effect.fail(new InvalidConfig({ store: "FromUrl", method: "fromUrl", field, description }))

// Options whose value is undefined count as absent, as they do for the stores' own configs.
const given = (options: object): ReadonlyArray<string> =>
  Object.entries(options).filter(([, value]) => value !== undefined).map(([key]) => key)

// The first option that the store does not take, or that the URL already fixes.
const checkOptions = (
  url: string,
  options: object,
  takes: ReadonlyArray<string>,
  fixed: ReadonlyArray<string>
): Effect.Effect<void, InvalidConfig> => {
  for (const key of given(options)) {
    if (fixed.includes(key)) return invalid(`${key} comes from the URL ${JSON.stringify(url)}`, key)
    if (!takes.includes(key)) {
      return invalid(
        takes.length === 0
          ? `${JSON.stringify(url)} takes no options`
          : `${JSON.stringify(url)} takes no option ${JSON.stringify(key)} (it takes ${takes.join(", ")})`,
        key
      )
    }
  }
  return Effect.void
}

const fromParse = <A>(parsed: Either.Either<A, string>): Effect.Effect<A, InvalidConfig> =>
  Either.isLeft(parsed) ? invalid(parsed.left) : Effect.succeed(parsed.right)

const memory = (url: string, options: object) =>
  Effect.flatMap(Effect.promise(() => import("./MemoryStore.js")), (MemoryStore) =>
    Effect.zipRight(
      Effect.zipRight(fromParse(MemoryStore.parseUrl(url)), checkOptions(url, options, [], [])),
      MemoryStore.make
    ))

const file = (url: string, options: object) =>
  Effect.flatMap(
    Effect.promise(() => Promise.all([import("./internal/local/url.js"), import("./LocalStore.js")])),
    ([LocalUrl, LocalStore]) =>
      Effect.flatMap(fromParse(LocalUrl.parse(url)), ({ root }) =>
        Effect.zipRight(
          checkOptions(url, options, Object.keys(LocalStore.LocalConfig.fields), ["root"]),
          Effect.provide(ObjectStore, LocalStore.layer({ ...(options as LocalUrlOptions), root }))
        ))
  )

const s3 = (url: string, options: object) =>
  Effect.flatMap(
    Effect.promise(() => import("./S3Store.js")),
    (S3Store) =>
      Effect.flatMap(fromParse(S3Urls.parse(url)), (fixed) =>
        Effect.zipRight(
          checkOptions(url, options, [...Object.keys(S3Store.S3Config.fields), "credentials"], Object.keys(fixed)),
          // The environment first, then the options, then what the URL says.
          Effect.flatMap(S3Store.fromEnv({ ...(options as S3UrlOptions), ...fixed }), S3Store.make)
        ))
  )

const azure = (url: string, options: object) =>
  Effect.flatMap(
    Effect.promise(() => import("./AzureStore.js")),
    (AzureStore) =>
      Effect.flatMap(fromParse(AzureUrls.parse(url)), (fixed) =>
        Effect.zipRight(
          checkOptions(url, options, Object.keys(AzureStore.AzureConfig.fields), Object.keys(fixed)),
          Effect.flatMap(AzureStore.fromEnv({ ...(options as AzureUrlOptions), ...fixed }), AzureStore.make)
        ))
  )

const gcs = (url: string, options: object) =>
  Effect.flatMap(
    Effect.promise(() => import("./GCSStore.js")),
    (GCSStore) =>
      Effect.flatMap(fromParse(GcsUrls.parse(url)), (fixed) =>
        Effect.zipRight(
          checkOptions(url, options, Object.keys(GCSStore.GCSConfig.fields), Object.keys(fixed)),
          Effect.flatMap(GCSStore.fromEnv({ ...(options as GCSUrlOptions), ...fixed }), GCSStore.make)
        ))
  )

const http = (url: string, options: object) =>
  Effect.flatMap(
    Effect.promise(() => import("./HTTPStore.js")),
    (HTTPStore) =>
      Effect.flatMap(fromParse(HttpUrls.parseUrl(url)), (fixed) =>
        Effect.zipRight(
          checkOptions(url, options, Object.keys(HTTPStore.HTTPConfig.fields), Object.keys(fixed)),
          HTTPStore.make({ ...(options as HTTPUrlOptions), ...fixed })
        ))
  )

type Open = (url: string, options: object) => Effect.Effect<ObjectStore.Service, FromUrlError, Scope.Scope>

// The clouds claim their schemes and their hosts; any other http(s) URL is an HTTPStore.
const pick = (url: URL): Open | undefined => {
  if (url.protocol === "memory:") return memory
  if (url.protocol === "file:") return file
  if (S3Urls.claims(url)) return s3
  if (AzureUrls.claims(url)) return azure
  if (GcsUrls.claims(url)) return gcs
  if (url.protocol === "http:" || url.protocol === "https:") return http
  return undefined
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i

const dispatch = (url: unknown, options: unknown): Effect.Effect<ObjectStore.Service, FromUrlError, Scope.Scope> => {
  if (typeof url !== "string") return invalid(`a URL must be a string, got ${typeof url}`)
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    return invalid(`options must be an object, got ${options === null ? "null" : typeof options}`, "options")
  }
  const scheme = SCHEME.exec(url)?.[1].toLowerCase()
  const parsed = toUrl(url)
  const store = scheme === undefined || Either.isLeft(parsed) ? undefined : pick(parsed.right)
  if (store === undefined) {
    return invalid(
      scheme === undefined || Either.isLeft(parsed)
        ? `not a URL: ${JSON.stringify(url)} (supported: ${SUPPORTED})`
        : `unsupported scheme "${scheme}:" in ${JSON.stringify(url)}; supported: ${SUPPORTED}`
    )
  }
  return store(url, options ?? {})
}

/**
 * Makes the store a URL names, as a service value: a program can hold several (see `ObjectStore.Tag` for giving
 * each a role). An S3 store's connections are closed with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromUrl: {
  (url: S3Url, options?: S3UrlOptions): Effect.Effect<ObjectStore.Service, InvalidConfig | InvalidPath, Scope.Scope>
  (
    url: AzureUrl,
    options?: AzureUrlOptions
  ): Effect.Effect<ObjectStore.Service, InvalidConfig | InvalidPath, Scope.Scope>
  (url: GCSUrl, options?: GCSUrlOptions): Effect.Effect<ObjectStore.Service, InvalidConfig | InvalidPath, Scope.Scope>
  (
    url: HttpUrl,
    options?: S3UrlOptions | AzureUrlOptions | GCSUrlOptions | HTTPUrlOptions
  ): Effect.Effect<ObjectStore.Service, InvalidConfig | InvalidPath, Scope.Scope>
  (url: `file://${string}`, options?: LocalUrlOptions): Effect.Effect<ObjectStore.Service, InvalidConfig>
  (url: `memory://${string}`): Effect.Effect<ObjectStore.Service, InvalidConfig>
  <const U extends string>(
    url: U extends KnownUrl ? never : U,
    options?: UrlOptions
  ): Effect.Effect<ObjectStore.Service, FromUrlError, Scope.Scope>
} = dispatch as never

/**
 * A layer with the store a URL names as the `ObjectStore`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: {
  (url: S3Url, options?: S3UrlOptions): Layer.Layer<ObjectStore, InvalidConfig | InvalidPath>
  (url: AzureUrl, options?: AzureUrlOptions): Layer.Layer<ObjectStore, InvalidConfig | InvalidPath>
  (url: GCSUrl, options?: GCSUrlOptions): Layer.Layer<ObjectStore, InvalidConfig | InvalidPath>
  (
    url: HttpUrl,
    options?: S3UrlOptions | AzureUrlOptions | GCSUrlOptions | HTTPUrlOptions
  ): Layer.Layer<ObjectStore, InvalidConfig | InvalidPath>
  (url: `file://${string}`, options?: LocalUrlOptions): Layer.Layer<ObjectStore, InvalidConfig>
  (url: `memory://${string}`): Layer.Layer<ObjectStore, InvalidConfig>
  <const U extends string>(
    url: U extends KnownUrl ? never : U,
    options?: UrlOptions
  ): Layer.Layer<ObjectStore, FromUrlError>
} = ((url: unknown, options: unknown) => Layer.scoped(ObjectStore, dispatch(url, options))) as never
