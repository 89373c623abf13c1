import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Get from "effect-obstore/internal/cloud/get"
import { getHeaders, parseContentRange, rangeHeader } from "effect-obstore/internal/cloud/range"
import * as Request from "effect-obstore/internal/cloud/request"
import type { Request as HttpRequest } from "effect-obstore/internal/http/transport"
import { RetryConfig } from "effect-obstore/RetryConfig"
import { answer, bytes, scripted } from "./fake.js"

const retry = RetryConfig.make({ maxRetries: 3, initBackoff: Duration.millis(1), maxBackoff: Duration.millis(2) })
const encoder = new TextEncoder()

// A GetClient over the real engine and a scripted transport, with XML-ish error codes in a plain "code" body.
const client = (script: Parameters<typeof scripted>[0]) => {
  const fake = scripted(script)
  const engine = Request.make({
    transport: fake.transport,
    origin: "http://test",
    host: "test",
    authorize: (_, headers, send) => Effect.suspend(() => send(headers(), "")),
    parseError: (body) => body === "" ? undefined : { code: body, message: undefined },
    retry
  })
  const getClient: Get.GetClient = {
    store: "Test",
    headers: { metadataPrefix: "x-test-meta-", versionHeader: "x-test-version" },
    errors: { unauthenticatedCodes: new Set(["BadSignature"]), containerMissingCodes: new Set() },
    maxResumes: 3,
    request: (request, context, handle) =>
      engine.execute(
        { method: request.head ? "HEAD" : "GET", path: "/" + request.path, headers: request.headers, idempotent: true },
        context,
        handle
      )
  }
  return { getClient, sent: fake.sent }
}

const BIG = 300 * 1024
const big = bytes(BIG)
const whole = (extra: Record<string, string> = {}) =>
  answer(200, { "content-length": String(BIG), etag: "\"e1\"", ...extra }, [big.subarray(0, 100_000)], true)

describe("cloud get", () => {
  it("writes range and conditional headers, leaving * to the client", () => {
    assert.strictEqual(rangeHeader({ start: 0, end: 10 }), "bytes=0-9")
    assert.strictEqual(rangeHeader({ offset: 5 }), "bytes=5-")
    assert.strictEqual(rangeHeader({ offset: 5, length: 2 }), "bytes=5-6")
    assert.strictEqual(rangeHeader({ suffix: 3 }), "bytes=-3")
    assert.deepStrictEqual(parseContentRange("bytes 0-9/100"), { start: 0, end: 10, size: 100 })
    assert.deepStrictEqual(parseContentRange("bytes 0-9/*"), { start: 0, end: 10, size: undefined })
    assert.strictEqual(parseContentRange("bytes 0-9"), undefined)
    const since = new Date("2025-01-01T00:00:00Z")
    assert.deepStrictEqual(getHeaders({ ifMatch: "*", ifNoneMatch: " * ", ifModifiedSince: since }), {
      "if-modified-since": "Wed, 01 Jan 2025 00:00:00 GMT"
    })
    assert.deepStrictEqual(getHeaders({ ifMatch: "\"a\"", range: { offset: 1 } }), {
      range: "bytes=1-",
      "if-match": "\"a\""
    })
  })

  it("checks an answer against what was asked", () => {
    const ctx = { store: "Test", method: "get", path: "p" }
    const asked = { range: { start: 0, end: 10 } }
    assert.deepStrictEqual(Get.checkAnswer(ctx, asked, 206, "bytes 0-9/100", "10"), {
      range: { start: 0, end: 10 },
      size: 100
    })
    const wrong = Get.checkAnswer(ctx, asked, 206, "bytes 10-19/100", "10")
    assert.isTrue("_tag" in wrong && wrong._tag === "StoreError")
    // A 200 to a range request: the range is cut out of the whole object.
    assert.deepStrictEqual(Get.checkAnswer(ctx, asked, 200, undefined, "100"), {
      range: { start: 0, end: 10 },
      size: 100
    })
    const noLength = Get.checkAnswer(ctx, {}, 200, undefined, undefined)
    assert.isTrue("_tag" in noLength && noLength._tag === "StoreError")
  })

  it.live("reads a small body before returning, with meta and attributes from the cloud's headers", () =>
    Effect.gen(function*() {
      const body = encoder.encode("hello")
      const { getClient } = client([
        answer(200, { "content-length": "5", etag: "\"e\"", "x-test-version": "v3", "x-test-meta-k": "v" }, [body])
      ])
      const result = yield* Get.get(getClient, "p", {})
      assert.strictEqual(yield* result.text, "hello")
      assert.strictEqual(result.meta.version, "v3")
      assert.deepStrictEqual(result.attributes, { metadata: { k: "v" } })
    }))

  it.live("a small body shorter than announced is fetched again", () =>
    Effect.gen(function*() {
      const { getClient, sent } = client([
        answer(200, { "content-length": "5" }, [encoder.encode("hel")]),
        answer(200, { "content-length": "5" }, [encoder.encode("hello")])
      ])
      assert.strictEqual(yield* (yield* Get.get(getClient, "p", {})).text, "hello")
      assert.strictEqual(sent.length, 2)
    }))

  it.live("a big body that breaks resumes from the byte where it stopped, pinned to the ETag", () =>
    Effect.gen(function*() {
      const resume = (request: HttpRequest) =>
        request.headers.range === `bytes=100000-${BIG - 1}` && request.headers["if-match"] === "\"e1\""
          ? answer(206, { "content-range": `bytes 100000-${BIG - 1}/${BIG}`, etag: "\"e1\"" }, [big.subarray(100_000)])
          : answer(400, {}, [encoder.encode("UnexpectedResume")])
      const { getClient, sent } = client([whole(), resume])
      const result = yield* Get.get(getClient, "p", {})
      const read = yield* result.bytes
      assert.strictEqual(read.byteLength, BIG)
      assert.deepStrictEqual(read, big)
      assert.strictEqual(sent.length, 2)
    }))

  it.live("a body whose object changed before the rest was read fails with PreconditionFailed", () =>
    Effect.gen(function*() {
      const { getClient } = client([whole(), answer(412, {}, [encoder.encode("PreconditionFailed")])])
      const result = yield* Get.get(getClient, "p", {})
      const error = yield* Effect.flip(result.bytes)
      assert.strictEqual(error._tag, "PreconditionFailed")
      assert.include(error.message, "after 100000 bytes")
    }))

  it.live("ifNoneMatch * fails with NotModified for an object that exists, without sending the header", () =>
    Effect.gen(function*() {
      const { getClient, sent } = client([answer(200, { "content-length": "1" }, [encoder.encode("x")])])
      const error = yield* Effect.flip(Get.get(getClient, "p", { ifNoneMatch: "*" }))
      assert.strictEqual(error._tag, "NotModified")
      assert.isUndefined(sent[0].headers["if-none-match"])
    }))

  it.live("maps failures through the read table", () =>
    Effect.gen(function*() {
      const status = (code: number) => client([answer(code)]).getClient
      assert.strictEqual((yield* Effect.flip(Get.get(status(404), "p", {})))._tag, "NotFound")
      assert.strictEqual((yield* Effect.flip(Get.get(status(304), "p", {})))._tag, "NotModified")
      assert.strictEqual((yield* Effect.flip(Get.get(status(416), "p", { range: { offset: 9 } })))._tag, "InvalidRange")
    }))

  it.live("a HEAD denied with 403 asks a one-byte GET whether the signature was at fault", () =>
    Effect.gen(function*() {
      const { getClient, sent } = client([answer(403), answer(403, {}, [encoder.encode("BadSignature")])])
      const error = yield* Effect.flip(Get.head(getClient, "p"))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.strictEqual(sent[0].method, "HEAD")
      assert.strictEqual(sent[1].headers.range, "bytes=0-0")
      const denied = client([answer(403), answer(403, {}, [encoder.encode("AccessDenied")])])
      assert.strictEqual((yield* Effect.flip(Get.head(denied.getClient, "p")))._tag, "PermissionDenied")
    }))
})
