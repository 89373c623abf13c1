import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Stream } from "effect"
import * as MemoryStore from "effect-obstore/MemoryStore"
import { full } from "./conformance/capabilities.js"
import { conformance } from "./conformance/suite.js"

conformance("MemoryStore", MemoryStore.layer, full)

describe("MemoryStore", () => {
  it.effect("each make is an independent store", () =>
    Effect.gen(function*() {
      const a = yield* MemoryStore.make
      const b = yield* MemoryStore.make
      yield* a.put("x", "1")
      const error = yield* Effect.flip(b.head("x"))
      assert.strictEqual(error._tag, "NotFound")
    }))

  it.effect("of 100 concurrent creates exactly one succeeds", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const exits = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) =>
          Effect.exit(
            store.put(
              "race",
              Stream.make(new TextEncoder().encode(String(i))).pipe(Stream.tap(() => Effect.yieldNow())),
              {
                mode: "create"
              }
            )
          ),
        { concurrency: "unbounded" }
      )
      const wins = exits.filter(Exit.isSuccess)
      assert.strictEqual(wins.length, 1)
      for (const exit of exits) {
        if (Exit.isFailure(exit)) {
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error._tag, "AlreadyExists")
        }
      }
    }))

  it.effect("of concurrent updates from one ETag exactly one succeeds", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { eTag } = yield* store.put("doc", "v0")
      const exits = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => Effect.exit(store.put("doc", Stream.make(new TextEncoder().encode(`v${i + 1}`)), { mode: { eTag } })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(exits.filter(Exit.isSuccess).length, 1)
    }))

  it.effect("buffers given to put and returned by get are not shared with the store", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const input = new Uint8Array([1, 2, 3])
      yield* store.put("b", input)
      input[0] = 9
      const first = yield* Effect.flatMap(store.get("b"), (r) => r.bytes)
      first[1] = 9
      const second = yield* Effect.flatMap(store.get("b"), (r) => r.bytes)
      assert.deepStrictEqual(Array.from(second), [1, 2, 3])
    }))

  it.effect("a failed payload stream leaves the old object", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.put("keep", "old")
      const broken = Stream.concat(Stream.make(new Uint8Array([1])), Stream.fail("boom" as const))
      const error = yield* Effect.flip(store.put("keep", broken))
      assert.strictEqual(error, "boom")
      assert.strictEqual(yield* Effect.flatMap(store.get("keep"), (r) => r.text), "old")
    }))
})
