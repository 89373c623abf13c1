// How LocalStore's node:fs calls fail: errno codes mapped to the typed errors, the one wrapper every call goes
// through (`attempt`), and the error for an object and objects below it.
import * as Effect from "effect/Effect"
import { NotSupported, PermissionDenied, StoreError } from "../../ObjectStoreError.js"

export const STORE = "LocalStore"

/** The fields every error of one operation carries. */
export interface Context {
  readonly store: string
  readonly method: string
  readonly path: string
}

export const context = (method: string, path: string): Context => ({ store: STORE, method, path })

/** The errno code of a node:fs error, or of the error a platform `SystemError` wraps. */
export const errnoCode = (u: unknown): string | undefined => {
  if (typeof u !== "object" || u === null) return undefined
  if ("code" in u && typeof u.code === "string") return u.code
  return "cause" in u ? errnoCode(u.cause) : undefined
}

const messageOf = (u: unknown): string => u instanceof Error ? u.message : String(u)

/** What any filesystem call can fail with once the expected codes are handled. */
export const accessFailure = (
  context: Context,
  what: string,
  cause: unknown
): PermissionDenied | StoreError => {
  const code = errnoCode(cause)
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new PermissionDenied({ ...context, description: `${what}: ${messageOf(cause)}`, cause })
  }
  return new StoreError({ ...context, description: `${what} failed: ${messageOf(cause)}`, cause })
}

/**
 * Runs a node:fs promise. `on` maps the codes the caller expects (returning undefined for the rest, which become
 * `PermissionDenied` or `StoreError`).
 */
export const attempt = <A, E = never>(
  context: Context,
  what: string,
  f: () => Promise<A>,
  on?: (code: string | undefined, cause: unknown) => E | undefined
): Effect.Effect<A, E | PermissionDenied | StoreError> =>
  Effect.tryPromise({
    try: f,
    catch: (cause) => on?.(errnoCode(cause), cause) ?? accessFailure(context, what, cause)
  })

/** Resolves a promise to `fallback` instead of failing when it fails with one of `codes`. */
export const ignoring = <A, B>(codes: ReadonlyArray<string>, promise: Promise<A>, fallback: B): Promise<A | B> =>
  promise.catch((cause) => {
    const code = errnoCode(cause)
    return code !== undefined && codes.includes(code) ? fallback : Promise.reject(cause)
  })

/**
 * A directory removed under a writer (by another call's automaticCleanup) before the writer's file was in it: the
 * write prepares its directory again (see `retryVanished`). Never leaves LocalStore's modules.
 */
export class Vanished {
  readonly _tag = "Vanished"
  constructor(readonly context: Context, readonly what: string) {}
}

/** A directory that is not there (any more): the caller treats it as empty or absent. Never leaves these modules. */
export class Gone {
  readonly _tag = "Gone"
}

/** Maps the codes of a missing directory to `Gone`, for `openDirectory`'s `on`. */
export const goneIfMissing = (code: string | undefined): Gone | undefined =>
  code === "ENOENT" || code === "ENOTDIR" ? new Gone() : undefined

/** How often a write prepares its directory again before it gives up with a StoreError. */
const VANISHED_RETRIES = 10

/** Runs `effect` again while a directory vanishes under it; after many times it is a StoreError. */
export const retryVanished = <A, E, R>(
  effect: Effect.Effect<A, E | Vanished, R>
): Effect.Effect<A, Exclude<E, Vanished> | StoreError, R> =>
  effect.pipe(
    Effect.retry({ while: (e) => e instanceof Vanished, times: VANISHED_RETRIES }),
    Effect.catchIf(
      (e): e is Vanished => e instanceof Vanished,
      (e) =>
        Effect.fail(
          new StoreError({
            ...e.context,
            description: `${e.what}: its directory was removed ${VANISHED_RETRIES + 1} times while writing`
          })
        )
    )
  ) as Effect.Effect<A, Exclude<E, Vanished> | StoreError, R>

export const bothKinds = (ctx: Context, cause?: unknown) =>
  new NotSupported({
    ...ctx,
    description: "the local filesystem cannot hold an object and objects below it (\"a\" and \"a/b\") at once",
    cause
  })
