// Where a write lands: the object's directory, held open and checked inside the root (created when missing, one
// directory at a time through checked handles), and the file name in it.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as fsp from "node:fs/promises"
import * as ObjectPath from "../../ObjectPath.js"
import { StoreError } from "../../ObjectStoreError.js"
import type { NotSupported, PermissionDenied } from "../../ObjectStoreError.js"
import { attempt, bothKinds, type Context, ignoring, Vanished } from "./errors.js"
import { type Dir, openDirectory } from "./open.js"
import { outside, realpathOrUndefined, type Root } from "./root.js"

export interface Target {
  /** The object's directory, held open and checked to lie inside the root. */
  readonly dir: Dir
  /** The object's file name. */
  readonly name: string
  /** Names the object through the held directory (what the calls use). */
  readonly file: string
  /** The object's real path (for messages). */
  readonly shown: string
}

type Prepared<A> = Effect.Effect<A, NotSupported | PermissionDenied | StoreError | Vanished, Scope.Scope>

/** The missing tail of `dir` below its nearest existing ancestor, and that ancestor's real path. */
const nearestExisting = (
  root: Root,
  ctx: Context,
  dir: string
): Effect.Effect<
  { readonly real: string; readonly missing: ReadonlyArray<string> },
  NotSupported | PermissionDenied | StoreError
> =>
  Effect.gen(function*() {
    const missing: Array<string> = []
    let current = dir
    while (true) {
      const real = yield* attempt(
        ctx,
        `resolving ${current}`,
        () => ignoring(["ENOENT"], fsp.realpath(current), undefined),
        (code, cause) => code === "ENOTDIR" ? bothKinds(ctx, cause) : undefined
      )
      if (real !== undefined) {
        if (!root.inside(real)) return yield* Effect.fail(outside(root, ctx, current))
        return { real, missing }
      }
      const parent = root.path.dirname(current)
      if (parent === current) return yield* Effect.fail(new StoreError({ ...ctx, description: `${dir} has no root` }))
      missing.unshift(root.path.relative(parent, current))
      current = parent
    }
  })

/**
 * Opens the directory `dir` (a path below the root), creating what is missing one directory at a time, each
 * made in and opened through its checked parent: nothing is created by a name that could lead elsewhere.
 */
const holdDirectory = (root: Root, ctx: Context, dir: string): Prepared<Dir> =>
  Effect.gen(function*() {
    const { missing, real } = yield* nearestExisting(root, ctx, dir)
    // Removed by another call's cleanup after it was resolved: the write starts over.
    const vanished = (what: string) => (code: string | undefined) =>
      code === "ENOENT" ? new Vanished(ctx, what) : undefined
    let held = yield* openDirectory(root, ctx, real, (code, cause) =>
      code === "ENOTDIR" ? bothKinds(ctx, cause) : vanished(real)(code))
    for (const name of missing) {
      const shown = held.shown(name)
      yield* attempt(
        ctx,
        `creating the directory ${shown}`,
        () =>
          ignoring(["EEXIST"], fsp.mkdir(held.at(name)), undefined),
        (code, cause) =>
          code === "ENOTDIR" ? bothKinds(ctx, cause) : vanished(shown)(code)
      )
      held = yield* openDirectory(root, ctx, held.at(name), (code, cause) =>
        code === "ENOTDIR" ? bothKinds(ctx, cause) : vanished(shown)(code), shown)
    }
    return held
  })

/**
 * Where an object will be written: its directory (created if missing), held open inside the root. A symbolic link
 * at the object's own path that leads outside the root is refused; a directory there cannot become an object.
 * Fails with `Vanished` when another call's cleanup removes the directory meanwhile (see `retryVanished`).
 */
export const prepareTarget = (root: Root, ctx: Context, key: string): Prepared<Target> =>
  Effect.gen(function*() {
    const dir = yield* holdDirectory(root, ctx, root.path.dirname(root.fullPath(key)))
    const name = ObjectPath.filename(key)
    const file = dir.at(name)
    const shown = dir.shown(name)
    const stats = yield* attempt(
      ctx,
      `lstat of ${shown}`,
      () => ignoring(["ENOENT"], fsp.lstat(file), undefined),
      // The "directory" of the object is a file: an object already has the path of one of its parents.
      (code, cause) => code === "ENOTDIR" ? bothKinds(ctx, cause) : undefined
    )
    if (stats !== undefined) {
      if (stats.isDirectory()) return yield* Effect.fail(bothKinds(ctx))
      if (stats.isSymbolicLink()) {
        const real = yield* realpathOrUndefined(ctx, file)
        if (real !== undefined && !root.inside(real)) return yield* Effect.fail(outside(root, ctx, shown))
      }
    }
    return { dir, name, file, shown }
  })
