/**
 * A fault-injecting loopback HTTP proxy for tests and benchmarks: it sits between a client (S3Store) and the real
 * server (the RADOS Gateway), forwards every request with its own keep-alive agent, streams bodies both ways (a
 * 64 MiB upload is never buffered) and, per rule or at a random rate, does to a request what the cloud does.
 *
 * ```ts
 * const proxy = await startFaultProxy(s3.endpoint, { rate: 0.05, seed: 42 }) // 5% random faults of every kind
 * // ... point the client at proxy.endpoint ...
 * proxy.addRule({ match: (r) => r.method === "PUT" && r.query.has("partNumber"), fault: "status503", times: 2 })
 * proxy.counts() // { status500: 3, status503: 2, ... } faults actually injected
 * proxy.requests // requests seen
 * await proxy.close()
 * // in an Effect test: const proxy = yield* FaultProxy.scoped(s3.endpoint) (closed with the scope)
 * ```
 *
 * API
 * - `startFaultProxy(target, { rate?, seed?, kinds?, stallMs? })`: listens on 127.0.0.1, port 0. `rate` (default 0) is
 *   the probability that a request without a matching rule gets a random fault, picked uniformly from `kinds`
 *   (default `DEFAULT_FAULT_KINDS`, every kind below except `rewriteHeaders`) with a PRNG seeded by `seed` (default 1),
 *   so a run is repeatable for a given request order. `stallMs` (default 10 s) is how long a random `stall` holds.
 * - `FaultProxy.scoped(target, options)`: the same as an Effect resource (acquireRelease) for tests.
 * - `proxy.endpoint` (`http://127.0.0.1:PORT`), `proxy.addRule(rule)`, `proxy.clearRules()`, `proxy.counts()`
 *   (faults actually injected, by kind; a fault that could not apply, e.g. `truncateBody` on an empty body or
 *   `corruptXml` on a non-XML body, is not counted), `proxy.requests` (requests seen), `proxy.seen` (the last
 *   `MAX_SEEN` requests with the fault chosen for each), `proxy.close()`.
 * - A rule: `{ match?, fault, times?, before? }`. Rules are tried in the order they were added; the first whose
 *   `match` (default: every request) holds and that has `times` left (default 1; `Infinity` for always) is used up
 *   by one. `before`, if given, is awaited before the fault is applied (e.g. to overwrite the object a resumed read
 *   is about to fetch). Rules take precedence over random faults.
 *
 * Faults (`fault` is a kind, or an object `{ kind, ...parameters }`):
 * - `status500`, `status503` (`forward`, default false): that status with an S3 `<Error>` body (`InternalError` /
 *   `ServiceUnavailable`); the request is not forwarded (its body is drained first), or with `forward: true` it
 *   reaches the server first and took effect when the error comes back.
 * - `slowDown`: 503 with an S3 `SlowDown` error body. Not forwarded.
 * - `reply` (`{ status, code, message }`, rules only): that status with an S3 error body of that code and message, as
 *   S3 answers what RGW does not (a copy source over 5 GiB). Not forwarded, not counted.
 * - `status429` (`retryAfter` seconds, default 1): 429 `TooManyRequests` with `Retry-After`. Not forwarded.
 * - `errorIn200` (`forward`, default false): 200 whose body is an S3 `<Error><Code>InternalError</Code>`, as S3 can
 *   answer CopyObject and CompleteMultipartUpload; with `forward: true` the request reaches the server first and only
 *   its response body is replaced.
 * - `resetBeforeResponse`: the request (with its body) arrives, nothing is forwarded, the client socket is destroyed.
 * - `resetAfterForward`: the request is forwarded and answered by the server, then the client socket is destroyed
 *   instead of sending the response (the request took effect; the client cannot know).
 * - `truncateBody` (`afterBytes`, default half the body): forwarded; the headers go out as received (a correct
 *   Content-Length), the body is cut after `afterBytes` bytes and the socket destroyed.
 * - `truncateBodyWrongLength` (`afterBytes`, default half): like `truncateBody`, but the Content-Length is rewritten to
 *   the short length, so the response looks complete (only Content-Range, for a 206, can tell; a random pick
 *   leaves a 200 alone, since nothing but a checksum could tell).
 * - `stall` (`ms`, default `stallMs`; `afterBytes`): holds the request for `ms` before forwarding it, or with
 *   `afterBytes`, forwards and sends the headers and that many body bytes, then holds the rest for `ms`.
 * - `corruptXml`: forwarded; an XML response body (content-type containing "xml", up to 1 MiB) is cut in the
 *   middle of a tag with garbage appended, Content-Length adjusted.
 * - `wrongRange` (`shift`, default a quarter of the body): forwarded; a 206 answer loses its first `shift` bytes and
 *   says so honestly (Content-Range `bytes start+shift-end/size`, Content-Length adjusted): bytes of another range than
 *   the one asked for. A client that does not compare Content-Range with its request stitches them at the wrong place.
 *   Anything but a 206 passes untouched (and is not counted).
 * - `rangeAs200` (`cut`, default half the body): forwarded; a 206 answer goes out as a 200 without Content-Range, its
 *   Content-Length rewritten to the body less `cut` bytes: a short "whole object" where a range was asked for (a
 *   resumed read must not take it as the rest of the object). Anything but a 206 passes untouched. Picked at random
 *   only for ranged requests with `If-Match` (resumes).
 * - `wrongETag`: forwarded; the answer's ETag is replaced by another one, as a server that ignored `If-Match` would
 *   answer for an object that changed. Picked at random only for ranged requests with `If-Match` (resumes).
 * - `rewriteHeaders` (`rewrite(headers, request)`, rules only): forwarded; the response headers are replaced by what
 *   `rewrite` returns (drop Content-Length or ETag, forge Content-Range, ...). Removing Content-Length makes the
 *   response chunked.
 * - `none`: forward untouched (a rule that only runs `before`, or shields requests from random faults). Not counted.
 *
 * Late writes: a write (PUT, POST, DELETE) whose body reached the server but whose client went away before the answer
 * (it timed out) is not cut: the server applies it anyway, and may do so after later writes of the same key. Such
 * requests are listed in `proxy.abandoned`, with the server's answer and when it came, so a soak can tell a write the
 * server applied late from a client that returned wrong bytes.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import * as http from "node:http"
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http"
import type { Socket } from "node:net"

export type FaultKind =
  | "status500"
  | "status503"
  | "slowDown"
  | "status429"
  | "errorIn200"
  | "resetBeforeResponse"
  | "resetAfterForward"
  | "truncateBody"
  | "truncateBodyWrongLength"
  | "stall"
  | "corruptXml"
  | "wrongRange"
  | "rangeAs200"
  | "wrongETag"
  | "rewriteHeaders"

/**
 * The kinds random faults pick from by default: all but `rewriteHeaders`, which needs a function. The last three are
 * the dangerous ones (an answer that is not what was asked for); `SAFE_FAULT_KINDS` leaves them out.
 */
export const DEFAULT_FAULT_KINDS: ReadonlyArray<FaultKind> = [
  "status500",
  "status503",
  "slowDown",
  "status429",
  "errorIn200",
  "resetBeforeResponse",
  "resetAfterForward",
  "truncateBody",
  "truncateBodyWrongLength",
  "stall",
  "corruptXml",
  "wrongRange",
  "rangeAs200",
  "wrongETag"
]

/** The random mix before the dangerous kinds were added (every answer is what was asked for, or visibly broken). */
export const SAFE_FAULT_KINDS: ReadonlyArray<FaultKind> = DEFAULT_FAULT_KINDS.filter((k) =>
  k !== "wrongRange" && k !== "rangeAs200" && k !== "wrongETag"
)

const ALL_KINDS: ReadonlyArray<FaultKind> = [...DEFAULT_FAULT_KINDS, "rewriteHeaders"]

export interface RequestInfo {
  readonly method: string
  /** The path as received (still percent-encoded), without the query. */
  readonly path: string
  readonly query: URLSearchParams
  readonly headers: IncomingHttpHeaders
}

export type FaultSpec =
  | { readonly kind: "slowDown" | "resetBeforeResponse" | "resetAfterForward" }
  | { readonly kind: "status500" | "status503"; readonly forward?: boolean }
  | { readonly kind: "corruptXml" | "wrongETag" | "none" }
  | { readonly kind: "wrongRange"; readonly shift?: number }
  | { readonly kind: "rangeAs200"; readonly cut?: number }
  | { readonly kind: "status429"; readonly retryAfter?: number }
  | { readonly kind: "errorIn200"; readonly forward?: boolean }
  | { readonly kind: "truncateBody" | "truncateBodyWrongLength"; readonly afterBytes?: number }
  | { readonly kind: "stall"; readonly ms?: number; readonly afterBytes?: number }
  | { readonly kind: "reply"; readonly status: number; readonly code: string; readonly message: string }
  | {
    readonly kind: "rewriteHeaders"
    readonly rewrite: (headers: IncomingHttpHeaders, request: RequestInfo) => OutgoingHttpHeaders
  }

export type Fault = Exclude<FaultKind, "rewriteHeaders"> | "none" | FaultSpec

export interface FaultRule {
  readonly match?: (request: RequestInfo) => boolean
  readonly fault: Fault
  /** How many requests this rule applies to. Default 1. */
  readonly times?: number
  /** Awaited before the fault is applied. */
  readonly before?: (request: RequestInfo) => void | Promise<void>
}

export interface SeenRequest extends RequestInfo {
  /** The fault chosen for the request (it may not have been applicable). */
  readonly fault: FaultKind | undefined
}

export interface FaultProxyOptions {
  /** Probability of a random fault for a request no rule matched. Default 0. */
  readonly rate?: number
  /** Seed of the PRNG behind random faults. Default 1. */
  readonly seed?: number
  /** What random faults pick from. Default `DEFAULT_FAULT_KINDS`. */
  readonly kinds?: ReadonlyArray<FaultKind>
  /** How long a random `stall` holds a request. Default 10 s. */
  readonly stallMs?: number
}

/** A write the server received in full after its client had gone (see "Late writes" above). */
export interface AbandonedWrite extends RequestInfo {
  /** When the client went away (ms since the epoch). */
  readonly abandonedAt: number
  /** The server's status, once it answered (undefined while it has not). */
  readonly status: number | undefined
  /** When the server answered (ms since the epoch). */
  readonly answeredAt: number | undefined
}

export interface FaultProxy {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string
  readonly addRule: (rule: FaultRule) => void
  readonly clearRules: () => void
  /** Faults actually injected, by kind. */
  readonly counts: () => Record<FaultKind, number>
  /** Requests seen so far. */
  readonly requests: number
  /** The last `MAX_SEEN` requests, oldest first. */
  readonly seen: ReadonlyArray<SeenRequest>
  /** Writes whose client went away after the server had the whole request (the last `MAX_SEEN`). */
  readonly abandoned: ReadonlyArray<AbandonedWrite>
  readonly close: () => Promise<void>
}

export const MAX_SEEN = 10_000
const MAX_XML_BYTES = 1024 * 1024

// mulberry32: small, fast, good enough to spread faults.
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const xmlError = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
  `<RequestId>fault-proxy</RequestId></Error>`

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "te", "trailer"])

const withoutHopByHop = (headers: IncomingHttpHeaders): OutgoingHttpHeaders => {
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value
  }
  return out
}

/** A plain object read or write (no subresource in the query), whose body is the object's bytes, not S3's XML. */
const isObjectData = (info: RequestInfo) =>
  (info.method === "GET" || info.method === "HEAD" || info.method === "PUT") &&
  info.headers["x-amz-copy-source"] === undefined &&
  Array.from(info.query.keys()).every((k) => k === "versionId" || k.startsWith("X-Amz-") || k.startsWith("x-amz-"))

/**
 * Random faults only where they are something a real S3 can do, so that a soak run's data mismatches are the
 * client's: a 200 with an error body only on CopyObject and CompleteMultipartUpload; XML corrupted only in S3's own
 * answers (never in an object's bytes); a Content-Length rewritten to a short body only on a 206 (applied in
 * `apply`: on a 200 nothing but a checksum could tell, so it is not injected).
 */
const randomlyApplicable = (kind: FaultKind, info: RequestInfo): boolean => {
  switch (kind) {
    case "errorIn200":
      return (info.method === "PUT" && info.headers["x-amz-copy-source"] !== undefined) ||
        (info.method === "POST" && info.query.has("uploadId"))
    case "corruptXml":
      return !isObjectData(info)
    // Only where the client knows what to expect (a resume pinned to an ETag, knowing the size): a short 200 to a
    // first ranged read looks like a small object whose server ignores Range, which nothing but a checksum can tell.
    case "rangeAs200":
    case "wrongETag":
      return info.headers["if-match"] !== undefined && info.headers.range !== undefined
    case "rewriteHeaders":
      return false
    default:
      return true
  }
}

const WRITES = new Set(["PUT", "POST", "DELETE"])

const infoOf = (req: http.IncomingMessage): RequestInfo => ({
  method: req.method ?? "GET",
  path: (req.url ?? "/").split("?")[0],
  query: new URL(req.url ?? "/", "http://proxy.invalid").searchParams,
  headers: req.headers
})

/** "bytes 0-9/100" as inclusive numbers; undefined when it is not that form. */
const contentRangeOf = (value: string | string[] | undefined) => {
  const match = typeof value === "string" ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim()) : null
  return match === null ? undefined : { first: Number(match[1]), last: Number(match[2]), size: match[3] }
}

/** Another strong ETag than `eTag`, as a changed object would have. */
const otherETag = (eTag: string | string[] | undefined): string => {
  const inner = String(eTag ?? "").replace(/^W\//, "").replace(/"/g, "")
  const other = "0123456789abcdef0123456789abcdef"
  return `"${inner === other ? other.split("").reverse().join("") : other}"`
}

/**
 * Sends bytes `[from, to)` of an upstream body after `status` and `headers`, then ends the response (dropping the
 * upstream exchange if bytes were left unread).
 */
const relaySlice = (
  upstreamResponse: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  headers: OutgoingHttpHeaders,
  from: number,
  to: number
) => {
  res.writeHead(status, headers)
  let at = 0
  let done = false
  const finish = () => {
    if (done) return
    done = true
    upstreamResponse.off("data", onData)
    if (!upstreamResponse.readableEnded) upstreamResponse.destroy()
    res.end()
  }
  const onData = (chunk: Buffer) => {
    const start = Math.max(from - at, 0)
    const end = Math.min(to - at, chunk.byteLength)
    at += chunk.byteLength
    if (end > start && !res.write(chunk.subarray(start, end))) {
      upstreamResponse.pause()
      res.once("drain", () => upstreamResponse.resume())
    }
    if (at >= to) finish()
  }
  upstreamResponse.on("data", onData)
  upstreamResponse.once("end", finish)
  upstreamResponse.once("error", () => res.destroy())
}

const specOf = (fault: Fault, stallMs: number): FaultSpec => {
  if (typeof fault !== "string") return fault
  if (fault === "stall") return { kind: "stall", ms: stallMs }
  return { kind: fault } as FaultSpec
}

/** Starts a proxy in front of `target` (e.g. `http://127.0.0.1:47480`). */
export const startFaultProxy = async (target: string, options: FaultProxyOptions = {}): Promise<FaultProxy> => {
  const upstream = new URL(target)
  const rate = options.rate ?? 0
  const kinds = options.kinds ?? DEFAULT_FAULT_KINDS
  const stallMs = options.stallMs ?? 10_000
  const random = prng(options.seed ?? 1)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })
  const counts = Object.fromEntries(ALL_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>
  const rules: Array<{ rule: FaultRule; left: number }> = []
  let seen: Array<SeenRequest> = []
  type Abandoned = { -readonly [K in keyof AbandonedWrite]: AbandonedWrite[K] }
  let abandoned: Array<Abandoned> = []
  let requests = 0
  const sockets = new Set<Socket>()
  const timers = new Set<NodeJS.Timeout>()
  let closed = false

  const later = (ms: number, f: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      f()
    }, ms)
    timers.add(timer)
  }

  const choose = (
    info: RequestInfo
  ): { spec: FaultSpec | undefined; before: FaultRule["before"]; random: boolean } => {
    for (const entry of rules) {
      if (entry.left > 0 && (entry.rule.match === undefined || entry.rule.match(info))) {
        entry.left--
        return { spec: specOf(entry.rule.fault, stallMs), before: entry.rule.before, random: false }
      }
    }
    if (rate > 0 && kinds.length > 0 && random() < rate) {
      const kind = kinds[Math.floor(random() * kinds.length)]
      const spec = kind !== "rewriteHeaders" && randomlyApplicable(kind, info) ? specOf(kind, stallMs) : undefined
      return { spec, before: undefined, random: true }
    }
    return { spec: undefined, before: undefined, random: false }
  }

  /** Runs `f` once the request body has been read in full (and thrown away). */
  const drained = (req: http.IncomingMessage, f: () => void) => {
    if (req.readableEnded) return f()
    req.once("end", f)
    req.resume()
  }

  const reply = (res: http.ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string) => {
    const bytes = Buffer.from(body)
    res.writeHead(status, { "content-type": "application/xml", ...headers, "content-length": bytes.byteLength })
    res.end(bytes)
  }

  const kill = (req: http.IncomingMessage) => req.socket.destroy()

  /** Sends the request upstream; `onResponse` gets the upstream response (or the proxy answers 502). */
  const forward = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    onResponse: (upstreamResponse: http.IncomingMessage) => void
  ) => {
    const upstreamRequest = http.request({
      protocol: upstream.protocol,
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      // The client signed the Host it sent (the proxy's): pass it on unchanged.
      headers: withoutHopByHop(req.headers),
      agent
    })
    let late: Abandoned | undefined
    upstreamRequest.on("response", (upstreamResponse) => {
      if (late === undefined) return onResponse(upstreamResponse)
      late.status = upstreamResponse.statusCode
      late.answeredAt = Date.now()
      upstreamResponse.resume()
    })
    upstreamRequest.on("error", (error) => {
      if (late !== undefined) return
      if (!res.headersSent && !res.destroyed) {
        reply(res, 502, {}, xmlError("BadGateway", `fault proxy: ${error.message}`))
      } else {
        res.destroy()
      }
    })
    res.on("close", () => {
      if (res.writableFinished) return
      // A write the server has in full is applied whatever becomes of its client: let it run and note when it did.
      if (WRITES.has(req.method ?? "") && upstreamRequest.writableFinished && !res.headersSent) {
        late = { ...infoOf(req), abandonedAt: Date.now(), status: undefined, answeredAt: undefined }
        abandoned.push(late)
        if (abandoned.length > MAX_SEEN) abandoned = abandoned.slice(abandoned.length - MAX_SEEN / 2)
        return
      }
      // The client went away (it timed out or was interrupted): stop the upstream exchange too.
      upstreamRequest.destroy()
    })
    req.pipe(upstreamRequest)
  }

  const pipeResponse = (upstreamResponse: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(upstreamResponse.statusCode ?? 502, withoutHopByHop(upstreamResponse.headers))
    upstreamResponse.pipe(res)
    upstreamResponse.on("error", () => res.destroy())
  }

  /**
   * Sends the headers and the first `limit` bytes of the body, then calls `after` with whether it cut anything (and
   * the rest of the chunk it cut, the upstream response left paused).
   */
  const sendPrefix = (
    upstreamResponse: http.IncomingMessage,
    res: http.ServerResponse,
    headers: OutgoingHttpHeaders,
    limit: number,
    after: (cut: boolean, rest: Buffer | undefined) => void
  ) => {
    res.writeHead(upstreamResponse.statusCode ?? 502, headers)
    res.flushHeaders()
    let sent = 0
    let done = false
    const finish = (cut: boolean, rest?: Buffer) => {
      if (done) return
      done = true
      upstreamResponse.off("data", onData)
      after(cut, rest)
    }
    const onData = (chunk: Buffer) => {
      if (done) return
      const room = limit - sent
      if (chunk.byteLength < room) {
        sent += chunk.byteLength
        if (!res.write(chunk)) {
          upstreamResponse.pause()
          res.once("drain", () => upstreamResponse.resume())
        }
        return
      }
      upstreamResponse.pause()
      sent += room
      res.write(chunk.subarray(0, room), () => finish(true, chunk.subarray(room)))
    }
    upstreamResponse.on("data", onData)
    upstreamResponse.once("end", () => finish(false))
    upstreamResponse.once("error", () => finish(false))
    if (limit <= 0) {
      upstreamResponse.pause()
      finish(true)
    }
  }

  const apply = (
    spec: FaultSpec,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    info: RequestInfo,
    randomPick: boolean
  ) => {
    const count = (kind: FaultKind) => counts[kind]++
    switch (spec.kind) {
      case "none":
        return forward(req, res, (r) => pipeResponse(r, res))
      case "status500":
      case "status503": {
        const status = spec.kind === "status500" ? 500 : 503
        const body = status === 500
          ? xmlError("InternalError", "fault proxy: injected 500")
          : xmlError("ServiceUnavailable", "fault proxy: injected 503")
        const send = () => {
          count(spec.kind)
          reply(res, status, {}, body)
        }
        if (spec.forward !== true) return drained(req, send)
        return forward(req, res, (r) => {
          r.resume()
          r.once("end", send)
        })
      }
      case "reply":
        return drained(req, () => {
          reply(res, spec.status, {}, xmlError(spec.code, spec.message))
        })
      case "slowDown":
        return drained(req, () => {
          count("slowDown")
          reply(res, 503, {}, xmlError("SlowDown", "Please reduce your request rate."))
        })
      case "status429":
        return drained(req, () => {
          count("status429")
          reply(
            res,
            429,
            { "retry-after": String(spec.retryAfter ?? 1) },
            xmlError("TooManyRequests", "fault proxy: injected 429")
          )
        })
      case "errorIn200": {
        const body = xmlError("InternalError", "We encountered an internal error. Please try again.")
        if (spec.forward !== true) {
          return drained(req, () => {
            count("errorIn200")
            reply(res, 200, {}, body)
          })
        }
        return forward(req, res, (r) => {
          r.resume()
          r.once("end", () => {
            count("errorIn200")
            reply(res, 200, {}, body)
          })
        })
      }
      case "resetBeforeResponse":
        return drained(req, () => {
          count("resetBeforeResponse")
          kill(req)
        })
      case "resetAfterForward":
        return forward(req, res, (r) => {
          // Read the answer so the upstream connection stays reusable, then drop the client's.
          r.resume()
          r.once("end", () => {
            count("resetAfterForward")
            kill(req)
          })
        })
      case "truncateBody":
      case "truncateBodyWrongLength":
        return forward(req, res, (r) => {
          const declared = Number(r.headers["content-length"])
          const known = Number.isSafeInteger(declared)
          if (known && declared === 0) return pipeResponse(r, res)
          if (randomPick && spec.kind === "truncateBodyWrongLength" && r.statusCode !== 206) {
            return pipeResponse(r, res)
          }
          let limit = spec.afterBytes ?? (known ? Math.floor(declared / 2) : 1024)
          if (known) limit = Math.min(limit, declared - 1)
          const headers = withoutHopByHop(r.headers)
          if (spec.kind === "truncateBodyWrongLength") {
            delete headers["transfer-encoding"]
            headers["content-length"] = String(limit)
          }
          sendPrefix(r, res, headers, limit, (cut) => {
            if (cut) {
              count(spec.kind)
              r.destroy()
              if (spec.kind === "truncateBodyWrongLength") res.end()
              else kill(req)
            } else if (spec.kind === "truncateBodyWrongLength") {
              // The body was shorter than the length we announced: nothing to cut, the response cannot complete.
              kill(req)
            } else {
              res.end()
            }
          })
        })
      case "stall": {
        const ms = spec.ms ?? stallMs
        if (spec.afterBytes === undefined) {
          count("stall")
          return later(ms, () => {
            if (res.destroyed || req.socket.destroyed) return
            forward(req, res, (r) => pipeResponse(r, res))
          })
        }
        const afterBytes = spec.afterBytes
        return forward(req, res, (r) => {
          sendPrefix(r, res, withoutHopByHop(r.headers), afterBytes, (cut, rest) => {
            if (!cut) return res.end()
            count("stall")
            later(ms, () => {
              if (res.destroyed) return r.destroy()
              if (rest !== undefined && rest.byteLength > 0) res.write(rest)
              r.pipe(res)
              r.resume()
            })
          })
        })
      }
      case "corruptXml":
        return forward(req, res, (r) => {
          const type = String(r.headers["content-type"] ?? "")
          const length = Number(r.headers["content-length"] ?? "0")
          if (!type.includes("xml") || length > MAX_XML_BYTES) return pipeResponse(r, res)
          const chunks: Array<Buffer> = []
          r.on("data", (chunk: Buffer) => chunks.push(chunk))
          r.once("error", () => res.destroy())
          r.once("end", () => {
            const text = Buffer.concat(chunks).toString("utf8")
            if (text.length === 0) {
              return reply(res, r.statusCode ?? 502, withoutHopByHop(r.headers), text)
            }
            // Cut inside the document and leave a broken tag: no parser can read it as the original.
            const cut = text.indexOf("<", Math.floor(text.length / 2))
            const mangled = text.slice(0, cut < 0 ? Math.floor(text.length / 2) : cut + 2) + "<<&#xZZ;</Garbage"
            count("corruptXml")
            const headers = withoutHopByHop(r.headers)
            delete headers["transfer-encoding"]
            reply(res, r.statusCode ?? 502, headers, mangled)
          })
        })
      case "wrongRange":
      case "rangeAs200":
        return forward(req, res, (r) => {
          const range = contentRangeOf(r.headers["content-range"])
          const declared = Number(r.headers["content-length"])
          if (r.statusCode !== 206 || range === undefined || !Number.isSafeInteger(declared) || declared < 2) {
            return pipeResponse(r, res)
          }
          count(spec.kind)
          const headers = withoutHopByHop(r.headers)
          delete headers["transfer-encoding"]
          if (spec.kind === "wrongRange") {
            const shift = Math.min(declared - 1, Math.max(1, spec.shift ?? Math.floor(declared / 4)))
            headers["content-range"] = `bytes ${range.first + shift}-${range.last}/${range.size}`
            headers["content-length"] = String(declared - shift)
            return relaySlice(r, res, 206, headers, shift, declared)
          }
          const kept = declared - Math.min(declared - 1, Math.max(1, spec.cut ?? Math.floor(declared / 2)))
          delete headers["content-range"]
          headers["content-length"] = String(kept)
          return relaySlice(r, res, 200, headers, 0, kept)
        })
      case "wrongETag":
        return forward(req, res, (r) => {
          const status = r.statusCode ?? 502
          if (status < 200 || status >= 300 || r.headers.etag === undefined) return pipeResponse(r, res)
          count("wrongETag")
          res.writeHead(status, { ...withoutHopByHop(r.headers), etag: otherETag(r.headers.etag) })
          r.pipe(res)
          r.on("error", () => res.destroy())
        })
      case "rewriteHeaders":
        return forward(req, res, (r) => {
          count("rewriteHeaders")
          const headers = withoutHopByHop(spec.rewrite({ ...r.headers }, info) as IncomingHttpHeaders)
          const declared = headers["content-length"]
          if (declared === undefined) delete headers["transfer-encoding"]
          res.writeHead(r.statusCode ?? 502, headers)
          r.pipe(res)
          r.on("error", () => res.destroy())
        })
    }
  }

  const server = http.createServer((req, res) => {
    requests++
    const info = infoOf(req)
    const { before, random: randomPick, spec } = choose(info)
    seen.push({
      ...info,
      fault: spec === undefined || spec.kind === "none" || spec.kind === "reply" ? undefined : spec.kind
    })
    if (seen.length > MAX_SEEN) seen = seen.slice(seen.length - MAX_SEEN / 2)
    const go = () => {
      if (closed) return kill(req)
      if (spec === undefined) return forward(req, res, (r) => pipeResponse(r, res))
      apply(spec, req, res, info, randomPick)
    }
    if (before === undefined) return go()
    // Hold the request body until `before` is done (it stays buffered in the socket).
    req.pause()
    Promise.resolve()
      .then(() => before(info))
      .then(go, (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error)
        drained(req, () => reply(res, 500, {}, xmlError("FaultProxyBeforeFailed", message)))
      })
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.once("close", () => sockets.delete(socket))
  })
  // A client resetting mid-request is expected here.
  server.on("clientError", (_error, socket) => socket.destroy())

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("fault proxy: no TCP address")

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    addRule: (rule) => {
      rules.push({ rule, left: rule.times ?? 1 })
    },
    clearRules: () => {
      rules.length = 0
    },
    counts: () => ({ ...counts }),
    get requests() {
      return requests
    },
    get seen() {
      return seen
    },
    get abandoned() {
      return abandoned
    },
    close: () => {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      const done = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) socket.destroy()
      agent.destroy()
      return done
    }
  }
}

/**
 * @example
 * const proxy = yield* FaultProxy.scoped(s3.endpoint, { rate: 0.05 })
 */
export const FaultProxy = {
  /** A proxy that lives as long as the scope. */
  scoped: (target: string, options?: FaultProxyOptions): Effect.Effect<FaultProxy, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.promise(() => startFaultProxy(target, options)),
      (proxy) => Effect.promise(() => proxy.close())
    )
}
