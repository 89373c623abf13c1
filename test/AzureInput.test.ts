/**
 * Bad input never reaches the network: every case runs against `AzureStore.layerWithHttpClient` over an `HttpClient`
 * that records each request it is asked to send (and refuses it). A case passes only when it fails with the expected
 * typed error (not a defect), its message names what is wrong, and no request was sent. A control case proves the
 * counter sees what the store sends.
 */
import { HttpClient, HttpClientError } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer, Option, Stream } from "effect"
import * as AzureStore from "effect-obstore/AzureStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { isObjectStoreError } from "effect-obstore/ObjectStoreError"
import * as Signer from "effect-obstore/Signer"
import { beforeAll } from "vitest"
import { CONTAINER, ensureContainer, options as base } from "./fixtures/azure/azurite.js"

beforeAll(() => ensureContainer())

const options: AzureStore.AzureOptions = { ...base, retry: { maxRetries: 0 } }
type Services = ObjectStore.ObjectStore | Signer.Signer | AzureStore.AzureStore

interface Sent {
  readonly method: string
  readonly url: string
}

const countingClient = (sent: Array<Sent>, forward: boolean) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (real) =>
      HttpClient.make((request) =>
        Effect.suspend(() => {
          sent.push({ method: request.method, url: request.url })
          return forward
            ? real.execute(request)
            : Effect.fail(
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
  AzureStore.layerWithHttpClient(input as AzureStore.AzureOptions).pipe(Layer.provide(countingClient(sent, forward)))

interface Expected {
  readonly tag: string
  readonly field?: string | undefined
  readonly mentions?: ReadonlyArray<string> | undefined
}

const show = (s: string) => JSON.stringify(s).replace(/\u007f/g, "\\u007f")

const expectFailure = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  expected: Expected,
  what: string,
  sent: ReadonlyArray<Sent>
) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    assert.deepStrictEqual(sent, [], `${what}: bad input reached the network`)
    if (Exit.isSuccess(exit)) return assert.fail(`${what}: succeeded, expected ${expected.tag}`)
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) return assert.fail(`${what}: a defect or interruption:\n${Cause.pretty(exit.cause)}`)
    const error = failure.value
    if (!isObjectStoreError(error)) return assert.fail(`${what}: not an ObjectStoreError: ${String(error)}`)
    assert.strictEqual(error._tag, expected.tag, `${what}: ${error.message}`)
    if (expected.field !== undefined) {
      assert.strictEqual(error._tag === "InvalidConfig" ? error.field : undefined, expected.field, error.message)
    }
    for (const mention of expected.mentions ?? []) assert.include(error.message, mention, what)
    return error
  })

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
  readonly [string, (path: string) => Effect.Effect<unknown, unknown, Services>, boolean?]
> = [
  ["get", (p) => ObjectStore.get(p)],
  ["head", (p) => ObjectStore.head(p)],
  ["put", (p) => ObjectStore.put(p, "data")],
  ["put (stream)", (p) => ObjectStore.put(p, Stream.make(new Uint8Array(8)))],
  ["delete", (p) => ObjectStore.delete(p)],
  ["delete (many)", (p) => ObjectStore.delete([OK, p])],
  ["getRange", (p) => ObjectStore.getRange(p, { start: 0, end: 1 })],
  ["copy from", (p) => ObjectStore.copy(p, OK)],
  ["copy to", (p) => ObjectStore.copy(OK, p)],
  ["rename to", (p) => ObjectStore.rename(OK, p)],
  ["list", (p) => Stream.runCollect(ObjectStore.list(p)), true],
  ["listWithDelimiter", (p) => ObjectStore.listWithDelimiter(p), true],
  ["sign", (p) => Signer.sign("GET", p, "1 minute")],
  ["sign (many)", (p) => Signer.sign("PUT", [OK, p], "1 minute")]
]

const pathCases: ReadonlyArray<OperationCase> = pathOperations.flatMap(([operation, run, isPrefix]) =>
  BAD_PATHS.filter(([path]) => !(isPrefix === true && path === "")).map(([path, why]): OperationCase => ({
    name: `${operation} ${show(path)}`,
    run: run(path),
    tag: "InvalidPath",
    mentions: [why]
  }))
)

const rangeCase = (name: string, range: ObjectStore.ByteRange, why: string): ReadonlyArray<OperationCase> => [
  { name: `get range ${name}`, run: ObjectStore.get(OK, { range }), tag: "InvalidRange", mentions: [why] },
  { name: `getRange ${name}`, run: ObjectStore.getRange(OK, range), tag: "InvalidRange", mentions: [why] }
]

const rangeCases: ReadonlyArray<OperationCase> = [
  ...rangeCase("negative start", { start: -1, end: 5 }, "start must be a non-negative integer"),
  ...rangeCase("inverted", { start: 10, end: 5 }, "must be greater than start"),
  ...rangeCase("zero-length", { start: 5, end: 5 }, "must be greater than start"),
  ...rangeCase("NaN start", { start: Number.NaN, end: 5 }, "got NaN"),
  ...rangeCase("negative offset", { offset: -1, length: 2 }, "offset must be a non-negative integer"),
  ...rangeCase("zero length", { offset: 3, length: 0 }, "length must be a positive integer"),
  ...rangeCase("zero suffix", { suffix: 0 }, "suffix must be a positive integer"),
  ...rangeCase("negative suffix", { suffix: -4 }, "suffix must be a positive integer")
]

const expiresCases: ReadonlyArray<OperationCase> = (
  [
    ["366 days", "366 days"],
    ["Infinity", Duration.infinity],
    ["0", 0],
    ["500 millis", "500 millis"],
    ["-60000 ms", -60_000],
    ["NaN", Number.NaN],
    ["\"soon\"", "soon"]
  ] as const
).map(([name, expiresIn]): OperationCase => ({
  name: `sign expiresIn ${name}`,
  run: Effect.suspend(() => Signer.sign("GET", OK, expiresIn as Duration.DurationInput)),
  tag: "InvalidConfig",
  field: "expiresIn",
  mentions: ["expiresIn"]
}))

const multipartCases: ReadonlyArray<OperationCase> = ([
  ["partSize 0", { partSize: 0 }, "partSize"],
  ["partSize -1", { partSize: -1 }, "partSize"],
  ["partSize NaN", { partSize: Number.NaN }, "partSize"],
  ["partSize over 4000 MiB", { partSize: 4001 * 1024 * 1024 }, "partSize"],
  ["concurrency 0", { concurrency: 0 }, "concurrency"],
  ["concurrency 1.5", { concurrency: 1.5 }, "concurrency"]
] as const).map(([name, multipart, field]): OperationCase => ({
  name: `put (stream) multipart ${name}`,
  run: ObjectStore.put(OK, Stream.make(new Uint8Array(10)), { multipart }),
  tag: "InvalidConfig",
  mentions: [`multipart.${field}`]
}))

const putModeCases: ReadonlyArray<OperationCase> = [
  { name: "put update by version", run: ObjectStore.put(OK, "x", { mode: { version: "v1" } }), tag: "NotSupported" },
  {
    name: "put update without an ETag",
    run: ObjectStore.put(OK, "x", { mode: {} }),
    tag: "InvalidConfig",
    field: "mode"
  }
]

describe("AzureStore input: bad operation input never reaches the network", () => {
  it.live("control: a valid request does reach the counting client", () =>
    Effect.gen(function*() {
      const sent: Array<Sent> = []
      const key = `input/${crypto.randomUUID()}`
      const error = yield* Effect.provide(Effect.flip(ObjectStore.head(key)), storeOver(sent, true))
      assert.strictEqual(error._tag, "NotFound", error.message)
      assert.deepStrictEqual(sent.map((r) => `${r.method} ${new URL(r.url).pathname}`), [
        `HEAD /devstoreaccount1/${CONTAINER}/${key}`
      ])
    }))

  for (const c of [...pathCases, ...rangeCases, ...expiresCases, ...multipartCases, ...putModeCases]) {
    it.effect(c.name, () =>
      Effect.gen(function*() {
        const sent: Array<Sent> = []
        yield* expectFailure(Effect.provide(c.run, storeOver(sent, false)), c, c.name, sent)
      }))
  }
})

const configCases: ReadonlyArray<readonly [string, unknown, string]> = [
  ["container with capitals", { ...options, container: "Box" }, "container"],
  ["container too short", { ...options, container: "ab" }, "container"],
  ["container with --", { ...options, container: "a--b" }, "container"],
  ["no container", { ...options, container: undefined }, "container"],
  ["account with capitals", { ...options, account: "Acct" }, "account"],
  ["no account", { ...options, account: undefined, endpoint: undefined }, "account"],
  ["endpoint not a URL", { ...options, endpoint: "nowhere" }, "endpoint"],
  ["endpoint ftp", { ...options, endpoint: "ftp://x" }, "endpoint"],
  ["http endpoint without allowHttp", { ...options, client: {} }, "endpoint"],
  ["accessKey not base64", { ...options, accessKey: "abc!" }, "accessKey"],
  ["accessKey a number", { ...options, accessKey: 5 }, "accessKey"],
  ["sasToken without sig", { ...options, sasToken: "sv=2020-01-01&sp=r" }, "sasToken"],
  ["clientSecret alone", { ...options, clientSecret: "s" }, "clientId"],
  ["clientSecret without tenant", { ...options, clientSecret: "s", clientId: "c" }, "tenantId"],
  ["federatedTokenFile without tenant", { ...options, federatedTokenFile: "/x", clientId: "c" }, "tenantId"],
  ["authorityHost not a URL", { ...options, authorityHost: "login" }, "authorityHost"],
  ["msiEndpoint not a URL", { ...options, msiEndpoint: "imds" }, "msiEndpoint"],
  ["useEmulator not a boolean", { ...options, useEmulator: "yes" }, "useEmulator"],
  ["client.timeout", { ...options, client: { allowHttp: true, timeout: "soon" } }, "client.timeout"],
  ["retry.maxRetries", { ...options, retry: { maxRetries: -1 } }, "retry.maxRetries"],
  ["unknown key", { ...options, containerName: "typo" }, "containerName"]
]

describe("AzureStore input: bad configuration fails with InvalidConfig naming the field", () => {
  for (const [name, input, field] of configCases) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const sent: Array<Sent> = []
        yield* expectFailure(
          Effect.provide(ObjectStore.head(OK), storeOver(sent, false, input)),
          { tag: "InvalidConfig", field },
          name,
          sent
        )
      }))
  }

  it.effect("a bad prefix is InvalidPath when the store is built", () =>
    Effect.gen(function*() {
      const sent: Array<Sent> = []
      yield* expectFailure(
        Effect.provide(ObjectStore.head(OK), storeOver(sent, false, { ...options, prefix: "a/../b" })),
        { tag: "InvalidPath" },
        "prefix",
        sent
      )
    }))
})
