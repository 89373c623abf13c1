// The default transport: one undici Pool per origin with keep-alive. Deliberately thin (no URL parsing, header
// normalising or span per request): measured on RGW, this is what keeps client CPU near raw undici.
//
// Requests go through `Pool.dispatch` with a handler of our own rather than `Pool.request`: `request` builds an
// AsyncResource, a Node Readable per response and a promise chain to read it, and each of those showed in the profile
// of a 1 KiB GET. The handler keeps the body chunks itself, so a small body that arrived with its headers is there,
// whole, when the caller asks for it (no further wait), and a big one is handed to its Stream as it arrives.
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { Readable } from "node:stream"
import { Pool, util } from "undici"
import type { ClientConfig } from "../../ClientConfig.js"
import type { Body, Headers, Request, Response, Transport, TransportErrorKind } from "./transport.js"
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

const readError = (e: unknown) => transportError(e, true, "reading the response body")

/** Why we let go of an exchange ourselves; undici reports it back through `onError`, which is then ignored. */
class Aborted extends Error {
  readonly code = "UND_ERR_ABORTED"
}

/** A body read whole (`bytes`, `text`) that did not arrive within the exchange's timeout. */
class BodyTimeout extends Error {
  readonly code = "UND_ERR_BODY_TIMEOUT"
}

/** A leftover body up to this size is read to the end so its connection stays reusable; a bigger one is cut. */
const DISCARD_LIMIT = 128 * 1024
/** A stream consumer that falls this far behind pauses the socket. */
const HIGH_WATER_MARK = 1024 * 1024
/** Bytes a body nobody has asked for yet may hold before the socket is paused (undici's own default). */
const UNREAD_LIMIT = 64 * 1024

type Mode = "unread" | "bytes" | "stream" | "discard"

const decoder = new TextDecoder()

const concat = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  const out = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.byteLength
  }
  return out
}

/**
 * One request and its response: the undici dispatch handler (legacy `onConnect`/`onHeaders`/... form, which undici
 * calls without an adapter) and, once the headers are in, the response body.
 */
class Exchange implements Body {
  // -- request side
  private abortFn: ((reason: Error) => void) | undefined = undefined
  private resumeSocket: (() => void) | undefined = undefined
  private timer: ReturnType<typeof setTimeout> | undefined = undefined
  /** When the response (headers and a body read whole) must be complete: `start` + the timeout. */
  private deadline = 0
  /** The caller got its answer (response, failure or timeout), or gave up: later events only clean up. */
  private settled = false
  /** We aborted: undici's `onError` is ours, not news. */
  private aborted = false
  // -- response side
  private mode: Mode = "unread"
  private chunks: Array<Uint8Array> = []
  private queued = 0
  private dropped = 0
  private paused = false
  private ended = false
  private failure: { readonly error: unknown } | undefined = undefined
  private used = false
  /** Wakes a consumer waiting for data, the end or a failure. */
  private wake: (() => void) | undefined = undefined

  // The caller holds the Response (and so this exchange, its body) for as long as it reads; the callback that
  // resumes its fiber and the request (headers, body bytes) are not needed after the answer, so they are not held.
  private readonly method: string
  private readonly path: string
  private resume: ((effect: Effect.Effect<Response, TransportError>) => void) | undefined

  constructor(request: Request, resume: (effect: Effect.Effect<Response, TransportError>) => void) {
    this.method = request.method
    this.path = request.path
    this.resume = resume
  }

  private get what() {
    return `${this.method} ${this.path}`
  }

  /** Hands the caller its answer, once, and forgets the caller. */
  private answer(effect: Effect.Effect<Response, TransportError>) {
    this.settled = true
    const resume = this.resume
    this.resume = undefined
    resume?.(effect)
  }

  start(timeout: number) {
    this.deadline = Date.now() + timeout
    // The whole exchange up to the response headers, sending the body included, gets `timeout`: a server that stops
    // reading an upload or never answers must not hang the caller. A plain timer is far cheaper than an Effect race.
    this.timer = setTimeout(() => {
      if (this.settled) return
      // Settled before aborting: undici may report the abort at once, and that report is not the caller's answer.
      this.settled = true
      this.abort()
      this.answer(Effect.fail(
        new TransportError("timeout", `${this.what}: no response within ${timeout} ms`, undefined, true)
      ))
    }, timeout)
  }

  /** The caller stopped waiting for the response (interruption). */
  cancel() {
    if (this.settled) return
    this.settled = true
    this.resume = undefined
    clearTimeout(this.timer)
    this.abort()
  }

  private abort() {
    if (this.aborted || this.ended || this.failure !== undefined) return
    this.aborted = true
    this.abortFn?.(new Aborted("the request was aborted"))
  }

  // -- undici's handler interface

  onConnect(abort: (reason: Error) => void) {
    this.abortFn = abort
    if (this.aborted) abort(new Aborted("the request was aborted"))
  }

  onHeaders(status: number, rawHeaders: Array<Buffer>, resume: () => void): boolean {
    if (status < 200) return true
    clearTimeout(this.timer)
    if (this.settled) {
      // Timed out or interrupted already: let go of a response that came too late.
      this.abort()
      return false
    }
    this.resumeSocket = resume
    this.answer(Effect.succeed({ status, headers: util.parseHeaders(rawHeaders) as Headers, body: this }))
    return true
  }

  onData(chunk: Buffer): boolean {
    if (this.mode === "discard") {
      this.dropped += chunk.byteLength
      if (this.dropped > DISCARD_LIMIT) {
        this.abort()
        return false
      }
      return true
    }
    this.chunks.push(chunk)
    this.queued += chunk.byteLength
    if (this.mode === "stream") {
      if (this.queued >= HIGH_WATER_MARK) {
        this.paused = true
        this.notify()
        return false
      }
      // The consumer is woken at once, not once per turn of the event loop: held in batches, a 1 GiB download took
      // 60 full collections (V8 freeing the socket buffers by marking) and 3x undici's own CPU in every run; woken
      // per chunk, 2-48 and never worse. What still keeps chunks alive is open (decisions.md, session 5).
      this.notify()
      return true
    }
    if (this.mode === "unread" && this.queued >= UNREAD_LIMIT) {
      this.paused = true
      return false
    }
    return true
  }

  onComplete(_trailers: unknown) {
    this.ended = true
    if (this.mode === "discard") this.chunks = []
    this.notify()
  }

  onError(error: Error) {
    clearTimeout(this.timer)
    if (this.aborted && error instanceof Aborted) {
      this.failure ??= { error }
      this.notify()
      return
    }
    if (!this.settled) {
      this.answer(Effect.fail(transportError(error, true, this.what)))
      return
    }
    this.failure ??= { error }
    this.notify()
  }

  private notify() {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private resumeIfPaused() {
    if (this.paused) {
      this.paused = false
      this.resumeSocket?.()
    }
  }

  /** Waits for the next event, then runs `next`. */
  private waitThen<A, E>(next: () => Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.flatMap(
      Effect.async<void>((resume) => {
        this.wake = () => resume(Effect.void)
        return Effect.sync(() => {
          this.wake = undefined
        })
      }),
      next
    )
  }

  // -- Body

  private take(): Uint8Array {
    // A copy: the chunks are views into socket reads that hold the response headers too.
    const out = concat(this.chunks, this.queued)
    this.chunks = []
    this.queued = 0
    return out
  }

  private readonly readAll: Effect.Effect<Uint8Array, TransportError> = Effect.suspend(() => {
    if (this.failure !== undefined) return Effect.fail(readError(this.failure.error))
    if (this.ended) return Effect.succeed(this.take())
    return this.waitThen(() => this.readAll)
  })

  private claim(mode: Mode): boolean {
    if (this.used) return false
    this.used = true
    this.mode = mode
    return true
  }

  /**
   * A body read whole counts against the same timeout as the headers (from the start of the exchange): a server
   * trickling a small body a byte at a time cannot hold the caller longer than `timeout` (undici's own body timeout
   * is per chunk, the right bound for streams only).
   */
  private expireAt(): () => void {
    const timer = setTimeout(() => {
      if (this.ended || this.failure !== undefined) return
      this.abort()
      this.failure = { error: new BodyTimeout(`the body was not complete within the timeout`) }
      this.notify()
    }, Math.max(0, this.deadline - Date.now()))
    return () => clearTimeout(timer)
  }

  get bytes(): Effect.Effect<Uint8Array, TransportError> {
    return Effect.suspend(() => {
      if (!this.claim("bytes")) return Effect.fail(readError(new Error("the body was already read")))
      // The common case of a small body: it came with the headers and is all here.
      if (this.ended) return Effect.succeed(this.take())
      this.resumeIfPaused()
      const clear = this.expireAt()
      // Interrupted before the end: free the connection.
      return Effect.onInterrupt(this.readAll, () => Effect.sync(() => this.abort())).pipe(
        Effect.ensuring(Effect.sync(clear))
      )
    })
  }

  get text(): Effect.Effect<string, TransportError> {
    return Effect.map(this.bytes, (bytes) => decoder.decode(bytes))
  }

  get stream(): Stream.Stream<Uint8Array, TransportError> {
    return Stream.suspend(() => {
      if (!this.claim("stream")) return Stream.fail(readError(new Error("the body was already read")))
      const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<TransportError>> = Effect.suspend(() => {
        if (this.chunks.length > 0) {
          const out = this.chunks
          this.chunks = []
          this.queued = 0
          this.resumeIfPaused()
          return Effect.succeed(Chunk.unsafeFromArray(out))
        }
        if (this.failure !== undefined) return Effect.fail(Option.some(readError(this.failure.error)))
        if (this.ended) return Effect.fail(Option.none())
        this.resumeIfPaused()
        return this.waitThen(() => pull)
      })
      return Stream.repeatEffectChunkOption(pull).pipe(
        // Closing early (or failing downstream) must free the connection.
        Stream.ensuring(Effect.sync(() => this.abort()))
      )
    })
  }

  get discard(): Effect.Effect<void> {
    return Effect.sync(() => {
      if (this.used) {
        // A stream or read in progress lets go of the connection; a finished one has nothing left.
        this.abort()
        return
      }
      this.used = true
      this.mode = "discard"
      this.dropped = this.queued
      this.chunks = []
      this.queued = 0
      if (this.ended || this.failure !== undefined) return
      if (this.dropped > DISCARD_LIMIT) this.abort()
      else this.resumeIfPaused()
    })
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
        const exchange = new Exchange(request, resume)
        exchange.start(timeout)
        poolFor(request.origin).dispatch(
          {
            path: request.path,
            method: request.method,
            headers: { ...defaults, ...request.headers },
            body: request.body === undefined
              ? null
              : typeof request.body === "string" || request.body instanceof Uint8Array
              ? request.body
              : Readable.from(request.body, { objectMode: false })
          },
          exchange
        )
        return Effect.sync(() => exchange.cancel())
      })

    return { send }
  })
