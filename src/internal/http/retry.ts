// Retries of HTTP requests: a Schedule from RetryConfig, applied only to failures marked retryable (and not to those
// no wait can heal: an unknown host name, an untrusted certificate), honouring a server's Retry-After, and reporting
// how many attempts were made when it gives up.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { StoreError } from "../../ObjectStoreError.js"
import type { RetryConfig } from "../../RetryConfig.js"
import { schedule as backoff } from "../../RetryConfig.js"

/** A failure worth another attempt, and the error to report if the attempts run out. */
export class Retryable {
  readonly _tag = "Retryable"
  constructor(readonly error: StoreError, readonly retryAfter?: Duration.Duration | undefined) {}
}

export const isRetryable = (u: unknown): u is Retryable => u instanceof Retryable

// Failures that no wait can heal: the name does not exist, the server's certificate is not trusted, the request
// cannot be sent.
const PERMANENT_CODES = new Set([
  "ENOTFOUND",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "HOSTNAME_MISMATCH",
  // A request the client refuses to send (a header value with a line break, a name that is no token): every
  // attempt would be refused the same way.
  "UND_ERR_INVALID_ARG",
  "ERR_INVALID_CHAR",
  "ERR_INVALID_HTTP_TOKEN",
  "ERR_HTTP_INVALID_HEADER_VALUE"
])

/** The error codes along a chain of causes (a StoreError's TransportError's undici or Node error, ...). */
const codesOf = (u: unknown, depth = 0): ReadonlyArray<string> => {
  if (typeof u !== "object" || u === null || depth > 5) return []
  const { cause, code, message } = u as { cause?: unknown; code?: unknown; message?: unknown }
  const own = typeof code === "string" ? [code] : []
  // Transports that keep only a message (the platform HttpClient) still name the code in it.
  const named = typeof message === "string"
    ? Array.from(
      message.matchAll(/\b(ENOTFOUND|[A-Z_]*CERT[A-Z_]*|ERR_INVALID_CHAR|UND_ERR_INVALID_ARG)\b/g),
      (m) => m[1]
    )
    : []
  return [...own, ...named, ...codesOf(cause, depth + 1)]
}

/** Whether a retryable-looking failure cannot heal by waiting, so that retrying it only delays the error. */
export const isPermanent = (r: Retryable): boolean => codesOf(r.error.cause).some((code) => PERMANENT_CODES.has(code))

const worthRetrying = (u: unknown): boolean => isRetryable(u) && !isPermanent(u)

/** The schedule of a config, stretched to a server's Retry-After (capped at `maxBackoff`). */
export const schedule = (config: RetryConfig): Schedule.Schedule<number, unknown> =>
  backoff(config).pipe(
    Schedule.intersect(Schedule.identity<unknown>()),
    Schedule.modifyDelay(([, input], delay) =>
      isRetryable(input) && input.retryAfter !== undefined
        ? Duration.max(delay, Duration.min(input.retryAfter, config.maxBackoff))
        : delay
    ),
    Schedule.map(([n]) => n)
  )

// A schedule is a value: build it once per config rather than on every request.
const schedules = new WeakMap<RetryConfig, Schedule.Schedule<number, unknown>>()
const scheduleOf = (config: RetryConfig) => {
  let found = schedules.get(config)
  if (found === undefined) {
    found = schedule(config)
    schedules.set(config, found)
  }
  return found
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or the schedule gives up. The first attempt runs
 * bare: the retry driver (schedule state, Ref, counters) is only set up once an attempt failed with a retryable error.
 */
export const retrying = <A, E>(
  config: RetryConfig,
  attempt: Effect.Effect<A, E | Retryable>
): Effect.Effect<A, Exclude<E, Retryable> | StoreError> =>
  Effect.catchIf(attempt, isRetryable, (first) => {
    if (isPermanent(first)) return Effect.fail(first.error)
    // Replays the first failure into the schedule, so delays and counts are those of a retry from the start.
    let attempts = 0
    const counted = Effect.suspend(() => {
      attempts++
      return attempts === 1 ? Effect.fail(first) : attempt
    })
    return Effect.retry(counted, { schedule: scheduleOf(config), while: worthRetrying }).pipe(
      Effect.catchIf(isRetryable, (r) =>
        Effect.fail(
          new StoreError({
            store: r.error.store,
            method: r.error.method,
            ...(r.error.path === undefined ? {} : { path: r.error.path }),
            description: `${r.error.description ?? "request failed"}; gave up after ${attempts} attempt${
              attempts === 1 ? "" : "s"
            }`,
            cause: r.error.cause
          })
        ))
    )
  }) as Effect.Effect<A, Exclude<E, Retryable> | StoreError>

/** Seconds or an HTTP date, as in a Retry-After header. */
export const parseRetryAfter = (value: string | undefined, now: number): Duration.Duration | undefined => {
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Duration.seconds(seconds)
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Duration.millis(Math.max(0, date - now))
}
