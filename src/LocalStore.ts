/**
 * A store on the local filesystem: each object is a file below a root directory, its path the object's path.
 *
 * - Writes are atomic: a put writes a temporary file next to the target (`.<name>.<random>.obstore-tmp`, skipped by
 *   `list`; paths may not use that suffix) and renames it into place, so a reader never sees half an object and a
 *   failed or interrupted put leaves the old object and no temporary file behind.
 * - `mode: "create"` is exclusive even across processes (the temporary file is hard-linked to the target, which fails
 *   if anything is there). `mode: { eTag }` compares the ETag and renames under a per-path lock held in this process
 *   only: two processes updating the same object conditionally can both succeed.
 * - Paths never leave the root: a path whose directories or file resolve outside it through a symbolic link fails
 *   with `PermissionDenied`.
 * - ETags are `inode-mtimeNs-size` in hex; `lastModified` is the file's mtime. There are no versions.
 * - Attributes are not stored (a put with attributes fails with `NotSupported`); tags are accepted and ignored.
 * - The filesystem cannot hold an object `a` and an object `a/b` at once: such a put fails with `NotSupported`.
 * - Writes are not fsynced: after a crash of the machine (not of the process) a recent object may be lost.
 *
 * @since 0.1.0
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { BigIntStats } from "node:fs"
import { constants } from "node:fs"
import type { FileHandle } from "node:fs/promises"
import * as fsp from "node:fs/promises"
import * as local from "./internal/localFs.js"
import * as payloads from "./internal/payload.js"
import { checkPreconditions } from "./internal/preconditions.js"
import * as ObjectPath from "./ObjectPath.js"
import * as ObjectStore from "./ObjectStore.js"
import type { ListError } from "./ObjectStoreError.js"
import {
  AlreadyExists,
  InvalidConfig,
  InvalidPath,
  NotFound,
  NotSupported,
  PermissionDenied,
  PreconditionFailed,
  StoreError
} from "./ObjectStoreError.js"

const STORE = "LocalStore"

/**
 * The configuration of a `LocalStore`.
 *
 * @since 0.1.0
 * @category models
 */
export class LocalConfig extends Schema.Class<LocalConfig>("effect-obstore/LocalConfig")({
  /** The directory holding the objects. Relative paths are resolved against the working directory. */
  root: Schema.String.pipe(Schema.nonEmptyString({ message: () => "root must be a non-empty path" })),
  /** Create `root` (and its parents) if it does not exist. Default `false`. */
  mkdir: Schema.optional(Schema.Boolean),
  /** Remove the directories that deletes and renames leave empty, up to (not including) `root`. Default `false`. */
  automaticCleanup: Schema.optional(Schema.Boolean)
}) {}

/**
 * What `make` and `layer` take: a `LocalConfig` or a plain object with its fields.
 *
 * @since 0.1.0
 * @category models
 */
export type LocalOptions = typeof LocalConfig.Encoded

// C0 controls and DEL: a file with one in its name has no valid object path, so list leaves it out.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

const LOCK_STRIPES = 64
const STAT_CONCURRENCY = 32
const STAT_BATCH = 256

type Context = local.Context

interface Target {
  /** The real directory the object lives in. */
  readonly dir: string
  /** The real path of the object (its last segment is not resolved). */
  readonly file: string
}

interface Temp {
  readonly file: string
  renamed: boolean
}

interface Entry {
  readonly name: string
  /** Directories sort as `name/`, so that a depth-first walk yields keys in lexicographic order. */
  readonly sortKey: string
  readonly kind: "file" | "directory"
  /** The path to stat or read (resolved for symbolic links). */
  readonly file: string
  readonly linked: boolean
}

interface Frame {
  readonly dir: string
  readonly key: string
  entries: ReadonlyArray<Entry> | undefined
  index: number
}

const compareKeys = (a: Entry, b: Entry) => a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0

const hashKey = (key: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h >>> 0
}

const hasAttributes = (attributes: ObjectStore.Attributes | undefined): boolean =>
  attributes !== undefined &&
  Object.entries(attributes).some(([name, value]) =>
    value !== undefined && !(name === "metadata" && Object.keys(value as object).length === 0)
  )

const context = (method: string, path: string): Context => ({ store: STORE, method, path })

const reservedPath = (ctx: Context) =>
  new InvalidPath({
    ...ctx,
    description: `names ending in "${local.TEMP_SUFFIX}" are reserved for LocalStore's temporary files`
  })

const bothKinds = (ctx: Context, cause?: unknown) =>
  new NotSupported({
    ...ctx,
    description: "the local filesystem cannot hold an object and objects below it (\"a\" and \"a/b\") at once",
    cause
  })

const makeBackend = (
  root: string,
  path: Path.Path,
  fs: FileSystem.FileSystem,
  automaticCleanup: boolean
): ObjectStore.Backend => {
  const rootPrefix = root.endsWith(path.sep) ? root : root + path.sep
  const inside = (real: string) => real === root || real.startsWith(rootPrefix)
  const fullPath = (key: string) => key === "" ? root : path.join(root, key)

  const outside = (ctx: Context, file: string) =>
    new PermissionDenied({ ...ctx, description: `${file} leads outside the store root ${root} by a symbolic link` })

  const locks = Array.from({ length: LOCK_STRIPES }, () => Effect.unsafeMakeSemaphore(1))
  // In-process only: conditional updates and the commits they race with are serialised per path (by stripe).
  const locked = (key: string) => locks[hashKey(key) % LOCK_STRIPES].withPermits(1)

  const realpathOrUndefined = (ctx: Context, file: string) =>
    local.attempt(
      ctx,
      `resolving ${file}`,
      () => local.ignoring(["ENOENT", "ENOTDIR"], fsp.realpath(file), undefined)
    )

  /** The real path of an existing object, checked to lie inside the root. */
  const resolveObject = (ctx: Context, key: string) => {
    const file = fullPath(key)
    return Effect.flatMap(
      local.attempt(
        ctx,
        `resolving ${file}`,
        () => fsp.realpath(file),
        (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined
      ),
      (real) => inside(real) ? Effect.succeed(real) : Effect.fail(outside(ctx, file))
    )
  }

  const statFile = (ctx: Context, file: string) =>
    Effect.flatMap(
      local.attempt(
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

  /** Creates `dir` after checking that its nearest existing ancestor lies inside the root. */
  const createDirectory = (
    ctx: Context,
    dir: string
  ): Effect.Effect<void, NotSupported | PermissionDenied | StoreError> =>
    Effect.gen(function*() {
      let current = dir
      while (true) {
        const parent = path.dirname(current)
        const real = yield* local.attempt(
          ctx,
          `resolving ${parent}`,
          () => local.ignoring(["ENOENT"], fsp.realpath(parent), undefined),
          (code, cause) => code === "ENOTDIR" ? bothKinds(ctx, cause) : undefined
        )
        if (real !== undefined) {
          if (!inside(real)) return yield* Effect.fail(outside(ctx, parent))
          break
        }
        if (parent === current) break
        current = parent
      }
      yield* fs.makeDirectory(dir, { recursive: true }).pipe(
        Effect.mapError((error) => {
          const code = local.errnoCode(error)
          return code === "ENOTDIR" || code === "EEXIST" ? bothKinds(ctx, error) : local.accessFailure(
            ctx,
            `creating the directory ${dir}`,
            error
          )
        })
      )
    })

  /**
   * Where an object will be written: its real directory (created if missing) inside the root. A symbolic link at
   * the object's own path that leads outside the root is refused; a directory there cannot become an object.
   */
  const prepareTarget = (
    ctx: Context,
    key: string
  ): Effect.Effect<Target, NotSupported | PermissionDenied | StoreError> =>
    Effect.gen(function*() {
      const logical = fullPath(key)
      const logicalDir = path.dirname(logical)
      const resolve = local.attempt(
        ctx,
        `resolving ${logicalDir}`,
        () => local.ignoring(["ENOENT"], fsp.realpath(logicalDir), undefined),
        (code, cause) => code === "ENOTDIR" ? bothKinds(ctx, cause) : undefined
      )
      let dir = yield* resolve
      if (dir === undefined) {
        yield* createDirectory(ctx, logicalDir)
        dir = yield* resolve
        if (dir === undefined) {
          return yield* Effect.fail(new StoreError({ ...ctx, description: `${logicalDir} vanished after creation` }))
        }
      }
      if (!inside(dir)) return yield* Effect.fail(outside(ctx, logicalDir))
      const file = path.join(dir, ObjectPath.filename(key))
      const stats = yield* local.attempt(
        ctx,
        `lstat of ${file}`,
        () => local.ignoring(["ENOENT"], fsp.lstat(file), undefined),
        // The "directory" of the object is a file: an object already has the path of one of its parents.
        (code, cause) => code === "ENOTDIR" ? bothKinds(ctx, cause) : undefined
      )
      if (stats !== undefined) {
        if (stats.isDirectory()) return yield* Effect.fail(bothKinds(ctx))
        if (stats.isSymbolicLink()) {
          const real = yield* realpathOrUndefined(ctx, file)
          if (real !== undefined && !inside(real)) return yield* Effect.fail(outside(ctx, file))
        }
      }
      return { dir, file }
    })

  /** A temporary file name in `dir`, removed when the scope closes unless it was renamed into place. */
  const reserveTemp = (dir: string, key: string): Effect.Effect<Temp, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.sync((): Temp => ({ file: path.join(dir, local.tempName(ObjectPath.filename(key))), renamed: false })),
      (temp) => temp.renamed ? Effect.void : Effect.promise(() => fsp.unlink(temp.file).catch(() => undefined))
    )

  const openTemp = (
    ctx: Context,
    temp: Temp,
    dir: string
  ): Effect.Effect<FileHandle, PermissionDenied | StoreError, Scope.Scope> =>
    Effect.acquireRelease(
      local.attempt(ctx, `creating ${temp.file}`, async () => {
        try {
          return await fsp.open(temp.file, "wx")
        } catch (cause) {
          // A concurrent delete with automaticCleanup may have removed the (empty) directory meanwhile.
          if (local.errnoCode(cause) !== "ENOENT") throw cause
          await fsp.mkdir(dir, { recursive: true })
          return await fsp.open(temp.file, "wx")
        }
      }),
      (handle) => Effect.promise(() => handle.close().catch(() => undefined))
    )

  /** Puts the finished temporary file in place, as `mode` says. */
  const commit = (
    ctx: Context,
    key: string,
    temp: Temp,
    target: string,
    mode: ObjectStore.PutMode
  ): Effect.Effect<void, AlreadyExists | PreconditionFailed | NotSupported | PermissionDenied | StoreError> => {
    const rename = Effect.tap(
      local.attempt(
        ctx,
        `renaming ${temp.file} to ${target}`,
        () => fsp.rename(temp.file, target),
        (code, cause) => code === "EISDIR" || code === "ENOTEMPTY" ? bothKinds(ctx, cause) : undefined
      ),
      () => {
        temp.renamed = true
      }
    )
    type Commit = Effect.Effect<void, AlreadyExists | PreconditionFailed | NotSupported | PermissionDenied | StoreError>
    let effect: Commit
    if (mode === "overwrite") {
      effect = rename
    } else if (mode === "create") {
      effect = local.attempt(
        ctx,
        `linking ${temp.file} to ${target}`,
        () => fsp.link(temp.file, target),
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
    } else {
      const expected = mode.eTag
      effect = Effect.flatMap(
        local.attempt(
          ctx,
          `stat of ${target}`,
          () => local.ignoring(["ENOENT", "ENOTDIR"], fsp.stat(target, { bigint: true }), undefined)
        ),
        (stats): Commit => {
          if (stats === undefined || !stats.isFile()) {
            return Effect.fail(
              new PreconditionFailed({ ...ctx, description: "the object to update does not exist" })
            )
          }
          const actual = local.eTagOf(stats)
          if (expected !== undefined && expected !== actual) {
            return Effect.fail(
              new PreconditionFailed({ ...ctx, description: `expected ETag ${expected}, the object has ${actual}` })
            )
          }
          return rename
        }
      )
    }
    // Once the lock is held the commit runs to its end: an interrupt either comes before it or after it.
    return locked(key)(Effect.uninterruptible(effect))
  }

  const removeEmptyParents = (key: string): Effect.Effect<void> =>
    automaticCleanup
      ? Effect.promise(async () => {
        const segments = ObjectPath.segments(key)
        for (let i = segments.length - 1; i > 0; i--) {
          try {
            // rmdir fails on a non-empty directory and never follows a symbolic link: the walk stops there.
            await fsp.rmdir(fullPath(segments.slice(0, i).join(ObjectPath.DELIMITER)))
          } catch {
            return
          }
        }
      })
      : Effect.void

  // -------------------------------------------------------------------------------------------------------------
  // reads
  // -------------------------------------------------------------------------------------------------------------

  const get: ObjectStore.Backend["get"] = (key, options) => {
    const ctx = context("get", key)
    if (options.version !== undefined) {
      return Effect.fail(new NotSupported({ ...ctx, description: "LocalStore keeps no versions" }))
    }
    if (local.isReserved(key)) return Effect.fail(reservedPath(ctx))
    return Effect.gen(function*() {
      const real = yield* resolveObject(ctx, key)
      const stats = yield* statFile(ctx, real)
      const meta = local.metaOf(key, stats)
      const failed = checkPreconditions(meta, options, ctx)
      if (failed !== undefined) return yield* Effect.fail(failed)
      let range: ObjectStore.ResolvedRange = { start: 0, end: meta.size }
      if (options.range !== undefined) {
        const resolved = ObjectStore.resolveRange(options.range, meta.size, ctx)
        if (Either.isLeft(resolved)) return yield* Effect.fail(resolved.left)
        range = resolved.right
      }
      if (options.head === true) {
        return ObjectStore.makeGetResult({
          meta,
          range,
          stream: Stream.empty,
          bytes: Effect.succeed(new Uint8Array(0))
        })
      }
      // The file is opened only when the body is read, and checked to be the one `meta` describes.
      const eTag = local.eTagOf(stats)
      const open = local.openChecked(ctx, real, eTag)
      return ObjectStore.makeGetResult({
        meta,
        range,
        stream: Stream.unwrapScoped(Effect.map(open, (handle) => local.rangeStream(ctx, handle, range))),
        bytes: Effect.scoped(Effect.flatMap(open, (handle) => local.readRange(ctx, handle, range)))
      })
    })
  }

  const getRange: ObjectStore.Backend["getRange"] = (key, range) => {
    const ctx = context("getRange", key)
    if (local.isReserved(key)) return Effect.fail(reservedPath(ctx))
    return Effect.scoped(Effect.gen(function*() {
      const real = yield* resolveObject(ctx, key)
      const handle = yield* Effect.acquireRelease(
        local.attempt(
          ctx,
          `opening ${real}`,
          () => fsp.open(real, "r"),
          (code) => code === "ENOENT" ? new NotFound(ctx) : undefined
        ),
        (handle) => Effect.promise(() => handle.close().catch(() => undefined))
      )
      const stats = yield* local.attempt(ctx, `stat of ${real}`, () => handle.stat({ bigint: true }))
      if (!stats.isFile()) {
        return yield* Effect.fail(new NotFound({ ...ctx, description: "the path is a directory, not an object" }))
      }
      const resolved = ObjectStore.resolveRange(range, Number(stats.size), ctx)
      if (Either.isLeft(resolved)) return yield* Effect.fail(resolved.left)
      return yield* local.readRange(ctx, handle, resolved.right)
    }))
  }

  const head: ObjectStore.Backend["head"] = (key) => {
    const ctx = context("head", key)
    if (local.isReserved(key)) return Effect.fail(reservedPath(ctx))
    return resolveObject(ctx, key).pipe(
      Effect.flatMap((real) => statFile(ctx, real)),
      Effect.map((stats) => local.metaOf(key, stats))
    )
  }

  // -------------------------------------------------------------------------------------------------------------
  // writes
  // -------------------------------------------------------------------------------------------------------------

  const put: ObjectStore.Backend["put"] = <E>(
    key: string,
    payload: ObjectStore.PutPayload<E>,
    options: ObjectStore.PutOptions
  ) => {
    const ctx = context("put", key)
    const mode = options.mode ?? "overwrite"
    if (typeof mode === "object" && mode.version !== undefined) {
      return Effect.fail(
        new NotSupported({ ...ctx, description: "LocalStore keeps no versions; update by eTag instead" })
      )
    }
    if (hasAttributes(options.attributes)) {
      return Effect.fail(
        new NotSupported({
          ...ctx,
          description: "LocalStore does not store attributes: the local filesystem has no place for them"
        })
      )
    }
    if (local.isReserved(key)) return Effect.fail(reservedPath(ctx))
    return Effect.scoped(Effect.gen(function*() {
      const target = yield* prepareTarget(ctx, key)
      const temp = yield* reserveTemp(target.dir, key)
      const handle = yield* openTemp(ctx, temp, target.dir)
      const writer = local.makeWriter(ctx, handle)
      const chunks = payloads.inMemory(payload)
      if (chunks !== undefined) {
        yield* writer.push(chunks)
      } else {
        yield* Stream.runForEachChunk(ObjectStore.payloadStream(payload, ctx), (chunk) => writer.push(chunk))
      }
      yield* writer.flush
      const stats: BigIntStats = yield* local.attempt(
        ctx,
        "stat of the temporary file",
        () => handle.stat({ bigint: true })
      )
      // Closing reports late write errors (NFS); the scope's close of an already closed handle is a no-op.
      yield* local.attempt(ctx, "closing the temporary file", () => handle.close())
      yield* commit(ctx, key, temp, target.file, mode)
      // rename and link keep the inode and mtime: the temporary file's ETag is the object's.
      return { eTag: local.eTagOf(stats) }
    }))
  }

  const copy: ObjectStore.Backend["copy"] = (from, to, options) => {
    const ctx = context("copy", from)
    const toCtx = context("copy", to)
    if (local.isReserved(from)) return Effect.fail(reservedPath(ctx))
    if (local.isReserved(to)) return Effect.fail(reservedPath(toCtx))
    return Effect.scoped(Effect.gen(function*() {
      const source = yield* resolveObject(ctx, from)
      yield* statFile(ctx, source)
      const target = yield* prepareTarget(toCtx, to)
      const temp = yield* reserveTemp(target.dir, to)
      yield* local.attempt(
        ctx,
        `copying ${source} to ${temp.file}`,
        () => fsp.copyFile(source, temp.file, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE),
        (code) =>
          code === "ENOENT" ? new NotFound({ ...ctx, description: "the source vanished during the copy" }) : undefined
      )
      yield* Effect.catchTag(
        commit(toCtx, to, temp, target.file, options.overwrite ? "overwrite" : "create"),
        "PreconditionFailed",
        (e) => Effect.fail(new StoreError({ ...toCtx, description: e.message, cause: e }))
      )
    }))
  }

  const rename: NonNullable<ObjectStore.Backend["rename"]> = (from, to, options) => {
    const ctx = context("rename", from)
    const toCtx = context("rename", to)
    if (local.isReserved(from)) return Effect.fail(reservedPath(ctx))
    if (local.isReserved(to)) return Effect.fail(reservedPath(toCtx))
    return Effect.gen(function*() {
      const logicalDir = path.dirname(fullPath(from))
      const dir = yield* local.attempt(
        ctx,
        `resolving ${logicalDir}`,
        () => fsp.realpath(logicalDir),
        (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined
      )
      if (!inside(dir)) return yield* Effect.fail(outside(ctx, logicalDir))
      const source = path.join(dir, ObjectPath.filename(from))
      const stats = yield* local.attempt(
        ctx,
        `lstat of ${source}`,
        () => fsp.lstat(source),
        (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined
      )
      if (stats.isDirectory()) {
        return yield* Effect.fail(new NotFound({ ...ctx, description: "the path is a directory, not an object" }))
      }
      const target = yield* prepareTarget(toCtx, to)
      const vanished = (code: string | undefined) =>
        code === "ENOENT" ? new NotFound({ ...ctx, description: "the source vanished during the rename" }) : undefined
      const crossDevice: unique symbol = Symbol()
      type Move = Effect.Effect<
        void | undefined | typeof crossDevice,
        NotFound | AlreadyExists | NotSupported | PermissionDenied | StoreError
      >
      const move: Move = options.overwrite
        ? local.attempt(
          toCtx,
          `renaming ${source} to ${target.file}`,
          () => local.ignoring(["EXDEV"], fsp.rename(source, target.file), crossDevice),
          (code, cause) => code === "EISDIR" || code === "ENOTEMPTY" ? bothKinds(toCtx, cause) : vanished(code)
        )
        : Effect.flatMap(
          local.attempt(
            toCtx,
            `linking ${source} to ${target.file}`,
            () => local.ignoring(["EXDEV"], fsp.link(source, target.file), crossDevice),
            (code) => code === "EEXIST" ? new AlreadyExists(toCtx) : vanished(code)
          ),
          (linked): Move =>
            linked === crossDevice ? Effect.succeed(linked) : local.attempt(
              ctx,
              `removing ${source}`,
              () => local.ignoring(["ENOENT"], fsp.unlink(source), undefined)
            )
        )
      const moved = yield* locked(to)(Effect.uninterruptible(move))
      if (moved === crossDevice) {
        // The two paths are on different filesystems (a mount below the root): copy, then delete.
        yield* copy(from, to, options)
        yield* del(from)
        return
      }
      yield* removeEmptyParents(from)
    })
  }

  const del: ObjectStore.Backend["delete"] = (key) => {
    const ctx = context("delete", key)
    if (local.isReserved(key)) return Effect.fail(reservedPath(ctx))
    return Effect.gen(function*() {
      const logicalDir = path.dirname(fullPath(key))
      const dir = yield* realpathOrUndefined(ctx, logicalDir)
      if (dir === undefined) return
      if (!inside(dir)) return yield* Effect.fail(outside(ctx, logicalDir))
      const file = path.join(dir, ObjectPath.filename(key))
      // A missing object, or a directory at its path (no object), is already deleted.
      yield* locked(key)(
        local.attempt(
          ctx,
          `removing ${file}`,
          () => local.ignoring(["ENOENT", "ENOTDIR", "EISDIR"], fsp.unlink(file), undefined)
        )
      )
      yield* removeEmptyParents(key)
    })
  }

  // -------------------------------------------------------------------------------------------------------------
  // listing
  // -------------------------------------------------------------------------------------------------------------

  /** The entries of a directory that can be objects or hold them, sorted for a lexicographic walk. */
  const readEntries = (
    ctx: Context,
    dir: string,
    key: string
  ): Effect.Effect<ReadonlyArray<Entry>, PermissionDenied | StoreError> =>
    Effect.gen(function*() {
      const dirents = yield* local.attempt(
        ctx,
        `reading the directory ${dir}`,
        () => local.ignoring(["ENOENT", "ENOTDIR"], fsp.readdir(dir, { withFileTypes: true }), [])
      )
      const entries: Array<Entry> = []
      const links: Array<string> = []
      for (const dirent of dirents) {
        const name = dirent.name
        if (name.endsWith(local.TEMP_SUFFIX) || CONTROL.test(name)) continue
        const file = path.join(dir, name)
        if (dirent.isFile()) entries.push({ name, sortKey: name, kind: "file", file, linked: false })
        else if (dirent.isDirectory()) {
          entries.push({ name, sortKey: name + "/", kind: "directory", file, linked: false })
        } else if (dirent.isSymbolicLink()) links.push(name)
      }
      if (links.length > 0) {
        const resolved = yield* Effect.forEach(links, (name) =>
          Effect.gen(function*() {
            const file = path.join(dir, name)
            const real = yield* realpathOrUndefined(ctx, file)
            if (real === undefined) return undefined
            if (!inside(real)) {
              return yield* Effect.fail(
                new PermissionDenied({
                  ...ctx,
                  path: ObjectPath.join(key, name),
                  description: `${file} leads outside the store root ${root} by a symbolic link`
                })
              )
            }
            const stats = yield* local.attempt(
              ctx,
              `stat of ${real}`,
              () => local.ignoring(["ENOENT"], fsp.stat(real), undefined)
            )
            if (stats === undefined) return undefined
            if (stats.isFile()) return { name, sortKey: name, kind: "file", file: real, linked: true } as const
            if (stats.isDirectory()) {
              return { name, sortKey: name + "/", kind: "directory", file: real, linked: true } as const
            }
            return undefined
          }), { concurrency: STAT_CONCURRENCY })
        for (const entry of resolved) if (entry !== undefined) entries.push(entry)
      }
      return entries.sort(compareKeys)
    })

  const statEntry = (ctx: Context, entry: Entry, key: string) =>
    Effect.map(
      local.attempt(
        ctx,
        `stat of ${entry.file}`,
        () => local.ignoring(["ENOENT", "ENOTDIR"], fsp.stat(entry.file, { bigint: true }), undefined)
      ),
      // A file deleted while the listing runs is left out.
      (stats) => stats !== undefined && stats.isFile() ? local.metaOf(key, stats) : undefined
    )

  /** The real directory of a prefix, or undefined when there is none (an empty listing). */
  const prefixDirectory = (ctx: Context, prefix: string) => {
    if (prefix === "") return Effect.succeed<string | undefined>(root)
    if (local.isReserved(prefix)) return Effect.fail(reservedPath(ctx))
    const logical = fullPath(prefix)
    return Effect.flatMap(
      realpathOrUndefined(ctx, logical),
      (real) => real === undefined || inside(real) ? Effect.succeed(real) : Effect.fail(outside(ctx, logical))
    )
  }

  const list: ObjectStore.Backend["list"] = (prefix, options) =>
    Stream.unwrap(Effect.gen(function*() {
      const ctx = context("list", prefix)
      const dir = yield* prefixDirectory(ctx, prefix)
      if (dir === undefined) return Stream.empty
      const offset = options.offset
      const stack: Array<Frame> = [{ dir, key: prefix, entries: undefined, index: 0 }]
      const walking = new Set<string>([dir])
      // Depth-first over sorted entries: each pull returns the next run of files (stat'ed together), in key order.
      const pull: Effect.Effect<Chunk.Chunk<ObjectStore.ObjectMeta> | undefined, ListError> = Effect.gen(function*() {
        while (true) {
          const top = stack[stack.length - 1]
          if (top === undefined) return undefined
          const entries = top.entries ??= yield* readEntries(ctx, top.dir, top.key)
          if (top.index >= entries.length) {
            stack.pop()
            walking.delete(top.dir)
            continue
          }
          const entry = entries[top.index]
          if (entry.kind === "directory") {
            top.index++
            const key = ObjectPath.join(top.key, entry.name)
            const below = key + ObjectPath.DELIMITER
            // Every key below sorts before the offset: skip the whole subtree.
            if (offset !== undefined && below < offset && !offset.startsWith(below)) continue
            // A symbolic link back to a directory being walked would never end.
            if (walking.has(entry.file)) continue
            walking.add(entry.file)
            stack.push({ dir: entry.file, key, entries: undefined, index: 0 })
            continue
          }
          const batch: Array<readonly [Entry, string]> = []
          while (top.index < entries.length && entries[top.index].kind === "file" && batch.length < STAT_BATCH) {
            const file = entries[top.index++]
            const key = ObjectPath.join(top.key, file.name)
            if (offset === undefined || key > offset) batch.push([file, key])
          }
          if (batch.length === 0) continue
          const metas = yield* Effect.forEach(batch, ([file, key]) => statEntry(ctx, file, key), {
            concurrency: STAT_CONCURRENCY
          })
          const out = metas.filter((meta): meta is ObjectStore.ObjectMeta => meta !== undefined)
          if (out.length > 0) return Chunk.unsafeFromArray(out)
        }
      })
      return Stream.repeatEffectChunkOption(
        pull.pipe(
          Effect.mapError(Option.some),
          Effect.flatMap((chunk) => chunk === undefined ? Effect.fail(Option.none()) : Effect.succeed(chunk))
        )
      )
    }))

  /** Whether a directory holds at least one object, at any depth (stops at the first one). */
  const holdsObject = (
    ctx: Context,
    entry: Entry,
    key: string
  ): Effect.Effect<boolean, PermissionDenied | StoreError> =>
    entry.linked ?
      Effect.succeed(true) :
      Effect.flatMap(readEntries(ctx, entry.file, key), (entries) =>
        entries.some((e) => e.kind === "file")
          ? Effect.succeed(true)
          : Effect.reduce(
            entries,
            false,
            (found, e) => found ? Effect.succeed(true) : holdsObject(ctx, e, ObjectPath.join(key, e.name))
          ))

  const listWithDelimiter: NonNullable<ObjectStore.Backend["listWithDelimiter"]> = (prefix) =>
    Effect.gen(function*() {
      const ctx = context("listWithDelimiter", prefix)
      const dir = yield* prefixDirectory(ctx, prefix)
      if (dir === undefined) return { commonPrefixes: [], objects: [] }
      const entries = yield* readEntries(ctx, dir, prefix)
      type Found = { readonly meta: ObjectStore.ObjectMeta } | { readonly prefix: string } | undefined
      const results = yield* Effect.forEach(entries, (entry): Effect.Effect<Found, PermissionDenied | StoreError> => {
        const key = ObjectPath.join(prefix, entry.name)
        return entry.kind === "file"
          ? Effect.map(statEntry(ctx, entry, key), (meta) => meta === undefined ? undefined : { meta })
          // An empty directory (left by deletes without automaticCleanup) is no common prefix.
          : Effect.map(holdsObject(ctx, entry, key), (found) => found ? { prefix: key } : undefined)
      }, { concurrency: STAT_CONCURRENCY })
      const commonPrefixes: Array<string> = []
      const objects: Array<ObjectStore.ObjectMeta> = []
      for (const result of results) {
        if (result === undefined) continue
        if ("meta" in result) objects.push(result.meta)
        else commonPrefixes.push(result.prefix)
      }
      return { commonPrefixes, objects }
    })

  return {
    name: STORE,
    get,
    getRange,
    head,
    put,
    list,
    listWithDelimiter,
    copy,
    rename,
    delete: del
  }
}

const configError = (description: string, cause?: unknown, field = "root") =>
  new InvalidConfig({ store: STORE, method: "make", field, description, cause })

/**
 * Makes a store over the directory `root`. Fails with `InvalidConfig` (field `"root"`) when the root is missing
 * (unless `mkdir` is set), is not a directory or cannot be read.
 *
 * Attributes are not stored: a put with attributes fails with `NotSupported`. Tags are accepted and ignored.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: LocalOptions
): Effect.Effect<ObjectStore.ObjectStore.Service, InvalidConfig, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const config = yield* Schema.decodeUnknown(LocalConfig)(options).pipe(
      Effect.mapError((error) => {
        const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
        const field = issue?.path[0]
        return configError(issue?.message ?? error.message, error, field === undefined ? "root" : String(field))
      })
    )
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const absolute = path.resolve(config.root)
    const info = yield* fs.stat(absolute).pipe(
      Effect.map(Option.some),
      Effect.catchAll((error) =>
        local.errnoCode(error) === "ENOENT" || (error._tag === "SystemError" && error.reason === "NotFound")
          ? Effect.succeed(Option.none())
          : Effect.fail(configError(`cannot read ${absolute}: ${error.message}`, error))
      )
    )
    if (Option.isNone(info)) {
      if (config.mkdir !== true) {
        return yield* Effect.fail(configError(`${absolute} does not exist (set mkdir: true to create it)`))
      }
      yield* fs.makeDirectory(absolute, { recursive: true }).pipe(
        Effect.mapError((error) => configError(`cannot create ${absolute}: ${error.message}`, error))
      )
    } else if (info.value.type !== "Directory") {
      return yield* Effect.fail(configError(`${absolute} is not a directory`))
    }
    const root = yield* fs.realPath(absolute).pipe(
      Effect.mapError((error) => configError(`cannot resolve ${absolute}: ${error.message}`, error))
    )
    return ObjectStore.make(makeBackend(root, path, fs, config.automaticCleanup === true))
  })

/**
 * A layer with a `LocalStore` as the `ObjectStore`, for a `FileSystem` and `Path` provided by the caller.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutDependencies = (
  options: LocalOptions
): Layer.Layer<ObjectStore.ObjectStore, InvalidConfig, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(ObjectStore.ObjectStore, make(options))

/**
 * A layer with a `LocalStore` as the `ObjectStore`, on Node's filesystem: nothing else to provide.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: LocalOptions): Layer.Layer<ObjectStore.ObjectStore, InvalidConfig> =>
  layerWithoutDependencies(options).pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))
