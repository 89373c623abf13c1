/**
 * Bad input never reaches the network: every case runs against `HTTPStore.layerWithHttpClient` over an `HttpClient`
 * that records each request it is asked to send (and refuses it). A case passes only when it fails with the expected
 * typed error (not a defect), its message names what is wrong, and the client saw no request at all. One control
 * case proves the counter sees what the store sends.
 */
import { HttpClient, HttpClientError } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer, Option, Stream } from "effect"
import * as HTTPStore from "effect-obstore/HTTPStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { isObjectStoreError } from "effect-obstore/ObjectStoreError"
import { randomUUID } from "node:crypto"
import { webdav } from "./support/servers.js"

const options: HTTPStore.HTTPOptions = {
  url: webdav.url,
  prefix: `http-input/${randomUUID()}`,
  client: { allowHttp: true },
  retry: { maxRetries: 0 }
}

type Services = ObjectStore.ObjectStore | HTTPStore.HTTPStore

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
  HTTPStore.layerWithHttpClient(input as HTTPStore.HTTPOptions).pipe(Layer.provide(countingClient(sent, forward)))

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

interface Case {
  readonly name: string
  readonly run: Effect.Effect<unknown, unknown, Services>
  readonly tag: string
  readonly mentions: ReadonlyArray<string>
}

const show = (s: string) => JSON.stringify(s).replace(/\u007f/g, "\\u007f")

const BAD_PATHS: ReadonlyArray<readonly [string, string]> = [
  ["", "may not be empty"],
  ["a//b", "empty segments"],
  ["a/../b", "\"..\" segments"],
  ["./x", "\".\" segments"],
  ["a\u0000b", "control characters"],
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
  ["copy from", (p) => ObjectStore.copy(p, OK)],
  ["copy to", (p) => ObjectStore.copy(OK, p)],
  ["rename from", (p) => ObjectStore.rename(p, OK)],
  ["rename to", (p) => ObjectStore.rename(OK, p)],
  ["list", (p) => Stream.runCollect(ObjectStore.list(p)), true],
  ["listWithDelimiter", (p) => ObjectStore.listWithDelimiter(p), true]
]

const cases: ReadonlyArray<Case> = [
  ...pathOperations.flatMap(([operation, run, isPrefix]) =>
    BAD_PATHS.filter(([path]) => !(isPrefix === true && path === "")).map(([path, why]): Case => ({
      name: `${operation} ${show(path)}`,
      run: run(path),
      tag: "InvalidPath",
      mentions: [why]
    }))
  ),
  {
    name: "get range inverted",
    run: ObjectStore.get(OK, { range: { start: 10, end: 5 } }),
    tag: "InvalidRange",
    mentions: ["greater than start"]
  },
  {
    name: "getRange negative start",
    run: ObjectStore.getRange(OK, { start: -1, end: 5 }),
    tag: "InvalidRange",
    mentions: ["start must be"]
  },
  {
    name: "get zero suffix",
    run: ObjectStore.get(OK, { range: { suffix: 0 } }),
    tag: "InvalidRange",
    mentions: ["suffix must be"]
  },
  // What WebDAV cannot do is refused before any request, never half done.
  {
    name: "put mode create",
    run: ObjectStore.put(OK, "x", { mode: "create" }),
    tag: "NotSupported",
    mentions: ["conditional PUT"]
  },
  {
    name: "put mode update",
    run: ObjectStore.put(OK, "x", { mode: { eTag: "\"e\"" } }),
    tag: "NotSupported",
    mentions: ["overwrite"]
  },
  {
    name: "put (stream) mode create",
    run: ObjectStore.put(OK, Stream.make(new Uint8Array(8)), { mode: "create" }),
    tag: "NotSupported",
    mentions: ["conditional PUT"]
  },
  {
    name: "put attributes",
    run: ObjectStore.put(OK, "x", { attributes: { contentType: "text/plain" } }),
    tag: "NotSupported",
    mentions: ["attributes"]
  },
  { name: "put tags", run: ObjectStore.put(OK, "x", { tags: { a: "b" } }), tag: "NotSupported", mentions: ["tags"] },
  { name: "get version", run: ObjectStore.get(OK, { version: "1" }), tag: "NotSupported", mentions: ["versions"] },
  {
    name: "put multipart concurrency 0",
    run: ObjectStore.put(OK, Stream.make(new Uint8Array(8)), { multipart: { concurrency: 0 } }),
    tag: "InvalidConfig",
    mentions: ["multipart.concurrency"]
  }
]

const expectFailure = (effect: Effect.Effect<unknown, unknown>, c: Case, sent: ReadonlyArray<Sent>) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(effect)
    assert.deepStrictEqual(sent, [], `${c.name}: bad input reached the network`)
    if (Exit.isSuccess(exit)) return assert.fail(`${c.name}: succeeded, expected ${c.tag}`)
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) return assert.fail(`${c.name}: a defect:\n${Cause.pretty(exit.cause)}`)
    const error = failure.value
    if (!isObjectStoreError(error)) return assert.fail(`${c.name}: not an ObjectStoreError: ${String(error)}`)
    assert.strictEqual(error._tag, c.tag, `${c.name}: ${error.message}`)
    for (const mention of c.mentions) assert.include(error.message, mention, c.name)
    assert.notMatch(error.message, CONTROL, `${c.name}: a raw control character in the message`)
    return error
  })

describe("HTTPStore input: bad operation input never reaches the network", () => {
  it.live("control: a valid request does reach the counting client", () =>
    Effect.gen(function*() {
      const sent: Array<Sent> = []
      const error = yield* Effect.flip(Effect.provide(ObjectStore.head(`input/${randomUUID()}`), storeOver(sent, true)))
      assert.strictEqual(error._tag, "NotFound", error.message)
      assert.deepStrictEqual(sent.map((r) => r.method), ["HEAD"])
    }))

  for (const c of cases) {
    it.effect(c.name, () =>
      Effect.gen(function*() {
        const sent: Array<Sent> = []
        yield* expectFailure(Effect.provide(c.run, storeOver(sent, false)), c, sent)
      }))
  }
})

describe("HTTPStore input: bad config is InvalidConfig before any request", () => {
  const configs: ReadonlyArray<readonly [string, unknown, string]> = [
    ["url missing", { client: { allowHttp: true } }, "url"],
    ["url not a URL", { url: "nope" }, "url"],
    ["url of another scheme", { url: "ftp://example.com/" }, "url"],
    ["url with credentials", { url: "https://user:secret@example.com/" }, "url"],
    ["url with a query", { url: "https://example.com/?a=b" }, "url"],
    ["http url without allowHttp", { url: webdav.url }, "url"],
    [
      "header with a control character",
      { url: webdav.url, headers: { authorization: "Bearer s3cr3t\r\nx: y" } },
      "headers"
    ],
    ["reserved header", { url: webdav.url, headers: { Destination: "x" } }, "headers"],
    ["header value not a string", { url: webdav.url, headers: { authorization: 42 } }, "headers"],
    ["unknown field", { url: webdav.url, endpoint: "x" }, "endpoint"],
    ["bad timeout", { url: webdav.url, client: { allowHttp: true, timeout: "soon" } }, "client.timeout"],
    ["bad prefix", { url: webdav.url, client: { allowHttp: true }, prefix: "a/../b" }, ""]
  ]
  for (const [name, input, field] of configs) {
    it.effect(name, () =>
      Effect.gen(function*() {
        const sent: Array<Sent> = []
        const exit = yield* Effect.exit(Effect.provide(ObjectStore.head(OK), storeOver(sent, false, input)))
        assert.deepStrictEqual(sent, [], `${name}: a request was sent`)
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        if (Option.isNone(failure)) return assert.fail(`${name}: expected a typed failure`)
        const error = failure.value as { _tag: string; field?: string; message: string }
        assert.include(["InvalidConfig", "InvalidPath"], error._tag, error.message)
        if (field !== "") assert.isTrue(error.field?.startsWith(field), `${name}: field ${error.field}`)
        assert.notInclude(error.message, "s3cr3t")
        assert.notInclude(error.message, "42")
      }))
  }
})
