// The store's root directory and the containment rule: a key names `root/key`, and whatever symbolic links lie on
// the way, the real path it resolves to must stay inside the (real) root, or the operation fails with
// `PermissionDenied`. Resolving where a write lands (creating directories) is in target.ts.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { BigIntStats } from "node:fs"
import * as fsp from "node:fs/promises"
import type * as NodePath from "node:path"
import * as ObjectPath from "../../ObjectPath.js"
import { NotFound, PermissionDenied } from "../../ObjectStoreError.js"
import type { InvalidPath, StoreError } from "../../ObjectStoreError.js"
import { attempt, type Context, Gone, goneIfMissing, ignoring } from "./errors.js"
import { CHECKED_BY_KERNEL, type Dir, openDirectory, statInside } from "./open.js"
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

export type Path = Pick<typeof NodePath, "sep" | "join" | "dirname" | "relative" | "resolve" | "isAbsolute">

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

/**
 * The path to open for an existing object: its real path, checked to lie inside the root, where handles are not
 * checked by the kernel's name for them; else its path below the root, which every open checks.
 */
export const resolveObject = (
  root: Root,
  ctx: Context,
  key: string
): Effect.Effect<string, NotFound | PermissionDenied | StoreError> => {
  const file = root.fullPath(key)
  // Opened by this name and then checked where it is: resolving it first would add nothing.
  if (CHECKED_BY_KERNEL) return Effect.succeed(file)
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

/** The stats of an object's file, opened and checked inside the root; a directory or special file is no object. */
export const statFile = (
  root: Root,
  ctx: Context,
  file: string
): Effect.Effect<BigIntStats, NotFound | PermissionDenied | StoreError> =>
  statInside(root, ctx, file, (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined)

/**
 * The directory of the entry named by `key`, held open and checked inside the root (see `locate`), or undefined
 * when the directory does not exist.
 */
export const holdParent = (
  root: Root,
  ctx: Context,
  key: string
): Effect.Effect<Dir | undefined, PermissionDenied | StoreError, Scope.Scope> =>
  Effect.flatMap(
    locate(root, ctx, key),
    (file): Effect.Effect<Dir | undefined, PermissionDenied | StoreError, Scope.Scope> => {
      if (file === undefined) return Effect.succeed(undefined)
      // Removed since it was resolved: as if it had never been there.
      return openDirectory(root, ctx, root.path.dirname(file), goneIfMissing)
        .pipe(Effect.catchIf((e): e is Gone => e instanceof Gone, () => Effect.succeed(undefined)))
    }
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
