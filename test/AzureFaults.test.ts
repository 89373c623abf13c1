/**
 * AzureStore against Azurite through the fault-injecting proxy (test/support/faultProxy.ts): transient errors (the
 * proxy's error bodies are S3 XML, which the Azure dialect maps by status), broken bodies, lost responses of
 * conditional writes, failing block uploads, malformed listings and random faults.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Context, Duration, Effect, Exit, Layer, Option, Stream } from "effect"
import type { Scope } from "effect"
import * as AzureStore from "effect-obstore/AzureStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { beforeAll } from "vitest"
import { ensureContainer, options, sdkContainer } from "./fixtures/azure/azurite.js"
import { FaultProxy } from "./support/faultProxy.js"
import type { FaultKind, FaultProxyOptions, RequestInfo } from "./support/faultProxy.js"
import { azurite } from "./support/servers.js"

beforeAll(() => ensureContainer())

const KiB = 1024
const MiB = 1024 * KiB
type Store = ObjectStore.ObjectStore.Service

interface Env {
  readonly proxy: FaultProxy
  readonly store: Store
  readonly direct: Store
  readonly dir: string
}

const FAST_RETRY = { maxRetries: 3, initBackoff: "5 millis", maxBackoff: "20 millis" } as const

const setup = (
  settings: {
    readonly proxy?: FaultProxyOptions
    readonly retry?: AzureStore.AzureOptions["retry"]
    readonly timeout?: Duration.DurationInput
  } = {}
): Effect.Effect<Env, never, Scope.Scope> =>
  Effect.gen(function*() {
    const proxy = yield* FaultProxy.scoped(azurite.endpoint, settings.proxy)
    const context = yield* Layer.build(AzureStore.layer({
      ...options,
      endpoint: `${proxy.endpoint}/${azurite.account}`,
      client: { allowHttp: true, timeout: settings.timeout ?? "2 seconds" },
      retry: { ...FAST_RETRY, ...settings.retry }
    })).pipe(Effect.orDie)
    const direct = yield* AzureStore.make(options).pipe(Effect.orDie)
    const dir = `faults/${randomUUID()}`
    yield* Effect.addFinalizer(() =>
      direct.list(dir).pipe(
        Stream.map((meta) => meta.path),
        Stream.runCollect,
        Effect.flatMap((paths) => direct.delete(Chunk.toReadonlyArray(paths))),
        Effect.ignore
      )
    )
    return { proxy, store: Context.get(context, ObjectStore.ObjectStore), direct, dir }
  })

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")
const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n))
const isBlob = (key: string) => (r: RequestInfo) => r.path.endsWith(`/${key}`)
const isGetOf = (key: string) => (r: RequestInfo) => r.method === "GET" && isBlob(key)(r)
const isPutBlob = (key: string) => (r: RequestInfo) => r.method === "PUT" && isBlob(key)(r) && !r.query.has("comp")
const isPutBlock = (r: RequestInfo) => r.method === "PUT" && r.query.get("comp") === "block"
const isBlockList = (r: RequestInfo) => r.method === "PUT" && r.query.get("comp") === "blocklist"
const directBytes = (direct: Store, key: string) => Effect.flatMap(direct.get(key), (r) => r.bytes)

const failureTag = <A, E>(exit: Exit.Exit<A, E>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const failure = Cause.failureOption(exit.cause)
  return Option.isSome(failure) ? (failure.value as { _tag: string })._tag : `defect: ${Cause.pretty(exit.cause)}`
}

describe("AzureStore under faults", () => {
  const transient: ReadonlyArray<FaultKind> = ["status500", "status503", "slowDown", "status429", "resetBeforeResponse"]
  for (const kind of transient) {
    it.live(`${kind} (an S3 error body) is retried and the request succeeds`, () =>
      Effect.gen(function*() {
        const { dir, direct, proxy, store } = yield* setup()
        const key = `${dir}/object`
        const fault = kind === "status429" ? { kind, retryAfter: 0 } as const : kind as "status500"
        proxy.addRule({ match: isPutBlob(key), fault, times: 2 })
        yield* store.put(key, "hello faults")
        proxy.addRule({ match: isGetOf(key), fault, times: 2 })
        assert.strictEqual(yield* Effect.flatMap(store.get(key), (r) => r.text), "hello faults")
        assert.strictEqual(proxy.counts()[kind], 4)
        assert.strictEqual(yield* Effect.flatMap(direct.get(key), (r) => r.text), "hello faults")
      }).pipe(Effect.scoped))
  }

  it.live("retries exhausted: a StoreError saying how many attempts were made", () =>
    Effect.gen(function*() {
      const { dir, proxy, store } = yield* setup()
      proxy.addRule({ fault: "status503", times: Infinity })
      const error = yield* Effect.flip(store.get(`${dir}/x`))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "4 attempts")
    }).pipe(Effect.scoped))

  it.live("a GET body cut mid-stream resumes from the right byte, pinned to the ETag", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/big`
      const data = random(MiB)
      yield* direct.put(key, data)
      proxy.addRule({
        match: (r) => isGetOf(key)(r) && r.headers.range === undefined,
        fault: { kind: "truncateBody", afterBytes: 300_000 }
      })
      const result = yield* store.get(key)
      assert.strictEqual(sha256(yield* result.bytes), sha256(data))
      const gets = proxy.seen.filter(isGetOf(key))
      assert.strictEqual(gets.length, 2)
      assert.strictEqual(gets[1].headers.range, `bytes=300000-${MiB - 1}`)
      assert.strictEqual(gets[1].headers["if-match"], result.meta.eTag)
    }).pipe(Effect.scoped))

  it.live("a suffix range is resolved with a HEAD, and a cut body of it resumes", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/tail`
      const data = random(600 * KiB)
      yield* direct.put(key, data)
      proxy.addRule({ match: isGetOf(key), fault: { kind: "truncateBody", afterBytes: 1000 } })
      const result = yield* store.get(key, { range: { suffix: 300 * KiB } })
      assert.strictEqual(sha256(yield* result.bytes), sha256(data.subarray(300 * KiB)))
      assert.isTrue(
        proxy.seen.every((r) => !String(r.headers.range ?? "").startsWith("bytes=-")),
        "no suffix range sent"
      )
    }).pipe(Effect.scoped))

  it.live("a create whose response was lost (the Put Blob took effect) succeeds: the blob is ours", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/create-lost`
      const data = random(10 * KiB)
      proxy.addRule({ match: isPutBlob(key), fault: "resetAfterForward" })
      const exit = yield* Effect.exit(store.put(key, data, { mode: "create" }))
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.isUndefined(failureTag(exit))
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
    }).pipe(Effect.scoped))

  it.live("a create whose response was lost while someone else's blob was there is AlreadyExists", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/create-theirs`
      proxy.addRule({
        match: isPutBlob(key),
        fault: "resetAfterForward",
        before: () => Effect.runPromise(Effect.asVoid(direct.put(key, "someone else's")))
      })
      const exit = yield* Effect.exit(store.put(key, "ours", { mode: "create" }))
      assert.strictEqual(failureTag(exit), "AlreadyExists")
      assert.strictEqual(new TextDecoder().decode(yield* directBytes(direct, key)), "someone else's")
    }).pipe(Effect.scoped))

  it.live("an update (If-Match) whose response was lost succeeds: the blob is ours", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/update-lost`
      const first = yield* direct.put(key, "one")
      proxy.addRule({ match: isPutBlob(key), fault: "resetAfterForward" })
      const exit = yield* Effect.exit(store.put(key, "two", { mode: { eTag: first.eTag } }))
      assert.isUndefined(failureTag(exit))
      assert.strictEqual(new TextDecoder().decode(yield* directBytes(direct, key)), "two")
    }).pipe(Effect.scoped))

  it.live("a Put Block answered 503 is retried per block and the upload succeeds", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/blocks`
      const data = random(3 * MiB)
      proxy.addRule({ match: isPutBlock, fault: "status503", times: 2 })
      yield* store.put(key, Stream.make(data), { multipart: { partSize: MiB, concurrency: 2 } })
      assert.strictEqual(proxy.counts().status503, 2)
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
    }).pipe(Effect.scoped))

  it.live("a block that always fails fails the put: no blob is committed", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/blocks-fail`
      proxy.addRule({ match: (r) => isPutBlock(r) && r.path.endsWith(key), fault: "status500", times: Infinity })
      const exit = yield* Effect.exit(
        store.put(key, Stream.make(random(3 * MiB)), { multipart: { partSize: MiB, concurrency: 2 } })
      )
      assert.strictEqual(failureTag(exit), "StoreError")
      assert.strictEqual(proxy.seen.filter(isBlockList).length, 0, "the block list was never committed")
      assert.strictEqual((yield* Effect.flip(direct.head(key)))._tag, "NotFound")
    }).pipe(Effect.scoped))

  it.live("a lost Put Block List of an overwrite is repeated and the blob is whole", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/blocklist-lost`
      const data = random(2 * MiB + 5)
      proxy.addRule({ match: isBlockList, fault: "resetAfterForward" })
      yield* store.put(key, Stream.make(data), { multipart: { partSize: MiB, concurrency: 2 } })
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
    }).pipe(Effect.scoped))

  it.live("corrupt XML from List Blobs is asked for again", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      yield* direct.put(`${dir}/a`, "a")
      proxy.addRule({ match: (r) => r.query.get("comp") === "list", fault: "corruptXml" })
      const listed = yield* Stream.runCollect(store.list(dir))
      assert.deepStrictEqual(Chunk.toReadonlyArray(listed).map((m) => m.path), [`${dir}/a`])
      assert.strictEqual(proxy.counts().corruptXml, 1)
    }).pipe(Effect.scoped))

  it.live("a Blob Batch answer cut short is sent again, and the deletes are done", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const keys = [`${dir}/x`, `${dir}/y`, `${dir}/z`]
      yield* Effect.forEach(keys, (k) => direct.put(k, k), { discard: true })
      proxy.addRule({ match: (r) => r.query.get("comp") === "batch", fault: { kind: "truncateBody", afterBytes: 50 } })
      yield* store.delete(keys)
      const left = yield* Effect.promise(async () => {
        const names: Array<string> = []
        for await (const b of sdkContainer.listBlobsFlat({ prefix: `${dir}/` })) names.push(b.name)
        return names
      })
      assert.deepStrictEqual(left, [])
    }).pipe(Effect.scoped))

  it.live(
    "every kind at a 30% rate: what is read back is what was written, or the failure is a StoreError",
    () =>
      Effect.gen(function*() {
        const { dir, direct, proxy, store } = yield* setup({
          proxy: { rate: 0.3, seed: 11, stallMs: 2_000 },
          timeout: "300 millis",
          retry: { maxRetries: 10 }
        })
        const objects = Array.from({ length: 12 }, (_, i) => ({
          key: `${dir}/random-${i}`,
          data: random(i % 3 === 0 ? 600 * KiB : 20 * KiB)
        }))
        const failures: Array<string> = []
        const run = <A, E>(label: string, effect: Effect.Effect<A, E>) =>
          Effect.map(Effect.exit(effect), (exit) => {
            if (Exit.isSuccess(exit)) return Option.some(exit.value)
            const tag = failureTag(exit)
            assert.strictEqual(tag, "StoreError", `${label}: ${Cause.pretty(exit.cause)}`)
            failures.push(label)
            return Option.none()
          })
        yield* Effect.forEach(objects, ({ data, key }) =>
          Effect.gen(function*() {
            if (Option.isNone(yield* run("put", store.put(key, data)))) return
            const read = yield* run("get", Effect.flatMap(store.get(key), (r) => r.bytes))
            if (Option.isSome(read)) assert.strictEqual(sha256(read.value), sha256(data), `${key} read back`)
            const copied = yield* run("copy", store.copy(key, `${key}-copy`))
            if (Option.isSome(copied)) {
              assert.strictEqual(sha256(yield* directBytes(direct, `${key}-copy`)), sha256(data))
            }
          }), { concurrency: 4, discard: true })
        yield* run("list", Stream.runCollect(store.list(dir)))
        yield* run("delete", store.delete(objects.map((o) => o.key)))
        const injected = Object.values(proxy.counts()).reduce((a, b) => a + b, 0)
        assert.isAtLeast(injected, 5, JSON.stringify(proxy.counts()))
        assert.isAtMost(failures.length, 3, failures.join("\n"))
      }).pipe(Effect.scoped),
    60_000
  )
})
