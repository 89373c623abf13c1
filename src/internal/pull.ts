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

class Puller<A, E> implements AsyncIterator<A> {
  private scope: Scope.CloseableScope | undefined = undefined
  private pull: Effect.Effect<Chunk.Chunk<A>, Option.Option<E>> | undefined = undefined
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
      if (this.finished) return { done: true, value: undefined }
      const exit = await Effect.runPromiseExit(this.pullOnce)
      if (Exit.isSuccess(exit)) {
        this.buffer = Chunk.toReadonlyArray(exit.value)
        this.index = 0
        continue
      }
      await this.close(exit)
      const failure = Cause.failureOption(exit.cause)
      if (Option.isNone(failure)) throw Cause.squash(exit.cause)
      const error = failure.value
      if (Option.isNone(error)) return { done: true, value: undefined }
      throw error.value
    }
    return { done: false, value: this.buffer[this.index++] }
  }

  async return(): Promise<IteratorResult<A>> {
    await this.close(Exit.void)
    return { done: true, value: undefined }
  }

  private async close(exit: Exit.Exit<unknown, unknown>) {
    this.finished = true
    this.buffer = []
    const scope = this.scope
    this.scope = undefined
    this.pull = undefined
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, exit))
  }
}

/** `stream` as a web ReadableStream, pulled one chunk at a time; cancelling it closes the stream. */
export const toReadableStream = <A, E>(stream: Stream.Stream<A, E>): ReadableStream<A> => {
  let iterator: AsyncIterator<A> | undefined
  return new ReadableStream<A>({
    start() {
      iterator = toAsyncIterable(stream)[Symbol.asyncIterator]()
    },
    async pull(controller) {
      const result = await iterator!.next()
      if (result.done) controller.close()
      else controller.enqueue(result.value)
    },
    async cancel() {
      await iterator!.return?.()
    }
  })
}
