/**
 * Moving objects between any two stores: one object, or every object under a prefix.
 *
 * ```ts
 * const program = Effect.gen(function*() {
 *   const s3 = yield* FromUrl.fromUrl("s3://my-bucket/exports")
 *   const local = yield* FromUrl.fromUrl("file:///var/backups")
 *   const summary = yield* Transfer.transfer({ store: s3, path: "2024" }, { store: local, path: "exports/2024" }, {
 *     recursive: true,
 *     concurrency: 8,
 *     onProgress: (p) => console.log(`${p.done} / ${p.total} bytes`)
 *   })
 *   console.log(`${summary.transferred} transferred, ${summary.skipped} already there`)
 * })
 * ```
 *
 * - **Streaming, bounded memory**: each object is a get of the source streamed into a put of the destination, in
 *   parts where the destination has multipart; memory is about `concurrency x (parts in flight + 1) x partSize`.
 * - **Skip identical**: an object whose destination has the same size and the same MD5 ETag is skipped. ETags are
 *   comparable only when both are plain MD5s (single-part S3 uploads, WebDAV); LocalStore's and MemoryStore's
 *   ETags, and S3 multipart ETags (`"…-N"`), are not, and such objects are transferred again.
 * - **Resume**: a body that breaks mid-way is resumed by the source store's get (S3 resumes from the byte it
 *   stopped at, pinned to the ETag); an object that still fails with `StoreError` is tried again whole
 *   (`retries`, default 2), its progress taken back first.
 * - **Server-side copy**: when both sides are `S3Store` services (`S3Store` tag: `yield* S3Store.S3Store`) of the
 *   same endpoint, region and access key, objects are copied on the server, also between buckets: with CopyObject up
 *   to 5 GiB, in parts (UploadPartCopy, pinned to the source's ETag, with its attributes and tags) above; the bytes
 *   never pass through this process. Plain `ObjectStore` services are always streamed.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as internal from "./internal/io/transfer.js"
import type { MultipartOptions, ObjectMeta, ObjectStore, Progress } from "./ObjectStore.js"
import type { CopyError, GetError, HeadError, ListError, PutError, StreamError } from "./ObjectStoreError.js"
import type { S3Config } from "./S3Store.js"

/**
 * One side of a transfer: a store (an `ObjectStore` service, or an `S3Store` service to allow server-side copies)
 * and the path of an object, or with `recursive` a prefix.
 *
 * @since 0.1.0
 * @category models
 */
export interface Endpoint {
  readonly store: ObjectStore.Service | { readonly config: S3Config; readonly store: ObjectStore.Service }
  readonly path: string
}

/**
 * What happened to one object: streamed, copied on the server, or skipped as identical.
 *
 * @since 0.1.0
 * @category models
 */
export type Action = "transferred" | "copied" | "skipped"

/**
 * @since 0.1.0
 * @category models
 */
export interface Item {
  readonly from: string
  readonly to: string
  readonly size: number
  readonly action: Action
}

/**
 * The bytes of the whole transfer (`done` of `total`, skipped objects count as done), and the objects finished.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransferProgress extends Progress {
  readonly objects: number
  readonly totalObjects: number
  /** The object whose bytes were just counted. */
  readonly path: string
}

/**
 * @since 0.1.0
 * @category options
 */
export interface TransferOptions {
  /** Transfer every object under the `from` path (a prefix) to the same relative paths under `to`. */
  readonly recursive?: boolean | undefined
  /** Objects transferred at once (default 8). */
  readonly concurrency?: number | undefined
  /** Part size and parts in flight per object, where the destination uploads in parts. */
  readonly multipart?: MultipartOptions | undefined
  /** Skip objects already identical at the destination (default true; see the module's notes on ETags). */
  readonly skipIdentical?: boolean | undefined
  /** Carry the source's attributes (content type, metadata, ...) to the destination (default false). */
  readonly attributes?: boolean | undefined
  /** Copy on the server when both sides are buckets of one S3 endpoint (default true). */
  readonly serverSideCopy?: boolean | undefined
  /** Whole-object attempts after a `StoreError` (default 2). */
  readonly retries?: number | undefined
  /** Called as bytes are stored (acknowledged parts where the destination reports them). */
  readonly onProgress?: ((progress: TransferProgress) => void) | undefined
  /** Called as each object is finished. */
  readonly onObject?: ((item: Item) => void) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  readonly objects: number
  readonly transferred: number
  readonly copied: number
  readonly skipped: number
  /** Bytes transferred or copied (skipped objects not counted). */
  readonly bytes: number
  readonly items: ReadonlyArray<Item>
}

/**
 * @since 0.1.0
 * @category errors
 */
export type TransferError = GetError | HeadError | ListError | PutError | CopyError | StreamError

/**
 * Transfers one object (or, with `recursive`, every object under a prefix) from one store to another.
 *
 * @since 0.1.0
 * @category operations
 */
export const transfer: (
  from: Endpoint,
  to: Endpoint,
  options?: TransferOptions
) => Effect.Effect<Summary, TransferError> = internal.transfer

/**
 * Whether two objects are known to hold the same bytes: same size and the same plain MD5 ETag.
 *
 * @since 0.1.0
 * @category utils
 */
export const identical: (a: ObjectMeta, b: ObjectMeta) => boolean = internal.identical
