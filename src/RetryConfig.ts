/**
 * When and how often the HTTP stores retry. Defaults follow obstore: up to 10 retries within 180 s, backoff from
 * 100 ms doubling to 15 s, with jitter. Only requests that are safe to repeat are retried.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { DurationInput } from "./internal/duration.js"

/**
 * Retry settings as a store decodes them (durations as `Duration`, defaults filled in). Stores take the plain form,
 * `RetryOptions`, under their `retry` option.
 *
 * @since 0.1.0
 * @category models
 */
export class RetryConfig extends Schema.Class<RetryConfig>("effect-obstore/RetryConfig")({
  /** Retries after the first attempt. Default 10. */
  maxRetries: Schema.optionalWith(Schema.Int.pipe(Schema.nonNegative()), { default: () => 10 }),
  /** No retry starts after this long since the first attempt. Default 180 s. */
  retryTimeout: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(180) }),
  /** The first backoff. Default 100 ms. */
  initBackoff: Schema.optionalWith(DurationInput, { default: () => Duration.millis(100) }),
  /** The largest backoff. Default 15 s. */
  maxBackoff: Schema.optionalWith(DurationInput, { default: () => Duration.seconds(15) }),
  /** Growth factor of the backoff. Default 2. */
  base: Schema.optionalWith(Schema.Number.pipe(Schema.greaterThanOrEqualTo(1)), { default: () => 2 })
}) {}

/**
 * Retry settings as a store's `retry` option takes them. Every field is optional; durations are a `Duration`,
 * milliseconds, or a string such as `"15 seconds"`.
 *
 * @since 0.1.0
 * @category options
 */
export interface RetryOptions {
  /** Retries after the first attempt. Default 10; `0` turns retries off. */
  readonly maxRetries?: number | undefined
  /** No retry starts after this long since the first attempt. Default 180 s. */
  readonly retryTimeout?: Duration.DurationInput | undefined
  /** The first backoff. Default 100 ms. */
  readonly initBackoff?: Duration.DurationInput | undefined
  /** The largest backoff. Default 15 s. */
  readonly maxBackoff?: Duration.DurationInput | undefined
  /** Growth factor of the backoff (at least 1). Default 2. */
  readonly base?: number | undefined
}

// Declared by hand because editors show no documentation for the fields of `Schema.Encoded` types: this stops the
// build when the declaration and the schema disagree.
true satisfies Same<RetryOptions, typeof RetryConfig.Encoded>
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/**
 * The defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: RetryConfig = RetryConfig.make({})

/**
 * The backoff schedule of a config: exponential from `initBackoff` by `base`, capped at `maxBackoff`, jittered,
 * at most `maxRetries` recurrences and none after `retryTimeout`. Its output is the number of recurrences so far.
 *
 * @since 0.1.0
 * @category constructors
 */
export const schedule = (config: RetryConfig): Schedule.Schedule<number> =>
  Schedule.exponential(config.initBackoff, config.base).pipe(
    // `union` takes the shorter delay of the two, so the backoff stops growing at maxBackoff.
    Schedule.union(Schedule.spaced(config.maxBackoff)),
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(config.maxRetries)),
    Schedule.upTo(config.retryTimeout),
    Schedule.map(([, n]) => n)
  )
