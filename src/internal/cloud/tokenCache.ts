// A cache for anything fetched that expires: AWS credentials today, Google OAuth and Azure AD tokens next. Reused
// until shortly before it expires; concurrent callers share one fetch; a failed refresh serves the old value while
// it is still valid. Time comes from Effect's Clock, so TestClock drives expiry in tests.
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

export interface Options<T> {
  /** When a value expires (epoch millis); undefined: never. */
  readonly expiresAt: (value: T) => number | undefined
  /** How long before expiry a call fetches again (default 5 minutes). */
  readonly refreshBefore?: Duration.DurationInput | undefined
}

interface Entry<T> {
  readonly value: T
  /** Epoch millis from which a call fetches again; `Infinity` for values that never expire. */
  readonly refreshAt: number
}

/** Wraps `fetch` in a cache; the effect returned reads through it. */
export const make = <T, E>(fetch: Effect.Effect<T, E>, options: Options<T>): Effect.Effect<Effect.Effect<T, E>> =>
  Effect.sync(() => {
    const refreshBefore = Duration.toMillis(Duration.decode(options.refreshBefore ?? Duration.minutes(5)))
    // Plain variables, not a Ref: each check-and-set below runs in one synchronous callback, so no other fiber can
    // interleave, and the hot path (a fresh value) stays a clock read and a comparison.
    let current: Entry<T> | undefined
    let inflight: Deferred.Deferred<T, E> | undefined

    const stillValid = (value: T, now: number) => {
      const expiresAt = options.expiresAt(value)
      return expiresAt === undefined || now < expiresAt
    }

    const refreshAtFor = (value: T, now: number): number => {
      const expiresAt = options.expiresAt(value)
      if (expiresAt === undefined) return Number.POSITIVE_INFINITY
      const early = expiresAt - refreshBefore
      // A value that arrives already inside the refresh window (short-lived container tokens) is reused for half its
      // remaining life rather than fetched again on every call.
      return early > now ? early : now + Math.max(0, (expiresAt - now) / 2)
    }

    const run = (deferred: Deferred.Deferred<T, E>) =>
      fetch.pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) => {
            if (Exit.isSuccess(exit)) current = { value: exit.value, refreshAt: refreshAtFor(exit.value, now) }
            inflight = undefined
            return Deferred.done(deferred, exit)
          })
        )
      )

    const awaitRefresh = (deferred: Deferred.Deferred<T, E>, previous: Entry<T> | undefined): Effect.Effect<T, E> =>
      Effect.catchAll(
        Deferred.await(deferred),
        (error) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            previous !== undefined && stillValid(previous.value, now)
              ? Effect.succeed(previous.value)
              : Effect.fail(error))
      )

    const refresh: Effect.Effect<T, E> = Effect.flatMap(
      Deferred.make<T, E>(),
      (fresh) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          if (current !== undefined && now < current.refreshAt) return Effect.succeed(current.value)
          const previous = current
          if (inflight !== undefined) return awaitRefresh(inflight, previous)
          inflight = fresh
          // A daemon, so that interrupting the caller who happened to start the fetch does not fail the others
          // waiting on it; the fetch's own timeouts bound it.
          return Effect.zipRight(Effect.forkDaemon(run(fresh)), awaitRefresh(fresh, previous))
        })
    )

    return Effect.flatMap(
      Clock.currentTimeMillis,
      (now) => current !== undefined && now < current.refreshAt ? Effect.succeed(current.value) : refresh
    )
  })
