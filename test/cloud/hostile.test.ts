// The cloud core against answers it must not trust (issue 9, points 6-12), on the scripted transport: every cloud
// built on the core (S3, Azure, GCS, HTTP) inherits these checks. The S3 store is attacked end to end by a loopback
// server in test/S3Hostile.test.ts.
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Exit, Stream } from "effect"
import * as Body from "effect-obstore/internal/cloud/body"
import * as Get from "effect-obstore/internal/cloud/get"
import * as Headers from "effect-obstore/internal/cloud/headers"
import * as List from "effect-obstore/internal/cloud/list"
import * as Request from "effect-obstore/internal/cloud/request"
import { scrubber, sentSecrets } from "effect-obstore/internal/cloud/scrub"
import { isPermanent, Retryable } from "effect-obstore/internal/http/retry"
import type { Request as HttpRequest } from "effect-obstore/internal/http/transport"
import { TransportError } from "effect-obstore/internal/http/transport"
import { StoreError } from "effect-obstore/ObjectStoreError"
import { RetryConfig } from "effect-obstore/RetryConfig"
import { answer, body, bytes, scripted } from "./fake.js"

const retry = RetryConfig.make({ maxRetries: 3, initBackoff: Duration.millis(1), maxBackoff: Duration.millis(2) })
const encoder = new TextEncoder()
const ctx = { store: "Test", method: "list" }
const meta = (path: string) => ({ path, lastModified: new Date(0), size: 1 })

const engineOf = (
  script: Parameters<typeof scripted>[0],
  extra: Partial<Request.EngineOptions> = {},
  authorize: Request.Authorize = (_, headers, send) => Effect.suspend(() => send(headers(), ""))
) => {
  const fake = scripted(script)
  const engine = Request.make({
    transport: fake.transport,
    origin: "http://test",
    host: "test",
    authorize,
    parseError: (text) => {
      const m = /<Code>(.*?)<\/Code>(?:<Message>(.*?)<\/Message>)?/.exec(text)
      return m === null ? undefined : { code: m[1], message: m[2] }
    },
    retry,
    ...extra
  })
  return { engine, sent: fake.sent }
}

const getClientOf = (script: Parameters<typeof scripted>[0]) => {
  const { engine, sent } = engineOf(script)
  const getClient: Get.GetClient = {
    store: "Test",
    headers: { metadataPrefix: "x-test-meta-" },
    errors: { unauthenticatedCodes: new Set(), containerMissingCodes: new Set() },
    maxResumes: 3,
    request: (request, context, handle) =>
      engine.execute(
        { method: request.head ? "HEAD" : "GET", path: "/" + request.path, headers: request.headers, idempotent: true },
        context,
        handle
      )
  }
  return { getClient, sent }
}

describe("cloud core: repeated tokens (9.6)", () => {
  it.effect("paginate and collect fail with a StoreError when a token comes back", () =>
    Effect.gen(function*() {
      const tokens = ["A", "B", "A"]
      let n = 0
      const fetch: List.FetchPage<never> = () =>
        Effect.sync(() => ({ objects: [], commonPrefixes: [], next: tokens[n++ % 3] }))
      const scope = { context: ctx, prefix: "" }
      const a = yield* Effect.flip(Stream.runCollect(List.paginate(fetch, scope)))
      assert.strictEqual(a._tag, "StoreError")
      assert.include(a.message, "repeated the continuation token \"A\"")
      n = 0
      const b = yield* Effect.flip(List.collect(fetch))
      assert.strictEqual(b._tag, "StoreError")
    }))

  it("tokenGuard lets each token through once", () => {
    const guard = List.tokenGuard(ctx)
    assert.isUndefined(guard("a"))
    assert.isUndefined(guard(undefined))
    assert.isUndefined(guard("b"))
    assert.instanceOf(guard("a"), StoreError)
  })
})

describe("cloud core: listings are checked (9.10)", () => {
  const scope = { context: ctx, prefix: "a" }
  it("keys outside the prefix are a StoreError; unaddressable keys and deep prefixes are left out", () => {
    const outside = List.checkPage(scope, { objects: [meta("a/x"), meta("ab/y")], commonPrefixes: [], next: undefined })
    assert.instanceOf(outside, StoreError)
    const prefixOut = List.checkPage(scope, { objects: [], commonPrefixes: ["b/p"], next: undefined })
    assert.instanceOf(prefixOut, StoreError)
    const page = List.checkPage(scope, {
      objects: [meta("a/x"), meta("/a/abs"), meta("a/../up"), meta("a//b"), meta("a/c/"), meta("a/y")],
      commonPrefixes: ["a/p", "a/../q", "a/p/q", "a/r"],
      next: "t"
    })
    assert.notInstanceOf(page, StoreError)
    const ok = page as List.Page
    assert.deepStrictEqual(ok.objects.map((m) => m.path), ["a/x", "a/y"])
    assert.deepStrictEqual(ok.commonPrefixes, ["a/p", "a/r"])
    assert.strictEqual(ok.next, "t")
  })
})

const SIZE = 300 * 1024
const object = bytes(SIZE)
const CUT = 100_000
const first = () => answer(200, { "content-length": String(SIZE), etag: "\"e1\"" }, [object.subarray(0, CUT)], true)

describe("cloud core: resumed answers (9.7)", () => {
  const resumeWith = (second: Parameters<typeof answer>) =>
    Effect.gen(function*() {
      const { getClient, sent } = getClientOf([first(), answer(...second)])
      const result = yield* Get.get(getClient, "p", {})
      let emitted = 0
      const exit = yield* Effect.exit(
        Stream.runForEach(result.stream, (c) => Effect.sync(() => (emitted += c.byteLength)))
      )
      return { exit, emitted, sent }
    })
  const rest = object.subarray(CUT)
  const range = (from: number, to: number) => `bytes ${from}-${to}/${SIZE}`

  it.live("a 206 with another range, another ETag, no ETag, another size: refused before a byte is used", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Parameters<typeof answer>, string]> = [
        [
          [206, { "content-range": range(0, SIZE - CUT - 1), etag: "\"e1\"" }, [object.subarray(0, SIZE - CUT)]],
          "StoreError"
        ],
        [[206, { "content-range": range(CUT, SIZE - 1), etag: "\"e2\"" }, [rest]], "PreconditionFailed"],
        [[206, { "content-range": range(CUT, SIZE - 1) }, [rest]], "StoreError"],
        [[206, { "content-range": `bytes ${CUT}-${SIZE - 1}/${SIZE + 1}`, etag: "\"e1\"" }, [rest]], "StoreError"],
        [[200, { "content-length": String(SIZE - CUT), etag: "\"e1\"" }, [rest]], "StoreError"]
      ]
      for (const [second, tag] of cases) {
        const { emitted, exit } = yield* resumeWith(second)
        assert.isTrue(Exit.isFailure(exit))
        if (Exit.isFailure(exit)) {
          const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
          assert.strictEqual(error?._tag, tag, JSON.stringify(second[1]))
        }
        assert.strictEqual(emitted, CUT)
      }
    }))

  it.live("a whole 200 to a resume is cut to the remainder", () =>
    Effect.gen(function*() {
      const { emitted, exit } = yield* resumeWith([200, { "content-length": String(SIZE), etag: "\"e1\"" }, [object]])
      assert.isTrue(Exit.isSuccess(exit))
      assert.strictEqual(emitted, SIZE)
    }))
})

describe("cloud core: bounded reads (9.8)", () => {
  it.effect("readAtMost stops at its cap; boundedText refuses a page over it", () =>
    Effect.gen(function*() {
      const chunks = [bytes(1000), bytes(1000), bytes(1000)]
      const read = yield* Body.readAtMost(body(chunks), {}, 1500)
      assert.strictEqual(read.bytes.byteLength, 1500)
      assert.isFalse(read.complete)
      const all = yield* Body.readAtMost(body(chunks), {}, 3000)
      assert.isTrue(all.complete)
      const refused = yield* Effect.flip(Body.boundedText(ctx, "the page", body(chunks), {}, 2048))
      assert.strictEqual(refused._tag, "StoreError")
      assert.include((refused as StoreError).message, "2048 bytes")
      const byLength = yield* Effect.flip(
        Body.boundedText(ctx, "the page", body([]), { "content-length": String(32 * 1024 * 1024) })
      )
      assert.include((byLength as StoreError).message, "16 MiB")
    }))

  it.effect("sliceStream hands out exactly the slice and stops pulling after it", () =>
    Effect.gen(function*() {
      let pulled = 0
      const source = Stream.fromIterable([bytes(10), bytes(10, 10), bytes(10, 20), bytes(10, 30)]).pipe(
        Stream.tap(() => Effect.sync(() => pulled++))
      )
      const out = yield* Stream.runCollect(Body.sliceStream(source, 5, 12))
      const joined = Uint8Array.from(Chunk.toReadonlyArray(out).flatMap((c) => Array.from(c)))
      assert.deepStrictEqual(joined, bytes(40).subarray(5, 17))
      assert.isAtMost(pulled, 2)
    }))

  it.live("a big range answered with the whole object (200) streams exactly the range and stops reading", () =>
    Effect.gen(function*() {
      const all = bytes(1024 * 1024)
      let read = 0
      const chunks = Array.from({ length: 16 }, (_, i) => all.subarray(i * 65536, (i + 1) * 65536))
      const whole = body(chunks)
      const counted = { ...whole, stream: Stream.tap(whole.stream, (c) => Effect.sync(() => (read += c.byteLength))) }
      const { getClient } = getClientOf([{
        status: 200,
        headers: { "content-length": String(all.byteLength), etag: "\"e\"" },
        body: counted
      }])
      const result = yield* Get.get(getClient, "p", { range: { start: 1000, end: 301_000 } })
      assert.deepStrictEqual(result.range, { start: 1000, end: 301_000 })
      assert.deepStrictEqual(yield* result.bytes, all.subarray(1000, 301_000))
      assert.isAtMost(read, 5 * 65536)
    }))

  it.live("an error body is read up to 64 KiB, whatever its length", () =>
    Effect.gen(function*() {
      const huge = [encoder.encode("<Code>Denied</Code>"), ...Array.from({ length: 100 }, () => bytes(64 * 1024))]
      let read = 0
      const counted = {
        ...body(huge),
        stream: Stream.tap(body(huge).stream, (c) => Effect.sync(() => (read += c.byteLength)))
      }
      const { engine } = engineOf([{ status: 403, headers: {}, body: counted }])
      const error = yield* Effect.flip(
        engine.execute({ method: "GET", path: "/p", idempotent: true }, ctx, () => Effect.void)
      )
      assert.strictEqual(error._tag, "HttpFailure")
      assert.isAtMost(read, 2 * 64 * 1024)
    }))
})

describe("cloud core: secrets are scrubbed from what servers say (9.11)", () => {
  const TOKEN = "Tk9/x+Qz1Lm2Np3Rs4Tu5Vw6"
  const KEY = "sEcReTkEy0123456789/+="
  it.live("from error bodies and 200-with-error failures, given sent headers, query and the store's secrets", () =>
    Effect.gen(function*() {
      const echo = (request: HttpRequest) =>
        answer(403, {}, [
          encoder.encode(
            `<Code>Denied</Code><Message>${request.headers.authorization} ${request.path} ${KEY} ${
              encodeURIComponent(TOKEN)
            }</Message>`
          )
        ])
      const { engine } = engineOf(
        [echo],
        { secrets: () => [KEY] },
        (_, headers, send) =>
          Effect.suspend(() =>
            send({ ...headers(), authorization: `Bearer ${TOKEN}` }, `sv=1&sig=${encodeURIComponent(TOKEN)}`)
          )
      )
      const error = yield* Effect.flip(
        engine.execute({ method: "GET", path: "/p", idempotent: true }, ctx, () => Effect.void)
      )
      const text = JSON.stringify(error) + String((error as { message?: string }).message)
      assert.include(text, "Denied")
      for (const secret of [TOKEN, KEY, encodeURIComponent(TOKEN)]) assert.notInclude(text, secret)
      assert.include(text, "[redacted]")
      // An error made by the cloud's own handler from server text is scrubbed too.
      const { engine: e2 } = engineOf([answer(200)], { secrets: () => [KEY] })
      const handled = yield* Effect.flip(
        e2.execute(
          { method: "GET", path: "/p", idempotent: false },
          ctx,
          () => Effect.fail(new StoreError({ ...ctx, description: `server said ${KEY}` }))
        )
      )
      assert.notInclude(handled.message ?? "", KEY)
    }))

  it("sentSecrets finds the signature, credential and tokens of the common schemes", () => {
    const aws = "AWS4-HMAC-SHA256 Credential=AKIAX/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, " +
      "Signature=0123456789abcdef0123456789abcdef"
    const found = sentSecrets({ authorization: aws, "x-amz-security-token": TOKEN }, "X-Amz-Signature=abcdef0123456789")
    assert.include(found, "0123456789abcdef0123456789abcdef")
    assert.include(found, TOKEN)
    assert.include(found, "abcdef0123456789")
    assert.include(sentSecrets({ authorization: "SharedKey account:c2lnbmF0dXJlMTIz" }, ""), "c2lnbmF0dXJlMTIz")
    assert.strictEqual(scrubber(["short"])("short"), "short")
  })
})

describe("cloud core: values that cannot go on the wire (9.12)", () => {
  it.effect("the engine refuses an unsendable header before any attempt, without retrying", () =>
    Effect.gen(function*() {
      const { engine, sent } = engineOf([answer(200)])
      for (const headers of [{ "content-type": "a\r\nb" }, { "x-meta": "\u2603" }, { "bad name": "x" }]) {
        const error = yield* Effect.flip(
          engine.execute({ method: "PUT", path: "/p", headers, idempotent: true }, ctx, () => Effect.void)
        )
        assert.strictEqual(error._tag, "StoreError")
        assert.include(error.message, "cannot be sent")
      }
      assert.strictEqual(sent.length, 0)
    }))

  it("attribute, tag and value checks name the field", () => {
    assert.deepStrictEqual(Headers.attributesProblem({ contentType: "a\nb" })?.[0], "attributes.contentType")
    assert.deepStrictEqual(Headers.attributesProblem({ metadata: { "a b": "x" } })?.[0], "attributes.metadata")
    assert.deepStrictEqual(Headers.attributesProblem({ metadata: { k: "\u0100" } })?.[0], "attributes.metadata.k")
    assert.isUndefined(Headers.attributesProblem({ contentType: "text/plain; charset=\u00e9", metadata: { k: "v" } }))
    assert.deepStrictEqual(Headers.tagsProblem({ k: "\uDC00x" })?.[0], "tags.k")
    assert.isUndefined(Headers.tagsProblem({ k: "\u{1F600}" }))
    assert.isFalse(Headers.isWellFormed("a\uD800"))
    assert.isTrue(Headers.isWellFormed("a\uD83D\uDE00"))
  })

  it.live("get refuses an ifMatch with a line break before any request", () =>
    Effect.gen(function*() {
      const { getClient, sent } = getClientOf([answer(200, { "content-length": "0" })])
      const error = yield* Effect.flip(Get.get(getClient, "p", { ifMatch: "\"a\"\r\nx: y" }))
      assert.strictEqual(error._tag, "InvalidConfig")
      assert.strictEqual(sent.length, 0)
    }))

  it("a transport that refuses to send a header is not retried", () => {
    const refused = Object.assign(new Error("invalid content-type header"), { code: "UND_ERR_INVALID_ARG" })
    const error = new StoreError({ ...ctx, cause: new TransportError("other", "refused", refused, false) })
    assert.isTrue(isPermanent(new Retryable(error)))
  })
})
