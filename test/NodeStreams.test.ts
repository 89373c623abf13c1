import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as NodeStreams from "effect-obstore/NodeStreams"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { NotFound } from "effect-obstore/ObjectStoreError"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Readable, Writable } from "node:stream"
import { pipeline } from "node:stream/promises"
import * as zlib from "node:zlib"
import { pseudoRandom } from "./conformance/io.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "obstore-streams-"))

describe("NodeStreams", () => {
  it.effect("a body piped through gzip into a file, with pipeline", () =>
    Effect.gen(function*() {
      const data = pseudoRandom(3 * 1024 * 1024 + 7)
      yield* ObjectStore.put("big.bin", Stream.fromIterable([data.subarray(0, 1000), data.subarray(1000)]))
      const result = yield* ObjectStore.get("big.bin")
      const file = path.join(tmp(), "big.gz")
      yield* Effect.promise(() =>
        pipeline(NodeStreams.toReadable(result), zlib.createGzip(), fs.createWriteStream(file))
      )
      assert.isTrue(Buffer.from(zlib.gunzipSync(fs.readFileSync(file))).equals(Buffer.from(data)))
    }).pipe(Effect.provide(MemoryStore.layer)))

  it.effect("a body as a web ReadableStream, read by Response", () =>
    Effect.gen(function*() {
      yield* ObjectStore.put("a.txt", "héllo web")
      const result = yield* ObjectStore.get("a.txt")
      const text = yield* Effect.promise(() => new Response(NodeStreams.toReadableStream(result)).text())
      assert.strictEqual(text, "héllo web")
    }).pipe(Effect.provide(MemoryStore.layer)))

  it.effect("a failing body destroys the Readable with the store's error", () =>
    Effect.gen(function*() {
      const failing = Stream.concat(
        Stream.make(new Uint8Array([1, 2, 3])),
        Stream.fail(new NotFound({ store: "Test", method: "get", path: "x" }))
      )
      const sink = new Writable({ write: (_c, _e, cb) => cb() })
      const error = yield* Effect.flip(Effect.tryPromise(() => pipeline(NodeStreams.toReadable(failing), sink)))
      assert.strictEqual((error.cause as { _tag?: string })._tag, "NotFound")
    }))

  it.effect("writeTo honours a slow Writable's back-pressure and ends it", () =>
    Effect.gen(function*() {
      const data = pseudoRandom(1024 * 1024, 3)
      const chunks = Array.from({ length: 64 }, (_, i) => data.subarray(i * 16384, (i + 1) * 16384))
      const got: Array<Buffer> = []
      let maxBuffered = 0
      const slow = new Writable({
        highWaterMark: 16384,
        write(chunk: Buffer, _e, cb) {
          got.push(chunk)
          setTimeout(cb, 1)
        }
      })
      const watch = setInterval(() => maxBuffered = Math.max(maxBuffered, slow.writableLength), 0)
      yield* NodeStreams.writeTo(Stream.fromIterable(chunks), slow)
      clearInterval(watch)
      assert.isTrue(slow.writableFinished, "ended")
      assert.isTrue(Buffer.concat(got).equals(Buffer.from(data)))
      assert.isAtMost(maxBuffered, 2 * 16384, "never more than a chunk past the high-water mark")
    }))

  it.scoped("a Writable into an object: pipeline(file, gzip, writable) commits when it finishes", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const data = pseudoRandom(2 * 1024 * 1024, 5)
      const file = path.join(tmp(), "in.bin")
      fs.writeFileSync(file, data)
      const writable = yield* NodeStreams.writableFor(store, "in.bin.gz")
      yield* Effect.promise(() => pipeline(fs.createReadStream(file), zlib.createGzip(), writable))
      const stored = yield* Effect.flatMap(store.get("in.bin.gz"), (r) => r.bytes)
      assert.isTrue(Buffer.from(zlib.gunzipSync(stored)).equals(Buffer.from(data)))
    }))

  it.scoped("a Writable destroyed by a failing pipeline leaves nothing", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const writable = yield* NodeStreams.writableFor(store, "broken.bin")
      const source = Readable.from((async function*() {
        yield Buffer.from("some bytes")
        throw new Error("source broke")
      })())
      const result = yield* Effect.either(Effect.tryPromise(() => pipeline(source, writable)))
      assert.isTrue(Either.isLeft(result))
      const head = yield* Effect.either(store.head("broken.bin"))
      assert.isTrue(Either.isLeft(head) && head.left._tag === "NotFound")
    }))
})
