/**
 * Bad input to GCSStore never reaches the network: paths, ranges, sign durations, chunk sizes and put modes are
 * refused with typed errors before any request (a loopback server counts what arrives), and bad configuration is
 * InvalidConfig naming the field.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import type { Scope } from "effect"
import * as GCSStore from "effect-obstore/GCSStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as Signer from "effect-obstore/Signer"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** A server that counts requests and answers every one with an empty 500. */
const counting: Effect.Effect<{ endpoint: string; count: () => number }, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ server: http.Server; requests: { n: number } }>((resume) => {
    const requests = { n: 0 }
    const server = http.createServer((req, res) => {
      requests.n++
      req.resume()
      res.writeHead(500).end()
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, requests })))
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map(({ requests, server }) => ({
  endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  count: () => requests.n
})))

type Case = readonly [
  name: string,
  run: Effect.Effect<unknown, { readonly _tag: string }, ObjectStore.ObjectStore | Signer.Signer>,
  tag: string
]

const OK = "ok.txt"
const GiB = 1024 * 1024 * 1024

const cases: ReadonlyArray<Case> = [
  ...["a//b", "../x", "a/./b", "a\u0000b", "a\nb", "x/.."].flatMap((bad): ReadonlyArray<Case> => [
    [`get ${JSON.stringify(bad)}`, ObjectStore.get(bad), "InvalidPath"],
    [`head ${JSON.stringify(bad)}`, ObjectStore.head(bad), "InvalidPath"],
    [`put ${JSON.stringify(bad)}`, ObjectStore.put(bad, "x"), "InvalidPath"],
    [`delete ${JSON.stringify(bad)}`, ObjectStore.delete(bad), "InvalidPath"],
    [`copy to ${JSON.stringify(bad)}`, ObjectStore.copy(OK, bad), "InvalidPath"],
    [`list ${JSON.stringify(bad)}`, Stream.runDrain(ObjectStore.list(bad)), "InvalidPath"],
    [`sign ${JSON.stringify(bad)}`, Signer.sign("GET", bad, "1 hour"), "InvalidPath"]
  ]),
  ["range end before start", ObjectStore.getRange(OK, { start: 10, end: 5 }), "InvalidRange"],
  ["negative range", ObjectStore.get(OK, { range: { offset: -1 } }), "InvalidRange"],
  ["suffix 0", ObjectStore.get(OK, { range: { suffix: 0 } }), "InvalidRange"],
  ["sign for 8 days", Signer.sign("GET", OK, "8 days"), "InvalidConfig"],
  ["sign for 1.5 s", Signer.sign("GET", OK, 1500), "InvalidConfig"],
  ["sign for not a duration", Signer.sign("GET", OK, "soon" as never), "InvalidConfig"],
  [
    "chunk size not a multiple of 256 KiB",
    ObjectStore.put(OK, Stream.make(new Uint8Array(1)), { multipart: { partSize: 1_000_000 } }),
    "InvalidConfig"
  ],
  ["chunk size below 256 KiB", ObjectStore.put(OK, "x", { multipart: { partSize: 1024 } }), "InvalidConfig"],
  ["chunk size above 5 GiB", ObjectStore.put(OK, "x", { multipart: { partSize: 6 * GiB } }), "InvalidConfig"],
  ["update with nothing to compare", ObjectStore.put(OK, "x", { mode: {} }), "InvalidConfig"],
  ["put with tags", ObjectStore.put(OK, "x", { tags: { a: "b" } }), "NotSupported"]
]

const storeAt = (endpoint: string, emulator = false) =>
  GCSStore.layer({ bucket: "bkt", endpoint, client: { allowHttp: true }, emulator, skipSignature: true })

describe("GCSStore input: bad operation input never reaches the network", () => {
  it.scopedLive("control: a valid request does reach the counting server", () =>
    Effect.gen(function*() {
      const server = yield* counting
      const error = yield* Effect.flip(
        ObjectStore.head(OK).pipe(
          Effect.provide(GCSStore.layer({
            bucket: "bkt",
            endpoint: server.endpoint,
            client: { allowHttp: true },
            skipSignature: true,
            retry: { maxRetries: 0 }
          }))
        )
      )
      assert.strictEqual(error._tag, "StoreError")
      assert.strictEqual(server.count(), 1)
    }))

  for (const [name, run, tag] of cases) {
    it.scopedLive(name, () =>
      Effect.gen(function*() {
        const server = yield* counting
        const error = yield* Effect.flip(Effect.provide(run, storeAt(server.endpoint)))
        assert.strictEqual(error._tag, tag)
        assert.strictEqual(server.count(), 0, "no request was sent")
      }))
  }

  it.scopedLive("on the emulator, conditional writes and copies without overwrite are NotSupported before any request", () =>
    Effect.gen(function*() {
      const server = yield* counting
      const layer = storeAt(server.endpoint, true)
      for (
        const run of [
          ObjectStore.put(OK, "x", { mode: "create" }) as Effect.Effect<
            unknown,
            { readonly _tag: string },
            ObjectStore.ObjectStore
          >,
          ObjectStore.put(OK, "x", { mode: { eTag: "\"e\"" } }),
          ObjectStore.put(OK, "x", { mode: { version: "1" } }),
          ObjectStore.copy(OK, "other", { overwrite: false }),
          ObjectStore.rename(OK, "other", { overwrite: false })
        ]
      ) {
        assert.strictEqual((yield* Effect.flip(Effect.provide(run, layer)))._tag, "NotSupported")
      }
      assert.strictEqual(server.count(), 0)
    }))
})

describe("GCSStore input: bad configuration fails with InvalidConfig naming the field", () => {
  const base = { bucket: "bkt", skipSignature: true }
  const configs: ReadonlyArray<readonly [unknown, string]> = [
    [{ ...base, bucket: "ab" }, "bucket"],
    [{ ...base, bucket: "UPPER" }, "bucket"],
    [{ ...base, bucket: 42 }, "bucket"],
    [{ ...base, endpoint: "ftp://x" }, "endpoint"],
    [{ ...base, endpoint: "http://127.0.0.1:1" }, "endpoint"],
    [{ ...base, metadataEndpoint: "nope" }, "metadataEndpoint"],
    [{ ...base, emulator: "yes" }, "emulator"],
    [{ ...base, retry: { base: 0.5 } }, "retry.base"],
    [{ ...base, client: { timeout: -1 } }, "client.timeout"],
    [{ ...base, region: "us" }, "region"],
    [{ bucket: "bkt", serviceAccountKey: "{\"type\":\"service_account\"}" }, "serviceAccountKey"],
    [{ bucket: "bkt", serviceAccountKey: "{\"type\":\"external_account\"}" }, "serviceAccountKey"],
    [{ bucket: "bkt", applicationCredentials: "/nonexistent/adc.json" }, "applicationCredentials"],
    [{ bucket: "bkt", serviceAccount: "/a", applicationCredentials: "/b" }, "applicationCredentials"]
  ]
  for (const [input, field] of configs) {
    it.effect(`${JSON.stringify(input)} names ${field}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Effect.scoped(GCSStore.make(input as GCSStore.GCSOptions)))
        assert.strictEqual(error._tag, "InvalidConfig")
        if (error._tag === "InvalidConfig") assert.strictEqual(error.field, field, error.message)
      }))
  }

  it.effect("a bad prefix is InvalidPath when the store is built", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Layer.build(GCSStore.layer({ ...base, prefix: "a//b" })))
      assert.strictEqual(error._tag, "InvalidPath")
    }).pipe(Effect.scoped))
})
