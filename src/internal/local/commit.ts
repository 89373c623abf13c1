// Putting a finished temporary file in place, atomically, as the put mode says: a rename for "overwrite", a hard
// link for "create" (link fails if anything is at the target, even another process's object), and for
// `{ eTag }` a comparison and a rename under the path's lock.
import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import type * as ObjectStore from "../../ObjectStore.js"
import { AlreadyExists, NotSupported, PreconditionFailed } from "../../ObjectStoreError.js"
import type { PermissionDenied, StoreError } from "../../ObjectStoreError.js"
import { attempt, bothKinds, type Context, ignoring } from "./errors.js"
import { eTagOf } from "./eTag.js"
import type { Local } from "./state.js"
import type { Target } from "./target.js"
import type { Temp } from "./tempFile.js"

type Commit = Effect.Effect<void, AlreadyExists | PreconditionFailed | NotSupported | PermissionDenied | StoreError>

/** Replaces whatever is at `target`; marks the temporary file as gone once it is. */
const renameInto = (ctx: Context, temp: Temp, target: Target): Commit =>
  Effect.tap(
    attempt(
      ctx,
      `renaming ${temp.shown} to ${target.shown}`,
      () => fsp.rename(temp.file, target.file),
      (code, cause) => code === "EISDIR" || code === "ENOTEMPTY" ? bothKinds(ctx, cause) : undefined
    ),
    () => {
      temp.renamed = true
    }
  )

/** Links the temporary file at `target` unless something is there (the temporary name is removed with its scope). */
const linkExclusive = (ctx: Context, temp: Temp, target: Target): Commit =>
  attempt(
    ctx,
    `linking ${temp.shown} to ${target.shown}`,
    () => fsp.link(temp.file, target.file),
    (code, cause) =>
      code === "EEXIST"
        ? new AlreadyExists(ctx)
        : code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS"
        ? new NotSupported({
          ...ctx,
          description: "this filesystem has no hard links, which an exclusive create needs",
          cause
        })
        : undefined
  )

/** Renames into place if the object at `target` still has the ETag `expected` (any ETag when undefined). */
const renameIfMatch = (ctx: Context, temp: Temp, target: Target, expected: string | undefined): Commit =>
  Effect.flatMap(
    attempt(
      ctx,
      `stat of ${target.shown}`,
      () => ignoring(["ENOENT", "ENOTDIR"], fsp.stat(target.file, { bigint: true }), undefined)
    ),
    (stats): Commit => {
      if (stats === undefined || !stats.isFile()) {
        return Effect.fail(
          new PreconditionFailed({ ...ctx, description: "the object to update does not exist" })
        )
      }
      const actual = eTagOf(stats)
      if (expected !== undefined && expected !== actual) {
        return Effect.fail(
          new PreconditionFailed({ ...ctx, description: `expected ETag ${expected}, the object has ${actual}` })
        )
      }
      return renameInto(ctx, temp, target)
    }
  )

/** Puts the finished temporary file in place, as `mode` says, without taking the path's lock (see `commit`). */
export const place = (ctx: Context, temp: Temp, target: Target, mode: ObjectStore.PutMode): Commit =>
  mode === "overwrite"
    ? renameInto(ctx, temp, target)
    : mode === "create"
    ? linkExclusive(ctx, temp, target)
    : renameIfMatch(ctx, temp, target, mode.eTag)

/** Puts the finished temporary file in place, as `mode` says, under the lock of `key`. */
export const commit = (
  local: Local,
  ctx: Context,
  key: string,
  temp: Temp,
  target: Target,
  mode: ObjectStore.PutMode
): Commit =>
  // Once the lock is held the commit runs to its end: an interrupt either comes before it or after it.
  local.locked(key)(Effect.uninterruptible(place(ctx, temp, target, mode)))
