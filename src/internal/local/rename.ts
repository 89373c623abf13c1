// rename: a rename(2) for overwrite, a hard link then an unlink for an exclusive rename, and copy then delete when
// the two paths are on different filesystems (a mount below the root). Both ends are named through directories
// held open and checked inside the root; a relative symbolic link is made anew, so that it still leads to its file.
import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import * as ObjectPath from "../../ObjectPath.js"
import { AlreadyExists, NotFound, StoreError } from "../../ObjectStoreError.js"
import type { CopyError, NotSupported, PermissionDenied } from "../../ObjectStoreError.js"
import { place } from "./commit.js"
import { copy } from "./copy.js"
import { del, removeEmptyParents } from "./delete.js"
import { attempt, bothKinds, type Context, context, ignoring, retryVanished, Vanished } from "./errors.js"
import { holdParent } from "./root.js"
import type { Local } from "./state.js"
import { prepareTarget, type Target } from "./target.js"
import { isReserved, reservedPath, reserveTemp } from "./tempFile.js"

const crossDevice: unique symbol = Symbol("crossDevice")

type Move = Effect.Effect<
  void | undefined | typeof crossDevice,
  NotFound | AlreadyExists | NotSupported | PermissionDenied | StoreError | Vanished
>

interface Source {
  /** Names the source through its held directory (what the calls use). */
  readonly file: string
  /** Its real path (for messages). */
  readonly shown: string
}

/** Moves `source` to `target` in one filesystem, or answers `crossDevice` when they are on different ones. */
const move = (ctx: Context, toCtx: Context, source: Source, target: Target, overwrite: boolean): Move => {
  const missing = (code: string | undefined) => code === "ENOENT" ? true : undefined
  // The source is still there: what vanished is the target's directory (another call's cleanup).
  const vanished = Effect.flatMap(
    attempt(ctx, `lstat of ${source.shown}`, () => ignoring(["ENOENT"], fsp.lstat(source.file), undefined)),
    (stats) =>
      Effect.fail(
        stats === undefined
          ? new NotFound({ ...ctx, description: "the source vanished during the rename" })
          : new Vanished(toCtx, `renaming to ${target.shown}`)
      )
  )
  if (overwrite) {
    return attempt(
      toCtx,
      `renaming ${source.shown} to ${target.shown}`,
      () => ignoring(["EXDEV"], fsp.rename(source.file, target.file), crossDevice),
      (code, cause) => code === "EISDIR" || code === "ENOTEMPTY" ? bothKinds(toCtx, cause) : missing(code)
    ).pipe(Effect.catchIf((e): e is true => e === true, () => vanished))
  }
  return Effect.flatMap(
    attempt(
      toCtx,
      `linking ${source.shown} to ${target.shown}`,
      () => ignoring(["EXDEV"], fsp.link(source.file, target.file), crossDevice),
      (code) => code === "EEXIST" ? new AlreadyExists(toCtx) : missing(code)
    ).pipe(Effect.catchIf((e): e is true => e === true, () => vanished)),
    (linked): Move =>
      linked === crossDevice ? Effect.succeed(linked) : attempt(
        ctx,
        `removing ${source.shown}`,
        () => ignoring(["ENOENT"], fsp.unlink(source.file), undefined)
      )
  )
}

/**
 * Moves a symbolic link whose target is relative: a new link at `target` to the same file, its target made
 * relative to its new directory, then the old link removed. Moved as it is, it would lead somewhere else.
 */
const relink = (
  local: Local,
  ctx: Context,
  toCtx: Context,
  to: string,
  source: Source,
  linked: string,
  target: Target,
  overwrite: boolean
) =>
  Effect.gen(function*() {
    const path = local.path
    const text = path.relative(target.dir.dir, path.resolve(path.dirname(source.shown), linked))
    const temp = yield* reserveTemp(target.dir, to)
    yield* attempt(
      toCtx,
      `creating a link at ${temp.shown}`,
      () => fsp.symlink(text === "" ? "." : text, temp.file),
      (code) => code === "ENOENT" ? new Vanished(toCtx, `linking to ${target.shown}`) : undefined
    )
    // The caller holds the lock of `to`.
    yield* Effect.catchTag(
      place(toCtx, temp, target, overwrite ? "overwrite" : "create"),
      "PreconditionFailed",
      (e) => Effect.fail(new StoreError({ ...toCtx, description: e.message, cause: e }))
    )
    yield* attempt(ctx, `removing ${source.shown}`, () => ignoring(["ENOENT"], fsp.unlink(source.file), undefined))
  })

/** The source's entry (held through its checked directory) and its lstat, or NotFound. */
const holdSource = (local: Local, ctx: Context, from: string) =>
  Effect.gen(function*() {
    const dir = yield* holdParent(local, ctx, from)
    if (dir === undefined) return yield* Effect.fail(new NotFound(ctx))
    const name = ObjectPath.filename(from)
    const source: Source = { file: dir.at(name), shown: dir.shown(name) }
    const stats = yield* attempt(
      ctx,
      `lstat of ${source.shown}`,
      () => fsp.lstat(source.file),
      (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined
    )
    if (stats.isDirectory()) {
      return yield* Effect.fail(new NotFound({ ...ctx, description: "the path is a directory, not an object" }))
    }
    if (!stats.isFile() && !stats.isSymbolicLink()) {
      return yield* Effect.fail(
        new NotFound({ ...ctx, description: "the path is a special file (FIFO, socket or device), not an object" })
      )
    }
    const linked = stats.isSymbolicLink()
      ? yield* attempt(ctx, `reading the link ${source.shown}`, () => fsp.readlink(source.file))
      : undefined
    // An absolute link leads to the same file from anywhere: it moves as it is.
    return { source, relative: linked !== undefined && !local.path.isAbsolute(linked) ? linked : undefined }
  })

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
  return Effect.scoped(Effect.gen(function*() {
    const { relative, source } = yield* holdSource(local, ctx, from)
    // Prepared again when another call's cleanup removes the target's directory before the move.
    const moved = yield* retryVanished(Effect.gen(function*() {
      const target = yield* prepareTarget(local, toCtx, to)
      return yield* local.locked(to)(
        Effect.uninterruptible(
          relative !== undefined
            ? relink(local, ctx, toCtx, to, source, relative, target, options.overwrite)
            : move(ctx, toCtx, source, target, options.overwrite)
        )
      )
    }))
    if (moved === crossDevice) {
      // The two paths are on different filesystems (a mount below the root): copy, then delete.
      yield* copy(local, from, to, options)
      yield* del(local, from)
      return
    }
    yield* removeEmptyParents(local, from)
  }))
}
