/**
 * Bad input never reaches the network: every case runs against `S3Store.layerWithHttpClient` over an `HttpClient`
 * that records each request it is asked to send. A case passes only when it fails with the expected typed error (not a
 * defect), its message names what is wrong, and the client saw no request at all. One control case proves the
 * counter sees what the store sends.
 */
import { HttpClient, HttpClientError } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer, Option, Stream } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { isObjectStoreError } from "effect-obstore/ObjectStoreError"
import * as S3Store from "effect-obstore/S3Store"
import * as Signer from "effect-obstore/Signer"
import { rgwOptions, s3 } from "./support/servers.js"

const options: S3Store.S3Options = {
  ...rgwOptions,
  retry: { maxRetries: 0 }
}

type Services = ObjectStore.ObjectStore | Signer.Signer | S3Store.S3Store

interface Sent {
  readonly method: string
  readonly url: string
}

/**
 * An `HttpClient` that records every request. With `forward` it sends them on to the real server (the control case);
 * without, it refuses them, so a bad-input case that leaks a request cannot pass by accident.
 */
const countingClient = (sent: Array<Sent>, forward: boolean) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (real) =>
      HttpClient.make((request) =>
        Effect.suspend(() => {
          sent.push({ method: request.method, url: request.url })
          return forward ? real.execute(request) : Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              description: "bad input reached the network"
            })
          )
        })
      ))
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))

const storeOver = (sent: Array<Sent>, forward: boolean, input: unknown = options) =>
  S3Store.layerWithHttpClient(input as S3Store.S3Options).pipe(Layer.provide(countingClient(sent, forward)))

// C0 controls and DEL: a message is printed and logged, and a raw control character in it can forge log lines or
// hide text on a terminal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

interface Expected {
  readonly tag: string
  /** For InvalidConfig: the `field` it must name (or start with, for a value inside a record). */
  readonly field?: string | undefined
  readonly fieldPrefix?: string | undefined
  /** What the message must mention for a person to act on it. */
  readonly mentions?: ReadonlyArray<string> | undefined
  /** Jargon a person cannot act on. */
  readonly forbids?: ReadonlyArray<string> | undefined
}

/** A test name with control characters spelled out. */
const show = (s: string) => JSON.stringify(s).replace(/\u007f/g, "\\u007f")

const noneSent = (sent: ReadonlyArray<Sent>, what: string) =>
  assert.deepStrictEqual(sent, [], `${what}: bad input reached the network`)

/** Runs `effect`, which must fail with a typed error of the expected kind, and returns the error. */
const expectFailure = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  expected: Expected,
  what: string,
  sent: ReadonlyArray<Sent>
) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    noneSent(sent, what)
    if (Exit.isSuccess(exit)) return assert.fail(`${what}: succeeded, expected ${expected.tag}`)
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) {
      return assert.fail(
        `${what}: expected ${expected.tag}, got a defect or interruption:\n${Cause.pretty(exit.cause)}`
      )
    }
    const error = failure.value
    if (!isObjectStoreError(error)) return assert.fail(`${what}: not an ObjectStoreError: ${String(error)}`)
    assert.strictEqual(error._tag, expected.tag, `${what}: ${error.message}`)
    const field = error._tag === "InvalidConfig" ? error.field : undefined
    if (expected.field !== undefined) assert.strictEqual(field, expected.field, error.message)
    if (expected.fieldPrefix !== undefined) {
      assert.isTrue(field?.startsWith(expected.fieldPrefix), `${what}: field ${String(field)}: ${error.message}`)
    }
    for (const mention of expected.mentions ?? []) {
      assert.include(error.message, mention, `${what}: the message should mention ${JSON.stringify(mention)}`)
    }
    for (const jargon of expected.forbids ?? []) {
      assert.notInclude(error.message, jargon, `${what}: the message should not say ${JSON.stringify(jargon)}`)
    }
    return error
  })

// ---------------------------------------------------------------------------------------------------------------------
// operations
// ---------------------------------------------------------------------------------------------------------------------

interface OperationCase extends Expected {
  readonly name: string
  readonly run: Effect.Effect<unknown, unknown, Services>
}

const BAD_PATHS: ReadonlyArray<readonly [string, string]> = [
  ["", "may not be empty"],
  ["a//b", "empty segments"],
  ["a/../b", "\"..\" segments"],
  ["./x", "\".\" segments"],
  ["a\u0000b", "control characters"],
  ["a\u007fb", "control characters"],
  ["a\nb", "control characters"]
]

const OK = "input/ok.txt"

const pathOperations: ReadonlyArray<
  readonly [string, (path: string) => Effect.Effect<unknown, unknown, Services>, prefix?: boolean]
> = [
  ["get", (p) => ObjectStore.get(p)],
  ["head", (p) => ObjectStore.head(p)],
  ["put", (p) => ObjectStore.put(p, "data")],
  ["put (stream)", (p) => ObjectStore.put(p, Stream.make(new Uint8Array(8)))],
  ["delete", (p) => ObjectStore.delete(p)],
  ["delete (many)", (p) => ObjectStore.delete([OK, p])],
  ["getRange", (p) => ObjectStore.getRange(p, { start: 0, end: 1 })],
  ["getRanges", (p) => ObjectStore.getRanges(p, [{ start: 0, end: 1 }])],
  ["copy from", (p) => ObjectStore.copy(p, OK)],
  ["copy to", (p) => ObjectStore.copy(OK, p)],
  ["rename from", (p) => ObjectStore.rename(p, OK)],
  ["rename to", (p) => ObjectStore.rename(OK, p)],
  ["list", (p) => Stream.runCollect(ObjectStore.list(p)), true],
  ["listWithDelimiter", (p) => ObjectStore.listWithDelimiter(p), true],
  ["sign", (p) => Signer.sign("GET", p, "1 minute")],
  ["sign (many)", (p) => Signer.sign("PUT", [OK, p], "1 minute")]
]

const pathCases: ReadonlyArray<OperationCase> = pathOperations.flatMap(([operation, run, isPrefix]) =>
  BAD_PATHS
    // The empty prefix is the whole store: valid for list and listWithDelimiter.
    .filter(([path]) => !(isPrefix === true && path === ""))
    .map(([path, why]): OperationCase => ({
      name: `${operation} ${show(path)}`,
      run: run(path),
      tag: "InvalidPath",
      mentions: [why]
    }))
)

const rangeCase = (name: string, range: ObjectStore.ByteRange, why: string): ReadonlyArray<OperationCase> => [
  { name: `get range ${name}`, run: ObjectStore.get(OK, { range }), tag: "InvalidRange", mentions: [why] },
  { name: `getRange ${name}`, run: ObjectStore.getRange(OK, range), tag: "InvalidRange", mentions: [why] },
  {
    name: `getRanges ${name}`,
    run: ObjectStore.getRanges(OK, [{ start: 0, end: 10 }, range as ObjectStore.BoundedRange]),
    tag: "InvalidRange",
    mentions: [why]
  }
]

const rangeCases: ReadonlyArray<OperationCase> = [
  ...rangeCase("negative start", { start: -1, end: 5 }, "start must be a non-negative integer"),
  ...rangeCase("negative end", { start: 0, end: -5 }, "end must be a non-negative integer"),
  ...rangeCase("inverted", { start: 10, end: 5 }, "must be greater than start"),
  ...rangeCase("zero-length", { start: 5, end: 5 }, "must be greater than start"),
  ...rangeCase("non-integer start", { start: 1.5, end: 5 }, "start must be a non-negative integer"),
  ...rangeCase("non-integer end", { start: 0, end: 2.5 }, "end must be a non-negative integer"),
  ...rangeCase("NaN start", { start: Number.NaN, end: 5 }, "got NaN"),
  ...rangeCase("infinite end", { start: 0, end: Number.POSITIVE_INFINITY }, "end must be a non-negative integer"),
  ...rangeCase("negative offset", { offset: -1, length: 2 }, "offset must be a non-negative integer"),
  ...rangeCase("NaN offset", { offset: Number.NaN, length: 2 }, "offset must be a non-negative integer"),
  ...rangeCase("zero length", { offset: 3, length: 0 }, "length must be a positive integer"),
  ...rangeCase("negative length", { offset: 3, length: -1 }, "length must be a positive integer"),
  ...rangeCase("non-integer length", { offset: 3, length: 0.5 }, "length must be a positive integer"),
  {
    name: "get range zero suffix",
    run: ObjectStore.get(OK, { range: { suffix: 0 } }),
    tag: "InvalidRange",
    mentions: ["suffix must be a positive integer"]
  },
  {
    name: "getRange negative suffix",
    run: ObjectStore.getRange(OK, { suffix: -4 }),
    tag: "InvalidRange",
    mentions: ["suffix must be a positive integer"]
  },
  {
    name: "getRanges unbounded offset",
    run: ObjectStore.getRanges(OK, [{ start: 0, end: 1 }, { offset: 5 } as unknown as ObjectStore.BoundedRange]),
    tag: "InvalidRange",
    mentions: ["bounded ranges"]
  },
  {
    name: "getRanges suffix",
    run: ObjectStore.getRanges(OK, [{ suffix: 5 } as unknown as ObjectStore.BoundedRange]),
    tag: "InvalidRange",
    mentions: ["bounded ranges"]
  }
]

const expiresCases: ReadonlyArray<OperationCase> = (
  [
    ["8 days", "8 days"],
    ["7 days + 1 s", Duration.sum(Duration.days(7), Duration.seconds(1))],
    ["Infinity", Duration.infinity],
    ["0", 0],
    ["0 seconds", "0 seconds"],
    ["500 millis (rounds to 0 s)", "500 millis"],
    ["-60000 ms", -60_000],
    ["NaN", Number.NaN]
  ] as const
).flatMap(([name, expiresIn]): ReadonlyArray<OperationCase> => [
  {
    name: `sign expiresIn ${name}`,
    run: Signer.sign("GET", OK, expiresIn),
    tag: "InvalidConfig",
    field: "expiresIn",
    mentions: ["expiresIn", "between 1 and 604800"]
  },
  {
    name: `sign (many) expiresIn ${name}`,
    run: Signer.sign("GET", [OK, "input/other.txt"], expiresIn),
    tag: "InvalidConfig",
    field: "expiresIn",
    mentions: ["expiresIn"]
  }
])

const otherSignCases: ReadonlyArray<OperationCase> = [
  {
    // Not a DurationInput by type, but JavaScript callers and decoded JSON can pass anything.
    name: "sign expiresIn \"soon\" (not a duration)",
    run: Effect.suspend(() => Signer.sign("GET", OK, "soon" as Duration.DurationInput)),
    tag: "InvalidConfig",
    field: "expiresIn",
    mentions: ["expiresIn"]
  }
]

const tenBytes = () => Stream.make(new Uint8Array(10))

const multipartCases: ReadonlyArray<OperationCase> = [
  ...([
    ["partSize 1 KiB", { partSize: 1024 }, "partSize"],
    ["partSize 5 MiB - 1", { partSize: 5 * 1024 * 1024 - 1 }, "partSize"],
    ["partSize 0", { partSize: 0 }, "partSize"],
    ["partSize -1", { partSize: -1 }, "partSize"],
    ["partSize NaN", { partSize: Number.NaN }, "partSize"],
    ["partSize non-integer", { partSize: 5 * 1024 * 1024 + 0.5 }, "partSize"],
    ["concurrency 0", { concurrency: 0 }, "concurrency"],
    ["concurrency -1", { concurrency: -1 }, "concurrency"],
    ["concurrency 1.5", { concurrency: 1.5 }, "concurrency"],
    ["concurrency NaN", { concurrency: Number.NaN }, "concurrency"]
  ] as const).map(([name, multipart, field]): OperationCase => ({
    name: `put (stream) multipart ${name}`,
    run: ObjectStore.put(OK, tenBytes(), { multipart }),
    tag: "InvalidConfig",
    mentions: [`multipart.${field}`]
  })),
  // Options out of range are a mistake whatever the payload: an in-memory payload (sent in one request) must not
  // hide one until the same code gets a stream.
  {
    name: "put (bytes) multipart partSize 1 KiB",
    run: ObjectStore.put(OK, new Uint8Array(10), { multipart: { partSize: 1024 } }),
    tag: "InvalidConfig",
    mentions: ["multipart.partSize"]
  },
  {
    name: "put (string) multipart concurrency 0",
    run: ObjectStore.put(OK, "ten bytes!", { multipart: { concurrency: 0 } }),
    tag: "InvalidConfig",
    mentions: ["multipart.concurrency"]
  }
]

const operationCases: ReadonlyArray<OperationCase> = [
  ...pathCases,
  ...rangeCases,
  ...expiresCases,
  ...otherSignCases,
  ...multipartCases
]

describe("S3Store input: bad operation input never reaches the network", () => {
  // Live clock: the request is signed with the Clock's time, and RGW refuses one signed in 1970.
  it.live("control: a valid request does reach the counting client", () =>
    Effect.gen(function*() {
      const sent: Array<Sent> = []
      const key = `input/${crypto.randomUUID()}`
      const [error, again] = yield* Effect.provide(
        Effect.all([Effect.flip(ObjectStore.head(key)), Effect.flip(ObjectStore.head(`${key}-2`))]),
        storeOver(sent, true)
      )
      assert.strictEqual(error._tag, "NotFound", error.message)
      assert.strictEqual(again._tag, "NotFound", again.message)
      // A 404 to a HEAD cannot say whether the bucket is missing: the first one asks the bucket, once per store.
      assert.deepStrictEqual(
        sent.map((r) => `${r.method} ${new URL(r.url).pathname}`),
        [`HEAD /${s3.bucket}/${key}`, `HEAD /${s3.bucket}`, `HEAD /${s3.bucket}/${key}-2`]
      )
    }))

  for (const c of operationCases) {
    it.effect(c.name, () =>
      Effect.gen(function*() {
        const sent: Array<Sent> = []
        yield* expectFailure(Effect.provide(c.run, storeOver(sent, false)), c, c.name, sent)
      }))
  }

  it.effect("messages quote the path: no raw control character reaches a log line", () =>
    Effect.gen(function*() {
      const raw: Array<string> = []
      for (const c of pathCases) {
        const sent: Array<Sent> = []
        const error = yield* Effect.flip(Effect.provide(c.run, storeOver(sent, false)))
        const message = isObjectStoreError(error) ? error.message : String(error)
        if (CONTROL.test(message)) raw.push(`${c.name}: ${JSON.stringify(message)}`)
      }
      assert.deepStrictEqual(raw, [], "messages with a raw control character (a path with \\n can forge a log line)")
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// configuration
// ---------------------------------------------------------------------------------------------------------------------

interface ConfigCase extends Expected {
  readonly name: string
  readonly input: Record<string, unknown>
}

const configCases: ReadonlyArray<ConfigCase> = [
  // Unknown keys: a typo must not silently fall back to a default.
  {
    name: "unknown key bucketName",
    input: { ...options, bucketName: "typo" },
    tag: "InvalidConfig",
    field: "bucketName",
    mentions: ["bucketName", "unexpected"]
  },
  {
    name: "unknown key acessKeyId",
    input: { ...options, acessKeyId: "AKIATYPO" },
    tag: "InvalidConfig",
    field: "acessKeyId",
    mentions: ["acessKeyId", "unexpected"]
  },
  {
    name: "unknown nested key client.timout",
    input: { ...options, client: { allowHttp: true, timout: "1 second" } },
    tag: "InvalidConfig",
    field: "client.timout",
    mentions: ["client.timout", "unexpected"]
  },
  {
    name: "unknown nested key retry.retries",
    input: { ...options, retry: { retries: 3 } },
    tag: "InvalidConfig",
    field: "retry.retries",
    mentions: ["retry.retries", "unexpected"]
  },
  // Wrong types.
  {
    name: "region: 5",
    input: { ...options, region: 5 },
    tag: "InvalidConfig",
    field: "region",
    mentions: ["region", "string", "5"]
  },
  {
    // The region goes into the credential scope of the Authorization header.
    name: "region with a line break",
    input: { ...options, region: "us-east-1\r\nx-injected: 1" },
    tag: "InvalidConfig",
    field: "region",
    mentions: ["region"]
  },
  {
    name: "region: \"\"",
    input: { ...options, region: "" },
    tag: "InvalidConfig",
    field: "region",
    mentions: ["region"]
  },
  {
    name: "bucket missing",
    input: { ...options, bucket: undefined },
    tag: "InvalidConfig",
    field: "bucket",
    mentions: ["bucket"]
  },
  {
    name: "retry.maxRetries: \"x\"",
    input: { ...options, retry: { maxRetries: "x" } },
    tag: "InvalidConfig",
    field: "retry.maxRetries",
    mentions: ["retry.maxRetries", "\"x\""]
  },
  {
    name: "retry.maxRetries: -1",
    input: { ...options, retry: { maxRetries: -1 } },
    tag: "InvalidConfig",
    field: "retry.maxRetries",
    mentions: ["retry.maxRetries", "-1"]
  },
  {
    name: "retry.maxRetries: 1.5",
    input: { ...options, retry: { maxRetries: 1.5 } },
    tag: "InvalidConfig",
    field: "retry.maxRetries",
    mentions: ["retry.maxRetries", "1.5"]
  },
  {
    name: "retry.base: 0.5",
    input: { ...options, retry: { base: 0.5 } },
    tag: "InvalidConfig",
    field: "retry.base",
    mentions: ["retry.base", "0.5"]
  },
  {
    name: "client.timeout: \"soon\"",
    input: { ...options, client: { allowHttp: true, timeout: "soon" } },
    tag: "InvalidConfig",
    field: "client.timeout",
    mentions: ["client.timeout", "\"soon\"", "30 seconds"]
  },
  {
    name: "client.connectTimeout: -5",
    input: { ...options, client: { allowHttp: true, connectTimeout: -5 } },
    tag: "InvalidConfig",
    field: "client.connectTimeout",
    mentions: ["client.connectTimeout", "non-negative"]
  },
  {
    // Duration.decode clamps a negative number of milliseconds to zero.
    name: "client.timeout: -1000",
    input: { ...options, client: { allowHttp: true, timeout: -1000 } },
    tag: "InvalidConfig",
    field: "client.timeout",
    mentions: ["client.timeout", "non-negative"]
  },
  {
    // A zero timeout fails every request at once (the per-attempt Effect.timeoutFail) on one transport and means "no
    // timeout" to undici's headersTimeout on the other: either way not a working configuration.
    name: "client.timeout: 0",
    input: { ...options, client: { allowHttp: true, timeout: 0 } },
    tag: "InvalidConfig",
    field: "client.timeout",
    mentions: ["client.timeout"]
  },
  {
    name: "client.defaultHeaders with a line break",
    input: { ...options, client: { allowHttp: true, defaultHeaders: { "x-team": "a\r\nx-injected: 1" } } },
    tag: "InvalidConfig",
    fieldPrefix: "client.defaultHeaders",
    mentions: ["client.defaultHeaders"]
  },
  {
    name: "client.poolMaxConnections: 0",
    input: { ...options, client: { allowHttp: true, poolMaxConnections: 0 } },
    tag: "InvalidConfig",
    field: "client.poolMaxConnections",
    mentions: ["client.poolMaxConnections", "0"]
  },
  {
    name: "client.allowHttp: \"yes\"",
    input: { ...options, client: { allowHttp: "yes" } },
    tag: "InvalidConfig",
    field: "client.allowHttp",
    mentions: ["client.allowHttp", "boolean"]
  },
  {
    name: "client: \"fast\"",
    input: { ...options, client: "fast" },
    tag: "InvalidConfig",
    field: "client",
    mentions: ["client", "\"fast\""],
    forbids: ["Encoded side"]
  },
  {
    name: "skipSignature: \"true\"",
    input: { ...options, skipSignature: "true" },
    tag: "InvalidConfig",
    field: "skipSignature",
    mentions: ["skipSignature", "boolean"]
  },
  {
    name: "accessKeyId: 42",
    input: { ...options, accessKeyId: 42 },
    tag: "InvalidConfig",
    field: "accessKeyId",
    mentions: ["accessKeyId", "string"]
  },
  // Enums: the message lists what is allowed.
  {
    name: "conditionalPut: \"sometimes\"",
    input: { ...options, conditionalPut: "sometimes" },
    tag: "InvalidConfig",
    field: "conditionalPut",
    mentions: ["conditionalPut", "\"etag\"", "\"etag-unquoted\"", "\"disabled\"", "\"sometimes\""]
  },
  {
    name: "copyIfNotExists: \"yes\"",
    input: { ...options, copyIfNotExists: "yes" },
    tag: "InvalidConfig",
    field: "copyIfNotExists",
    mentions: ["copyIfNotExists", "\"header\"", "\"disabled\""]
  },
  {
    name: "checksumAlgorithm: \"MD5\"",
    input: { ...options, checksumAlgorithm: "MD5" },
    tag: "InvalidConfig",
    field: "checksumAlgorithm",
    mentions: ["checksumAlgorithm", "\"SHA256\""]
  },
  {
    name: "serverSideEncryption: \"rsa\"",
    input: { ...options, serverSideEncryption: "rsa" },
    tag: "InvalidConfig",
    field: "serverSideEncryption",
    mentions: ["serverSideEncryption", "\"AES256\"", "\"aws:kms\""]
  },
  // Bucket names.
  ...([
    ["uppercase and underscore", "Not_A_Bucket"],
    ["too short", "ab"],
    ["too long", "a".repeat(64)],
    ["leading hyphen", "-bucket"],
    ["trailing dot", "bucket."],
    ["slash", "bucket/key"],
    ["empty", ""]
  ] as const).map(([name, bucket]): ConfigCase => ({
    name: `bucket ${name}: ${show(bucket)}`,
    input: { ...options, bucket },
    tag: "InvalidConfig",
    field: "bucket",
    mentions: ["bucket", "3 to 63 characters"]
  })),
  // Endpoints.
  {
    name: "http endpoint without allowHttp",
    input: { ...options, client: {} },
    tag: "InvalidConfig",
    field: "endpoint",
    mentions: ["endpoint", "allowHttp", s3.endpoint]
  },
  {
    name: "endpoint not a URL",
    input: { ...options, endpoint: "not a url" },
    tag: "InvalidConfig",
    field: "endpoint",
    mentions: ["endpoint", "not a URL"]
  },
  {
    name: "endpoint ftp://",
    input: { ...options, endpoint: "ftp://example.com" },
    tag: "InvalidConfig",
    field: "endpoint",
    mentions: ["endpoint", "http(s)"]
  },
  // Keys that go together.
  {
    name: "accessKeyId without secretAccessKey",
    input: { ...options, secretAccessKey: undefined },
    tag: "InvalidConfig",
    field: "secretAccessKey",
    mentions: ["secretAccessKey", "accessKeyId"]
  },
  {
    name: "secretAccessKey without accessKeyId",
    input: { ...options, accessKeyId: undefined },
    tag: "InvalidConfig",
    field: "accessKeyId",
    mentions: ["accessKeyId", "secretAccessKey"]
  },
  {
    // Dropping a token the caller gave, and signing with whatever the default chain finds, is never what was meant.
    name: "sessionToken without keys",
    input: { ...options, accessKeyId: undefined, secretAccessKey: undefined, sessionToken: "token" },
    tag: "InvalidConfig",
    field: "sessionToken",
    mentions: ["sessionToken", "accessKeyId"]
  },
  {
    name: "sseKmsKeyId without serverSideEncryption",
    input: { ...options, sseKmsKeyId: "key" },
    tag: "InvalidConfig",
    field: "sseKmsKeyId",
    mentions: ["sseKmsKeyId", "serverSideEncryption"]
  }
]

describe("S3Store input: bad configuration fails with InvalidConfig naming the field", () => {
  for (const c of configCases) {
    it.effect(c.name, () =>
      Effect.gen(function*() {
        const sent: Array<Sent> = []
        const error = yield* expectFailure(Effect.scoped(Layer.build(storeOver(sent, false, c.input))), c, c.name, sent)
        // The message says where the mistake is: which store, and that it is the configuration.
        assert.include(error.message, "S3Store")
      }))
  }

  it.effect("a bad prefix is InvalidPath when the store is built", () =>
    Effect.gen(function*() {
      for (const prefix of ["a//b", "a/../b", "a\u0000b"]) {
        const sent: Array<Sent> = []
        yield* expectFailure(
          Effect.scoped(Layer.build(storeOver(sent, false, { ...options, prefix }))),
          { tag: "InvalidPath" },
          `prefix ${show(prefix)}`,
          sent
        )
      }
    }))
})
