/**
 * HTTP client settings shared by the HTTP stores (S3, GCS, Azure, HTTP). Defaults follow obstore.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schema from "effect/Schema"
import { DurationInput, PositiveDuration } from "./internal/duration.js"

// Header names and values as HTTP allows them: a CR or LF in a value would let a config inject headers.
const HeaderName = Schema.String.pipe(
  Schema.pattern(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, {
    message: () => "a header name is letters, digits and !#$%&'*+.^_`|~-"
  })
)
const HeaderValue = Schema.String.pipe(
  Schema.filter((s) =>
    !/[\u0000-\u0008\u000a-\u001f\u007f]/.test(s) || "a header value may not contain control characters"
  )
)

/**
 * HTTP client settings as a store decodes them (durations as `Duration`, defaults filled in). Stores take the plain
 * form, `ClientOptions`, under their `client` option.
 *
 * @since 0.1.0
 * @category models
 */
export class ClientConfig extends Schema.Class<ClientConfig>("effect-obstore/ClientConfig")({
  /**
   * Per attempt, default 30 s: the time from sending a request until its response headers have arrived (sending the
   * body included) and, for a body read whole (small objects up to 256 KiB, error documents and pages with a length),
   * until the whole body has arrived, counted from the same start; for a body read as a stream, the longest silence
   * between two chunks. A timed-out attempt is retried like a broken connection when the request is safe to repeat.
   */
  timeout: Schema.optionalWith(PositiveDuration, { default: () => Duration.seconds(30) }),
  /** Time allowed to open a connection. Default 5 s. */
  connectTimeout: Schema.optionalWith(PositiveDuration, { default: () => Duration.seconds(5) }),
  /** Allow plain `http://` endpoints. Off by default: credentials and data would cross the network in the clear. */
  allowHttp: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Headers sent with every request. */
  defaultHeaders: Schema.optionalWith(Schema.Record({ key: HeaderName, value: HeaderValue }), {
    default: () => ({})
  }),
  /** The `user-agent` header. */
  userAgent: Schema.optionalWith(HeaderValue, { default: () => "effect-obstore/0.1" }),
  /** Connections kept per origin. Default 64. */
  poolMaxConnections: Schema.optionalWith(Schema.Int.pipe(Schema.positive()), { default: () => 64 }),
  /** How long an idle kept-alive connection stays open. Default 4 s (below common server idle timeouts). */
  poolIdleTimeout: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(4) })
}) {}

/**
 * HTTP client settings as a store's `client` option takes them. Every field is optional; durations are a
 * `Duration`, milliseconds, or a string such as `"30 seconds"`.
 *
 * @since 0.1.0
 * @category options
 */
export interface ClientOptions {
  /**
   * Per attempt, default 30 s: until the response headers have arrived, and until a body read whole (small objects,
   * error documents) has arrived, counted from when the request was sent; for a streamed
   * body, the longest silence between two chunks.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Time allowed to open a connection. Default 5 s. */
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Allow plain `http://` endpoints. Off by default: credentials and data would cross the network in the clear. */
  readonly allowHttp?: boolean | undefined
  /** Headers sent with every request (names and values as HTTP allows them: no control characters). */
  readonly defaultHeaders?: { readonly [name: string]: string } | undefined
  /** The `user-agent` header. Default `effect-obstore/0.1`. */
  readonly userAgent?: string | undefined
  /** Connections kept per origin. Default 64. */
  readonly poolMaxConnections?: number | undefined
  /** How long an idle kept-alive connection stays open. Default 4 s (below common server idle timeouts). */
  readonly poolIdleTimeout?: Duration.DurationInput | undefined
}

// Declared by hand because editors show no documentation for the fields of `Schema.Encoded` types: this stops the
// build when the declaration and the schema disagree.
true satisfies Same<ClientOptions, typeof ClientConfig.Encoded>
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/**
 * The defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: ClientConfig = ClientConfig.make({})
