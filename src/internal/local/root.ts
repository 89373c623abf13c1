// The store's root directory and the containment rule: a key names `root/key`, and whatever symbolic links lie on
// the way, the real path it resolves to must stay inside the (real) root, or the operation fails with
// `PermissionDenied`. Resolving where a write lands (creating directories) is in target.ts.
import * as Effect from "effect/Effect"
import type { BigIntStats } from "node:fs"
import * as fsp from "node:fs/promises"
import type * as NodePath from "node:path"
import * as ObjectPath from "../../ObjectPath.js"
import { NotFound, PermissionDenied } from "../../ObjectStoreError.js"
import type { InvalidPath, StoreError } from "../../ObjectStoreError.js"
import { attempt, type Context, ignoring } from "./errors.js"
import { isReserved, reservedPath } from "./tempFile.js"

export interface Root {
  /** The real path of the root directory. */
  readonly root: string
  /** Node's `path` (the store does its I/O with node:fs, so it names paths the way Node does). */
  readonly path: Path
  /** Whether a real path is the root or lies below it. */
  readonly inside: (real: string) => boolean
  /** `root/key`, symbolic links not resolved (`root` itself for the empty key). */
  readonly fullPath: (key: string) => string
}

export type Path = Pick<typeof NodePath, "sep" | "join" | "dirname">

export const makeRoot = (root: string, path: Path): Root => {
  const rootPrefix = root.endsWith(path.sep) ? root : root + path.sep
  return {
    root,
    path,
    inside: (real) => real === root || real.startsWith(rootPrefix),
    fullPath: (key) => key === "" ? root : path.join(root, key)
  }
}

export const outside = (root: Root, ctx: Context, file: string) =>
  new PermissionDenied({ ...ctx, description: `${file} leads outside the store root ${root.root} by a symbolic link` })

/** The real path of `file`, or undefined when it (or a directory on the way) does not exist. */
export const realpathOrUndefined = (ctx: Context, file: string) =>
  attempt(
    ctx,
    `resolving ${file}`,
    () => ignoring(["ENOENT", "ENOTDIR"], fsp.realpath(file), undefined)
  )

/** The real path of an existing object, checked to lie inside the root. */
export const resolveObject = (
  root: Root,
  ctx: Context,
  key: string
): Effect.Effect<string, NotFound | PermissionDenied | StoreError> => {
  const file = root.fullPath(key)
  return Effect.flatMap(
    attempt(
      ctx,
      `resolving ${file}`,
      () => fsp.realpath(file),
      (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined
    ),
    (real) => root.inside(real) ? Effect.succeed(real) : Effect.fail(outside(root, ctx, file))
  )
}

/**
 * Where the entry named by `key` is, with its directory resolved but not the entry itself (so that a symbolic link
 * there is the thing renamed or removed, not its target), or undefined when the directory does not exist.
 */
export const locate = (
  root: Root,
  ctx: Context,
  key: string
): Effect.Effect<string | undefined, PermissionDenied | StoreError> => {
  const logicalDir = root.path.dirname(root.fullPath(key))
  return Effect.flatMap(realpathOrUndefined(ctx, logicalDir), (dir) => {
    if (dir === undefined) return Effect.succeed(undefined)
    if (!root.inside(dir)) return Effect.fail(outside(root, ctx, logicalDir))
    return Effect.succeed(root.path.join(dir, ObjectPath.filename(key)))
  })
}

/** The stats of an object's file; a directory is no object. */
export const statFile = (
  ctx: Context,
  file: string
): Effect.Effect<BigIntStats, NotFound | PermissionDenied | StoreError> =>
  Effect.flatMap(
    attempt(
      ctx,
      `stat of ${file}`,
      () => fsp.stat(file, { bigint: true }),
      (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined
    ),
    (stats) =>
      stats.isFile()
        ? Effect.succeed(stats)
        : Effect.fail(new NotFound({ ...ctx, description: "the path is a directory, not an object" }))
  )

/** The real directory of a prefix, or undefined when there is none (an empty listing). */
export const prefixDirectory = (
  root: Root,
  ctx: Context,
  prefix: string
): Effect.Effect<string | undefined, InvalidPath | PermissionDenied | StoreError> => {
  if (prefix === "") return Effect.succeed<string | undefined>(root.root)
  if (isReserved(prefix)) return Effect.fail(reservedPath(ctx))
  const logical = root.fullPath(prefix)
  return Effect.flatMap(
    realpathOrUndefined(ctx, logical),
    (real) => real === undefined || root.inside(real) ? Effect.succeed(real) : Effect.fail(outside(root, ctx, logical))
  )
}
