import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as ObjectWriter from "effect-obstore/ObjectWriter"

describe("ObjectWriter", () => {
  it.effect("abort drops what was written; the scope's close then commits nothing", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* ObjectWriter.openWriter("a")
        yield* writer.write("partial")
        yield* writer.abort
      }))
      const head = yield* Effect.either(ObjectStore.head("a"))
      assert.isTrue(head._tag === "Left" && head.left._tag === "NotFound")
    }).pipe(Effect.provide(MemoryStore.layer)))

  it.effect("close commits early and returns the put's result; the object is visible before the scope ends", () =>
    Effect.gen(function*() {
      yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* ObjectWriter.openWriter("b", { attributes: { contentType: "text/plain" } })
        yield* writer.write("done")
        const result = yield* writer.close
        assert.isString(result.eTag)
        const got = yield* ObjectStore.get("b")
        assert.strictEqual(yield* got.text, "done")
        assert.strictEqual(got.attributes.contentType, "text/plain")
      }))
    }).pipe(Effect.provide(MemoryStore.layer)))

  it.effect("a failed commit at scope close is a defect holding the typed error", () =>
    Effect.gen(function*() {
      yield* ObjectStore.put("c", "there")
      const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        const writer = yield* ObjectWriter.openWriter("c", { mode: "create" })
        yield* writer.write("again")
      })))
      assert.isTrue(Exit.isFailure(exit) && String(exit.cause).includes("AlreadyExists"))
    }).pipe(Effect.provide(MemoryStore.layer)))

  it.effect("a bad queueSize is InvalidConfig", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(ObjectWriter.openWriter("d", { queueSize: 0 })))
      assert.strictEqual(error._tag, "InvalidConfig")
    }).pipe(Effect.provide(MemoryStore.layer)))
})
