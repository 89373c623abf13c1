import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Redacted, Stream } from "effect"
import * as GCSStore from "effect-obstore/GCSStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as Signer from "effect-obstore/Signer"
import { full } from "./conformance/capabilities.js"
import { conformance } from "./conformance/suite.js"
import { gcs } from "./support/servers.js"

/** The store against the emulator: `emulator: true` is what STORAGE_EMULATOR_HOST sets through layerConfig. */
const emulatorOptions: GCSStore.GCSOptions = {
  bucket: "obstore-test",
  endpoint: gcs.endpoint,
  emulator: true,
  client: { allowHttp: true }
}

const emulator = GCSStore.layer(emulatorOptions)

const preconditions = "the emulator ignores ifGenerationMatch, so the store refuses conditional writes on it " +
  "(NotSupported) instead of silently overwriting; proven against Google's protocol in GCSProtocol.test.ts"

conformance("GCSStore (Cloud Storage emulator)", emulator, {
  ...full,
  putCreate: false,
  putUpdate: false,
  copyIfNotExists: false,
  tags: false,
  versionlessGet: "NotFound",
  reasons: {
    ...full.reasons,
    putCreate: preconditions,
    putUpdate: preconditions,
    copyIfNotExists: preconditions,
    tags: "Cloud Storage objects have no tags",
    versions: "the emulator keeps no old generations (no bucket versioning): a generation that is not the live one " +
      "is NotFound"
  }
})

describe("GCSStore", () => {
  it.effect("version is the generation, eTag the resource's etag, and both agree across put, head, get, list", () =>
    Effect.gen(function*() {
      const path = `gcs-specific/${crypto.randomUUID()}/v.txt`
      const put = yield* ObjectStore.put(path, "generation")
      assert.match(put.version ?? "", /^\d+$/)
      const head = yield* ObjectStore.head(path)
      assert.strictEqual(head.version, put.version)
      assert.strictEqual(head.eTag, put.eTag)
      const got = yield* ObjectStore.get(path)
      assert.strictEqual(got.meta.version, put.version)
      assert.strictEqual(yield* got.text, "generation")
      assert.strictEqual((yield* ObjectStore.get(path, { version: put.version })).meta.version, put.version)
      const listed = yield* ObjectStore.list(path.slice(0, path.lastIndexOf("/"))).pipe(Stream.runCollect)
      assert.strictEqual([...listed][0]?.version, put.version)
      yield* ObjectStore.delete(path)
    }).pipe(Effect.provide(emulator)))

  it.scoped("without emulator mode a get is one alt=media request, its meta from the download's headers", () =>
    Effect.gen(function*() {
      // Only in-memory puts here: streams would be chunked, which the emulator cannot take.
      const oneRequest = yield* GCSStore.make({ ...emulatorOptions, emulator: false, skipSignature: true })
      const path = `gcs-specific/${crypto.randomUUID()}/h.bin`
      const data = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251)
      const put = yield* oneRequest.put(path, data)
      const got = yield* oneRequest.get(path)
      assert.strictEqual(got.meta.version, put.version, "x-goog-generation")
      assert.strictEqual(got.meta.eTag, put.eTag)
      assert.strictEqual(got.meta.size, data.length)
      const streamed = yield* Stream.runCollect(got.stream)
      assert.strictEqual([...streamed].reduce((n, c) => n + c.byteLength, 0), data.length)
      assert.deepStrictEqual(
        Array.from(yield* oneRequest.getRange(path, { start: 1000, end: 1010 })),
        Array.from(data.subarray(1000, 1010))
      )
      const failed = yield* Effect.flip(oneRequest.get(path, { ifNoneMatch: put.eTag }))
      assert.strictEqual(failed._tag, "NotModified")
      yield* oneRequest.delete(path)
    }))

  it.effect("a put with tags is NotSupported and writes nothing", () =>
    Effect.gen(function*() {
      const path = `gcs-specific/${crypto.randomUUID()}`
      const error = yield* Effect.flip(ObjectStore.put(path, "x", { tags: { a: "b" } }))
      assert.strictEqual(error._tag, "NotSupported")
      assert.strictEqual((yield* Effect.flip(ObjectStore.head(path)))._tag, "NotFound")
    }).pipe(Effect.provide(emulator)))

  it.effect("a chunk size that is not a multiple of 256 KiB is InvalidConfig", () =>
    Effect.gen(function*() {
      const path = `gcs-specific/${crypto.randomUUID()}`
      const error = yield* Effect.flip(
        ObjectStore.put(path, Stream.make(new Uint8Array(10)), { multipart: { partSize: 300 * 1024 } })
      )
      assert.strictEqual(error._tag, "InvalidConfig")
    }).pipe(Effect.provide(emulator)))

  it.effect("signed GET URLs work with plain fetch against the emulator (it checks no signature)", () =>
    Effect.gen(function*() {
      const path = `gcs-specific/${crypto.randomUUID()}/signed.txt`
      yield* ObjectStore.put(path, "signed bytes")
      const url = yield* Signer.sign("GET", path, "10 minutes")
      const text = yield* Effect.promise(() => fetch(url).then((r) => r.text()))
      assert.strictEqual(text, "signed bytes")
      yield* ObjectStore.delete(path)
    }).pipe(Effect.provide(emulator)))

  it.effect("invalid config fails with InvalidConfig naming the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ ...emulatorOptions, bucket: "Not A Bucket" }, "bucket"],
        [{ ...emulatorOptions, endpoint: "not a url" }, "endpoint"],
        [{ ...emulatorOptions, client: {} }, "endpoint"],
        [{ ...emulatorOptions, bucketName: "typo" }, "bucketName"],
        [{ ...emulatorOptions, retry: { maxRetries: -1 } }, "retry.maxRetries"],
        [{ ...emulatorOptions, bearerToken: "a", serviceAccountKey: "{}" }, "serviceAccountKey"],
        [{ ...emulatorOptions, serviceAccountKey: "not json" }, "serviceAccountKey"],
        [{ ...emulatorOptions, serviceAccount: "/nonexistent/key.json" }, "serviceAccount"],
        [{ ...emulatorOptions, skipSignature: true, bearerToken: "t" }, "bearerToken"]
      ]
      for (const [input, field] of cases) {
        const error = yield* Effect.flip(Effect.scoped(GCSStore.make(input as GCSStore.GCSOptions)))
        assert.strictEqual(error._tag, "InvalidConfig", JSON.stringify(input))
        if (error._tag === "InvalidConfig") assert.strictEqual(error.field, field, error.message)
      }
    }))

  it.effect("secrets are Redacted in the decoded config", () =>
    Effect.gen(function*() {
      const { config } = yield* GCSStore.GCSStore
      assert.isTrue(Redacted.isRedacted(config.bearerToken))
      assert.notInclude(JSON.stringify(config), "ya29.secret-token")
      assert.notInclude(String(config), "ya29.secret-token")
    }).pipe(Effect.provide(GCSStore.layer({ ...emulatorOptions, bearerToken: "ya29.secret-token" }))))

  it.effect("layerConfig reads GOOGLE_BUCKET and STORAGE_EMULATOR_HOST (a bare host:port is http)", () =>
    Effect.gen(function*() {
      const read = yield* GCSStore.fromEnv()
      assert.strictEqual(read.bucket, "from-env")
      assert.strictEqual(read.endpoint, gcs.endpoint)
      assert.strictEqual(read.emulator, true)
      const { config } = yield* GCSStore.GCSStore.pipe(
        Effect.provide(GCSStore.layerConfig()),
        Effect.withConfigProvider(
          ConfigProvider.fromMap(
            new Map([["GOOGLE_BUCKET_NAME", "other"], ["STORAGE_EMULATOR_HOST", "127.0.0.1:47482"]])
          )
        )
      )
      assert.strictEqual(config.bucket, "other")
      assert.isTrue(config.client.allowHttp)
      const missing = yield* Effect.flip(
        GCSStore.fromEnv().pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      )
      assert.strictEqual(missing.field, "bucket")
    }).pipe(
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([["GOOGLE_BUCKET", "from-env"], ["STORAGE_EMULATOR_HOST", "127.0.0.1:47482"]])
        )
      )
    ))

  it("parseUrl reads gs:// and https://storage.googleapis.com forms, and refuses others", () => {
    assert.deepStrictEqual(Either.getOrThrow(GCSStore.parseUrl("gs://bucket/a/b")), { bucket: "bucket", prefix: "a/b" })
    assert.deepStrictEqual(Either.getOrThrow(GCSStore.parseUrl("gs://bucket")), { bucket: "bucket" })
    assert.deepStrictEqual(Either.getOrThrow(GCSStore.parseUrl("https://storage.googleapis.com/bkt/p%20q")), {
      bucket: "bkt",
      prefix: "p q"
    })
    for (const bad of ["gs://", "https://storage.googleapis.com/", "https://example.com/b", "gs://b/x?y=1", "s3://b"]) {
      assert.isTrue(Either.isLeft(GCSStore.parseUrl(bad)), bad)
    }
    assert.isTrue(Either.isLeft(GCSStore.parseUrl("gs://user:pw@bucket")))
  })

  it.effect("a store below a prefix sees only its own paths", () =>
    Effect.gen(function*() {
      const root = `gcs-specific/${crypto.randomUUID()}`
      const inner = yield* GCSStore.make({ ...emulatorOptions, prefix: root })
      yield* inner.put("x.txt", "inside")
      const outer = yield* ObjectStore.ObjectStore
      assert.strictEqual(yield* Effect.flatMap(outer.get(`${root}/x.txt`), (r) => r.text), "inside")
      yield* outer.delete(`${root}/x.txt`)
    }).pipe(Effect.provide(emulator), Effect.scoped))
})
