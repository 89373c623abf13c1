/**
 * Any WebDAV server (rclone, nginx's dav module, Apache mod_dav, Nextcloud, ...) as an object store, and read-only
 * access to plain HTTP servers: GET, HEAD and ranges work anywhere; list, put, copy, rename and delete need WebDAV
 * and fail with `NotSupported`, naming what the server answered, on a server that does not do it.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { ClientConfig, type ClientOptions } from "./ClientConfig.js"
import { decode } from "./internal/config.js"
import * as PlatformTransport from "./internal/http/platform.js"
import * as Undici from "./internal/http/undici.js"
import * as WebDav from "./internal/webdav/store.js"
import * as ObjectStore from "./ObjectStore.js"
import { InvalidConfig, type InvalidPath } from "./ObjectStoreError.js"
import { RetryConfig, type RetryOptions } from "./RetryConfig.js"

const STORE = "HTTPStore"

const Url = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const url = new URL(s)
      if (url.protocol !== "http:" && url.protocol !== "https:") return "the url must be an http(s) URL"
      if (url.username !== "" || url.password !== "") {
        return "credentials do not belong in the url: pass them in headers (e.g. authorization)"
      }
      return url.search === "" && url.hash === "" ? true : "the url may have no query or fragment"
    } catch {
      return `not a URL: ${JSON.stringify(s)}`
    }
  })
)

// Headers the store sets itself, per request: a configured one would break requests.
const RESERVED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "range",
  "depth",
  "destination",
  "overwrite",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since"
])

const HeaderName = Schema.String.pipe(
  Schema.pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
    message: () => "a header name is letters, digits and !#$%&'*+.^_`|~-"
  }),
  Schema.filter((s) => !RESERVED.has(s.toLowerCase()) || `the store sets the ${s} header itself`)
)

// Every configured header may be a credential (authorization, cookie, an API key): all are Redacted, and a bad
// value is refused without echoing it.
const SecretHeaderValue = Schema.Redacted(
  Schema.String.annotations({ message: () => "expected a string (the value is not shown: it may be a secret)" }).pipe(
    Schema.filter((s) =>
      !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(s) ||
      "a header value may not contain control characters (the value is not shown: it may be a secret)"
    )
  )
)

/**
 * The configuration of an HTTP store. Header values are `Redacted` from the moment they are decoded.
 *
 * @since 0.1.0
 * @category models
 */
export class HTTPConfig extends Schema.Class<HTTPConfig>("effect-obstore/HTTPConfig")({
  /** The base collection: every path of the store lives below it. */
  url: Url,
  /** Headers sent with every request (e.g. `authorization`), held as `Redacted`. */
  headers: Schema.optionalWith(Schema.Record({ key: HeaderName, value: SecretHeaderValue }), { default: () => ({}) }),
  /** Every path of the store lives below this prefix (inside `url`). */
  prefix: Schema.optional(Schema.String),
  client: Schema.optionalWith(ClientConfig, { default: () => ClientConfig.make({}) }),
  retry: Schema.optionalWith(RetryConfig, { default: () => RetryConfig.make({}) })
}) {}

/**
 * What `make` and `layer` take: the plain form of `HTTPConfig`. Unknown fields are refused with `InvalidConfig`.
 *
 * @since 0.1.0
 * @category options
 */
export interface HTTPOptions {
  /** The base collection, an `http(s)://` URL without credentials, query or fragment. `http:` needs `allowHttp`. */
  readonly url: string
  /** Headers sent with every request, e.g. `{ authorization: "Bearer ..." }`. Held as `Redacted` once decoded. */
  readonly headers?: { readonly [name: string]: string } | undefined
  /** Every path of the store lives below this prefix (inside `url`). */
  readonly prefix?: string | undefined
  /** HTTP client settings: timeouts, `allowHttp`, default headers, connection pool. */
  readonly client?: ClientOptions | undefined
  /** When and how often requests are retried (up to 10 retries within 180 s by default). */
  readonly retry?: RetryOptions | undefined
}

// Declared by hand because editors show no documentation for the fields of `Schema.Encoded` types: this stops the
// build when the declaration and the schema disagree.
true satisfies Same<HTTPOptions, typeof HTTPConfig.Encoded>
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/**
 * The HTTP-specific service, provided beside `ObjectStore` by the layers.
 *
 * @since 0.1.0
 * @category tags
 */
export class HTTPStore extends Context.Tag("effect-obstore/HTTPStore")<HTTPStore, {
  readonly config: HTTPConfig
  readonly store: ObjectStore.ObjectStore.Service
}>() {}

const build = <E, R>(
  options: HTTPOptions,
  transport: (config: ClientConfig) => Effect.Effect<Parameters<typeof WebDav.make>[1], E, R>
) =>
  Effect.flatMap(
    decode(HTTPConfig, options, STORE),
    (config) =>
      Effect.flatMap(
        transport(config.client),
        (t) => Effect.map(WebDav.make(config, t), (store) => ({ config, store }))
      )
  )

/**
 * Builds an HTTP store on the default transport (an undici connection pool per origin, closed with the scope).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: HTTPOptions
): Effect.Effect<ObjectStore.ObjectStore.Service, InvalidConfig | InvalidPath, Scope.Scope> =>
  Effect.map(build(options, Undici.make), (s) => s.store)

const layerFrom = <E, R>(
  full: Effect.Effect<{ readonly config: HTTPConfig; readonly store: ObjectStore.ObjectStore.Service }, E, R>
): Layer.Layer<ObjectStore.ObjectStore | HTTPStore, E, Exclude<R, Scope.Scope>> =>
  Layer.scopedContext(
    Effect.map(full, (service) =>
      Context.make(ObjectStore.ObjectStore, service.store).pipe(Context.add(HTTPStore, service)))
  )

/**
 * Provides `ObjectStore` and `HTTPStore` on the default transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: HTTPOptions
): Layer.Layer<ObjectStore.ObjectStore | HTTPStore, InvalidConfig | InvalidPath> =>
  layerFrom(build(options, Undici.make))

/**
 * Like `layer`, but sends every request through the `HttpClient` in context (custom TLS, proxies, other runtimes).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithHttpClient = (
  options: HTTPOptions
): Layer.Layer<ObjectStore.ObjectStore | HTTPStore, InvalidConfig | InvalidPath, HttpClient.HttpClient> =>
  layerFrom(build(options, PlatformTransport.make))

/**
 * Provides `ObjectStore` and `HTTPStore` from the environment (see `fromEnv`); `overrides` win over it.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<HTTPOptions> = {}
): Layer.Layer<ObjectStore.ObjectStore | HTTPStore, InvalidConfig | InvalidPath> =>
  layerFrom(Effect.flatMap(fromEnv(overrides), (options) => build(options, Undici.make)))

/**
 * The options `layerConfig` reads from the environment (through `Config`, so a ConfigProvider can stand in):
 * `HTTP_URL` (the server's base collection), `HTTP_BEARER_TOKEN` (sent as `authorization: Bearer ...`, held
 * `Redacted`) and `HTTP_ALLOW_HTTP` (`true` for an `http://` URL).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv = (overrides: Partial<HTTPOptions> = {}): Effect.Effect<HTTPOptions, InvalidConfig> =>
  Effect.gen(function*() {
    const env = yield* Config.all({
      url: Config.option(Config.string("HTTP_URL")),
      token: Config.option(Config.redacted("HTTP_BEARER_TOKEN")),
      allowHttp: Config.option(Config.boolean("HTTP_ALLOW_HTTP"))
    }).pipe(
      Effect.mapError((error) =>
        new InvalidConfig({ store: STORE, method: "layerConfig", description: String(error), cause: error })
      )
    )
    const url = overrides.url ?? Option.getOrUndefined(env.url)
    if (url === undefined) {
      return yield* Effect.fail(
        new InvalidConfig({
          store: STORE,
          method: "layerConfig",
          field: "url",
          description: "no url: set HTTP_URL or pass { url }"
        })
      )
    }
    const headers = Option.match(env.token, {
      onNone: () => overrides.headers,
      onSome: (token) => ({ authorization: `Bearer ${Redacted.value(token)}`, ...overrides.headers })
    })
    const client = Option.match(env.allowHttp, {
      onNone: () => overrides.client,
      onSome: (allowHttp) => ({ allowHttp, ...overrides.client })
    })
    return { ...overrides, url, headers, client }
  })

export {
  /**
   * Reads the URL of an HTTP store: any `http(s)://` URL, the server's base collection (`FromUrl` gives it the URLs
   * no cloud claims). The left is why it is not one.
   *
   * @since 0.1.0
   * @category constructors
   */
  parseUrl
} from "./internal/webdav/url.js"
