/**
 * Capability profiles: make a test store refuse what a production store refuses.
 *
 * `MemoryStore` accepts everything: attributes, copies without overwrite, conditional puts. A program tested on it
 * can still fail in production, where `LocalStore` refuses attributes and S3 on a Ceph RADOS Gateway refuses a copy
 * without overwrite. `layer(profile)` wraps the store in context so that every call needing a capability the
 * profile lacks fails as the production store fails (the same `NotSupported` error, with the same message) before
 * it reaches the wrapped store:
 *
 * ```ts
 * const testStore = Capabilities.layer(Capabilities.localStore).pipe(Layer.provide(MemoryStore.layer))
 * ```
 *
 * A profile only takes capabilities away: what the wrapped store itself refuses (MemoryStore keeps no versions) it
 * still refuses.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ObjectStore from "./ObjectStore.js"
import { NotSupported } from "./ObjectStoreError.js"

/**
 * A capability the store has (`true`), lacks (`false`), or lacks for a reason that its errors give.
 *
 * @since 0.1.0
 * @category models
 */
export type Capability = boolean | Unsupported

/**
 * A capability the store lacks, with the reason its `NotSupported` error gives.
 *
 * @since 0.1.0
 * @category models
 */
export interface Unsupported {
  readonly supported: false
  /** The `description` of the `NotSupported` error (the part of its message in parentheses). */
  readonly description: string
}

/**
 * A capability the store lacks, refused with this description.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsupported = (description: string): Unsupported => ({ supported: false, description })

/**
 * What a store can do, one field per thing a production store may refuse with `NotSupported`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Capabilities {
  /** The store the profile describes. Refusals are labelled with it, as that store labels its own errors. */
  readonly store: string
  /** `put` with `mode: "create"`: write only if no object is there. */
  readonly putCreate: Capability
  /** `put` with `mode: { eTag }`: replace only if the object still has that ETag. */
  readonly putIfMatch: Capability
  /** `put` with `mode: { version }`: replace only if the object is still that version. */
  readonly putIfVersion: Capability
  /** `copy` and `rename` with `overwrite: false`: fail with `AlreadyExists` instead of replacing the target. */
  readonly copyIfNotExists: Capability
  /** `put` with attributes (content type, cache control, user metadata, ...). */
  readonly attributes: Capability
  /** `put` with tags. */
  readonly tags: Capability
  /** `get` of an older version of an object (`get({ version })`). */
  readonly versions: Capability
  /** An object and objects below it at once (`a` and `a/b`), which a filesystem cannot hold. */
  readonly nestedObjects: Capability
}

/**
 * Everything: a base to take capabilities away from (`{ ...Capabilities.all, attributes: false }`).
 *
 * @since 0.1.0
 * @category profiles
 */
export const all: Capabilities = {
  store: "ObjectStore",
  putCreate: true,
  putIfMatch: true,
  putIfVersion: true,
  copyIfNotExists: true,
  attributes: true,
  tags: true,
  versions: true,
  nestedObjects: true
}

// The descriptions are the ones the stores give (test/Capabilities.test.ts compares them with the real stores).
const localNoVersions = "LocalStore keeps no versions"

/**
 * `LocalStore`: no attributes, no versions, and no object with objects below it.
 *
 * @since 0.1.0
 * @category profiles
 */
export const localStore: Capabilities = {
  ...all,
  store: "LocalStore",
  putIfVersion: unsupported(`${localNoVersions}; update by eTag instead`),
  attributes: unsupported("LocalStore does not store attributes: the local filesystem has no place for them"),
  versions: unsupported(localNoVersions),
  nestedObjects: unsupported(
    "the local filesystem cannot hold an object and objects below it (\"a\" and \"a/b\") at once"
  )
}

/**
 * The S3Store options a profile depends on.
 *
 * @since 0.1.0
 * @category models
 */
export interface S3StoreOptions {
  /** As `S3Options.conditionalPut`. Default `"etag"`. */
  readonly conditionalPut?: "etag" | "etag-unquoted" | "disabled" | undefined
  /** As `S3Options.copyIfNotExists`. Default `"disabled"`. */
  readonly copyIfNotExists?: "header" | "disabled" | undefined
}

/**
 * The profile of an `S3Store` made with these options: pass the options the program uses in production, and the
 * test store refuses what that store would.
 *
 * @since 0.1.0
 * @category profiles
 */
export const s3Store = (options: S3StoreOptions = {}): Capabilities => {
  const conditional = options.conditionalPut === "disabled"
    ? unsupported("conditional puts are disabled (conditionalPut: \"disabled\")")
    : true
  return {
    ...all,
    store: "S3Store",
    putCreate: conditional,
    putIfMatch: conditional,
    putIfVersion: conditional === true ? unsupported("S3 conditional puts compare ETags, not versions") : conditional,
    copyIfNotExists: options.copyIfNotExists === "header" ? true : unsupported(
      "copy without overwrite needs a server that honours If-None-Match on CopyObject; set copyIfNotExists: " +
        "\"header\" if yours does"
    )
  }
}

/**
 * `S3Store` with its defaults (Amazon S3): conditional puts by ETag, no copy without overwrite.
 *
 * @since 0.1.0
 * @category profiles
 */
export const s3: Capabilities = /* @__PURE__ */ s3Store()

/**
 * `S3Store` on a Ceph RADOS Gateway: as `s3`. RGW ignores `If-None-Match` on CopyObject, so a copy without
 * overwrite stays refused whatever `copyIfNotExists` says.
 *
 * @since 0.1.0
 * @category profiles
 */
export const s3Rgw: Capabilities = /* @__PURE__ */ s3Store({ conditionalPut: "etag-unquoted" })

/** The error for a call that needs a capability the profile lacks, or undefined when it has it. */
const refusal = (
  profile: Capabilities,
  capability: Exclude<keyof Capabilities, "store">,
  method: string,
  path: string
): NotSupported | undefined => {
  const value = profile[capability]
  if (value === true) return undefined
  const description = value === false ? `${profile.store} does not support ${capability}` : value.description
  return new NotSupported({ store: profile.store, method, path, description })
}

// As LocalStore decides it: an empty `metadata` record is no attribute.
const hasAttributes = (attributes: ObjectStore.Attributes | undefined): boolean =>
  attributes !== undefined &&
  Object.entries(attributes).some(([name, value]) =>
    value !== undefined && !(name === "metadata" && Object.keys(value as object).length === 0)
  )

const putRefusal = (profile: Capabilities, path: string, options: ObjectStore.PutOptions | undefined) => {
  const mode = options?.mode ?? "overwrite"
  const modeRefusal = mode === "overwrite"
    ? undefined
    : mode === "create"
    ? refusal(profile, "putCreate", "put", path)
    : mode.version !== undefined
    ? refusal(profile, "putIfVersion", "put", path)
    : refusal(profile, "putIfMatch", "put", path)
  return modeRefusal ??
    (hasAttributes(options?.attributes) ? refusal(profile, "attributes", "put", path) : undefined) ??
    (options?.tags !== undefined && Object.keys(options.tags).length > 0
      ? refusal(profile, "tags", "put", path)
      : undefined)
}

const ancestors = (path: string): ReadonlyArray<string> => {
  const segments = path.split("/")
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"))
}

/**
 * Make a store with the capabilities of `profile` over `inner`: a call that needs a capability the profile lacks
 * fails with `NotSupported` before it reaches `inner`; every other call is `inner`'s.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  inner: ObjectStore.ObjectStore.Service,
  profile: Capabilities
): ObjectStore.ObjectStore.Service => {
  // Whether writing `path` would put an object above or below another one; failures of the probe count as "no".
  const nested = (method: string, path: string): Effect.Effect<NotSupported | undefined> => {
    const refused = refusal(profile, "nestedObjects", method, path)
    if (refused === undefined) return Effect.succeed(undefined)
    const objectAbove = Effect.exists(ancestors(path), (parent) => Effect.isSuccess(inner.head(parent)))
    const objectBelow = Stream.runHead(Stream.take(inner.list(path), 1)).pipe(
      Effect.map(Option.isSome),
      Effect.orElseSucceed(() => false)
    )
    return Effect.map(
      Effect.zipWith(objectAbove, objectBelow, (above, below) => above || below),
      (clash) => clash ? refused : undefined
    )
  }
  const guard = <A, E>(
    refused: NotSupported | undefined,
    method: string,
    path: string,
    run: () => Effect.Effect<A, E>
  ): Effect.Effect<A, E | NotSupported> =>
    refused !== undefined
      ? Effect.fail(refused)
      : Effect.flatMap(
        nested(method, path),
        (clash): Effect.Effect<A, E | NotSupported> => clash !== undefined ? Effect.fail(clash) : run()
      )
  // The stores name the source in this refusal (S3Store checks it before any request).
  const copyRefusal = (method: "copy" | "rename", from: string, overwrite: boolean) =>
    overwrite ? undefined : refusal(profile, "copyIfNotExists", method, from)

  return ObjectStore.make({
    name: inner.name,
    // The inner store traces every call already.
    spans: false,
    get: (path, options) => {
      const refused = options.version === undefined ? undefined : refusal(profile, "versions", "get", path)
      return refused === undefined ? inner.get(path, options) : Effect.fail(refused)
    },
    getRange: (path, range) => inner.getRange(path, range),
    head: (path) => inner.head(path),
    put: (path, payload, options) =>
      guard(putRefusal(profile, path, options), "put", path, () => inner.put(path, payload, options)),
    list: (prefix, options) => inner.list(prefix, options),
    listWithDelimiter: (prefix) => inner.listWithDelimiter(prefix),
    copy: (from, to, options) =>
      guard(copyRefusal("copy", from, options.overwrite), "copy", to, () => inner.copy(from, to, options)),
    rename: (from, to, options) =>
      guard(copyRefusal("rename", from, options.overwrite), "rename", to, () => inner.rename(from, to, options)),
    delete: (path) => inner.delete(path),
    deleteMany: (paths) => inner.delete(paths)
  })
}

/**
 * Replaces the `ObjectStore` in context with one that has only the capabilities of `profile`:
 *
 * ```ts
 * // A test store that refuses what S3 on a Ceph RADOS Gateway refuses.
 * const testStore = Capabilities.layer(Capabilities.s3Rgw).pipe(Layer.provide(MemoryStore.layer))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (profile: Capabilities): Layer.Layer<ObjectStore.ObjectStore, never, ObjectStore.ObjectStore> =>
  Layer.effect(ObjectStore.ObjectStore, Effect.map(ObjectStore.ObjectStore, (inner) => make(inner, profile)))
