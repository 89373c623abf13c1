/**
 * The `ObjectStore` service: one small, typed interface over every store. Each operation is a method of the
 * service and a top-level function of this module that reads the service from the context.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as payloads from "./internal/payload.js"
import * as ranges from "./internal/ranges.js"
import { traced as spanned } from "./internal/span.js"
import * as ObjectPath from "./ObjectPath.js"
import type {
  CopyError,
  DeleteError,
  GetError,
  HeadError,
  InvalidPath,
  ListError,
  PutError,
  StreamError
} from "./ObjectStoreError.js"
import { InvalidConfig, InvalidRange, StoreError, withContext } from "./ObjectStoreError.js"

/**
 * The metadata of a stored object.
 *
 * @since 0.1.0
 * @category models
 */
export interface ObjectMeta {
  /** The path of the object, relative to the store (and its prefix). */
  readonly path: string
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
  readonly contentType?: string | undefined
  readonly contentDisposition?: string | undefined
  readonly contentEncoding?: string | undefined
  readonly contentLanguage?: string | undefined
  readonly cacheControl?: string | undefined
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
 * @since 0.1.0
 * @category options
 */
export interface GetOptions {
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
}

/**
 * The result of `get`. The body is read through `stream`, `bytes` or `text`; the body of a result that is never
 * read holds no resources.
 *
 * @since 0.1.0
 * @category models
 */
export interface GetResult {
  readonly meta: ObjectMeta
  /** The bytes of the object this result holds. */
  readonly range: ResolvedRange
  readonly attributes: Attributes
  readonly stream: Stream.Stream<Uint8Array, StreamError>
  readonly bytes: Effect.Effect<Uint8Array, StreamError>
  readonly text: Effect.Effect<string, StreamError>
}

/**
 * What `put` accepts. Payloads that are already in memory are sent in one request; streams are uploaded in parts
 * with bounded memory where the store supports it.
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
  readonly mode?: PutMode | undefined
  readonly attributes?: Attributes | undefined
  readonly tags?: Readonly<Record<string, string>> | undefined
  /** Multipart upload for stream payloads: on by default where the store has it; `false` buffers instead. */
  readonly multipart?: boolean | MultipartOptions | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface PutResult {
  readonly eTag?: string | undefined
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
  readonly commonPrefixes: ReadonlyArray<string>
  readonly objects: ReadonlyArray<ObjectMeta>
}

/**
 * @since 0.1.0
 * @category options
 */
export interface CopyOptions {
  /** Replace an existing destination (default `true`); with `false`, fail with `AlreadyExists` instead. */
  readonly overwrite?: boolean | undefined
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
    readonly get: (path: string, options?: GetOptions) => Effect.Effect<GetResult, GetError>
    readonly getRange: (path: string, range: ByteRange) => Effect.Effect<Uint8Array, GetError>
    readonly getRanges: (
      path: string,
      ranges: ReadonlyArray<BoundedRange>,
      options?: GetRangesOptions
    ) => Effect.Effect<ReadonlyArray<Uint8Array>, GetError>
    readonly head: (path: string) => Effect.Effect<ObjectMeta, HeadError>
    readonly put: <E = never>(
      path: string,
      payload: PutPayload<E>,
      options?: PutOptions
    ) => Effect.Effect<PutResult, PutError | E>
    readonly list: (prefix?: string, options?: ListOptions) => Stream.Stream<ObjectMeta, ListError>
    readonly listWithDelimiter: (prefix?: string) => Effect.Effect<ListResult, ListError>
    readonly copy: (from: string, to: string, options?: CopyOptions) => Effect.Effect<void, CopyError>
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
}

/** Bytes closer than this are fetched in one request by `getRanges` (object_store's default). */
const DEFAULT_COALESCE = 1024 * 1024
const RANGE_CONCURRENCY = 10
const DELETE_CONCURRENCY = 10

const decoder = new TextDecoder()

// Streams and effects are built only when a caller asks for them: most callers read `bytes` or `text` once, and
// building an unused Stream per get is measurable on an in-memory store.
class GetResultImpl implements GetResult {
  constructor(
    readonly meta: ObjectMeta,
    readonly range: ResolvedRange,
    readonly attributes: Attributes,
    private readonly body: Stream.Stream<Uint8Array, StreamError> | undefined,
    private readonly whole: Effect.Effect<Uint8Array, StreamError> | undefined
  ) {}
  get stream(): Stream.Stream<Uint8Array, StreamError> {
    return this.body ?? Stream.fromEffect(this.whole!)
  }
  get bytes(): Effect.Effect<Uint8Array, StreamError> {
    return this.whole ?? Stream.runCollect(this.body!).pipe(
      Effect.map((chunks) => payloads.concat(Chunk.toReadonlyArray(chunks), false))
    )
  }
  get text(): Effect.Effect<string, StreamError> {
    return Effect.map(this.bytes, (b) => decoder.decode(b))
  }
  withMeta(meta: ObjectMeta): GetResult {
    return new GetResultImpl(meta, this.range, this.attributes, this.body, this.whole)
  }
}

/**
 * Builds a `GetResult` from a body stream, or from the whole body when it is already in memory (or both); the other
 * forms are derived when asked for.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeGetResult = (
  options:
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
): GetResult => new GetResultImpl(options.meta, options.range, options.attributes ?? {}, options.stream, options.bytes)

/**
 * The same result with other metadata (for middleware that rewrites paths).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withMeta = (result: GetResult, meta: ObjectMeta): GetResult =>
  result instanceof GetResultImpl
    ? result.withMeta(meta)
    : makeGetResult({ meta, range: result.range, attributes: result.attributes, stream: result.stream })

const checkRange = (store: string, method: string, path: string, range: ByteRange | undefined) => {
  if (range === undefined) return undefined
  const why = ranges.problem(range)
  return why === undefined ? undefined : new InvalidRange({ store, method, path, description: why })
}

/**
 * Makes a service from a backend: checks paths and ranges before any I/O, derives the operations the backend
 * leaves out, and wraps every operation in a span named `Store.operation`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (backend: Backend): ObjectStore.Service => {
  const store = backend.name
  const traced = backend.spans ?? true
  const span = (method: string, path: string | undefined) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    !traced ? effect : spanned(
      effect,
      `${store}.${method}`,
      path === undefined ? { "objectstore.store": store } : { "objectstore.store": store, "objectstore.path": path }
    )

  // Derived operations fail with the errors of the primitives they call: report the operation the caller called.
  const relabel = <A, E>(method: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Effect.mapError(effect, (error) => withContext(error, { method }))

  const withPath = <A, E>(
    method: string,
    input: string,
    f: (path: string) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | InvalidPath> => {
    const parsed = ObjectPath.parse(input, { store, method })
    return Either.isLeft(parsed)
      ? Effect.fail(parsed.left)
      : span(method, parsed.right)(f(parsed.right))
  }

  const rawGetRange = backend.getRange ??
    ((path: string, range: ByteRange) => Effect.flatMap(backend.get(path, { range }), (result) => result.bytes))

  const rawDeleteMany = backend.deleteMany ??
    ((paths: ReadonlyArray<string>) =>
      Effect.forEach(paths, backend.delete, { concurrency: DELETE_CONCURRENCY, discard: true }))

  const rawRename = backend.rename ??
    ((from: string, to: string, options: { readonly overwrite: boolean }) =>
      Effect.zipRight(backend.copy(from, to, options), backend.delete(from)))

  const rawListWithDelimiter = backend.listWithDelimiter ??
    ((prefix: string) =>
      Stream.runFold(
        backend.list(prefix, {}),
        { commonPrefixes: new Set<string>(), objects: [] as Array<ObjectMeta> },
        (acc, meta) => {
          const rest = ObjectPath.relative(meta.path, prefix)
          const slash = rest.indexOf(ObjectPath.DELIMITER)
          if (slash === -1) acc.objects.push(meta)
          else acc.commonPrefixes.add(ObjectPath.join(prefix, rest.slice(0, slash)))
          return acc
        }
      ).pipe(
        Effect.map((acc): ListResult => ({ commonPrefixes: Array.from(acc.commonPrefixes), objects: acc.objects }))
      ))

  const get: ObjectStore.Service["get"] = (input, options = {}) =>
    withPath("get", input, (path) => {
      const bad = checkRange(store, "get", path, options.range)
      return bad === undefined ? backend.get(path, options) : Effect.fail(bad)
    })

  const getRange: ObjectStore.Service["getRange"] = (input, range) =>
    withPath("getRange", input, (path) => {
      const bad = checkRange(store, "getRange", path, range)
      return bad === undefined ? relabel("getRange", rawGetRange(path, range)) : Effect.fail(bad)
    })

  const getRanges: ObjectStore.Service["getRanges"] = (input, list, options = {}) =>
    withPath("getRanges", input, (path) => {
      const bounded: Array<ranges.Bounded> = []
      for (const range of list) {
        const bad = checkRange(store, "getRanges", path, range)
        if (bad !== undefined) return Effect.fail(bad)
        const b = ranges.bounds(range)
        if (b.end === undefined) {
          return Effect.fail(
            new InvalidRange({ store, method: "getRanges", path, description: "getRanges takes bounded ranges only" })
          )
        }
        bounded.push({ start: b.start, end: b.end })
      }
      const { merged, owner } = ranges.coalesce(bounded, options.coalesce ?? DEFAULT_COALESCE)
      return Effect.forEach(merged, (r) => relabel("getRanges", rawGetRange(path, r)), {
        concurrency: RANGE_CONCURRENCY
      }).pipe(
        Effect.flatMap((buffers) => {
          const out: Array<Uint8Array> = []
          for (let i = 0; i < bounded.length; i++) {
            const m = merged[owner[i]]
            const buffer = buffers[owner[i]]
            const from = bounded[i].start - m.start
            // The merged read was cut at the object's end: a requested range that starts past it is unsatisfiable.
            if (from >= buffer.byteLength) {
              return Effect.fail(
                new InvalidRange({
                  store,
                  method: "getRanges",
                  path,
                  description: `${ranges.show(list[i])} starts at or past the end of the object`
                })
              )
            }
            out.push(buffer.subarray(from, Math.min(bounded[i].end - m.start, buffer.byteLength)))
          }
          return Effect.succeed(out)
        })
      )
    })

  const head: ObjectStore.Service["head"] = (input) => withPath("head", input, backend.head)

  const put: ObjectStore.Service["put"] = (input, payload, options = {}) =>
    withPath("put", input, (path) => backend.put(path, payload, options))

  const list: ObjectStore.Service["list"] = (prefix, options = {}) => {
    const parsed = ObjectPath.parsePrefix(prefix, { store, method: "list" })
    if (Either.isLeft(parsed)) return Stream.fail(parsed.left)
    const stream = backend.list(parsed.right, options)
    return !traced ? stream : stream.pipe(
      Stream.withSpan(`${store}.list`, {
        captureStackTrace: false,
        attributes: { "objectstore.store": store, "objectstore.prefix": parsed.right }
      })
    )
  }

  const listWithDelimiter: ObjectStore.Service["listWithDelimiter"] = (prefix) => {
    const parsed = ObjectPath.parsePrefix(prefix, { store, method: "listWithDelimiter" })
    if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
    return span("listWithDelimiter", parsed.right)(relabel("listWithDelimiter", rawListWithDelimiter(parsed.right)))
  }

  const twoPaths = <A, E>(
    method: string,
    fromInput: string,
    toInput: string,
    f: (from: string, to: string) => Effect.Effect<A, E>
  ): Effect.Effect<A, E | InvalidPath> => {
    const from = ObjectPath.parse(fromInput, { store, method })
    if (Either.isLeft(from)) return Effect.fail(from.left)
    const to = ObjectPath.parse(toInput, { store, method })
    if (Either.isLeft(to)) return Effect.fail(to.left)
    const effect = f(from.right, to.right)
    return !traced ? effect : spanned(effect, `${store}.${method}`, {
      "objectstore.store": store,
      "objectstore.path": from.right,
      "objectstore.to": to.right
    })
  }

  const copy: ObjectStore.Service["copy"] = (from, to, options = {}) =>
    twoPaths("copy", from, to, (f, t) => backend.copy(f, t, { overwrite: options.overwrite ?? true }))

  const rename: ObjectStore.Service["rename"] = (from, to, options = {}) =>
    twoPaths("rename", from, to, (f, t) => relabel("rename", rawRename(f, t, { overwrite: options.overwrite ?? true })))

  const del: ObjectStore.Service["delete"] = (paths) => {
    if (typeof paths === "string") return withPath("delete", paths, backend.delete)
    const checked: Array<string> = []
    for (const input of paths) {
      const parsed = ObjectPath.parse(input, { store, method: "delete" })
      if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
      checked.push(parsed.right)
    }
    if (checked.length === 0) return Effect.void
    return span("delete", checked.length === 1 ? checked[0] : undefined)(
      relabel("delete", checked.length === 1 ? backend.delete(checked[0]) : rawDeleteMany(checked))
    )
  }

  return {
    name: store,
    get,
    getRange,
    getRanges,
    head,
    put,
    list,
    listWithDelimiter,
    copy,
    rename,
    delete: del
  }
}

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

/**
 * The payload of a put as a stream (for backends).
 *
 * @since 0.1.0
 * @category utils
 */
export const payloadStream: <E>(
  payload: PutPayload<E>,
  context: { readonly store: string; readonly method: string; readonly path: string }
) => Stream.Stream<Uint8Array, E | StoreError> = payloads.toStream

/**
 * The payload of a put collected into one buffer (for backends that keep whole objects).
 *
 * @since 0.1.0
 * @category utils
 */
export const payloadBytes: <E>(
  payload: PutPayload<E>,
  context: { readonly store: string; readonly method: string; readonly path: string }
) => Effect.Effect<Uint8Array, E | StoreError> = payloads.collect

/**
 * Resolves a checked range against an object's size (for backends): an end past the object is cut, a start at or
 * past the end is `InvalidRange`.
 *
 * @since 0.1.0
 * @category utils
 */
export const resolveRange = (
  range: ByteRange,
  size: number,
  context: { readonly store: string; readonly method: string; readonly path: string }
): Either.Either<ResolvedRange, InvalidRange> =>
  Either.mapLeft(ranges.resolve(range, size), (description) => new InvalidRange({ ...context, description }))

/**
 * The options `layerFromUrl` passes on to the store it picks (for `s3://`, any `S3Store` option).
 *
 * @since 0.1.0
 * @category models
 */
export type FromUrlOptions = Readonly<Record<string, unknown>>

/**
 * Picks the store from a URL, like obstore's `from_url`: `memory:///`, `file:///absolute/dir`, `s3://bucket/prefix`
 * (credentials and region from `options` and the usual `AWS_*` environment variables). The store modules are loaded
 * only when their scheme is used.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromUrl = (
  url: string,
  options: FromUrlOptions = {}
): Layer.Layer<ObjectStore, InvalidConfig | InvalidPath> => {
  const invalid = (description: string, field = "url") =>
    Layer.fail(new InvalidConfig({ store: "ObjectStore", method: "layerFromUrl", field, description }))
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return invalid(`not a URL: ${JSON.stringify(url)}`)
  }
  const path = decodeURIComponent(parsed.pathname)
  switch (parsed.protocol) {
    case "memory:":
      return Layer.unwrapEffect(Effect.promise(() => import("./MemoryStore.js")).pipe(Effect.map((m) => m.layer)))
    case "file:":
      return Layer.unwrapEffect(
        Effect.promise(() => import("./LocalStore.js")).pipe(
          Effect.map((m) => m.layer({ ...(options as object), root: path } as Parameters<typeof m.layer>[0]))
        )
      )
    case "s3:":
    case "s3a:": {
      const prefix = path.replace(/^\/+|\/+$/g, "")
      return Layer.unwrapEffect(
        Effect.promise(() => import("./S3Store.js")).pipe(
          Effect.map((m) =>
            Layer.project(
              m.layerConfig(
                {
                  ...(options as object),
                  bucket: parsed.hostname,
                  ...(prefix === "" ? {} : { prefix })
                } as Parameters<typeof m.layerConfig>[0]
              ),
              ObjectStore,
              ObjectStore,
              (store) => store
            )
          )
        )
      )
    }
    default:
      return invalid(
        `unsupported scheme ${JSON.stringify(parsed.protocol)}: use memory:///, file:///dir or s3://bucket/prefix`
      )
  }
}
