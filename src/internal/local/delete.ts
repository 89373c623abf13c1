// delete, and automaticCleanup: the directories a delete or rename leaves empty are removed up to the root.
import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import * as ObjectPath from "../../ObjectPath.js"
import type { DeleteError } from "../../ObjectStoreError.js"
import { attempt, context, ignoring } from "./errors.js"
import { locate } from "./root.js"
import type { Local } from "./state.js"
import { isReserved, reservedPath } from "./tempFile.js"

/** With automaticCleanup, removes the directories above `key` that are empty, deepest first, below the root. */
export const removeEmptyParents = (local: Local, key: string): Effect.Effect<void> =>
  local.automaticCleanup
    ? Effect.promise(async () => {
      const segments = ObjectPath.segments(key)
      for (let i = segments.length - 1; i > 0; i--) {
        try {
          // rmdir fails on a non-empty directory and never follows a symbolic link: the walk stops there.
          await fsp.rmdir(local.fullPath(segments.slice(0, i).join(ObjectPath.DELIMITER)))
        } catch {
          return
        }
      }
    })
    : Effect.void

export const del = (local: Local, key: string): Effect.Effect<void, DeleteError> => {
  const ctx = context("delete", key)
  if (isReserved(key)) return Effect.fail(reservedPath(ctx))
  return Effect.gen(function*() {
    const file = yield* locate(local, ctx, key)
    if (file === undefined) return
    // A missing object, or a directory at its path (no object), is already deleted.
    yield* local.locked(key)(
      attempt(
        ctx,
        `removing ${file}`,
        () => ignoring(["ENOENT", "ENOTDIR", "EISDIR"], fsp.unlink(file), undefined)
      )
    )
    yield* removeEmptyParents(local, key)
  })
}
