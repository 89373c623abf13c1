import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Either, Exit, Fiber, Layer, Stream } from "effect"
import * as LimitStore from "effect-obstore/LimitStore"
import * as LocalStore from "effect-obstore/LocalStore"
import type * as ObjectStore from "effect-obstore/ObjectStore"
import * as PrefixStore from "effect-obstore/PrefixStore"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Capabilities } from "./conformance/capabilities.js"
import { full } from "./conformance/capabilities.js"
import { conformance } from "./conformance/suite.js"

const base = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-local-test-"))
afterAll(() => fs.rmSync(base, { recursive: true, force: true }))

let counter = 0
const freshDir = (): string => {
  const dir = path.join(base, `t${counter++}`)
  fs.mkdirSync(dir)
  return dir
}

const capabilities: Capabilities = {
  ...full,
  attributes: [],
  reasons: { ...full.reasons, attributes: "the local filesystem has no place for them" }
}

conformance("LocalStore", LocalStore.layer({ root: freshDir(), automaticCleanup: true }), capabilities)
conformance(
  "LocalStore without automaticCleanup",
  LocalStore.layer({ root: freshDir() }),
  capabilities
)
conformance(
  "LocalStore behind PrefixStore",
  PrefixStore.layer("tenant/one").pipe(Layer.provide(LocalStore.layer({ root: freshDir(), automaticCleanup: true }))),
  capabilities
)
conformance(
  "LocalStore behind LimitStore",
  LimitStore.layer(4).pipe(Layer.provide(LocalStore.layer({ root: freshDir(), automaticCleanup: true }))),
  capabilities
)

// ---------------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------------

const nodeLayer = Layer.merge(NodeFileSystem.layer, NodePath.layer)

/** A store over a fresh directory, with the directory. */
const withStore = <A, E>(
  f: (store: ObjectStore.ObjectStore.Service, root: string) => Effect.Effect<A, E>,
  options: Omit<LocalStore.LocalOptions, "root"> = {}
) =>
  Effect.suspend(() => {
    const root = freshDir()
    return Effect.flatMap(
      Effect.provide(LocalStore.make({ ...options, root }), nodeLayer),
      (store) => f(store, root)
    )
  })

const text = (store: ObjectStore.ObjectStore.Service, key: string) =>
  Effect.flatMap(store.get(key), (result) => result.text)

const keys = <E>(stream: Stream.Stream<ObjectStore.ObjectMeta, E>) =>
  Effect.map(Stream.runCollect(stream), (metas) => Chunk.toArray(metas).map((meta) => meta.path))

/** Every file below `dir` (relative paths), temporary files included. */
const filesBelow = (dir: string): Array<string> =>
  (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as Array<fs.Dirent>)
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(dir, path.join(entry.parentPath ?? entry.path, entry.name)))
    .sort()

const tempFilesBelow = (dir: string) => filesBelow(dir).filter((file) => file.endsWith(".obstore-tmp"))

const encoder = new TextEncoder()

/** `n` chunks of `size` bytes each filled with `fill`, one every `delay`. */
const slowStream = (n: number, size: number, fill: number, delay: Duration.DurationInput) =>
  Stream.range(1, n).pipe(
    Stream.mapEffect(() => Effect.as(Effect.sleep(delay), new Uint8Array(size).fill(fill)))
  )

const openFds = (): number => fs.readdirSync("/proc/self/fd").length

const failure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.either(effect), (either) => {
    if (Either.isRight(either)) return assert.fail("expected a failure, but it succeeded")
    return either.left
  })

// ---------------------------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------------------------

describe("LocalStore", () => {
  describe("make", () => {
    it.live("a missing root fails with InvalidConfig naming root, unless mkdir is set", () =>
      Effect.gen(function*() {
        const root = path.join(freshDir(), "missing", "deeper")
        const error = yield* Effect.flip(Effect.provide(LocalStore.make({ root }), nodeLayer))
        assert.strictEqual(error._tag, "InvalidConfig")
        assert.strictEqual(error.field, "root")
        assert.include(error.message, "mkdir")
        const store = yield* Effect.provide(LocalStore.make({ root, mkdir: true }), nodeLayer)
        assert.isTrue(fs.statSync(root).isDirectory())
        yield* store.put("x", "y")
        assert.strictEqual(fs.readFileSync(path.join(root, "x"), "utf8"), "y")
      }))

    it.live("a root that is a file, or empty, fails with InvalidConfig naming root", () =>
      Effect.gen(function*() {
        const file = path.join(freshDir(), "file")
        fs.writeFileSync(file, "")
        const notDir = yield* Effect.flip(Effect.provide(LocalStore.make({ root: file, mkdir: true }), nodeLayer))
        assert.strictEqual(notDir._tag, "InvalidConfig")
        assert.strictEqual(notDir.field, "root")
        assert.include(notDir.message, "not a directory")
        const empty = yield* Effect.flip(Effect.provide(LocalStore.make({ root: "" }), nodeLayer))
        assert.strictEqual(empty.field, "root")
      }))

    it.live("an unknown option is InvalidConfig naming it, as on every store", () =>
      Effect.gen(function*() {
        const root = freshDir()
        const typo = { root, mkdirr: true } as unknown as LocalStore.LocalOptions
        const fromLayer = yield* Effect.flip(Effect.scoped(Layer.build(LocalStore.layer(typo))))
        assert.strictEqual(fromLayer._tag, "InvalidConfig")
        assert.strictEqual(fromLayer.field, "mkdirr")
        // make needs no FileSystem or Path: it runs as it is.
        const fromMake = yield* Effect.flip(LocalStore.make(typo))
        assert.strictEqual(fromMake.field, "mkdirr")
        const wrongType = yield* Effect.flip(LocalStore.make({ root, mkdir: "yes" } as never))
        assert.strictEqual(wrongType.field, "mkdir")
      }))

    it.live("layer needs nothing else, and fails with InvalidConfig", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(
          Layer.build(LocalStore.layer({ root: path.join(freshDir(), "nope") })).pipe(
            Effect.scoped
          )
        )
        assert.isTrue(Exit.isFailure(exit))
        const ok = yield* Effect.exit(
          Layer.build(LocalStore.layer(new LocalStore.LocalConfig({ root: freshDir() }))).pipe(Effect.scoped)
        )
        assert.isTrue(Exit.isSuccess(ok))
      }))
  })

  describe("files on disk", () => {
    it.live("objects are plain files below the root, and files put there are objects", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("a/b/c.txt", "hello")
          assert.strictEqual(fs.readFileSync(path.join(root, "a", "b", "c.txt"), "utf8"), "hello")
          fs.writeFileSync(path.join(root, "a", "outside-written.txt"), "from elsewhere")
          assert.strictEqual(yield* text(store, "a/outside-written.txt"), "from elsewhere")
          assert.deepStrictEqual(yield* keys(store.list("a")), ["a/b/c.txt", "a/outside-written.txt"])
        })
      ))

    it.live("ETag is inode-mtimeNs-size in hex and lastModified the mtime", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          const result = yield* store.put("e.bin", new Uint8Array(300))
          const stats = fs.statSync(path.join(root, "e.bin"), { bigint: true })
          const expected = `${stats.ino.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.size.toString(16)}`
          assert.strictEqual(result.eTag, expected)
          const meta = yield* store.head("e.bin")
          assert.strictEqual(meta.eTag, expected)
          assert.strictEqual(meta.lastModified.getTime(), Number(stats.mtimeMs))
          assert.isUndefined(meta.version)
          // A rewrite in place (same inode, same size) still changes the ETag through the mtime.
          fs.utimesSync(path.join(root, "e.bin"), new Date(), new Date(Date.now() + 5000))
          assert.notStrictEqual((yield* store.head("e.bin")).eTag, expected)
        })
      ))

    it.live("conditional gets compare the file's ETag and mtime", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("c.txt", "x")
          const file = path.join(root, "c.txt")
          fs.utimesSync(file, new Date("2020-01-01T00:00:00Z"), new Date("2020-01-01T00:00:00Z"))
          const meta = yield* store.head("c.txt")
          assert.strictEqual(meta.lastModified.toISOString(), "2020-01-01T00:00:00.000Z")
          const since = new Date("2021-01-01T00:00:00Z")
          assert.strictEqual((yield* failure(store.get("c.txt", { ifModifiedSince: since })))._tag, "NotModified")
          assert.strictEqual((yield* failure(store.get("c.txt", { ifNoneMatch: meta.eTag! })))._tag, "NotModified")
          assert.strictEqual((yield* failure(store.get("c.txt", { ifMatch: "nope" })))._tag, "PreconditionFailed")
          const before = new Date("2019-01-01T00:00:00Z")
          assert.strictEqual(
            (yield* failure(store.get("c.txt", { ifUnmodifiedSince: before })))._tag,
            "PreconditionFailed"
          )
          assert.strictEqual(yield* Effect.flatMap(store.get("c.txt", { ifMatch: meta.eTag! }), (r) => r.text), "x")
          assert.strictEqual((yield* failure(store.get("c.txt", { version: "1" })))._tag, "NotSupported")
        })
      ))

    it.live("attributes are refused with NotSupported; tags are accepted and ignored", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const error = yield* failure(store.put("a.txt", "x", { attributes: { contentType: "text/plain" } }))
          assert.strictEqual(error._tag, "NotSupported")
          assert.include(error.message, "attributes")
          yield* store.put("a.txt", "x", { tags: { team: "blue" }, attributes: {} })
          assert.strictEqual(yield* text(store, "a.txt"), "x")
        })
      ))

    it.live("an object and objects below it cannot coexist: NotSupported", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put("a/b", "1")
          assert.strictEqual((yield* failure(store.put("a", "2")))._tag, "NotSupported")
          assert.strictEqual((yield* failure(store.put("a/b/c", "3")))._tag, "NotSupported")
          assert.strictEqual((yield* failure(store.get("a")))._tag, "NotFound")
          assert.strictEqual((yield* failure(store.head("a")))._tag, "NotFound")
          yield* store.delete("a")
          assert.strictEqual(yield* text(store, "a/b"), "1")
        })
      ))
  })

  describe("atomic writes", () => {
    it.live("a reader sees the old object until the new one is complete", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          const old = new Uint8Array(64 * 1024).fill(1)
          yield* store.put("obj", old)
          const fiber = yield* Effect.fork(store.put("obj", slowStream(10, 64 * 1024, 2, "15 millis")))
          let oldReads = 0
          let newReads = 0
          while (fiber.unsafePoll() === null) {
            const read = yield* Effect.either(Effect.flatMap(store.get("obj"), (r) => r.bytes))
            // The put may complete between get and the read of its body: that read is refused, not mixed.
            if (Either.isLeft(read)) {
              assert.strictEqual(read.left._tag, "PreconditionFailed")
              continue
            }
            const bytes = read.right
            const isOld = bytes.byteLength === old.byteLength && bytes.every((b) => b === 1)
            const isNew = bytes.byteLength === 10 * 64 * 1024 && bytes.every((b) => b === 2)
            assert.isTrue(isOld || isNew, `a mixed or half-written object was visible (${bytes.byteLength} bytes)`)
            if (isOld) oldReads++
            else newReads++
            yield* Effect.sleep("5 millis")
          }
          yield* Fiber.join(fiber)
          assert.isAbove(oldReads, 3)
          assert.isAtMost(newReads, 1)
          const bytes = yield* Effect.flatMap(store.get("obj"), (r) => r.bytes)
          assert.strictEqual(bytes.byteLength, 10 * 64 * 1024)
          assert.isTrue(bytes.every((b) => b === 2))
          assert.deepStrictEqual(tempFilesBelow(root), [])
        })
      ))

    it.live("a put whose stream fails midway leaves the old object and no temporary file", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("dir/obj", "old")
          const broken = Stream.concat(
            Stream.make(new Uint8Array(1024 * 1024), new Uint8Array(1024)),
            Stream.fail("boom" as const)
          )
          const error = yield* failure(store.put("dir/obj", broken))
          assert.strictEqual(error, "boom")
          assert.strictEqual(yield* text(store, "dir/obj"), "old")
          assert.deepStrictEqual(filesBelow(root), ["dir/obj"])
          // The same for a put that creates: nothing is left at all.
          yield* failure(store.put("dir/new", broken, { mode: "create" }))
          assert.deepStrictEqual(filesBelow(root), ["dir/obj"])
        })
      ))

    it.live("an interrupted put leaves the old object and no temporary file", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("obj", "old")
          const fiber = yield* Effect.fork(store.put("obj", slowStream(1000, 16 * 1024, 7, "5 millis")))
          yield* Effect.sleep("60 millis")
          assert.strictEqual(tempFilesBelow(root).length, 1, "the put is writing its temporary file")
          yield* Fiber.interrupt(fiber)
          assert.strictEqual(yield* text(store, "obj"), "old")
          assert.deepStrictEqual(filesBelow(root), ["obj"])
        })
      ))

    it.live("temporary files are hidden from list and their names are reserved", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("d/a", "1")
          fs.writeFileSync(path.join(root, "d", ".a.0123abcd.obstore-tmp"), "partial")
          assert.deepStrictEqual(yield* keys(store.list()), ["d/a"])
          const delimited = yield* store.listWithDelimiter("d")
          assert.deepStrictEqual(delimited.objects.map((m) => m.path), ["d/a"])
          for (const bad of ["x.obstore-tmp", "d/.a.0123abcd.obstore-tmp", "y.obstore-tmp/z"]) {
            const error = yield* failure(store.put(bad, "x"))
            assert.strictEqual(error._tag, "InvalidPath", bad)
            assert.include(error.message, "reserved")
            assert.strictEqual((yield* failure(store.get(bad)))._tag, "InvalidPath")
          }
        })
      ))
  })

  describe("conditional puts", () => {
    it.live("100 concurrent creates of one path: exactly one succeeds, 99 fail with AlreadyExists", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          const results = yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) => Effect.either(store.put("race/obj", `writer ${i}`, { mode: "create" })),
            { concurrency: "unbounded" }
          )
          const winners = results.flatMap((r, i) => Either.isRight(r) ? [i] : [])
          const losers = results.flatMap((r) => Either.isLeft(r) ? [r.left._tag] : [])
          assert.strictEqual(winners.length, 1)
          assert.deepStrictEqual(new Set(losers), new Set(["AlreadyExists"]))
          assert.strictEqual(losers.length, 99)
          assert.strictEqual(yield* text(store, "race/obj"), `writer ${winners[0]}`)
          assert.deepStrictEqual(filesBelow(root), ["race/obj"])
        })
      ))

    it.live("update by ETag: a stale or missing object fails with PreconditionFailed, a version is NotSupported", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          const first = yield* store.put("u", "one")
          const second = yield* store.put("u", "two", { mode: { eTag: first.eTag } })
          assert.notStrictEqual(second.eTag, first.eTag)
          assert.strictEqual(yield* text(store, "u"), "two")
          const stale = yield* failure(store.put("u", "three", { mode: { eTag: first.eTag } }))
          assert.strictEqual(stale._tag, "PreconditionFailed")
          assert.strictEqual(yield* text(store, "u"), "two")
          const missing = yield* failure(store.put("nope", "x", { mode: { eTag: first.eTag } }))
          assert.strictEqual(missing._tag, "PreconditionFailed")
          const version = yield* failure(store.put("u", "x", { mode: { version: "1" } }))
          assert.strictEqual(version._tag, "NotSupported")
          assert.deepStrictEqual(filesBelow(root), ["u"])
        })
      ))

    it.live("concurrent updates from one ETag: exactly one wins (in-process lock)", () =>
      withStore((store) =>
        Effect.gen(function*() {
          const { eTag } = yield* store.put("u", "start")
          const results = yield* Effect.forEach(
            Array.from({ length: 20 }, (_, i) => i),
            (i) => Effect.either(store.put("u", `update ${i}`, { mode: { eTag } })),
            { concurrency: "unbounded" }
          )
          const winners = results.flatMap((r, i) => Either.isRight(r) ? [i] : [])
          assert.strictEqual(winners.length, 1)
          for (const r of results) if (Either.isLeft(r)) assert.strictEqual(r.left._tag, "PreconditionFailed")
          assert.strictEqual(yield* text(store, "u"), `update ${winners[0]}`)
        })
      ))
  })

  describe("paths never leave the root", () => {
    const withOutside = <A, E>(
      f: (store: ObjectStore.ObjectStore.Service, root: string, outside: string) => Effect.Effect<A, E>
    ) =>
      withStore((store, root) => {
        const outside = freshDir()
        fs.writeFileSync(path.join(outside, "secret"), "secret")
        fs.symlinkSync(outside, path.join(root, "out"))
        fs.symlinkSync(path.join(outside, "secret"), path.join(root, "secret-link"))
        return f(store, root, outside)
      })

    it.live("get, head, getRange, copy and rename through a symlink out of the root are PermissionDenied", () =>
      withOutside((store) =>
        Effect.gen(function*() {
          for (const key of ["out/secret", "secret-link"]) {
            assert.strictEqual((yield* failure(store.get(key)))._tag, "PermissionDenied", `get ${key}`)
            assert.strictEqual((yield* failure(store.head(key)))._tag, "PermissionDenied", `head ${key}`)
            assert.strictEqual((yield* failure(store.getRange(key, { offset: 0 })))._tag, "PermissionDenied")
            assert.strictEqual((yield* failure(store.copy(key, "copied")))._tag, "PermissionDenied", `copy ${key}`)
          }
          assert.strictEqual((yield* failure(store.rename("out/secret", "moved")))._tag, "PermissionDenied")
        })
      ))

    it.live("put through a symlink out of the root is PermissionDenied and writes nothing outside", () =>
      withOutside((store, _root, outside) =>
        Effect.gen(function*() {
          for (const key of ["out/new", "out/deep/er/new", "secret-link"]) {
            const error = yield* failure(store.put(key, "x"))
            assert.strictEqual(error._tag, "PermissionDenied", key)
            assert.include(error.message, "outside the store root")
          }
          assert.deepStrictEqual(filesBelow(outside), ["secret"])
          assert.deepStrictEqual(fs.readdirSync(outside), ["secret"])
          assert.strictEqual(fs.readFileSync(path.join(outside, "secret"), "utf8"), "secret")
          assert.strictEqual((yield* failure(store.delete("out/secret")))._tag, "PermissionDenied")
          assert.isTrue(fs.existsSync(path.join(outside, "secret")))
        })
      ))

    it.live("list and listWithDelimiter meeting a symlink out of the root are PermissionDenied", () =>
      withOutside((store) =>
        Effect.gen(function*() {
          assert.strictEqual((yield* failure(keys(store.list())))._tag, "PermissionDenied")
          assert.strictEqual((yield* failure(keys(store.list("out"))))._tag, "PermissionDenied")
          assert.strictEqual((yield* failure(store.listWithDelimiter()))._tag, "PermissionDenied")
          assert.strictEqual((yield* failure(store.listWithDelimiter("out")))._tag, "PermissionDenied")
        })
      ))

    it.live("symlinks that stay inside the root are followed, and a loop does not hang list", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("real/file", "inside")
          fs.symlinkSync(path.join(root, "real"), path.join(root, "alias"))
          fs.symlinkSync(root, path.join(root, "real", "loop"))
          assert.strictEqual(yield* text(store, "alias/file"), "inside")
          assert.deepStrictEqual(yield* keys(store.list()), ["alias/file", "real/file"])
        })
      ))
  })

  describe("reads", () => {
    it.live("ranges read only the requested bytes (positioned reads of an 8 GiB sparse file)", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          const size = 8 * 1024 ** 3
          const file = path.join(root, "sparse")
          fs.closeSync(fs.openSync(file, "w"))
          fs.truncateSync(file, size)
          const fd = fs.openSync(file, "r+")
          fs.writeSync(fd, Buffer.from("tail!"), 0, 5, size - 5)
          fs.closeSync(fd)
          const start = Date.now()
          const tail = yield* store.getRange("sparse", { suffix: 5 })
          assert.strictEqual(new TextDecoder().decode(tail), "tail!")
          const result = yield* store.get("sparse", { range: { start: size - 1024 ** 2 - 5, end: size } })
          assert.deepStrictEqual(result.range, { start: size - 1024 ** 2 - 5, end: size })
          const chunks = Chunk.toArray(yield* Stream.runCollect(result.stream))
          assert.strictEqual(chunks.reduce((n, c) => n + c.byteLength, 0), 1024 ** 2 + 5)
          assert.strictEqual(new TextDecoder().decode(chunks[chunks.length - 1].slice(-5)), "tail!")
          const [a, b] = yield* store.getRanges("sparse", [{ offset: 0, length: 3 }, { start: size - 2, end: size }])
          assert.deepStrictEqual(Array.from(a), [0, 0, 0])
          assert.strictEqual(new TextDecoder().decode(b), "l!")
          assert.isBelow(Date.now() - start, 2000, "reading ranges took as long as reading the file")
        })
      ))

    it.live("a get result holds no file descriptor until its body is read", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put("obj", new Uint8Array(4 * 1024 * 1024))
          const before = openFds()
          const results = yield* Effect.forEach(Array.from({ length: 50 }), () => store.get("obj"))
          assert.strictEqual(openFds(), before)
          assert.strictEqual(results.length, 50)
          // A stream read halfway and dropped closes its file too.
          yield* Stream.runDrain(Stream.take(results[0].stream, 1))
          assert.strictEqual((yield* results[1].bytes).byteLength, 4 * 1024 * 1024)
          assert.strictEqual(openFds(), before)
        })
      ))

    it.live("a body read after the object changed fails: PreconditionFailed, or NotFound when deleted", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("obj", "version one")
          const replaced = yield* store.get("obj")
          const appended = yield* store.get("obj")
          const deleted = yield* store.get("obj")
          yield* store.put("obj", "version two")
          const error = yield* failure(replaced.text)
          assert.strictEqual(error._tag, "PreconditionFailed")
          assert.include(error.message, "object changed since get")
          assert.strictEqual((yield* failure(Stream.runDrain(replaced.stream)))._tag, "PreconditionFailed")
          const fresh = yield* store.get("obj")
          fs.appendFileSync(path.join(root, "obj"), "!")
          assert.strictEqual((yield* failure(fresh.bytes))._tag, "PreconditionFailed")
          yield* store.delete("obj")
          assert.strictEqual((yield* failure(deleted.bytes))._tag, "NotFound")
          assert.strictEqual((yield* failure(appended.bytes))._tag, "NotFound")
        })
      ))

    it.live("a big streamed get comes in chunks of at most 1 MiB", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put("big", new Uint8Array(5 * 1024 * 1024 + 3).fill(9))
          const result = yield* store.get("big")
          const sizes = Chunk.toArray(yield* Stream.runCollect(Stream.map(result.stream, (c) => c.byteLength)))
          assert.deepStrictEqual(sizes, [1, 2, 3, 4, 5].map(() => 1024 * 1024).concat([3]))
        })
      ))
  })

  describe("list", () => {
    // Names around "/" (0x2f): "-" (0x2d) and "." sort before it, "0" and letters after.
    const tricky = [
      "a-b",
      "a/b-c/d",
      "a/b/c",
      "a/b.c",
      "a/b0",
      "a.b/x",
      "a0",
      "a0/z",
      "ab",
      "b/ü/x",
      "b/z",
      "b/é"
    ].filter((k) => k !== "a0") // "a0" and "a0/z" cannot both be there

    it.live("walks lazily in global lexicographic key order", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* Effect.forEach(tricky, (k) => store.put(k, k), { discard: true })
          const expected = [...tricky].sort()
          assert.deepStrictEqual(yield* keys(store.list()), expected)
          assert.deepStrictEqual(yield* keys(store.list("a")), expected.filter((k) => k.startsWith("a/")))
          assert.deepStrictEqual(yield* keys(store.list("a/b")), ["a/b/c"])
          assert.deepStrictEqual(yield* keys(Stream.take(store.list(), 2)), expected.slice(0, 2))
        })
      ))

    it.live("offset lists only the keys after it, at any depth", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* Effect.forEach(tricky, (k) => store.put(k, k), { discard: true })
          const expected = [...tricky].sort()
          for (const offset of [...expected, "", "a", "a/", "a/b/", "a/b/b", "a/zz", "b", "zz", "a/b-c/d/e"]) {
            assert.deepStrictEqual(
              yield* keys(store.list("", { offset })),
              expected.filter((k) => k > offset),
              `offset ${JSON.stringify(offset)}`
            )
          }
          assert.deepStrictEqual(
            yield* keys(store.list("a", { offset: "a/b-c/d" })),
            expected.filter((k) => k.startsWith("a/") && k > "a/b-c/d")
          )
        })
      ))

    it.live("a prefix matches whole segments and a missing prefix is empty", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* Effect.forEach(["foo/bar", "foobar", "foo-x/y"], (k) => store.put(k, k), { discard: true })
          assert.deepStrictEqual(yield* keys(store.list("foo")), ["foo/bar"])
          assert.deepStrictEqual(yield* keys(store.list("foobar")), [])
          assert.deepStrictEqual(yield* keys(store.list("nope/deeper")), [])
        })
      ))

    it.live("listWithDelimiter reads one directory and leaves out empty directories", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* Effect.forEach(["d/x", "d/sub/y", "d/gone/z", "d/z-file"], (k) => store.put(k, k), { discard: true })
          yield* store.delete("d/gone/z")
          fs.mkdirSync(path.join(root, "d", "empty", "deeper"), { recursive: true })
          const result = yield* store.listWithDelimiter("d")
          assert.deepStrictEqual(result.commonPrefixes, ["d/sub"])
          assert.deepStrictEqual(result.objects.map((m) => m.path), ["d/x", "d/z-file"])
          assert.deepStrictEqual(yield* store.listWithDelimiter("missing"), { commonPrefixes: [], objects: [] })
        })
      ))

    it.live("files whose names are no valid object path are left out", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("ok", "1")
          fs.writeFileSync(path.join(root, "bad\nname"), "x")
          assert.deepStrictEqual(yield* keys(store.list()), ["ok"])
        })
      ))
  })

  describe("delete, copy, rename", () => {
    it.live("deleting a missing object succeeds; without automaticCleanup directories stay", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.delete("never/was")
          yield* store.put("a/b/c", "1")
          yield* store.delete("a/b/c")
          assert.isTrue(fs.existsSync(path.join(root, "a", "b")))
        })
      ))

    it.live("with automaticCleanup, delete and rename remove emptied parents up to the root", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("a/b/c", "1")
          yield* store.put("a/keep", "2")
          yield* store.delete("a/b/c")
          assert.isFalse(fs.existsSync(path.join(root, "a", "b")))
          assert.isTrue(fs.existsSync(path.join(root, "a")))
          yield* store.rename("a/keep", "x/y/z")
          assert.deepStrictEqual(fs.readdirSync(root), ["x"])
          yield* store.delete("x/y/z")
          assert.deepStrictEqual(fs.readdirSync(root), [])
          assert.isTrue(fs.existsSync(root))
        }), { automaticCleanup: true }))

    it.live("copy and rename without overwrite fail with AlreadyExists and leave both objects", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("src", "source")
          yield* store.put("dst", "target")
          assert.strictEqual((yield* failure(store.copy("src", "dst", { overwrite: false })))._tag, "AlreadyExists")
          assert.strictEqual((yield* failure(store.rename("src", "dst", { overwrite: false })))._tag, "AlreadyExists")
          assert.strictEqual(yield* text(store, "src"), "source")
          assert.strictEqual(yield* text(store, "dst"), "target")
          assert.deepStrictEqual(filesBelow(root), ["dst", "src"])
          yield* store.copy("src", "new/copy", { overwrite: false })
          yield* store.rename("src", "new/moved", { overwrite: false })
          assert.deepStrictEqual(filesBelow(root), ["dst", "new/copy", "new/moved"])
          yield* store.copy("dst", "new/copy")
          yield* store.rename("dst", "new/moved")
          assert.deepStrictEqual(filesBelow(root), ["new/copy", "new/moved"])
          assert.strictEqual(yield* text(store, "new/moved"), "target")
          assert.strictEqual((yield* failure(store.rename("gone", "x")))._tag, "NotFound")
          assert.strictEqual((yield* failure(store.copy("gone", "x")))._tag, "NotFound")
        })
      ))

    it.live("a copy is a new file: changing it leaves the source alone", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("src", "source")
          yield* store.copy("src", "dst")
          fs.writeFileSync(path.join(root, "dst"), "changed")
          assert.strictEqual(yield* text(store, "src"), "source")
          assert.notStrictEqual((yield* store.head("src")).eTag, (yield* store.head("dst")).eTag)
        })
      ))
  })

  it.live("put accepts payloads of many small chunks and writes them in order", () =>
    withStore((store) =>
      Effect.gen(function*() {
        const parts = Array.from({ length: 3000 }, (_, i) => encoder.encode(`${i},`))
        const big = new Uint8Array(200 * 1024).fill(65)
        const stream = Stream.fromIterable([...parts.slice(0, 1500), big, ...parts.slice(1500)])
        yield* store.put("small", stream)
        const expected = parts.slice(0, 1500).map((p) => new TextDecoder().decode(p)).join("") +
          "A".repeat(big.length) +
          parts.slice(1500).map((p) => new TextDecoder().decode(p)).join("")
        assert.strictEqual(yield* text(store, "small"), expected)
        const reused = new Uint8Array(10)
        const iterable = (async function*() {
          for (let i = 0; i < 5; i++) {
            reused.fill(48 + i)
            yield reused
          }
        })()
        yield* store.put("reused", iterable)
        assert.strictEqual(yield* text(store, "reused"), "0000000000111111111122222222223333333333" + "4444444444")
      })
    ))

  it.live("delete and rename of a symlink inside the root act on the link, never on its target", () =>
    withStore((store, root) =>
      Effect.gen(function*() {
        yield* store.put("real/file", "inside")
        for (const name of ["gone", "moved-over", "moved-new"]) {
          fs.symlinkSync(path.join(root, "real", "file"), path.join(root, name))
        }
        yield* store.delete("gone")
        yield* store.rename("moved-over", "a/one")
        yield* store.rename("moved-new", "a/two", { overwrite: false })
        assert.isTrue(fs.lstatSync(path.join(root, "a", "one")).isSymbolicLink())
        assert.isTrue(fs.lstatSync(path.join(root, "a", "two")).isSymbolicLink())
        assert.strictEqual(yield* text(store, "a/two"), "inside")
        assert.strictEqual(yield* text(store, "real/file"), "inside")
        assert.deepStrictEqual(yield* keys(store.list()), ["a/one", "a/two", "real/file"])
      })
    ))

  it("no function in LocalStore's modules is longer than 150 lines", async () => {
    const ts = (await import("typescript")).default
    const src = path.join(import.meta.dirname, "..", "src")
    const local = path.join(src, "internal", "local")
    const files = [
      path.join(src, "LocalStore.ts"),
      ...fs.readdirSync(local).filter((name) => name.endsWith(".ts")).map((name) => path.join(local, name))
    ]
    const long: Array<string> = []
    for (const file of files) {
      const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true)
      const visit = (node: import("typescript").Node): void => {
        if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
          const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line
          const last = source.getLineAndCharacterOfPosition(node.getEnd()).line
          if (last - first + 1 > 150) long.push(`${path.relative(src, file)}:${first + 1} (${last - first + 1} lines)`)
        }
        ts.forEachChild(node, visit)
      }
      visit(source)
    }
    assert.isAbove(files.length, 10)
    assert.deepStrictEqual(long, [])
  })
})
