// Where a write lands: the object's real directory inside the root (created when missing, after checking that
// creating it cannot reach outside the root) and the file name in it.
import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import * as ObjectPath from "../../ObjectPath.js"
import { StoreError } from "../../ObjectStoreError.js"
import type { NotSupported, PermissionDenied } from "../../ObjectStoreError.js"
import { accessFailure, attempt, bothKinds, type Context, errnoCode, ignoring } from "./errors.js"
import { outside, realpathOrUndefined, type Root } from "./root.js"

export interface Target {
  /** The real directory the object lives in. */
  readonly dir: string
  /** The real path of the object (its last segment is not resolved). */
  readonly file: string
}

/** Creates `dir` after checking that its nearest existing ancestor lies inside the root. */
const createDirectory = (
  root: Root,
  ctx: Context,
  dir: string
): Effect.Effect<void, NotSupported | PermissionDenied | StoreError> =>
  Effect.gen(function*() {
    let current = dir
    while (true) {
      const parent = root.path.dirname(current)
      const real = yield* attempt(
        ctx,
        `resolving ${parent}`,
        () => ignoring(["ENOENT"], fsp.realpath(parent), undefined),
        (code, cause) => code === "ENOTDIR" ? bothKinds(ctx, cause) : undefined
      )
      if (real !== undefined) {
        if (!root.inside(real)) return yield* Effect.fail(outside(root, ctx, parent))
        break
      }
      if (parent === current) break
      current = parent
    }
    yield* Effect.tryPromise({
      try: () => fsp.mkdir(dir, { recursive: true }),
      catch: (error) => {
        const code = errnoCode(error)
        return code === "ENOTDIR" || code === "EEXIST" ? bothKinds(ctx, error) : accessFailure(
          ctx,
          `creating the directory ${dir}`,
          error
        )
      }
    })
  })

/**
 * Where an object will be written: its real directory (created if missing) inside the root. A symbolic link at
 * the object's own path that leads outside the root is refused; a directory there cannot become an object.
 */
export const prepareTarget = (
  root: Root,
  ctx: Context,
  key: string
): Effect.Effect<Target, NotSupported | PermissionDenied | StoreError> =>
  Effect.gen(function*() {
    const logical = root.fullPath(key)
    const logicalDir = root.path.dirname(logical)
    const resolve = attempt(
      ctx,
      `resolving ${logicalDir}`,
      () => ignoring(["ENOENT"], fsp.realpath(logicalDir), undefined),
      (code, cause) => code === "ENOTDIR" ? bothKinds(ctx, cause) : undefined
    )
    let dir = yield* resolve
    if (dir === undefined) {
      yield* createDirectory(root, ctx, logicalDir)
      dir = yield* resolve
      if (dir === undefined) {
        return yield* Effect.fail(new StoreError({ ...ctx, description: `${logicalDir} vanished after creation` }))
      }
    }
    if (!root.inside(dir)) return yield* Effect.fail(outside(root, ctx, logicalDir))
    const file = root.path.join(dir, ObjectPath.filename(key))
    const stats = yield* attempt(
      ctx,
      `lstat of ${file}`,
      () => ignoring(["ENOENT"], fsp.lstat(file), undefined),
      // The "directory" of the object is a file: an object already has the path of one of its parents.
      (code, cause) => code === "ENOTDIR" ? bothKinds(ctx, cause) : undefined
    )
    if (stats !== undefined) {
      if (stats.isDirectory()) return yield* Effect.fail(bothKinds(ctx))
      if (stats.isSymbolicLink()) {
        const real = yield* realpathOrUndefined(ctx, file)
        if (real !== undefined && !root.inside(real)) return yield* Effect.fail(outside(root, ctx, file))
      }
    }
    return { dir, file }
  })
