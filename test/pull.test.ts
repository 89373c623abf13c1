// The pulling ways out of a stream (src/internal/pull.ts): what Effect's `Stream.toAsyncIterable`,
// `toReadableStream` and `runForEachChunk` promise, without their run loop.
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Data, Effect, Exit, Stream } from "effect"
import { collect, forEachChunk, toAsyncIterable, toReadableStream } from "../src/internal/pull.js"

class Boom extends Data.TaggedError("Boom")<{}> {}

/** A stream of one element that then waits for ever, and the exits its finalizer saw. */
const hanging = () => {
  const released: Array<Exit.Exit<unknown, unknown>> = []
  const stream = Stream.acquireRelease(Effect.void, (_, exit) => Effect.sync(() => released.push(exit))).pipe(
    Stream.flatMap(() => Stream.concat(Stream.make(1), Stream.fromEffect(Effect.never)))
  )
  return { stream, released }
}

describe("pull", () => {
  it.live("return() while a pull waits stops it, settles the pending next() and closes with an interruption", () =>
    Effect.promise(async () => {
      const { released, stream } = hanging()
      const iterator = toAsyncIterable(stream)[Symbol.asyncIterator]()
      assert.deepStrictEqual(await iterator.next(), { done: false, value: 1 })
      const pending = iterator.next()
      await new Promise((resolve) => setTimeout(resolve, 20))
      await iterator.return!()
      assert.deepStrictEqual(await pending, { done: true, value: undefined })
      assert.strictEqual(released.length, 1)
      assert.isTrue(Exit.isInterrupted(released[0]))
    }))

  it.live("breaking out of for-await closes the stream as interrupted, not as a success", () =>
    Effect.promise(async () => {
      const { released, stream } = hanging()
      for await (const n of toAsyncIterable(stream)) {
        assert.strictEqual(n, 1)
        break
      }
      assert.strictEqual(released.length, 1)
      assert.isTrue(Exit.isInterrupted(released[0]))
    }))

  it.live("a typed failure is thrown as itself, after the stream is closed with it", () =>
    Effect.promise(async () => {
      const released: Array<Exit.Exit<unknown, unknown>> = []
      const stream = Stream.acquireRelease(Effect.void, (_, exit) => Effect.sync(() => released.push(exit))).pipe(
        Stream.flatMap(() => Stream.concat(Stream.make(1, 2), Stream.fail(new Boom())))
      )
      const seen: Array<number> = []
      const error = await (async () => {
        for await (const n of toAsyncIterable(stream)) seen.push(n)
      })().catch((e: unknown) => e)
      assert.deepStrictEqual(seen, [1, 2])
      assert.instanceOf(error, Boom)
      assert.isTrue(Exit.isFailure(released[0]) && !Exit.isInterrupted(released[0]))
    }))

  it.live("a web ReadableStream cancelled while a pull waits closes the stream", () =>
    Effect.promise(async () => {
      const { released, stream } = hanging()
      const reader = toReadableStream(stream).getReader()
      assert.deepStrictEqual(await reader.read(), { done: false, value: 1 })
      const pending = reader.read()
      await new Promise((resolve) => setTimeout(resolve, 20))
      await reader.cancel()
      assert.isTrue((await pending).done)
      assert.strictEqual(released.length, 1)
    }))

  it.effect("forEachChunk and collect run a stream of 200,000 chunks in order, stack-safe", () =>
    Effect.gen(function*() {
      const stream = Stream.rechunk(Stream.range(1, 200_000), 1)
      let sum = 0
      let chunks = 0
      yield* forEachChunk(stream, (chunk) =>
        Effect.sync(() => {
          chunks++
          for (const n of chunk) sum += n
        }))
      assert.strictEqual(chunks, 200_000)
      assert.strictEqual(sum, (200_000 * 200_001) / 2)
      const all = yield* collect(stream)
      assert.strictEqual(all.length, 200_000)
      assert.strictEqual(all[199_999], 200_000)
    }))

  it.effect("forEachChunk fails with the stream's error or the callback's, and closes the stream", () =>
    Effect.gen(function*() {
      const streamError = yield* Effect.flip(forEachChunk(Stream.fail(new Boom()), () => Effect.void))
      assert.instanceOf(streamError, Boom)
      let released = false
      const stream = Stream.ensuring(Stream.make(1, 2, 3), Effect.sync(() => released = true))
      const calls: Array<ReadonlyArray<number>> = []
      const callbackError = yield* Effect.flip(
        forEachChunk(
          stream,
          (chunk) => Effect.zipRight(Effect.sync(() => calls.push(Chunk.toReadonlyArray(chunk))), Effect.fail("stop"))
        )
      )
      assert.strictEqual(callbackError, "stop")
      assert.strictEqual(calls.length, 1)
      assert.isTrue(released)
    }))
})
