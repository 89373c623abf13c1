// The entries of one directory as list sees them: files and directories that can be objects or hold them,
// symbolic links resolved (and checked to stay inside the root), sorted so that a depth-first walk yields keys
// in lexicographic order.
import * as Effect from "effect/Effect"
import * as fsp from "node:fs/promises"
import * as ObjectPath from "../../ObjectPath.js"
import type { ObjectMeta } from "../../ObjectStore.js"
import { PermissionDenied } from "../../ObjectStoreError.js"
import type { StoreError } from "../../ObjectStoreError.js"
import { attempt, type Context, Gone, goneIfMissing, ignoring } from "./errors.js"
import { metaOf } from "./eTag.js"
import { openDirectory } from "./open.js"
import { realpathOrUndefined, type Root } from "./root.js"
import { TEMP_SUFFIX } from "./tempFile.js"

// C0 controls and DEL: a file with one in its name has no valid object path, so list leaves it out.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

/** How many stats (or link resolutions) run at once. */
export const STAT_CONCURRENCY = 32

export interface Entry {
  readonly name: string
  /** Directories sort as `name/`, so that a depth-first walk yields keys in lexicographic order. */
  readonly sortKey: string
  readonly kind: "file" | "directory"
  /** The path to stat or read (resolved for symbolic links). */
  readonly file: string
  readonly linked: boolean
}

const compareKeys = (a: Entry, b: Entry) => a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0

/** A symbolic link as an entry: its target if that is a file or directory inside the root, undefined if dangling. */
const resolveLink = (
  root: Root,
  ctx: Context,
  dir: string,
  key: string,
  name: string
): Effect.Effect<Entry | undefined, PermissionDenied | StoreError> =>
  Effect.gen(function*() {
    const file = root.path.join(dir, name)
    const real = yield* realpathOrUndefined(ctx, file)
    if (real === undefined) return undefined
    if (!root.inside(real)) {
      return yield* Effect.fail(
        new PermissionDenied({
          ...ctx,
          path: ObjectPath.join(key, name),
          description: `${file} leads outside the store root ${root.root} by a symbolic link`
        })
      )
    }
    const stats = yield* attempt(
      ctx,
      `stat of ${real}`,
      () => ignoring(["ENOENT"], fsp.stat(real), undefined)
    )
    if (stats === undefined) return undefined
    if (stats.isFile()) return { name, sortKey: name, kind: "file", file: real, linked: true } as const
    if (stats.isDirectory()) {
      return { name, sortKey: name + "/", kind: "directory", file: real, linked: true } as const
    }
    return undefined
  })

/** The entries of a directory that can be objects or hold them, sorted for a lexicographic walk. */
export const readEntries = (
  root: Root,
  ctx: Context,
  dir: string,
  key: string
): Effect.Effect<ReadonlyArray<Entry>, PermissionDenied | StoreError> =>
  Effect.gen(function*() {
    // Read through a handle checked inside the root: a directory swapped for a link out of it is refused.
    const dirents = yield* Effect.scoped(
      Effect.flatMap(
        openDirectory(root, ctx, dir, goneIfMissing),
        (held) =>
          attempt(
            ctx,
            `reading the directory ${dir}`,
            () => ignoring(["ENOENT", "ENOTDIR"], fsp.readdir(held.at("."), { withFileTypes: true }), [])
          )
      )
    ).pipe(Effect.catchIf((e): e is Gone => e instanceof Gone, () => Effect.succeed([])))
    const entries: Array<Entry> = []
    const links: Array<string> = []
    for (const dirent of dirents) {
      const name = dirent.name
      if (name.endsWith(TEMP_SUFFIX) || CONTROL.test(name)) continue
      const file = root.path.join(dir, name)
      if (dirent.isFile()) entries.push({ name, sortKey: name, kind: "file", file, linked: false })
      else if (dirent.isDirectory()) {
        entries.push({ name, sortKey: name + "/", kind: "directory", file, linked: false })
      } else if (dirent.isSymbolicLink()) links.push(name)
    }
    if (links.length > 0) {
      const resolved = yield* Effect.forEach(links, (name) => resolveLink(root, ctx, dir, key, name), {
        concurrency: STAT_CONCURRENCY
      })
      for (const entry of resolved) if (entry !== undefined) entries.push(entry)
    }
    return entries.sort(compareKeys)
  })

/** The metadata of a file entry, or undefined when it was deleted (or replaced by a directory) meanwhile. */
export const statEntry = (
  ctx: Context,
  entry: Entry,
  key: string
): Effect.Effect<ObjectMeta | undefined, PermissionDenied | StoreError> =>
  Effect.map(
    attempt(
      ctx,
      `stat of ${entry.file}`,
      () => ignoring(["ENOENT", "ENOTDIR"], fsp.stat(entry.file, { bigint: true }), undefined)
    ),
    // A file deleted while the listing runs is left out.
    (stats) => stats !== undefined && stats.isFile() ? metaOf(key, stats) : undefined
  )
