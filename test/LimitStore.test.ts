import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, Layer, Option, Ref, Stream, TestClock, TestServices } from "effect"
import * as LimitStore from "effect-obstore/LimitStore"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as ObjectStore from "effect-obstore/ObjectStore"

// A memory store whose operations wait at a gate and count how many are inside at once.
const gated = Effect.gen(function*() {
  const memory = yield* MemoryStore.make
  const gate = yield* Deferred.make<void>()
  const inside = yield* Ref.make(0)
  const peak = yield* Ref.make(0)
  const enter = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.acquireUseRelease(
      Ref.updateAndGet(inside, (n) => n + 1).pipe(Effect.tap((n) => Ref.update(peak, (p) => Math.max(p, n)))),
      () => Effect.zipRight(Deferred.await(gate), effect),
      () => Ref.update(inside, (n) => n - 1)
    )
  const store = ObjectStore.make({
    name: "Gated",
    get: (path, options) =>
      enter(memory.get(path, options)).pipe(
        Effect.map((result) => ({
          ...result,
          stream: Stream.unwrap(Effect.as(enter(Effect.void), result.stream))
        }))
      ),
    head: (path) => enter(memory.head(path)),
    put: (path, payload, options) => enter(memory.put(path, payload, options)),
    list: (prefix, options) => memory.list(prefix, options),
    copy: (from, to, options) => enter(memory.copy(from, to, options)),
    delete: (path) => enter(memory.delete(path))
  })
  return { memory, store, gate, inside, peak }
})

describe("LimitStore", () => {
  it.effect("bounds operations in flight", () =>
    Effect.gen(function*() {
      const { gate, peak, store } = yield* gated
      const limited = yield* LimitStore.make(store, 3)
      const fiber = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 20 }, (_, i) => `k${i}`), (k) => limited.put(k, "x"), {
          concurrency: "unbounded"
        })
      )
      for (let i = 0; i < 50; i++) yield* Effect.yieldNow()
      assert.strictEqual(yield* Ref.get(peak), 3)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(fiber)
      assert.strictEqual(yield* Ref.get(peak), 3)
      const listed = yield* limited.list().pipe(Stream.runCollect)
      assert.strictEqual(listed.length, 20)
    }))

  it.effect("a body being read holds a permit", () =>
    Effect.gen(function*() {
      const { gate, memory, store } = yield* gated
      yield* memory.put("a", "hello")
      const limited = yield* LimitStore.make(store, 1)
      yield* Deferred.succeed(gate, undefined)
      const result = yield* limited.get("a")
      const release = yield* Deferred.make<void>()
      // Start reading the body and stop halfway: the permit stays taken until the stream ends.
      const reader = yield* Effect.fork(
        result.stream.pipe(Stream.tap(() => Deferred.await(release)), Stream.runDrain)
      )
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      const head = yield* Effect.fork(limited.head("a"))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      assert.isTrue(Option.isNone(yield* Fiber.poll(head)))
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(reader)
      const meta = yield* Fiber.join(head)
      assert.strictEqual(meta.size, 5)
    }))

  it.effect("an interrupted stream gives its permit back", () =>
    Effect.gen(function*() {
      const { gate, memory, store } = yield* gated
      yield* memory.put("a", "hello")
      const limited = yield* LimitStore.make(store, 1)
      yield* Deferred.succeed(gate, undefined)
      const result = yield* limited.get("a")
      const reader = yield* Effect.fork(result.stream.pipe(Stream.tap(() => Effect.never), Stream.runDrain))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* Fiber.interrupt(reader)
      const meta = yield* limited.head("a")
      assert.strictEqual(meta.size, 5)
    }))

  it.effect("rejects a limit that is not a positive integer", () =>
    Effect.gen(function*() {
      const memory = yield* MemoryStore.make
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        const exit = yield* Effect.exit(LimitStore.make(memory, bad))
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(LimitStore.make(memory, bad))
        assert.strictEqual(error._tag, "InvalidConfig")
        assert.strictEqual(error.field, "maxConcurrentRequests")
      }
    }))

  it.effect("the layer wraps the store in context", () =>
    Effect.gen(function*() {
      yield* ObjectStore.put("a/b", "data")
      const text = yield* Effect.flatMap(ObjectStore.get("a/b"), (r) => r.text)
      assert.strictEqual(text, "data")
    }).pipe(Effect.provide(LimitStore.layer(2).pipe(Layer.provide(MemoryStore.layer)))))

  // object_store's limit test: with every permit held, an operation waiting for one gives up when told to.
  it.effect("waiting for a permit can be interrupted, for streams and effects alike", () =>
    Effect.gen(function*() {
      const { gate, memory, store } = yield* gated
      yield* memory.put("a", "hello")
      yield* Deferred.succeed(gate, undefined)
      const limited = yield* LimitStore.make(store, 1)
      const result = yield* limited.get("a")
      const holder = yield* Effect.fork(result.stream.pipe(Stream.tap(() => Effect.never), Stream.runDrain))
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      const waiters = [
        Stream.runDrain(limited.list()),
        Effect.flatMap(limited.get("a"), (r) => Stream.runDrain(r.stream)),
        limited.head("a"),
        limited.delete(["a", "b"])
      ]
      for (const waiter of waiters) {
        const fiber = yield* Effect.fork(Effect.timeout(waiter, "20 millis"))
        for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
        yield* TestClock.adjust("20 millis")
        // A bound on the real clock, so that a waiter that cannot be interrupted fails the test instead of hanging it.
        const exit = yield* TestServices.provideLive(Effect.timeout(Fiber.await(fiber), "2 seconds"))
        assert.isTrue(Exit.isFailure(exit) && Cause.isTimeoutException(Cause.squash(exit.cause)))
      }
      yield* Fiber.interrupt(holder)
      assert.strictEqual((yield* limited.head("a")).size, 5)
    }))
})
