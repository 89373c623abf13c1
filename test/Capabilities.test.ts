// A test store with a production store's profile refuses what that store refuses, with the same error: compared
// call by call against a real LocalStore in a temporary directory and a real S3Store, and checked by the
// conformance suite with the production store's capabilities.
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer, Stream } from "effect"
import * as Capabilities from "effect-obstore/Capabilities"
import * as LocalStore from "effect-obstore/LocalStore"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { full } from "./conformance/capabilities.js"
import { conformance } from "./conformance/suite.js"
import { rgwOptions } from "./support/servers.js"

const base = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-capabilities-test-"))
afterAll(() => fs.rmSync(base, { recursive: true, force: true }))
let counter = 0
const freshDir = (): string => {
  const dir = path.join(base, `t${counter++}`)
  fs.mkdirSync(dir)
  return dir
}

const profiled = (profile: Capabilities.Capabilities) =>
  Effect.map(MemoryStore.make, (inner) => Capabilities.make(inner, profile))

type Store = ObjectStore.ObjectStore.Service
type Call = (store: Store) => Effect.Effect<unknown, { readonly _tag: string; readonly message: string }>

/** The error of a call on each store (after the same setup on both), or "succeeded". */
const outcomes = (stores: ReadonlyArray<Store>, setup: (store: Store) => Effect.Effect<unknown, unknown>, call: Call) =>
  Effect.forEach(stores, (store) =>
    Effect.zipRight(
      Effect.orDie(setup(store)),
      Effect.map(Effect.either(call(store)), (result) =>
        Either.isLeft(result)
          ? { tag: result.left._tag, message: result.left.message }
          : { tag: "succeeded", message: "" })
    ))

const noSetup = () => Effect.void
const encoder = new TextEncoder()

describe("Capabilities.localStore refuses what LocalStore refuses", () => {
  const cases: ReadonlyArray<readonly [string, (store: Store) => Effect.Effect<unknown, unknown>, Call]> = [
    ["put with attributes", noSetup, (s) => s.put("a.txt", "x", { attributes: { contentType: "text/plain" } })],
    ["put with user metadata", noSetup, (s) => s.put("dir/a.txt", "x", { attributes: { metadata: { k: "v" } } })],
    ["put of an update by version", (s) => s.put("v.txt", "1"), (s) => s.put("v.txt", "2", { mode: { version: "1" } })],
    ["get of a version", (s) => s.put("v.txt", "1"), (s) => s.get("v.txt", { version: "1" })],
    ["put below an object", (s) => s.put("a/b", "1"), (s) => s.put("a/b/c", "2")],
    ["put above objects", (s) => s.put("a/b", "1"), (s) => s.put("a", "2")],
    [
      "copy below an object",
      (s) => Effect.zipRight(s.put("a/b", "1"), s.put("src", "2")),
      (s) => s.copy("src", "a/b/c")
    ],
    ["rename above objects", (s) => Effect.zipRight(s.put("a/b", "1"), s.put("src", "2")), (s) => s.rename("src", "a")]
  ]
  for (const [title, setup, call] of cases) {
    it.effect(`${title}: the same NotSupported error`, () =>
      Effect.gen(function*() {
        const local = yield* LocalStore.make({ root: freshDir() })
        const test = yield* profiled(Capabilities.localStore)
        const [real, profile] = yield* outcomes([local, test], setup, call)
        assert.strictEqual(real.tag, "NotSupported", real.message)
        assert.deepStrictEqual(profile, real)
      }))
  }

  it.effect("what LocalStore accepts, the profile passes through", () =>
    Effect.gen(function*() {
      const local = yield* LocalStore.make({ root: freshDir() })
      const test = yield* profiled(Capabilities.localStore)
      const accepted: ReadonlyArray<readonly [string, (store: Store) => Effect.Effect<unknown, unknown>, Call]> = [
        ["tags", noSetup, (s) => s.put("t.txt", "x", { tags: { team: "blue" } })],
        ["empty metadata", noSetup, (s) => s.put("m.txt", "x", { attributes: { metadata: {} } })],
        ["create", noSetup, (s) => s.put("c.txt", "x", { mode: "create" })],
        ["copy without overwrite", (s) => s.put("s.txt", "x"), (s) => s.copy("s.txt", "s2.txt", { overwrite: false })],
        ["overwrite of the same path", (s) => s.put("a/b", "1"), (s) => s.put("a/b", "2")],
        ["a sibling", (s) => s.put("a/b", "1"), (s) => s.put("a/c", "2")]
      ]
      for (const [title, setup, call] of accepted) {
        const [real, profile] = yield* outcomes([local, test], setup, call)
        assert.deepStrictEqual(real, { tag: "succeeded", message: "" }, title)
        assert.deepStrictEqual(profile, real, title)
      }
      // Where both refuse for the same reason of their own, the errors agree too.
      const [real, profile] = yield* outcomes([local, test], noSetup, (s) => s.put("c.txt", "y", { mode: "create" }))
      assert.strictEqual(real.tag, "AlreadyExists")
      assert.strictEqual(profile.tag, real.tag)
    }))

  it.effect("a refused put writes nothing and does not read a one-shot payload", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryStore.make
      const test = Capabilities.make(inner, Capabilities.localStore)
      let started = false
      const payload = (async function*() {
        started = true
        yield encoder.encode("never read")
      })()
      const error = yield* Effect.flip(test.put("a.txt", payload, { attributes: { cacheControl: "no-store" } }))
      assert.strictEqual(error._tag, "NotSupported")
      assert.isFalse(started, "the payload was not read")
      assert.strictEqual((yield* Effect.flip(inner.head("a.txt")))._tag, "NotFound")
    }))

  it.effect("errors are typed: catchTag(\"NotSupported\") sees the refusal", () =>
    Effect.gen(function*() {
      const handled = yield* ObjectStore.put("a.txt", "x", { attributes: { contentType: "text/plain" } }).pipe(
        Effect.as("written"),
        Effect.catchTag("NotSupported", (error) => Effect.succeed(`refused by ${error.store}: ${error.description}`))
      )
      assert.strictEqual(
        handled,
        `refused by LocalStore: ${(Capabilities.localStore.attributes as Capabilities.Unsupported).description}`
      )
    }).pipe(Effect.provide(Capabilities.layer(Capabilities.localStore).pipe(Layer.provide(MemoryStore.layer)))))
})

describe("the S3 profiles refuse what S3Store refuses", () => {
  // Live: requests are signed with the real clock.
  const compare = (
    options: Partial<S3Store.S3Options>,
    profile: Capabilities.Capabilities,
    call: Call,
    expected: string
  ) =>
    Effect.gen(function*() {
      const s3 = yield* S3Store.make({ ...rgwOptions, ...options })
      const test = yield* profiled(profile)
      const key = `capabilities/${crypto.randomUUID()}`
      const [real, profileOutcome] = yield* outcomes([s3, test], (s) => s.put(key, "x"), (s) => call(s))
      assert.strictEqual(real.tag, expected, real.message)
      assert.deepStrictEqual(profileOutcome, real)
      yield* s3.delete(key)
    }).pipe(Effect.scoped)

  it.live("s3Rgw: copy with overwrite: false, as S3Store with copyIfNotExists disabled", () =>
    compare(
      { copyIfNotExists: "disabled" },
      Capabilities.s3Rgw,
      (s) => s.copy("from.txt", "to.txt", { overwrite: false }),
      "NotSupported"
    ))

  it.live("s3Rgw: rename with overwrite: false", () =>
    compare({}, Capabilities.s3Rgw, (s) => s.rename("from.txt", "to.txt", { overwrite: false }), "NotSupported"))

  it.live("s3: an update by version", () =>
    compare({}, Capabilities.s3, (s) => s.put("v.txt", "x", { mode: { version: "1" } }), "NotSupported"))

  it.live("s3Store({ conditionalPut: \"disabled\" }): a create", () =>
    compare(
      { conditionalPut: "disabled" },
      Capabilities.s3Store({ conditionalPut: "disabled" }),
      (s) => s.put("c.txt", "x", { mode: "create" }),
      "NotSupported"
    ))

  it.effect("s3Store({ copyIfNotExists: \"header\" }) lets a copy without overwrite through", () =>
    Effect.gen(function*() {
      const test = yield* profiled(Capabilities.s3Store({ copyIfNotExists: "header" }))
      yield* test.put("a.txt", "a")
      yield* test.put("b.txt", "b")
      const error = yield* Effect.flip(test.copy("a.txt", "b.txt", { overwrite: false }))
      assert.strictEqual(error._tag, "AlreadyExists", "MemoryStore's own answer")
      yield* test.copy("a.txt", "c.txt", { overwrite: false })
      assert.strictEqual(yield* Effect.flatMap(test.get("c.txt"), (r) => r.text), "a")
    }))

  it.effect("the RGW profile keeps the target of a refused copy as it was", () =>
    Effect.gen(function*() {
      const inner = yield* MemoryStore.make
      const test = Capabilities.make(inner, Capabilities.s3Rgw)
      yield* test.put("a.txt", "a")
      yield* test.put("b.txt", "b")
      const error = yield* Effect.flip(test.copy("a.txt", "b.txt", { overwrite: false }))
      assert.strictEqual(error._tag, "NotSupported")
      assert.strictEqual(error.store, "S3Store")
      assert.strictEqual(error.method, "copy")
      assert.strictEqual(yield* Effect.flatMap(inner.get("b.txt"), (r) => r.text), "b")
      // Copies that overwrite are what S3 does: they go through.
      yield* test.copy("a.txt", "b.txt")
      assert.strictEqual(yield* Effect.flatMap(inner.get("b.txt"), (r) => r.text), "a")
    }))
})

describe("custom profiles", () => {
  it.effect("false refuses with a generic description naming the store and the capability", () =>
    Effect.gen(function*() {
      const test = yield* profiled({ ...Capabilities.all, store: "WebDAVStore", tags: false })
      const error = yield* Effect.flip(test.put("a.txt", "x", { tags: { team: "blue" } }))
      assert.strictEqual(error._tag, "NotSupported")
      assert.strictEqual(error.message, "WebDAVStore.put \"a.txt\": not supported (WebDAVStore does not support tags)")
      // No tags at all is not a use of tags.
      yield* test.put("a.txt", "x", { tags: {} })
    }))

  it.effect("all refuses nothing: every call is the inner store's", () =>
    Effect.gen(function*() {
      const test = yield* profiled(Capabilities.all)
      yield* test.put("a", "1", { attributes: { contentType: "text/plain" }, tags: { t: "1" } })
      yield* test.put("a/b", "2", { mode: "create" })
      yield* test.copy("a", "c", { overwrite: false })
      const listed = yield* Stream.runCollect(test.list(""))
      assert.deepStrictEqual([...listed].map((m) => m.path), ["a", "a/b", "c"])
      assert.strictEqual((yield* test.get("a")).attributes.contentType, "text/plain")
      // MemoryStore's own refusal stays.
      assert.strictEqual((yield* Effect.flip(test.get("a", { version: "1" })))._tag, "NotSupported")
    }))
})

// The whole conformance suite, with the capabilities the production store is tested with.
conformance(
  "MemoryStore with Capabilities.localStore",
  Capabilities.layer(Capabilities.localStore).pipe(Layer.provide(MemoryStore.layer)),
  { ...full, attributes: [], reasons: { ...full.reasons, attributes: "the LocalStore profile refuses them" } }
)
conformance(
  "MemoryStore with Capabilities.s3Rgw",
  Capabilities.layer(Capabilities.s3Rgw).pipe(Layer.provide(MemoryStore.layer)),
  { ...full, copyIfNotExists: false, reasons: { ...full.reasons, copyIfNotExists: "the RGW profile refuses it" } }
)
