import { assert, describe, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Exit, Fiber, Option, Ref, Stream } from "effect"
import * as Multipart from "effect-obstore/internal/cloud/multipart"
import { bytes } from "./fake.js"

const sizes = (parts: Chunk.Chunk<Uint8Array>) => Chunk.toReadonlyArray(parts).map((p) => p.byteLength)

/** An upload that records what happened to it; `failPart` makes that part fail. */
const recorder = (
  options: { readonly failPart?: number; readonly gate?: Deferred.Deferred<void>; readonly sleep?: boolean } = {}
) =>
  Effect.gen(function*() {
    const log = yield* Ref.make<Array<string>>([])
    const inFlight = yield* Ref.make(0)
    const maxInFlight = yield* Ref.make(0)
    const note = (s: string) => Ref.update(log, (l) => [...l, s])
    const upload: Multipart.Upload<string, string, ReadonlyArray<string>, string> = {
      start: Effect.as(note("start"), "id"),
      part: (id, body, index) =>
        Effect.gen(function*() {
          const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
          yield* Ref.update(maxInFlight, (m) => Math.max(m, now))
          if (options.gate !== undefined) yield* Deferred.await(options.gate)
          yield* options.sleep === true ? Effect.sleep("5 millis") : Effect.yieldNow()
          yield* Ref.update(inFlight, (n) => n - 1)
          if (index === options.failPart) return yield* Effect.fail(`part ${index} failed`)
          yield* note(`part ${index} ${body.byteLength}`)
          return `${id}-${index}`
        }),
      complete: (_, parts) => Effect.as(note("complete"), parts),
      abort: (id) => note(`abort ${id}`)
    }
    return { upload, log, maxInFlight }
  })

describe("cloud multipart driver", () => {
  it.effect("cuts a stream into parts of exactly the part size, the last shorter, none empty", () =>
    Effect.gen(function*() {
      const chunks = [bytes(3), bytes(0), bytes(10, 3), bytes(1, 13), bytes(6, 14)]
      const parts = yield* Stream.runCollect(Multipart.toParts(Stream.fromIterable(chunks), 4))
      assert.deepStrictEqual(sizes(parts), [4, 4, 4, 4, 4])
      const all = Chunk.toReadonlyArray(parts).flatMap((p) => Array.from(p))
      assert.deepStrictEqual(all, Array.from(bytes(20)))
      const uneven = yield* Stream.runCollect(Multipart.toParts(Stream.make(bytes(9)), 4))
      assert.deepStrictEqual(sizes(uneven), [4, 4, 1])
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(Multipart.toParts(Stream.empty, 4))), 0)
    }))

  it.effect("sends a payload of one part or less in one request, more as a multipart upload", () =>
    Effect.gen(function*() {
      const single = (body: Uint8Array) => Effect.succeed(`single ${body.byteLength}`)
      const multi = (parts: Stream.Stream<Uint8Array>) =>
        Effect.map(Stream.runCollect(parts), (c) => `multi ${sizes(c).join(",")}`)
      const run = (chunks: ReadonlyArray<Uint8Array>) =>
        Multipart.splitPut(Multipart.toParts(Stream.fromIterable(chunks), 4), single, multi)
      assert.strictEqual(yield* run([]), "single 0")
      assert.strictEqual(yield* run([bytes(3)]), "single 3")
      assert.strictEqual(yield* run([bytes(4)]), "single 4")
      assert.strictEqual(yield* run([bytes(5)]), "multi 4,1")
      assert.strictEqual(yield* run([bytes(2), bytes(2), bytes(2), bytes(2), bytes(3)]), "multi 4,4,3")
    }))

  it.effect("concurrency 1 uploads parts one at a time, in order, then completes", () =>
    Effect.gen(function*() {
      const { log, maxInFlight, upload } = yield* recorder()
      const result = yield* Multipart.upload(upload, Stream.make(bytes(4), bytes(4), bytes(2)), 1)
      assert.deepStrictEqual(result, ["id-0", "id-1", "id-2"])
      assert.strictEqual(yield* Ref.get(maxInFlight), 1)
      assert.deepStrictEqual(yield* Ref.get(log), ["start", "part 0 4", "part 1 4", "part 2 2", "complete"])
    }))

  it.live("bounded concurrency runs parts side by side and keeps their order", () =>
    Effect.gen(function*() {
      const { maxInFlight, upload } = yield* recorder({ sleep: true })
      const parts = Stream.fromIterable(Array.from({ length: 8 }, () => bytes(1)))
      const result = yield* Multipart.upload(upload, parts, 3)
      assert.deepStrictEqual(result, Array.from({ length: 8 }, (_, i) => `id-${i}`))
      assert.isAbove(yield* Ref.get(maxInFlight), 1)
      assert.isAtMost(yield* Ref.get(maxInFlight), 3)
    }))

  it.effect("a failed part aborts the upload and is not completed", () =>
    Effect.gen(function*() {
      const { log, upload } = yield* recorder({ failPart: 1 })
      const exit = yield* Effect.exit(Multipart.upload(upload, Stream.make(bytes(1), bytes(1), bytes(1)), 1))
      assert.deepStrictEqual(exit, Exit.fail("part 1 failed"))
      const events = yield* Ref.get(log)
      assert.strictEqual(events.at(-1), "abort id")
      assert.notInclude(events, "complete")
    }))

  it.effect("a failing payload stream aborts the upload", () =>
    Effect.gen(function*() {
      const { log, upload } = yield* recorder()
      const parts = Stream.concat(Stream.make(bytes(1)), Stream.fail("payload broke"))
      const exit = yield* Effect.exit(Multipart.upload(upload, parts, 2))
      assert.deepStrictEqual(exit, Exit.fail("payload broke"))
      assert.strictEqual((yield* Ref.get(log)).at(-1), "abort id")
    }))

  it.effect("an interrupted upload is aborted", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const { log, upload } = yield* recorder({ gate })
      const fiber = yield* Effect.fork(Multipart.upload(upload, Stream.make(bytes(1), bytes(1)), 1))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* Ref.get(log), ["start", "abort id"])
    }))

  it.effect("a chunk that covers whole parts is cut into views of it, not copies", () =>
    Effect.gen(function*() {
      const chunk = bytes(10)
      const parts = Chunk.toReadonlyArray(yield* Stream.runCollect(Multipart.toParts(Stream.make(chunk), 4)))
      assert.deepStrictEqual(parts.map((p) => p.byteLength), [4, 4, 2])
      assert.strictEqual(parts[0].buffer, chunk.buffer, "the first part is a view of the chunk")
      assert.strictEqual(parts[1].buffer, chunk.buffer, "the second part is a view of the chunk")
    }))

  it.live("parts are cut no further ahead than one part beyond the uploads in flight", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const { log, upload } = yield* recorder({ gate })
      let pulled = 0
      // One chunk of 4 bytes per pull, counted: a part of 4 bytes is exactly one pull.
      const source = Stream.repeatEffectOption(
        Effect.suspend(() => pulled < 10 ? Effect.succeed(bytes(4, pulled++)) : Effect.fail(Option.none()))
      )
      const fiber = yield* Effect.fork(Multipart.upload(upload, Multipart.toParts(source, 4), 3))
      yield* Effect.sleep("50 millis")
      assert.strictEqual(pulled, 4, "three parts in flight and one ready for the next free slot")
      yield* Deferred.succeed(gate, undefined)
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.length, 10)
      assert.strictEqual((yield* Ref.get(log)).at(-1), "complete")
    }))

  it.live("parts made of small chunks reuse the buffers of uploaded parts: memory is parts x concurrency", () =>
    Effect.gen(function*() {
      const buffers = new Set<ArrayBufferLike>()
      const contents: Array<ReadonlyArray<number>> = []
      const upload: Multipart.Upload<string, number, ReadonlyArray<number>, never> = {
        start: Effect.succeed("id"),
        part: (_, body, index) =>
          Effect.gen(function*() {
            buffers.add(body.buffer)
            // Read the body while the part is being sent: its buffer may hold a later part afterwards.
            contents[index] = Array.from(body)
            yield* Effect.sleep("1 millis")
            return index
          }),
        complete: (_, parts) => Effect.succeed(parts),
        abort: () => Effect.void
      }
      const all = bytes(200)
      const chunks = Array.from({ length: 200 }, (_, i) => all.subarray(i, i + 1))
      const result = yield* Multipart.upload(upload, Multipart.toParts(Stream.fromIterable(chunks), 8), 2)
      assert.strictEqual(result.length, 25)
      assert.deepStrictEqual(contents.flat(), Array.from(all), "every part held its own bytes when it was sent")
      assert.isAtMost(buffers.size, 3, "2 parts in flight and 1 cut ahead")
    }))
})
