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
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
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
 * What `make` and `layer` take: a `LocalConfig` or a plain object with its fields.
 *
 * @since 0.1.0
 * @category models
 */
export type LocalOptions = typeof LocalConfig.Encoded

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
        errnoCode(error) === "ENOENT" || (error._tag === "SystemError" && error.reason === "NotFound")
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

export {
  /**
   * Reads a `file:///absolute/dir` URL into the root it names; relative and host forms are refused.
   *
   * @since 0.1.0
   * @category constructors
   */
  parse as parseUrl
} from "./internal/local/url.js"
