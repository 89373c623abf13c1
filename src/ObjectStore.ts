/**
 * The `ObjectStore` contract: models, options, the service and its tag, what a backend implements, and one
 * top-level function per operation that reads the service from the context. The implementation lives in
 * `internal/objectStore.ts`; this module imports no store.
 *
 * Several stores in one program each get a tag of their own, declared with `Tag`:
 *
 * ```ts
 * class Archive extends ObjectStore.Tag("app/Archive")<Archive>() {}
 * class Scratch extends ObjectStore.Tag("app/Scratch")<Scratch>() {}
 *
 * const program = Effect.flatMap(Archive.get("report.csv"), (result) => Scratch.put("report.csv", result.stream))
 * program.pipe(
 *   Effect.provide(Layer.mergeAll(Archive.layer(S3Store.layer({ bucket: "archive" })), Scratch.layer(MemoryStore.layer)))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as internal from "./internal/objectStore.js"
import type {
  CopyError,
  DeleteError,
  GetError,
  HeadError,
  InvalidRange,
  ListError,
  PayloadError,
  PutError,
  StreamError
} from "./ObjectStoreError.js"

/**
 * The metadata of a stored object.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectMeta {
  /** The path of the object, relative to the store (and its prefix). */
  readonly path: string
  /** When the object was last written. */
  readonly lastModified: Date
  /** Size in bytes. */
  readonly size: number
  /** An opaque tag that changes whenever the content changes. */
  readonly eTag?: string | undefined
  /** The version of the object, on stores that keep versions. */
  readonly version?: string | undefined
}

/**
 * Properties stored with an object and returned with it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Attributes {
  /** The media type served with the object (`Content-Type`), e.g. `"application/json"`. */
  readonly contentType?: string | undefined
  /** How a browser presents the object (`Content-Disposition`), e.g. `"attachment; filename=report.csv"`. */
  readonly contentDisposition?: string | undefined
  /** The encoding the bytes are stored in (`Content-Encoding`), e.g. `"gzip"`. */
  readonly contentEncoding?: string | undefined
  /** The language of the content (`Content-Language`). */
  readonly contentLanguage?: string | undefined
  /** Caching directives served with the object (`Cache-Control`). */
  readonly cacheControl?: string | undefined
  /** The store's storage class (`STANDARD`, `GLACIER`, ... on S3). */
  readonly storageClass?: string | undefined
  /** User metadata (`x-amz-meta-*` on S3, `x-ms-meta-*` on Azure). */
  readonly metadata?: Readonly<Record<string, string>> | undefined
}

/**
 * A byte range. `{ start, end }` has an exclusive end; `{ offset }` reads from `offset` to the end of the object,
 * `{ offset, length }` reads `length` bytes from `offset`; `{ suffix }` reads the last `suffix` bytes.
 *
 * An end past the object is cut to the object's size; a start at or past the end fails with `InvalidRange`.
 *
 * @since 0.1.0
 * @category models
 */
export type ByteRange =
  | { readonly start: number; readonly end: number }
  | { readonly offset: number; readonly length?: number | undefined }
  | { readonly suffix: number }

/**
 * A byte range with a known end, as `getRanges` takes them.
 *
 * @since 0.1.0
 * @category models
 */
export type BoundedRange =
  | { readonly start: number; readonly end: number }
  | { readonly offset: number; readonly length: number }

/**
 * The bytes a result actually holds: `start` inclusive, `end` exclusive.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedRange {
  readonly start: number
  readonly end: number
}

/**
 * How far a transfer of bytes is: `done` of `total` (undefined when the size is not known in advance). Reported to
 * an `onProgress` callback, synchronously, as often as the store learns something: per completed part of an
 * upload where the store reports them, per chunk of a download body.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly done: number
  readonly total: number | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export interface GetOptions {
  /** Read only these bytes (`{ start, end }`, `{ offset, length? }` or `{ suffix }`); the whole object by default. */
  readonly range?: ByteRange | undefined
  /** Fail with `PreconditionFailed` unless the object's ETag is this one (`*` matches any). */
  readonly ifMatch?: string | undefined
  /** Fail with `NotModified` if the object's ETag is this one (`*` matches any). */
  readonly ifNoneMatch?: string | undefined
  /** Fail with `NotModified` unless the object changed after this date. */
  readonly ifModifiedSince?: Date | undefined
  /** Fail with `PreconditionFailed` if the object changed after this date. */
  readonly ifUnmodifiedSince?: Date | undefined
  /** Read this version of the object, on stores that keep versions. */
  readonly version?: string | undefined
  /** Fetch only the metadata: the result's stream is empty. */
  readonly head?: boolean | undefined
  /** Called with the bytes of the body read so far, as the result's stream is read. Costs nothing when absent. */
  readonly onProgress?: ((progress: Progress) => void) | undefined
}

/**
 * The result of `get`. The body is read through `stream`, `bytes` or `text`; the body of a result that is never
 * read holds no resources.
 *
 * @since 0.1.0
 * @category models
 */
export interface GetResult {
  /** The object's metadata: path, size, last modified, ETag, version. */
  readonly meta: ObjectMeta
  /** The bytes of the object this result holds. */
  readonly range: ResolvedRange
  /** The attributes stored with the object (content type, metadata, ...). */
  readonly attributes: Attributes
  /** The body as a stream of chunks, read lazily; read it at most once. */
  readonly stream: Stream.Stream<Uint8Array, StreamError>
  /** The whole body in one buffer. */
  readonly bytes: Effect.Effect<Uint8Array, StreamError>
  /** The whole body decoded as UTF-8. */
  readonly text: Effect.Effect<string, StreamError>
}

/**
 * What `put` accepts. Payloads already in memory are sent in one request (in parts when `multipart` asks for them,
 * or above the store's single-request limit); streams are uploaded in parts with bounded memory where the store
 * supports it. A Node `Readable`, a web `ReadableStream` and an async iterator are one-shot: one already read fails
 * with `PayloadError` before any request.
 *
 * @since 0.1.0
 * @category models
 */
export type PutPayload<E = never> =
  | string
  | Uint8Array
  | ReadonlyArray<Uint8Array>
  | Stream.Stream<Uint8Array, E>
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>

/**
 * `"overwrite"` (the default) replaces any object; `"create"` fails with `AlreadyExists` if one is there;
 * `{ eTag, version }` replaces the object only if it still has that ETag / version (`PreconditionFailed` otherwise).
 *
 * @since 0.1.0
 * @category options
 */
export type PutMode = "overwrite" | "create" | {
  readonly eTag?: string | undefined
  readonly version?: string | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export interface MultipartOptions {
  /** Bytes per part. */
  readonly partSize?: number | undefined
  /** Parts uploaded at once. Memory used is about `partSize * concurrency`. */
  readonly concurrency?: number | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export interface PutOptions {
  /**
   * `"overwrite"` (default) replaces any object; `"create"` fails with `AlreadyExists` if one is there;
   * `{ eTag, version }` replaces it only if it still has that ETag / version (`PreconditionFailed` otherwise).
   */
  readonly mode?: PutMode | undefined
  /** Properties stored with the object (content type, cache control, user metadata, ...). */
  readonly attributes?: Attributes | undefined
  /** Object tags (S3 object tagging); stores without tags ignore them. */
  readonly tags?: Readonly<Record<string, string>> | undefined
  /**
   * Multipart upload: on by default for streams where the store has it; `true` or options ask for parts for an
   * in-memory payload too (views of its buffers, no copies); `false` sends one request.
   */
  readonly multipart?: boolean | MultipartOptions | undefined
  /**
   * Called with the bytes stored so far: per part the server acknowledged on stores that report parts (see
   * `Backend.putProgress`), otherwise as the payload is handed to the store; `done === total` once the put succeeded.
   * Costs nothing when absent.
   */
  readonly onProgress?: ((progress: Progress) => void) | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PutResult {
  /** The ETag of the object written, for a later conditional put or get. */
  readonly eTag?: string | undefined
  /** The version of the object written, on stores that keep versions. */
  readonly version?: string | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export interface ListOptions {
  /** List only objects whose path sorts after this one (exclusive), like S3's `StartAfter`. */
  readonly offset?: string | undefined
}

/**
 * The result of `listWithDelimiter`: the objects directly under the prefix, and the "directories" below it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListResult {
  /** The "directories" directly below the prefix, without a trailing `/`. */
  readonly commonPrefixes: ReadonlyArray<string>
  /** The objects directly below the prefix. */
  readonly objects: ReadonlyArray<ObjectMeta>
}

/**
 * @since 0.1.0
 * @category options
 */
export interface CopyOptions {
  /** Replace an existing destination (default `true`); with `false`, fail with `AlreadyExists` instead. */
  readonly overwrite?: boolean | undefined
  /**
   * Called with 0 bytes before and the object's size after a copy (a server-side copy reports nothing between); asks
   * the store for the size first (one more request). Costs nothing when absent.
   */
  readonly onProgress?: ((progress: Progress) => void) | undefined
}

/**
 * @since 0.1.0
 * @category options
 */
export interface GetRangesOptions {
  /** Ranges closer than this many bytes are fetched in one request (default 1 MiB). */
  readonly coalesce?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export declare namespace ObjectStore {
  /**
   * The service: one method per operation.
   *
   * @since 0.1.0
   * @category models
   */
  export interface Service {
    /** The store's name, as used in errors and spans (`"S3Store"`, `"MemoryStore"`, ...). */
    readonly name: string
    /** Reads an object (or a range of it, or only its metadata with `head: true`); the body is streamed. */
    readonly get: (path: string, options?: GetOptions) => Effect.Effect<GetResult, GetError>
    /** Reads a range of an object into memory. */
    readonly getRange: (path: string, range: ByteRange) => Effect.Effect<Uint8Array, GetError>
    /** Reads several ranges of an object, merging nearby ranges into fewer requests. */
    readonly getRanges: (
      path: string,
      ranges: ReadonlyArray<BoundedRange>,
      options?: GetRangesOptions
    ) => Effect.Effect<ReadonlyArray<Uint8Array>, GetError>
    /** Reads the metadata of an object. */
    readonly head: (path: string) => Effect.Effect<ObjectMeta, HeadError>
    /** Writes an object. A failed or interrupted put leaves no partial object visible. */
    readonly put: <E = never>(
      path: string,
      payload: PutPayload<E>,
      options?: PutOptions
    ) => Effect.Effect<PutResult, PutError | E>
    /** Lists every object under a prefix (whole path segments), lazily, in lexicographic order. */
    readonly list: (prefix?: string, options?: ListOptions) => Stream.Stream<ObjectMeta, ListError>
    /** Lists the objects directly under a prefix and the common prefixes ("directories") below it. */
    readonly listWithDelimiter: (prefix?: string) => Effect.Effect<ListResult, ListError>
    /** Copies an object within the store; `overwrite: false` fails with `AlreadyExists` if the target exists. */
    readonly copy: (from: string, to: string, options?: CopyOptions) => Effect.Effect<void, CopyError>
    /** Moves an object within the store; `overwrite: false` fails with `AlreadyExists` if the target exists. */
    readonly rename: (from: string, to: string, options?: CopyOptions) => Effect.Effect<void, CopyError>
    /** Deletes one or many objects. Deleting an object that does not exist succeeds. */
    readonly delete: (paths: string | Iterable<string>) => Effect.Effect<void, DeleteError>
  }
}

/**
 * The service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class ObjectStore extends Context.Tag("effect-obstore/ObjectStore")<ObjectStore, ObjectStore.Service>() {}

/**
 * What a backend implements. Paths arrive checked and normalised, ranges checked; the optional operations are
 * derived from the others when a backend has nothing better.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backend {
  readonly name: string
  /**
   * A rule of the store's own on top of `ObjectPath`'s, checked before any I/O: why a path is refused (an
   * `InvalidPath`), or undefined. For servers that would store a path under another name.
   */
  readonly pathProblem?: ((path: string) => string | undefined) | undefined
  /** Wrap operations in spans (default true). Middleware over a store that already traces sets it to false. */
  readonly spans?: boolean | undefined
  readonly get: (path: string, options: GetOptions) => Effect.Effect<GetResult, GetError>
  readonly put: <E>(path: string, payload: PutPayload<E>, options: PutOptions) => Effect.Effect<PutResult, PutError | E>
  /** Every object under the directory `prefix` (whole segments; `""` is everything), in lexicographic order. */
  readonly list: (prefix: string, options: ListOptions) => Stream.Stream<ObjectMeta, ListError>
  readonly head: (path: string) => Effect.Effect<ObjectMeta, HeadError>
  readonly copy: (from: string, to: string, options: { readonly overwrite: boolean }) => Effect.Effect<void, CopyError>
  /** Deletes one object; a missing object is not an error. */
  readonly delete: (path: string) => Effect.Effect<void, DeleteError>
  readonly getRange?: ((path: string, range: ByteRange) => Effect.Effect<Uint8Array, GetError>) | undefined
  readonly listWithDelimiter?: ((prefix: string) => Effect.Effect<ListResult, ListError>) | undefined
  readonly rename?:
    | ((from: string, to: string, options: { readonly overwrite: boolean }) => Effect.Effect<void, CopyError>)
    | undefined
  readonly deleteMany?: ((paths: ReadonlyArray<string>) => Effect.Effect<void, DeleteError>) | undefined
  /** The part sizes the store accepts; `make` refuses others with `InvalidConfig` before any I/O. */
  readonly multipartLimits?: { readonly minPartSize: number; readonly maxPartSize: number } | undefined
  /**
   * The backend calls `options.onProgress` of `put` itself, per part the server acknowledged. Without it, `make`
   * reports the bytes of the payload as the backend reads them (and the whole size once the put succeeded).
   */
  readonly putProgress?: boolean | undefined
}

// ---------------------------------------------------------------------------------------------------------------
// constructors and helpers for backends (implemented in internal/objectStore.ts)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Makes a service from a backend: checks paths and ranges before any I/O, derives the operations the backend
 * leaves out, and wraps every operation in a span named `Store.operation`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (backend: Backend) => ObjectStore.Service = internal.make

/**
 * What `makeGetResult` takes: a body stream, or the whole body when it is already in memory (or both).
 *
 * @since 0.1.0
 * @category models
 */
export type GetResultParts =
  & {
    readonly meta: ObjectMeta
    readonly range: ResolvedRange
    readonly attributes?: Attributes | undefined
  }
  & (
    | {
      readonly stream: Stream.Stream<Uint8Array, StreamError>
      readonly bytes?: Effect.Effect<Uint8Array, StreamError> | undefined
    }
    | { readonly stream?: undefined; readonly bytes: Effect.Effect<Uint8Array, StreamError> }
  )

/**
 * Builds a `GetResult` from a body stream, or from the whole body when it is already in memory (or both); the other
 * forms are derived when asked for.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeGetResult: (parts: GetResultParts) => GetResult = internal.makeGetResult

/**
 * The same result with other metadata (for middleware that rewrites paths).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withMeta: (result: GetResult, meta: ObjectMeta) => GetResult = internal.withMeta

/**
 * The payload of a put as a stream (for backends).
 *
 * @since 0.1.0
 * @category utils
 */
export const payloadStream: <E>(
  payload: PutPayload<E>,
  context: { readonly store: string; readonly method: string; readonly path: string }
) => Stream.Stream<Uint8Array, E | PayloadError> = internal.payloadStream

/**
 * The payload of a put collected into one buffer (for backends that keep whole objects).
 *
 * @since 0.1.0
 * @category utils
 */
export const payloadBytes: <E>(
  payload: PutPayload<E>,
  context: { readonly store: string; readonly method: string; readonly path: string }
) => Effect.Effect<Uint8Array, E | PayloadError> = internal.payloadBytes

/**
 * Resolves a checked range against an object's size (for backends): an end past the object is cut, a start at or
 * past the end is `InvalidRange`.
 *
 * @since 0.1.0
 * @category utils
 */
export const resolveRange: (
  range: ByteRange,
  size: number,
  context: { readonly store: string; readonly method: string; readonly path: string }
) => Either.Either<ResolvedRange, InvalidRange> = internal.resolveRange

// ---------------------------------------------------------------------------------------------------------------
// accessors
// ---------------------------------------------------------------------------------------------------------------

/**
 * Reads an object (or a range of it, or only its metadata with `head: true`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const get = (path: string, options?: GetOptions): Effect.Effect<GetResult, GetError, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.get(path, options))

/**
 * Reads a range of an object into memory.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getRange = (path: string, range: ByteRange): Effect.Effect<Uint8Array, GetError, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.getRange(path, range))

/**
 * Reads several ranges of an object, merging nearby ranges into fewer requests.
 *
 * @since 0.1.0
 * @category accessors
 */
export const getRanges = (
  path: string,
  ranges: ReadonlyArray<BoundedRange>,
  options?: GetRangesOptions
): Effect.Effect<ReadonlyArray<Uint8Array>, GetError, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.getRanges(path, ranges, options))

/**
 * Reads the metadata of an object.
 *
 * @since 0.1.0
 * @category accessors
 */
export const head = (path: string): Effect.Effect<ObjectMeta, HeadError, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.head(path))

/**
 * Writes an object. A failed or interrupted put leaves no partial object visible.
 *
 * @since 0.1.0
 * @category accessors
 */
export const put = <E = never>(
  path: string,
  payload: PutPayload<E>,
  options?: PutOptions
): Effect.Effect<PutResult, PutError | E, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.put(path, payload, options))

/**
 * Lists every object under a prefix (whole path segments: `"a"` lists `a/b`, not `ab`), lazily, page by page.
 *
 * @since 0.1.0
 * @category accessors
 */
export const list = (prefix?: string, options?: ListOptions): Stream.Stream<ObjectMeta, ListError, ObjectStore> =>
  Stream.unwrap(Effect.map(ObjectStore, (store) => store.list(prefix, options)))

/**
 * Lists the objects directly under a prefix and the common prefixes ("directories") below it.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listWithDelimiter = (prefix?: string): Effect.Effect<ListResult, ListError, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.listWithDelimiter(prefix))

/**
 * Copies an object within the store.
 *
 * @since 0.1.0
 * @category accessors
 */
export const copy = (from: string, to: string, options?: CopyOptions): Effect.Effect<void, CopyError, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.copy(from, to, options))

/**
 * Moves an object within the store.
 *
 * @since 0.1.0
 * @category accessors
 */
export const rename = (
  from: string,
  to: string,
  options?: CopyOptions
): Effect.Effect<void, CopyError, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.rename(from, to, options))

const del = (paths: string | Iterable<string>): Effect.Effect<void, DeleteError, ObjectStore> =>
  Effect.flatMap(ObjectStore, (store) => store.delete(paths))

export {
  /**
   * Deletes one or many objects. Deleting a missing object succeeds.
   *
   * @since 0.1.0
   * @category accessors
   */
  del as delete
}

// ---------------------------------------------------------------------------------------------------------------
// several stores: a tag per role
// ---------------------------------------------------------------------------------------------------------------

/**
 * The operations of this module, reading the service from the tag `Self` instead of `ObjectStore`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Accessors<Self> {
  /** Reads an object (or a range of it, or only its metadata with `head: true`); the body is streamed. */
  readonly get: (path: string, options?: GetOptions) => Effect.Effect<GetResult, GetError, Self>
  /** Reads a range of an object into memory. */
  readonly getRange: (path: string, range: ByteRange) => Effect.Effect<Uint8Array, GetError, Self>
  /** Reads several ranges of an object, merging nearby ranges into fewer requests. */
  readonly getRanges: (
    path: string,
    ranges: ReadonlyArray<BoundedRange>,
    options?: GetRangesOptions
  ) => Effect.Effect<ReadonlyArray<Uint8Array>, GetError, Self>
  /** Reads the metadata of an object. */
  readonly head: (path: string) => Effect.Effect<ObjectMeta, HeadError, Self>
  /** Writes an object. A failed or interrupted put leaves no partial object visible. */
  readonly put: <E = never>(
    path: string,
    payload: PutPayload<E>,
    options?: PutOptions
  ) => Effect.Effect<PutResult, PutError | E, Self>
  /** Lists every object under a prefix (whole path segments), lazily, in lexicographic order. */
  readonly list: (prefix?: string, options?: ListOptions) => Stream.Stream<ObjectMeta, ListError, Self>
  /** Lists the objects directly under a prefix and the common prefixes ("directories") below it. */
  readonly listWithDelimiter: (prefix?: string) => Effect.Effect<ListResult, ListError, Self>
  /** Copies an object within the store; `overwrite: false` fails with `AlreadyExists` if the target exists. */
  readonly copy: (from: string, to: string, options?: CopyOptions) => Effect.Effect<void, CopyError, Self>
  /** Moves an object within the store; `overwrite: false` fails with `AlreadyExists` if the target exists. */
  readonly rename: (from: string, to: string, options?: CopyOptions) => Effect.Effect<void, CopyError, Self>
  /** Deletes one or many objects. Deleting an object that does not exist succeeds. */
  readonly delete: (paths: string | Iterable<string>) => Effect.Effect<void, DeleteError, Self>
}

/**
 * A tag for one role of a store in a program (an archive, a cache, ...), made by `Tag`: a `Context.Tag` holding an
 * `ObjectStore.Service`, with the module's operations as static functions and layers that provide a store under
 * this role.
 *
 * @since 0.1.0
 * @category models
 */
export interface TagClass<Self, Id extends string>
  extends Context.TagClass<Self, Id, ObjectStore.Service>, Accessors<Self>
{
  /**
   * Provides this role with the `ObjectStore` of any store's layer (`S3Store.layer(..)`, `MemoryStore.layer`,
   * `FromUrl.layer(..)`). Only this role leaves the layer: its `ObjectStore` and extras stay inside, so two roles
   * merged never shadow each other. The layer is built for this role alone (`Layer.fresh`), even when the same
   * layer value provides another role too.
   */
  readonly layer: <E, R>(store: Layer.Layer<ObjectStore, E, R>) => Layer.Layer<Self, E, R>
  /**
   * Provides this role with a service built by an effect (`MemoryStore.make`, `S3Store.make(options)`,
   * `FromUrl.fromUrl(url)`); a scoped one is closed with the layer.
   */
  readonly layerEffect: <E, R>(
    make: Effect.Effect<ObjectStore.Service, E, R>
  ) => Layer.Layer<Self, E, Exclude<R, Scope.Scope>>
  /** Runs code written against `ObjectStore` (this module's functions, middleware) on this role's store. */
  readonly provide: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, Exclude<R, ObjectStore> | Self>
}

/**
 * The operations of this module over another tag holding an `ObjectStore.Service`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const accessors = <Self>(tag: Context.Tag<Self, ObjectStore.Service>): Accessors<Self> => ({
  get: (path, options) => Effect.flatMap(tag, (store) => store.get(path, options)),
  getRange: (path, range) => Effect.flatMap(tag, (store) => store.getRange(path, range)),
  getRanges: (path, ranges, options) => Effect.flatMap(tag, (store) => store.getRanges(path, ranges, options)),
  head: (path) => Effect.flatMap(tag, (store) => store.head(path)),
  put: (path, payload, options) => Effect.flatMap(tag, (store) => store.put(path, payload, options)),
  list: (prefix, options) => Stream.unwrap(Effect.map(tag, (store) => store.list(prefix, options))),
  listWithDelimiter: (prefix) => Effect.flatMap(tag, (store) => store.listWithDelimiter(prefix)),
  copy: (from, to, options) => Effect.flatMap(tag, (store) => store.copy(from, to, options)),
  rename: (from, to, options) => Effect.flatMap(tag, (store) => store.rename(from, to, options)),
  delete: (paths) => Effect.flatMap(tag, (store) => store.delete(paths))
})

/**
 * Declares a tag for one role of a store, with the operations of this module as static functions:
 *
 * ```ts
 * class Archive extends ObjectStore.Tag("app/Archive")<Archive>() {}
 *
 * const program = Archive.put("a.txt", "hello")                  // Effect<PutResult, PutError, Archive>
 * program.pipe(Effect.provide(Archive.layer(MemoryStore.layer)))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const Tag = <const Id extends string>(id: Id) => <Self>(): TagClass<Self, Id> => {
  const tag = Context.Tag(id)<Self, ObjectStore.Service>()
  const self: Context.Tag<Self, ObjectStore.Service> = tag
  const extras: Pick<TagClass<Self, Id>, "layer" | "layerEffect" | "provide"> = {
    // Fresh: Effect shares a layer value used twice in one program, and two roles over `MemoryStore.layer` must be
    // two stores.
    layer: (store) => Layer.project(Layer.fresh(store), ObjectStore, self, (service) => service),
    layerEffect: (make) => Layer.scoped(self, make),
    provide: (effect) => Effect.flatMap(self, (service) => Effect.provideService(effect, ObjectStore, service))
  }
  return Object.assign(tag, accessors(self), extras)
}
