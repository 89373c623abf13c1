// The one place LocalStore opens a file or directory below its root. A path checked with realpath can be swapped
// (a directory replaced by a symbolic link out of the root) before it is opened by name, so nothing is trusted by
// name: every handle is checked after it is open, by where the kernel says it is (`/proc/self/fd/N`), and writes
// name their files through a checked directory handle (`/proc/self/fd/D/name` resolves to that very directory,
// as openat(2) would). Reads open with O_NONBLOCK, so a FIFO or device answers at once and is refused.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type BigIntStats, closeSync, constants, existsSync, fstat, open, readlinkSync } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import * as fsp from "node:fs/promises"
import { promisify } from "node:util"
import { NotFound, PermissionDenied } from "../../ObjectStoreError.js"
import type { StoreError } from "../../ObjectStoreError.js"
import { attempt, type Context } from "./errors.js"

/** What the checks need of the root (root.ts imports this module, so it is named structurally here). */
export interface Bounds {
  readonly root: string
  readonly inside: (real: string) => boolean
  readonly path: { readonly join: (...parts: Array<string>) => string }
}

/** Linux names every open file in /proc/self/fd. Elsewhere handles are checked by re-resolving (best effort). */
const PROC = existsSync("/proc/self/fd")

const procPath = (handle: FileHandle) => `/proc/self/fd/${handle.fd}`

// O_NONBLOCK: opening a FIFO without a writer, or a device, must not park a libuv thread. O_NOCTTY: never a
// controlling terminal.
const READ = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY
const DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

export const closeQuietly = (handle: FileHandle): Effect.Effect<void> =>
  Effect.promise(() => handle.close().catch(() => undefined))

const DELETED = " (deleted)"

/**
 * Where the open descriptor `fd` is, as the kernel names it; `fallback` re-resolved where there is no /proc. The
 * readlink is synchronous: procfs answers from memory, and a trip through libuv's pool cost ten times as much.
 */
const whereIs = async (fd: number, fallback: string): Promise<string> => {
  if (!PROC) return fsp.realpath(fallback)
  const where = readlinkSync(`/proc/self/fd/${fd}`)
  return where.endsWith(DELETED) ? where.slice(0, -DELETED.length) : where
}

const outside = (bounds: Bounds, ctx: Context, file: string) =>
  new PermissionDenied({
    ...ctx,
    description: `${file} leads outside the store root ${bounds.root} by a symbolic link`
  })

/** Fails unless `handle` lies inside the root (its scope closes it). */
const checkInside = (
  bounds: Bounds,
  ctx: Context,
  handle: FileHandle,
  file: string
): Effect.Effect<void, PermissionDenied | StoreError> =>
  Effect.flatMap(
    attempt(ctx, `locating ${file}`, () => whereIs(handle.fd, file)),
    (where) => bounds.inside(where) ? Effect.void : Effect.fail(outside(bounds, ctx, file))
  )

const notAnObject = (ctx: Context, stats: BigIntStats) =>
  new NotFound({
    ...ctx,
    description: stats.isDirectory()
      ? "the path is a directory, not an object"
      : "the path is a special file (FIFO, socket or device), not an object"
  })

/** Opens `file` for reading, in a scope, checked to be a regular file inside the root. */
export const openRead = <E>(
  bounds: Bounds,
  ctx: Context,
  file: string,
  on: (code: string | undefined, cause: unknown) => E | undefined
): Effect.Effect<
  { readonly handle: FileHandle; readonly stats: BigIntStats },
  E | NotFound | PermissionDenied | StoreError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const handle = yield* Effect.acquireRelease(
      attempt(ctx, `opening ${file}`, () => fsp.open(file, READ), on),
      closeQuietly
    )
    yield* checkInside(bounds, ctx, handle, file)
    const stats = yield* attempt(ctx, `stat of ${file}`, () => handle.stat({ bigint: true }))
    if (!stats.isFile()) return yield* Effect.fail(notAnObject(ctx, stats))
    return { handle, stats }
  })

/** Opens, checks, stats and closes `file` in one trip: raw descriptors, as a head must stay cheap. */
const statOpened = async (
  bounds: Bounds,
  file: string
): Promise<{ readonly outside: true } | { readonly outside: false; readonly stats: BigIntStats }> => {
  const fd = await promisify(open)(file, READ)
  try {
    if (!bounds.inside(await whereIs(fd, file))) return { outside: true }
    return { outside: false, stats: await promisify(fstat)(fd, { bigint: true }) }
  } finally {
    // A descriptor opened for reading has nothing to flush: closing it cannot block or fail in a way that matters.
    closeSync(fd)
  }
}

/** The stats of the regular file at `file`, checked inside the root (opened and closed at once). */
export const statInside = <E>(
  bounds: Bounds,
  ctx: Context,
  file: string,
  on: (code: string | undefined, cause: unknown) => E | undefined
): Effect.Effect<BigIntStats, E | NotFound | PermissionDenied | StoreError> =>
  Effect.flatMap(
    attempt(ctx, `opening ${file}`, () => statOpened(bounds, file), on),
    (result): Effect.Effect<BigIntStats, NotFound | PermissionDenied> =>
      result.outside
        ? Effect.fail(outside(bounds, ctx, file))
        : result.stats.isFile()
        ? Effect.succeed(result.stats)
        : Effect.fail(notAnObject(ctx, result.stats))
  )

/**
 * Whether every handle is checked by where the kernel says it is: then a path needs no resolving before it is
 * opened (the check after the open is what counts).
 */
export const CHECKED_BY_KERNEL = PROC

/** A path that names the open file itself (a copy's source), whatever is at its name now. */
export const handlePath = (handle: FileHandle, file: string): string => PROC ? procPath(handle) : file

/** A directory held open and checked to lie inside the root; `at(name)` names an entry of that very directory. */
export interface Dir {
  /** The directory's real path when it was checked (for messages). */
  readonly dir: string
  readonly at: (name: string) => string
  /** The entry's real path (for messages). */
  readonly shown: (name: string) => string
}

/**
 * Opens the directory at `file` (`shown` is its real path, for messages), in a scope, checked to lie inside the
 * root.
 */
export const openDirectory = <E = never>(
  bounds: Bounds,
  ctx: Context,
  file: string,
  on?: (code: string | undefined, cause: unknown) => E | undefined,
  shown: string = file
): Effect.Effect<Dir, E | PermissionDenied | StoreError, Scope.Scope> =>
  Effect.gen(function*() {
    const handle = yield* Effect.acquireRelease(
      attempt(ctx, `opening the directory ${shown}`, () => fsp.open(file, DIRECTORY), on),
      closeQuietly
    )
    yield* checkInside(bounds, ctx, handle, shown)
    const inDir = (name: string) => bounds.path.join(shown, name)
    return { dir: shown, at: PROC ? (name) => `${procPath(handle)}/${name}` : inDir, shown: inDir }
  })

/** Creates the file `file` (named through a held directory), which must not exist yet, and opens it for writing. */
export const createFile = (file: string): Promise<FileHandle> => fsp.open(file, CREATE, 0o666)
