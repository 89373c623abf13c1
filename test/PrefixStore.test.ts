import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as PrefixStore from "effect-obstore/PrefixStore"
import * as S3Store from "effect-obstore/S3Store"
import * as Signer from "effect-obstore/Signer"
import { rgwOptions, s3 } from "./support/servers.js"

describe("PrefixStore", () => {
  it.effect("reads and writes below the prefix, results relative to it", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryStore.make
      const store = yield* PrefixStore.make(inner, "/tenant/a/")
      yield* store.put("/x/y.txt", "one")
      yield* store.put("z.txt", "two")
      yield* inner.put("tenant/ab/outside.txt", "no")
      assert.strictEqual(yield* Effect.flatMap(inner.get("tenant/a/x/y.txt"), (r) => r.text), "one")
      const result = yield* store.get("x/y.txt")
      assert.strictEqual(result.meta.path, "x/y.txt")
      assert.strictEqual((yield* store.head("z.txt")).path, "z.txt")
      const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(store.list()))
      assert.deepStrictEqual(listed.map((m) => m.path), ["x/y.txt", "z.txt"])
      const offset = Chunk.toReadonlyArray(yield* Stream.runCollect(store.list("", { offset: "x/y.txt" })))
      assert.deepStrictEqual(offset.map((m) => m.path), ["z.txt"])
      const delimited = yield* store.listWithDelimiter()
      assert.deepStrictEqual(delimited.commonPrefixes, ["x"])
      assert.deepStrictEqual(delimited.objects.map((m) => m.path), ["z.txt"])
      yield* store.rename("z.txt", "w.txt")
      assert.strictEqual(yield* Effect.flatMap(inner.get("tenant/a/w.txt"), (r) => r.text), "two")
      yield* store.delete(["w.txt", "x/y.txt"])
      assert.strictEqual((yield* Stream.runCollect(inner.list("tenant/a"))).length, 0)
      assert.strictEqual((yield* Stream.runCollect(inner.list("tenant/ab"))).length, 1)
    }))

  it.effect("an invalid prefix fails with InvalidPath", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryStore.make
      for (const bad of ["a//b", "../x", "a/./b"]) {
        const error = yield* Effect.flip(PrefixStore.make(inner, bad))
        assert.strictEqual(error._tag, "InvalidPath")
      }
    }))

  it.effect("an empty prefix is the store itself", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryStore.make
      assert.strictEqual(yield* PrefixStore.make(inner, ""), inner)
      assert.strictEqual(yield* PrefixStore.make(inner, "/"), inner)
    }))

  it.live("over S3Store, the Signer and the S3Store service are prefixed too", () =>
    Effect.gen(function*() {
      const tenant = `prefix-signer/${crypto.randomUUID()}`
      const layer = PrefixStore.layer(tenant).pipe(Layer.provideMerge(S3Store.layer(rgwOptions)))
      yield* Effect.gen(function*() {
        const url = yield* Signer.sign("GET", "a.txt", "1 minute")
        assert.strictEqual(url.pathname, `/${s3.bucket}/${tenant}/a.txt`)
        const many = yield* Signer.sign("PUT", ["b/c.txt"], "1 minute")
        assert.strictEqual(many[0].pathname, `/${s3.bucket}/${tenant}/b/c.txt`)
        const bad = yield* Effect.flip(Signer.sign("GET", "../escape", "1 minute"))
        assert.strictEqual(bad._tag, "InvalidPath")
        const service = yield* S3Store.S3Store
        assert.strictEqual(service.config.prefix, tenant)
        yield* service.store.put("via-service.txt", "x")
        yield* ObjectStore.head("via-service.txt")
        const signed = yield* service.signer.sign("GET", "a.txt", "1 minute")
        assert.strictEqual(signed.pathname, `/${s3.bucket}/${tenant}/a.txt`)
        yield* ObjectStore.delete("via-service.txt")
      }).pipe(Effect.provide(layer))
    }))
})
