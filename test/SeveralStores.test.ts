import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Layer, Stream } from "effect"
import { LocalStore, MemoryStore, ObjectStore, PrefixStore } from "effect-obstore"
import * as FromUrl from "effect-obstore/FromUrl"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

class Inbox extends ObjectStore.Tag("test/Inbox")<Inbox>() {}
class Cache extends ObjectStore.Tag("test/Cache")<Cache>() {}
class Archive extends ObjectStore.Tag("test/Archive")<Archive>() {}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe("several stores under roles", () => {
  it.scoped("two MemoryStores and a LocalStore in one program do not shadow each other", () =>
    Effect.gen(function*() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-roles-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true })))
      const stores = Layer.mergeAll(
        Inbox.layer(MemoryStore.layer),
        Cache.layer(MemoryStore.layer),
        Archive.layer(LocalStore.layer({ root }))
      )
      const program = Effect.gen(function*() {
        yield* Inbox.put("a.txt", "inbox")
        yield* Cache.put("a.txt", "cache")
        yield* Archive.put("a.txt", "archive")
        // Streams between roles: the inbox's object goes to the archive under another name.
        const result = yield* Inbox.get("a.txt")
        yield* Archive.put("from-inbox.txt", result.stream)
        return {
          inbox: yield* Effect.flatMap(Inbox.get("a.txt"), (r) => r.text),
          cache: text(yield* Cache.getRange("a.txt", { start: 0, end: 5 })),
          archive: (yield* Archive.listWithDelimiter()).objects.map((m) => m.path).sort(),
          inboxNames: Chunk.toReadonlyArray(yield* Stream.runCollect(Inbox.list())).map((m) => m.path)
        }
      })
      const result = yield* Effect.provide(program, stores)
      assert.deepStrictEqual(result, {
        inbox: "inbox",
        cache: "cache",
        archive: ["a.txt", "from-inbox.txt"],
        inboxNames: ["a.txt"]
      })
      assert.strictEqual(fs.readFileSync(path.join(root, "from-inbox.txt"), "utf8"), "inbox")
      assert.strictEqual(fs.readFileSync(path.join(root, "a.txt"), "utf8"), "archive")
    }))

  it.effect("every operation of the module is a static of the role, with the same types", () =>
    Effect.gen(function*() {
      const program = Effect.gen(function*() {
        yield* Cache.put("x/1", "one")
        yield* Cache.copy("x/1", "x/2")
        yield* Cache.rename("x/2", "x/3")
        const meta = yield* Cache.head("x/3")
        const [one] = yield* Cache.getRanges("x/1", [{ offset: 1, length: 2 }])
        yield* Cache.delete(["x/1"])
        const left = yield* Stream.runCollect(Cache.list("x"))
        return { size: meta.size, one: text(one), left: Chunk.toReadonlyArray(left).map((m) => m.path) }
      })
      const result = yield* Effect.provide(program, Cache.layerEffect(MemoryStore.make))
      assert.deepStrictEqual(result, { size: 3, one: "ne", left: ["x/3"] })
    }))

  it.effect("a payload stream's error type survives the role's put", () =>
    Effect.gen(function*() {
      const put = Cache.put("p", Stream.fail("broke" as const))
      // A type test: Extract is never (and "broke" not assignable) if the stream's error type were lost.
      const inChannel: Extract<Effect.Effect.Error<typeof put>, "broke"> = "broke"
      const error = yield* Effect.flip(put).pipe(Effect.provide(Cache.layer(MemoryStore.layer)))
      assert.strictEqual(inChannel, "broke")
      assert.strictEqual(error, "broke")
    }))

  it.effect("a role built from a URL, and code written against ObjectStore run on a role", () =>
    Effect.gen(function*() {
      const layers = Layer.merge(Inbox.layerEffect(FromUrl.fromUrl("memory:///")), Cache.layer(MemoryStore.layer))
      const result = yield* Effect.gen(function*() {
        // A function written for the ObjectStore tag, and middleware over it, used with a role.
        const writeTwice = Effect.zipRight(ObjectStore.put("one", "1"), ObjectStore.put("two", "2"))
        yield* Inbox.provide(writeTwice)
        yield* Inbox.provide(Effect.provide(ObjectStore.put("three", "3"), PrefixStore.layer("under")))
        const inbox = Chunk.toReadonlyArray(yield* Stream.runCollect(Inbox.list())).map((m) => m.path)
        const cache = Chunk.toReadonlyArray(yield* Stream.runCollect(Cache.list())).map((m) => m.path)
        return { inbox, cache }
      }).pipe(Effect.provide(layers))
      assert.deepStrictEqual(result, { inbox: ["one", "two", "under/three"], cache: [] })
    }))

  it.effect("a role's layer does not leak the store's own ObjectStore", () =>
    Effect.gen(function*() {
      // The program needs only Inbox; ObjectStore is provided by nothing, and nothing shadows it.
      const context = yield* Layer.build(Inbox.layer(MemoryStore.layer)).pipe(Effect.scoped)
      assert.isTrue(context.unsafeMap.has(Inbox.key))
      assert.isFalse(context.unsafeMap.has(ObjectStore.ObjectStore.key))
      assert.notStrictEqual(Inbox.key, Cache.key)
    }))

  it.effect("a missing role is a type error, not a silent fallback", () =>
    Effect.sync(() => {
      const program = Archive.put("x", "y")
      // @ts-expect-error Archive is required and not provided
      const run: Effect.Effect<ObjectStore.PutResult, unknown, never> = Effect.provide(
        program,
        Inbox.layer(MemoryStore.layer)
      )
      assert.isTrue(Effect.isEffect(run))
    }))
})
