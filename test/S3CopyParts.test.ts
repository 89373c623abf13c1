/**
 * Copies too big for one CopyObject (over 5 GiB on S3) are made as multipart uploads of UploadPartCopy ranges, on
 * the RADOS Gateway. RGW copies big sources in one CopyObject, so S3's refusal is injected by the fault proxy; the
 * parts themselves are copied by RGW. The part math is tested on its own (10,000 parts at most).
 */
import { CreateBucketCommand, GetObjectTaggingCommand } from "@aws-sdk/client-s3"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Context, Effect, Layer, Schema, Stream } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { transferWith } from "../src/internal/io/transfer.js"
import { copyInParts, partRanges } from "../src/internal/s3/copyParts.js"
import { clientFor } from "../src/internal/s3/crossCopy.js"
import { rgwSdk } from "./support/awsSdk.js"
import { FaultProxy } from "./support/faultProxy.js"
import type { RequestInfo } from "./support/faultProxy.js"
import { rgwOptions, s3 } from "./support/servers.js"

const MiB = 1024 * 1024
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const isCopyObject = (r: RequestInfo) =>
  r.method === "PUT" && r.headers["x-amz-copy-source"] !== undefined && !r.query.has("partNumber")
const isPartCopy = (r: RequestInfo) =>
  r.method === "PUT" && r.headers["x-amz-copy-source"] !== undefined && r.query.has("partNumber")
const sdk = rgwSdk()
/** The tags of an object, read by the AWS SDK (an independent client). */
const tagsOf = (bucket: string, key: string) =>
  Effect.promise(() => sdk.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).pipe(
    Effect.map((r) => Object.fromEntries((r.TagSet ?? []).map((t) => [t.Key, t.Value])))
  )
const TAGS = { team: "copy parts", "a/b": "x=y&z" }
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

  it.live("a source S3 calls too big for CopyObject is copied in parts, with its attributes and tags", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, store, uploads } = yield* setup
      const data = new Uint8Array(randomBytes(6 * MiB + 17))
      yield* direct.put(`${dir}/src.bin`, data, {
        attributes: { contentType: "application/x-test", metadata: { owner: "copy-parts" } },
        tags: TAGS
      })
      proxy.addRule({ match: isCopyObject, fault: tooBig })
      yield* store.copy(`${dir}/src.bin`, `${dir}/dst.bin`)
      const copied = yield* direct.get(`${dir}/dst.bin`)
      assert.strictEqual(sha(yield* copied.bytes), sha(data))
      assert.strictEqual(copied.attributes.contentType, "application/x-test")
      assert.deepStrictEqual(copied.attributes.metadata, { owner: "copy-parts" })
      assert.deepStrictEqual(yield* tagsOf(s3.bucket, `${dir}/dst.bin`), TAGS)
      const create = proxy.seen.find((r) => r.method === "POST" && r.query.has("uploads"))
      const sent = new URLSearchParams(String(create?.headers["x-amz-tagging"]))
      assert.deepStrictEqual(Object.fromEntries(sent), TAGS, "tags on the create, in the query form")
      assert.strictEqual(proxy.seen.filter(isPartCopy).length, 1, "one UploadPartCopy of the whole range")
      assert.strictEqual((yield* uploads).length, 0, "no upload left behind")
    }).pipe(Effect.scoped))

  it.live("a source changed during a copy in parts fails it with StoreError and leaves nothing", () =>
    Effect.gen(function*() {
      const { client, direct, dir, proxy, uploads } = yield* setup
      yield* direct.put(`${dir}/src.bin`, new Uint8Array(randomBytes(11 * MiB)))
      const changed = new Uint8Array(randomBytes(11 * MiB))
      proxy.addRule({
        match: isPartCopy,
        fault: "none",
        before: () => Effect.runPromise(Effect.asVoid(direct.put(`${dir}/src.bin`, changed)))
      })
      const failed = yield* Effect.flip(copyInParts(client, `${dir}/src.bin`, `${dir}/dst.bin`, true, 5 * MiB))
      assert.strictEqual(failed._tag, "StoreError")
      assert.include(failed.message, "the source changed while it was copied")
      assert.strictEqual((yield* uploads).length, 0, "the upload was aborted")
      assert.strictEqual(yield* Effect.map(Effect.either(direct.head(`${dir}/dst.bin`)), (e) => e._tag), "Left")
    }).pipe(Effect.scoped))

  it.live("a GetObjectTagging answer that is not a tag set fails the copy before any upload starts", () =>
    Effect.gen(function*() {
      const { client, direct, dir, proxy, uploads } = yield* setup
      yield* direct.put(`${dir}/src.bin`, new Uint8Array(randomBytes(6 * MiB)), { tags: TAGS })
      proxy.addRule({ match: (r) => r.method === "GET" && r.query.has("tagging"), fault: "corruptXml" })
      const failed = yield* Effect.flip(copyInParts(client, `${dir}/src.bin`, `${dir}/dst.bin`, true, 5 * MiB))
      assert.strictEqual(failed._tag, "StoreError")
      assert.include(failed.message, "not a tag set")
      assert.isFalse(proxy.seen.some((r) => r.method === "POST" && r.query.has("uploads")), "no upload started")
      assert.strictEqual((yield* uploads).length, 0)
      assert.strictEqual(yield* Effect.map(Effect.either(direct.head(`${dir}/dst.bin`)), (e) => e._tag), "Left")
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

const OTHER_BUCKET = "copy-parts-other"
/** Copies in parts from this size on in the cross-bucket tests, in parts of this size (S3's: 5 GiB, 512 MiB). */
const LOWERED = { maxCopySize: 5 * MiB, partSize: 5 * MiB }

/** Two S3Store services behind the proxy: the test bucket (source) and another bucket of the endpoint. */
const crossSetup = Effect.gen(function*() {
  const base = yield* setup
  yield* Effect.promise(() =>
    sdk.send(new CreateBucketCommand({ Bucket: OTHER_BUCKET })).catch((e: { name?: string }) => {
      if (e.name !== "BucketAlreadyOwnedByYou" && e.name !== "BucketAlreadyExists") throw e
    })
  )
  const service = (options: S3Store.S3Options) =>
    Effect.orDie(Effect.map(Layer.build(S3Store.layer(options)), Context.get(S3Store.S3Store)))
  const source = yield* service({ ...rgwOptions, endpoint: base.proxy.endpoint, prefix: base.dir })
  const target = yield* service({ ...rgwOptions, endpoint: base.proxy.endpoint, bucket: OTHER_BUCKET })
  yield* Effect.addFinalizer(() =>
    Stream.runCollect(target.store.list(base.dir)).pipe(
      Effect.flatMap((metas) => target.store.delete(Chunk.toReadonlyArray(metas).map((m) => m.path))),
      Effect.ignore
    )
  )
  const targetUploads = Effect.orDie(target.listMultipartUploads(base.dir))
  return { ...base, source, target, targetUploads }
})

describe("Transfer between buckets copies in parts above the CopyObject limit", () => {
  it.live("bytes, attributes and tags carried; every part names the source bucket and is pinned to its ETag", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, source, target, targetUploads } = yield* crossSetup
      const data = new Uint8Array(randomBytes(12 * MiB + 5))
      yield* direct.put(`${dir}/a/big.bin`, data, {
        attributes: { contentType: "application/x-big", metadata: { owner: "cross" } },
        tags: TAGS
      })
      const eTag = (yield* direct.head(`${dir}/a/big.bin`)).eTag
      const summary = yield* transferWith(
        { store: source, path: "a" },
        { store: target, path: `${dir}/b` },
        { recursive: true },
        LOWERED
      )
      assert.strictEqual(summary.copied, 1, "copied on the server")
      assert.strictEqual(summary.transferred, 0, "not streamed through the client")
      assert.strictEqual(summary.bytes, data.byteLength)
      assert.strictEqual(proxy.seen.filter(isCopyObject).length, 0, "no CopyObject above the limit")
      const parts = proxy.seen.filter(isPartCopy)
      assert.strictEqual(parts.length, 3)
      assert.isTrue(parts.every((r) => r.headers["x-amz-copy-source"] === `/${s3.bucket}/${dir}/a/big.bin`))
      assert.isTrue(parts.every((r) => r.headers["x-amz-copy-source-if-match"] === eTag), "pinned to the ETag")
      assert.isTrue(parts.every((r) => r.path.startsWith(`/${OTHER_BUCKET}/`)), "written to the other bucket")
      const copied = yield* target.store.get(`${dir}/b/big.bin`)
      assert.strictEqual(sha(yield* copied.bytes), sha(data))
      assert.strictEqual(copied.attributes.contentType, "application/x-big")
      assert.deepStrictEqual(copied.attributes.metadata, { owner: "cross" })
      assert.deepStrictEqual(yield* tagsOf(OTHER_BUCKET, `${dir}/b/big.bin`), TAGS)
      assert.strictEqual((yield* targetUploads).length, 0, "no upload left behind")
    }).pipe(Effect.scoped))

  it.live("a CopyObject S3 calls too big falls back to parts; objects under the limit still take one CopyObject", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, source, target, targetUploads } = yield* crossSetup
      const data = [new Uint8Array(randomBytes(2 * MiB)), new Uint8Array(randomBytes(3 * MiB))]
      yield* direct.put(`${dir}/a/one.bin`, data[0], { tags: TAGS })
      yield* direct.put(`${dir}/a/two.bin`, data[1])
      proxy.addRule({ match: (r) => isCopyObject(r) && r.path.endsWith("/one.bin"), fault: tooBig })
      const summary = yield* transferWith(
        { store: source, path: "a" },
        { store: target, path: `${dir}/b` },
        { recursive: true },
        LOWERED
      )
      assert.strictEqual(summary.copied, 2)
      assert.strictEqual(proxy.seen.filter(isCopyObject).length, 2, "both tried with CopyObject first")
      assert.deepStrictEqual(proxy.seen.filter(isPartCopy).map((r) => r.path), [`/${OTHER_BUCKET}/${dir}/b/one.bin`])
      for (const [i, name] of ["one.bin", "two.bin"].entries()) {
        const bytes = yield* Effect.flatMap(target.store.get(`${dir}/b/${name}`), (r) => r.bytes)
        assert.strictEqual(sha(bytes), sha(data[i]), name)
      }
      assert.deepStrictEqual(yield* tagsOf(OTHER_BUCKET, `${dir}/b/one.bin`), TAGS)
      assert.strictEqual((yield* targetUploads).length, 0, "no upload left behind")
    }).pipe(Effect.scoped))

  it.live("a source changed mid-copy fails with PreconditionFailed; no object, no upload left", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, source, target, targetUploads } = yield* crossSetup
      yield* direct.put(`${dir}/a/big.bin`, new Uint8Array(randomBytes(11 * MiB)))
      const changed = new Uint8Array(randomBytes(11 * MiB))
      proxy.addRule({
        match: isPartCopy,
        fault: "none",
        before: () => Effect.runPromise(Effect.asVoid(direct.put(`${dir}/a/big.bin`, changed)))
      })
      const failed = yield* Effect.flip(
        transferWith({ store: source, path: "a/big.bin" }, { store: target, path: `${dir}/b/big.bin` }, {}, LOWERED)
      )
      assert.strictEqual(failed._tag, "PreconditionFailed")
      assert.include(failed.message, "the source changed while it was copied")
      assert.strictEqual((yield* targetUploads).length, 0, "the upload was aborted")
      const left = yield* Effect.either(target.store.head(`${dir}/b/big.bin`))
      assert.strictEqual(left._tag === "Left" ? left.left._tag : "Right", "NotFound")
    }).pipe(Effect.scoped))

  it.live("a part refused (403, or S3's 412 for a source that changed) aborts the upload, nothing visible", () =>
    Effect.gen(function*() {
      const { direct, dir, proxy, source, target, targetUploads } = yield* crossSetup
      yield* direct.put(`${dir}/a/big.bin`, new Uint8Array(randomBytes(11 * MiB)))
      const refused = [
        { status: 403, code: "AccessDenied", expected: "PermissionDenied" },
        { status: 412, code: "PreconditionFailed", expected: "PreconditionFailed" }
      ] as const
      for (const { code, expected, status } of refused) {
        proxy.addRule({ match: isPartCopy, fault: { kind: "reply", status, code, message: "no" } })
        const failed = yield* Effect.flip(
          transferWith({ store: source, path: "a/big.bin" }, { store: target, path: `${dir}/b/big.bin` }, {}, LOWERED)
        )
        assert.strictEqual(failed._tag, expected)
        assert.strictEqual((yield* targetUploads).length, 0, "the upload was aborted")
        const left = yield* Effect.either(target.store.head(`${dir}/b/big.bin`))
        assert.strictEqual(left._tag === "Left" ? left.left._tag : "Right", "NotFound")
      }
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
