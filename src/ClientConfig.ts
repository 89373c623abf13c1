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
 * @since 0.1.0
 * @category models
 */
export class ClientConfig extends Schema.Class<ClientConfig>("effect-obstore/ClientConfig")({
  /** Time allowed for a response to start, and between two chunks of its body. Default 30 s. */
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
 * The defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: ClientConfig = ClientConfig.make({})
