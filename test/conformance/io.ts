/**
 * The conformance suite of readers, writers and transfers, run by every store (test/IO.test.ts): a reader over the
 * store's ranged gets, a writer over its put, transfers between it and a MemoryStore. Each test works in a fresh
 * directory (`io/<uuid>`) and deletes what it wrote.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Effect, Either, Exit, Fiber, Layer, Stream } from "effect"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as ObjectReader from "effect-obstore/ObjectReader"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as ObjectWriter from "effect-obstore/ObjectWriter"
import * as Transfer from "effect-obstore/Transfer"
import { createHash, randomUUID } from "node:crypto"

type Store = ObjectStore.ObjectStore

/** A second store in the same program, to transfer to and from. */
export class Other extends ObjectStore.Tag("io/Other")<Other>() {}

/** The same store seen through a fault proxy, for transfers whose connection is cut. */
export class Faulty extends ObjectStore.Tag("io/Faulty")<Faulty>() {}

export interface IoCapabilities {
  /** Part size for the writer's multipart tests (the store's minimum, or any size where it has no multipart). */
  readonly partSize: number
  /** Multipart uploads still open under a prefix (none must be left behind); undefined where there are none. */
  readonly pendingUploads?: ((prefix: string) => Effect.Effect<number, unknown, Store>) | undefined
  /**
   * Why the server cannot take a conditional put (mode "create"), where it cannot: the writer test then writes in
   * overwrite mode and checks that mode "create" fails as NotSupported instead.
   */
  readonly noConditionalPut?: string | undefined
  /** Whether ETags are content MD5s (single-part S3, WebDAV): a second transfer is then skipped as identical. */
  readonly md5ETags: boolean
  /**
   * The same store behind a fault proxy, and a way to cut the body of the next GET after some bytes (the
   * "cut connection during a transfer" test); undefined where no proxy can stand in front of the store.
   */
  readonly faults?: {
    readonly layer: Layer.Layer<Faulty, unknown>
    readonly cutNextGet: (afterBytes: number) => void
    readonly cuts: () => number
  } | undefined
}

const MiB = 1024 * 1024

/** `n` bytes of deterministic pseudo-random data (xorshift32). */
export const pseudoRandom = (n: number, seed = 1): Uint8Array => {
  const words = new Uint32Array(Math.ceil(n / 4))
  let x = seed | 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x
  }
  return new Uint8Array(words.buffer, 0, n)
}

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

const assertSame = (actual: Uint8Array, expected: Uint8Array, what: string) => {
  assert.strictEqual(actual.byteLength, expected.byteLength, `${what}: length`)
  assert.strictEqual(sha(actual), sha(expected), `${what}: content`)
}

const readBytes = (path: string) => Effect.flatMap(ObjectStore.get(path), (result) => result.bytes)

const cleanup = (dir: string) =>
  ObjectStore.list(dir).pipe(
    Stream.map((meta) => meta.path),
    Stream.runCollect,
    Effect.flatMap((paths) => ObjectStore.delete(Chunk.toReadonlyArray(paths))),
    Effect.ignore
  )

const inFreshDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const dir = `io/${randomUUID()}`
    return Effect.ensuring(f(dir), cleanup(dir))
  })

const tagOf = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(
    Effect.either(effect),
    (either) =>
      Either.isRight(either) ? "success" : (either.left as { readonly _tag?: string })._tag ?? String(either.left)
  )

export const ioConformance = (
  name: string,
  storeLayer: Layer.Layer<Store, unknown>,
  capabilities: IoCapabilities
): void =>
  layer(Layer.merge(storeLayer, Other.layer(MemoryStore.layer)), { excludeTestServices: true })(
    `${name} readers, writers, transfers`,
    (it) => {
      const test = <A, E>(title: string, f: (dir: string) => Effect.Effect<A, E, Store | Other>, timeout?: number) =>
        it.effect(title, () => inFreshDir(f), timeout)

      describe("reader", () => {
        test("sequential reads of odd sizes return the object, one request per buffer", (dir) =>
          Effect.scoped(Effect.gen(function*() {
            const data = pseudoRandom(300_001)
            yield* ObjectStore.put(`${dir}/r.bin`, data)
            const reader = yield* ObjectReader.openReader(`${dir}/r.bin`, { bufferSize: 64 * 1024, prefetch: 3 })
            assert.strictEqual(reader.size, data.byteLength)
            const parts: Array<Uint8Array> = []
            for (let n = 1;; n = (n * 7 + 3) % 40_000) {
              const chunk = yield* reader.read(n)
              if (chunk.byteLength === 0 && (yield* reader.tell) >= reader.size) break
              parts.push(chunk)
            }
            const out = new Uint8Array(data.byteLength)
            let at = 0
            for (const p of parts) {
              out.set(p, at)
              at += p.byteLength
            }
            assertSame(out, data, "read back")
            assert.strictEqual(reader.requests(), Math.ceil(data.byteLength / (64 * 1024)))
            assert.strictEqual((yield* reader.read(10)).byteLength, 0, "a read at the end is empty")
          })))

        test("random reads inside one buffer cost one request; seek, tell and readAll", (dir) =>
          Effect.scoped(Effect.gen(function*() {
            const data = pseudoRandom(256 * 1024, 7)
            yield* ObjectStore.put(`${dir}/r.bin`, data)
            const reader = yield* ObjectReader.openReader(`${dir}/r.bin`, { bufferSize: 128 * 1024, prefetch: 0 })
            for (const start of [1000, 5, 70_000, 131_000 - 100, 12]) {
              assertSame(yield* reader.readRange(start, start + 100), data.subarray(start, start + 100), `@${start}`)
            }
            assert.strictEqual(reader.requests(), 1, "all in the first buffer")
            // A footer, then the whole tail through the position.
            assertSame(yield* reader.readRange(data.byteLength - 8, data.byteLength + 100), data.subarray(-8), "footer")
            assert.strictEqual(yield* reader.seek(-10, "end"), data.byteLength - 10)
            assertSame(yield* reader.readAll, data.subarray(-10), "readAll")
            assert.strictEqual(yield* reader.tell, data.byteLength)
            assert.strictEqual(yield* reader.seek(100), 100)
            assert.strictEqual(yield* reader.seek(28, "current"), 128)
            assertSame(yield* reader.read(4), data.subarray(128, 132), "after seek")
            assert.strictEqual(reader.requests(), 2)
            assert.strictEqual(yield* tagOf(reader.seek(-1)), "InvalidRange")
          })))

        test("an empty object reads empty, with no request", (dir) =>
          Effect.scoped(Effect.gen(function*() {
            yield* ObjectStore.put(`${dir}/empty`, new Uint8Array(0))
            const reader = yield* ObjectReader.openReader(`${dir}/empty`)
            assert.strictEqual(reader.size, 0)
            assert.strictEqual((yield* reader.readAll).byteLength, 0)
            assert.strictEqual(reader.requests(), 0)
          })))

        test("a missing object fails to open with NotFound", (dir) =>
          Effect.gen(function*() {
            assert.strictEqual(yield* tagOf(Effect.scoped(ObjectReader.openReader(`${dir}/missing`))), "NotFound")
          }))

        test("an object changed under a reader fails with PreconditionFailed, never mixed bytes", (dir) =>
          Effect.scoped(Effect.gen(function*() {
            const path = `${dir}/changing.bin`
            const before = pseudoRandom(200_000, 1)
            yield* ObjectStore.put(path, before)
            const reader = yield* ObjectReader.openReader(path, { bufferSize: 64 * 1024, prefetch: 0 })
            assertSame(yield* reader.read(1000), before.subarray(0, 1000), "before the change")
            yield* ObjectStore.put(path, pseudoRandom(200_000, 2))
            // The first buffer is held; the next one is fetched from the changed object and refused.
            assertSame(yield* reader.read(1000), before.subarray(1000, 2000), "from the buffer")
            assert.strictEqual(yield* tagOf(reader.readRange(100_000, 100_100)), "PreconditionFailed")
            assert.strictEqual(yield* tagOf(reader.readAll), "PreconditionFailed")
          })))
      })

      describe("writer", () => {
        test("many small writes are committed when the scope closes, with the put options", (dir) =>
          Effect.gen(function*() {
            const path = `${dir}/w.bin`
            const data = pseudoRandom(2 * capabilities.partSize + 12_345, 3)
            const conditional = capabilities.noConditionalPut === undefined
            yield* Effect.scoped(Effect.gen(function*() {
              const writer = yield* ObjectWriter.openWriter(path, {
                mode: conditional ? "create" : "overwrite",
                multipart: { partSize: capabilities.partSize, concurrency: 2 }
              })
              for (let at = 0; at < data.byteLength; at += 65_536) {
                yield* writer.write(data.subarray(at, at + 65_536))
              }
              assert.strictEqual(yield* writer.written, data.byteLength)
              assert.strictEqual(yield* tagOf(ObjectStore.head(path)), "NotFound", "not visible before commit")
            }))
            assertSame(yield* readBytes(path), data, "written")
            // mode "create" is honoured: a second writer fails to commit, reported typed by close (or, on a server
            // that cannot make it safe, refused as NotSupported).
            const second = yield* tagOf(ObjectWriter.withWriter(path, (w) => w.write("x"), { mode: "create" }))
            assert.strictEqual(second, conditional ? "AlreadyExists" : "NotSupported", capabilities.noConditionalPut)
            assertSame(yield* readBytes(path), data, "unchanged")
          }))

        test("strings and withWriter: the put's result comes back", (dir) =>
          Effect.gen(function*() {
            const [n, result] = yield* ObjectWriter.withWriter(`${dir}/t.txt`, (writer) =>
              Effect.gen(function*() {
                yield* writer.write("héllo ")
                yield* writer.write("wörld")
                return yield* writer.written
              }))
            assert.strictEqual(n, 13)
            assert.isString(result.eTag)
            assert.strictEqual(new TextDecoder().decode(yield* readBytes(`${dir}/t.txt`)), "héllo wörld")
          }))

        test("a failure mid-write leaves nothing visible and no parts", (dir) =>
          Effect.gen(function*() {
            const path = `${dir}/failed.bin`
            const chunk = pseudoRandom(capabilities.partSize, 4)
            const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
              const writer = yield* ObjectWriter.openWriter(path, {
                multipart: { partSize: capabilities.partSize, concurrency: 1 }
              })
              for (let i = 0; i < 3; i++) yield* writer.write(chunk)
              return yield* Effect.fail("boom" as const)
            })))
            assert.isTrue(Exit.isFailure(exit))
            assert.strictEqual(yield* tagOf(ObjectStore.head(path)), "NotFound")
            if (capabilities.pendingUploads) assert.strictEqual(yield* capabilities.pendingUploads(dir), 0)
          }))

        test("an interruption mid-write leaves nothing visible and no parts", (dir) =>
          Effect.gen(function*() {
            const path = `${dir}/interrupted.bin`
            const chunk = pseudoRandom(capabilities.partSize, 5)
            const wrote = yield* Effect.makeLatch(false)
            const fiber = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
              const writer = yield* ObjectWriter.openWriter(path, {
                multipart: { partSize: capabilities.partSize, concurrency: 1 }
              })
              for (let i = 0; i < 3; i++) yield* writer.write(chunk)
              yield* wrote.open
              return yield* Effect.never
            })))
            yield* wrote.await
            yield* Fiber.interrupt(fiber)
            assert.strictEqual(yield* tagOf(ObjectStore.head(path)), "NotFound")
            if (capabilities.pendingUploads) assert.strictEqual(yield* capabilities.pendingUploads(dir), 0)
          }))

        test("a write waits while the upload is behind (back-pressure)", (dir) =>
          Effect.gen(function*() {
            // A store whose put never reads its payload: the writer holds its queue, then write waits.
            const stalled = ObjectStore.make({
              name: "Stalled",
              get: () => Effect.never,
              head: () => Effect.never,
              list: () => Stream.never,
              copy: () => Effect.never,
              delete: () => Effect.never,
              put: () => Effect.never
            })
            let accepted = 0
            const error = yield* Effect.flip(Effect.scoped(Effect.gen(function*() {
              const writer = yield* ObjectWriter.open(stalled, `${dir}/x`, { queueSize: 2 })
              const write = Effect.zipRight(writer.write("x"), Effect.sync(() => accepted++))
              yield* Effect.fork(Effect.forever(write))
              yield* Effect.sleep("50 millis")
              return yield* Effect.fail("stop" as const)
            })))
            assert.strictEqual(error, "stop")
            assert.strictEqual(accepted, 2, "two chunks queued, the third write waits")
          }))
      })

      describe("transfer", () => {
        const files = (dir: string) => [`${dir}/a.txt`, `${dir}/sub/b.bin`, `${dir}/sub/deeper/c.bin`]

        test("a prefix to another store and back: every object, the summary, equal content", (dir) =>
          Effect.gen(function*() {
            const store = yield* ObjectStore.ObjectStore
            const other = yield* Other
            const data = files(dir).map((_, i) => pseudoRandom(1000 + i * 70_000, 10 + i))
            yield* Effect.forEach(files(dir), (p, i) => ObjectStore.put(p, data[i]), { discard: true })
            const out = yield* Transfer.transfer({ store, path: dir }, { store: other, path: "copy" }, {
              recursive: true,
              concurrency: 2
            })
            assert.strictEqual(out.objects, 3)
            assert.strictEqual(out.transferred, 3)
            assert.strictEqual(out.bytes, data.reduce((n, d) => n + d.byteLength, 0))
            for (const [i, p] of files(dir).entries()) {
              const rel = p.slice(dir.length + 1)
              assertSame(yield* Effect.flatMap(other.get(`copy/${rel}`), (r) => r.bytes), data[i], rel)
            }
            const back = yield* Transfer.transfer({ store: other, path: "copy" }, { store, path: `${dir}/back` }, {
              recursive: true
            })
            assert.strictEqual(back.transferred, 3)
            assertSame(yield* readBytes(`${dir}/back/sub/deeper/c.bin`), data[2], "back")
          }))

        test("a second transfer skips what is identical where ETags are comparable", (dir) =>
          Effect.gen(function*() {
            const store = yield* ObjectStore.ObjectStore
            yield* Effect.forEach(files(dir), (p, i) => ObjectStore.put(p, pseudoRandom(500 + i, i)), { discard: true })
            const from = { store, path: `${dir}/sub` }
            const to = { store, path: `${dir}/mirror` }
            const first = yield* Transfer.transfer(from, to, { recursive: true })
            assert.strictEqual(first.objects, 2)
            assert.strictEqual(first.skipped, 0)
            const second = yield* Transfer.transfer(from, to, { recursive: true })
            assert.strictEqual(second.skipped, capabilities.md5ETags ? 2 : 0)
            assert.strictEqual(second.transferred + second.copied, capabilities.md5ETags ? 0 : 2)
            assertSame(yield* readBytes(`${dir}/mirror/deeper/c.bin`), pseudoRandom(502, 2), "mirror")
          }))

        test("one object, with progress that ends at its size", (dir) =>
          Effect.gen(function*() {
            const store = yield* ObjectStore.ObjectStore
            const other = yield* Other
            const data = pseudoRandom(3 * MiB + 5, 9)
            yield* other.put("one.bin", data)
            const seen: Array<number> = []
            const summary = yield* Transfer.transfer({ store: other, path: "one.bin" }, {
              store,
              path: `${dir}/one.bin`
            }, { onProgress: (p) => seen.push(p.done) })
            assert.strictEqual(summary.transferred, 1)
            assert.strictEqual(seen.at(-1), data.byteLength)
            assert.isTrue(seen.every((n, i) => i === 0 || n >= seen[i - 1]), "progress never goes back")
            assertSame(yield* readBytes(`${dir}/one.bin`), data, "one")
          }))

        if (capabilities.faults !== undefined) {
          const faults = capabilities.faults
          it.effect("a connection cut during a transfer is resumed, the checksum equal", () =>
            inFreshDir((dir) =>
              Effect.gen(function*() {
                const faulty = yield* Faulty
                const other = yield* Other
                const data = pseudoRandom(6 * MiB + 17, 11)
                yield* ObjectStore.put(`${dir}/big.bin`, data)
                const cutsBefore = faults.cuts()
                faults.cutNextGet(1 * MiB + 3)
                const summary = yield* Transfer.transfer({ store: faulty, path: `${dir}/big.bin` }, {
                  store: other,
                  path: "big.bin"
                })
                assert.strictEqual(summary.transferred, 1)
                assert.strictEqual(faults.cuts() - cutsBefore, 1, "the body was cut once")
                assertSame(yield* Effect.flatMap(other.get("big.bin"), (r) => r.bytes), data, "resumed")
              })
            ).pipe(Effect.provide(faults.layer)))
        }
      })
    }
  )
