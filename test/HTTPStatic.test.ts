/**
 * HTTPStore's read-only path against a plain static server (test/support/staticServer.ts: Node's `http`, no WebDAV):
 * get, head, ranges and conditionals work; list, put, copy, rename and delete fail naming what the server answered.
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import type { Scope } from "effect"
import * as HTTPStore from "effect-obstore/HTTPStore"
import type * as ObjectStore from "effect-obstore/ObjectStore"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { StaticServer } from "./support/staticServer.js"

type Store = ObjectStore.ObjectStore.Service

const hundred = Uint8Array.from({ length: 100 }, (_, i) => i)
const big = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17))
const md5 = (bytes: Uint8Array) => `"${createHash("md5").update(bytes).digest("hex")}"`
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** A temp directory with a few files, a static server over it, and a store on the server (below `base`). */
const setup = (
  base = ""
): Effect.Effect<{ readonly store: Store; readonly requests: () => number }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const root = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "obstore-static-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    fs.mkdirSync(path.join(root, "site", "dir", "ünï cödé"), { recursive: true })
    fs.writeFileSync(path.join(root, "site", "hundred.bin"), hundred)
    fs.writeFileSync(path.join(root, "site", "empty"), "")
    fs.writeFileSync(path.join(root, "site", "big.bin"), big)
    fs.writeFileSync(path.join(root, "site", "dir", "ünï cödé", "a+b #1.txt"), "special")
    const server = yield* StaticServer.scoped(root)
    const store = yield* HTTPStore.make({ url: server.url + base, client: { allowHttp: true } }).pipe(Effect.orDie)
    return { store, requests: () => server.requests.length }
  })

const text = (store: Store, p: string, options?: ObjectStore.GetOptions) =>
  Effect.flatMap(store.get(p, options), (r) => r.bytes)

describe("HTTPStore on a plain static server", () => {
  it.live("get, head and meta: size, the server's ETag and Last-Modified", () =>
    Effect.gen(function*() {
      const { store } = yield* setup()
      assert.deepStrictEqual(yield* text(store, "site/hundred.bin"), hundred)
      const meta = yield* store.head("site/hundred.bin")
      assert.strictEqual(meta.size, 100)
      assert.strictEqual(meta.eTag, md5(hundred))
      assert.isBelow(Math.abs(meta.lastModified.getTime() - Date.now()), 60_000)
      const empty = yield* store.get("site/empty")
      assert.strictEqual((yield* empty.bytes).byteLength, 0)
      const special = yield* store.get("site/dir/ünï cödé/a+b #1.txt")
      assert.strictEqual(yield* special.text, "special")
    }).pipe(Effect.scoped))

  it.live("a store below a base path reads relative to it", () =>
    Effect.gen(function*() {
      const { store } = yield* setup("site/dir/")
      assert.strictEqual(yield* Effect.flatMap(store.get("ünï cödé/a+b #1.txt"), (r) => r.text), "special")
    }).pipe(Effect.scoped))

  it.live("ranges: start/end, offset, suffix, getRanges; past the end is InvalidRange", () =>
    Effect.gen(function*() {
      const { store } = yield* setup()
      const p = "site/hundred.bin"
      assert.deepStrictEqual(yield* text(store, p, { range: { start: 10, end: 20 } }), hundred.slice(10, 20))
      assert.deepStrictEqual(yield* text(store, p, { range: { offset: 95 } }), hundred.slice(95))
      assert.deepStrictEqual(yield* text(store, p, { range: { suffix: 3 } }), hundred.slice(97))
      const ranges = yield* store.getRanges(p, [{ start: 0, end: 2 }, { start: 50, end: 53 }])
      assert.deepStrictEqual(ranges.map((r) => Array.from(r)), [[0, 1], [50, 51, 52]])
      const past = yield* Effect.flip(store.get(p, { range: { start: 200, end: 300 } }))
      assert.strictEqual(past._tag, "InvalidRange")
      const emptySuffix = yield* Effect.flip(store.get("site/empty", { range: { suffix: 5 } }))
      assert.strictEqual(emptySuffix._tag, "InvalidRange")
    }).pipe(Effect.scoped))

  it.live("conditional gets: ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince", () =>
    Effect.gen(function*() {
      const { store } = yield* setup()
      const p = "site/hundred.bin"
      const { eTag, lastModified } = yield* store.head(p)
      assert.deepStrictEqual(yield* text(store, p, { ifMatch: eTag }), hundred)
      assert.strictEqual((yield* Effect.flip(store.get(p, { ifMatch: "\"other\"" })))._tag, "PreconditionFailed")
      assert.strictEqual((yield* Effect.flip(store.get(p, { ifNoneMatch: eTag })))._tag, "NotModified")
      const future = new Date(Date.now() + 3_600_000)
      assert.strictEqual((yield* Effect.flip(store.get(p, { ifModifiedSince: future })))._tag, "NotModified")
      const past = new Date(lastModified.getTime() - 3_600_000)
      assert.strictEqual((yield* Effect.flip(store.get(p, { ifUnmodifiedSince: past })))._tag, "PreconditionFailed")
      assert.deepStrictEqual(
        yield* text(store, p, { ifModifiedSince: past, range: { start: 1, end: 3 } }),
        hundred.slice(1, 3)
      )
    }).pipe(Effect.scoped))

  it.live("a missing file is NotFound for get and head", () =>
    Effect.gen(function*() {
      const { store } = yield* setup()
      assert.strictEqual((yield* Effect.flip(store.get("site/missing")))._tag, "NotFound")
      assert.strictEqual((yield* Effect.flip(store.head("site/missing")))._tag, "NotFound")
    }).pipe(Effect.scoped))

  it.live("a big file streams whole", () =>
    Effect.gen(function*() {
      const { store } = yield* setup()
      const result = yield* store.get("site/big.bin")
      const chunks = yield* Stream.runCollect(result.stream)
      const bytes = Buffer.concat(Chunk.toReadonlyArray(chunks))
      assert.strictEqual(bytes.byteLength, big.byteLength)
      assert.strictEqual(sha256(bytes), sha256(big))
    }).pipe(Effect.scoped))

  it.live("put, copy and rename fail with NotSupported naming what the server answered; nothing is written", () =>
    Effect.gen(function*() {
      const { store } = yield* setup()
      const put = yield* Effect.flip(store.put("site/new.txt", "x"))
      assert.strictEqual(put._tag, "NotSupported")
      assert.include(put.message, "PUT")
      assert.include(put.message, "405")
      assert.include(put.message, "WebDAV")
      const deep = yield* Effect.flip(store.put("site/a/b/new.txt", Stream.make(new Uint8Array(3))))
      assert.strictEqual(deep._tag, "NotSupported")
      const copy = yield* Effect.flip(store.copy("site/hundred.bin", "site/copy.bin"))
      assert.strictEqual(copy._tag, "NotSupported")
      assert.include(copy.message, "COPY")
      const rename = yield* Effect.flip(store.rename("site/hundred.bin", "site/moved.bin"))
      assert.strictEqual(rename._tag, "NotSupported")
      assert.include(rename.message, "MOVE")
      assert.strictEqual((yield* Effect.flip(store.head("site/new.txt")))._tag, "NotFound")
      assert.deepStrictEqual(yield* text(store, "site/hundred.bin"), hundred, "the source is still there")
    }).pipe(Effect.scoped))

  it.live("list, listWithDelimiter and delete fail with NotSupported naming PROPFIND and the server's answer", () =>
    Effect.gen(function*() {
      const { store } = yield* setup()
      const checks: ReadonlyArray<readonly [string, Effect.Effect<unknown, { _tag: string; message: string }>]> = [
        ["list", Stream.runCollect(store.list("site"))],
        ["listWithDelimiter", store.listWithDelimiter("site")],
        ["delete", store.delete("site/hundred.bin")]
      ]
      for (const [what, effect] of checks) {
        const error = yield* Effect.flip(effect)
        assert.strictEqual(error._tag, "NotSupported", what)
        assert.include(error.message, "PROPFIND", what)
        assert.include(error.message, "405", what)
        assert.include(error.message, "WebDAV", what)
      }
      assert.deepStrictEqual(yield* text(store, "site/hundred.bin"), hundred, "nothing was deleted")
    }).pipe(Effect.scoped))
})
