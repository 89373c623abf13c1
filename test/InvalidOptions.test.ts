/**
 * Options that no request can honour are InvalidConfig on every store, found before any I/O (issue 8, item 5). The S3
 * store points at a host that does not resolve: an option that reached the network would fail otherwise.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as LocalStore from "effect-obstore/LocalStore"
import * as MemoryStore from "effect-obstore/MemoryStore"
import type * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { rgwOptions } from "./support/servers.js"

const stream = Stream.make(new Uint8Array(10))

type Case = readonly [string, (store: ObjectStore.ObjectStore.Service) => Effect.Effect<unknown, unknown>, string]

// Wrong on every store, whatever its limits.
const everywhere: ReadonlyArray<Case> = [
  ["partSize 0", (s) => s.put("a", stream, { multipart: { partSize: 0 } }), "multipart.partSize"],
  ["partSize 1.5", (s) => s.put("a", stream, { multipart: { partSize: 1.5 } }), "multipart.partSize"],
  ["concurrency 0", (s) => s.put("a", stream, { multipart: { concurrency: 0 } }), "multipart.concurrency"],
  ["concurrency NaN", (s) => s.put("a", "x", { multipart: { concurrency: Number.NaN } }), "multipart.concurrency"],
  ["mode sometimes", (s) => s.put("a", "x", { mode: "sometimes" as never }), "mode"],
  ["mode {}", (s) => s.put("a", "x", { mode: {} }), "mode"],
  ["mode eTag 1", (s) => s.put("a", "x", { mode: { eTag: 1 as never } }), "mode.eTag"],
  [
    "negative coalesce",
    (s) => s.getRanges("a", [{ start: 0, end: 1 }], { coalesce: -1 }),
    "coalesce"
  ],
  ["NaN coalesce", (s) => s.getRanges("a", [{ start: 0, end: 1 }], { coalesce: Number.NaN }), "coalesce"]
]

const expectInvalid = (store: ObjectStore.ObjectStore.Service, cases: ReadonlyArray<Case>) =>
  Effect.forEach(cases, ([name, run, field]) =>
    Effect.gen(function*() {
      const error = (yield* Effect.flip(run(store))) as { _tag: string; field?: string; message: string }
      assert.strictEqual(error._tag, "InvalidConfig", `${name}: ${error.message}`)
      assert.strictEqual(error.field, field, name)
    }))

describe("invalid options are InvalidConfig before any I/O", () => {
  it.effect("MemoryStore", () => Effect.flatMap(MemoryStore.make, (store) => expectInvalid(store, everywhere)))

  it.effect("LocalStore", () =>
    Effect.acquireUseRelease(
      Effect.sync(() => mkdtempSync(path.join(tmpdir(), "obstore-options-"))),
      (root) => Effect.flatMap(LocalStore.make({ root }), (store) => expectInvalid(store, everywhere)),
      (root) => Effect.sync(() => rmSync(root, { recursive: true, force: true }))
    ))

  it.scoped("S3Store, with S3's part sizes", () =>
    Effect.gen(function*() {
      const store = yield* S3Store.make({ ...rgwOptions, endpoint: "http://no-such-host.invalid:1" })
      yield* expectInvalid(store, [
        ...everywhere,
        ["partSize 1", (s) => s.put("a", stream, { multipart: { partSize: 1 } }), "multipart.partSize"],
        ["partSize 6 GiB", (s) => s.put("a", stream, { multipart: { partSize: 6 * 1024 ** 3 } }), "multipart.partSize"]
      ])
    }))

  it.effect("a part size MemoryStore has no limit for is accepted", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.put("a", stream, { multipart: { partSize: 1, concurrency: 2 } })
      assert.strictEqual((yield* store.head("a")).size, 10)
    }))
})
