import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { rgwOptions, s3 } from "./support/servers.js"

const roundTrip = (layer: Layer.Layer<ObjectStore.ObjectStore, unknown>) =>
  Effect.gen(function*() {
    const store = yield* ObjectStore.ObjectStore
    yield* ObjectStore.put("from-url/a.txt", "hello")
    const text = yield* Effect.flatMap(ObjectStore.get("from-url/a.txt"), (r) => r.text)
    yield* ObjectStore.delete("from-url/a.txt")
    return { name: store.name, text }
  }).pipe(Effect.provide(layer))

describe("ObjectStore.layerFromUrl", () => {
  it.effect("memory:/// is a MemoryStore", () =>
    Effect.gen(function*() {
      const result = yield* roundTrip(ObjectStore.layerFromUrl("memory:///"))
      assert.deepStrictEqual(result, { name: "MemoryStore", text: "hello" })
    }))

  it.effect("file:///dir is a LocalStore rooted there", () =>
    Effect.gen(function*() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-from-url-"))
      const store = ObjectStore.layerFromUrl(`file://${root}`)
      const result = yield* Effect.provide(
        Effect.zipLeft(
          ObjectStore.put("x/y.txt", "on disk"),
          Effect.sync(() => assert.strictEqual(fs.readFileSync(path.join(root, "x/y.txt"), "utf8"), "on disk"))
        ),
        store
      )
      assert.isDefined(result)
      fs.rmSync(root, { recursive: true, force: true })
    }))

  it.live("s3://bucket/prefix is an S3Store below the prefix, configured from the environment", () =>
    Effect.gen(function*() {
      const layer = ObjectStore.layerFromUrl(`s3://${s3.bucket}/from-url-prefix`, { conditionalPut: "etag-unquoted" })
      const result = yield* roundTrip(layer)
      assert.deepStrictEqual(result, { name: "S3Store", text: "hello" })
      // The object lands below the prefix of the URL.
      const key = `k-${crypto.randomUUID()}`
      yield* Effect.provide(ObjectStore.put(key, "x"), layer)
      const meta = yield* Effect.provide(ObjectStore.head(`from-url-prefix/${key}`), S3Store.layer(rgwOptions))
      assert.strictEqual(meta.size, 1)
      yield* Effect.provide(ObjectStore.delete(key), layer)
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(
      new Map([
        ["AWS_ACCESS_KEY_ID", s3.accessKeyId],
        ["AWS_SECRET_ACCESS_KEY", s3.secretAccessKey],
        ["AWS_ENDPOINT_URL", s3.endpoint],
        ["AWS_ALLOW_HTTP", "true"]
      ])
    ))))

  it.effect("an unknown scheme or a malformed URL is InvalidConfig", () =>
    Effect.gen(function*() {
      for (const url of ["ftp://host/x", "not a url", "gs://bucket"]) {
        const error = yield* Effect.flip(Effect.provide(ObjectStore.ObjectStore, ObjectStore.layerFromUrl(url)))
        assert.strictEqual(error._tag, "InvalidConfig", url)
        assert.include(error.message, "url")
      }
    }))
})
