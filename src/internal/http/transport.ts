// The one small interface every HTTP store talks through: send a request, get status, headers and a body. Two
// implementations: undici (the default, lean hot path) and any @effect/platform HttpClient.
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import type * as Stream from "effect/Stream"

export type Method = "GET" | "HEAD" | "PUT" | "POST" | "DELETE" | "PATCH" | "COPY" | "MOVE" | "PROPFIND" | "MKCOL"

export interface Request {
  readonly method: Method
  /** `scheme://host[:port]`, no trailing slash. */
  readonly origin: string
  /** Encoded path and query, starting with "/". */
  readonly path: string
  /** Lowercase names. */
  readonly headers: Record<string, string>
  readonly body?: Uint8Array | string | AsyncIterable<Uint8Array> | undefined
}

export type Headers = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

export interface Body {
  readonly bytes: Effect.Effect<Uint8Array, TransportError>
  readonly text: Effect.Effect<string, TransportError>
  /** Single use. */
  readonly stream: Stream.Stream<Uint8Array, TransportError>
  /** Drops the body so the connection can be reused (or closed). Never fails. */
  readonly discard: Effect.Effect<void>
}

export interface Response {
  readonly status: number
  readonly headers: Headers
  readonly body: Body
}

export type TransportErrorKind = "connect" | "timeout" | "closed" | "aborted" | "other"

/** A request that got no (complete) response. `sent` is false when the request never left the client. */
export class TransportError {
  readonly _tag = "TransportError"
  constructor(
    readonly kind: TransportErrorKind,
    readonly description: string,
    readonly cause: unknown,
    readonly sent: boolean
  ) {}
  toString(): string {
    return `TransportError(${this.kind}): ${this.description}`
  }
}

export const isTransportError = (u: unknown): u is TransportError => Predicate.isTagged(u, "TransportError")

export interface Transport {
  readonly send: (request: Request) => Effect.Effect<Response, TransportError>
}

export class HttpTransport extends Context.Tag("effect-obstore/internal/HttpTransport")<HttpTransport, Transport>() {}

/** One header value (the first when repeated). */
export const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name]
  return value === undefined ? undefined : typeof value === "string" ? value : value[0]
}
