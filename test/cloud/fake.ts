// A scripted transport for the cloud core's tests: each request gets the next answer of a script, and every request
// sent is recorded.
import { Effect, Stream } from "effect"
import type { Body, Request, Response, Transport } from "effect-obstore/internal/http/transport"
import { TransportError } from "effect-obstore/internal/http/transport"

const decoder = new TextDecoder()

const concat = (chunks: ReadonlyArray<Uint8Array>) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

/** A body of `chunks`; with `breaks`, its stream fails after the last chunk as a cut connection would. */
export const body = (chunks: ReadonlyArray<Uint8Array>, breaks = false): Body => {
  const broken = new TransportError("closed", "cut", undefined, true)
  return {
    bytes: breaks ? Effect.fail(broken) : Effect.succeed(concat(chunks)),
    text: breaks ? Effect.fail(broken) : Effect.succeed(decoder.decode(concat(chunks))),
    stream: Stream.concat(Stream.fromIterable(chunks), breaks ? Stream.fail(broken) : Stream.empty),
    discard: Effect.void
  }
}

export type Answer = Response | TransportError

export const answer = (
  status: number,
  headers: Record<string, string> = {},
  chunks: ReadonlyArray<Uint8Array> = [],
  breaks = false
): Response => ({ status, headers, body: body(chunks, breaks) })

/** A transport answering from `script` (the last answer repeats), recording each request. */
export const scripted = (script: ReadonlyArray<Answer | ((request: Request) => Answer)>) => {
  const sent: Array<Request> = []
  const transport: Transport = {
    send: (request) =>
      Effect.suspend(() => {
        const next = script[Math.min(sent.length, script.length - 1)]
        sent.push(request)
        const result = typeof next === "function" ? next(request) : next
        return result instanceof TransportError ? Effect.fail(result) : Effect.succeed(result)
      })
  }
  return { transport, sent }
}

export const bytes = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i + seed) % 251)
