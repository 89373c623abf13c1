// What AzureStore writes, the official SDK (@azure/storage-blob) reads, and the reverse, on the same Azurite
// container; SAS URLs we sign work with plain fetch and with the SDK, and a tampered or expired one is refused.
import { BlockBlobClient } from "@azure/storage-blob"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import * as AzureStore from "effect-obstore/AzureStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as Signer from "effect-obstore/Signer"
import { beforeAll } from "vitest"
import { ensureContainer, options, sdkContainer } from "./fixtures/azure/azurite.js"

beforeAll(() => ensureContainer())

const store = AzureStore.layer(options)
const dir = () => `interop/${crypto.randomUUID()}`
const pattern = (n: number, seed = 7) => Uint8Array.from({ length: n }, (_, i) => (i * seed + (i >> 10)) % 251)
const sameBytes = (a: Uint8Array, b: Uint8Array, what: string) =>
  assert.isTrue(Buffer.from(a).equals(Buffer.from(b)), `${what}: ${a.byteLength} vs ${b.byteLength} bytes`)

describe("AzureStore and @azure/storage-blob", () => {
  it.live("what we put, the SDK reads: bytes, content headers, metadata, tags", () =>
    Effect.gen(function*() {
      const path = `${dir()}/ours.txt`
      const data = pattern(5000)
      yield* ObjectStore.put(path, data, {
        attributes: {
          contentType: "text/plain; charset=utf-8",
          contentDisposition: "attachment; filename=\"a.txt\"",
          contentEncoding: "identity",
          contentLanguage: "de-CH",
          cacheControl: "no-cache",
          metadata: { color: "blue" }
        },
        tags: { project: "obstore", stage: "test" }
      })
      const blob = sdkContainer.getBlockBlobClient(path)
      const downloaded = yield* Effect.promise(() => blob.downloadToBuffer())
      sameBytes(downloaded, data, "SDK download")
      const props = yield* Effect.promise(() => blob.getProperties())
      assert.strictEqual(props.contentType, "text/plain; charset=utf-8")
      assert.strictEqual(props.contentDisposition, "attachment; filename=\"a.txt\"")
      assert.strictEqual(props.contentEncoding, "identity")
      assert.strictEqual(props.contentLanguage, "de-CH")
      assert.strictEqual(props.cacheControl, "no-cache")
      assert.deepStrictEqual(props.metadata, { color: "blue" })
      const tags = yield* Effect.promise(() => blob.getTags())
      assert.deepStrictEqual(tags.tags, { project: "obstore", stage: "test" })
      yield* ObjectStore.delete(path)
    }).pipe(Effect.provide(store)))

  it.live("what the SDK uploads in blocks, we read: bytes, attributes, ranges, list", () =>
    Effect.gen(function*() {
      const base = dir()
      const path = `${base}/sdk.bin`
      const data = pattern(3 * 1024 * 1024 + 123, 13)
      yield* Effect.promise(() =>
        sdkContainer.getBlockBlobClient(path).uploadData(data, {
          blockSize: 1024 * 1024,
          maxSingleShotSize: 1024 * 1024,
          blobHTTPHeaders: { blobContentType: "application/x-test", blobCacheControl: "max-age=5" },
          metadata: { owner: "sdk" }
        })
      )
      const blocks = yield* Effect.promise(() => sdkContainer.getBlockBlobClient(path).getBlockList("committed"))
      assert.strictEqual(blocks.committedBlocks?.length, 4, "the SDK uploaded in blocks")
      const result = yield* ObjectStore.get(path)
      sameBytes(yield* result.bytes, data, "our get")
      assert.strictEqual(result.attributes.contentType, "application/x-test")
      assert.strictEqual(result.attributes.cacheControl, "max-age=5")
      assert.deepStrictEqual(result.attributes.metadata, { owner: "sdk" })
      sameBytes(
        yield* ObjectStore.getRange(path, { start: 1_000_000, end: 1_100_000 }),
        data.subarray(1_000_000, 1_100_000),
        "range"
      )
      const tail = yield* ObjectStore.get(path, { range: { suffix: 10 } })
      sameBytes(yield* tail.bytes, data.subarray(data.byteLength - 10), "suffix range")
      const listed = yield* ObjectStore.list(base).pipe(Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(listed).map((m) => [m.path, m.size]), [[path, data.byteLength]])
      assert.strictEqual(Chunk.unsafeHead(listed).eTag, result.meta.eTag, "list and get give one ETag form")
      yield* ObjectStore.delete(path)
    }).pipe(Effect.provide(store)))

  it.live("our block-list upload of a stream is one blob of committed blocks for the SDK", () =>
    Effect.gen(function*() {
      const path = `${dir()}/blocks.bin`
      const data = pattern(5 * 1024 * 1024 + 17, 3)
      const chunks = Array.from({ length: 41 }, (_, i) => data.subarray(i * 128 * 1024, (i + 1) * 128 * 1024))
      const put = yield* ObjectStore.put(path, Stream.fromIterable(chunks), {
        multipart: { partSize: 1024 * 1024, concurrency: 3 },
        attributes: { contentType: "application/x-blocks", metadata: { kind: "blocks" } }
      })
      const blob = sdkContainer.getBlockBlobClient(path)
      const blocks = yield* Effect.promise(() => blob.getBlockList("all"))
      assert.strictEqual(blocks.committedBlocks?.length, 6)
      assert.strictEqual(blocks.uncommittedBlocks?.length ?? 0, 0)
      sameBytes(yield* Effect.promise(() => blob.downloadToBuffer()), data, "SDK download")
      const props = yield* Effect.promise(() => blob.getProperties())
      assert.strictEqual(props.etag, put.eTag)
      assert.strictEqual(props.contentType, "application/x-blocks")
      assert.deepStrictEqual(props.metadata, { kind: "blocks" })
      yield* ObjectStore.delete(path)
    }).pipe(Effect.provide(store)))

  it.live("deleting 300 paths goes out in batches of 256 and leaves nothing", () =>
    Effect.gen(function*() {
      const base = dir()
      const paths = Array.from({ length: 300 }, (_, i) => `${base}/${String(i).padStart(3, "0")}`)
      yield* Effect.forEach(paths.slice(0, 290), (p) => ObjectStore.put(p, "x"), { concurrency: 16, discard: true })
      yield* ObjectStore.delete(paths)
      const iter = sdkContainer.listBlobsFlat({ prefix: `${base}/` })
      const remaining = yield* Effect.promise(async () => {
        const names: Array<string> = []
        for await (const b of iter) names.push(b.name)
        return names
      })
      assert.deepStrictEqual(remaining, [])
    }).pipe(Effect.provide(store)))

  it.live("copy and rename: the SDK sees the copy, rename leaves no source, overwrite false refuses", () =>
    Effect.gen(function*() {
      const base = dir()
      yield* ObjectStore.put(`${base}/a`, "aaa", { attributes: { contentType: "text/x-a" } })
      yield* ObjectStore.copy(`${base}/a`, `${base}/b`)
      const b = yield* Effect.promise(() => sdkContainer.getBlockBlobClient(`${base}/b`).downloadToBuffer())
      assert.strictEqual(b.toString(), "aaa")
      const refused = yield* Effect.flip(ObjectStore.copy(`${base}/a`, `${base}/b`, { overwrite: false }))
      assert.strictEqual(refused._tag, "AlreadyExists")
      yield* ObjectStore.rename(`${base}/b`, `${base}/c`)
      const exists = yield* Effect.promise(() => sdkContainer.getBlockBlobClient(`${base}/b`).exists())
      assert.isFalse(exists)
      assert.strictEqual((yield* ObjectStore.head(`${base}/c`)).size, 3)
      yield* ObjectStore.delete([`${base}/a`, `${base}/c`])
    }).pipe(Effect.provide(store)))
})

describe("SAS URLs we sign", () => {
  it.live("a GET URL works with fetch and with the SDK; a PUT URL takes an upload", () =>
    Effect.gen(function*() {
      const path = `${dir()}/sas.txt`
      yield* ObjectStore.put(path, "signed content")
      const get = yield* Signer.sign("GET", path, "10 minutes")
      const fetched = yield* Effect.promise(() => fetch(get))
      assert.strictEqual(fetched.status, 200)
      assert.strictEqual(yield* Effect.promise(() => fetched.text()), "signed content")
      const viaSdk = yield* Effect.promise(() => new BlockBlobClient(get.toString()).downloadToBuffer())
      assert.strictEqual(viaSdk.toString(), "signed content")
      const put = yield* Signer.sign("PUT", `${path}.up`, "10 minutes")
      const uploaded = yield* Effect.promise(() =>
        fetch(put, { method: "PUT", body: "uploaded", headers: { "x-ms-blob-type": "BlockBlob" } })
      )
      assert.strictEqual(uploaded.status, 201)
      const read = yield* ObjectStore.get(`${path}.up`)
      assert.strictEqual(yield* read.text, "uploaded")
      // A read-only URL cannot write.
      const denied = yield* Effect.promise(() =>
        fetch(get, { method: "PUT", body: "no", headers: { "x-ms-blob-type": "BlockBlob" } })
      )
      assert.strictEqual(denied.status, 403)
      yield* ObjectStore.delete([path, `${path}.up`])
    }).pipe(Effect.provide(store)))

  it.live("a tampered SAS is refused with 403", () =>
    Effect.gen(function*() {
      const path = `${dir()}/tamper.txt`
      yield* ObjectStore.put(path, "x")
      const url = yield* Signer.sign("GET", path, "10 minutes")
      const widened = new URL(url)
      widened.searchParams.set("sp", "rcwd")
      const otherBlob = new URL(url)
      otherBlob.pathname = otherBlob.pathname.replace(/tamper\.txt$/, "other.txt")
      const badSig = new URL(url)
      const sig = badSig.searchParams.get("sig")!
      badSig.searchParams.set("sig", (sig[0] === "A" ? "B" : "A") + sig.slice(1))
      for (const tampered of [widened, otherBlob, badSig]) {
        const response = yield* Effect.promise(() => fetch(tampered))
        assert.strictEqual(response.status, 403, tampered.toString())
      }
      yield* ObjectStore.delete(path)
    }).pipe(Effect.provide(store)))

  // it.effect runs on the TestClock, which starts at 1970: a URL signed "now" for an hour expired long ago.
  it.effect("an expired SAS is refused with 403", () =>
    Effect.gen(function*() {
      const url = yield* Signer.sign("GET", "expired.txt", "1 hour")
      assert.strictEqual(url.searchParams.get("se"), "1970-01-01T01:00:00Z")
      const response = yield* Effect.promise(() => fetch(url))
      assert.strictEqual(response.status, 403)
    }).pipe(Effect.provide(store)))
})
