import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as ObjectReader from "effect-obstore/ObjectReader"
import type * as ObjectStore from "effect-obstore/ObjectStore"
import { pseudoRandom } from "./conformance/io.js"

// A MemoryStore that records the ranges asked of it and how many gets run at once.
const recording = Effect.map(MemoryStore.make, (store) => {
  const ranges: Array<ObjectStore.ByteRange | undefined> = []
  let running = 0
  let peak = 0
  const service: ObjectStore.ObjectStore.Service = {
    ...store,
    get: (path, options) =>
      Effect.suspend(() => {
        ranges.push(options?.range)
        running++
        peak = Math.max(peak, running)
        return Effect.ensuring(
          Effect.zipLeft(store.get(path, options), Effect.sleep("5 millis")),
          Effect.sync(() => running--)
        )
      })
  }
  return { service, ranges, peak: () => peak }
})

describe("ObjectReader", () => {
  it.live("sequential reads fetch the next buffers ahead, concurrently, one request per buffer", () =>
    Effect.scoped(Effect.gen(function*() {
      const { peak, ranges, service } = yield* recording
      const data = pseudoRandom(10 * 1024)
      yield* service.put("x", data)
      const reader = yield* ObjectReader.open(service, "x", { bufferSize: 1024, prefetch: 3 })
      for (let i = 0; i < 10; i++) assert.strictEqual((yield* reader.read(1024)).byteLength, 1024)
      const fetched = ranges.filter((r) => r !== undefined)
      assert.strictEqual(fetched.length, 10, "each buffer once")
      assert.isAtLeast(peak(), 2, "buffers ahead are fetched while the current one is")
      assert.deepStrictEqual(fetched[0], { start: 0, end: 1024 })
    })))

  it.live("random reads fetch nothing ahead", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ranges, service } = yield* recording
      yield* service.put("x", pseudoRandom(64 * 1024))
      const reader = yield* ObjectReader.open(service, "x", { bufferSize: 4096, prefetch: 4 })
      yield* reader.seek(40_000)
      yield* reader.read(10)
      yield* reader.seek(8_000)
      yield* reader.read(10)
      assert.strictEqual(ranges.filter((r) => r !== undefined).length, 2)
    })))

  it.live("a span wider than the buffers kept is one request of its own", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ranges, service } = yield* recording
      const data = pseudoRandom(64 * 1024, 2)
      yield* service.put("x", data)
      const reader = yield* ObjectReader.open(service, "x", { bufferSize: 1024, prefetch: 0 })
      const bytes = yield* reader.readRange(100, 50_100)
      assert.deepStrictEqual(Array.from(bytes.subarray(0, 8)), Array.from(data.subarray(100, 108)))
      assert.deepStrictEqual(ranges.filter((r) => r !== undefined), [{ start: 100, end: 50_100 }])
    })))

  it.live("buffers kept: random reads that come back to a region cost no request again", () =>
    Effect.scoped(Effect.gen(function*() {
      const { ranges, service } = yield* recording
      const data = pseudoRandom(16 * 1024, 3)
      yield* service.put("x", data)
      const visit = (reader: ObjectReader.ObjectReader) =>
        Effect.forEach(
          [0, 5, 9, 3, 0, 5, 9, 3],
          (block) =>
            Effect.map(reader.readRange(block * 1024 + 10, block * 1024 + 20), (bytes) =>
              assert.deepStrictEqual(
                Array.from(bytes),
                Array.from(data.subarray(block * 1024 + 10, block * 1024 + 20))
              ))
        )
      yield* visit(yield* ObjectReader.open(service, "x", { bufferSize: 1024, prefetch: 0, buffers: 4 }))
      assert.strictEqual(ranges.filter((r) => r !== undefined).length, 4, "each region fetched once")
      ranges.length = 0
      yield* visit(yield* ObjectReader.open(service, "x", { bufferSize: 1024, prefetch: 0 }))
      assert.strictEqual(ranges.filter((r) => r !== undefined).length, 8, "two buffers kept by default")
    })))

  it.effect("bad options are InvalidConfig before any request", () =>
    Effect.scoped(Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.put("x", "y")
      const error = yield* Effect.flip(ObjectReader.open(store, "x", { bufferSize: 0 }))
      assert.strictEqual(error._tag, "InvalidConfig")
      const prefetch = yield* Effect.flip(ObjectReader.open(store, "x", { prefetch: -1 }))
      assert.strictEqual(prefetch._tag, "InvalidConfig")
      const buffers = yield* Effect.flip(ObjectReader.open(store, "x", { prefetch: 2, buffers: 2 }))
      assert.strictEqual(buffers._tag, "InvalidConfig")
      assert.include(buffers.message, "buffers")
      assert.include(buffers.message, ">= 3")
    })))
})
