/**
 * Picks a store from a URL, like obstore's `from_url`: `memory:///`, `file:///absolute/dir`, `s3://bucket/prefix`,
 * `s3a://...`, `https://s3.<region>.amazonaws.com/<bucket>`, `https://<bucket>.s3.<region>.amazonaws.com` and
 * `https://<account>.r2.cloudflarestorage.com/<bucket>`. Each store reads its own URL forms; the store modules are
 * loaded only when their scheme is used, so a program that never calls this module carries none of them.
 *
 * Options are typed by scheme: an S3 URL takes the options of `S3Store` (but the bucket, which the URL names), a
 * file URL those of `LocalStore` (but the root), a memory URL none. An option the picked store does not have is an
 * `InvalidConfig` naming it, and so is an option the URL already fixes.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
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
 * The options of a URL whose scheme is known only at run time.
 *
 * @since 0.1.0
 * @category options
 */
export type UrlOptions = S3UrlOptions | LocalUrlOptions

/**
 * The URLs of S3 stores.
 *
 * @since 0.1.0
 * @category models
 */
export type S3Url = `s3://${string}` | `s3a://${string}` | `https://${string}`

/**
 * Every URL form with an overload of its own.
 *
 * @since 0.1.0
 * @category models
 */
export type KnownUrl = S3Url | `file://${string}` | `memory://${string}`

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
  "s3://<bucket>[/<prefix>]",
  "s3a://<bucket>[/<prefix>]",
  "https://s3.<region>.amazonaws.com/<bucket>[/<prefix>]",
  "https://<bucket>.s3.<region>.amazonaws.com[/<prefix>]",
  "https://<account>.r2.cloudflarestorage.com/<bucket>[/<prefix>]"
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
    Effect.promise(() => Promise.all([import("./internal/s3/url.js"), import("./S3Store.js")])),
    ([S3Url, S3Store]) =>
      Effect.flatMap(fromParse(S3Url.parse(url)), (fixed) =>
        Effect.zipRight(
          checkOptions(url, options, [...Object.keys(S3Store.S3Config.fields), "credentials"], Object.keys(fixed)),
          // The environment first, then the options, then what the URL says.
          Effect.flatMap(S3Store.fromEnv({ ...(options as S3UrlOptions), ...fixed }), S3Store.make)
        ))
  )

const stores: Record<
  string,
  (url: string, options: object) => Effect.Effect<ObjectStore.Service, FromUrlError, Scope.Scope>
> = {
  "memory": memory,
  "file": file,
  "s3": s3,
  "s3a": s3,
  "https": s3
}

const SCHEME = /^([a-z][a-z0-9+.-]*):/i

const dispatch = (url: unknown, options: unknown): Effect.Effect<ObjectStore.Service, FromUrlError, Scope.Scope> => {
  if (typeof url !== "string") return invalid(`a URL must be a string, got ${typeof url}`)
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    return invalid(`options must be an object, got ${options === null ? "null" : typeof options}`, "options")
  }
  const scheme = SCHEME.exec(url)?.[1].toLowerCase()
  const store = scheme === undefined ? undefined : stores[scheme]
  if (store === undefined) {
    return invalid(
      scheme === undefined
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
  (url: `file://${string}`, options?: LocalUrlOptions): Layer.Layer<ObjectStore, InvalidConfig>
  (url: `memory://${string}`): Layer.Layer<ObjectStore, InvalidConfig>
  <const U extends string>(
    url: U extends KnownUrl ? never : U,
    options?: UrlOptions
  ): Layer.Layer<ObjectStore, FromUrlError>
} = ((url: unknown, options: unknown) => Layer.scoped(ObjectStore, dispatch(url, options))) as never
