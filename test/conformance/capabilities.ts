import type { Attributes } from "effect-obstore/ObjectStore"

/**
 * What a store can do. The conformance suite runs every test; where a capability is absent it asserts the store's
 * documented behaviour instead (usually a `NotSupported` error), and `reason` says why the capability is absent.
 */
export interface Capabilities {
  /** `put` with `mode: "create"` fails with `AlreadyExists` when the object exists. */
  readonly putCreate: boolean
  /** `put` with `mode: { eTag }` replaces only when the ETag still matches (`PreconditionFailed` otherwise). */
  readonly putUpdate: boolean
  /** `copy`/`rename` with `overwrite: false` fail with `AlreadyExists` when the destination exists. */
  readonly copyIfNotExists: boolean
  /** `get` honours ifMatch / ifNoneMatch / ifModifiedSince / ifUnmodifiedSince. */
  readonly conditionalGet: boolean
  /** The attributes that round-trip through put and get. */
  readonly attributes: ReadonlyArray<keyof Attributes>
  /** Objects carry versions (`meta.version`) and `get({ version })` reads old ones. */
  readonly versions: boolean
  /**
   * Without versions, what `get({ version })` fails with: `NotSupported` where the store knows it keeps none, `NotFound`
   * where it asks a server whose bucket has versioning off (S3).
   */
  readonly versionlessGet?: "NotSupported" | "NotFound"
  /** Object tags are accepted by put (they are not returned by get). */
  readonly tags: boolean
  /** The size of the big streamed round trip, in MiB (64 for most stores; smaller where a server cannot take it). */
  readonly bigObjectMiB: number
  /**
   * `put` returns the object's ETag (the one `head` then gives). Default `true`: the suite asserts the ETag is there
   * before comparing it. `false` for a store whose server does not say (the suite then checks it only when given).
   */
  readonly putETag?: boolean
  /**
   * Keys may hold a backslash. Default `true`; `false` for a store whose server would rename it (Azure turns `\` into
   * `/`): the suite then asserts such a key is refused with `InvalidPath` and leaves it out of the generated keys.
   */
  readonly backslashInKeys?: boolean
  /** Why each absent capability is absent, by capability name. */
  readonly reasons?: Partial<Record<Exclude<keyof Capabilities, "reasons">, string>>
}

/** Everything: MemoryStore and LocalStore. */
export const full: Capabilities = {
  putCreate: true,
  putUpdate: true,
  copyIfNotExists: true,
  conditionalGet: true,
  attributes: [
    "contentType",
    "contentDisposition",
    "contentEncoding",
    "contentLanguage",
    "cacheControl",
    "storageClass",
    "metadata"
  ],
  versions: false,
  tags: true,
  bigObjectMiB: 64,
  reasons: { versions: "the store keeps only the latest object" }
}
