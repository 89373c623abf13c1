/**
 * GCSStore and Google's own client (@google-cloud/storage) on the same emulator bucket, both ways: what one writes
 * (bytes, metadata, content headers) the other reads. The SDK is pointed at the emulator through its `apiEndpoint`
 * option, which is what STORAGE_EMULATOR_HOST sets; the process environment is left alone.
 */
import { assert, layer } from "@effect/vitest"
import { Storage } from "@google-cloud/storage"
import { Chunk, Effect, Stream } from "effect"
import * as GCSStore from "effect-obstore/GCSStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { gcs } from "./support/servers.js"

// As in GCSStore.test.ts (importing it would run its tests here too).
const emulatorOptions: GCSStore.GCSOptions = {
  bucket: "obstore-test",
  endpoint: gcs.endpoint,
  emulator: true,
  client: { allowHttp: true }
}

const sdk = new Storage({ apiEndpoint: gcs.endpoint, projectId: gcs.project })
const bucket = sdk.bucket(emulatorOptions.bucket)
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

const attributes = {
  contentType: "text/csv; charset=utf-8",
  contentDisposition: "attachment; filename=\"data.csv\"",
  contentLanguage: "fr",
  cacheControl: "private, max-age=5",
  metadata: { origin: "effect-obstore", "multi-word": "a value with spaces" }
}

layer(GCSStore.layer(emulatorOptions), { excludeTestServices: true })(
  "GCSStore interop with @google-cloud/storage",
  (it) => {
    const dir = `interop/${randomUUID()}`

    it.effect("what GCSStore writes, the SDK reads: bytes, metadata and content headers", () =>
      Effect.gen(function*() {
        const path = `${dir}/ours.csv`
        const body = "a,b\n1,2\n"
        const put = yield* ObjectStore.put(path, body, { attributes })
        const file = bucket.file(path)
        const [bytes] = yield* Effect.promise(() => file.download())
        assert.strictEqual(bytes.toString(), body)
        const [meta] = yield* Effect.promise(() => file.getMetadata())
        assert.strictEqual(meta.contentType, attributes.contentType)
        assert.strictEqual(meta.contentDisposition, attributes.contentDisposition)
        assert.strictEqual(meta.contentLanguage, attributes.contentLanguage)
        assert.strictEqual(meta.cacheControl, attributes.cacheControl)
        assert.deepStrictEqual(meta.metadata, attributes.metadata)
        assert.strictEqual(String(meta.generation), put.version)
        assert.strictEqual(meta.etag, put.eTag)
      }))

    it.effect("what the SDK writes, GCSStore reads: bytes, metadata and content headers", () =>
      Effect.gen(function*() {
        const path = `${dir}/theirs.csv`
        const body = "x,y\n3,4\n"
        yield* Effect.promise(() =>
          bucket.file(path).save(body, {
            resumable: false,
            metadata: {
              contentType: attributes.contentType,
              contentDisposition: attributes.contentDisposition,
              contentLanguage: attributes.contentLanguage,
              cacheControl: attributes.cacheControl,
              metadata: attributes.metadata
            }
          })
        )
        const result = yield* ObjectStore.get(path)
        assert.strictEqual(yield* result.text, body)
        for (const key of ["contentType", "contentDisposition", "contentLanguage", "cacheControl"] as const) {
          assert.strictEqual(result.attributes[key], attributes[key], key)
        }
        assert.deepStrictEqual(result.attributes.metadata, attributes.metadata)
        const [meta] = yield* Effect.promise(() => bucket.file(path).getMetadata())
        assert.strictEqual(result.meta.version, String(meta.generation))
        assert.strictEqual(result.meta.size, body.length)
      }))

    it.effect("a 6 MiB stream from GCSStore reads back whole through the SDK, and the reverse", () =>
      Effect.gen(function*() {
        const data = randomBytes(6 * 1024 * 1024)
        const ours = `${dir}/big-ours.bin`
        const pieces = Array.from({ length: 6 }, (_, i) => data.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024))
        yield* ObjectStore.put(ours, Stream.fromIterable(pieces), { multipart: { partSize: 1024 * 1024 } })
        const [theirBytes] = yield* Effect.promise(() => bucket.file(ours).download())
        assert.strictEqual(sha(theirBytes), sha(data))
        const theirs = `${dir}/big-theirs.bin`
        yield* Effect.promise(() => bucket.file(theirs).save(data, { resumable: false }))
        const read = yield* Effect.flatMap(ObjectStore.get(theirs), (r) => Stream.runCollect(r.stream))
        assert.strictEqual(sha(Buffer.concat(Chunk.toArray(read))), sha(data))
        const range = yield* ObjectStore.getRange(theirs, { start: 1000, end: 2000 })
        assert.strictEqual(sha(range), sha(data.subarray(1000, 2000)))
      }))

    it.effect("a copy by GCSStore is visible to the SDK; a delete by the SDK to GCSStore", () =>
      Effect.gen(function*() {
        const from = `${dir}/copy-from.txt`
        yield* ObjectStore.put(from, "copied", { attributes: { metadata: { k: "v" } } })
        yield* ObjectStore.copy(from, `${dir}/copy-to.txt`)
        const [bytes] = yield* Effect.promise(() => bucket.file(`${dir}/copy-to.txt`).download())
        assert.strictEqual(bytes.toString(), "copied")
        yield* Effect.promise(() => bucket.file(from).delete())
        assert.strictEqual((yield* Effect.flip(ObjectStore.head(from)))._tag, "NotFound")
        const listed = yield* ObjectStore.list(dir).pipe(Stream.map((m) => m.path), Stream.runCollect)
        assert.isFalse(Chunk.toArray(listed).includes(from))
      }))
  }
)
