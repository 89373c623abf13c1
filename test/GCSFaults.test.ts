/**
 * GCSStore against the Cloud Storage emulator through the fault-injecting proxy (test/support/faultProxy.ts, whose
 * error bodies are S3 XML: GCS maps them by status): transient errors, resets, broken and short bodies, answers of
 * another range, malformed answers. Each test has its own proxy and store, with small backoffs so it runs fast.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import type { Scope } from "effect"
import * as GCSStore from "effect-obstore/GCSStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { FaultProxy, SAFE_FAULT_KINDS } from "./support/faultProxy.js"
import type { FaultProxyOptions, RequestInfo } from "./support/faultProxy.js"
import { gcs } from "./support/servers.js"

const base = { bucket: "obstore-test", emulator: true } as const
type Store = ObjectStore.ObjectStore.Service

const setup = (proxyOptions?: FaultProxyOptions, maxRetries = 4): Effect.Effect<
  {
    proxy: FaultProxy
    store: Store
    direct: Store
    dir: string
  },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const proxy = yield* FaultProxy.scoped(gcs.endpoint, proxyOptions)
    const context = yield* Layer.build(GCSStore.layer({
      ...base,
      endpoint: proxy.endpoint,
      client: { allowHttp: true, timeout: "3 seconds" },
      retry: { maxRetries, initBackoff: "5 millis", maxBackoff: "20 millis" }
    })).pipe(Effect.orDie)
    const store = yield* ObjectStore.ObjectStore.pipe(Effect.provide(context))
    const direct = yield* GCSStore.make({ ...base, endpoint: gcs.endpoint, client: { allowHttp: true } }).pipe(
      Effect.orDie
    )
    return { proxy, store, direct, dir: `faults/${randomUUID()}` }
  })

const media = (r: RequestInfo) => r.method === "GET" && r.query.get("alt") === "media"
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const readAll = (store: Store, path: string, options?: ObjectStore.GetOptions) =>
  Effect.flatMap(
    store.get(path, options),
    (r) => Effect.map(Stream.runCollect(r.stream), (c) => Buffer.concat(Chunk.toArray(c)))
  )

describe("GCSStore through a fault proxy", () => {
  it.scopedLive("500, 503 and 429 on a download are retried", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store } = yield* setup()
      yield* direct.put(`${dir}/a`, "retried")
      for (const fault of ["status500", "status503", "status429"] as const) {
        proxy.addRule({ match: media, fault: fault === "status429" ? { kind: fault, retryAfter: 0 } : fault })
        assert.strictEqual(yield* Effect.flatMap(store.get(`${dir}/a`), (r) => r.text), "retried", fault)
      }
      assert.deepInclude(proxy.counts(), { status500: 1, status503: 1, status429: 1 })
    }))

  it.scopedLive("a reset before the answer of objects.get, a list or a delete is retried", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store } = yield* setup()
      yield* direct.put(`${dir}/a`, "x")
      proxy.addRule({ match: (r) => r.method === "GET" && !r.query.has("alt"), fault: "resetBeforeResponse", times: 2 })
      assert.strictEqual((yield* store.head(`${dir}/a`)).size, 1)
      proxy.addRule({ match: (r) => r.method === "DELETE", fault: "status503" })
      yield* store.delete(`${dir}/a`)
      assert.strictEqual((yield* Effect.flip(direct.head(`${dir}/a`)))._tag, "NotFound")
    }))

  it.scopedLive("a big body cut mid-stream resumes from where it broke, pinned to the generation", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store } = yield* setup()
      const data = randomBytes(3 * 1024 * 1024)
      yield* direct.put(`${dir}/big`, data)
      proxy.addRule({ match: media, fault: { kind: "truncateBody", afterBytes: 700_000 } })
      assert.strictEqual(sha(yield* readAll(store, `${dir}/big`)), sha(data))
      const resumed = proxy.seen.filter((s) => media(s) && s.headers.range !== undefined)
      assert.isAtLeast(resumed.length, 1)
      assert.strictEqual(resumed[0].headers.range, "bytes=700000-3145727")
      assert.isNotNull(resumed[0].query.get("ifGenerationMatch"))
    }))

  it.scopedLive("without emulator mode, a cut body resumes pinned to the generation of the first answer", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy } = yield* setup()
      const store = yield* GCSStore.make({
        bucket: base.bucket,
        endpoint: proxy.endpoint,
        skipSignature: true,
        client: { allowHttp: true, timeout: "3 seconds" },
        retry: { maxRetries: 4, initBackoff: "5 millis", maxBackoff: "20 millis" }
      }).pipe(Effect.orDie)
      const data = randomBytes(2 * 1024 * 1024)
      const { version } = yield* direct.put(`${dir}/h`, data)
      proxy.addRule({ match: media, fault: { kind: "truncateBody", afterBytes: 500_000 } })
      assert.strictEqual(sha(yield* readAll(store, `${dir}/h`)), sha(data))
      const resumed = proxy.seen.filter((s) => media(s) && s.headers.range !== undefined)
      assert.strictEqual(resumed[0].headers.range, `bytes=500000-${data.length - 1}`)
      assert.strictEqual(resumed[0].query.get("ifGenerationMatch"), version)
      assert.strictEqual(resumed[0].query.get("generation"), version)
    }))

  it.scopedLive("an answer of another range, or a short 200 for a range, never becomes data", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store } = yield* setup()
      const data = randomBytes(600_000)
      yield* direct.put(`${dir}/r`, data)
      proxy.addRule({ match: media, fault: { kind: "wrongRange", shift: 1000 } })
      const wrong = yield* Effect.either(store.getRange(`${dir}/r`, { start: 100_000, end: 500_000 }))
      if (wrong._tag === "Right") assert.strictEqual(sha(wrong.right), sha(data.subarray(100_000, 500_000)))
      else assert.strictEqual(wrong.left._tag, "StoreError")
      proxy.addRule({ match: media, fault: { kind: "truncateBody", afterBytes: 300_000 } })
      proxy.addRule({ match: (r) => media(r) && r.headers.range !== undefined, fault: "rangeAs200" })
      const bytes = yield* Effect.either(readAll(store, `${dir}/r`))
      if (bytes._tag === "Right") assert.strictEqual(sha(bytes.right), sha(data))
      else assert.strictEqual(bytes.left._tag, "StoreError", bytes.left.message)
    }))

  it.scopedLive("an unreadable answer (200 with a non-JSON body) to a list or an overwrite is retried", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store } = yield* setup()
      yield* direct.put(`${dir}/l`, "x")
      proxy.addRule({ match: (r) => r.method === "GET" && r.query.has("prefix"), fault: "errorIn200" })
      const listed = yield* store.list(dir).pipe(Stream.runCollect)
      assert.deepStrictEqual(Chunk.toArray(listed).map((m) => m.path), [`${dir}/l`])
      proxy.addRule({ match: (r) => r.method === "POST", fault: { kind: "errorIn200", forward: true } })
      yield* store.put(`${dir}/p`, "overwritten")
      assert.strictEqual(yield* Effect.flatMap(direct.get(`${dir}/p`), (r) => r.text), "overwritten")
    }))

  it.scopedLive("a lost answer of an overwrite is sent again (it is idempotent)", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store } = yield* setup()
      proxy.addRule({ match: (r) => r.method === "POST", fault: "resetAfterForward" })
      const result = yield* store.put(`${dir}/lost`, "applied")
      assert.strictEqual((yield* direct.head(`${dir}/lost`)).version, result.version)
    }))

  it.scopedLive("a streamed upload whose one request fails leaves no object (the emulator takes no chunks)", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store } = yield* setup()
      proxy.addRule({ match: (r) => r.method === "PUT", fault: "status503" })
      const data = randomBytes(3 * 1024 * 1024)
      const pieces = Stream.fromIterable([data.subarray(0, 1_500_000), data.subarray(1_500_000)])
      const error = yield* Effect.flip(store.put(`${dir}/s`, pieces, { multipart: { partSize: 1024 * 1024 } }))
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual((yield* Effect.flip(direct.head(`${dir}/s`)))._tag, "NotFound")
      yield* store.put(`${dir}/s`, pieces, { multipart: { partSize: 1024 * 1024 } })
      assert.strictEqual(sha(yield* readAll(direct, `${dir}/s`)), sha(data))
    }))

  it.scopedLive(
    "under 30% random faults every read returns the right bytes or a typed error",
    () =>
      Effect.gen(function*() {
        const { direct, dir, proxy, store } = yield* setup({
          rate: 0.3,
          seed: 7,
          kinds: SAFE_FAULT_KINDS,
          stallMs: 200
        }, 10)
        const objects = Array.from({ length: 12 }, (_, i) => [`${dir}/o${i}`, randomBytes(1000 + i * 50_000)] as const)
        yield* Effect.forEach(objects, ([p, b]) => direct.put(p, b), { concurrency: 4, discard: true })
        let ok = 0
        for (const [path, bytes] of objects) {
          const got = yield* Effect.either(readAll(store, path))
          if (got._tag === "Right") {
            assert.strictEqual(sha(got.right), sha(bytes), path)
            ok++
          } else {
            assert.include(["StoreError", "NotFound", "PreconditionFailed"], got.left._tag)
          }
        }
        assert.isAtLeast(ok, 10)
        assert.isAbove(proxy.requests, objects.length)
      }),
    { timeout: 60_000 }
  )
})
