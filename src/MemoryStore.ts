/**
 * An in-memory store: every operation, conditional gets and puts with ETags, attributes and tags. Use it in tests in
 * place of a real bucket by providing `MemoryStore.layer` instead of the real store's layer.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as internal from "./internal/objectStore.js"
import * as payloads from "./internal/payload.js"
import { checkPreconditions } from "./internal/preconditions.js"
import * as ObjectPath from "./ObjectPath.js"
import * as ObjectStore from "./ObjectStore.js"
import type { GetError } from "./ObjectStoreError.js"
import { AlreadyExists, NotFound, NotSupported, PreconditionFailed } from "./ObjectStoreError.js"

interface Entry {
  readonly data: Uint8Array
  readonly lastModified: Date
  readonly eTag: string
  readonly attributes: ObjectStore.Attributes
  readonly tags: Readonly<Record<string, string>>
}

const STORE = "MemoryStore"

const conditional = (options: ObjectStore.GetOptions) =>
  options.ifMatch !== undefined || options.ifNoneMatch !== undefined || options.ifModifiedSince !== undefined ||
  options.ifUnmodifiedSince !== undefined

// A fresh copy of a whole object, made when the body is read. Stored bytes are never handed out: a caller mutating
// its buffer must not change the store.
const copyOf = (entry: Entry): Effect.Effect<Uint8Array> => Effect.sync(() => new Uint8Array(entry.data))

// The store's own copy of a payload. Small ones go through Node's Buffer pool: allocating a fresh ArrayBuffer for
// each 1 KiB put was a fifth of a put's time. Stored buffers are never handed out (get copies), so sharing a pool
// slab is invisible to callers.
const keep = (chunks: ReadonlyArray<Uint8Array>): Uint8Array =>
  chunks.length === 1 ? Buffer.from(chunks[0]) : Buffer.concat(chunks)

/**
 * Makes a fresh, empty store. Each call gives an independent store.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<ObjectStore.ObjectStore.Service> = Effect.sync(() => unsafeMake())

// JavaScript runs one fiber step at a time, so reading and replacing an entry within one synchronous step is
// atomic: the checks of a conditional put and its write cannot interleave with another fiber.
interface Memory {
  readonly objects: Map<string, Entry>
  counter: number
}

const metaOf = (path: string, entry: Entry): ObjectStore.ObjectMeta => ({
  path,
  lastModified: entry.lastModified,
  size: entry.data.byteLength,
  eTag: entry.eTag
})

const getEntry = (
  entry: Entry,
  path: string,
  options: ObjectStore.GetOptions
): Effect.Effect<ObjectStore.GetResult, GetError> => {
  const meta = metaOf(path, entry)
  const size = entry.data.byteLength
  // The common case first: the whole object, no conditions.
  if (
    options.range === undefined && options.version === undefined && options.head !== true && !conditional(options)
  ) {
    return Effect.succeed(internal.unsafeGetResult(meta, { start: 0, end: size }, entry.attributes, copyOf(entry)))
  }
  const context = { store: STORE, method: "get", path }
  if (options.version !== undefined) {
    return Effect.fail(new NotSupported({ ...context, description: "MemoryStore keeps no versions" }))
  }
  const failed = checkPreconditions(meta, options, context)
  if (failed !== undefined) return Effect.fail(failed)
  let range: ObjectStore.ResolvedRange = { start: 0, end: size }
  if (options.range !== undefined) {
    const resolved = ObjectStore.resolveRange(options.range, size, context)
    if (Either.isLeft(resolved)) return Effect.fail(resolved.left)
    range = resolved.right
  }
  // Stored bytes are never handed out: a caller mutating its buffer must not change the store.
  const bytes = options.head === true
    ? Effect.succeed(new Uint8Array(0))
    : Effect.sync(() => new Uint8Array(entry.data.subarray(range.start, range.end)))
  return Effect.succeed(ObjectStore.makeGetResult({ meta, range, attributes: entry.attributes, bytes }))
}

const store = (
  memory: Memory,
  path: string,
  data: Uint8Array,
  attributes: ObjectStore.Attributes,
  tags: Entry["tags"]
) => {
  const eTag = String(++memory.counter)
  memory.objects.set(path, { data, lastModified: new Date(), eTag, attributes, tags })
  return eTag
}

// The mode's checks and the write happen in one synchronous step.
const write = (
  memory: Memory,
  path: string,
  data: Uint8Array,
  options: ObjectStore.PutOptions
): Either.Either<ObjectStore.PutResult, AlreadyExists | PreconditionFailed | NotSupported> => {
  const mode = options.mode
  if (mode !== undefined && mode !== "overwrite") {
    const context = { store: STORE, method: "put", path }
    const existing = memory.objects.get(path)
    if (mode === "create") {
      if (existing !== undefined) return Either.left(new AlreadyExists(context))
    } else if (mode.version !== undefined) {
      return Either.left(new NotSupported({ ...context, description: "MemoryStore keeps no versions" }))
    } else if (existing === undefined) {
      return Either.left(new PreconditionFailed({ ...context, description: "the object to update does not exist" }))
    } else if (mode.eTag !== undefined && mode.eTag !== existing.eTag) {
      return Either.left(
        new PreconditionFailed({
          ...context,
          description: `expected ETag ${mode.eTag}, the object has ${existing.eTag}`
        })
      )
    }
  }
  return Either.right({ eTag: store(memory, path, data, options.attributes ?? {}, options.tags ?? {}) })
}

/**
 * Makes a fresh, empty store outside of Effect.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (): ObjectStore.ObjectStore.Service => {
  const memory: Memory = { objects: new Map(), counter: 0 }
  const objects = memory.objects

  const lookup = (method: string, path: string) =>
    Effect.suspend(() => {
      const entry = objects.get(path)
      return entry === undefined ? Effect.fail(new NotFound({ store: STORE, method, path })) : Effect.succeed(entry)
    })

  const get: ObjectStore.Backend["get"] = (path, options) =>
    Effect.suspend(() => {
      const entry = objects.get(path)
      return entry === undefined
        ? Effect.fail(new NotFound({ store: STORE, method: "get", path }))
        : getEntry(entry, path, options)
    })

  const getRange: ObjectStore.Backend["getRange"] = (path, range) =>
    Effect.flatMap(lookup("getRange", path), (entry) => {
      const resolved = ObjectStore.resolveRange(range, entry.data.byteLength, {
        store: STORE,
        method: "getRange",
        path
      })
      return Either.isLeft(resolved)
        ? Effect.fail(resolved.left)
        : Effect.sync(() => new Uint8Array(entry.data.subarray(resolved.right.start, resolved.right.end)))
    })

  const head: ObjectStore.Backend["head"] = (path) => Effect.map(lookup("head", path), (entry) => metaOf(path, entry))

  const put: ObjectStore.Backend["put"] = (path, payload, options) => {
    if (payload instanceof Uint8Array) return Effect.suspend(() => write(memory, path, Buffer.from(payload), options))
    const chunks = payloads.inMemory(payload)
    // In-memory payloads are copied and stored in one step.
    if (chunks !== undefined) return Effect.suspend(() => write(memory, path, keep(chunks), options))
    return Effect.flatMap(
      payloads.bytes(payload, { store: STORE, method: "put", path }),
      // The whole payload is read before the entry is swapped in: a failed stream leaves the old object as it was.
      (data) => write(memory, path, data, options)
    )
  }

  const list: ObjectStore.Backend["list"] = (prefix, options) =>
    Stream.suspend(() => {
      const offset = options.offset
      const keys: Array<string> = []
      for (const key of objects.keys()) {
        if (ObjectPath.isUnder(key, prefix) && (offset === undefined || key > offset)) keys.push(key)
      }
      keys.sort()
      return Stream.fromIterable(keys).pipe(
        Stream.filterMap((key) => {
          // An object deleted while the listing is consumed is left out rather than reported stale.
          const entry = objects.get(key)
          return entry === undefined ? Option.none() : Option.some(metaOf(key, entry))
        })
      )
    })

  const copy: ObjectStore.Backend["copy"] = (from, to, options) =>
    Effect.flatMap(lookup("copy", from), (entry) => {
      if (!options.overwrite && objects.has(to)) {
        return Effect.fail(new AlreadyExists({ store: STORE, method: "copy", path: to }))
      }
      store(memory, to, entry.data, entry.attributes, entry.tags)
      return Effect.void
    })

  const rename: ObjectStore.Backend["rename"] = (from, to, options) =>
    Effect.tap(copy(from, to, options), () => {
      objects.delete(from)
    })

  const del: ObjectStore.Backend["delete"] = (path) =>
    Effect.sync(() => {
      objects.delete(path)
    })

  return ObjectStore.make({
    name: STORE,
    get,
    getRange,
    head,
    put,
    list,
    copy,
    rename,
    delete: del
  })
}

/**
 * Reads a `memory:` URL (`memory:///`, as obstore names an in-memory store). A memory store has no location, so
 * a host, path, query or fragment is refused; the left is why.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parseUrl = (input: string): Either.Either<{}, string> => {
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return Either.left(`not a URL: ${JSON.stringify(input)}`)
  }
  if (url.protocol !== "memory:") return Either.left(`not a memory URL: ${JSON.stringify(input)}`)
  if (url.host !== "" || (url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    return Either.left(`a memory store has no location: use memory:/// (got ${JSON.stringify(input)})`)
  }
  return Either.right({})
}

/**
 * A layer with a fresh, empty store.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<ObjectStore.ObjectStore> = Layer.effect(ObjectStore.ObjectStore, make)
