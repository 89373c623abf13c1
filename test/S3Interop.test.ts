/**
 * S3Store and the official AWS SDK on the same RADOS Gateway bucket: what one writes, the other must read byte for
 * byte with the same size, ETag, attributes, metadata and tags. The SDK is the independent second client here; it
 * also checks that an interrupted or failed multipart put leaves nothing behind on the server.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand
} from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { assert, describe, layer } from "@effect/vitest"
import { Chunk, Data, Deferred, Duration, Effect, Either, Fiber, Schedule, Stream } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { gzipSync } from "node:zlib"
import { rgwSdk } from "./support/awsSdk.js"
import { rgwOptions, s3 } from "./support/servers.js"

const MiB = 1024 * 1024

const options: S3Store.S3Options = rgwOptions

const rgw = S3Store.layer(options)

const sdk = rgwSdk()

class SdkError extends Data.TaggedError("SdkError")<{ readonly what: string; readonly cause: unknown }> {
  override get message() {
    return `AWS SDK ${this.what} failed: ${String(this.cause)}`
  }
}

/** Runs an SDK call as an effect; the abort signal follows interruption. */
const aws = <A>(what: string, f: (signal: AbortSignal) => Promise<A>): Effect.Effect<A, SdkError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new SdkError({ what, cause }) })

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** `bytes` cut into chunks of `size` (the last shorter): chunk edges that do not line up with part edges. */
const chunksOf = (bytes: Uint8Array, size: number): ReadonlyArray<Uint8Array> => {
  const out: Array<Uint8Array> = []
  for (let at = 0; at < bytes.byteLength; at += size) {
    out.push(bytes.subarray(at, Math.min(at + size, bytes.byteLength)))
  }
  return out
}

const sdkGet = (key: string) =>
  aws(`GetObject ${key}`, async (abortSignal) => {
    const response = await sdk.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }), { abortSignal })
    const body = response.Body === undefined ? new Uint8Array(0) : await response.Body.transformToByteArray()
    return { response, body }
  })

const sdkHead = (key: string) =>
  aws(
    `HeadObject ${key}`,
    (abortSignal) => sdk.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key }), { abortSignal })
  )

/** Whether HeadObject answers 404 for `key` (any other failure fails the effect). */
const sdkMissing = (key: string): Effect.Effect<boolean, SdkError> =>
  Effect.flatMap(Effect.either(sdkHead(key)), (either) => {
    if (Either.isRight(either)) return Effect.succeed(false)
    const cause = either.left.cause as { readonly $metadata?: { readonly httpStatusCode?: number } }
    return cause.$metadata?.httpStatusCode === 404 ? Effect.succeed(true) : Effect.fail(either.left)
  })

/** The multipart uploads in progress under `prefix`, as the SDK sees them. */
const sdkUploads = (prefix: string) =>
  aws(`ListMultipartUploads ${prefix}`, async (abortSignal) => {
    const response = await sdk.send(
      new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: prefix }),
      { abortSignal }
    )
    return (response.Uploads ?? []).map((u) => ({ key: u.Key ?? "", uploadId: u.UploadId ?? "" }))
  })

/** How many parts the uploads in progress for `key` hold on the server. */
const sdkPartsOnServer = (key: string): Effect.Effect<number, SdkError> =>
  Effect.flatMap(sdkUploads(key), (uploads) =>
    Effect.map(
      Effect.forEach(uploads.filter((u) => u.key === key), (u) =>
        aws(`ListParts ${key}`, async (abortSignal) => {
          const response = await sdk.send(
            new ListPartsCommand({ Bucket: s3.bucket, Key: key, UploadId: u.uploadId }),
            { abortSignal }
          )
          return response.Parts?.length ?? 0
        })),
      (counts) => counts.reduce((a, b) => a + b, 0)
    ))

/** Polls `check` every 100 ms until it holds; fails after 30 s. */
const eventually = <E>(what: string, check: Effect.Effect<boolean, E>): Effect.Effect<void, E | Error> =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced(Duration.millis(100)), until: (ok) => ok }),
    Effect.asVoid,
    Effect.timeoutFail({ duration: Duration.seconds(30), onTimeout: () => new Error(`timed out waiting for ${what}`) })
  )

/** Deletes every object and aborts every upload under `dir`; a failed cleanup must not hide the test's result. */
const cleanup = (dir: string): Effect.Effect<void> =>
  Effect.gen(function*() {
    const uploads = yield* sdkUploads(`${dir}/`)
    yield* Effect.forEach(uploads, (u) =>
      aws("AbortMultipartUpload", (abortSignal) =>
        sdk.send(
          new AbortMultipartUploadCommand({ Bucket: s3.bucket, Key: u.key, UploadId: u.uploadId }),
          { abortSignal }
        )))
    const listed = yield* aws("ListObjectsV2", (abortSignal) =>
      sdk.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${dir}/` }), { abortSignal }))
    const keys = (listed.Contents ?? []).flatMap((o) =>
      o.Key === undefined ? [] : [{ Key: o.Key }]
    )
    if (keys.length > 0) {
      yield* aws("DeleteObjects", (abortSignal) =>
        sdk.send(new DeleteObjectsCommand({ Bucket: s3.bucket, Delete: { Objects: keys, Quiet: true } }), {
          abortSignal
        }))
    }
  }).pipe(Effect.ignore)

/** Runs `f` in a fresh key prefix of its own and removes everything under it afterwards. */
const inFreshDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const dir = `interop/${randomUUID()}`
    return Effect.ensuring(f(dir), cleanup(dir))
  })

/** Keys that need encoding in a request path, each in both directions. */
const awkwardNames: ReadonlyArray<string> = [
  "ünïcödé 日本語 🚀.txt",
  "with spaces  and   more.txt",
  "percent%20not-a-space%.txt",
  "plus+sign+a+b.txt",
  "hash#fragment#.txt",
  "all of them ü % + # ~ ! ' ( ) * = & ; , $ @.txt"
]

const attributes = {
  contentType: "application/x-obstore-test; charset=utf-8",
  contentDisposition: "attachment; filename=\"report.txt\"",
  contentEncoding: "gzip",
  contentLanguage: "de-CH",
  cacheControl: "max-age=3600, must-revalidate"
} as const

const metadata = { project: "effect-obstore", "multi-word": "a value with spaces", empty: "" } as const

class PayloadBroke extends Data.TaggedError("PayloadBroke")<{ readonly afterParts: number }> {}

layer(rgw, { excludeTestServices: true })("S3Store and the AWS SDK on one bucket", (it) => {
  describe("written by S3Store, read by the SDK", () => {
    it.effect("bytes, attributes and user metadata", () =>
      inFreshDir((dir) =>
        Effect.gen(function*() {
          const key = `${dir}/report.txt.gz`
          // Real gzip bytes: neither client may decompress what it reads.
          const body = gzipSync(Buffer.from("hello from effect-obstore\n".repeat(1000)))
          const put = yield* ObjectStore.put(key, new Uint8Array(body), {
            attributes: { ...attributes, metadata }
          })
          const { body: read, response } = yield* sdkGet(key)
          assert.strictEqual(read.byteLength, body.byteLength, "size")
          assert.strictEqual(sha256(read), sha256(body), "sha256")
          assert.strictEqual(response.ETag, put.eTag, "the ETag put returned is the one the SDK sees")
          assert.strictEqual(response.ContentType, attributes.contentType)
          assert.strictEqual(response.ContentDisposition, attributes.contentDisposition)
          assert.strictEqual(response.ContentEncoding, attributes.contentEncoding)
          assert.strictEqual(response.ContentLanguage, attributes.contentLanguage)
          assert.strictEqual(response.CacheControl, attributes.cacheControl)
          assert.deepStrictEqual(response.Metadata, { ...metadata })
          const head = yield* sdkHead(key)
          assert.strictEqual(head.ContentLength, body.byteLength, "HeadObject ContentLength")
          assert.strictEqual(head.ETag, put.eTag, "HeadObject ETag")
          assert.deepStrictEqual(head.Metadata, { ...metadata }, "HeadObject Metadata")
          assert.strictEqual(head.ContentType, attributes.contentType, "HeadObject ContentType")
        })
      ))

    it.effect(
      "a multipart stream put (> 8 MiB, 5 MiB parts, concurrency 2) with attributes",
      () =>
        inFreshDir((dir) =>
          Effect.gen(function*() {
            const key = `${dir}/big.bin`
            const data = new Uint8Array(randomBytes(12 * MiB + 12345))
            // Chunks of an odd size, so part edges fall inside chunks.
            const stream = Stream.fromIterable(chunksOf(data, MiB + 7))
            const put = yield* ObjectStore.put(key, stream, {
              multipart: { partSize: 5 * MiB, concurrency: 2 },
              attributes: { contentType: "application/octet-stream", cacheControl: "no-cache", metadata }
            })
            const head = yield* sdkHead(key)
            assert.strictEqual(head.ContentLength, data.byteLength, "HeadObject ContentLength")
            assert.match(head.ETag ?? "", /^"[0-9a-f]{32}-3"$/, "a multipart ETag of 3 parts")
            assert.strictEqual(put.eTag, head.ETag, "the ETag put returned is the one the SDK sees")
            assert.strictEqual(head.ContentType, "application/octet-stream")
            assert.strictEqual(head.CacheControl, "no-cache")
            assert.deepStrictEqual(head.Metadata, { ...metadata })
            const { body: read } = yield* sdkGet(key)
            assert.strictEqual(read.byteLength, data.byteLength, "size")
            assert.strictEqual(sha256(read), sha256(data), "sha256")
            assert.deepStrictEqual(yield* sdkUploads(`${dir}/`), [], "no upload left in progress")
          })
        ),
      120_000
    )

    it.effect("keys with unicode, spaces, %, +, #", () =>
      inFreshDir((dir) =>
        Effect.gen(function*() {
          for (const [i, name] of awkwardNames.entries()) {
            const key = `${dir}/sub dir ü+%#/${name}`
            const text = `object ${i}: ${name}`
            yield* ObjectStore.put(key, text, { attributes: { contentType: "text/plain" } })
            const { body } = yield* sdkGet(key)
            assert.strictEqual(new TextDecoder().decode(body), text, key)
          }
          const listed = yield* aws(
            "ListObjectsV2",
            (abortSignal) =>
              sdk.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${dir}/` }), { abortSignal })
          )
          assert.deepStrictEqual(
            (listed.Contents ?? []).map((o) => o.Key).sort(),
            awkwardNames.map((name) => `${dir}/sub dir ü+%#/${name}`).sort(),
            "the SDK lists exactly the keys S3Store wrote"
          )
        })
      ))

    it.effect("tags are visible through GetObjectTagging", () =>
      inFreshDir((dir) =>
        Effect.gen(function*() {
          const tags = { project: "effect-obstore", stage: "test", "with space": "a b+c=d&e/ü" }
          const readTags = (key: string) =>
            Effect.map(
              aws("GetObjectTagging", (abortSignal) =>
                sdk.send(new GetObjectTaggingCommand({ Bucket: s3.bucket, Key: key }), { abortSignal })),
              (response) =>
                Object.fromEntries((response.TagSet ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]))
            )
          const small = `${dir}/tagged.txt`
          yield* ObjectStore.put(small, "tagged", { tags })
          assert.deepStrictEqual(yield* readTags(small), tags, "single PutObject")
          // Not checked for multipart uploads: RGW 16 ignores x-amz-tagging on CreateMultipartUpload (the SDK's own
          // CreateMultipartUpload with Tagging ends with no tags there too).
        })
      ))
  })

  describe("written by the SDK, read by S3Store", () => {
    it.effect("PutObject with metadata and attributes: get, head, list, getRange", () =>
      inFreshDir((dir) =>
        Effect.gen(function*() {
          const key = `${dir}/from-sdk.bin`
          const data = new Uint8Array(randomBytes(300 * 1024 + 3))
          const written = yield* aws("PutObject", (abortSignal) =>
            sdk.send(
              new PutObjectCommand({
                Bucket: s3.bucket,
                Key: key,
                Body: data,
                ContentType: attributes.contentType,
                ContentDisposition: attributes.contentDisposition,
                ContentEncoding: attributes.contentEncoding,
                ContentLanguage: attributes.contentLanguage,
                CacheControl: attributes.cacheControl,
                Metadata: { ...metadata }
              }),
              { abortSignal }
            ))
          assert.isString(written.ETag)

          const result = yield* ObjectStore.get(key)
          const bytes = yield* result.bytes
          assert.strictEqual(sha256(bytes), sha256(data), "get: sha256")
          assert.strictEqual(result.meta.size, data.byteLength, "get: size")
          assert.strictEqual(result.meta.eTag, written.ETag, "get: ETag")
          assert.deepStrictEqual(result.range, { start: 0, end: data.byteLength })
          assert.strictEqual(result.attributes.contentType, attributes.contentType)
          assert.strictEqual(result.attributes.contentDisposition, attributes.contentDisposition)
          assert.strictEqual(result.attributes.contentEncoding, attributes.contentEncoding)
          assert.strictEqual(result.attributes.contentLanguage, attributes.contentLanguage)
          assert.strictEqual(result.attributes.cacheControl, attributes.cacheControl)
          assert.deepStrictEqual(result.attributes.metadata, { ...metadata })

          const head = yield* ObjectStore.head(key)
          assert.strictEqual(head.size, data.byteLength, "head: size")
          assert.strictEqual(head.eTag, written.ETag, "head: ETag")
          assert.strictEqual(head.path, key)

          const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(ObjectStore.list(dir)))
          assert.strictEqual(listed.length, 1, "list")
          assert.strictEqual(listed[0].path, key)
          assert.strictEqual(listed[0].size, data.byteLength, "list: size")
          assert.strictEqual(listed[0].eTag, written.ETag, "list: ETag")

          const range = yield* ObjectStore.getRange(key, { start: 1000, end: 200_000 })
          assert.strictEqual(sha256(range), sha256(data.subarray(1000, 200_000)), "getRange")
          const tail = yield* ObjectStore.getRange(key, { suffix: 17 })
          assert.deepStrictEqual(Array.from(tail), Array.from(data.subarray(data.byteLength - 17)), "suffix range")
        })
      ))

    it.effect("a lib-storage multipart Upload", () =>
      inFreshDir((dir) =>
        Effect.gen(function*() {
          const key = `${dir}/sdk-multipart.bin`
          const data = new Uint8Array(randomBytes(11 * MiB + 99))
          yield* aws("Upload", (abortSignal) => {
            const upload = new Upload({
              client: sdk,
              params: {
                Bucket: s3.bucket,
                Key: key,
                Body: data,
                ContentType: "application/x-parts",
                Metadata: { origin: "lib-storage" }
              },
              partSize: 5 * MiB,
              queueSize: 2,
              abortController: toController(abortSignal)
            })
            return upload.done()
          })
          const sdkView = yield* sdkHead(key)
          assert.match(sdkView.ETag ?? "", /-3"$/, "the SDK really uploaded 3 parts")

          const head = yield* ObjectStore.head(key)
          assert.strictEqual(head.size, data.byteLength, "head: size")
          assert.strictEqual(head.eTag, sdkView.ETag, "head: ETag")

          const result = yield* ObjectStore.get(key)
          assert.strictEqual(result.meta.eTag, sdkView.ETag, "get: ETag")
          assert.strictEqual(result.attributes.contentType, "application/x-parts")
          assert.deepStrictEqual(result.attributes.metadata, { origin: "lib-storage" })
          const hash = createHash("sha256")
          let read = 0
          yield* Stream.runForEach(result.stream, (chunk) =>
            Effect.sync(() => {
              hash.update(chunk)
              read += chunk.byteLength
            }))
          assert.strictEqual(read, data.byteLength, "get: bytes read")
          assert.strictEqual(hash.digest("hex"), sha256(data), "get: sha256")

          const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(ObjectStore.list(dir)))
          assert.deepStrictEqual(
            listed.map((m) => [m.path, m.size, m.eTag]),
            [[key, data.byteLength, sdkView.ETag]],
            "list"
          )

          // A range across the first part boundary.
          const across = yield* ObjectStore.getRange(key, { offset: 5 * MiB - 10, length: 20 })
          assert.deepStrictEqual(Array.from(across), Array.from(data.subarray(5 * MiB - 10, 5 * MiB + 10)))
        })
      ), 120_000)

    it.effect("keys with unicode, spaces, %, +, #", () =>
      inFreshDir((dir) =>
        Effect.gen(function*() {
          const keys = awkwardNames.map((name) => `${dir}/sdk ü+%#/${name}`)
          const eTags = new Map<string, string | undefined>()
          for (const [i, key] of keys.entries()) {
            const written = yield* aws(`PutObject ${key}`, (abortSignal) =>
              sdk.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: `sdk object ${i}` }), {
                abortSignal
              }))
            eTags.set(key, written.ETag)
          }
          for (const [i, key] of keys.entries()) {
            const result = yield* ObjectStore.get(key)
            assert.strictEqual(yield* result.text, `sdk object ${i}`, `get ${key}`)
            assert.strictEqual(result.meta.eTag, eTags.get(key), `get ETag ${key}`)
            assert.strictEqual((yield* ObjectStore.head(key)).eTag, eTags.get(key), `head ${key}`)
            const range = yield* ObjectStore.getRange(key, { offset: 4, length: 6 })
            assert.strictEqual(new TextDecoder().decode(range), "object", `getRange ${key}`)
          }
          const listed = Chunk.toReadonlyArray(yield* Stream.runCollect(ObjectStore.list(dir)))
          assert.deepStrictEqual(
            listed.map((m) => [m.path, m.eTag]),
            [...keys].sort().map((key) => [key, eTags.get(key)]),
            "list returns every key, decoded, in order"
          )
          const delimited = yield* ObjectStore.listWithDelimiter(dir)
          assert.deepStrictEqual(delimited.commonPrefixes, [`${dir}/sdk ü+%#`])
        })
      ))
  })

  describe("an unfinished multipart put leaves nothing behind", () => {
    it.effect("interrupted after the first parts are uploaded", () =>
      inFreshDir((dir) =>
        Effect.gen(function*() {
          const { listMultipartUploads } = yield* S3Store.S3Store
          const key = `${dir}/interrupted.bin`
          const part = new Uint8Array(5 * MiB).fill(7)
          // Three parts, then a payload that never ends: the put can only stop by interruption.
          const slow = Stream.concat(Stream.make(part, part, part), Stream.never)
          const fiber = yield* Effect.fork(
            ObjectStore.put(key, slow, { multipart: { partSize: 5 * MiB, concurrency: 2 } })
          )
          yield* eventually("two parts on the server", Effect.map(sdkPartsOnServer(key), (n) => n >= 2))
          assert.deepStrictEqual(
            (yield* listMultipartUploads(dir)).map((u) => u.key),
            [key],
            "listMultipartUploads sees the upload in progress"
          )
          const exit = yield* Fiber.interrupt(fiber)
          assert.strictEqual(exit._tag, "Failure", "the put did not finish")

          assert.deepStrictEqual(yield* sdkUploads(`${dir}/`), [], "SDK ListMultipartUploads: nothing in progress")
          assert.deepStrictEqual(yield* listMultipartUploads(dir), [], "listMultipartUploads: nothing in progress")
          assert.isTrue(yield* sdkMissing(key), "SDK HeadObject: no object")
          const head = yield* Effect.flip(ObjectStore.head(key))
          assert.strictEqual(head._tag, "NotFound", "S3Store head: no object")
        })
      ), 120_000)

    it.effect("a payload stream that fails after 2 parts", () =>
      inFreshDir((dir) =>
        Effect.gen(function*() {
          const { listMultipartUploads } = yield* S3Store.S3Store
          const key = `${dir}/broken.bin`
          const part = new Uint8Array(5 * MiB).fill(9)
          const sawParts = yield* Deferred.make<boolean>()
          // Two parts, then wait until both are on the server (so the abort has parts to remove), then fail.
          const broken: Stream.Stream<Uint8Array, PayloadBroke> = Stream.concat(
            Stream.make(part, part),
            Stream.unwrap(
              eventually("two parts on the server", Effect.map(sdkPartsOnServer(key), (n) => n >= 2)).pipe(
                Effect.match({ onFailure: () => false, onSuccess: () => true }),
                Effect.flatMap((saw) => Deferred.succeed(sawParts, saw)),
                Effect.as(Stream.fail(new PayloadBroke({ afterParts: 2 })))
              )
            )
          )
          const error = yield* Effect.flip(
            ObjectStore.put(key, broken, { multipart: { partSize: 5 * MiB, concurrency: 2 } })
          )
          assert.strictEqual(error._tag, "PayloadBroke", `the payload's own error comes through, got ${error._tag}`)
          assert.isTrue(yield* Deferred.await(sawParts), "both parts reached the server before the payload failed")

          assert.deepStrictEqual(yield* sdkUploads(`${dir}/`), [], "SDK ListMultipartUploads: nothing in progress")
          assert.deepStrictEqual(yield* listMultipartUploads(dir), [], "listMultipartUploads: nothing in progress")
          assert.isTrue(yield* sdkMissing(key), "SDK HeadObject: no object")
          const head = yield* Effect.flip(ObjectStore.head(key))
          assert.strictEqual(head._tag, "NotFound", "S3Store head: no object")
        })
      ), 120_000)
  })
})

/** An AbortController that aborts when `signal` does (lib-storage takes a controller, not a signal). */
const toController = (signal: AbortSignal): AbortController => {
  const controller = new AbortController()
  if (signal.aborted) controller.abort()
  else signal.addEventListener("abort", () => controller.abort(), { once: true })
  return controller
}
