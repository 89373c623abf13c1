// LocalStore against a hostile filesystem: another process racing it, special files, cleanup racing writers,
// relative symbolic links, objects too big for one buffer. Issue 9, points 1-5.
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Effect, Either, Stream } from "effect"
import * as LocalStore from "effect-obstore/LocalStore"
import type * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const base = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-hostile-test-"))
afterAll(() => fs.rmSync(base, { recursive: true, force: true }))

let counter = 0
const freshDir = (): string => {
  const dir = path.join(base, `t${counter++}`)
  fs.mkdirSync(dir)
  return dir
}

const withStore = <A, E>(
  f: (store: ObjectStore.ObjectStore.Service, root: string) => Effect.Effect<A, E>,
  options: Omit<LocalStore.LocalOptions, "root"> = {}
) =>
  Effect.suspend(() => {
    const root = freshDir()
    return Effect.flatMap(LocalStore.make({ ...options, root }), (store) => f(store, root))
  })

const decoder = new TextDecoder()

const keysOf = (store: ObjectStore.ObjectStore.Service, prefix?: string) =>
  Effect.map(Stream.runCollect(store.list(prefix)), (metas) => Chunk.toArray(metas).map((meta) => meta.path))

const failure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.either(effect), (either) => {
    if (Either.isRight(either)) return assert.fail("expected a failure, but it succeeded")
    return either.left
  })

/** Every entry below `dir` (relative paths, directories included), sorted. */
const entriesBelow = (dir: string): Array<string> => (fs.readdirSync(dir, { recursive: true }) as Array<string>).sort()

/**
 * A second process that swaps `root/d` between a real directory and a symbolic link to `outside`, as fast as it
 * can, until it is killed.
 */
const startSwapper = (root: string, outside: string): ChildProcess => {
  const script = `
    const fs = require("node:fs"), path = require("node:path")
    const [root, outside] = process.argv.slice(1)
    const d = path.join(root, "d"), stash = path.join(root, "stash"), link = path.join(root, "link")
    fs.symlinkSync(outside, link)
    process.stdout.write("ready\\n")
    for (;;) {
      try { fs.renameSync(d, stash); fs.renameSync(link, d) } catch {}
      try { fs.renameSync(d, link); fs.renameSync(stash, d) } catch {}
    }`
  return spawn(process.execPath, ["-e", script, root, outside], { stdio: ["ignore", "pipe", "inherit"] })
}

const ready = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    child.stdout!.once("data", () => resume(Effect.void))
  })

const stop = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

describe("LocalStore on a hostile filesystem", () => {
  it.live(
    "a directory swapped for a symlink out of the root while puts and gets run: nothing escapes",
    () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          const outside = freshDir()
          fs.writeFileSync(path.join(outside, "file"), "SECRET")
          fs.writeFileSync(path.join(outside, "gone"), "SECRET")
          fs.writeFileSync(path.join(outside, "outside-only"), "SECRET")
          fs.mkdirSync(path.join(outside, "sub"))
          // An empty directory outside, where a cleanup through the link would remove it.
          fs.mkdirSync(path.join(outside, "e"))
          const before = entriesBelow(outside)
          yield* store.put("d/file", "inside")
          yield* store.put("d/gone", "inside")
          const child = startSwapper(root, outside)
          yield* ready(child)
          const leaks: Array<string> = []
          const outcomes = new Map<string, number>()
          const note = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
            Effect.tap(Effect.either(effect), (either) => {
              const tag = Either.isRight(either) ? "ok" : either.left._tag
              outcomes.set(tag, (outcomes.get(tag) ?? 0) + 1)
            })
          const read = <E extends { readonly _tag: string }>(
            what: string,
            effect: Effect.Effect<Uint8Array | string, E>
          ) =>
            Effect.tap(note(effect), (either) => {
              if (Either.isRight(either)) {
                const text = typeof either.right === "string" ? either.right : decoder.decode(either.right)
                if (text.includes("SECRET")) leaks.push(what)
              }
            })
          const round = (i: number) =>
            Effect.all([
              note(store.put(`d/new${i}`, "x")),
              note(store.put(`d/sub/deep${i}/new`, "x")),
              note(store.put("d/file", "inside")),
              read("get", Effect.flatMap(store.get("d/file"), (r) => r.text)),
              read("getRange", store.getRange("d/file", { offset: 0 })),
              note(store.head("d/file")),
              note(store.copy("d/file", `copies/c${i}`)),
              note(store.rename("d/file", `moved/m${i}`)),
              note(store.delete("d/gone")),
              note(store.put("d/gone", "inside")),
              note(store.put("d/e/x", "inside")),
              note(store.delete("d/e/x")),
              Effect.tap(note(keysOf(store, "d")), (either) => {
                if (Either.isRight(either) && either.right.includes("d/outside-only")) leaks.push("list")
              }),
              Effect.tap(note(store.listWithDelimiter("d")), (either) => {
                if (Either.isRight(either) && either.right.objects.some((o) => o.path === "d/outside-only")) {
                  leaks.push("listWithDelimiter")
                }
              })
            ], { concurrency: "unbounded" })
          const start = Date.now()
          let rounds = 0
          // Long enough to race many times, however loaded the machine is.
          const race = Effect.whileLoop({
            while: () => (Date.now() - start < 1500 || rounds < 10) && Date.now() - start < 20_000,
            body: () => Effect.forEach([0, 1, 2, 3], (j) => round(rounds * 4 + j), { concurrency: "unbounded" }),
            step: () => rounds++
          })
          yield* Effect.ensuring(race, stop(child))
          // The race happened: calls met the link (refused) and the directory (succeeded).
          assert.isAbove(outcomes.get("PermissionDenied") ?? 0, 0, JSON.stringify([...outcomes]))
          assert.isAbove(outcomes.get("ok") ?? 0, 0, JSON.stringify([...outcomes]))
          // Whatever the outcome of each call, nothing outside was written, created, moved or removed.
          assert.deepStrictEqual(entriesBelow(outside), before)
          assert.strictEqual(fs.readFileSync(path.join(outside, "file"), "utf8"), "SECRET")
          assert.strictEqual(fs.readFileSync(path.join(outside, "gone"), "utf8"), "SECRET")
          // Nothing outside was read: not by get or getRange, not into a copy or a renamed object.
          assert.deepStrictEqual(leaks, [])
          for (const dir of ["copies", "moved"]) {
            const found = path.join(root, dir)
            for (const name of fs.existsSync(found) ? fs.readdirSync(found) : []) {
              assert.notInclude(fs.readFileSync(path.join(found, name), "utf8"), "SECRET", `${dir}/${name}`)
            }
          }
        })
      ),
    30_000
  )

  describe("special files", () => {
    const fifo = (root: string, name: string) => execFileSync("mkfifo", [path.join(root, name)])

    it.live("a FIFO is no object: refused at once, never read, by every call", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          fifo(root, "pipe")
          const start = Date.now()
          const calls = {
            getRange: store.getRange("pipe", { offset: 0, length: 1 }),
            get: store.get("pipe"),
            head: store.head("pipe"),
            copy: store.copy("pipe", "copied"),
            rename: store.rename("pipe", "moved")
          }
          for (const [name, call] of Object.entries(calls)) {
            const error = yield* failure(Effect.timeout(call as Effect.Effect<unknown, { _tag: string }>, "5 seconds"))
            assert.strictEqual(error._tag, "NotFound", name)
          }
          assert.isBelow(Date.now() - start, 5000)
          assert.isTrue(fs.lstatSync(path.join(root, "pipe")).isFIFO())
          assert.isFalse(fs.existsSync(path.join(root, "copied")))
          assert.deepStrictEqual(yield* keysOf(store), [])
        })
      ))

    it.live("a FIFO swapped in after get is refused when the body is read", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("obj", "content")
          const result = yield* store.get("obj")
          fs.unlinkSync(path.join(root, "obj"))
          fifo(root, "obj")
          const error = yield* failure(Effect.timeout(result.bytes, "5 seconds"))
          assert.include(["NotFound", "PreconditionFailed"], error._tag)
        })
      ))

    it.live("many concurrent reads of FIFOs do not exhaust libuv's thread pool", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          for (let i = 0; i < 8; i++) fifo(root, `pipe${i}`)
          const errors = yield* Effect.forEach(
            Array.from({ length: 8 }, (_, i) => i),
            (i) => failure(Effect.timeout(store.getRange(`pipe${i}`, { offset: 0, length: 10 }), "5 seconds")),
            { concurrency: "unbounded" }
          )
          for (const error of errors) assert.strictEqual(error._tag, "NotFound")
          // The pool still serves ordinary files.
          yield* Effect.timeout(store.put("after", "still works"), "5 seconds")
          assert.strictEqual(
            yield* Effect.timeout(Effect.flatMap(store.get("after"), (r) => r.text), "5 seconds"),
            "still works"
          )
        })
      ))
  })

  it.live("automaticCleanup racing a delete: copy, rename and put recreate the directory, never 'source vanished'", () =>
    withStore((store) =>
      Effect.gen(function*() {
        const failures: Array<string> = []
        for (let i = 0; i < 60; i++) {
          yield* store.put(`s${i}`, "source")
          yield* store.put(`r${i}`, "source")
          yield* store.put("a/b/y", "y")
          const results = yield* Effect.all([
            Effect.either(store.delete("a/b/y")),
            Effect.either(store.copy(`s${i}`, `a/b/c${i}`)),
            Effect.either(store.rename(`r${i}`, `a/b/m${i}`)),
            Effect.either(store.put(`a/b/p${i}`, "p"))
          ], { concurrency: "unbounded" })
          for (const r of results as ReadonlyArray<Either.Either<unknown, { readonly message: string }>>) {
            if (Either.isLeft(r)) failures.push(r.left.message)
          }
          for (const name of [`c${i}`, `m${i}`, `p${i}`]) {
            const exists = yield* Effect.either(store.head(`a/b/${name}`))
            if (Either.isLeft(exists)) failures.push(`a/b/${name} missing: ${exists.left.message}`)
            yield* store.delete(`a/b/${name}`)
          }
        }
        assert.deepStrictEqual(failures, [])
      }), { automaticCleanup: true }))

  describe("links", () => {
    it.live("renaming a relative symlink keeps it leading to its file", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          yield* store.put("real/file", "inside")
          fs.symlinkSync("real/file", path.join(root, "link"))
          fs.symlinkSync("../real/file", path.join(root, "real", "sibling"))
          fs.symlinkSync("file", path.join(root, "real", "near"))
          yield* store.rename("link", "deep/er/moved")
          yield* store.rename("real/sibling", "top", { overwrite: false })
          yield* store.put("over", "old")
          yield* store.rename("real/near", "over")
          for (
            const [key, text] of [["deep/er/moved", "../../real/file"], ["top", "real/file"], ["over", "real/file"]]
          ) {
            assert.isTrue(fs.lstatSync(path.join(root, key)).isSymbolicLink(), key)
            assert.strictEqual(fs.readlinkSync(path.join(root, key)), text, key)
            assert.strictEqual(decoder.decode(yield* store.getRange(key, { offset: 0 })), "inside", key)
          }
          assert.deepStrictEqual(yield* keysOf(store), ["deep/er/moved", "over", "real/file", "top"])
          yield* store.put("taken", "x")
          fs.symlinkSync("real/file", path.join(root, "link2"))
          assert.strictEqual(
            (yield* failure(store.rename("link2", "taken", { overwrite: false })))._tag,
            "AlreadyExists"
          )
          assert.strictEqual(fs.readlinkSync(path.join(root, "link2")), "real/file")
        })
      ))

    it.live("a hard link to a file outside the root is read as the object it is; a put replaces it, never the file", () =>
      withStore((store, root) =>
        Effect.gen(function*() {
          const outside = freshDir()
          fs.writeFileSync(path.join(outside, "shared"), "shared")
          fs.linkSync(path.join(outside, "shared"), path.join(root, "hard"))
          assert.strictEqual(yield* Effect.flatMap(store.get("hard"), (r) => r.text), "shared")
          yield* store.put("hard", "replaced")
          assert.strictEqual(fs.readFileSync(path.join(outside, "shared"), "utf8"), "shared")
          assert.strictEqual(fs.readFileSync(path.join(root, "hard"), "utf8"), "replaced")
          assert.strictEqual(fs.statSync(path.join(outside, "shared")).nlink, 1)
        })
      ))
  })

  it.live("an object over 4 GiB: bytes and getRange fail typed, naming the size; stream and smaller ranges work", () =>
    withStore((store, root) =>
      Effect.gen(function*() {
        const size = 5 * 1024 ** 3
        const file = path.join(root, "huge")
        fs.closeSync(fs.openSync(file, "w"))
        fs.truncateSync(file, size)
        const whole = yield* failure(store.getRange("huge", { offset: 0 }))
        assert.strictEqual(whole._tag, "NotSupported")
        assert.include(whole.message, String(size))
        assert.include(whole.message, "stream")
        const result = yield* store.get("huge")
        assert.strictEqual(result.meta.size, size)
        const bytes = yield* failure(result.bytes)
        assert.strictEqual(bytes._tag, "StoreError")
        assert.include(bytes.message, String(size))
        const first = yield* Stream.runCollect(Stream.take(result.stream, 1))
        assert.strictEqual(Chunk.unsafeGet(first, 0).byteLength, 1024 * 1024)
        const tail = yield* store.getRange("huge", { suffix: 10 })
        assert.deepStrictEqual(Array.from(tail), new Array(10).fill(0))
      })
    ))

  it.live("keys that are not well-formed UTF-16 are InvalidPath on LocalStore and S3Store, before any I/O", () =>
    Effect.scoped(Effect.gen(function*() {
      const root = freshDir()
      const local = yield* LocalStore.make({ root })
      // Nothing listens on port 9: a request would fail otherwise, so InvalidPath proves the check comes first.
      const s3 = yield* S3Store.make({
        bucket: "bucket",
        region: "us-east-1",
        endpoint: "http://127.0.0.1:9",
        accessKeyId: "AKIAEXAMPLE",
        secretAccessKey: "secret",
        client: { allowHttp: true },
        retry: { maxRetries: 0 }
      })
      for (const store of [local, s3]) {
        for (const key of ["s\uD800", "\uDC00/x", "a/\uDE00\uD83D"]) {
          const exit = yield* Effect.exit(store.put(key, "x"))
          assert.isTrue(
            exit._tag === "Failure" && Cause.isFailType(exit.cause),
            `${store.name} put ${JSON.stringify(key)}`
          )
          for (
            const call of [store.put(key, "x"), store.head(key), store.getRange(key, { offset: 0 }), store.delete(key)]
          ) {
            assert.strictEqual((yield* failure(call as Effect.Effect<unknown, { _tag: string }>))._tag, "InvalidPath")
          }
        }
      }
      // On disk "s\uD800" would have become "s\uFFFD": one file for two keys.
      yield* local.put("s\uFFFD", "replacement character")
      assert.deepStrictEqual(fs.readdirSync(root), ["s\uFFFD"])
    })))
})
