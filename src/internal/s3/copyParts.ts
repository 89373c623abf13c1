// A copy on the server of an object too big for one CopyObject (over 5 GiB): a multipart upload whose parts are
// UploadPartCopy ranges of the source (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html),
// every part pinned to the source's ETag so the copy cannot mix two versions. A multipart upload does not copy the
// source's attributes as CopyObject does, so they are read with a HEAD and set on the upload; tags are not carried.
import * as Effect from "effect/Effect"
import type { CopyError } from "../../ObjectStoreError.js"
import { StoreError, withContext } from "../../ObjectStoreError.js"
import { boundedText } from "../cloud/body.js"
import * as Errors from "../cloud/errors.js"
import type { HttpFailure } from "../cloud/failure.js"
import { mapFailure } from "../cloud/failure.js"
import * as Get from "../cloud/get.js"
import type { Retryable } from "../http/retry.js"
import type { S3 } from "./client.js"
import { errorDialect, errorIn200, malformed, STORE } from "./client.js"
import { upload } from "./multipart.js"
import { putHeaders } from "./put.js"
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

const uploadPartCopy = (
  s3: S3,
  source: { readonly path: string; readonly eTag: string },
  to: string,
  uploadId: string,
  range: readonly [number, number],
  number: number
) => {
  const ctx = { store: STORE, method: "copy", path: source.path }
  return mapFailure(
    s3.client.execute(
      {
        method: "PUT",
        path: s3.client.pathOf(to),
        query: [["partNumber", String(number)], ["uploadId", uploadId]],
        headers: {
          "x-amz-copy-source": s3.client.pathOf(source.path),
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
        ? new StoreError({ ...ctx, description: "the source changed while it was copied", cause: failure })
        : Errors.toError(errorDialect, ctx, failure)
  )
}

/**
 * Copies `from` to `to` in parts of `partSize` (fewer, bigger parts when 10,000 would not cover the object). Any
 * failure or interruption aborts the upload: the destination is either the whole copy or untouched.
 */
export const copyInParts = (
  s3: S3,
  from: string,
  to: string,
  overwrite: boolean,
  partSize: number = COPY_PART_SIZE
): Effect.Effect<void, CopyError> =>
  Effect.gen(function*() {
    const ctx = { store: STORE, method: "copy", path: from }
    const source = yield* Get.get(s3.client.getClient, from, { head: true }).pipe(
      Effect.catchTags({
        NotModified: (e) => Effect.fail(new StoreError({ ...ctx, description: e.message })),
        PreconditionFailed: (e) => Effect.fail(new StoreError({ ...ctx, description: e.message })),
        InvalidRange: (e) => Effect.fail(new StoreError({ ...ctx, description: e.message })),
        InvalidConfig: (e) => Effect.fail(new StoreError({ ...ctx, description: e.message }))
      })
    )
    const eTag = source.meta.eTag
    if (eTag === undefined) return yield* Effect.fail(malformed(ctx, "the source has no ETag to pin the copy to"))
    const mode = overwrite ? "overwrite" : "create"
    const headers = putHeaders(s3, { attributes: source.attributes, mode }, { ...ctx, path: to })
    if (headers._tag === "Left") return yield* Effect.fail(headers.left)
    const cloud = upload(s3, to, headers.right, mode)
    const started = yield* cloud.start
    const parts = Effect.forEach(
      partRanges(source.meta.size, partSize),
      (range, i) => uploadPartCopy(s3, { path: from, eTag }, to, started.uploadId, range, i + 1),
      { concurrency: COPY_CONCURRENCY }
    )
    yield* Effect.flatMap(parts, (eTags) => cloud.complete(started, eTags)).pipe(
      Effect.onExit((exit) => exit._tag === "Success" ? Effect.void : cloud.abort(started))
    )
  }).pipe(
    // Only an If-Match write fails a precondition; this copy sends none, so such an answer is the server's fault.
    Effect.catchTag("PreconditionFailed", (e) => Effect.fail(new StoreError({ ...e, description: e.message }))),
    Effect.mapError((error) => withContext(error, { method: "copy" }))
  )
