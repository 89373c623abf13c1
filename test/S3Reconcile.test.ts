/**
 * Writes whose answer did not say what happened, reconciled without hurting anyone else (issue 9, points 13 and 14):
 * S3Store against the RADOS Gateway through the fault proxy, next to another writer that talks to RGW directly
 * (the AWS SDK, so that its uploads are not ours in any way the store could see).
 */
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Context, Effect, Layer, Stream } from "effect"
import type { Scope } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { rgwSdk } from "./support/awsSdk.js"
import { FaultProxy } from "./support/faultProxy.js"
import type { RequestInfo } from "./support/faultProxy.js"
import { s3 } from "./support/servers.js"

const MiB = 1024 * 1024
const base = {
  bucket: s3.bucket,
  region: s3.region,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
  conditionalPut: "etag-unquoted"
} as const

const isCreateUpload = (r: RequestInfo) => r.method === "POST" && r.query.has("uploads")
const isPutOf = (key: string) => (r: RequestInfo) => r.method === "PUT" && r.path.endsWith(`/${key}`)

/** A proxy, the store through it, the S3Store service, a direct store and a directory cleaned up at the end. */
const setup = Effect.gen(function*() {
  const proxy = yield* FaultProxy.scoped(s3.endpoint)
  const context = yield* Layer.build(S3Store.layer({
    ...base,
    endpoint: proxy.endpoint,
    client: { allowHttp: true, timeout: "2 seconds" },
    retry: { maxRetries: 3, initBackoff: "5 millis", maxBackoff: "20 millis" }
  })).pipe(Effect.orDie)
  const direct = yield* S3Store.make({ ...base, endpoint: s3.endpoint, client: { allowHttp: true } }).pipe(Effect.orDie)
  const dir = `reconcile/${randomUUID()}`
  yield* Effect.addFinalizer(() =>
    Stream.runCollect(direct.list(dir)).pipe(
      Effect.flatMap((metas) => direct.delete(Chunk.toReadonlyArray(metas).map((m) => m.path))),
      Effect.ignore
    )
  )
  return {
    proxy,
    store: Context.get(context, ObjectStore.ObjectStore),
    service: Context.get(context, S3Store.S3Store),
    direct,
    dir
  }
})

/** Another writer's multipart upload of `key`, started now and aborted with the scope. */
const othersUpload = (key: string): Effect.Effect<string, never, Scope.Scope> => {
  const client = rgwSdk()
  return Effect.acquireRelease(
    Effect.promise(() => client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: key }))).pipe(
      Effect.map((created) => created.UploadId ?? "")
    ),
    (uploadId) =>
      Effect.promise(() =>
        client.send(new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined)
          .finally(() => client.destroy())
      )
  )
}

const chunked = (data: Uint8Array) =>
  Stream.fromIterable(
    Array.from({ length: Math.ceil(data.byteLength / MiB) }, (_, i) => data.subarray(i * MiB, (i + 1) * MiB))
  )
const MULTIPART = { partSize: 5 * MiB, concurrency: 2 } as const
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

describe("S3Store reconciles a lost CreateMultipartUpload answer without aborting other writers' uploads", () => {
  it.live("one lost answer: the put succeeds, our stray is aborted, another writer's upload of the key stays", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, service, store } = yield* setup
      const key = `${dir}/shared`
      const theirs = yield* othersUpload(key)
      // Started well before our create (more than the precision of an upload's Initiated time).
      yield* Effect.sleep("2500 millis")
      proxy.addRule({ match: isCreateUpload, fault: "resetAfterForward" })
      const data = new Uint8Array(randomBytes(11 * MiB))
      yield* store.put(key, chunked(data), { multipart: MULTIPART })
      assert.strictEqual(proxy.counts().resetAfterForward, 1)
      assert.strictEqual(sha256(yield* Effect.flatMap(direct.get(key), (r) => r.bytes)), sha256(data))
      const left = yield* service.listMultipartUploads(dir)
      assert.deepStrictEqual(left.map((u) => u.uploadId), [theirs], "only the other writer's upload is left")
    }).pipe(Effect.scoped))

  it.live("every answer lost: the put fails, its strays are aborted, another writer's upload of the key stays", () =>
    Effect.gen(function*() {
      const { dir, proxy, service, store } = yield* setup
      const key = `${dir}/shared-lost`
      const theirs = yield* othersUpload(key)
      yield* Effect.sleep("2500 millis")
      proxy.addRule({ match: isCreateUpload, fault: "corruptXml", times: Infinity })
      const exit = yield* Effect.exit(store.put(key, chunked(new Uint8Array(11 * MiB)), { multipart: MULTIPART }))
      assert.strictEqual(exit._tag, "Failure")
      assert.isAtLeast(proxy.counts().corruptXml, 2)
      const left = yield* service.listMultipartUploads(dir)
      assert.deepStrictEqual(left.map((u) => u.uploadId), [theirs], "only the other writer's upload is left")
    }).pipe(Effect.scoped))
})

// These fail today: the request engine (src/internal/cloud/request.ts) retries a 5xx of a request that is not safe to
// repeat, so the second attempt meets the first one's effect. See the report (/tmp/notes/soak.md, point 13).
describe("S3Store reconciles a conditional put whose 5xx came after it took effect", () => {
  it.live("a create answered 503 after RGW created the object succeeds: the object is ours", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup
      const key = `${dir}/create-503`
      proxy.addRule({ match: isPutOf(key), fault: { kind: "status503", forward: true } })
      const result = yield* store.put(key, "ours", { mode: "create" })
      assert.strictEqual(proxy.counts().status503, 1)
      assert.strictEqual(yield* Effect.flatMap(direct.get(key), (r) => r.text), "ours")
      assert.strictEqual(result.eTag, (yield* direct.head(key)).eTag)
    }).pipe(Effect.scoped))

  it.live("an update answered 500 after RGW replaced the object succeeds: the object is ours", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup
      const key = `${dir}/update-500`
      const { eTag } = yield* direct.put(key, "before")
      proxy.addRule({ match: isPutOf(key), fault: { kind: "status500", forward: true } })
      const result = yield* store.put(key, "after", { mode: { eTag } })
      assert.strictEqual(proxy.counts().status500, 1)
      assert.strictEqual(yield* Effect.flatMap(direct.get(key), (r) => r.text), "after")
      assert.strictEqual(result.eTag, (yield* direct.head(key)).eTag)
    }).pipe(Effect.scoped))

  it.live("a create answered 503 before it reached RGW is sent again and succeeds", () =>
    Effect.gen(function*() {
      const { dir, direct, proxy, store } = yield* setup
      const key = `${dir}/create-503-not-applied`
      proxy.addRule({ match: isPutOf(key), fault: "status503" })
      yield* store.put(key, "ours", { mode: "create" })
      assert.strictEqual(yield* Effect.flatMap(direct.get(key), (r) => r.text), "ours")
    }).pipe(Effect.scoped))
})
