// The multipart driver every cloud's big uploads share: a payload stream cut into parts of a fixed size, a payload of
// one part or less sent as one request instead, parts uploaded with bounded concurrency (1 for clouds whose uploads
// are sequential, like GCS resumable uploads), and the upload aborted on any failure or interruption. What the
// requests are (S3 CreateMultipartUpload/UploadPart/Complete, Azure Put Block/Put Block List, ...) is the cloud's.
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
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

/** Splits a stream of chunks into parts of exactly `size` bytes (the last may be shorter, never empty). */
export const toParts = <E>(stream: Stream.Stream<Uint8Array, E>, size: number): Stream.Stream<Uint8Array, E> =>
  Stream.suspend(() => {
    let pending: Array<Uint8Array> = []
    let pendingBytes = 0
    const take = (n: number): Uint8Array => {
      const out = new Uint8Array(n)
      let at = 0
      while (at < n) {
        const head = pending[0]
        const need = n - at
        if (head.byteLength <= need) {
          out.set(head, at)
          at += head.byteLength
          pending.shift()
        } else {
          out.set(head.subarray(0, need), at)
          pending[0] = head.subarray(need)
          at += need
        }
      }
      pendingBytes -= n
      return out
    }
    return stream.pipe(
      Stream.mapConcat((chunk) => {
        if (chunk.byteLength === 0) return []
        pending.push(chunk)
        pendingBytes += chunk.byteLength
        const parts: Array<Uint8Array> = []
        while (pendingBytes >= size) parts.push(take(size))
        return parts
      }),
      Stream.concat(Stream.suspend(() => {
        if (pendingBytes === 0) return Stream.empty
        const last = take(pendingBytes)
        pending = []
        return Stream.make(last)
      }))
    )
  })

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
        const rest: Stream.Stream<Uint8Array, E> = done ? Stream.empty : Stream.repeatEffectChunkOption(pull)
        return multi(Stream.concat(Stream.fromIterable(buffered), rest))
      })
    })
  )

/**
 * Uploads every part, at most `concurrency` at a time, and completes the upload with the parts in order. Any
 * failure or interruption aborts the upload, so no parts are left behind (a completed upload has nothing to abort).
 */
export const upload = <Id, Part, A, E, E2>(
  cloud: Upload<Id, Part, A, E>,
  parts: Stream.Stream<Uint8Array, E2>,
  concurrency: number
): Effect.Effect<A, E | E2> =>
  Effect.acquireUseRelease(
    cloud.start,
    (id) =>
      parts.pipe(
        Stream.zipWithIndex,
        Stream.mapEffect(([body, index]) => cloud.part(id, body, index), { concurrency }),
        Stream.runCollect,
        Effect.flatMap((done) => cloud.complete(id, Array.from(done)))
      ),
    (id, exit) => exit._tag === "Success" ? Effect.void : cloud.abort(id)
  )
