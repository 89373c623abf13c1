import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Stream, Tracer } from "effect"
import * as MemoryStore from "effect-obstore/MemoryStore"
import { full } from "./conformance/capabilities.js"
import { conformance } from "./conformance/suite.js"

conformance("MemoryStore", MemoryStore.layer, full)

describe("MemoryStore", () => {
  it.effect("each make is an independent store", () =>
    Effect.gen(function*() {
      const a = yield* MemoryStore.make
      const b = yield* MemoryStore.make
      yield* a.put("x", "1")
      const error = yield* Effect.flip(b.head("x"))
      assert.strictEqual(error._tag, "NotFound")
    }))

  it.effect("of 100 concurrent creates exactly one succeeds", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const exits = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, i) => i),
        (i) =>
          Effect.exit(
            store.put(
              "race",
              Stream.make(new TextEncoder().encode(String(i))).pipe(Stream.tap(() => Effect.yieldNow())),
              {
                mode: "create"
              }
            )
          ),
        { concurrency: "unbounded" }
      )
      const wins = exits.filter(Exit.isSuccess)
      assert.strictEqual(wins.length, 1)
      for (const exit of exits) {
        if (Exit.isFailure(exit)) {
          const error = yield* Effect.flip(exit)
          assert.strictEqual(error._tag, "AlreadyExists")
        }
      }
    }))

  it.effect("of concurrent updates from one ETag exactly one succeeds", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const { eTag } = yield* store.put("doc", "v0")
      const exits = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => Effect.exit(store.put("doc", Stream.make(new TextEncoder().encode(`v${i + 1}`)), { mode: { eTag } })),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(exits.filter(Exit.isSuccess).length, 1)
    }))

  it.effect("buffers given to put and returned by get are not shared with the store", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      const input = new Uint8Array([1, 2, 3])
      yield* store.put("b", input)
      input[0] = 9
      const first = yield* Effect.flatMap(store.get("b"), (r) => r.bytes)
      first[1] = 9
      const second = yield* Effect.flatMap(store.get("b"), (r) => r.bytes)
      assert.deepStrictEqual(Array.from(second), [1, 2, 3])
    }))

  it.effect("a failed payload stream leaves the old object", () =>
    Effect.gen(function*() {
      const store = yield* MemoryStore.make
      yield* store.put("keep", "old")
      const broken = Stream.concat(Stream.make(new Uint8Array([1])), Stream.fail("boom" as const))
      const error = yield* Effect.flip(store.put("keep", broken))
      assert.strictEqual(error, "boom")
      assert.strictEqual(yield* Effect.flatMap(store.get("keep"), (r) => r.text), "old")
    }))
})

interface Recorded {
  readonly name: string
  readonly parent: Option.Option<Tracer.AnySpan>
  readonly attributes: Map<string, unknown>
  status: Tracer.SpanStatus
}

// A tracer that keeps what it is given, to check the spans the contract layer makes.
const recording = (spans: Array<Recorded>) =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const recorded: Recorded = { name, parent, attributes: new Map(), status: { _tag: "Started", startTime } }
      spans.push(recorded)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length}`,
        traceId: "trace",
        parent,
        context,
        status: recorded.status,
        attributes: recorded.attributes,
        links,
        sampled: true,
        kind,
        end: (endTime, exit) => {
          recorded.status = { _tag: "Ended", startTime, endTime, exit }
        },
        attribute: (key, value) => {
          recorded.attributes.set(key, value)
        },
        event: () => undefined,
        addLinks: () => undefined
      }
      return span
    },
    context: (f) => f()
  })

describe("MemoryStore spans", () => {
  it.effect("each operation makes one ended span, tagged, child of the caller's span, with its annotations", () =>
    Effect.gen(function*() {
      const spans: Array<Recorded> = []
      const store = yield* MemoryStore.make
      yield* Effect.gen(function*() {
        yield* store.put("a/b", "x")
        yield* Effect.flatMap(store.get("a/b"), (r) => r.bytes)
        yield* Effect.flip(store.head("missing"))
      }).pipe(Effect.withSpan("caller"), Effect.annotateSpans("app.request", "r1"), Effect.withTracer(recording(spans)))
      const ours = spans.filter((s) => s.name !== "caller")
      const caller = spans.find((s) => s.name === "caller")!
      assert.deepStrictEqual(ours.map((s) => s.name), ["MemoryStore.put", "MemoryStore.get", "MemoryStore.head"])
      for (const span of ours) {
        assert.strictEqual(span.status._tag, "Ended", span.name)
        assert.strictEqual(Option.getOrThrow(span.parent).spanId, "span-1", span.name)
        assert.strictEqual(span.attributes.get("objectstore.store"), "MemoryStore")
        assert.strictEqual(span.attributes.get("app.request"), "r1")
      }
      assert.strictEqual(ours[0].attributes.get("objectstore.path"), "a/b")
      const failed = ours[2].status
      assert.isTrue(failed._tag === "Ended" && Exit.isFailure(failed.exit), "the failed head's span ends failed")
      assert.strictEqual(caller.status._tag, "Ended")
    }))

  it.effect("an interrupted operation ends its span", () =>
    Effect.gen(function*() {
      const spans: Array<Recorded> = []
      const store = yield* MemoryStore.make
      const fiber = yield* Effect.fork(store.put("never", Stream.never).pipe(Effect.withTracer(recording(spans))))
      yield* Effect.yieldNow()
      assert.strictEqual(spans.length, 1)
      assert.strictEqual(spans[0].status._tag, "Started")
      yield* Fiber.interrupt(fiber)
      const status = spans[0].status
      assert.isTrue(status._tag === "Ended" && Exit.isInterrupted(status.exit), "ended as interrupted")
    }))

  it.effect("with the tracer off no span is made, and results are private copies", () =>
    Effect.gen(function*() {
      const spans: Array<Recorded> = []
      const store = yield* MemoryStore.make
      const bytes = yield* Effect.zipRight(store.put("a", "abc"), Effect.flatMap(store.get("a"), (r) => r.bytes)).pipe(
        Effect.withTracerEnabled(false),
        Effect.withTracer(recording(spans))
      )
      assert.strictEqual(spans.length, 0)
      // A buffer of its own: nothing else is reachable through `.buffer`.
      assert.strictEqual(bytes.buffer.byteLength, 3)
    }))
})
