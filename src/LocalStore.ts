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
 *   with `PermissionDenied`, also when another process swaps a directory for such a link while calls run (on
 *   Linux every opened file and directory is checked by where the kernel says it is, and writes go through a
 *   checked directory handle; elsewhere the check re-resolves the path, which narrows the race but cannot close it).
 * - Only regular files are objects: a FIFO, socket or device is `NotFound`, refused without being read. A hard link
 *   is the file it names, wherever else that file is linked: it is read, and a put replaces it without touching
 *   the other names.
 * - `bytes` and `getRange` of more than one buffer holds (4 GiB on Node 20) fail with a typed error naming the size;
 *   `stream` reads any size.
 * - ETags are `inode-mtimeNs-size` in hex; `lastModified` is the file's mtime. There are no versions.
 * - Attributes are not stored (a put with attributes fails with `NotSupported`); tags are accepted and ignored.
 * - The filesystem cannot hold an object `a` and an object `a/b` at once: such a put fails with `NotSupported`.
 * - Writes are not fsynced: after a crash of the machine (not of the process) a recent object may be lost.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as fsp from "node:fs/promises"
import * as nodePath from "node:path"
import { decode } from "./internal/config.js"
import { makeBackend } from "./internal/local/backend.js"
import { errnoCode, STORE } from "./internal/local/errors.js"
import * as ObjectStore from "./ObjectStore.js"
import { InvalidConfig } from "./ObjectStoreError.js"

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
 * What `make` and `layer` take: a `LocalConfig` or a plain object with its fields. Unknown fields are refused with
 * `InvalidConfig`.
 *
 * @since 0.1.0
 * @category options
 */
export interface LocalOptions {
  /** The directory holding the objects. Relative paths are resolved against the working directory. */
  readonly root: string
  /** Create `root` (and its parents) if it does not exist. Default `false`: a missing root is `InvalidConfig`. */
  readonly mkdir?: boolean | undefined
  /** Remove the directories that deletes and renames leave empty, up to (not including) `root`. Default `false`. */
  readonly automaticCleanup?: boolean | undefined
}

// Declared by hand because editors show no documentation for the fields of `Schema.Encoded` types: this stops the
// build when the declaration and the schema disagree.
true satisfies Same<LocalOptions, typeof LocalConfig.Encoded>
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

const configError = (description: string, cause?: unknown, field = "root") =>
  new InvalidConfig({ store: STORE, method: "make", field, description, cause })

const messageOf = (error: unknown) => error instanceof Error ? error.message : String(error)

/** The real path of the root directory, created first when `mkdir` is set. */
const openRoot = (config: LocalConfig): Effect.Effect<string, InvalidConfig> =>
  Effect.gen(function*() {
    const absolute = nodePath.resolve(config.root)
    const info = yield* Effect.tryPromise({
      try: () => fsp.stat(absolute).catch((error) => errnoCode(error) === "ENOENT" ? undefined : Promise.reject(error)),
      catch: (error) => configError(`cannot read ${absolute}: ${messageOf(error)}`, error)
    })
    if (info === undefined) {
      if (config.mkdir !== true) {
        return yield* Effect.fail(configError(`${absolute} does not exist (set mkdir: true to create it)`))
      }
      yield* Effect.tryPromise({
        try: () => fsp.mkdir(absolute, { recursive: true }),
        catch: (error) => configError(`cannot create ${absolute}: ${messageOf(error)}`, error)
      })
    } else if (!info.isDirectory()) {
      return yield* Effect.fail(configError(`${absolute} is not a directory`))
    }
    return yield* Effect.tryPromise({
      try: () => fsp.realpath(absolute),
      catch: (error) => configError(`cannot resolve ${absolute}: ${messageOf(error)}`, error)
    })
  })

/**
 * Makes a store over the directory `root`. Fails with `InvalidConfig` (field `"root"`) when the root is missing
 * (unless `mkdir` is set), is not a directory or cannot be read, and with `InvalidConfig` naming the field for an
 * option it does not know (the same strict decoding as every store). The store does its I/O with `node:fs`: it needs
 * no `FileSystem` or `Path` service.
 *
 * Attributes are not stored: a put with attributes fails with `NotSupported`. Tags are accepted and ignored.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: LocalOptions): Effect.Effect<ObjectStore.ObjectStore.Service, InvalidConfig> =>
  Effect.flatMap(
    decode(LocalConfig, options, STORE),
    (config) =>
      Effect.map(
        openRoot(config),
        (root) => ObjectStore.make(makeBackend(root, nodePath, config.automaticCleanup === true))
      )
  )

/**
 * The same layer as `layer`: kept for programs written when the store asked for `FileSystem` and `Path` (it no
 * longer does; whatever the caller provides is not used).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithoutDependencies = (options: LocalOptions): Layer.Layer<ObjectStore.ObjectStore, InvalidConfig> =>
  Layer.effect(ObjectStore.ObjectStore, make(options))

/**
 * A layer with a `LocalStore` as the `ObjectStore`, on Node's filesystem: nothing else to provide.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: LocalOptions): Layer.Layer<ObjectStore.ObjectStore, InvalidConfig> =>
  Layer.effect(ObjectStore.ObjectStore, make(options))

export {
  /**
   * Reads a `file:///absolute/dir` URL into the root it names; relative and host forms are refused.
   *
   * @since 0.1.0
   * @category constructors
   */
  parse as parseUrl
} from "./internal/local/url.js"
