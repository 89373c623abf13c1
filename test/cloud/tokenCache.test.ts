import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Ref, TestClock } from "effect"
import * as TokenCache from "effect-obstore/internal/cloud/tokenCache"

interface Token {
  readonly value: number
  readonly expiresAt?: number | undefined
}

const MINUTE = 60_000

// A fetch that counts its calls and hands out tokens valid for `ttl` from the (test) clock's now.
const counting = (ttl: number | undefined) =>
  Effect.map(Ref.make(0), (calls) => ({
    calls,
    fetch: Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), (n) =>
      Effect.map(TestClock.currentTimeMillis, (now): Token => ({
        value: n,
        expiresAt: ttl === undefined ? undefined : now + ttl
      })))
  }))

const options = { expiresAt: (t: Token) => t.expiresAt, refreshBefore: "5 minutes" } as const

describe("cloud token cache", () => {
  it.effect("reuses a token until shortly before it expires, then fetches a new one", () =>
    Effect.gen(function*() {
      const { calls, fetch } = yield* counting(60 * MINUTE)
      const cached = yield* TokenCache.make(fetch, options)
      assert.strictEqual((yield* cached).value, 1)
      yield* TestClock.adjust("54 minutes")
      assert.strictEqual((yield* cached).value, 1)
      assert.strictEqual(yield* Ref.get(calls), 1)
      yield* TestClock.adjust("1 minute") // 5 minutes before expiry
      assert.strictEqual((yield* cached).value, 2)
      assert.strictEqual((yield* cached).value, 2)
      assert.strictEqual(yield* Ref.get(calls), 2)
    }))

  it.effect("a token that never expires is fetched once", () =>
    Effect.gen(function*() {
      const { calls, fetch } = yield* counting(undefined)
      const cached = yield* TokenCache.make(fetch, options)
      yield* cached
      yield* TestClock.adjust("1000 days")
      yield* cached
      assert.strictEqual(yield* Ref.get(calls), 1)
    }))

  it.effect("a short-lived token is reused for half its remaining life, not fetched on every call", () =>
    Effect.gen(function*() {
      const { calls, fetch } = yield* counting(2 * MINUTE)
      const cached = yield* TokenCache.make(fetch, options)
      yield* cached
      yield* TestClock.adjust("59 seconds")
      yield* cached
      assert.strictEqual(yield* Ref.get(calls), 1)
      yield* TestClock.adjust("1 second")
      yield* cached
      assert.strictEqual(yield* Ref.get(calls), 2)
    }))

  it.effect("concurrent callers share one fetch", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const calls = yield* Ref.make(0)
      const fetch = Effect.zipRight(
        Ref.update(calls, (n) => n + 1),
        Effect.as(Deferred.await(gate), { value: 7 } as Token)
      )
      const cached = yield* TokenCache.make(fetch, options)
      const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(cached))
      yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      const values = yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(values.map((t) => t.value), [7, 7, 7])
      assert.strictEqual(yield* Ref.get(calls), 1)
    }))

  it.effect("a failed refresh serves the old token while it is valid, and fails once it expired", () =>
    Effect.gen(function*() {
      const failing = yield* Ref.make(false)
      const { fetch } = yield* counting(10 * MINUTE)
      const flaky = Effect.flatMap(Ref.get(failing), (f) => f ? Effect.fail("down") : fetch)
      const cached = yield* TokenCache.make(flaky, options)
      assert.strictEqual((yield* cached).value, 1)
      yield* Ref.set(failing, true)
      yield* TestClock.adjust("6 minutes")
      assert.strictEqual((yield* cached).value, 1)
      yield* TestClock.adjust("5 minutes")
      assert.strictEqual(yield* Effect.flip(cached), "down")
      yield* Ref.set(failing, false)
      assert.strictEqual((yield* cached).value, 2)
    }))
})
