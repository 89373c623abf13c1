/**
 * S3Store against the RADOS Gateway through a fault-injecting proxy (test/support/faultProxy.ts): transient errors,
 * broken and short bodies, lost responses of non-idempotent requests, failing multipart uploads, stalls and malformed
 * responses. Each test has its own proxy and store, with small timeouts and backoffs so it runs fast.
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Chunk, Context, Duration, Effect, Exit, Fiber, Layer, Option, Stream, TestClock } from "effect"
import type { Scope } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import * as Signer from "effect-obstore/Signer"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { FaultProxy } from "./support/faultProxy.js"
import type { FaultKind, FaultProxyOptions, FaultSpec, RequestInfo, SeenRequest } from "./support/faultProxy.js"
import { s3 } from "./support/servers.js"

const KiB = 1024
const MiB = 1024 * KiB

const base = {
  bucket: s3.bucket,
  region: s3.region,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
  // RGW compares If-Match on PUT against the bare ETag.
  conditionalPut: "etag-unquoted"
} as const

type Store = ObjectStore.ObjectStore.Service
type S3Service = Context.Tag.Service<S3Store.S3Store>

interface Env {
  readonly proxy: FaultProxy
  /** The store under test, through the proxy. */
  readonly store: Store
  readonly s3: S3Service
  /** A store straight on RGW, to set up and check objects behind the proxy's back. */
  readonly direct: Store
  /** A fresh directory for the test's objects. */
  readonly dir: string
}

interface Settings {
  readonly proxy?: FaultProxyOptions
  readonly retry?: S3Store.S3Options["retry"]
  readonly client?: Omit<NonNullable<S3Store.S3Options["client"]>, "allowHttp">
}

const FAST_RETRY = { maxRetries: 3, initBackoff: "5 millis", maxBackoff: "20 millis" } as const

/** A proxy, a store through it (its own retry and client settings) and a direct store, closed with the scope. */
const setup = (settings: Settings = {}): Effect.Effect<Env, never, Scope.Scope> =>
  Effect.gen(function*() {
    const proxy = yield* FaultProxy.scoped(s3.endpoint, settings.proxy)
    const context = yield* Layer.build(S3Store.layer({
      ...base,
      endpoint: proxy.endpoint,
      client: { allowHttp: true, timeout: "2 seconds", ...settings.client },
      retry: { ...FAST_RETRY, ...settings.retry }
    })).pipe(Effect.orDie)
    const direct = yield* S3Store.make({ ...base, endpoint: s3.endpoint, client: { allowHttp: true } }).pipe(
      Effect.orDie
    )
    const dir = `faults/${randomUUID()}`
    yield* Effect.addFinalizer(() =>
      direct.list(dir).pipe(
        Stream.map((meta) => meta.path),
        Stream.runCollect,
        Effect.flatMap((paths) => direct.delete(Chunk.toReadonlyArray(paths))),
        Effect.ignore
      )
    )
    return {
      proxy,
      store: Context.get(context, ObjectStore.ObjectStore),
      s3: Context.get(context, S3Store.S3Store),
      direct,
      dir
    }
  })

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")
const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n))
const text = (s: string) => new TextEncoder().encode(s)

const isObject = (key: string) => (r: RequestInfo) => r.path.endsWith(`/${key}`)
const isGetOf = (key: string) => (r: RequestInfo) => r.method === "GET" && isObject(key)(r)
const isPutOf = (key: string) => (r: RequestInfo) => r.method === "PUT" && isObject(key)(r)
const isUploadPart = (r: RequestInfo) => r.method === "PUT" && r.query.has("partNumber")
const seenOf = (proxy: FaultProxy, p: (r: RequestInfo) => boolean): ReadonlyArray<SeenRequest> => proxy.seen.filter(p)

/** A failure whose cause is a StoreError (a typed failure, not a defect). Returns the error's message. */
const assertStoreError = <A, E>(exit: Exit.Exit<A, E>, label: string): string => {
  if (Exit.isSuccess(exit)) return assert.fail(`${label}: expected a StoreError, got a success`)
  assert.isFalse(Cause.isDie(exit.cause), `${label}: a defect instead of a StoreError:\n${Cause.pretty(exit.cause)}`)
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return assert.fail(`${label}: no typed failure:\n${Cause.pretty(exit.cause)}`)
  const error = failure.value as { readonly _tag?: unknown; readonly message?: unknown }
  assert.strictEqual(error._tag, "StoreError", `${label}: ${String(error.message)}`)
  return String(error.message)
}

/** Fails the test if `effect` takes longer than `ms` (real time): the client must never hang. */
const within = <A, E, R>(ms: number, label: string, effect: Effect.Effect<A, E, R>) =>
  Effect.timeoutFail(effect, {
    duration: Duration.millis(ms),
    onTimeout: () => new Error(`${label}: still running after ${ms} ms`)
  }).pipe(Effect.orDie)

const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const result = yield* effect
    return { result, ms: Date.now() - start }
  })

/** Polls (real time) until `p` holds, for at most `ms`. */
const eventually = (p: () => boolean, label: string, ms = 5_000): Effect.Effect<void> =>
  Effect.promise(async () => {
    const until = Date.now() + ms
    while (!p()) {
      if (Date.now() > until) throw new Error(`${label}: not within ${ms} ms`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })

/** An object's bytes, read straight from RGW. */
const directBytes = (direct: Store, key: string) => Effect.flatMap(direct.get(key), (r) => r.bytes)

const chunked = (data: Uint8Array, size: number): Stream.Stream<Uint8Array> =>
  Stream.fromIterable(Array.from({ length: Math.ceil(data.byteLength / size) }, (_, i) => {
    return data.subarray(i * size, Math.min(data.byteLength, (i + 1) * size))
  }))

const MULTIPART = { partSize: 5 * MiB, concurrency: 2 } as const

// ---------------------------------------------------------------------------------------------------------------

describe("S3Store under faults: transient errors", () => {
  const transient: ReadonlyArray<Exclude<FaultKind, "rewriteHeaders">> = [
    "status500",
    "status503",
    "slowDown",
    "status429",
    "resetBeforeResponse"
  ]
  for (const kind of transient) {
    it.live(`${kind} is retried and the request succeeds`, () =>
      Effect.gen(function*() {
        const { dir, direct, proxy, store } = yield* setup()
        const key = `${dir}/object`
        const fault = kind === "status429" ? { kind, retryAfter: 0 } as const : kind
        proxy.addRule({ match: isPutOf(key), fault, times: 2 })
        yield* store.put(key, "hello faults")
        proxy.addRule({ match: isGetOf(key), fault, times: 2 })
        const bytes = yield* Effect.flatMap(store.get(key), (r) => r.text)
        assert.strictEqual(bytes, "hello faults")
        assert.strictEqual(proxy.counts()[kind], 4, "two faults on the PUT, two on the GET")
        assert.strictEqual(seenOf(proxy, isPutOf(key)).length, 3, "PUT attempts")
        assert.strictEqual(seenOf(proxy, isGetOf(key)).length, 3, "GET attempts")
        assert.strictEqual(yield* Effect.flatMap(direct.get(key), (r) => r.text), "hello faults")
      }).pipe(Effect.scoped))
  }

  it.live("429 waits for Retry-After (capped at maxBackoff)", () =>
    Effect.gen(function*() {
      const { dir, proxy, store } = yield* setup({
        retry: { maxRetries: 3, initBackoff: "5 millis", maxBackoff: "3 seconds" }
      })
      const key = `${dir}/retry-after`
      proxy.addRule({ match: isPutOf(key), fault: { kind: "status429", retryAfter: 1 }, times: 1 })
      const { ms } = yield* elapsed(store.put(key, "x"))
      assert.strictEqual(proxy.counts().status429, 1)
      assert.strictEqual(seenOf(proxy, isPutOf(key)).length, 2)
      assert.isAtLeast(ms, 950, "the retry waited for Retry-After: 1")
      assert.isBelow(ms, 2_500)
    }).pipe(Effect.scoped))

  it.live("CopyObject answered 200 with an InternalError body is retried and the copy succeeds", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const from = `${dir}/copy-from`
      const to = `${dir}/copy-to`
      yield* direct.put(from, "copy me")
      const isCopy = (r: RequestInfo) => isPutOf(to)(r) && r.headers["x-amz-copy-source"] !== undefined
      proxy.addRule({ match: isCopy, fault: "errorIn200", times: 1 })
      const exit = yield* Effect.exit(store.copy(from, to))
      assert.isTrue(Exit.isSuccess(exit), `copy failed: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
      assert.strictEqual(proxy.counts().errorIn200, 1)
      assert.strictEqual(seenOf(proxy, isCopy).length, 2, "CopyObject attempts")
      assert.strictEqual(yield* Effect.flatMap(direct.get(to), (r) => r.text), "copy me")
    }).pipe(Effect.scoped))

  it.live("CompleteMultipartUpload answered 200 with an InternalError body is retried and the upload succeeds", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, s3: service, store } = yield* setup()
      const key = `${dir}/complete-error`
      const data = random(12 * MiB)
      const isComplete = (r: RequestInfo) => r.method === "POST" && r.query.has("uploadId") && isObject(key)(r)
      proxy.addRule({ match: isComplete, fault: "errorIn200", times: 1 })
      const exit = yield* Effect.exit(store.put(key, chunked(data, MiB), { multipart: MULTIPART }))
      assert.isTrue(Exit.isSuccess(exit), `put failed: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
      assert.strictEqual(proxy.counts().errorIn200, 1)
      assert.strictEqual(seenOf(proxy, isComplete).length, 2, "CompleteMultipartUpload attempts")
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
      assert.deepStrictEqual(yield* service.listMultipartUploads(dir), [])
    }).pipe(Effect.scoped))

  it.live("maxRetries exhausted fails with a StoreError that says how many attempts were made", () =>
    Effect.gen(function*() {
      const { dir, proxy, store } = yield* setup({ retry: { ...FAST_RETRY, maxRetries: 2 } })
      const key = `${dir}/always-503`
      proxy.addRule({ match: isPutOf(key), fault: "status503", times: Infinity })
      const exit = yield* Effect.exit(store.put(key, "x"))
      const message = assertStoreError(exit, "put")
      assert.strictEqual(proxy.counts().status503, 3)
      assert.strictEqual(proxy.requests, 3)
      assert.include(message, "gave up after 3 attempts")
      assert.include(message, "503")
    }).pipe(Effect.scoped))

  it.live("retryTimeout stops the retries", () =>
    Effect.gen(function*() {
      const { dir, proxy, store } = yield* setup({
        retry: { maxRetries: 1000, initBackoff: "50 millis", maxBackoff: "50 millis", retryTimeout: "600 millis" }
      })
      const key = `${dir}/slow-down`
      proxy.addRule({ match: isGetOf(key), fault: "slowDown", times: Infinity })
      const { ms, result: exit } = yield* elapsed(Effect.exit(store.get(key)))
      const message = assertStoreError(exit, "get")
      const attempts = proxy.counts().slowDown
      assert.isBelow(ms, 2_000)
      assert.isAtLeast(attempts, 5)
      assert.isAtMost(attempts, 20)
      assert.include(message, `gave up after ${attempts} attempts`)
      assert.include(message, "SlowDown")
    }).pipe(Effect.scoped))

  it.effect("backoff between attempts follows RetryConfig (TestClock, through the proxy)", () =>
    Effect.gen(function*() {
      // Requests are signed with the clock's time: start the TestClock at now.
      yield* TestClock.setTime(Date.now())
      const { dir, direct, proxy, store } = yield* setup({
        retry: { maxRetries: 4, initBackoff: "1 second", maxBackoff: "10 seconds", base: 2 },
        client: { timeout: "60 seconds" }
      })
      const key = `${dir}/backoff`
      proxy.addRule({ match: isPutOf(key), fault: "status503", times: 3 })
      const fiber = yield* Effect.fork(store.put(key, "after three 503s"))
      const nominal = [1_000, 2_000, 4_000]
      for (let i = 0; i < nominal.length; i++) {
        yield* eventually(() => seenOf(proxy, isPutOf(key)).length === i + 1, `attempt ${i + 1}`)
        // Wait (real time) for the client to schedule its backoff, then read when it will wake up.
        let delay: number | undefined
        yield* Effect.repeat(
          Effect.gen(function*() {
            const now = yield* TestClock.currentTimeMillis
            const pending = Chunk.toReadonlyArray(yield* TestClock.sleeps()).filter((t) => t > now && t - now < 20_000)
            delay = pending.length === 0 ? undefined : Math.min(...pending) - now
            if (delay === undefined) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
          }),
          { until: () => delay !== undefined, times: 1000 }
        )
        if (delay === undefined) return assert.fail(`no backoff scheduled after attempt ${i + 1}`)
        // Jitter keeps the delay within 0.8x to 1.2x of the nominal backoff.
        assert.isAtLeast(delay, nominal[i] * 0.8, `backoff ${i + 1}: ${delay} ms`)
        assert.isAtMost(delay, nominal[i] * 1.2, `backoff ${i + 1}: ${delay} ms`)
        yield* TestClock.adjust(Duration.millis(delay - 1))
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 50)))
        assert.strictEqual(seenOf(proxy, isPutOf(key)).length, i + 1, `no attempt before the backoff ${i + 1} ended`)
        yield* TestClock.adjust(Duration.millis(1))
      }
      yield* Fiber.join(fiber)
      assert.strictEqual(proxy.counts().status503, 3)
      assert.strictEqual(seenOf(proxy, isPutOf(key)).length, 4)
      assert.strictEqual(yield* Effect.flatMap(direct.get(key), (r) => r.text), "after three 503s")
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------

describe("S3Store under faults: bodies cut short", () => {
  it.live("a GET body cut mid-stream resumes from the right byte, pinned to the ETag", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/big`
      const data = random(MiB)
      yield* direct.put(key, data)
      proxy.addRule({
        match: (r) => isGetOf(key)(r) && r.headers.range === undefined,
        fault: { kind: "truncateBody", afterBytes: 300_000 }
      })
      const result = yield* store.get(key)
      const bytes = yield* result.bytes
      assert.strictEqual(proxy.counts().truncateBody, 1)
      assert.strictEqual(bytes.byteLength, data.byteLength)
      assert.strictEqual(sha256(bytes), sha256(data))
      const gets = seenOf(proxy, isGetOf(key))
      assert.strictEqual(gets.length, 2)
      assert.strictEqual(gets[1].headers.range, `bytes=300000-${MiB - 1}`)
      const eTag = result.meta.eTag
      if (eTag === undefined) return assert.fail("no ETag")
      assert.strictEqual(String(gets[1].headers["if-match"]).replace(/"/g, ""), eTag.replace(/"/g, ""))
    }).pipe(Effect.scoped))

  it.live("a ranged GET body with a short Content-Length (206) resumes and gives exactly the range", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/big-range`
      const data = random(MiB)
      yield* direct.put(key, data)
      proxy.addRule({ match: isGetOf(key), fault: { kind: "truncateBodyWrongLength", afterBytes: 300_000 } })
      const bytes = yield* store.getRange(key, { start: 1000, end: MiB - 1000 })
      assert.strictEqual(proxy.counts().truncateBodyWrongLength, 1)
      assert.strictEqual(sha256(bytes), sha256(data.subarray(1000, MiB - 1000)))
      const gets = seenOf(proxy, isGetOf(key))
      assert.strictEqual(gets.length, 2)
      assert.strictEqual(gets[1].headers.range, `bytes=301000-${MiB - 1001}`)
    }).pipe(Effect.scoped))

  it.live("a small (eagerly read) body cut short is fetched again", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/small`
      const data = random(100 * KiB)
      yield* direct.put(key, data)
      proxy.addRule({ match: isGetOf(key), fault: { kind: "truncateBody", afterBytes: 50_000 } })
      const bytes = yield* Effect.flatMap(store.get(key), (r) => r.bytes)
      assert.strictEqual(proxy.counts().truncateBody, 1)
      assert.strictEqual(sha256(bytes), sha256(data))
    }).pipe(Effect.scoped))

  it.live("a small ranged body shorter than its Content-Range is never returned as complete", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/small-range`
      const data = random(100 * KiB)
      yield* direct.put(key, data)
      proxy.addRule({ match: isGetOf(key), fault: { kind: "truncateBodyWrongLength", afterBytes: 50_000 } })
      const exit = yield* Effect.exit(store.getRange(key, { start: 0, end: 100 * KiB }))
      assert.strictEqual(proxy.counts().truncateBodyWrongLength, 1)
      if (Exit.isSuccess(exit)) {
        assert.strictEqual(exit.value.byteLength, 100 * KiB, "a short body was returned as the whole range")
        assert.strictEqual(sha256(exit.value), sha256(data))
      } else {
        assertStoreError(exit, "getRange")
      }
    }).pipe(Effect.scoped))

  it.live("a body that keeps breaking fails with a StoreError once the resumes run out, never short", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup({ retry: { ...FAST_RETRY, maxRetries: 2 } })
      const key = `${dir}/always-cut`
      const data = random(MiB)
      yield* direct.put(key, data)
      proxy.addRule({ match: isGetOf(key), fault: { kind: "truncateBody", afterBytes: 200_000 }, times: Infinity })
      const received: Array<Uint8Array> = []
      const exit = yield* Effect.exit(
        Effect.flatMap(
          store.get(key),
          (r) => Stream.runForEach(r.stream, (chunk) => Effect.sync(() => received.push(chunk)))
        )
      )
      assertStoreError(exit, "get")
      const got = Buffer.concat(received)
      assert.isBelow(got.byteLength, data.byteLength)
      assert.isTrue(
        got.equals(Buffer.from(data.subarray(0, got.byteLength))),
        "what was delivered is a prefix of the object"
      )
    }).pipe(Effect.scoped))

  it.live("an object overwritten between the cut and the resume fails with PreconditionFailed, never mixed bytes", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/changing`
      const first = new Uint8Array(MiB).fill(1)
      const second = new Uint8Array(MiB).fill(2)
      yield* direct.put(key, first)
      proxy.addRule({
        match: (r) => isGetOf(key)(r) && r.headers.range === undefined,
        fault: { kind: "truncateBody", afterBytes: 300_000 }
      })
      // The resume request: overwrite the object just before it reaches RGW.
      proxy.addRule({
        match: (r) => isGetOf(key)(r) && r.headers.range !== undefined,
        fault: "none",
        before: () => Effect.runPromise(Effect.asVoid(direct.put(key, second)))
      })
      const received: Array<Uint8Array> = []
      const exit = yield* Effect.exit(
        Effect.flatMap(
          store.get(key),
          (r) => Stream.runForEach(r.stream, (chunk) => Effect.sync(() => received.push(chunk)))
        )
      )
      assert.strictEqual(proxy.counts().truncateBody, 1)
      assert.isTrue(Exit.isFailure(exit), "the read must fail")
      if (Exit.isFailure(exit)) {
        const failure = Cause.failureOption(exit.cause)
        assert.isTrue(
          Option.isSome(failure) && failure.value._tag === "PreconditionFailed",
          Cause.pretty(exit.cause)
        )
      }
      const got = Buffer.concat(received)
      assert.isTrue(got.every((b) => b === 1), "only bytes of the first version were delivered")
      const gets = seenOf(proxy, isGetOf(key))
      assert.strictEqual(gets.length, 2)
      assert.isDefined(gets[1].headers["if-match"])
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------

describe("S3Store under faults: resumed reads answered wrongly (dangerous faults)", () => {
  /** A 1 MiB object read whole, its body cut at 300,000 bytes; the resume (`times` resumes) gets `fault`. */
  const resumedWith = (fault: FaultSpec, times = 1) =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/resumed`
      const data = random(MiB)
      yield* direct.put(key, data)
      proxy.addRule({
        match: (r) => isGetOf(key)(r) && r.headers.range === undefined,
        fault: { kind: "truncateBody", afterBytes: 300_000 }
      })
      proxy.addRule({ match: (r) => isGetOf(key)(r) && r.headers.range !== undefined, fault, times })
      const received: Array<Uint8Array> = []
      const exit = yield* Effect.exit(
        Effect.flatMap(
          store.get(key),
          (r) => Stream.runForEach(r.stream, (chunk) => Effect.sync(() => received.push(chunk)))
        )
      )
      assert.strictEqual(proxy.counts().truncateBody, 1, "the first body was cut")
      assert.isAtLeast(proxy.counts()[fault.kind as FaultKind], 1, `the resume got ${fault.kind}`)
      const got = Buffer.concat(received)
      // Whatever happens, every byte passed on is the object's byte at that place.
      assert.isTrue(got.equals(Buffer.from(data.subarray(0, got.byteLength))), "only the object's bytes, in place")
      return { exit, got, data }
    })

  it.live("a resume answered with another range (honest Content-Range) is never stitched on", () =>
    Effect.gen(function*() {
      const { exit, got } = yield* resumedWith({ kind: "wrongRange" })
      if (Exit.isSuccess(exit)) assert.strictEqual(got.byteLength, MiB, "a success gives every byte")
      else assertStoreError(exit, "get")
    }).pipe(Effect.scoped))

  it.live("a resume answered with a short 200 (no Content-Range, rewritten length) is never stitched on", () =>
    Effect.gen(function*() {
      // Every resume gets it: its bytes happen to be the right ones, but a 200 that is not the whole object is no
      // answer to a resume, and none of it may be passed on.
      const { exit, got } = yield* resumedWith({ kind: "rangeAs200" }, Infinity)
      assertStoreError(exit, "get")
      assert.strictEqual(got.byteLength, 300_000, "nothing of a short 200 was passed on")
    }).pipe(Effect.scoped))

  it.live("a resume answered with another ETag fails with PreconditionFailed after the first version's bytes", () =>
    Effect.gen(function*() {
      const { exit, got } = yield* resumedWith({ kind: "wrongETag" })
      assert.isTrue(Exit.isFailure(exit), "the read must fail: the answer says the object changed")
      if (Exit.isFailure(exit)) {
        const failure = Cause.failureOption(exit.cause)
        assert.isTrue(
          Option.isSome(failure) && failure.value._tag === "PreconditionFailed",
          Cause.pretty(exit.cause)
        )
      }
      assert.strictEqual(got.byteLength, 300_000, "nothing of the resumed answer was passed on")
    }).pipe(Effect.scoped))

  it.live("the proxy's dangerous faults do what they say (checked with a plain HTTP client)", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy } = yield* setup()
      const key = `${dir}/plain`
      const data = random(1000)
      yield* direct.put(key, data)
      const signer = yield* Effect.provide(
        Signer.Signer,
        S3Store.layer({ ...base, endpoint: proxy.endpoint, client: { allowHttp: true } })
      )
      const url = yield* signer.sign("GET", key, "10 minutes")
      const fetchRange = (range: string) =>
        Effect.promise(async () => {
          const response = await fetch(url, { headers: { range } })
          return { response, bytes: new Uint8Array(await response.arrayBuffer()) }
        })
      proxy.addRule({ match: isGetOf(key), fault: { kind: "wrongRange", shift: 10 } })
      const shifted = yield* fetchRange("bytes=100-199")
      assert.strictEqual(shifted.response.status, 206)
      assert.strictEqual(shifted.response.headers.get("content-range"), "bytes 110-199/1000")
      assert.deepStrictEqual(shifted.bytes, data.subarray(110, 200))
      proxy.addRule({ match: isGetOf(key), fault: { kind: "rangeAs200", cut: 40 } })
      const short = yield* fetchRange("bytes=100-199")
      assert.strictEqual(short.response.status, 200)
      assert.isNull(short.response.headers.get("content-range"))
      assert.deepStrictEqual(short.bytes, data.subarray(100, 160))
      proxy.addRule({ match: isGetOf(key), fault: "wrongETag" })
      const other = yield* fetchRange("bytes=0-9")
      const real = (yield* direct.head(key)).eTag
      assert.isString(other.response.headers.get("etag"))
      assert.notStrictEqual(other.response.headers.get("etag"), real)
      assert.deepStrictEqual(other.bytes, data.subarray(0, 10))
      assert.deepStrictEqual(
        [proxy.counts().wrongRange, proxy.counts().rangeAs200, proxy.counts().wrongETag],
        [1, 1, 1]
      )
    }).pipe(Effect.scoped))
})

describe("S3Store under faults: lost responses of non-idempotent requests", () => {
  const isCreate = (key: string) => (r: RequestInfo) => isPutOf(key)(r) && r.headers["if-none-match"] === "*"

  it.live("a create whose response was lost (the PUT took effect) succeeds: the object is ours", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/create-lost`
      const data = random(10 * KiB)
      proxy.addRule({ match: isCreate(key), fault: "resetAfterForward" })
      const exit = yield* Effect.exit(store.put(key, data, { mode: "create" }))
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.isTrue(Exit.isSuccess(exit), `create failed: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
    }).pipe(Effect.scoped))

  it.live("a create whose response was lost while someone else's object was there is AlreadyExists", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/create-lost-theirs`
      const theirs = text("someone else's")
      proxy.addRule({
        match: isCreate(key),
        fault: "resetAfterForward",
        before: () => Effect.runPromise(Effect.asVoid(direct.put(key, theirs)))
      })
      const exit = yield* Effect.exit(store.put(key, text("ours"), { mode: "create" }))
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.isTrue(Exit.isFailure(exit), "the create must fail")
      if (Exit.isFailure(exit)) {
        const failure = Cause.failureOption(exit.cause)
        assert.isTrue(Option.isSome(failure) && failure.value._tag === "AlreadyExists", Cause.pretty(exit.cause))
      }
      assert.strictEqual(new TextDecoder().decode(yield* directBytes(direct, key)), "someone else's")
    }).pipe(Effect.scoped))

  it.live("a create reset before it was forwarded still creates the object", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/create-reset`
      const data = random(10 * KiB)
      proxy.addRule({ match: isCreate(key), fault: "resetBeforeResponse" })
      const exit = yield* Effect.exit(store.put(key, data, { mode: "create" }))
      assert.strictEqual(proxy.counts().resetBeforeResponse, 1)
      assert.isTrue(Exit.isSuccess(exit), `create failed: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
    }).pipe(Effect.scoped))

  it.live("an update (If-Match) whose response was lost succeeds: the object is ours", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/update-lost`
      const { eTag } = yield* direct.put(key, "old")
      const data = random(10 * KiB)
      proxy.addRule({
        match: (r) => isPutOf(key)(r) && r.headers["if-match"] !== undefined,
        fault: "resetAfterForward"
      })
      const exit = yield* Effect.exit(store.put(key, data, { mode: { eTag } }))
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.isTrue(Exit.isSuccess(exit), `update failed: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
    }).pipe(Effect.scoped))

  it.live("a multipart create whose CompleteMultipartUpload response was lost succeeds: the object is ours", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, s3: service, store } = yield* setup()
      const key = `${dir}/multipart-create-lost`
      const data = random(11 * MiB)
      const isComplete = (r: RequestInfo) => r.method === "POST" && r.query.has("uploadId") && isObject(key)(r)
      proxy.addRule({ match: isComplete, fault: "resetAfterForward" })
      const exit = yield* Effect.exit(store.put(key, chunked(data, MiB), { mode: "create", multipart: MULTIPART }))
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.isTrue(Exit.isSuccess(exit), `create failed: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""}`)
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
      assert.deepStrictEqual(yield* service.listMultipartUploads(dir), [])
    }).pipe(Effect.scoped))

  it.live("a CreateMultipartUpload whose response was lost leaves no upload behind", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, s3: service, store } = yield* setup()
      const key = `${dir}/initiate-lost`
      const data = random(11 * MiB)
      proxy.addRule({ match: (r) => r.method === "POST" && r.query.has("uploads"), fault: "resetAfterForward" })
      yield* store.put(key, chunked(data, MiB), { multipart: MULTIPART })
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
      // RGW created an upload for the lost answer too; its id never reached the client.
      assert.deepStrictEqual(yield* service.listMultipartUploads(dir), [])
    }).pipe(Effect.scoped))

  it.live("an overwrite whose response was lost is simply repeated", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/overwrite-lost`
      const data = random(10 * KiB)
      proxy.addRule({ match: isPutOf(key), fault: "resetAfterForward" })
      yield* store.put(key, data)
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.strictEqual(seenOf(proxy, isPutOf(key)).length, 2)
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------

describe("S3Store under faults: multipart uploads", () => {
  it.live("an UploadPart answered 503 is retried per part and the upload succeeds", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, s3: service, store } = yield* setup()
      const key = `${dir}/multipart`
      const data = random(12 * MiB)
      proxy.addRule({ match: isUploadPart, fault: "status503", times: 2 })
      yield* store.put(key, chunked(data, MiB), { multipart: MULTIPART })
      assert.strictEqual(proxy.counts().status503, 2)
      assert.strictEqual(seenOf(proxy, isUploadPart).length, 3 + 2, "three parts, two of them sent twice")
      assert.strictEqual(sha256(yield* directBytes(direct, key)), sha256(data))
      assert.deepStrictEqual(yield* service.listMultipartUploads(dir), [])
    }).pipe(Effect.scoped))

  it.live("a part that always fails aborts the upload: no upload left, no object", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, s3: service, store } = yield* setup()
      const key = `${dir}/multipart-fails`
      const data = random(12 * MiB)
      proxy.addRule({
        match: (r) => isUploadPart(r) && r.query.get("partNumber") === "2",
        fault: "status500",
        times: Infinity
      })
      const exit = yield* within(
        20_000,
        "put",
        Effect.exit(store.put(key, chunked(data, MiB), { multipart: MULTIPART }))
      )
      const message = assertStoreError(exit, "put")
      assert.include(message, "gave up after 4 attempts")
      assert.strictEqual(proxy.counts().status500, 4)
      assert.isTrue(seenOf(proxy, (r) => r.method === "DELETE" && r.query.has("uploadId")).length >= 1, "aborted")
      assert.deepStrictEqual(yield* service.listMultipartUploads(dir), [])
      const head = yield* Effect.flip(direct.head(key))
      assert.strictEqual(head._tag, "NotFound")
    }).pipe(Effect.scoped))

  it.live("an interrupted upload is aborted: no upload left, no object", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, s3: service, store } = yield* setup({ client: { timeout: "20 seconds" } })
      const key = `${dir}/multipart-interrupted`
      const data = random(12 * MiB)
      proxy.addRule({
        match: (r) => isUploadPart(r) && r.query.get("partNumber") === "2",
        fault: { kind: "stall", ms: 30_000 }
      })
      const fiber = yield* Effect.fork(store.put(key, chunked(data, MiB), { multipart: MULTIPART }))
      yield* eventually(() => proxy.counts().stall === 1, "part 2 reached the proxy")
      yield* within(5_000, "interrupt", Fiber.interrupt(fiber))
      assert.isTrue(seenOf(proxy, (r) => r.method === "DELETE" && r.query.has("uploadId")).length >= 1, "aborted")
      assert.deepStrictEqual(yield* service.listMultipartUploads(dir), [])
      const head = yield* Effect.flip(direct.head(key))
      assert.strictEqual(head._tag, "NotFound")
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------

describe("S3Store under faults: stalls", () => {
  it.live("a GET stalled past client.timeout is retried and succeeds", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup({ client: { timeout: "500 millis" } })
      const key = `${dir}/stalled`
      yield* direct.put(key, "eventually")
      proxy.addRule({ match: isGetOf(key), fault: { kind: "stall", ms: 10_000 } })
      const value = yield* within(3_000, "get", Effect.flatMap(store.get(key), (r) => r.text))
      assert.strictEqual(value, "eventually")
      assert.strictEqual(proxy.counts().stall, 1)
      assert.strictEqual(seenOf(proxy, isGetOf(key)).length, 2)
    }).pipe(Effect.scoped))

  it.live("a request that always stalls fails with a StoreError in bounded time", () =>
    Effect.gen(function*() {
      const { dir, proxy, store } = yield* setup({
        client: { timeout: "300 millis" },
        retry: { ...FAST_RETRY, maxRetries: 1 }
      })
      const key = `${dir}/always-stalled`
      proxy.addRule({ match: isGetOf(key), fault: { kind: "stall", ms: 30_000 }, times: Infinity })
      const exit = yield* within(3_000, "get", Effect.exit(store.get(key)))
      const message = assertStoreError(exit, "get")
      assert.include(message, "gave up after 2 attempts")
      assert.strictEqual(proxy.counts().stall, 2)
    }).pipe(Effect.scoped))

  it.live("a body that stalls mid-stream resumes after the idle timeout", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup({ client: { timeout: "500 millis" } })
      const key = `${dir}/stalled-body`
      const data = random(MiB)
      yield* direct.put(key, data)
      proxy.addRule({ match: isGetOf(key), fault: { kind: "stall", ms: 30_000, afterBytes: 300_000 } })
      const bytes = yield* within(5_000, "get", Effect.flatMap(store.get(key), (r) => r.bytes))
      assert.strictEqual(proxy.counts().stall, 1)
      assert.strictEqual(sha256(bytes), sha256(data))
      const gets = seenOf(proxy, isGetOf(key))
      assert.strictEqual(gets.length, 2)
      assert.match(String(gets[1].headers.range), /^bytes=\d+-/)
    }).pipe(Effect.scoped))

  it.live("a stalled create never hangs the caller", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup({ client: { timeout: "300 millis" } })
      const key = `${dir}/stalled-create`
      const data = text("created")
      proxy.addRule({ match: isPutOf(key), fault: { kind: "stall", ms: 30_000 } })
      const exit = yield* within(5_000, "put", Effect.exit(store.put(key, data, { mode: "create" })))
      assert.strictEqual(proxy.counts().stall, 1)
      if (Exit.isSuccess(exit)) {
        assert.strictEqual(new TextDecoder().decode(yield* directBytes(direct, key)), "created")
      } else {
        assertStoreError(exit, "put")
      }
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------

describe("S3Store under faults: malformed responses are StoreErrors, never defects", () => {
  const isList = (r: RequestInfo) => r.method === "GET" && r.query.get("list-type") === "2"

  it.live("corrupt XML from ListObjectsV2", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      yield* direct.put(`${dir}/a`, "a")
      proxy.addRule({ match: isList, fault: "corruptXml", times: Infinity })
      assertStoreError(yield* Effect.exit(Stream.runCollect(store.list(dir))), "list")
      assertStoreError(yield* Effect.exit(store.listWithDelimiter(dir)), "listWithDelimiter")
      assert.isAtLeast(proxy.counts().corruptXml, 2)
    }).pipe(Effect.scoped))

  it.live("corrupt XML from DeleteObjects", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      yield* direct.put(`${dir}/a`, "a")
      yield* direct.put(`${dir}/b`, "b")
      proxy.addRule({
        match: (r) => r.method === "POST" && r.query.has("delete"),
        fault: "corruptXml",
        times: Infinity
      })
      assertStoreError(yield* Effect.exit(store.delete([`${dir}/a`, `${dir}/b`])), "delete")
      assert.isAtLeast(proxy.counts().corruptXml, 1)
    }).pipe(Effect.scoped))

  it.live("corrupt XML from CreateMultipartUpload fails the put and leaves no upload behind", () =>
    Effect.gen(function*() {
      const { dir, proxy, s3: service, store } = yield* setup()
      const key = `${dir}/create-corrupt`
      proxy.addRule({
        match: (r) => r.method === "POST" && r.query.has("uploads"),
        fault: "corruptXml",
        times: Infinity
      })
      const exit = yield* Effect.exit(store.put(key, chunked(random(11 * MiB), MiB), { multipart: MULTIPART }))
      assertStoreError(exit, "put")
      assert.isAtLeast(proxy.counts().corruptXml, 1)
      // RGW created the upload; only its id was lost in the corrupt answer.
      assert.deepStrictEqual(yield* service.listMultipartUploads(dir), [])
    }).pipe(Effect.scoped))

  it.live("a GET without Content-Length", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/no-length`
      yield* direct.put(key, "some bytes")
      proxy.addRule({
        match: isGetOf(key),
        fault: {
          kind: "rewriteHeaders",
          rewrite: ({ "content-length": _, ...headers }) => headers
        },
        times: Infinity
      })
      assertStoreError(yield* Effect.exit(Effect.flatMap(store.get(key), (r) => r.bytes)), "get")
      assert.isAtLeast(proxy.counts().rewriteHeaders, 1)
    }).pipe(Effect.scoped))

  it.live("an UploadPart answer without ETag fails the put and aborts the upload", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, s3: service, store } = yield* setup()
      const key = `${dir}/no-etag`
      proxy.addRule({
        match: isUploadPart,
        fault: { kind: "rewriteHeaders", rewrite: ({ etag: _, ...headers }) => headers },
        times: Infinity
      })
      const exit = yield* Effect.exit(store.put(key, chunked(random(11 * MiB), MiB), { multipart: MULTIPART }))
      const message = assertStoreError(exit, "put")
      assert.include(message, "ETag")
      assert.deepStrictEqual(yield* service.listMultipartUploads(dir), [])
      const head = yield* Effect.flip(direct.head(key))
      assert.strictEqual(head._tag, "NotFound")
    }).pipe(Effect.scoped))

  it.live("a 206 with an unreadable Content-Range", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/bad-range`
      yield* direct.put(key, random(1000))
      proxy.addRule({
        match: isGetOf(key),
        fault: { kind: "rewriteHeaders", rewrite: (headers) => ({ ...headers, "content-range": "bytes garbage" }) },
        times: Infinity
      })
      assertStoreError(yield* Effect.exit(store.getRange(key, { start: 100, end: 200 })), "getRange")
    }).pipe(Effect.scoped))

  it.live("a 206 whose Content-Range is not the range asked for", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup()
      const key = `${dir}/other-range`
      yield* direct.put(key, random(1000))
      proxy.addRule({
        match: isGetOf(key),
        fault: { kind: "rewriteHeaders", rewrite: (headers) => ({ ...headers, "content-range": "bytes 0-99/1000" }) },
        times: Infinity
      })
      const exit = yield* Effect.exit(store.get(key, { range: { start: 100, end: 200 } }))
      if (Exit.isSuccess(exit)) {
        assert.deepStrictEqual(exit.value.range, { start: 100, end: 200 }, "bytes 0-99 were returned as bytes 100-199")
      } else {
        assertStoreError(exit, "get")
      }
    }).pipe(Effect.scoped))

  it.live("an error body in a 200 from ListObjectsV2", () =>
    Effect.gen(function*() {
      const { dir, proxy, store } = yield* setup({ retry: { ...FAST_RETRY, maxRetries: 1 } })
      proxy.addRule({ match: isList, fault: "errorIn200", times: Infinity })
      assertStoreError(yield* Effect.exit(Stream.runCollect(store.list(dir))), "list")
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------

describe("S3Store under random faults", () => {
  it.live("every kind at a 30% rate: what is read back is what was written, or the failure is a StoreError", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup({
        proxy: { rate: 0.3, seed: 7, stallMs: 2_000 },
        client: { timeout: "300 millis" },
        retry: { maxRetries: 10, initBackoff: "5 millis", maxBackoff: "20 millis" }
      })
      const objects = Array.from({ length: 12 }, (_, i) => ({
        key: `${dir}/random-${i}`,
        data: random(i % 3 === 0 ? 600 * KiB : 20 * KiB)
      }))
      const failures: Array<string> = []
      const run = <A, E>(label: string, effect: Effect.Effect<A, E>) =>
        Effect.flatMap(Effect.exit(effect), (exit) => {
          if (Exit.isSuccess(exit)) return Effect.succeed(Option.some(exit.value))
          failures.push(assertStoreError(exit, label))
          return Effect.succeed(Option.none())
        })
      yield* within(
        30_000,
        "random faults",
        Effect.forEach(objects, ({ data, key }) =>
          Effect.gen(function*() {
            const put = yield* run("put", store.put(key, data))
            if (Option.isNone(put)) return
            const read = yield* run("get", Effect.flatMap(store.get(key), (r) => r.bytes))
            if (Option.isSome(read)) assert.strictEqual(sha256(read.value), sha256(data), `${key} read back`)
            const copied = yield* run("copy", store.copy(key, `${key}-copy`))
            if (Option.isSome(copied)) {
              assert.strictEqual(sha256(yield* directBytes(direct, `${key}-copy`)), sha256(data), `${key}-copy`)
            }
          }), { concurrency: 4, discard: true })
      )
      yield* run("list", Stream.runCollect(store.list(dir)))
      const injected = Object.values(proxy.counts()).reduce((a, b) => a + b, 0)
      assert.isAtLeast(injected, 5, JSON.stringify(proxy.counts()))
      assert.isAtMost(failures.length, 3, failures.join("\n"))
    }).pipe(Effect.scoped))
})
