/**
 * Writers to stored objects, like obstore's `open_writer`: `write` bytes as they are produced, with back-pressure
 * (a write waits while the upload is behind) and bounded memory (the queue of `queueSize` chunks plus the parts in
 * flight), uploaded in parts where the store has multipart. The object is committed when the writer's scope closes
 * successfully and aborted when it fails or is interrupted: nothing becomes visible and no parts are left.
 *
 * ```ts
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const writer = yield* ObjectWriter.openWriter("logs/today.txt", { attributes: { contentType: "text/plain" } })
 *   yield* writer.write("first line\n")
 *   yield* writer.write("second line\n")
 * })) // committed here
 * ```
 *
 * A write hands its buffer to the upload without copying it: do not change a buffer after writing it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/io/writer.js"
import type { PutOptions, PutResult } from "./ObjectStore.js"
import { ObjectStore } from "./ObjectStore.js"
import type { InvalidConfig, PutError } from "./ObjectStoreError.js"

/**
 * The options of `put` (mode, attributes, tags, multipart), and the writer's queue.
 *
 * @since 0.1.0
 * @category options
 */
export interface WriterOptions extends PutOptions {
  /** Written chunks held before `write` waits for the upload to take one; default 4. */
  readonly queueSize?: number | undefined
}

/**
 * An open writer. Use it from one fiber at a time.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectWriter {
  /** Appends bytes (a string is written as UTF-8); waits while the upload is behind; fails if the upload failed. */
  readonly write: (bytes: Uint8Array | string) => Effect.Effect<void, PutError>
  /** The bytes written so far. */
  readonly written: Effect.Effect<number>
  /**
   * Commits now and returns the put's result, with its typed errors. Without it the object is committed when the
   * scope closes successfully, and a failure to commit there is a defect (a finalizer has no error channel).
   */
  readonly close: Effect.Effect<PutResult, PutError>
  /** Drops what was written: nothing becomes visible, no parts are left, and the scope's close commits nothing. */
  readonly abort: Effect.Effect<void>
}

/**
 * Opens a writer to an object of the given store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const open: (
  store: ObjectStore.Service,
  path: string,
  options?: WriterOptions
) => Effect.Effect<ObjectWriter, InvalidConfig, Scope.Scope> = internal.open

/**
 * Opens a writer to an object of the `ObjectStore` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const openWriter = (
  path: string,
  options?: WriterOptions
): Effect.Effect<ObjectWriter, InvalidConfig, ObjectStore | Scope.Scope> =>
  Effect.flatMap(ObjectStore, (store) => internal.open(store, path, options))

/**
 * Runs `use` with a writer and commits when it succeeds, with the commit's errors typed: the result of `use` and
 * the put's result. When `use` fails or is interrupted, the upload is aborted.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withWriter = <A, E, R>(
  path: string,
  use: (writer: ObjectWriter) => Effect.Effect<A, E, R>,
  options?: WriterOptions
): Effect.Effect<readonly [A, PutResult], E | PutError, ObjectStore | Exclude<R, Scope.Scope>> =>
  Effect.scoped(
    Effect.flatMap(openWriter(path, options), (writer) =>
      Effect.flatMap(use(writer), (a) => Effect.map(writer.close, (result) => [a, result] as const)))
  )
