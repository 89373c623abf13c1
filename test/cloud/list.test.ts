import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Ref, Stream } from "effect"
import * as List from "effect-obstore/internal/cloud/list"

const meta = (path: string) => ({ path, lastModified: new Date(0), size: 1 })

// Three pages of two objects; page i has token "t{i}".
const pages = (calls: Ref.Ref<Array<string | undefined>>): List.FetchPage<never> => (token) =>
  Effect.as(Ref.update(calls, (c) => [...c, token]), {
    objects: [meta(`${token ?? "t0"}/a`), meta(`${token ?? "t0"}/b`)],
    commonPrefixes: [`${token ?? "t0"}/dir`],
    next: token === undefined ? "t1" : token === "t1" ? "t2" : undefined
  })

describe("cloud list paging", () => {
  it.effect("streams every page in order, fetching pages only as they are read", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<Array<string | undefined>>([])
      const all = yield* Stream.runCollect(List.paginate(pages(calls)))
      assert.deepStrictEqual(Chunk.toReadonlyArray(all).map((m) => m.path), [
        "t0/a",
        "t0/b",
        "t1/a",
        "t1/b",
        "t2/a",
        "t2/b"
      ])
      assert.deepStrictEqual(yield* Ref.get(calls), [undefined, "t1", "t2"])
      const lazy = yield* Ref.make<Array<string | undefined>>([])
      yield* Stream.runCollect(Stream.take(List.paginate(pages(lazy)), 2))
      assert.deepStrictEqual(yield* Ref.get(lazy), [undefined])
    }))

  it.effect("collects a delimited listing across pages", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make<Array<string | undefined>>([])
      const result = yield* List.collect(pages(calls))
      assert.strictEqual(result.objects.length, 6)
      assert.deepStrictEqual(result.commonPrefixes, ["t0/dir", "t1/dir", "t2/dir"])
    }))

  it.effect("a failing page fails the stream", () =>
    Effect.gen(function*() {
      const fetch: List.FetchPage<string> = (token) =>
        token === undefined
          ? Effect.succeed({ objects: [meta("a")], commonPrefixes: [], next: "t1" })
          : Effect.fail("denied")
      assert.strictEqual(yield* Effect.flip(Stream.runCollect(List.paginate(fetch))), "denied")
    }))
})
