// delete, and automaticCleanup: the directories a delete or rename leaves empty are removed up to the root.
import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import * as ObjectPath from "../../ObjectPath.js"
import type { DeleteError } from "../../ObjectStoreError.js"
import { attempt, context, ignoring } from "./errors.js"
import { holdParent } from "./root.js"
import type { Local } from "./state.js"
import { isReserved, reservedPath } from "./tempFile.js"

/** Removes the empty directory `key` through its checked parent; false when it is not there or not empty. */
const removeEmptyDirectory = (local: Local, key: string): Effect.Effect<boolean> =>
  Effect.scoped(
    Effect.flatMap(holdParent(local, context("delete", key), key), (dir) =>
      dir === undefined ? Effect.succeed(false) : Effect.promise(() =>
        // rmdir fails on a non-empty directory and never follows a symbolic link: the walk stops there.
        fsp.rmdir(dir.at(ObjectPath.filename(key))).then(() =>
          true, () => false)
      ))
  ).pipe(Effect.orElseSucceed(() =>
    false
  ))

/** With automaticCleanup, removes the directories above `key` that are empty, deepest first, below the root. */
export const removeEmptyParents = (local: Local, key: string): Effect.Effect<void> =>
  local.automaticCleanup
    ? Effect.gen(function*() {
      const segments = ObjectPath.segments(key)
      for (let i = segments.length - 1; i > 0; i--) {
        if (!(yield* removeEmptyDirectory(local, segments.slice(0, i).join(ObjectPath.DELIMITER)))) return
      }
    })
    : Effect.void

export const del = (local: Local, key: string): Effect.Effect<void, DeleteError> => {
  const ctx = context("delete", key)
  if (isReserved(key)) return Effect.fail(reservedPath(ctx))
  return Effect.gen(function*() {
    const removed = yield* Effect.scoped(Effect.gen(function*() {
      const dir = yield* holdParent(local, ctx, key)
      if (dir === undefined) return false
      const name = ObjectPath.filename(key)
      // A missing object, or a directory at its path (no object), is already deleted.
      yield* local.locked(key)(
        attempt(
          ctx,
          `removing ${dir.shown(name)}`,
          () => ignoring(["ENOENT", "ENOTDIR", "EISDIR"], fsp.unlink(dir.at(name)), undefined)
        )
      )
      return true
    }))
    if (removed) yield* removeEmptyParents(local, key)
  })
}
