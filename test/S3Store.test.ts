import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Clock, ConfigProvider, Effect, Exit, Fiber, Layer, Option, Redacted, TestServices } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import { full } from "./conformance/capabilities.js"
import { conformance } from "./conformance/suite.js"
import { rgwOptions, s3 } from "./support/servers.js"

const options: S3Store.S3Options = rgwOptions

const rgw = S3Store.layer(options)

// Clocks: a test that sends a request to RGW uses `it.live` (SigV4 signs with the clock's time, and a TestClock
// standing at 1970 gets RequestTimeTooSkewed); `it.effect` (TestServices: a TestClock that stands still) only where
// no request is signed, or where the clock standing still is the point of the test.

conformance("S3Store (RADOS Gateway)", rgw, {
  ...full,
  copyIfNotExists: false,
  versionlessGet: "NotFound",
  reasons: {
    ...full.reasons,
    copyIfNotExists: "RGW ignores If-None-Match on CopyObject, so a copy without overwrite cannot be made safe",
    versions: "the test bucket has versioning off: S3 answers a versionId with 404"
  }
})

describe("S3Store", () => {
  it.live("a wrong secret is Unauthenticated", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ObjectStore.head("anything"))
      assert.strictEqual(error._tag, "Unauthenticated")
    }).pipe(Effect.provide(S3Store.layer({ ...options, secretAccessKey: "wrong" }))))

  it.live("an unknown access key is Unauthenticated", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ObjectStore.put("x", "y"))
      assert.strictEqual(error._tag, "Unauthenticated")
    }).pipe(Effect.provide(S3Store.layer({ ...options, accessKeyId: "AKIANOBODY0000000000" }))))

  it.live("a second create is AlreadyExists, a missing key NotFound", () =>
    Effect.gen(function*() {
      const key = `s3-specific/${crypto.randomUUID()}`
      yield* ObjectStore.put(key, "one", { mode: "create" })
      const again = yield* Effect.flip(ObjectStore.put(key, "two", { mode: "create" }))
      assert.strictEqual(again._tag, "AlreadyExists")
      const missing = yield* Effect.flip(ObjectStore.get(`${key}-missing`))
      assert.strictEqual(missing._tag, "NotFound")
      yield* ObjectStore.delete(key)
    }).pipe(Effect.provide(rgw)))

  // TestClock: the config is refused before any request.
  it.effect("invalid config fails with InvalidConfig naming the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ ...options, bucket: "Not_A_Bucket" }, "bucket"],
        [{ ...options, endpoint: "not a url" }, "endpoint"],
        [{ ...options, client: {} }, "endpoint"],
        [{ ...options, region: "" }, "region"],
        [{ ...options, conditionalPut: "sometimes" }, "conditionalPut"],
        [{ ...options, retry: { maxRetries: -1 } }, "retry.maxRetries"],
        [{ ...options, client: { allowHttp: true, timeout: "soon" } }, "client.timeout"],
        [{ ...options, bucketName: "typo" }, "bucketName"],
        [{ ...options, secretAccessKey: undefined }, "secretAccessKey"]
      ]
      for (const [input, field] of cases) {
        const error = yield* Effect.flip(Effect.scoped(S3Store.make(input as S3Store.S3Options)))
        assert.strictEqual(error._tag, "InvalidConfig", JSON.stringify(input))
        if (error._tag === "InvalidConfig") assert.strictEqual(error.field, field, error.message)
      }
    }))

  it.live("secrets are Redacted in the decoded config", () =>
    Effect.gen(function*() {
      const { config } = yield* S3Store.S3Store
      assert.isTrue(Redacted.isRedacted(config.secretAccessKey))
      assert.notInclude(JSON.stringify(config), s3.secretAccessKey)
      assert.notInclude(String(config), s3.secretAccessKey)
    }).pipe(Effect.provide(rgw)))

  it.live("layerConfig reads the AWS environment variables", () =>
    Effect.gen(function*() {
      const read = yield* S3Store.fromEnv()
      assert.strictEqual(read.bucket, s3.bucket)
      assert.strictEqual(read.endpoint, s3.endpoint)
      assert.strictEqual(read.region, "eu-west-3")
      assert.deepStrictEqual(read.client, { allowHttp: true })
      const key = `s3-specific/env-${crypto.randomUUID()}`
      yield* Effect.provide(ObjectStore.put(key, "x"), S3Store.layerConfig({ conditionalPut: "etag-unquoted" }))
      yield* Effect.provide(ObjectStore.delete(key), rgw)
    }).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(
        new Map([
          ["AWS_ACCESS_KEY_ID", s3.accessKeyId],
          ["AWS_SECRET_ACCESS_KEY", s3.secretAccessKey],
          ["AWS_DEFAULT_REGION", "eu-west-3"],
          ["AWS_ENDPOINT_URL", s3.endpoint],
          ["AWS_BUCKET_NAME", s3.bucket],
          ["AWS_ALLOW_HTTP", "true"]
        ])
      ))
    ))
})

describe("S3Store body handling", () => {
  it.live("a big result read after its connection was let go still gives every byte", () =>
    Effect.gen(function*() {
      const key = `s3-specific/${crypto.randomUUID()}/big`
      const data = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 31) % 251)
      yield* ObjectStore.put(key, data)
      const result = yield* ObjectStore.get(key)
      // Longer than the grace period after which an unread body is dropped.
      yield* Effect.sleep("2500 millis")
      const bytes = yield* result.bytes
      assert.strictEqual(bytes.byteLength, data.byteLength)
      assert.isTrue(Buffer.from(bytes).equals(Buffer.from(data)))
      // A second read of the same result fetches again rather than failing.
      const again = yield* result.bytes
      assert.strictEqual(again.byteLength, data.byteLength)
      yield* ObjectStore.delete(key)
    }).pipe(Effect.provide(rgw)))

  it.live("a big result whose object changed before it was read fails with PreconditionFailed", () =>
    Effect.gen(function*() {
      const key = `s3-specific/${crypto.randomUUID()}/changing`
      yield* ObjectStore.put(key, new Uint8Array(2 * 1024 * 1024).fill(1))
      const result = yield* ObjectStore.get(key)
      yield* Effect.sleep("2500 millis")
      yield* ObjectStore.put(key, new Uint8Array(2 * 1024 * 1024).fill(2))
      const error = yield* Effect.flip(result.bytes)
      assert.strictEqual(error._tag, "PreconditionFailed")
      yield* ObjectStore.delete(key)
    }).pipe(Effect.provide(rgw)))
})

conformance(
  "S3Store over an @effect/platform HttpClient (RADOS Gateway)",
  S3Store.layerWithHttpClient(options).pipe(Layer.provide(NodeHttpClient.layerUndici)),
  {
    ...full,
    copyIfNotExists: false,
    versionlessGet: "NotFound",
    reasons: { ...full.reasons, copyIfNotExists: "as above", versions: "as above" }
  }
)

describe("S3Store errors a user meets", () => {
  it.live("a credential provider without a secret fails with Unauthenticated, not a defect", () =>
    Effect.gen(function*() {
      const { accessKeyId: _, secretAccessKey: __, ...rest } = options
      const provided = [
        { accessKeyId: Redacted.make(s3.accessKeyId) },
        { accessKeyId: Redacted.make(s3.accessKeyId), secretAccessKey: s3.secretAccessKey },
        { accessKeyId: Redacted.make(s3.accessKeyId), secretAccessKey: Redacted.make("") }
      ]
      for (const creds of provided) {
        const credentials = Effect.succeed(creds as unknown as S3Store.AwsCredentials)
        const exit = yield* Effect.exit(
          Effect.provide(ObjectStore.head("anything"), S3Store.layer({ ...rest, credentials }))
        )
        assert.isTrue(Exit.isFailure(exit) && Cause.isFailType(exit.cause), String(exit))
        const error = yield* Effect.flip(
          Effect.provide(ObjectStore.head("anything"), S3Store.layer({ ...rest, credentials }))
        )
        assert.strictEqual(error._tag, "Unauthenticated")
        assert.include(error.message, "secretAccessKey")
      }
    }))

  it.live("a wrong secret on head names head", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ObjectStore.head("anything"))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.strictEqual(error.method, "head")
    }).pipe(Effect.provide(S3Store.layer({ ...options, secretAccessKey: "wrong" }))))

  it.live("a missing bucket is a StoreError that names the bucket", () =>
    Effect.gen(function*() {
      const bucket = `no-such-bucket-${crypto.randomUUID().slice(0, 8)}`
      const layer = S3Store.layer({ ...options, bucket })
      const failures = [
        yield* Effect.flip(Effect.provide(ObjectStore.head("a"), layer)),
        yield* Effect.flip(Effect.provide(ObjectStore.get("a"), layer)),
        yield* Effect.flip(Effect.provide(ObjectStore.put("a", "x"), layer)),
        yield* Effect.flip(Effect.provide(ObjectStore.listWithDelimiter(), layer)),
        yield* Effect.flip(Effect.provide(ObjectStore.copy("a", "b"), layer))
      ]
      for (const error of failures) {
        assert.strictEqual(error._tag, "StoreError", error.message)
        assert.include(error.message, `bucket "${bucket}" does not exist`)
      }
    }))

  it.live("a list of ETags in ifMatch / ifNoneMatch is evaluated as RFC 9110 says", () =>
    Effect.gen(function*() {
      const key = `s3-specific/${crypto.randomUUID()}/etags`
      const { eTag } = yield* ObjectStore.put(key, "hello")
      assert.isDefined(eTag)
      const other = "\"0123456789abcdef0123456789abcdef\""
      const list = `${other}, ${eTag}`
      assert.strictEqual(yield* Effect.flatMap(ObjectStore.get(key, { ifMatch: list }), (r) => r.text), "hello")
      assert.strictEqual(
        yield* Effect.flatMap(ObjectStore.get(key, { ifMatch: `${eTag}, ${other}` }), (r) => r.text),
        "hello"
      )
      const notMatched = yield* Effect.flip(ObjectStore.get(key, { ifMatch: `${other}, "fedcba"` }))
      assert.strictEqual(notMatched._tag, "PreconditionFailed")
      const modified = yield* Effect.flip(ObjectStore.get(key, { ifNoneMatch: list }))
      assert.strictEqual(modified._tag, "NotModified")
      const weak = yield* Effect.flip(ObjectStore.get(key, { ifNoneMatch: `${other}, W/${eTag}` }))
      assert.strictEqual(weak._tag, "NotModified")
      assert.strictEqual(
        yield* Effect.flatMap(ObjectStore.get(key, { ifNoneMatch: `${other}, "fedcba"` }), (r) => r.text),
        "hello"
      )
      // If-None-Match takes precedence over If-Modified-Since (a date that alone would answer 304).
      const since = new Date(Date.now() + 3_600_000)
      assert.strictEqual(
        yield* Effect.flatMap(
          ObjectStore.get(key, { ifNoneMatch: `${other}, "fedcba"`, ifModifiedSince: since }),
          (r) => r.text
        ),
        "hello"
      )
      yield* ObjectStore.delete(key)
    }).pipe(Effect.provide(rgw)))
})

describe("S3Store configuration a user expects", () => {
  // TestClock: only the environment is read.
  it.effect("fromEnv reads AWS_ENDPOINT (obstore's name)", () =>
    Effect.gen(function*() {
      const read = yield* S3Store.fromEnv()
      assert.strictEqual(read.endpoint, s3.endpoint)
    }).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(
        new Map([["AWS_ENDPOINT", s3.endpoint], ["AWS_BUCKET", s3.bucket]])
      ))
    ))

  // TestClock on purpose: a retry would wait for the clock, which stands still.
  it.effect("an endpoint that does not resolve fails at once, without retries", () =>
    Effect.gen(function*() {
      const layer = S3Store.layer({
        ...options,
        endpoint: "http://no-such-host.invalid:1",
        retry: { maxRetries: 10, initBackoff: "1 second" }
      })
      // On the TestClock a retry would wait forever: the head must end without the clock moving.
      const fiber = yield* Effect.fork(Effect.flip(Effect.provide(ObjectStore.head("a"), layer)))
      const exit = yield* TestServices.provideLive(Effect.timeout(Fiber.await(fiber), "20 seconds"))
      assert.isTrue(Exit.isSuccess(exit), "the head waited for a retry")
      if (Exit.isSuccess(exit)) {
        assert.strictEqual(exit.value._tag, "StoreError")
        assert.include(exit.value.message, "no-such-host.invalid")
        assert.notInclude(exit.value.message, "gave up after")
      }
    }))
})

describe("S3Store test clocks", () => {
  // conformance() above must not have swapped the shared `it.effect` for its own live, store-providing one.
  it.effect("it.effect in this file runs on the TestClock, after conformance() declared its blocks", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* Clock.currentTimeMillis, 0, "the TestClock starts at 0")
      const store = yield* Effect.serviceOption(ObjectStore.ObjectStore)
      assert.isTrue(Option.isNone(store), "no store is provided by a conformance block")
    }))

  it.effect("a request signed on the TestClock is refused by RGW: tests that talk to RGW must be it.live", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(ObjectStore.get("anything"), rgw))
      assert.include(error.message, "RequestTimeTooSkewed", error._tag)
    }))
})
