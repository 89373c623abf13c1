// A copy on the server of an object too big for one CopyObject (over 5 GiB): a multipart upload whose parts are
// UploadPartCopy ranges of the source (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html),
// every part pinned to the source's ETag so the copy cannot mix two versions. The source is a key of the same bucket
// (`S3Store.copy`) or of another bucket of the same endpoint (a transfer, `crossCopy.ts`). A multipart upload does not
// copy what CopyObject does, so the source's attributes (a HEAD) and tags (GetObjectTagging) are set on the upload.
import * as Effect from "effect/Effect"
import type { Attributes } from "../../ObjectStore.js"
import type { CopyError } from "../../ObjectStoreError.js"
import { PreconditionFailed, StoreError, withContext } from "../../ObjectStoreError.js"
import { boundedText } from "../cloud/body.js"
import * as Errors from "../cloud/errors.js"
import type { Context, HttpFailure } from "../cloud/failure.js"
import { mapFailure } from "../cloud/failure.js"
import * as Get from "../cloud/get.js"
import type { Retryable } from "../http/retry.js"
import type { S3 } from "./client.js"
import { errorDialect, errorIn200, malformed, STORE } from "./client.js"
import { upload } from "./multipart.js"
import { copySourceOf, getObjectTagging } from "./object.js"
import { putHeaders, tagAgain } from "./put.js"
import * as Xml from "./xml.js"

const MiB = 1024 * 1024
/** The most parts one upload may have. */
const MAX_PARTS = 10_000
/** Parts of a big copy: few requests, and far under S3's 5 GiB limit per part. */
export const COPY_PART_SIZE = 512 * MiB
const COPY_CONCURRENCY = 8
/** An answer to UploadPartCopy is a short XML document. */
const ANSWER_LIMIT = 64 * 1024

/** Whether a failed CopyObject says the source is too big for one copy (S3's answer above 5 GiB). */
export const isTooBig = (failure: HttpFailure): boolean =>
  failure.status === 400 && failure.code === "InvalidRequest" &&
  /copy source is larger than the maximum allowable size/i.test(failure.message ?? "")

/** The byte ranges (`start`, inclusive `end`) of the parts of an object of `size` bytes. */
export const partRanges = (size: number, partSize: number): ReadonlyArray<readonly [number, number]> => {
  const each = Math.max(partSize, Math.ceil(size / MAX_PARTS))
  const ranges: Array<readonly [number, number]> = []
  for (let start = 0; start < size; start += each) ranges.push([start, Math.min(size, start + each) - 1])
  return ranges
}

/** The object a copy reads: a key of the bucket `s3` sends to (the destination's own, or one of its endpoint). */
export interface Source {
  readonly s3: S3
  readonly key: string
}

/** `x-amz-copy-source`: the source's bucket and key, whatever the style of the URLs the client sends to. */
export const copySource = (source: Source): string => copySourceOf(source.s3, source.key)

/** What a copy in parts carries from its source. */
interface Read {
  readonly size: number
  /** What every part is pinned to. */
  readonly eTag: string
  readonly lastModified: Date
  readonly attributes: Attributes
  readonly tags: ReadonlyArray<readonly [string, string]>
}

const headSource = (source: Source, ctx: Context) => {
  const store = (e: { readonly message: string }) => Effect.fail(new StoreError({ ...ctx, description: e.message }))
  return Get.get(source.s3.client.getClient, source.key, { head: true }).pipe(
    Effect.catchTags({ NotModified: store, PreconditionFailed: store, InvalidRange: store, InvalidConfig: store })
  )
}

/** The source's size, ETag, attributes (a HEAD) and tags (GetObjectTagging), read at once. */
const readSource = (source: Source, ctx: Context): Effect.Effect<Read, CopyError> =>
  Effect.flatMap(
    Effect.all([headSource(source, ctx), getObjectTagging(source.s3, source.key)], { concurrency: 2 }),
    ([{ attributes, meta }, tags]) =>
      meta.eTag === undefined
        ? Effect.fail(malformed(ctx, "the source has no ETag to pin the copy to"))
        : Effect.succeed({ size: meta.size, eTag: meta.eTag, lastModified: meta.lastModified, attributes, tags })
  )

const changed = (ctx: Context, cause?: HttpFailure) =>
  new PreconditionFailed({ ...ctx, description: "the source changed while it was copied", cause })

/**
 * The source read again before the copy is completed. S3 fails a part copied from another version (412, see
 * `uploadPartCopy`), but Ceph RGW 16 ignores `x-amz-copy-source-if-match` on UploadPartCopy: there, a source
 * written during the copy is seen here (a new ETag or time); only one rewritten to the same bytes in the same second
 * is not.
 */
const unchanged = (source: Source, read: Read, ctx: Context) =>
  Effect.flatMap(
    Get.head(source.s3.client.getClient, source.key),
    (meta) =>
      meta.eTag === read.eTag && meta.lastModified.getTime() === read.lastModified.getTime()
        ? Effect.void
        : Effect.fail(changed(ctx))
  )

const uploadPartCopy = (
  s3: S3,
  source: Source & { readonly eTag: string },
  to: string,
  uploadId: string,
  range: readonly [number, number],
  number: number
) => {
  const ctx = { store: STORE, method: "copy", path: source.key }
  return mapFailure(
    s3.client.execute(
      {
        method: "PUT",
        path: s3.client.pathOf(to),
        query: [["partNumber", String(number)], ["uploadId", uploadId]],
        headers: {
          "x-amz-copy-source": copySource(source),
          "x-amz-copy-source-range": `bytes=${range[0]}-${range[1]}`,
          "x-amz-copy-source-if-match": source.eTag
        },
        idempotent: true
      },
      ctx,
      (response) =>
        Effect.flatMap(
          boundedText(ctx, "the UploadPartCopy answer", response.body, response.headers, ANSWER_LIMIT),
          (text): Effect.Effect<string, StoreError | Retryable> => {
            const error = Xml.error(text)
            if (error !== undefined) return Effect.fail(errorIn200(ctx, error, true))
            const eTag = Xml.text(Xml.child(Xml.parse(text), "CopyPartResult"), "ETag")
            return eTag === undefined
              ? Effect.fail(malformed(ctx, `part ${number} was copied without an ETag`))
              : Effect.succeed(eTag)
          }
        )
    ),
    (failure) =>
      failure.status === 412
        ? changed(ctx, failure)
        : Errors.toError(errorDialect, ctx, failure)
  )
}

/** A PreconditionFailed that is not the caller's to handle (no If-Match of theirs was sent), as a StoreError. */
const asStoreError = <A, E>(effect: Effect.Effect<A, E | PreconditionFailed>) =>
  Effect.catchIf(
    effect,
    (e): e is PreconditionFailed => e instanceof PreconditionFailed,
    (e) => Effect.fail(new StoreError({ ...e, description: e.description }))
  ) as Effect.Effect<A, Exclude<E, PreconditionFailed> | StoreError>

/**
 * Copies `source` to `to` of the bucket of `s3` in parts of `partSize` (fewer, bigger parts when 10,000 would not
 * cover the object), with the source's attributes and tags. A source that changes during the copy fails it with
 * PreconditionFailed. Any failure or interruption before the upload completes aborts it: the destination is then
 * untouched. The tags are set again after it (servers such as RGW drop them from the upload); if that fails, the copy
 * fails but stays in place without its tags, as a multipart put does.
 */
export const copyPartsFrom = (
  s3: S3,
  source: Source,
  to: string,
  overwrite: boolean,
  partSize: number = COPY_PART_SIZE
): Effect.Effect<void, CopyError | PreconditionFailed> =>
  Effect.gen(function*() {
    const ctx = { store: STORE, method: "copy", path: source.key }
    const read = yield* readSource(source, ctx)
    const mode = overwrite ? "overwrite" : "create"
    const options = { attributes: read.attributes, tags: Object.fromEntries(read.tags), mode } as const
    const headers = yield* asStoreError(putHeaders(s3, options, { ...ctx, path: to }))
    const cloud = upload(s3, to, headers, mode)
    const parts = (started: Effect.Effect.Success<typeof cloud.start>) =>
      Effect.forEach(
        partRanges(read.size, partSize),
        (range, i) => uploadPartCopy(s3, { ...source, eTag: read.eTag }, to, started.uploadId, range, i + 1),
        { concurrency: COPY_CONCURRENCY }
      )
    const complete = (started: Effect.Effect.Success<typeof cloud.start>, eTags: ReadonlyArray<string>) =>
      Effect.zipRight(unchanged(source, read, ctx), asStoreError(cloud.complete(started, eTags)))
    // Started uninterruptibly and aborted on any other exit: an interruption cannot leave an upload unknown.
    yield* Effect.acquireUseRelease(
      cloud.start,
      (started) => Effect.flatMap(parts(started), (eTags) => complete(started, eTags)),
      (started, exit) => exit._tag === "Success" ? Effect.void : cloud.abort(started)
    )
    yield* tagAgain(s3, to, read.tags)
  }).pipe(Effect.mapError((error) => withContext(error, { method: "copy" })))

/**
 * `S3Store.copy` of an object too big for one CopyObject, within the store's bucket. A copy has no
 * PreconditionFailed: a source that changes during it is a StoreError here.
 */
export const copyInParts = (
  s3: S3,
  from: string,
  to: string,
  overwrite: boolean,
  partSize: number = COPY_PART_SIZE
): Effect.Effect<void, CopyError> => asStoreError(copyPartsFrom(s3, { s3, key: from }, to, overwrite, partSize))
