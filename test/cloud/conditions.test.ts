// If-Match / If-None-Match lists (RFC 9110 13.1.1-13.1.2), evaluated by the client where servers cannot (issue 8,
// item 9), and the retry engine giving up at once on failures no wait can heal (item 10).
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Get from "effect-obstore/internal/cloud/get"
import { getHeaders, matches, parseETags } from "effect-obstore/internal/cloud/range"
import * as Request from "effect-obstore/internal/cloud/request"
import { TransportError } from "effect-obstore/internal/http/transport"
import { RetryConfig } from "effect-obstore/RetryConfig"
import { answer, scripted } from "./fake.js"

const engine = (script: Parameters<typeof scripted>[0], retry = RetryConfig.make({})) => {
  const fake = scripted(script)
  const made = Request.make({
    transport: fake.transport,
    origin: "http://test",
    host: "test",
    authorize: (_, headers, send) => Effect.suspend(() => send(headers(), "")),
    parseError: () => undefined,
    retry
  })
  return { ...made, sent: fake.sent }
}

const client = (script: Parameters<typeof scripted>[0]) => {
  const e = engine(script)
  const getClient: Get.GetClient = {
    store: "Test",
    headers: { metadataPrefix: "x-test-meta-", versionHeader: "x-test-version" },
    errors: { unauthenticatedCodes: new Set(), containerMissingCodes: new Set() },
    maxResumes: 0,
    request: (request, context, handle) =>
      e.execute(
        { method: "GET", path: "/" + request.path, headers: request.headers, idempotent: true },
        context,
        handle
      )
  }
  return { getClient, sent: e.sent }
}

const object = answer(200, { "content-length": "2", etag: "\"b\"" }, [new Uint8Array([1, 2])])

describe("ETag lists", () => {
  it("parses lists, commas inside quotes included, and compares strongly or weakly", () => {
    assert.deepStrictEqual(parseETags(" \"a\", W/\"b\" ,\"c,d\""), ["\"a\"", "W/\"b\"", "\"c,d\""])
    assert.strictEqual(parseETags(" * "), "*")
    assert.isTrue(matches(["\"a\"", "\"b\""], "\"b\"", true))
    assert.isFalse(matches(["\"a\"", "W/\"b\""], "\"b\"", true))
    assert.isTrue(matches(["\"a\"", "W/\"b\""], "\"b\"", false))
    assert.isFalse(matches(["\"a\"", "\"b\""], "W/\"b\"", true))
    // A bare token is the tag it names, even one beginning with W/ (a GCS emulator ETag can): strong, and itself.
    assert.isTrue(matches(["W/b+c"], "W/b+c", true))
    assert.isFalse(matches(["W/b+c"], "b+c", false))
    assert.isFalse(matches(["\"a\""], undefined, false))
    assert.isTrue(matches("*", undefined, true))
  })

  it("sends a single tag, keeps a list for the client, and drops the date it takes precedence over", () => {
    const since = new Date("2025-01-01T00:00:00Z")
    assert.deepStrictEqual(getHeaders({ ifMatch: "\"a\"", ifUnmodifiedSince: since }), {
      "if-match": "\"a\"",
      "if-unmodified-since": "Wed, 01 Jan 2025 00:00:00 GMT"
    })
    assert.deepStrictEqual(getHeaders({ ifMatch: "\"a\", \"b\"", ifUnmodifiedSince: since }), {})
    assert.deepStrictEqual(getHeaders({ ifNoneMatch: "\"a\", \"b\"", ifModifiedSince: since }), {})
  })

  it.effect("If-Match with a list passes when any entry is the object's ETag, and fails otherwise", () =>
    Effect.gen(function*() {
      const hit = client([object])
      const result = yield* Get.get(hit.getClient, "p", { ifMatch: "\"a\", \"b\"" })
      assert.deepStrictEqual(Array.from(yield* result.bytes), [1, 2])
      assert.isUndefined(hit.sent[0].headers["if-match"])
      const miss = client([object])
      const error = yield* Effect.flip(Get.get(miss.getClient, "p", { ifMatch: "\"a\", \"c\"" }))
      assert.strictEqual(error._tag, "PreconditionFailed")
    }))

  it.effect("If-None-Match with a list fails with NotModified when any entry matches, weakly", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Get.get(client([object]).getClient, "p", { ifNoneMatch: "\"a\", W/\"b\"" }))
      assert.strictEqual(error._tag, "NotModified")
      const result = yield* Get.get(client([object]).getClient, "p", { ifNoneMatch: "\"a\", \"c\"" })
      assert.strictEqual(result.meta.eTag, "\"b\"")
    }))
})

describe("failures no wait can heal", () => {
  const slow = RetryConfig.make({ maxRetries: 10, initBackoff: Duration.hours(1), maxBackoff: Duration.hours(1) })
  const failing = (code: string) => {
    const cause = Object.assign(new Error(`${code}: no`), { code })
    return new TransportError("connect", `connecting: ${code}`, cause, false)
  }

  // On the TestClock a retry waits forever: these end without the clock moving.
  for (const code of ["ENOTFOUND", "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID"]) {
    it.effect(`${code} is not retried`, () =>
      Effect.gen(function*() {
        const e = engine([failing(code)], slow)
        const error = yield* Effect.flip(
          e.execute(
            { method: "GET", path: "/p", idempotent: true },
            { store: "Test", method: "get" },
            () => Effect.void
          )
        )
        assert.strictEqual(error._tag, "StoreError")
        assert.strictEqual(e.sent.length, 1)
      }))
  }

  it.live("a refused connection is retried within the budget", () =>
    Effect.gen(function*() {
      const quick = RetryConfig.make({ maxRetries: 2, initBackoff: Duration.millis(1), maxBackoff: Duration.millis(2) })
      const e = engine([failing("ECONNREFUSED")], quick)
      yield* Effect.flip(
        e.execute({ method: "GET", path: "/p", idempotent: true }, { store: "Test", method: "get" }, () => Effect.void)
      )
      assert.strictEqual(e.sent.length, 3)
    }))
})
