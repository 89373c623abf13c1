import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Ref, Schema, TestClock } from "effect"
import { Retryable, retrying } from "effect-obstore/internal/http/retry"
import { StoreError } from "effect-obstore/ObjectStoreError"
import * as RetryConfig from "effect-obstore/RetryConfig"

const transient = new Retryable(new StoreError({ store: "Test", method: "get", path: "p", description: "HTTP 503" }))

// Runs `retrying` over an attempt that always fails, recording when each attempt started (TestClock time).
const recordAttempts = (config: RetryConfig.RetryConfig) =>
  Effect.gen(function*() {
    const starts = yield* Ref.make<Array<number>>([])
    const attempt = Effect.flatMap(
      TestClock.currentTimeMillis,
      (now) => Effect.zipRight(Ref.update(starts, (s) => [...s, now]), Effect.fail(transient))
    )
    const fiber = yield* Effect.fork(Effect.flip(retrying(config, attempt)))
    // Far more than the schedule can take: every backoff elapses.
    for (let i = 0; i < 40; i++) yield* TestClock.adjust("30 seconds")
    const error = yield* Fiber.join(fiber)
    return { error, starts: yield* Ref.get(starts) }
  })

describe("RetryConfig", () => {
  it("has obstore's defaults", () => {
    const d = RetryConfig.defaults
    assert.strictEqual(d.maxRetries, 10)
    assert.strictEqual(Duration.toMillis(d.retryTimeout), 180_000)
    assert.strictEqual(Duration.toMillis(d.initBackoff), 100)
    assert.strictEqual(Duration.toMillis(d.maxBackoff), 15_000)
    assert.strictEqual(d.base, 2)
  })

  it("accepts durations as Duration inputs and rejects nonsense", () => {
    const decoded = Schema.decodeUnknownSync(RetryConfig.RetryConfig)({ initBackoff: "250 millis", maxBackoff: 2000 })
    assert.strictEqual(Duration.toMillis(decoded.initBackoff), 250)
    assert.strictEqual(Duration.toMillis(decoded.maxBackoff), 2000)
    assert.throws(() => Schema.decodeUnknownSync(RetryConfig.RetryConfig)({ initBackoff: "soon" }))
    assert.throws(() => Schema.decodeUnknownSync(RetryConfig.RetryConfig)({ maxRetries: -1 }))
  })

  it.effect("retries maxRetries times with exponential, jittered, capped backoff, then says how many attempts", () =>
    Effect.gen(function*() {
      const config = RetryConfig.RetryConfig.make({
        maxRetries: 6,
        initBackoff: Duration.millis(100),
        maxBackoff: Duration.millis(1000),
        base: 2
      })
      const { error, starts } = yield* recordAttempts(config)
      assert.strictEqual(starts.length, 7)
      const gaps = starts.slice(1).map((t, i) => t - starts[i])
      const nominal = [100, 200, 400, 800, 1000, 1000]
      gaps.forEach((gap, i) => {
        // Jitter stays within 0.8x to 1.2x of the nominal delay.
        assert.isAtLeast(gap, nominal[i] * 0.8, `gap ${i}: ${gap}`)
        assert.isAtMost(gap, nominal[i] * 1.2, `gap ${i}: ${gap}`)
      })
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "gave up after 7 attempts")
    }))

  it.effect("retryTimeout stops the retries early", () =>
    Effect.gen(function*() {
      const config = RetryConfig.RetryConfig.make({
        maxRetries: 100,
        retryTimeout: Duration.seconds(5),
        initBackoff: Duration.seconds(1),
        maxBackoff: Duration.seconds(1)
      })
      const { error, starts } = yield* recordAttempts(config)
      assert.isAtMost(starts.length, 7)
      assert.isAtLeast(starts.length, 4)
      assert.isAtMost(starts[starts.length - 1] - starts[0], 6_500)
      assert.include(error.message, `gave up after ${starts.length} attempts`)
    }))

  it.effect("honours Retry-After up to maxBackoff", () =>
    Effect.gen(function*() {
      const config = RetryConfig.RetryConfig.make({
        maxRetries: 2,
        initBackoff: Duration.millis(100),
        maxBackoff: Duration.seconds(10)
      })
      const slowDown = new Retryable(transient.error, Duration.seconds(3))
      const starts = yield* Ref.make<Array<number>>([])
      const attempt = Effect.flatMap(
        TestClock.currentTimeMillis,
        (now) => Effect.zipRight(Ref.update(starts, (s) => [...s, now]), Effect.fail(slowDown))
      )
      const fiber = yield* Effect.fork(Effect.flip(retrying(config, attempt)))
      for (let i = 0; i < 10; i++) yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
      const t = yield* Ref.get(starts)
      assert.strictEqual(t.length, 3)
      assert.isAtLeast(t[1] - t[0], 3000)
    }))

  it.effect("does not retry what is not marked retryable", () =>
    Effect.gen(function*() {
      const count = yield* Ref.make(0)
      const error = yield* Effect.flip(
        retrying(RetryConfig.defaults, Effect.zipRight(Ref.update(count, (n) => n + 1), Effect.fail("final" as const)))
      )
      assert.strictEqual(error, "final")
      assert.strictEqual(yield* Ref.get(count), 1)
    }))
})
