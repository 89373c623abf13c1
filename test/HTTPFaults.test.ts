/**
 * HTTPStore against rclone's WebDAV server through the fault-injecting proxy (test/support/faultProxy.ts):
 * transient errors, bodies cut short, stalls, corrupted PROPFIND answers and lost answers of writes. Each test has its
 * own proxy, store and directory, with small timeouts and backoffs so it runs fast.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Duration, Effect, Exit, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as HTTPStore from "effect-obstore/HTTPStore"
import type * as ObjectStore from "effect-obstore/ObjectStore"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { FaultProxy } from "./support/faultProxy.js"
import type { FaultKind, FaultProxyOptions, RequestInfo } from "./support/faultProxy.js"
import { webdav } from "./support/servers.js"

const KiB = 1024
const MiB = 1024 * KiB

type Store = ObjectStore.ObjectStore.Service

interface Env {
  readonly proxy: FaultProxy
  /** The store under test, through the proxy, below the test's own prefix. */
  readonly store: Store
  /** A store straight on rclone, below the same prefix. */
  readonly direct: Store
  /** The test's directory on disk (what rclone serves). */
  readonly disk: string
}

const FAST_RETRY = { maxRetries: 3, initBackoff: "5 millis", maxBackoff: "20 millis" } as const

const setup = (
  settings: { readonly proxy?: FaultProxyOptions; readonly timeout?: Duration.DurationInput } = {}
): Effect.Effect<Env, never, Scope.Scope> =>
  Effect.gen(function*() {
    const proxy = yield* FaultProxy.scoped(webdav.url, settings.proxy)
    const prefix = `http-faults/${randomUUID()}`
    const store = yield* HTTPStore.make({
      url: proxy.endpoint + "/",
      prefix,
      client: { allowHttp: true, timeout: settings.timeout ?? "2 seconds" },
      retry: FAST_RETRY
    }).pipe(Effect.orDie)
    const direct = yield* HTTPStore.make({ url: webdav.url, prefix, client: { allowHttp: true } }).pipe(Effect.orDie)
    const disk = path.join(webdav.root, prefix)
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(disk, { recursive: true, force: true })))
    return { proxy, store, direct, disk }
  })

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")
const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n))

const isOf = (method: string, key: string) => (r: RequestInfo) =>
  r.method === method && decodeURIComponent(r.path).endsWith(`/${key}`)
const seen = (proxy: FaultProxy, p: (r: RequestInfo) => boolean) => proxy.seen.filter(p)

const tagOf = <A, E>(exit: Exit.Exit<A, E>): string => {
  if (Exit.isSuccess(exit)) return "success"
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) ? String((failure.value as { _tag?: unknown })._tag) : Cause.pretty(exit.cause)
}

describe("HTTPStore under faults: transient errors", () => {
  const transient: ReadonlyArray<Exclude<FaultKind, "rewriteHeaders">> = [
    "status500",
    "status503",
    "status429",
    "resetBeforeResponse"
  ]
  for (const kind of transient) {
    it.live(`${kind} is retried for PUT, GET and PROPFIND`, () =>
      Effect.gen(function*() {
        const { direct, proxy, store } = yield* setup()
        const fault = kind === "status429" ? { kind, retryAfter: 0 } as const : kind
        proxy.addRule({ match: isOf("PUT", "object"), fault, times: 2 })
        yield* store.put("object", "hello faults")
        proxy.addRule({ match: isOf("GET", "object"), fault, times: 2 })
        assert.strictEqual(yield* Effect.flatMap(store.get("object"), (r) => r.text), "hello faults")
        proxy.addRule({ match: (r) => r.method === "PROPFIND", fault, times: 2 })
        const listed = yield* Stream.runCollect(store.list())
        assert.deepStrictEqual(Chunk.toArray(listed).map((m) => m.path), ["object"])
        assert.strictEqual(proxy.counts()[kind], 6)
        assert.strictEqual(seen(proxy, isOf("PUT", "object")).length, 3, "PUT attempts")
        assert.strictEqual(yield* Effect.flatMap(direct.get("object"), (r) => r.text), "hello faults")
      }).pipe(Effect.scoped))
  }

  it.live("an MKCOL answered 503 is retried and the put succeeds", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup()
      proxy.addRule({ match: (r) => r.method === "MKCOL", fault: "status503", times: 2 })
      yield* store.put("a/b/c", "deep")
      assert.strictEqual(proxy.counts().status503, 2)
      assert.strictEqual(yield* Effect.flatMap(direct.get("a/b/c"), (r) => r.text), "deep")
    }).pipe(Effect.scoped))

  it.live("maxRetries exhausted fails with a StoreError", () =>
    Effect.gen(function*() {
      const { proxy, store } = yield* setup()
      proxy.addRule({ match: isOf("PUT", "x"), fault: "status503", times: Infinity })
      const exit = yield* Effect.exit(store.put("x", "y"))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.strictEqual(seen(proxy, isOf("PUT", "x")).length, 4, "the first attempt and 3 retries")
    }).pipe(Effect.scoped))

  it.live("a corrupted PROPFIND answer is retried and the listing succeeds", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup()
      yield* direct.put("d/one", "1")
      yield* direct.put("d/two", "2")
      proxy.addRule({ match: (r) => r.method === "PROPFIND", fault: "corruptXml", times: 2 })
      const listed = yield* store.listWithDelimiter("d")
      assert.deepStrictEqual(listed.objects.map((m) => m.path), ["d/one", "d/two"])
      assert.strictEqual(proxy.counts().corruptXml, 2)
    }).pipe(Effect.scoped))

  it.live("a GET stalled past client.timeout is retried and succeeds", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup({ timeout: "300 millis" })
      yield* direct.put("slow", "eventually")
      proxy.addRule({ match: isOf("GET", "slow"), fault: { kind: "stall", ms: 5_000 } })
      assert.strictEqual(yield* Effect.flatMap(store.get("slow"), (r) => r.text), "eventually")
      assert.strictEqual(seen(proxy, isOf("GET", "slow")).length, 2)
    }).pipe(Effect.scoped))
})

describe("HTTPStore under faults: bodies cut short", () => {
  it.live("a GET body cut mid-stream resumes from the right byte, pinned to the ETag", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup()
      const data = random(MiB)
      yield* direct.put("big", data)
      proxy.addRule({
        match: (r) => isOf("GET", "big")(r) && r.headers.range === undefined,
        fault: { kind: "truncateBody", afterBytes: 300_000 }
      })
      const result = yield* store.get("big")
      const bytes = yield* result.bytes
      assert.strictEqual(proxy.counts().truncateBody, 1)
      assert.strictEqual(sha256(bytes), sha256(data))
      const gets = seen(proxy, isOf("GET", "big"))
      assert.strictEqual(gets.length, 2)
      assert.strictEqual(gets[1].headers.range, `bytes=300000-${MiB - 1}`)
      assert.strictEqual(gets[1].headers["if-match"], result.meta.eTag)
    }).pipe(Effect.scoped))

  it.live("a small body cut short is fetched again", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup()
      const data = random(100 * KiB)
      yield* direct.put("small", data)
      proxy.addRule({ match: isOf("GET", "small"), fault: { kind: "truncateBody", afterBytes: 50_000 } })
      assert.strictEqual(sha256(yield* Effect.flatMap(store.get("small"), (r) => r.bytes)), sha256(data))
      assert.strictEqual(proxy.counts().truncateBody, 1)
    }).pipe(Effect.scoped))

  it.live("an object overwritten between the cut and the resume fails with PreconditionFailed, never mixed bytes", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup()
      yield* direct.put("changing", random(MiB))
      proxy.addRule({
        match: (r) => isOf("GET", "changing")(r) && r.headers.range === undefined,
        fault: { kind: "truncateBody", afterBytes: 300_000 }
      })
      proxy.addRule({
        match: (r) => isOf("GET", "changing")(r) && r.headers.range !== undefined,
        fault: "none",
        before: () => Effect.runPromise(Effect.asVoid(direct.put("changing", random(MiB))))
      })
      const result = yield* store.get("changing")
      const exit = yield* Effect.exit(result.bytes)
      assert.strictEqual(tagOf(exit), "PreconditionFailed")
    }).pipe(Effect.scoped))
})

describe("HTTPStore under faults: lost answers and broken uploads", () => {
  it.live("an overwrite whose answer was lost is simply repeated", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup()
      proxy.addRule({ match: isOf("PUT", "o"), fault: "resetAfterForward" })
      yield* store.put("o", "written")
      assert.strictEqual(seen(proxy, isOf("PUT", "o")).length, 2)
      assert.strictEqual(yield* Effect.flatMap(direct.get("o"), (r) => r.text), "written")
    }).pipe(Effect.scoped))

  it.live("a rename whose MOVE answer was lost succeeds when the object was moved", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup()
      yield* direct.put("from", "moved")
      proxy.addRule({ match: (r) => r.method === "MOVE", fault: "resetAfterForward" })
      yield* store.rename("from", "to")
      assert.strictEqual(yield* Effect.flatMap(direct.get("to"), (r) => r.text), "moved")
      assert.strictEqual(tagOf(yield* Effect.exit(direct.head("from"))), "NotFound")
    }).pipe(Effect.scoped))

  it.live("a copy without overwrite whose answer was lost succeeds when the copy is there", () =>
    Effect.gen(function*() {
      const { direct, proxy, store } = yield* setup()
      yield* direct.put("src", "copied")
      proxy.addRule({ match: (r) => r.method === "COPY", fault: "resetAfterForward" })
      yield* store.copy("src", "dst", { overwrite: false })
      assert.strictEqual(yield* Effect.flatMap(direct.get("dst"), (r) => r.text), "copied")
    }).pipe(Effect.scoped))

  it.live("a streamed upload cut off leaves neither the object nor a temporary resource", () =>
    Effect.gen(function*() {
      const { direct, disk, proxy, store } = yield* setup()
      yield* direct.put("up/keep", "old")
      proxy.addRule({
        match: (r) => r.method === "PUT" && r.path.includes("effect-obstore-upload"),
        fault: "resetBeforeResponse"
      })
      const body = Stream.range(1, 20).pipe(Stream.as(new Uint8Array(MiB).fill(1)))
      const exit = yield* Effect.exit(store.put("up/keep", body))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.strictEqual(yield* Effect.flatMap(direct.get("up/keep"), (r) => r.text), "old", "the object is untouched")
      assert.deepStrictEqual(fs.readdirSync(path.join(disk, "up")), ["keep"], "no temporary resource is left")
    }).pipe(Effect.scoped), 60_000)
})
