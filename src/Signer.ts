/**
 * Presigned URLs. Only stores that can sign provide this service, so signing a memory store is a type error.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { InvalidConfig, InvalidPath, StoreError, Unauthenticated } from "./ObjectStoreError.js"

/**
 * @since 0.1.0
 * @category models
 */
export type SignMethod = "GET" | "PUT" | "HEAD" | "DELETE"

/**
 * @since 0.1.0
 * @category errors
 */
export type SignError = InvalidPath | InvalidConfig | Unauthenticated | StoreError

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace Signer {
  /**
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /**
     * A URL that grants `method` on `path` to whoever holds it, until `expiresIn` has passed (at most 7 days on
     * S3). The signing time comes from Effect's `Clock`.
     */
    readonly sign: {
      (method: SignMethod, path: string, expiresIn: Duration.DurationInput): Effect.Effect<URL, SignError>
      (
        method: SignMethod,
        paths: ReadonlyArray<string>,
        expiresIn: Duration.DurationInput
      ): Effect.Effect<ReadonlyArray<URL>, SignError>
    }
  }
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Signer extends Context.Tag("effect-obstore/Signer")<Signer, Signer.Service>() {}

/**
 * Signs one path or many with the `Signer` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const sign: {
  (method: SignMethod, path: string, expiresIn: Duration.DurationInput): Effect.Effect<URL, SignError, Signer>
  (
    method: SignMethod,
    paths: ReadonlyArray<string>,
    expiresIn: Duration.DurationInput
  ): Effect.Effect<ReadonlyArray<URL>, SignError, Signer>
} =
  ((method: SignMethod, paths: string | ReadonlyArray<string>, expiresIn: Duration.DurationInput) =>
    Effect.flatMap(Signer, (signer) => signer.sign(method, paths as string, expiresIn))) as never
