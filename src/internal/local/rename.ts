// rename: a rename(2) for overwrite, a hard link then an unlink for an exclusive rename, and copy then delete when
// the two paths are on different filesystems (a mount below the root).
import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import { AlreadyExists, NotFound } from "../../ObjectStoreError.js"
import type { CopyError, NotSupported, PermissionDenied, StoreError } from "../../ObjectStoreError.js"
import { copy } from "./copy.js"
import { del, removeEmptyParents } from "./delete.js"
import { attempt, bothKinds, type Context, context, ignoring } from "./errors.js"
import { locate } from "./root.js"
import type { Local } from "./state.js"
import { prepareTarget } from "./target.js"
import { isReserved, reservedPath } from "./tempFile.js"

const crossDevice: unique symbol = Symbol("crossDevice")

type Move = Effect.Effect<
  void | undefined | typeof crossDevice,
  NotFound | AlreadyExists | NotSupported | PermissionDenied | StoreError
>

/** Moves `source` to `target` in one filesystem, or answers `crossDevice` when they are on different ones. */
const move = (ctx: Context, toCtx: Context, source: string, target: string, overwrite: boolean): Move => {
  const vanished = (code: string | undefined) =>
    code === "ENOENT" ? new NotFound({ ...ctx, description: "the source vanished during the rename" }) : undefined
  if (overwrite) {
    return attempt(
      toCtx,
      `renaming ${source} to ${target}`,
      () => ignoring(["EXDEV"], fsp.rename(source, target), crossDevice),
      (code, cause) => code === "EISDIR" || code === "ENOTEMPTY" ? bothKinds(toCtx, cause) : vanished(code)
    )
  }
  return Effect.flatMap(
    attempt(
      toCtx,
      `linking ${source} to ${target}`,
      () => ignoring(["EXDEV"], fsp.link(source, target), crossDevice),
      (code) => code === "EEXIST" ? new AlreadyExists(toCtx) : vanished(code)
    ),
    (linked): Move =>
      linked === crossDevice ? Effect.succeed(linked) : attempt(
        ctx,
        `removing ${source}`,
        () => ignoring(["ENOENT"], fsp.unlink(source), undefined)
      )
  )
}

export const rename = (
  local: Local,
  from: string,
  to: string,
  options: { readonly overwrite: boolean }
): Effect.Effect<void, CopyError> => {
  const ctx = context("rename", from)
  const toCtx = context("rename", to)
  if (isReserved(from)) return Effect.fail(reservedPath(ctx))
  if (isReserved(to)) return Effect.fail(reservedPath(toCtx))
  return Effect.gen(function*() {
    const source = yield* locate(local, ctx, from)
    if (source === undefined) return yield* Effect.fail(new NotFound(ctx))
    const stats = yield* attempt(
      ctx,
      `lstat of ${source}`,
      () => fsp.lstat(source),
      (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined
    )
    if (stats.isDirectory()) {
      return yield* Effect.fail(new NotFound({ ...ctx, description: "the path is a directory, not an object" }))
    }
    const target = yield* prepareTarget(local, toCtx, to)
    const moved = yield* local.locked(to)(
      Effect.uninterruptible(move(ctx, toCtx, source, target.file, options.overwrite))
    )
    if (moved === crossDevice) {
      // The two paths are on different filesystems (a mount below the root): copy, then delete.
      yield* copy(local, from, to, options)
      yield* del(local, from)
      return
    }
    yield* removeEmptyParents(local, from)
  })
}
