// An error response kept raw (status, the cloud's error code and message) until the operation that sent it decides
// what it means, through the one error table in `errors.ts`.
import * as Effect from "effect/Effect"
import type { Headers } from "../http/transport.js"

/** Who failed: the store, the operation the caller called, and the path the caller passed. */
export interface Context {
  readonly store: string
  readonly method: string
  readonly path?: string | undefined
}

/** An error response, kept raw until the operation decides what it means. */
export class HttpFailure {
  readonly _tag = "HttpFailure"
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    readonly message: string | undefined,
    readonly headers: Headers
  ) {}
  describe(): string {
    const parts = [`HTTP ${this.status}`]
    if (this.code !== undefined) parts.push(this.code)
    if (this.message !== undefined && this.message !== "") parts.push(this.message)
    return parts.join(": ")
  }
}

export const isFailure = (u: unknown): u is HttpFailure => u instanceof HttpFailure

/** The fields every typed error built from a failure carries. */
export const fieldsOf = (ctx: Context, failure: HttpFailure) => ({
  store: ctx.store,
  method: ctx.method,
  ...(ctx.path === undefined ? {} : { path: ctx.path }),
  description: failure.describe(),
  cause: failure
})

/** Maps the raw HTTP failures of an effect with `f`, leaving its other errors alone. */
export const mapFailure = <A, E, E2>(
  effect: Effect.Effect<A, E>,
  f: (failure: HttpFailure) => E2
): Effect.Effect<A, Exclude<E, HttpFailure> | E2> =>
  Effect.catchIf(effect, isFailure, (failure) => Effect.fail(f(failure))) as Effect.Effect<
    A,
    Exclude<E, HttpFailure> | E2
  >
