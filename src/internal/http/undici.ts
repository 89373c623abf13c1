// The default transport: one undici Pool per origin with keep-alive. Deliberately thin (no URL parsing, header
// normalising or span per request): measured on RGW, this is what keeps client CPU near raw undici.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"
import { Pool } from "undici"
import type { ClientConfig } from "../../ClientConfig.js"
import type { Body, Request, Response, Transport, TransportErrorKind } from "./transport.js"
import { TransportError } from "./transport.js"

const classify = (error: unknown): TransportErrorKind => {
  const code = (error as { code?: unknown } | null)?.code
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
    case "ECONNREFUSED":
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "connect"
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return "timeout"
    case "UND_ERR_SOCKET":
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_CLOSED":
      return "closed"
    case "UND_ERR_ABORTED":
    case "ABORT_ERR":
      return "aborted"
    default:
      return "other"
  }
}

const transportError = (error: unknown, sent: boolean, what: string) => {
  const kind = classify(error)
  const message = error instanceof Error ? error.message : String(error)
  return new TransportError(kind, `${what}: ${message}`, error, sent && kind !== "connect")
}

interface UndiciBody extends AsyncIterable<Uint8Array> {
  arrayBuffer(): Promise<ArrayBuffer>
  text(): Promise<string>
  dump(options?: { limit?: number }): Promise<void>
  destroy(error?: Error): void
  readonly destroyed?: boolean
}

const makeBody = (body: UndiciBody): Body => {
  const bytes = Effect.tryPromise({
    try: () => body.arrayBuffer(),
    catch: (e) => transportError(e, true, "reading the response body")
  }).pipe(Effect.map((buffer) => new Uint8Array(buffer)))
  return {
    bytes,
    text: Effect.tryPromise({
      try: () => body.text(),
      catch: (e) => transportError(e, true, "reading the response body")
    }),
    stream: Stream.fromAsyncIterable(body, (e) => transportError(e, true, "reading the response body")).pipe(
      // Closing the stream early (or failing downstream) must free the connection.
      Stream.ensuring(Effect.sync(() => body.destroy()))
    ),
    // A small leftover body is read so the connection stays reusable; a big one closes the connection instead.
    discard: Effect.promise(() => body.dump({ limit: 128 * 1024 }).catch(() => undefined))
  }
}

export const make = (config: ClientConfig): Effect.Effect<Transport, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pools = new Map<string, Pool>()
    const timeout = Duration.toMillis(config.timeout)
    const options: Pool.Options = {
      connections: config.poolMaxConnections,
      keepAliveTimeout: Duration.toMillis(config.poolIdleTimeout),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect: { timeout: Duration.toMillis(config.connectTimeout) }
    }
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => Promise.all(Array.from(pools.values(), (pool) => pool.destroy().catch(() => undefined))))
    )
    const poolFor = (origin: string): Pool => {
      let pool = pools.get(origin)
      if (pool === undefined) {
        pool = new Pool(origin, options)
        pools.set(origin, pool)
      }
      return pool
    }
    const defaults = { ...config.defaultHeaders, "user-agent": config.userAgent }

    const send = (request: Request): Effect.Effect<Response, TransportError> =>
      Effect.async<Response, TransportError>((resume, signal) => {
        const pool = poolFor(request.origin)
        pool.request(
          {
            origin: request.origin,
            path: request.path,
            method: request.method,
            headers: { ...defaults, ...request.headers },
            body: request.body === undefined
              ? null
              : typeof request.body === "string" || request.body instanceof Uint8Array
              ? request.body
              : Readable.from(request.body, { objectMode: false }),
            signal
          },
          (error, data) => {
            if (error !== null) resume(Effect.fail(transportError(error, true, `${request.method} ${request.path}`)))
            else {
              resume(Effect.succeed({
                status: data.statusCode,
                headers: data.headers,
                body: makeBody(data.body as unknown as UndiciBody)
              }))
            }
          }
        )
      })

    return { send }
  })
