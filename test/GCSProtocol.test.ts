/**
 * What the Cloud Storage emulator cannot show, proven against a small loopback server that follows Google's published
 * protocol for exactly those requests (https://cloud.google.com/storage/docs/performing-resumable-uploads,
 * https://cloud.google.com/storage/docs/request-preconditions): resumable uploads in several chunks, their resume from
 * the committed offset after a cut, their cancellation, and preconditions on uploads and rewrites. Test names say
 * "(protocol server)": these prove our side of the protocol; the emulator run proves the rest.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Stream } from "effect"
import type { Scope } from "effect"
import * as GCSStore from "effect-obstore/GCSStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { createHash, randomBytes } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

const KiB = 1024
const CHUNK = 256 * KiB

interface StoredObject {
  data: Buffer
  generation: number
  metageneration: number
  updated: Date
  resource: Record<string, unknown>
}

interface Session {
  readonly name: string
  readonly resource: Record<string, unknown>
  readonly ifGenerationMatch: string | undefined
  received: Array<Buffer>
  committed: number
}

interface Logged {
  readonly method: string
  readonly path: string
  readonly query: Record<string, string>
  readonly contentRange?: string | undefined
  readonly bytes: number
}

interface Faults {
  /** Cut the connection of the n-th chunk PUT (1-based) after this many body bytes; the server keeps whole 256 KiB. */
  cutChunk?: { readonly n: number; readonly after: number } | undefined
  /** Hold the answer to every chunk PUT until released (for interruption). */
  hold?: Promise<void> | undefined
  /** Answers of objects.rewrite that are not done yet before the one that is. */
  rewriteSteps?: number | undefined
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

const error = (res: http.ServerResponse, status: number, reason: string, message: string) =>
  json(res, status, { error: { code: status, message, errors: [{ reason, message }] } })

/** An in-memory bucket that speaks the parts of the JSON API the tests exercise. */
class ProtocolServer {
  readonly objects = new Map<string, StoredObject>()
  readonly sessions = new Map<string, Session>()
  readonly log: Array<Logged> = []
  readonly faults: Faults = {}
  private generation = 1000
  private putCount = 0
  private rewrites = 0
  constructor(readonly server: http.Server) {}

  get endpoint() {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  resourceOf(name: string, o: StoredObject) {
    return {
      ...o.resource,
      name,
      bucket: "bkt",
      size: String(o.data.byteLength),
      generation: String(o.generation),
      metageneration: String(o.metageneration),
      etag: `etag-${o.generation}-${o.metageneration}`,
      updated: o.updated.toISOString()
    }
  }

  /** Google's rules: ifGenerationMatch=0 means "does not exist", else the live generation must match. */
  preconditionFails(name: string, query: Record<string, string>): boolean {
    const live = this.objects.get(name)
    const gen = query.ifGenerationMatch
    if (gen !== undefined && (gen === "0" ? live !== undefined : live?.generation !== Number(gen))) return true
    const meta = query.ifMetagenerationMatch
    return meta !== undefined && live?.metageneration !== Number(meta)
  }

  store(name: string, data: Buffer, resource: Record<string, unknown>) {
    const o = { data, generation: ++this.generation, metageneration: 1, updated: new Date(), resource }
    this.objects.set(name, o)
    return this.resourceOf(name, o)
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) {
    const url = new URL(req.url!, "http://x")
    const query = Object.fromEntries(url.searchParams)
    const path = url.pathname
    const object = /^\/storage\/v1\/b\/bkt\/o\/([^/]+)$/.exec(path)
    const rewrite = /^\/storage\/v1\/b\/bkt\/o\/([^/]+)\/rewriteTo\/b\/bkt\/o\/([^/]+)$/.exec(path)
    if (path === "/upload/storage/v1/b/bkt/o" && req.method === "POST") return this.upload(res, query, body)
    if (path === "/upload/storage/v1/b/bkt/o" && query.upload_id !== undefined) return this.chunk(req, res, query, body)
    if (rewrite !== null && req.method === "POST") return this.rewrite(res, query, rewrite)
    if (object !== null) {
      const name = decodeURIComponent(object[1])
      const live = this.objects.get(name)
      if (req.method === "DELETE") {
        if (live === undefined) return error(res, 404, "notFound", `No such object: b/${name}`)
        this.objects.delete(name)
        res.writeHead(204).end()
        return
      }
      if (live === undefined) return error(res, 404, "notFound", `No such object: b/${name}`)
      return json(res, 200, this.resourceOf(name, live))
    }
    error(res, 400, "invalid", `not played by this server: ${req.method} ${path}`)
  }

  upload(res: http.ServerResponse, query: Record<string, string>, body: Buffer) {
    const resource = query.uploadType === "resumable" && body.length > 0 ? JSON.parse(body.toString()) : {}
    const name = query.name ?? resource.name
    if (this.preconditionFails(name, query)) return error(res, 412, "conditionNotMet", "Precondition Failed")
    if (query.uploadType === "media") return json(res, 200, this.store(name, body, {}))
    if (query.uploadType !== "resumable") return error(res, 400, "invalid", "uploadType")
    const id = `s${this.sessions.size + 1}`
    this.sessions.set(id, { name, resource, ifGenerationMatch: query.ifGenerationMatch, received: [], committed: 0 })
    json(res, 200, {}, { location: `${this.endpoint}/upload/storage/v1/b/bkt/o?uploadType=resumable&upload_id=${id}` })
  }

  chunk(req: http.IncomingMessage, res: http.ServerResponse, query: Record<string, string>, body: Buffer) {
    const session = this.sessions.get(query.upload_id)
    if (req.method === "DELETE") {
      this.sessions.delete(query.upload_id)
      res.writeHead(499).end()
      return
    }
    if (session === undefined) return error(res, 410, "gone", "the upload session is gone")
    const match = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(req.headers["content-range"] ?? "")
    if (match === null) return error(res, 400, "invalid", "Content-Range")
    const total = match[3] === "*" ? undefined : Number(match[3])
    if (match[1] !== undefined) {
      const start = Number(match[1])
      if (start > session.committed) return error(res, 400, "invalid", "a chunk past the committed offset")
      if (total === undefined && body.length % CHUNK !== 0) return error(res, 400, "invalid", "chunk not 256 KiB")
      // Bytes the server has already are ignored, as Google does.
      session.received.push(body.subarray(session.committed - start))
      session.committed = start + body.length
    }
    if (total !== undefined && session.committed === total) {
      this.sessions.delete(query.upload_id)
      if (this.preconditionFails(session.name, { ifGenerationMatch: session.ifGenerationMatch! })) {
        return error(res, 412, "conditionNotMet", "Precondition Failed")
      }
      return json(res, 200, this.store(session.name, Buffer.concat(session.received), session.resource))
    }
    res.writeHead(308, session.committed === 0 ? {} : { range: `bytes=0-${session.committed - 1}` }).end()
  }

  rewrite(res: http.ServerResponse, query: Record<string, string>, m: RegExpExecArray) {
    const from = this.objects.get(decodeURIComponent(m[1]))
    const to = decodeURIComponent(m[2])
    if (from === undefined) return error(res, 404, "notFound", "No such object")
    if (this.preconditionFails(to, query)) return error(res, 412, "conditionNotMet", "Precondition Failed")
    if (this.rewrites++ < (this.faults.rewriteSteps ?? 0)) {
      return json(res, 200, { done: false, rewriteToken: `token-${this.rewrites}`, totalBytesRewritten: "0" })
    }
    this.rewrites = 0
    json(res, 200, { done: true, resource: this.store(to, from.data, from.resource) })
  }

  /** Reads the body, or cuts the connection part way through it when a fault says so. */
  receive(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url!, "http://x")
    // Logged as it arrives: a held or cut request is in the log too.
    this.log.push({
      method: req.method!,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentRange: req.headers["content-range"],
      bytes: Number(req.headers["content-length"] ?? 0)
    })
    const isChunk = req.method === "PUT"
    const n = isChunk ? ++this.putCount : 0
    const cut = isChunk && this.faults.cutChunk?.n === n ? this.faults.cutChunk.after : undefined
    const chunks: Array<Buffer> = []
    let length = 0
    req.on("data", (c: Buffer) => {
      chunks.push(c)
      length += c.length
      if (cut !== undefined && length >= cut) {
        // What a server persisted before the connection broke: whole 256 KiB units of the chunk.
        const session = this.sessions.get(url.searchParams.get("upload_id")!)
        const start = Number(/^bytes (\d+)-/.exec(req.headers["content-range"] ?? "")?.[1] ?? 0)
        const kept = Math.floor(cut / CHUNK) * CHUNK
        if (session !== undefined && start === session.committed && kept > 0) {
          session.received.push(Buffer.concat(chunks).subarray(0, kept))
          session.committed += kept
        }
        this.log.push({ method: "CUT", path: url.pathname, query: {}, bytes: length })
        req.socket.destroy()
      }
    })
    req.on("end", () => {
      const hold = isChunk ? this.faults.hold : undefined
      const answer = () => this.handle(req, res, Buffer.concat(chunks))
      if (hold === undefined) answer()
      else void hold.then(answer)
    })
  }

  static scoped: Effect.Effect<ProtocolServer, never, Scope.Scope> = Effect.acquireRelease(
    Effect.async<ProtocolServer>((resume) => {
      let self: ProtocolServer | undefined
      const server = http.createServer((req, res) => self!.receive(req, res))
      self = new ProtocolServer(server)
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(self!)))
    }),
    (s) =>
      Effect.async<void>((resume) => {
        s.server.closeAllConnections()
        s.server.close(() => resume(Effect.void))
      })
  )
}

const storeOn = (server: ProtocolServer) =>
  Layer.build(GCSStore.layer({
    bucket: "bkt",
    endpoint: server.endpoint,
    bearerToken: "test-token",
    client: { allowHttp: true, timeout: "5 seconds" },
    retry: { maxRetries: 4, initBackoff: "5 millis", maxBackoff: "20 millis" }
  })).pipe(Effect.orDie, Effect.map((ctx) => ObjectStore.ObjectStore.pipe(Effect.provide(ctx))))

const setup = Effect.gen(function*() {
  const server = yield* ProtocolServer.scoped
  const store = yield* Effect.flatten(storeOn(server))
  return { server, store }
})

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

/** `n` bytes as a stream of odd-sized pieces. */
const streamOf = (data: Buffer) =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(data.length / 100_003) }, (_, i) => data.subarray(i * 100_003, (i + 1) * 100_003))
  )

const ranges = (server: ProtocolServer) => server.log.filter((l) => l.method === "PUT").map((l) => l.contentRange)

describe("GCSStore resumable uploads", () => {
  it.scopedLive("(protocol server) a stream is sent as a resumable upload in 256 KiB-multiple chunks, in order", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      const data = randomBytes(2 * CHUNK * 3 + 1000)
      const result = yield* store.put("big.bin", streamOf(data), { multipart: { partSize: 2 * CHUNK } })
      assert.deepStrictEqual(ranges(server), [
        `bytes 0-${2 * CHUNK - 1}/*`,
        `bytes ${2 * CHUNK}-${4 * CHUNK - 1}/*`,
        `bytes ${4 * CHUNK}-${6 * CHUNK - 1}/*`,
        `bytes ${6 * CHUNK}-${6 * CHUNK + 999}/${data.length}`
      ])
      const stored = server.objects.get("big.bin")!
      assert.strictEqual(sha(stored.data), sha(data))
      assert.strictEqual(result.version, String(stored.generation))
      assert.strictEqual(server.log[0].query.uploadType, "resumable")
    }))

  it.scopedLive("(protocol server) a stream of whole chunks is completed by an empty PUT naming the total", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      const data = randomBytes(3 * CHUNK)
      yield* store.put("whole.bin", streamOf(data), { multipart: { partSize: CHUNK } })
      assert.deepStrictEqual(ranges(server), [
        `bytes 0-${CHUNK - 1}/*`,
        `bytes ${CHUNK}-${2 * CHUNK - 1}/*`,
        `bytes ${2 * CHUNK}-${3 * CHUNK - 1}/*`,
        `bytes */${3 * CHUNK}`
      ])
      assert.strictEqual(sha(server.objects.get("whole.bin")!.data), sha(data))
    }))

  it.scopedLive("(protocol server) a chunk cut mid-body is resumed from the offset the server committed", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      // The second chunk breaks after 300 KiB: the server keeps 256 KiB of it.
      server.faults.cutChunk = { n: 2, after: 300 * KiB }
      const data = randomBytes(4 * CHUNK + 5)
      yield* store.put("cut.bin", streamOf(data), { multipart: { partSize: 2 * CHUNK } })
      assert.isTrue(server.log.some((l) => l.method === "CUT"))
      assert.deepStrictEqual(ranges(server), [
        `bytes 0-${2 * CHUNK - 1}/*`,
        `bytes ${2 * CHUNK}-${4 * CHUNK - 1}/*`, // cut
        "bytes */*", // what did you keep?  308 Range: bytes=0-(3 chunks - 1)
        `bytes ${3 * CHUNK}-${4 * CHUNK - 1}/*`, // the rest of the chunk, from the committed offset
        `bytes ${4 * CHUNK}-${4 * CHUNK + 4}/${data.length}`
      ])
      assert.strictEqual(sha(server.objects.get("cut.bin")!.data), sha(data))
    }))

  it.scopedLive("(protocol server) a failing payload cancels the session and leaves no object", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      const failing = Stream.concat(streamOf(randomBytes(3 * CHUNK)), Stream.fail("payload broke"))
      const exit = yield* Effect.exit(store.put("failed.bin", failing, { multipart: { partSize: CHUNK } }))
      assert.isTrue(Exit.isFailure(exit))
      assert.isTrue(server.log.some((l) => l.method === "DELETE" && l.query.upload_id !== undefined), "cancelled")
      assert.strictEqual(server.sessions.size, 0)
      assert.isFalse(server.objects.has("failed.bin"))
    }))

  it.scopedLive("(protocol server) an interrupted upload cancels its session", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      let release!: () => void
      server.faults.hold = new Promise((r) => release = r)
      const fiber = yield* Effect.fork(store.put("held.bin", streamOf(randomBytes(3 * CHUNK)), {
        multipart: { partSize: CHUNK }
      }))
      // Wait until the first chunk is at the server, then interrupt.
      while (!server.log.some((l) => l.method === "PUT")) yield* Effect.sleep("5 millis")
      yield* Fiber.interrupt(fiber)
      release()
      server.faults.hold = undefined
      while (!server.log.some((l) => l.method === "DELETE")) yield* Effect.sleep("5 millis")
      assert.strictEqual(server.sessions.size, 0)
      assert.isFalse(server.objects.has("held.bin"))
    }), { timeout: 20_000 })
})

describe("GCSStore preconditions", () => {
  it.scopedLive("(protocol server) create sends ifGenerationMatch=0, in one request and in a resumable upload", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      yield* store.put("c.txt", "first", { mode: "create" })
      assert.strictEqual(server.log[0].query.ifGenerationMatch, "0")
      assert.strictEqual((yield* Effect.flip(store.put("c.txt", "second", { mode: "create" })))._tag, "AlreadyExists")
      const streamed = yield* Effect.flip(
        store.put("c.txt", streamOf(randomBytes(2 * CHUNK + 1)), { mode: "create", multipart: { partSize: CHUNK } })
      )
      assert.strictEqual(streamed._tag, "AlreadyExists")
      assert.strictEqual(server.objects.get("c.txt")!.data.toString(), "first")
    }))

  it.scopedLive("(protocol server) update by version sends ifGenerationMatch; a stale one is PreconditionFailed", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      const first = yield* store.put("u.txt", "one")
      yield* store.put("u.txt", "two", { mode: { version: first.version } })
      assert.strictEqual(server.log.at(-1)!.query.ifGenerationMatch, first.version)
      const stale = yield* Effect.flip(store.put("u.txt", "three", { mode: { version: first.version } }))
      assert.strictEqual(stale._tag, "PreconditionFailed")
      assert.strictEqual(server.objects.get("u.txt")!.data.toString(), "two")
    }))

  it.scopedLive("(protocol server) update by ETag pins the generation and metageneration it read", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      yield* store.put("e.txt", "one")
      const { eTag } = yield* store.head("e.txt")
      const live = server.objects.get("e.txt")!
      yield* store.put("e.txt", "two", { mode: { eTag } })
      const sent = server.log.at(-1)!
      assert.strictEqual(sent.query.ifGenerationMatch, String(live.generation))
      assert.strictEqual(sent.query.ifMetagenerationMatch, String(live.metageneration))
      const stale = yield* Effect.flip(store.put("e.txt", "three", { mode: { eTag } }))
      assert.strictEqual(stale._tag, "PreconditionFailed")
      const missing = yield* Effect.flip(store.put("nothing.txt", "x", { mode: { eTag: "\"x\"" } }))
      assert.strictEqual(missing._tag, "PreconditionFailed")
      assert.isFalse(server.objects.has("nothing.txt"))
    }))

  it.scopedLive("(protocol server) copy without overwrite sends ifGenerationMatch=0 to rewriteTo and loops on rewriteToken", () =>
    Effect.gen(function*() {
      const { server, store } = yield* setup
      yield* store.put("from.txt", "bytes")
      server.faults.rewriteSteps = 2
      yield* store.copy("from.txt", "to.txt", { overwrite: false })
      const calls = server.log.filter((l) => l.path.includes("/rewriteTo/"))
      assert.deepStrictEqual(calls.map((l) => l.query.rewriteToken), [undefined, "token-1", "token-2"])
      assert.isTrue(calls.every((l) => l.query.ifGenerationMatch === "0" && l.path.startsWith("/storage/v1/b/")))
      assert.strictEqual(server.objects.get("to.txt")!.data.toString(), "bytes")
      server.faults.rewriteSteps = 0
      const again = yield* Effect.flip(store.copy("from.txt", "to.txt", { overwrite: false }))
      assert.strictEqual(again._tag, "AlreadyExists")
      assert.strictEqual(again.path, "to.txt")
    }))
})
