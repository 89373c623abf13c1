// Consuming a stream of bytes chunk by chunk with `Stream.toPull` and a loop, instead of `Stream.run*` and a Sink.
//
// Why: draining a 1 GiB S3 body with `Stream.runForEachChunk` took 20-50 full (mark-compact) collections in most
// runs and about twice the CPU of the same body pulled in a loop (1 full collection in every run, less CPU than
// undici's own Readable): under a per-chunk sink, V8 falls into back-to-back full marking that frees each socket
// buffer late (docs/decisions.md, session 6). The hot consumers of bodies (a put from a stream, writing into a Node
// Writable, reading a body whole, the Node and web stream adapters) use these.
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"

/** Runs `f` on each chunk of `stream`, in order, one at a time. */
export const forEachChunk = <A, E, R, E2, R2>(
  stream: Stream.Stream<A, E, R>,
  f: (chunk: Chunk.Chunk<A>) => Effect.Effect<void, E2, R2>
): Effect.Effect<void, E | E2, R | R2> =>
  Effect.scoped(Effect.flatMap(Stream.toPull(stream), (pull) => {
    const loop: Effect.Effect<void, E | E2, R | R2> = Effect.matchEffect(pull, {
      onFailure: Option.match({ onNone: () => Effect.void, onSome: Effect.fail }),
      onSuccess: (chunk) => Effect.zipRight(f(chunk), loop)
    })
    return loop
  }))

/** Every element of `stream`, in one array. */
export const collect = <A, E, R>(stream: Stream.Stream<A, E, R>): Effect.Effect<Array<A>, E, R> =>
  Effect.suspend(() => {
    const out: Array<A> = []
    return Effect.as(
      forEachChunk(stream, (chunk) =>
        Effect.sync(() => {
          for (const a of chunk) out.push(a)
        })),
      out
    )
  })

/**
 * `stream` as an AsyncIterable, pulled one chunk at a time (Effect's `Stream.toAsyncIterable` and
 * `Stream.toReadableStream` run the stream with `runForEachChunk`; see above). Iterating again starts the stream
 * again; leaving a loop early (`return`) closes the stream and frees what it holds (a connection).
 */
export const toAsyncIterable = <A, E>(stream: Stream.Stream<A, E>): AsyncIterable<A> => ({
  [Symbol.asyncIterator]: () => new Puller(stream)
})

const DONE: IteratorResult<never> = { done: true, value: undefined }

class Puller<A, E> implements AsyncIterator<A> {
  private scope: Scope.CloseableScope | undefined = undefined
  private pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> | undefined = undefined
  /** The pull in flight: a loop left early interrupts it before the stream's finalizers run. */
  private running: Fiber.RuntimeFiber<Chunk.Chunk<A>, Option.Option<E>> | undefined = undefined
  private buffer: ReadonlyArray<A> = []
  private index = 0
  private finished = false

  constructor(private readonly stream: Stream.Stream<A, E>) {}

  private readonly pullOnce: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> = Effect.suspend(() => {
    if (this.pull !== undefined) return this.pull
    return Effect.flatMap(Scope.make(), (scope) => {
      this.scope = scope
      return Effect.flatMap(Scope.extend(Stream.toPull(this.stream), scope), (pull) => {
        this.pull = pull
        return pull
      })
    })
  })

  async next(): Promise<IteratorResult<A>> {
    while (this.index >= this.buffer.length) {
      if (this.finished) return DONE
      const fiber = Effect.runFork(this.pullOnce)
      this.running = fiber
      const exit = await new Promise<Exit.Exit<Chunk.Chunk<A>, Option.Option<E>>>((resolve) =>
        fiber.addObserver(resolve)
      )
      this.running = undefined
      // Closed while it waited (`return`): what the interrupted pull says is not news.
      if (this.finished) return DONE
      if (Exit.isSuccess(exit)) {
        this.buffer = Chunk.toReadonlyArray(exit.value)
        this.index = 0
        continue
      }
      const closed = await this.close(exit)
      const failure = Cause.failureOption(exit.cause)
      if (Option.isNone(failure)) throw Cause.squash(exit.cause)
      const error = failure.value
      if (Option.isSome(error)) throw error.value
      // The end; a finalizer that failed is the only news left.
      if (Exit.isFailure(closed)) throw Cause.squash(closed.cause)
      return DONE
    }
    return { done: false, value: this.buffer[this.index++] }
  }

  async return(): Promise<IteratorResult<A>> {
    // Left early: the finalizers see an interruption, as with Effect's own conversions.
    await this.close(Exit.interrupt(FiberId.none))
    return DONE
  }

  /** Stops the pull in flight, then closes the stream's scope with `exit`; says how the closing went. */
  private close(exit: Exit.Exit<unknown, unknown>): Promise<Exit.Exit<void>> {
    this.finished = true
    this.buffer = []
    const running = this.running
    const scope = this.scope
    this.running = undefined
    this.scope = undefined
    this.pull = undefined
    return Effect.runPromiseExit(Effect.zipRight(
      running === undefined ? Effect.void : Fiber.interrupt(running),
      scope === undefined ? Effect.void : Scope.close(scope, exit)
    ))
  }
}

/** `stream` as a web ReadableStream, pulled one chunk at a time; cancelling it closes the stream. */
export const toReadableStream = <A, E>(stream: Stream.Stream<A, E>): ReadableStream<A> => {
  const iterator = new Puller(stream)
  return new ReadableStream<A>({
    async pull(controller) {
      const result = await iterator.next()
      if (result.done) controller.close()
      else controller.enqueue(result.value)
    },
    async cancel() {
      await iterator.return()
    }
  })
}
