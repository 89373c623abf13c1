/**
 * Copies too big for one CopyObject (over 5 GiB on S3) are made as multipart uploads of UploadPartCopy ranges, on
 * the RADOS Gateway. RGW copies big sources in one CopyObject, so S3's refusal is injected by the fault proxy; the
 * parts themselves are copied by RGW. The part math is tested on its own (10,000 parts at most).
 */
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Context, Effect, Layer, Schema, Stream } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { copyInParts, partRanges } from "../src/internal/s3/copyParts.js"
import { clientFor } from "../src/internal/s3/crossCopy.js"
import { FaultProxy } from "./support/faultProxy.js"
import type { RequestInfo } from "./support/faultProxy.js"
import { rgwOptions, s3 } from "./support/servers.js"

const MiB = 1024 * 1024
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const isCopyObject = (r: RequestInfo) =>
  r.method === "PUT" && r.headers["x-amz-copy-source"] !== undefined && !r.query.has("partNumber")
const isPartCopy = (r: RequestInfo) =>
  r.method === "PUT" && r.headers["x-amz-copy-source"] !== undefined && r.query.has("partNumber")
const tooBig = {
  kind: "reply",
  status: 400,
  code: "InvalidRequest",
  message: "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120"
} as const

const setup = Effect.gen(function*() {
  const proxy = yield* FaultProxy.scoped(s3.endpoint)
  const context = yield* Layer.build(S3Store.layer({ ...rgwOptions, endpoint: proxy.endpoint })).pipe(Effect.orDie)
  const direct = yield* S3Store.make(rgwOptions).pipe(Effect.orDie)
  const dir = `copy-parts/${randomUUID()}`
  yield* Effect.addFinalizer(() =>
    Stream.runCollect(direct.list(dir)).pipe(
      Effect.flatMap((metas) => direct.delete(Chunk.toReadonlyArray(metas).map((m) => m.path))),
      Effect.ignore
    )
  )
  const uploads = Effect.flatMap(
    Effect.orDie(Effect.map(Layer.build(S3Store.layer(rgwOptions)), Context.get(S3Store.S3Store))),
    (service) => Effect.orDie(service.listMultipartUploads(dir))
  )
  // The internal client behind the proxy, for calling `copyInParts` with small parts.
  const config = yield* Schema.decodeUnknown(S3Store.S3Config)({ ...rgwOptions, endpoint: proxy.endpoint }).pipe(
    Effect.orDie
  )
  const client = yield* clientFor(config)
  return { proxy, store: Context.get(context, ObjectStore.ObjectStore), direct, dir, uploads, client }
})

describe("S3Store copies in parts", () => {
  it("part ranges cover the object exactly, in at most 10,000 parts", () => {
    assert.deepStrictEqual(partRanges(12, 5), [[0, 4], [5, 9], [10, 11]])
    assert.deepStrictEqual(partRanges(10, 5), [[0, 4], [5, 9]])
    const huge = 5 * 1024 ** 4 // S3's largest object, 5 TiB
    const ranges = partRanges(huge, 512 * MiB)
    assert.isAtMost(ranges.length, 10_000)
    assert.strictEqual(ranges[0][0], 0)
    assert.strictEqual(ranges.at(-1)![1], huge - 1)
    assert.isTrue(ranges.every((r, i) => i === 0 || r[0] === ranges[i - 1][1] + 1), "contiguous")
  })

  it.live("a source S3 calls too big for CopyObject is copied in parts, with its attributes", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store, uploads } = yield* setup
      const data = new Uint8Array(randomBytes(6 * MiB + 17))
      yield* direct.put(`${dir}/src.bin`, data, {
        attributes: { contentType: "application/x-test", metadata: { owner: "copy-parts" } }
      })
      proxy.addRule({ match: isCopyObject, fault: tooBig })
      yield* store.copy(`${dir}/src.bin`, `${dir}/dst.bin`)
      const copied = yield* direct.get(`${dir}/dst.bin`)
      assert.strictEqual(sha(yield* copied.bytes), sha(data))
      assert.strictEqual(copied.attributes.contentType, "application/x-test")
      assert.deepStrictEqual(copied.attributes.metadata, { owner: "copy-parts" })
      assert.strictEqual(proxy.seen.filter(isPartCopy).length, 1, "one UploadPartCopy of the whole range")
      assert.strictEqual((yield* uploads).length, 0, "no upload left behind")
    }).pipe(Effect.scoped))

  it.live("several parts, each pinned to the source's ETag; overwrite false is AlreadyExists", () =>
    Effect.gen(function*() {
      const { client, direct, dir, proxy, uploads } = yield* setup
      const data = new Uint8Array(randomBytes(12 * MiB + 5))
      yield* direct.put(`${dir}/src.bin`, data)
      const eTag = (yield* direct.head(`${dir}/src.bin`)).eTag
      yield* copyInParts(client, `${dir}/src.bin`, `${dir}/dst.bin`, true, 5 * MiB)
      assert.strictEqual(sha(yield* Effect.flatMap(direct.get(`${dir}/dst.bin`), (r) => r.bytes)), sha(data))
      const parts = proxy.seen.filter(isPartCopy)
      // Parts go out concurrently: their order on the wire is not fixed.
      assert.deepStrictEqual(parts.map((r) => String(r.headers["x-amz-copy-source-range"])).sort(), [
        `bytes=0-${5 * MiB - 1}`,
        `bytes=${10 * MiB}-${12 * MiB + 4}`,
        `bytes=${5 * MiB}-${10 * MiB - 1}`
      ])
      assert.isTrue(parts.every((r) => r.headers["x-amz-copy-source-if-match"] === eTag), "pinned to the ETag")
      const exists = yield* Effect.flip(copyInParts(client, `${dir}/src.bin`, `${dir}/dst.bin`, false, 5 * MiB))
      assert.strictEqual(exists._tag, "AlreadyExists")
      assert.strictEqual(exists.method, "copy")
      assert.strictEqual((yield* uploads).length, 0, "the refused upload was aborted")
    }).pipe(Effect.scoped))

  it.live("a missing source is NotFound, a part that fails aborts the upload", () =>
    Effect.gen(function*() {
      const { client, direct, dir, proxy, uploads } = yield* setup
      const missing = yield* Effect.flip(copyInParts(client, `${dir}/nope.bin`, `${dir}/dst.bin`, true, 5 * MiB))
      assert.strictEqual(missing._tag, "NotFound")
      yield* direct.put(`${dir}/src.bin`, new Uint8Array(randomBytes(11 * MiB)))
      proxy.addRule({ match: isPartCopy, fault: { kind: "reply", status: 403, code: "AccessDenied", message: "no" } })
      const denied = yield* Effect.flip(copyInParts(client, `${dir}/src.bin`, `${dir}/dst.bin`, true, 5 * MiB))
      assert.strictEqual(denied._tag, "PermissionDenied")
      assert.strictEqual((yield* uploads).length, 0, "no upload left behind")
      assert.strictEqual(yield* Effect.map(Effect.either(direct.head(`${dir}/dst.bin`)), (e) => e._tag), "Left")
    }).pipe(Effect.scoped))
})

describe("S3Store multipart puts with conditions (RGW 16 ignores them on CompleteMultipartUpload)", () => {
  const parts = { partSize: 5 * MiB, concurrency: 2 }
  const big = (seed: number) => Stream.succeed(new Uint8Array(11 * MiB).fill(seed))

  it.live("create over an existing object is AlreadyExists, the object and the bucket untouched", () =>
    Effect.gen(function*() {
      const { direct, dir, uploads } = yield* setup
      yield* direct.put(`${dir}/x.bin`, "first")
      const refused = yield* Effect.flip(direct.put(`${dir}/x.bin`, big(1), { mode: "create", multipart: parts }))
      assert.strictEqual(refused._tag, "AlreadyExists")
      assert.strictEqual(yield* Effect.flatMap(direct.get(`${dir}/x.bin`), (r) => r.text), "first")
      assert.strictEqual((yield* uploads).length, 0, "the upload was aborted")
      yield* direct.put(`${dir}/new.bin`, big(2), { mode: "create", multipart: parts })
      assert.strictEqual((yield* direct.head(`${dir}/new.bin`)).size, 11 * MiB)
    }).pipe(Effect.scoped))

  it.live("an update with a stale ETag, or of a missing object, is PreconditionFailed; the right ETag wins", () =>
    Effect.gen(function*() {
      const { direct, dir, uploads } = yield* setup
      const first = yield* direct.put(`${dir}/x.bin`, "first")
      yield* direct.put(`${dir}/x.bin`, "second")
      const stale = yield* Effect.flip(
        direct.put(`${dir}/x.bin`, big(3), { mode: { eTag: first.eTag! }, multipart: parts })
      )
      assert.strictEqual(stale._tag, "PreconditionFailed")
      assert.strictEqual(yield* Effect.flatMap(direct.get(`${dir}/x.bin`), (r) => r.text), "second")
      const missing = yield* Effect.flip(
        direct.put(`${dir}/none.bin`, big(4), { mode: { eTag: first.eTag! }, multipart: parts })
      )
      assert.strictEqual(missing._tag, "PreconditionFailed")
      const current = (yield* direct.head(`${dir}/x.bin`)).eTag!
      yield* direct.put(`${dir}/x.bin`, big(5), { mode: { eTag: current }, multipart: parts })
      assert.strictEqual((yield* direct.head(`${dir}/x.bin`)).size, 11 * MiB)
      assert.strictEqual((yield* uploads).length, 0, "no upload left behind")
    }).pipe(Effect.scoped))
})
