// The multipart driver every cloud's big uploads share: a payload stream cut into parts of a fixed size, a payload of
// one part or less sent as one request instead, parts uploaded with bounded concurrency (1 for clouds whose uploads
// are sequential, like GCS resumable uploads), and the upload aborted on any failure or interruption. What the
// requests are (S3 CreateMultipartUpload/UploadPart/Complete, Azure Put Block/Put Block List, ...) is the cloud's.
//
// Memory is bounded by the part size times the concurrency, whatever the chunk sizes: parts are cut one at a time,
// only when an upload slot is free to take one, and the upstream is pulled only when a part needs more bytes. A
// chunk that covers a whole part is sent as a view of it (no copy); only parts made of several chunks are copied,
// once, into a buffer of the part size. Chunks are held as views until their part is cut, so a source must not
// reuse a chunk's memory after emitting it (Effect's chunks are immutable; ours are fresh buffers).
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"

/** One multipart upload as a cloud does it; `Id` names the upload, `Part` is what completing needs of each part. */
export interface Upload<Id, Part, A, E> {
  readonly start: Effect.Effect<Id, E>
  /** Uploads part number `index` (from 0). */
  readonly part: (id: Id, body: Uint8Array, index: number) => Effect.Effect<Part, E>
  readonly complete: (id: Id, parts: ReadonlyArray<Part>) => Effect.Effect<A, E>
  /** Drops the parts of an upload that will not be completed. Never fails. */
  readonly abort: (id: Id) => Effect.Effect<void>
}

// A buffer for a part made of several chunks: every byte is written before it is sent, so no zero-filling.
const allocate = (size: number): Uint8Array =>
  typeof Buffer === "undefined" ? new Uint8Array(size) : Buffer.allocUnsafeSlow(size)

// The buffers of parts that were uploaded go back to the reader that cut them. A fresh 8 MiB buffer per part comes
// from the kernel as new pages, and faulting them in was most of the driver's CPU in the profile.
const owners = new WeakMap<Uint8Array, { readonly free: Array<Uint8Array>; readonly buffer: Uint8Array }>()

/** Hands the buffer of an uploaded part back for the next part; parts that are views of the caller's are left. */
export const recycle = (part: Uint8Array): void => {
  const owner = owners.get(part)
  if (owner === undefined) return
  owners.delete(part)
  owner.free.push(owner.buffer)
}

/** Copies `views` (of `total` bytes) into `out`, in order. */
const gather = (views: ReadonlyArray<Uint8Array>, out: Uint8Array): Uint8Array => {
  let at = 0
  for (const view of views) {
    out.set(view, at)
    at += view.byteLength
  }
  return out
}

/**
 * Cuts a pulled stream into parts, one part per call: `Option.none()` when the stream is done. Not safe for
 * concurrent calls.
 *
 * The bytes of a part are held as views of the chunks until the part is full; only then is a part buffer taken
 * (a recycled one, or a new one) and filled. A stream shorter than a part (most small objects) so never allocates
 * a part-sized buffer: its one part is its chunk itself, or a copy of exactly its length. Allocating 8 MiB per small
 * streamed put, as this did before, made such puts 2.6x slower than a put of the same bytes.
 */
const partReader = <E>(
  pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>>,
  size: number
): Effect.Effect<Uint8Array, Option.Option<E>> => {
  let chunks: Array<Uint8Array | undefined> = []
  let index = 0
  let offset = 0
  let ended = false
  let pending: Array<Uint8Array> = []
  let pendingBytes = 0
  const free: Array<Uint8Array> = []
  const takePending = (): Uint8Array => {
    const views = pending
    const total = pendingBytes
    pending = []
    pendingBytes = 0
    if (views.length === 1) return views[0]!
    if (total < size) return gather(views, new Uint8Array(total))
    const buffer = free.pop() ?? allocate(size)
    owners.set(buffer, { free, buffer })
    return gather(views, buffer)
  }
  const end: Effect.Effect<Uint8Array, Option.Option<E>> = Effect.suspend(() =>
    pendingBytes === 0 ? Effect.fail(Option.none()) : Effect.succeed(takePending())
  )
  const next: Effect.Effect<Uint8Array, Option.Option<E>> = Effect.suspend(() => {
    while (index < chunks.length) {
      const chunk = chunks[index]!
      const available = chunk.byteLength - offset
      if (available === 0) {
        // A chunk read to its end is let go: the parts cut from it keep only what they still need.
        chunks[index++] = undefined
        offset = 0
        continue
      }
      const n = Math.min(available, size - pendingBytes)
      pending.push(n === chunk.byteLength ? chunk : chunk.subarray(offset, offset + n))
      pendingBytes += n
      offset += n
      if (pendingBytes === size) return Effect.succeed(takePending())
    }
    if (ended) return end
    return Effect.matchEffect(pull, {
      onFailure: Option.match({
        onNone: () => {
          ended = true
          return end
        },
        onSome: (e) => Effect.fail(Option.some(e))
      }),
      onSuccess: (chunk) => {
        chunks = Chunk.toArray(chunk)
        index = 0
        offset = 0
        return next
      }
    })
  })
  return next
}

/**
 * Splits a stream of chunks into parts of exactly `size` bytes (the last may be shorter, never empty), one part per
 * pull of the result.
 */
export const toParts = <E>(stream: Stream.Stream<Uint8Array, E>, size: number): Stream.Stream<Uint8Array, E> =>
  Stream.unwrapScoped(
    Effect.map(Stream.toPull(stream), (pull) => Stream.repeatEffectOption(partReader(pull, size)))
  )

/**
 * Reads the first two parts of `parts`: with one part or none, `single` sends it (one request is cheaper and needs
 * nothing cleaned up); with more, `multi` gets every part, the two already read first.
 */
export const splitPut = <E, A, E2, R2>(
  parts: Stream.Stream<Uint8Array, E>,
  single: (body: Uint8Array) => Effect.Effect<A, E2, R2>,
  multi: (parts: Stream.Stream<Uint8Array, E>) => Effect.Effect<A, E2, R2>
): Effect.Effect<A, E | E2, R2> =>
  Effect.scoped(
    Effect.flatMap(Stream.toPull(parts), (pull) => {
      const buffered: Array<Uint8Array> = []
      let done = false
      const fill = (n: number): Effect.Effect<void, E> =>
        done || buffered.length >= n ? Effect.void : Effect.matchEffect(pull, {
          onFailure: Option.match({
            onNone: () => {
              done = true
              return Effect.void
            },
            onSome: Effect.fail
          }),
          onSuccess: (chunk) => {
            for (const part of chunk) buffered.push(part)
            return fill(n)
          }
        })
      return Effect.flatMap(fill(2), (): Effect.Effect<A, E | E2, R2> => {
        if (done && buffered.length <= 1) return single(buffered[0] ?? new Uint8Array(0))
        // The parts already read are handed over one by one and forgotten here: holding them for the whole upload
        // would keep their memory (or the caller's chunks they are views of) alive.
        return multi(Stream.repeatEffectChunkOption(Effect.suspend(() => {
          const first = buffered.shift()
          return first !== undefined
            ? Effect.succeed(Chunk.of(first))
            : done
            ? Effect.fail(Option.none())
            : pull
        })))
      })
    })
  )

/** Takes parts from a pulled stream one at a time, numbered in order; `undefined` when there are no more. */
const partTaker = <E>(pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<E>>) => {
  let queue: Array<Uint8Array | undefined> = []
  let at = 0
  let count = 0
  let done = false
  const take: Effect.Effect<readonly [Uint8Array, number] | undefined, E> = Effect.suspend(() => {
    if (at < queue.length) {
      const part = queue[at]!
      // The taken part is the uploader's now: the queue must not keep it alive.
      queue[at++] = undefined
      return Effect.succeed([part, count++] as const)
    }
    if (done) return Effect.succeed(undefined)
    return Effect.matchEffect(pull, {
      onFailure: Option.match({
        onNone: () => {
          done = true
          return Effect.succeed(undefined)
        },
        onSome: Effect.fail
      }),
      onSuccess: (chunk) => {
        queue = Chunk.toArray(chunk)
        at = 0
        return take
      }
    })
  })
  return take
}

/** What the part cutter hands the uploaders: a part, the end of the parts, or the payload's failure. */
type Next<E> =
  | { readonly _tag: "part"; readonly body: Uint8Array; readonly index: number }
  | { readonly _tag: "end" }
  | { readonly _tag: "fail"; readonly error: E }

const END = { _tag: "end" } as const

/**
 * Uploads every part, at most `concurrency` at a time, and completes the upload with the parts in order. One fiber
 * cuts parts, `concurrency` fibers upload them. A part is cut only with a permit, given back when its upload is done,
 * and there are `concurrency + 1` permits: the next part is ready when a slot frees (its copy is not on the critical
 * path), and no more than that many parts are ever held, whatever the chunks are. Any failure or interruption
 * aborts the upload, so no parts are left behind (a completed upload has nothing to abort).
 *
 * `onPart`, when given, is called with the bytes of each part once the server acknowledged it (upload progress).
 */
export const upload = <Id, Part, A, E, E2>(
  cloud: Upload<Id, Part, A, E>,
  parts: Stream.Stream<Uint8Array, E2>,
  concurrency: number,
  onPart?: ((bytes: number) => void) | undefined
): Effect.Effect<A, E | E2> =>
  Effect.acquireUseRelease(
    cloud.start,
    (id) =>
      Effect.scoped(Effect.gen(function*() {
        const take = partTaker(yield* Stream.toPull(parts))
        const permits = yield* Effect.makeSemaphore(concurrency + 1)
        const ready = yield* Queue.unbounded<Next<E2>>()
        const cut: Effect.Effect<void> = Effect.zipRight(
          permits.take(1),
          Effect.matchEffect(take, {
            onFailure: (error) => Queue.offer(ready, { _tag: "fail", error }),
            onSuccess: (next) =>
              next === undefined
                ? Queue.offer(ready, END)
                : Effect.zipRight(Queue.offer(ready, { _tag: "part", body: next[0], index: next[1] }), cut)
          })
        )
        yield* Effect.forkScoped(cut)
        const done: Array<Part> = []
        const uploader: Effect.Effect<void, E | E2> = Effect.flatMap(Queue.take(ready), (next) => {
          // The end (or the failure, which one uploader reports) is passed on to the other uploaders.
          if (next._tag !== "part") {
            return Effect.zipRight(
              Queue.offer(ready, END),
              next._tag === "fail" ? Effect.fail(next.error) : Effect.void
            )
          }
          return Effect.flatMap(cloud.part(id, next.body, next.index), (part) => {
            done[next.index] = part
            if (onPart !== undefined) onPart(next.body.byteLength)
            // The part is stored: its buffer can hold a later part, and another part can be cut.
            recycle(next.body)
            return Effect.zipRight(permits.release(1), uploader)
          })
        })
        yield* Effect.all(Array.from({ length: concurrency }, () => uploader), {
          concurrency: "unbounded",
          discard: true
        })
        return yield* cloud.complete(id, done)
      })),
    (id, exit) => exit._tag === "Success" ? Effect.void : cloud.abort(id)
  )
