// The reader behind `ObjectReader`: an object read through fixed-size buffers, each fetched with one ranged get
// pinned to the ETag the reader opened, so a read that lands in a buffer already fetched costs no request, a
// sequential read fetches the next buffers ahead of time, and a changed object fails instead of mixing bytes.
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as FiberId from "effect/FiberId"
import type * as Scope from "effect/Scope"
import type { Attributes, GetOptions, ObjectMeta, ObjectStore } from "../../ObjectStore.js"
import type { GetError } from "../../ObjectStoreError.js"
import { InvalidConfig, InvalidRange } from "../../ObjectStoreError.js"

/** Options of `openReader`. */
export interface ReaderOptions {
  /** Bytes per request (and per buffer kept); default 1 MiB. */
  readonly bufferSize?: number | undefined
  /** Buffers fetched ahead, concurrently, while the reader reads sequentially; default 2, 0 turns it off. */
  readonly prefetch?: number | undefined
  /**
   * Buffers kept at most, the least recently used forgotten first; default `prefetch + 2`. More of them let random
   * reads that come back to the same regions (a columnar file's footer, then its row groups) cost no request again.
   * At least `prefetch + 1`; memory is up to `buffers x bufferSize`.
   */
  readonly buffers?: number | undefined
  /** Read this version of the object, on stores that keep versions. */
  readonly version?: string | undefined
}

export type Whence = "start" | "current" | "end"

export interface Reader {
  readonly meta: ObjectMeta
  readonly size: number
  readonly attributes: Attributes
  readonly read: (n?: number) => Effect.Effect<Uint8Array, GetError>
  readonly readAll: Effect.Effect<Uint8Array, GetError>
  readonly readRange: (start: number, end: number) => Effect.Effect<Uint8Array, GetError>
  readonly seek: (offset: number, whence?: Whence) => Effect.Effect<number, InvalidRange>
  readonly tell: Effect.Effect<number>
  readonly requests: () => number
}

export const DEFAULT_BUFFER_SIZE = 1024 * 1024
export const DEFAULT_PREFETCH = 2

const EMPTY = new Uint8Array(0)

const isCount = (u: unknown, min: number): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= min

const checkOptions = (store: string, path: string, options: ReaderOptions): InvalidConfig | undefined => {
  const bad = (field: string, description: string) =>
    new InvalidConfig({ store, method: "openReader", path, field, description })
  if (options.bufferSize !== undefined && !isCount(options.bufferSize, 1)) {
    return bad("bufferSize", `expected a positive integer, got ${String(options.bufferSize)}`)
  }
  if (options.prefetch !== undefined && !isCount(options.prefetch, 0)) {
    return bad("prefetch", `expected an integer >= 0, got ${String(options.prefetch)}`)
  }
  const least = (options.prefetch ?? DEFAULT_PREFETCH) + 1
  if (options.buffers !== undefined && !isCount(options.buffers, least)) {
    return bad(
      "buffers",
      `expected an integer >= ${least} (the buffer read and the ${least - 1} fetched ahead), got ${
        String(options.buffers)
      }`
    )
  }
  return undefined
}

// What every ranged get of the reader carries: the ETag it opened (or, without one, the version or the date).
const pinOf = (meta: ObjectMeta, version: string | undefined): GetOptions =>
  meta.eTag !== undefined
    ? { ifMatch: meta.eTag, version }
    : meta.version !== undefined || version !== undefined
    ? { version: version ?? meta.version }
    : { ifUnmodifiedSince: meta.lastModified }

const copyInto = (parts: ReadonlyArray<Uint8Array>, length: number): Uint8Array => {
  if (parts.length === 1) return parts[0]
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

export const open = (
  store: ObjectStore.Service,
  path: string,
  options: ReaderOptions = {}
): Effect.Effect<Reader, GetError, Scope.Scope> =>
  Effect.gen(function*() {
    const problem = checkOptions(store.name, path, options)
    if (problem !== undefined) return yield* Effect.fail(problem)
    const head = yield* store.get(path, { head: true, version: options.version })
    const scope = yield* Effect.scope
    return makeReader(store, path, head.meta, head.attributes, options, scope)
  })

const makeReader = (
  store: ObjectStore.Service,
  path: string,
  meta: ObjectMeta,
  attributes: Attributes,
  options: ReaderOptions,
  scope: Scope.Scope
): Reader => {
  const size = meta.size
  const bufferSize = options.bufferSize ?? DEFAULT_BUFFER_SIZE
  const prefetch = options.prefetch ?? DEFAULT_PREFETCH
  // The buffers kept: by default the ones a read spans plus the ones fetched ahead. Insertion order is recency.
  const capacity = options.buffers ?? prefetch + 2
  const pin = pinOf(meta, options.version)
  const blocks = new Map<number, Deferred.Deferred<Uint8Array, GetError>>()
  let requests = 0
  let position = 0
  let lastEnd = -1

  const fetch = (start: number, end: number): Effect.Effect<Uint8Array, GetError> =>
    Effect.suspend(() => {
      requests++
      return Effect.flatMap(store.get(path, { ...pin, range: { start, end } }), (result) => result.bytes)
    })

  // The buffer at `index`, fetched in the reader's scope (a read that stops waiting does not cancel it: another
  // read may be waiting too). Buffers beyond the capacity are forgotten, oldest first.
  const block = (index: number): Effect.Effect<Deferred.Deferred<Uint8Array, GetError>> =>
    Effect.suspend(() => {
      const known = blocks.get(index)
      if (known !== undefined) {
        blocks.delete(index)
        blocks.set(index, known)
        return Effect.succeed(known)
      }
      const deferred = Deferred.unsafeMake<Uint8Array, GetError>(FiberId.none)
      blocks.set(index, deferred)
      for (const key of blocks.keys()) {
        if (blocks.size <= capacity) break
        if (key !== index) blocks.delete(key)
      }
      const start = index * bufferSize
      const run = fetch(start, Math.min(size, start + bufferSize)).pipe(
        // A failed fetch is not kept: a transient failure is retried by the next read that needs the buffer.
        Effect.tapError(() => Effect.sync(() => blocks.get(index) === deferred && blocks.delete(index))),
        Effect.intoDeferred(deferred)
      )
      return Effect.as(Effect.forkIn(run, scope), deferred)
    })

  // Asks for the buffers a span needs (fetching the missing ones) and returns the wait for its bytes.
  const request = (start: number, end: number): Effect.Effect<Effect.Effect<Uint8Array, GetError>> => {
    if (end <= start) return Effect.succeed(Effect.succeed(EMPTY))
    const first = Math.floor(start / bufferSize)
    const last = Math.floor((end - 1) / bufferSize)
    // A span wider than the buffers kept is read in one request of its own, around the buffers.
    if (last - first + 1 > capacity) return Effect.succeed(fetch(start, end))
    const indices: Array<number> = []
    for (let i = first; i <= last; i++) indices.push(i)
    return Effect.map(
      Effect.forEach(indices, block),
      (waits) =>
        Effect.map(Effect.forEach(waits, Deferred.await), (buffers) =>
          copyInto(
            buffers.map((b, k) => {
              const base = (first + k) * bufferSize
              return b.subarray(Math.max(0, start - base), Math.min(b.byteLength, end - base))
            }),
            end - start
          ))
    )
  }

  const readAt = (start: number, end: number) => Effect.flatten(request(start, end))

  const ahead = (end: number): Effect.Effect<void> => {
    const next = Math.floor((end - 1) / bufferSize) + 1
    const indices: Array<number> = []
    for (let i = next; i < next + prefetch && i * bufferSize < size; i++) indices.push(i)
    return Effect.forEach(indices, block, { discard: true })
  }

  const read = (n?: number): Effect.Effect<Uint8Array, GetError> =>
    Effect.suspend(() => {
      const start = Math.min(position, size)
      const end = n === undefined ? size : Math.min(size, start + Math.max(0, Math.floor(n)))
      const sequential = start === lastEnd || start === 0
      position = end
      lastEnd = end
      // The buffers a read needs are asked for first, then the ones ahead of it, then the read waits.
      return sequential && prefetch > 0 && end < size
        ? Effect.flatMap(request(start, end), (wait) => Effect.zipRight(ahead(end), wait))
        : readAt(start, end)
    })

  const where = { store: store.name, method: "seek", path }
  const seek = (offset: number, whence: Whence = "start"): Effect.Effect<number, InvalidRange> =>
    Effect.suspend(() => {
      const base = whence === "start" ? 0 : whence === "current" ? position : size
      const target = base + offset
      if (!Number.isSafeInteger(target) || target < 0) {
        return Effect.fail(new InvalidRange({ ...where, description: `cannot seek to ${target}` }))
      }
      position = target
      return Effect.succeed(target)
    })

  return {
    meta,
    size,
    attributes,
    read,
    readAll: Effect.suspend(() => read(undefined)),
    readRange: (start, end) =>
      start < 0 || end < start || !Number.isSafeInteger(start) || !Number.isSafeInteger(end)
        ? Effect.fail(
          new InvalidRange({ ...where, method: "readRange", description: `bad range ${start}..${end}` })
        )
        : readAt(Math.min(start, size), Math.min(end, size)),
    seek,
    tell: Effect.sync(() => position),
    requests: () => requests
  }
}
