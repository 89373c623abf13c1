/**
 * What an upload sends to S3 (RADOS Gateway), counted request by request through the transport: an explicit
 * `multipart` option is honoured for payloads in memory, an upload is create + parts + complete and nothing more,
 * and a payload that cannot be read sends nothing.
 */
import { HttpClient } from "@effect/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import type { InvalidConfig, InvalidPath } from "effect-obstore/ObjectStoreError"
import * as S3Store from "effect-obstore/S3Store"
import { createHash, randomUUID } from "node:crypto"
import { rgwOptions } from "./support/servers.js"

const MiB = 1024 * 1024

/** One request as the transport saw it: the method and the names of its query parameters (`uploads`, ...). */
interface Sent {
  readonly method: string
  readonly query: string
}

/** S3Store over an HttpClient that records every request it forwards to the server. */
const recorded = (sent: Array<Sent>) =>
  S3Store.layerWithHttpClient(rgwOptions).pipe(
    Layer.provide(
      Layer.effect(
        HttpClient.HttpClient,
        Effect.map(HttpClient.HttpClient, (real) =>
          HttpClient.make((request) =>
            Effect.suspend(() => {
              const url = new URL(request.url)
              const names = [...url.searchParams.keys(), ...request.urlParams.map(([k]) => k)]
              sent.push({ method: request.method, query: names.sort().join("&") })
              return real.execute(request)
            })
          ))
      ).pipe(Layer.provide(NodeHttpClient.layerUndici))
    )
  )

/** The requests, one word each: create, part, complete, abort, put, head, ... */
const kinds = (sent: ReadonlyArray<Sent>): Array<string> =>
  sent.map(({ method, query }) =>
    method === "POST" && query === "uploads"
      ? "create"
      : method === "PUT" && query === "partNumber&uploadId"
      ? "part"
      : method === "POST" && query === "uploadId"
      ? "complete"
      : method === "DELETE" && query === "uploadId"
      ? "abort"
      : method === "PUT" && query === ""
      ? "put"
      : `${method.toLowerCase()}${query === "" ? "" : `?${query}`}`
  )

const bytesOf = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size)
  for (let i = 0; i < size; i += 997) out[i] = (i * seed) & 0xff
  return out
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

/** Runs `f` with a fresh key and a fresh request log, then deletes the key. */
const withKey = <A, E>(
  f: (key: string, sent: Array<Sent>) => Effect.Effect<A, E, ObjectStore.ObjectStore>
): Effect.Effect<A, E | InvalidConfig | InvalidPath> => {
  const sent: Array<Sent> = []
  const key = `s3-uploads/${randomUUID()}.bin`
  return f(key, sent).pipe(
    Effect.ensuring(Effect.ignore(ObjectStore.delete(key))),
    Effect.provide(recorded(sent))
  )
}

describe("S3Store uploads (RADOS Gateway)", () => {
  it.live(
    "an in-memory payload with a multipart option is stored as parts: create, 4 parts, complete",
    () =>
      withKey((key, sent) =>
        Effect.gen(function*() {
          const body = bytesOf(16 * MiB, 7)
          const result = yield* ObjectStore.put(key, body, { multipart: { partSize: 5 * MiB, concurrency: 2 } })
          assert.deepStrictEqual(kinds(sent), ["create", "part", "part", "part", "part", "complete"])
          assert.match(result.eTag ?? "", /-4"?$/, "the ETag of a 4-part upload")
          const head = yield* ObjectStore.head(key)
          assert.strictEqual(result.eTag, head.eTag, "the ETag put returns is the object's")
          const stored = yield* Effect.flatMap(ObjectStore.get(key), (r) => r.bytes)
          assert.strictEqual(sha256(stored), sha256(body))
        })
      ),
    60_000
  )

  it.live(
    "a streamed upload is create + parts + complete, with no HEAD after it",
    () =>
      withKey((key, sent) =>
        Effect.gen(function*() {
          const chunks = Array.from({ length: 11 }, (_, i) => bytesOf(MiB, i + 1))
          const result = yield* ObjectStore.put(key, Stream.fromIterable(chunks), {
            multipart: { partSize: 5 * MiB, concurrency: 4 }
          })
          assert.deepStrictEqual(kinds(sent), ["create", "part", "part", "part", "complete"])
          assert.match(result.eTag ?? "", /-3"?$/)
          assert.strictEqual(result.eTag, (yield* ObjectStore.head(key)).eTag)
        })
      ),
    60_000
  )

  it.live(
    "an in-memory payload without the option, or of one part, is one PutObject",
    () =>
      withKey((key, sent) =>
        Effect.gen(function*() {
          const plain = yield* ObjectStore.put(key, bytesOf(6 * MiB, 3))
          assert.notInclude(plain.eTag ?? "", "-", "a single PutObject has a plain MD5 ETag")
          yield* ObjectStore.put(key, bytesOf(4 * MiB, 5), { multipart: { partSize: 5 * MiB } })
          assert.deepStrictEqual(kinds(sent), ["put", "put"])
        })
      ),
    60_000
  )

  it.live(
    "a payload already read fails with PayloadError before any request",
    () =>
      withKey((key, sent) =>
        Effect.gen(function*() {
          async function* source(): AsyncGenerator<Uint8Array> {
            yield bytesOf(1024, 1)
          }
          const payload = source()
          yield* ObjectStore.put(key, payload)
          assert.deepStrictEqual(kinds(sent), ["put"])
          sent.length = 0
          const again = yield* Effect.flip(ObjectStore.put(key, payload))
          assert.strictEqual(again._tag, "PayloadError")
          assert.deepStrictEqual(kinds(sent), [], "no request was sent")
          assert.strictEqual((yield* ObjectStore.head(key)).size, 1024, "the object is untouched")
        })
      ),
    60_000
  )

  it.live(
    "a payload that fails after a part aborts the upload and stores nothing",
    () =>
      withKey((key, sent) =>
        Effect.gen(function*() {
          async function* source(): AsyncGenerator<Uint8Array> {
            for (let i = 0; i < 12; i++) yield bytesOf(MiB, i + 1)
            throw new Error("the source broke")
          }
          const error = yield* Effect.flip(ObjectStore.put(key, source(), { multipart: { partSize: 5 * MiB } }))
          assert.strictEqual(error._tag, "PayloadError")
          const seen = kinds(sent)
          assert.strictEqual(seen[0], "create")
          assert.strictEqual(seen.at(-1), "abort", "the upload is aborted")
          assert.notInclude(seen, "complete")
          const head = yield* Effect.flip(ObjectStore.head(key))
          assert.strictEqual(head._tag, "NotFound")
        })
      ),
    60_000
  )
})
