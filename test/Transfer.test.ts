import { CreateBucketCommand } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as LocalStore from "effect-obstore/LocalStore"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import * as Transfer from "effect-obstore/Transfer"
import { createHash, randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pseudoRandom } from "./conformance/io.js"
import { rgwSdk } from "./support/awsSdk.js"
import { rgwOptions } from "./support/servers.js"

const MiB = 1024 * 1024
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

const sdk = rgwSdk()

const OTHER_BUCKET = "io-transfer-other"

const ensureBucket = Effect.promise(() =>
  sdk.send(new CreateBucketCommand({ Bucket: OTHER_BUCKET })).catch((e: { name?: string }) => {
    if (e.name !== "BucketAlreadyOwnedByYou" && e.name !== "BucketAlreadyExists") throw e
  })
)

/** The S3Store service (with its config) of a bucket, for server-side copies. */
const s3Service = (options: S3Store.S3Options) =>
  Effect.flatMap(S3Store.S3Store, Effect.succeed).pipe(Effect.provide(S3Store.layer(options)))

describe("Transfer between buckets of one S3 endpoint", () => {
  it.live("copies on the server across buckets and prefixes, and skips identical objects the second time", () =>
    Effect.scoped(Effect.gen(function*() {
      yield* ensureBucket
      const run = randomUUID()
      const source = yield* s3Service({ ...rgwOptions, prefix: `transfer/${run}` })
      const target = yield* s3Service({ ...rgwOptions, bucket: OTHER_BUCKET, prefix: `into/${run}` })
      const data = [pseudoRandom(100_000, 1), pseudoRandom(6 * MiB, 2)]
      yield* source.store.put("a/one.bin", data[0])
      yield* source.store.put("a/two.bin", data[1], { multipart: false })
      const seen: Array<Transfer.Item> = []
      const summary = yield* Transfer.transfer({ store: source, path: "a" }, { store: target, path: "b" }, {
        recursive: true,
        onObject: (item) => seen.push(item)
      })
      assert.strictEqual(summary.copied, 2, "both copied on the server")
      assert.strictEqual(summary.transferred, 0)
      assert.strictEqual(summary.bytes, data[0].byteLength + data[1].byteLength)
      assert.deepStrictEqual(seen.map((i) => i.to).sort(), ["b/one.bin", "b/two.bin"])
      const copied = yield* Effect.flatMap(target.store.get("b/two.bin"), (r) => r.bytes)
      assert.strictEqual(sha(copied), sha(data[1]))
      const again = yield* Transfer.transfer({ store: source, path: "a" }, { store: target, path: "b" }, {
        recursive: true
      })
      assert.strictEqual(again.skipped, 2)
      // Plain ObjectStore services are streamed instead, with the same result.
      const streamed = yield* Transfer.transfer({ store: source.store, path: "a/one.bin" }, {
        store: target.store,
        path: "c/one.bin"
      })
      assert.strictEqual(streamed.transferred, 1)
      yield* source.store.delete(["a/one.bin", "a/two.bin"])
      yield* target.store.delete(["b/one.bin", "b/two.bin", "c/one.bin"])
    })))
})

describe("Transfer S3 <-> LocalStore", () => {
  it.live("a prefix to a local directory and back, with overall progress", () =>
    Effect.scoped(Effect.gen(function*() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-transfer-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true })))
      const local = yield* LocalStore.make({ root })
      const bucket = yield* S3Store.make(rgwOptions)
      const dir = `transfer/${randomUUID()}`
      const data = [pseudoRandom(12 * MiB + 1, 3), pseudoRandom(10, 4)]
      yield* bucket.put(`${dir}/x/big.bin`, data[0])
      yield* bucket.put(`${dir}/small.txt`, data[1])
      const reports: Array<Transfer.TransferProgress> = []
      const down = yield* Transfer.transfer({ store: bucket, path: dir }, { store: local, path: "down" }, {
        recursive: true,
        onProgress: (p) => reports.push(p)
      })
      assert.strictEqual(down.transferred, 2)
      assert.strictEqual(sha(fs.readFileSync(path.join(root, "down/x/big.bin"))), sha(data[0]))
      const last = reports.at(-1)!
      assert.deepStrictEqual([last.done, last.total, last.objects, last.totalObjects], [
        down.bytes,
        down.bytes,
        2,
        2
      ])
      const up = yield* Transfer.transfer({ store: local, path: "down" }, { store: bucket, path: `${dir}/up` }, {
        recursive: true,
        multipart: { partSize: 5 * MiB, concurrency: 2 }
      })
      assert.strictEqual(up.transferred, 2)
      const back = yield* Effect.flatMap(bucket.get(`${dir}/up/x/big.bin`), (r) => r.bytes)
      assert.strictEqual(sha(back), sha(data[0]))
      const all = yield* Stream.runCollect(bucket.list(dir))
      yield* bucket.delete(Array.from(all, (m) => m.path))
    })))

  it.effect("a missing source fails with NotFound", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const error = yield* Effect.flip(Transfer.transfer({ store, path: "nope" }, { store, path: "x" }))
      assert.strictEqual(error._tag, "NotFound")
    }))
})

describe("progress of put, get and copy", () => {
  it.effect("put reports acknowledged bytes up to the size; get reports the body as it is read; copy 0 then size", () =>
    Effect.gen(function*() {
      const data = pseudoRandom(3 * MiB, 6)
      const puts: Array<ObjectStore.Progress> = []
      yield* ObjectStore.put("p.bin", Stream.fromIterable([data.subarray(0, MiB), data.subarray(MiB)]), {
        onProgress: (p) => puts.push(p)
      })
      assert.deepStrictEqual(puts[0], { done: 0, total: undefined })
      assert.deepStrictEqual(puts.at(-1), { done: data.byteLength, total: data.byteLength })
      const gets: Array<ObjectStore.Progress> = []
      const result = yield* ObjectStore.get("p.bin", { onProgress: (p) => gets.push(p) })
      assert.strictEqual(gets.length, 0, "nothing before the body is read")
      const bytes = yield* result.bytes
      assert.strictEqual(bytes.byteLength, data.byteLength)
      assert.deepStrictEqual(gets.at(-1), { done: data.byteLength, total: data.byteLength })
      const copies: Array<ObjectStore.Progress> = []
      yield* ObjectStore.copy("p.bin", "q.bin", { onProgress: (p) => copies.push(p) })
      assert.deepStrictEqual(copies, [{ done: 0, total: data.byteLength }, {
        done: data.byteLength,
        total: data.byteLength
      }])
    }).pipe(Effect.provide(MemoryStore.layer)))

  it.live("an S3 multipart put reports progress that only grows and ends at the size", () =>
    Effect.scoped(Effect.gen(function*() {
      const bucket = yield* S3Store.make(rgwOptions)
      const key = `transfer/${randomUUID()}.bin`
      const data = pseudoRandom(11 * MiB, 7)
      const seen: Array<number> = []
      yield* bucket.put(key, Stream.make(data), {
        multipart: { partSize: 5 * MiB, concurrency: 2 },
        onProgress: (p) => seen.push(p.done)
      })
      assert.strictEqual(seen.at(-1), data.byteLength)
      assert.isTrue(seen.every((n, i) => i === 0 || n >= seen[i - 1]))
      // Fed by acknowledged parts, not by what was read from the payload: every step in between is a sum of whole
      // parts (5, 5 and 1 MiB; two upload at once, so the last, small one may be acknowledged before the second).
      const between = seen.filter((n) => n > 0 && n < data.byteLength)
      assert.isAtLeast(between.length, 2)
      for (const n of between) assert.include([1 * MiB, 5 * MiB, 6 * MiB, 10 * MiB], n)
      yield* bucket.delete(key)
    })))
})
