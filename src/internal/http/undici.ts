// The default transport: one undici Pool per origin with keep-alive. Deliberately thin (no URL parsing, header
// normalising or span per request): measured on RGW, this is what keeps client CPU near raw undici.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Readable } from "node:stream"
import { Pool } from "undici"
import type { ClientConfig } from "../../ClientConfig.js"
import { fromReadable } from "./readable.js"
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

const readError = (e: unknown) => transportError(e, true, "reading the response body")

// Built on first use: most responses use one of the four (a 1 KiB GET reads `bytes`, a PUT `discard`).
const makeBody = (body: UndiciBody): Body => ({
  get bytes() {
    return Effect.map(
      Effect.tryPromise({ try: () => body.arrayBuffer(), catch: readError }),
      (buffer) => new Uint8Array(buffer)
    )
  },
  get text() {
    return Effect.tryPromise({ try: () => body.text(), catch: readError })
  },
  get stream() {
    return fromReadable(body as unknown as Readable, readError)
  },
  // A small leftover body is read so the connection stays reusable; a big one closes the connection instead.
  // Not awaited: the connection goes back to the pool when the dump ends, and nobody needs to wait for that.
  get discard() {
    return Effect.sync(() => {
      body.dump({ limit: 128 * 1024 }).catch(() => undefined)
    })
  }
})

/**
 * What undici needs of an abort signal (`on`/`once`/`removeListener`, `aborted`, `reason`), without the cost of an
 * AbortController and an EventTarget per request.
 */
class Abort {
  aborted = false
  reason: unknown = undefined
  private listener: (() => void) | undefined = undefined
  on(_event: "abort", listener: () => void) {
    this.listener = listener
    return this
  }
  once(event: "abort", listener: () => void) {
    return this.on(event, listener)
  }
  removeListener(_event: "abort", listener: () => void) {
    if (this.listener === listener) this.listener = undefined
    return this
  }
  abort() {
    if (this.aborted) return
    this.aborted = true
    const listener = this.listener
    this.listener = undefined
    listener?.()
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
      Effect.async<Response, TransportError>((resume) => {
        const pool = poolFor(request.origin)
        const signal = new Abort()
        // The whole exchange up to the response headers, sending the body included, gets `timeout`: a server that
        // stops reading an upload or never answers must not hang the caller. A plain timer is far cheaper than an
        // Effect race per request.
        let done = false
        const timer = setTimeout(() => {
          if (done) return
          done = true
          signal.abort()
          resume(Effect.fail(
            new TransportError(
              "timeout",
              `${request.method} ${request.path}: no response within ${timeout} ms`,
              undefined,
              true
            )
          ))
        }, timeout)
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
            signal: signal as unknown as AbortSignal
          },
          (error, data) => {
            clearTimeout(timer)
            if (done) {
              // Timed out already: let go of a response that came too late.
              if (error === null) data.body.destroy()
              return
            }
            done = true
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
        return Effect.sync(() => {
          done = true
          clearTimeout(timer)
          signal.abort()
        })
      })

    return { send }
  })
