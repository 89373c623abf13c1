// Transfers between any two stores: one object or every object under a prefix, each streamed from a get of the
// source into a put of the destination (memory bounded by the put's parts in flight per object), several objects
// at once, objects already identical at the destination skipped, and a copy on the server when both sides are
// buckets of the same S3 endpoint (CopyObject, or UploadPartCopy parts above its 5 GiB). A body that breaks is
// resumed by the source store's own get (S3's resumes with a Range request pinned to the ETag); an object whose
// transfer still fails with a StoreError is tried again whole.
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as ObjectPath from "../../ObjectPath.js"
import type { ObjectMeta, ObjectStore, Progress } from "../../ObjectStore.js"
import type { S3Config } from "../../S3Store.js"
import type { Action, Endpoint, Item, Summary, TransferError, TransferOptions } from "../../Transfer.js"
import type { Limits } from "../s3/crossCopy.js"

/** A store's S3 service (`S3Store` tag): its config tells whether two buckets can copy on the server. */
export interface S3Side {
  readonly config: S3Config
  readonly store: ObjectStore.Service
}

export const DEFAULT_CONCURRENCY = 8
/** Objects up to this size are read whole and put in one request; bigger ones are streamed in parts. */
const WHOLE_BYTES = 1024 * 1024
const DEFAULT_RETRIES = 2

const isS3Side = (u: ObjectStore.Service | S3Side): u is S3Side => "config" in u && "store" in u

const serviceOf = (side: ObjectStore.Service | S3Side): ObjectStore.Service => isS3Side(side) ? side.store : side

const MD5 = /^"?([0-9a-f]{32})"?$/i

/**
 * Whether two objects hold the same bytes, as far as their metadata tells: the same size and the same MD5, where
 * both ETags are plain MD5s (single-part S3 uploads, WebDAV). Other ETags (LocalStore's, MemoryStore's, multipart
 * S3 ETags) say nothing about the content of another store's object: those objects are transferred again.
 */
export const identical = (a: ObjectMeta, b: ObjectMeta): boolean => {
  if (a.size !== b.size) return false
  const x = a.eTag === undefined ? null : MD5.exec(a.eTag)
  const y = b.eTag === undefined ? null : MD5.exec(b.eTag)
  return x !== null && y !== null && x[1].toLowerCase() === y[1].toLowerCase()
}

interface Plan {
  readonly meta: ObjectMeta
  readonly to: string
}

const plan = (from: Endpoint, to: Endpoint, recursive: boolean): Effect.Effect<ReadonlyArray<Plan>, TransferError> => {
  const source = serviceOf(from.store)
  if (!recursive) return Effect.map(source.head(from.path), (meta) => [{ meta, to: to.path }])
  const prefix = ObjectPath.parsePrefix(from.path, { store: source.name, method: "list" })
  if (Either.isLeft(prefix)) return Effect.fail(prefix.left)
  return Effect.map(
    Stream.runCollect(source.list(prefix.right)),
    (metas) =>
      Chunk.toReadonlyArray(metas).map((meta) => ({
        meta,
        to: ObjectPath.join(to.path, ObjectPath.relative(meta.path, prefix.right))
      }))
  )
}

const keyOf = (key: unknown): unknown => Redacted.isRedacted(key) ? Redacted.value(key) : key

/** The server-side copier, when both sides are buckets of one S3 endpoint with the same credentials. */
const serverSide = (from: Endpoint, to: Endpoint, options: TransferOptions, limits: Limits | undefined) => {
  if (options.serverSideCopy === false || !isS3Side(from.store) || !isS3Side(to.store)) {
    return Effect.succeed(undefined)
  }
  const a = from.store.config
  const b = to.store.config
  return Effect.flatMap(Effect.promise(() => import("../s3/crossCopy.js")), (Cross) => {
    const same = Cross.endpointOf(a) === Cross.endpointOf(b) && a.region === b.region &&
      keyOf(a.accessKeyId) === keyOf(b.accessKeyId) && a.skipSignature === b.skipSignature
    if (!same) return Effect.succeed(undefined)
    return Effect.map(
      Cross.make(a, b, limits),
      (copy) => (meta: ObjectMeta, dest: string) =>
        copy(ObjectPath.join(a.prefix ?? "", meta.path), ObjectPath.join(b.prefix ?? "", dest), meta.size)
    )
  })
}

export const transfer = (
  from: Endpoint,
  to: Endpoint,
  options: TransferOptions = {}
): Effect.Effect<Summary, TransferError> => transferWith(from, to, options, undefined)

/** The transfer, with the sizes at which a server-side copy is made in parts (S3's unless a test lowers them). */
export const transferWith = (
  from: Endpoint,
  to: Endpoint,
  options: TransferOptions,
  limits: Limits | undefined
): Effect.Effect<Summary, TransferError> =>
  Effect.scoped(Effect.gen(function*() {
    const plans = yield* plan(from, to, options.recursive === true)
    const server = yield* serverSide(from, to, options, limits)
    const run = runner(from, to, options, plans, server)
    const items = yield* Effect.forEach(plans, run, { concurrency: options.concurrency ?? DEFAULT_CONCURRENCY })
    const count = (action: Action) => items.filter((i) => i.action === action).length
    return {
      objects: items.length,
      transferred: count("transferred"),
      copied: count("copied"),
      skipped: count("skipped"),
      bytes: items.reduce((n, i) => (i.action === "skipped" ? n : n + i.size), 0),
      items
    }
  }))

type Server = Effect.Effect.Success<ReturnType<typeof serverSide>>

const runner = (
  from: Endpoint,
  to: Endpoint,
  options: TransferOptions,
  plans: ReadonlyArray<Plan>,
  server: Server
) => {
  const source = serviceOf(from.store)
  const target = serviceOf(to.store)
  const totalBytes = plans.reduce((n, p) => n + p.meta.size, 0)
  const report = options.onProgress
  let finished = 0
  let doneBytes = 0
  const progress = (path: string, delta: number) => {
    doneBytes += delta
    if (report !== undefined) {
      report({ done: doneBytes, total: totalBytes, objects: finished, totalObjects: plans.length, path })
    }
  }
  const end = (item: Item): Item => {
    finished++
    progress(item.from, 0)
    options.onObject?.(item)
    return item
  }
  const stream = (p: Plan) =>
    Effect.suspend(() => {
      let sent = 0
      const onProgress = report === undefined ? undefined : (x: Progress) => {
        progress(p.meta.path, x.done - sent)
        sent = x.done
      }
      const attempt = Effect.flatMap(
        source.get(p.meta.path, p.meta.eTag === undefined ? {} : { ifMatch: p.meta.eTag }),
        (result) => {
          const attributes = options.attributes === true ? result.attributes : undefined
          // A small object is read whole and put in one request: a stream on both sides cost a small file more
          // than its bytes did (Transfer of 200 small files: 174 files/s streamed, see docs/decisions.md).
          return p.meta.size <= WHOLE_BYTES
            ? Effect.flatMap(result.bytes, (bytes) => target.put(p.to, bytes, { attributes, onProgress }))
            : target.put(p.to, result.stream, { multipart: options.multipart ?? true, attributes, onProgress })
        }
      )
      // A failed attempt's bytes are taken back from the progress before the next one.
      const undo = Effect.sync(() => {
        progress(p.meta.path, -sent)
        sent = 0
      })
      return Effect.retry(Effect.tapError(attempt, () => undo), {
        times: options.retries ?? DEFAULT_RETRIES,
        while: (e) => e._tag === "StoreError"
      }).pipe(Effect.zipRight(Effect.sync(() => progress(p.meta.path, p.meta.size - sent))))
    })
  return (p: Plan): Effect.Effect<Item, TransferError> =>
    Effect.gen(function*() {
      const item = (action: Action): Item => ({ from: p.meta.path, to: p.to, size: p.meta.size, action })
      if (options.skipIdentical !== false) {
        const existing = yield* Effect.either(target.head(p.to))
        if (Either.isRight(existing) && identical(p.meta, existing.right)) return end(item("skipped"))
        if (Either.isLeft(existing) && existing.left._tag !== "NotFound") return yield* Effect.fail(existing.left)
      }
      if (server !== undefined) {
        yield* server(p.meta, p.to)
        progress(p.meta.path, p.meta.size)
        return end(item("copied"))
      }
      yield* stream(p)
      return end(item("transferred"))
    })
}
