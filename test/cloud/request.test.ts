import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import * as Request from "effect-obstore/internal/cloud/request"
import { TransportError } from "effect-obstore/internal/http/transport"
import { RetryConfig } from "effect-obstore/RetryConfig"
import { answer, scripted } from "./fake.js"

const retry = RetryConfig.make({ maxRetries: 3, initBackoff: Duration.millis(1), maxBackoff: Duration.millis(2) })
const ctx = { store: "Test", method: "get", path: "p" }
const encoder = new TextEncoder()

// A JSON error body, as GCS writes them.
const parseJson: Request.ParseError = (body) => {
  try {
    const error = JSON.parse(body)?.error
    return typeof error?.status === "string" ? { code: error.status, message: error.message } : undefined
  } catch {
    return undefined
  }
}

const engine = (script: Parameters<typeof scripted>[0]) => {
  const fake = scripted(script)
  let authorized = 0
  let attempts = 0
  const authorize: Request.Authorize = (_request, headers, send) => {
    authorized++
    return Effect.suspend(() => {
      attempts++
      return send({ ...headers(), authorization: `Bearer token-${attempts}` }, "")
    })
  }
  const made = Request.make({
    transport: fake.transport,
    origin: "https://example.com",
    host: "example.com",
    authorize,
    parseError: parseJson,
    retry,
    headers: { "x-extra": "1" }
  })
  return { ...made, sent: fake.sent, counts: () => ({ authorized, attempts }) }
}

const get = { method: "GET", path: "/b/p", idempotent: true } as const
const ok = (e: ReturnType<typeof engine>, request: Request.CloudRequest = get) =>
  e.execute(request, ctx, (response) => Effect.as(response.body.discard, response.status))

describe("cloud request engine", () => {
  it.live("authorizes every attempt afresh and retries a 503", () =>
    Effect.gen(function*() {
      const e = engine([answer(503), answer(200)])
      assert.strictEqual(yield* ok(e), 200)
      assert.deepStrictEqual(e.counts(), { authorized: 1, attempts: 2 })
      assert.deepStrictEqual(e.sent.map((r) => r.headers.authorization), ["Bearer token-1", "Bearer token-2"])
      assert.strictEqual(e.sent[0].headers.host, "example.com")
      assert.strictEqual(e.sent[0].headers["x-extra"], "1")
      assert.strictEqual(e.sent[0].origin, "https://example.com")
    }))

  it.live("parses the error body with the cloud's parser into an HttpFailure", () =>
    Effect.gen(function*() {
      const body = encoder.encode(JSON.stringify({ error: { status: "NOT_FOUND", message: "No such object" } }))
      const e = engine([answer(404, {}, [body])])
      const failure = yield* Effect.flip(ok(e))
      assert.strictEqual(failure._tag, "HttpFailure")
      if (failure._tag !== "HttpFailure") return
      assert.strictEqual(failure.status, 404)
      assert.strictEqual(failure.code, "NOT_FOUND")
      assert.strictEqual(failure.describe(), "HTTP 404: NOT_FOUND: No such object")
      assert.strictEqual(e.sent.length, 1)
    }))

  it.live("gives up after maxRetries with a StoreError saying how many attempts were made", () =>
    Effect.gen(function*() {
      const e = engine([answer(500)])
      const error = yield* Effect.flip(ok(e))
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "gave up after 4 attempts")
      assert.strictEqual(e.sent.length, 4)
    }))

  it.live("a 408 or a lost answer of a request that is not idempotent is not sent again", () =>
    Effect.gen(function*() {
      const put = { method: "PUT", path: "/b/p", idempotent: false } as const
      const timedOut = engine([answer(408), answer(200)])
      assert.strictEqual((yield* Effect.flip(ok(timedOut, put)))._tag, "HttpFailure")
      assert.strictEqual(timedOut.sent.length, 1)
      const lost = engine([new TransportError("closed", "reset", undefined, true), answer(200)])
      const error = yield* Effect.flip(ok(lost, put))
      assert.isTrue(error._tag === "StoreError" && Request.isLostResponse(error))
      assert.strictEqual(lost.sent.length, 1)
    }))

  it.live("a request that never left is sent again even when it is not idempotent", () =>
    Effect.gen(function*() {
      const put = { method: "PUT", path: "/b/p", idempotent: false } as const
      const e = engine([new TransportError("connect", "refused", undefined, false), answer(200)])
      assert.strictEqual(yield* ok(e, put), 200)
      assert.strictEqual(e.sent.length, 2)
    }))

  it("an error in a 2xx body is retried when idempotent, else reported as a lost answer", () => {
    const error = { code: "InternalError", message: "oops" }
    assert.strictEqual(Request.errorInSuccess(ctx, error, true)._tag, "Retryable")
    const lost = Request.errorInSuccess(ctx, error, false)
    assert.isTrue(lost._tag === "StoreError" && Request.isLostResponse(lost))
  })
})
