// The writer behind `ObjectWriter`: writes go into a bounded queue that a running `put` drains as its Stream
// payload, so the store uploads in parts where it has multipart, a write waits while the queue is full (back-
// pressure, memory bounded by the queue plus the store's parts in flight), and the put sees the end of its payload
// only when the writer commits. A writer that fails or is interrupted interrupts its put, which aborts the upload:
// nothing becomes visible and no parts are left.
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import type { ObjectStore, PutOptions, PutResult } from "../../ObjectStore.js"
import type { PutError } from "../../ObjectStoreError.js"
import { InvalidConfig } from "../../ObjectStoreError.js"

/** Options of `openWriter`: the put options, and how many written chunks may wait for the upload. */
export interface WriterOptions extends PutOptions {
  /** Chunks held before `write` waits for the upload to take one; default 4. */
  readonly queueSize?: number | undefined
}

export interface Writer {
  readonly write: (bytes: Uint8Array | string) => Effect.Effect<void, PutError>
  readonly written: Effect.Effect<number>
  readonly close: Effect.Effect<PutResult, PutError>
  readonly abort: Effect.Effect<void>
}

export const DEFAULT_QUEUE_SIZE = 4

const encoder = new TextEncoder()

type Put = Fiber.RuntimeFiber<PutResult, PutError>

// Waits until the put fails (then fails the same way); never succeeds: a put cannot finish before the writer ends.
const failure = (put: Put): Effect.Effect<never, PutError> =>
  Effect.flatMap(Fiber.await(put), (exit) => Exit.isFailure(exit) ? Effect.failCause(exit.cause) : Effect.never)

// Offers without a fiber per call while the queue has room; races the put's failure only when it must wait.
const offer = (queue: Queue.Queue<Take.Take<Uint8Array>>, put: Put, take: Take.Take<Uint8Array>) =>
  Effect.suspend((): Effect.Effect<void, PutError> => {
    const done = put.unsafePoll()
    if (done !== null) return Exit.isFailure(done) ? Effect.failCause(done.cause) : Effect.void
    if (queue.unsafeOffer(take)) return Effect.void
    return Effect.raceFirst(Effect.asVoid(Queue.offer(queue, take)), failure(put))
  })

export const open = (
  store: ObjectStore.Service,
  path: string,
  options: WriterOptions = {}
): Effect.Effect<Writer, InvalidConfig, Scope.Scope> => {
  const { queueSize = DEFAULT_QUEUE_SIZE, ...putOptions } = options
  if (!Number.isSafeInteger(queueSize) || queueSize < 1) {
    return Effect.fail(
      new InvalidConfig({
        store: store.name,
        method: "openWriter",
        path,
        field: "queueSize",
        description: `expected a positive integer, got ${String(queueSize)}`
      })
    )
  }
  return Effect.acquireRelease(
    Effect.gen(function*() {
      const queue = yield* Queue.bounded<Take.Take<Uint8Array>>(queueSize)
      const payload = Stream.flattenTake(Stream.fromQueue(queue))
      // Not a child of the caller's fiber: the writer's scope decides when the put ends, commit or abort.
      // Forked from the uninterruptible acquire: made interruptible again so an abort can stop it.
      const put = yield* Effect.forkDaemon(Effect.interruptible(store.put(path, payload, putOptions)))
      return makeWriter(queue, put)
    }),
    ({ aborted, commit, put }, exit) =>
      aborted()
        ? Effect.void
        : Exit.isSuccess(exit)
        // A commit that fails here has no typed channel left: it is a defect; `close` reports it typed.
        ? Effect.orDie(Effect.asVoid(commit))
        : Fiber.interrupt(put)
  ).pipe(Effect.map(({ writer }) => writer))
}

const makeWriter = (queue: Queue.Queue<Take.Take<Uint8Array>>, put: Put) => {
  let written = 0
  let ending = false
  let aborted = false
  const commit = Effect.suspend(() => {
    if (ending) return Fiber.join(put)
    ending = true
    return Effect.zipRight(offer(queue, put, Take.end), Fiber.join(put))
  })
  const writer: Writer = {
    write: (input) =>
      Effect.suspend(() => {
        const bytes = typeof input === "string" ? encoder.encode(input) : input
        if (ending) return Effect.dieMessage("ObjectWriter.write after close")
        if (bytes.byteLength === 0) return Effect.void
        written += bytes.byteLength
        return offer(queue, put, Take.chunk(Chunk.of(bytes)))
      }),
    written: Effect.sync(() => written),
    close: commit,
    abort: Effect.suspend(() => {
      ending = true
      aborted = true
      return Fiber.interrupt(put)
    }).pipe(Effect.asVoid)
  }
  return { writer, commit, put, aborted: () => aborted }
}
