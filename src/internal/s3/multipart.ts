// S3's multipart calls (CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
// ListMultipartUploads) as an `Upload` for the shared multipart driver, with S3's answers to lost responses: a lost
// create is sent again and the stray upload whose id never arrived is aborted once it can be told from other writers'
// (`abortStrays`), a lost complete is checked against the object's ETag.
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import type { PutMode, PutResult } from "../../ObjectStore.js"
import type { PermissionDenied, Unauthenticated } from "../../ObjectStoreError.js"
import { AlreadyExists, PreconditionFailed, StoreError } from "../../ObjectStoreError.js"
import { boundedText } from "../cloud/body.js"
import * as Errors from "../cloud/errors.js"
import { mapFailure } from "../cloud/failure.js"
import * as Get from "../cloud/get.js"
import * as List from "../cloud/list.js"
import type { Upload } from "../cloud/multipart.js"
import { isLostResponse } from "../cloud/request.js"
import type { Retryable } from "../http/retry.js"
import { header, TransportError } from "../http/transport.js"
import type { S3 } from "./client.js"
import { discardChecked, errorDialect, errorIn200, malformed, STORE } from "./client.js"
import { checksumHeaders } from "./object.js"
import * as Xml from "./xml.js"

// S3 gives an upload's Initiated time to the second (RGW to the millisecond): the margin a window is widened by.
const INITIATED_PRECISION_MS = 1_000

type AccessError = PermissionDenied | Unauthenticated | StoreError

/** What a write of an object can fail with. */
export type WriteError = AlreadyExists | PreconditionFailed | AccessError

export interface UploadInfo {
  readonly key: string
  readonly uploadId: string
  readonly initiated: Date
}

/** An upload as listed, with who started it (the principal's ID, the same for every writer with the same keys). */
interface Listed extends UploadInfo {
  readonly initiator: string | undefined
}

/** ListMultipartUploads (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html), every page. */
export const listMultipartUploads = (
  s3: S3,
  prefix: string
): Effect.Effect<ReadonlyArray<UploadInfo>, StoreError | Unauthenticated> =>
  Effect.map(listUploads(s3, prefix), ({ uploads }) => uploads.map(({ initiator: _, ...info }) => info))

/** Every upload under `prefix`, and the server's clock (its Date header, ms) when it answered. */
const listUploads = (
  s3: S3,
  prefix: string
): Effect.Effect<{ readonly uploads: ReadonlyArray<Listed>; readonly date: number }, StoreError | Unauthenticated> => {
  const ctx = { store: STORE, method: "listMultipartUploads", path: prefix }
  let date = Number.NaN
  // A server repeating its markers would make this loop forever.
  const guard = List.tokenGuard(ctx)
  const page = (keyMarker?: string, uploadIdMarker?: string): Effect.Effect<ReadonlyArray<Listed>, AccessError> => {
    const query: Array<readonly [string, string]> = [["uploads", ""]]
    if (prefix !== "") query.push(["prefix", prefix])
    if (keyMarker !== undefined) query.push(["key-marker", keyMarker])
    if (uploadIdMarker !== undefined) query.push(["upload-id-marker", uploadIdMarker])
    return mapFailure(
      s3.client.execute(
        { method: "GET", path: s3.client.pathOf(undefined), query, idempotent: true },
        ctx,
        (response) =>
          Effect.flatMap(boundedText(ctx, "the ListMultipartUploads page", response.body, response.headers), (text) => {
            if (Number.isNaN(date)) date = Date.parse(header(response.headers, "date") ?? "")
            const result = Xml.child(Xml.parse(text), "ListMultipartUploadsResult")
            if (result === undefined) return Effect.fail(malformed(ctx, "ListMultipartUploads returned no result"))
            const uploads = Xml.list(result, "Upload").map((u): Listed => ({
              key: Xml.text(u, "Key") ?? "",
              uploadId: Xml.text(u, "UploadId") ?? "",
              initiated: new Date(Xml.text(u, "Initiated") ?? 0),
              initiator: Xml.text(Xml.child(u, "Initiator"), "ID")
            }))
            const nextKey = Xml.text(result, "IsTruncated") === "true" ? Xml.text(result, "NextKeyMarker") : undefined
            if (nextKey === undefined) return Effect.succeed(uploads)
            const nextUploadId = Xml.text(result, "NextUploadIdMarker")
            const repeated = guard(`${nextKey}\u0000${nextUploadId ?? ""}`)
            if (repeated !== undefined) return Effect.fail(repeated)
            return Effect.map(page(nextKey, nextUploadId), (more) => [...uploads, ...more])
          })
      ),
      (failure) => Errors.toError(errorDialect, ctx, failure)
    )
  }
  // Listing uploads is a maintenance call: a denied one is reported as the store failing, not as a denied read.
  const all: Effect.Effect<ReadonlyArray<Listed>, AccessError> = page()
  return all.pipe(
    Effect.map((uploads) => ({ uploads, date })),
    Effect.catchTag("PermissionDenied", (e) => Effect.fail(new StoreError({ ...e, description: e.message })))
  )
}

/** AbortMultipartUpload (https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html); never fails. */
export const abortMultipartUpload = (s3: S3, path: string, uploadId: string): Effect.Effect<void> =>
  s3.client.execute(
    { method: "DELETE", path: s3.client.pathOf(path), query: [["uploadId", uploadId]], idempotent: true },
    { store: STORE, method: "put", path },
    (response) => response.body.discard
  ).pipe(Effect.ignore)

/** An upload we started, and the creates before it whose answer was lost (local clock, ms). */
export interface Started {
  readonly uploadId: string
  /** When the create that worked was sent and answered. */
  readonly sentAt: number
  readonly answeredAt: number
  /** When the first create whose answer was lost was sent; undefined when none was. */
  readonly lostSince: number | undefined
}

/**
 * Aborts the strays of creates whose answer was lost, and only those. S3 shows nothing of ours on an upload in
 * progress (metadata and tags are not listed), so a stray is told apart by what is listed: the same key, the same
 * initiator as our upload, and an Initiated time inside the span of our own creates. That span is taken to the
 * server's clock through our upload's own Initiated time (it was started between `sentAt` and `answeredAt`), so
 * clock skew does not widen it, and it is widened only by the precision of Initiated. Another writer's upload is
 * left alone unless it was started, with our keys, during our own creates.
 */
const abortStrays = (s3: S3, path: string, started: Started): Effect.Effect<void> => {
  const { lostSince } = started
  if (lostSince === undefined) return Effect.void
  return Effect.flatMap(Effect.option(listUploads(s3, path)), (listed) => {
    const uploads = listed._tag === "Some" ? listed.value.uploads : []
    const ours = uploads.find((u) => u.uploadId === started.uploadId)
    if (ours === undefined) return Effect.void
    // Server time minus local time lies between these two.
    const skew = { low: ours.initiated.getTime() - started.answeredAt, high: ours.initiated.getTime() - started.sentAt }
    return abortWithin(s3, path, uploads, { from: lostSince, to: started.answeredAt }, skew, ours)
  })
}

/**
 * After every create was lost there is no upload of ours to go by: the server's clock comes from the listing's Date
 * header (to the second), and any initiator is taken. The span is still only that of our own creates.
 */
const abortStraysAfterLosing = (s3: S3, path: string, lostSince: number): Effect.Effect<void> =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (sentAt) =>
      Effect.flatMap(Effect.option(listUploads(s3, path)), (listed) =>
        Effect.flatMap(Clock.currentTimeMillis, (answeredAt) => {
          if (listed._tag === "None" || Number.isNaN(listed.value.date)) {
            return Effect.void
          }
          const { date, uploads } = listed.value
          const skew = { low: date - answeredAt, high: date + 1_000 - sentAt }
          return abortWithin(s3, path, uploads, { from: lostSince, to: sentAt }, skew, undefined)
        }))
  )

/** Aborts the uploads of `path` started within `span` (local clock, taken to the server's with `skew`). */
const abortWithin = (
  s3: S3,
  path: string,
  uploads: ReadonlyArray<Listed>,
  span: { readonly from: number; readonly to: number },
  skew: { readonly low: number; readonly high: number },
  ours: Listed | undefined
): Effect.Effect<void> => {
  const from = span.from + skew.low - INITIATED_PRECISION_MS
  const to = span.to + skew.high + INITIATED_PRECISION_MS
  return Effect.forEach(
    uploads.filter((u) =>
      u.key === path && u.uploadId !== ours?.uploadId && (ours === undefined || u.initiator === ours.initiator) &&
      u.initiated.getTime() >= from && u.initiated.getTime() <= to
    ),
    (u) => abortMultipartUpload(s3, path, u.uploadId),
    { discard: true }
  )
}

/**
 * CreateMultipartUpload (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html). After a
 * lost or unreadable answer it is sent again; the stray the lost one may have started is aborted before the upload
 * is completed or aborted (`abortStrays`: by then a stray the server applied late is listed too).
 */
export const createMultipartUpload = (
  s3: S3,
  path: string,
  headers: Record<string, string>
): Effect.Effect<Started, AccessError> => {
  const ctx = { store: STORE, method: "put", path }
  const garbled = new TransportError("other", "CreateMultipartUpload returned no UploadId", undefined, true)
  const once = mapFailure(
    s3.client.execute(
      { method: "POST", path: s3.client.pathOf(path), query: [["uploads", ""]], headers, idempotent: false },
      ctx,
      (response) =>
        Effect.flatMap(response.body.text, (text) => {
          const uploadId = Xml.text(Xml.child(Xml.parse(text), "InitiateMultipartUploadResult"), "UploadId")
          return uploadId === undefined || uploadId === ""
            ? Effect.fail(new StoreError({ ...ctx, description: garbled.description, cause: garbled }))
            : Effect.succeed(uploadId)
        })
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )
  const attempt = (tries: number, lostSince: number | undefined): Effect.Effect<Started, AccessError> =>
    Effect.flatMap(Clock.currentTimeMillis, (sentAt) =>
      Effect.matchEffect(once, {
        onSuccess: (uploadId) =>
          Effect.map(Clock.currentTimeMillis, (answeredAt): Started => ({ uploadId, sentAt, answeredAt, lostSince })),
        onFailure: (error) =>
          !isLostResponse(error)
            ? Effect.fail(error)
            : tries >= s3.config.retry.maxRetries
            ? Effect.zipRight(abortStraysAfterLosing(s3, path, lostSince ?? sentAt), Effect.fail(error))
            : attempt(tries + 1, lostSince ?? sentAt)
      }))
  return attempt(0, undefined)
}

/** UploadPart (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html): the part's ETag. */
export const uploadPart = (s3: S3, path: string, uploadId: string, part: Uint8Array, number: number) => {
  const ctx = { store: STORE, method: "put", path }
  return mapFailure(
    s3.client.execute(
      {
        method: "PUT",
        path: s3.client.pathOf(path),
        query: [["partNumber", String(number)], ["uploadId", uploadId]],
        headers: { ...checksumHeaders(s3, part), "content-length": String(part.byteLength) },
        body: part,
        idempotent: true
      },
      ctx,
      (response) => {
        const eTag = header(response.headers, "etag")
        return Effect.zipRight(
          discardChecked(response, ctx, true),
          eTag === undefined
            ? Effect.fail(malformed(ctx, `part ${number} was stored without an ETag`))
            : Effect.succeed(eTag)
        )
      }
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )
}

/** CompleteMultipartUpload (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html). */
export const completeMultipartUpload = (
  s3: S3,
  path: string,
  uploadId: string,
  eTags: ReadonlyArray<string>,
  conditional: Record<string, string>,
  mode: PutMode
) => {
  const ctx = { store: STORE, method: "put", path }
  const body = "<CompleteMultipartUpload>" +
    eTags.map((eTag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${Xml.escape(eTag)}</ETag></Part>`).join("") +
    "</CompleteMultipartUpload>"
  return mapFailure(
    s3.client.execute(
      {
        method: "POST",
        path: s3.client.pathOf(path),
        query: [["uploadId", uploadId]],
        headers: { ...conditional, "content-type": "application/xml" },
        body,
        // Completing twice fails (the upload is gone): a lost answer is checked instead (`completeChecked`).
        idempotent: false
      },
      ctx,
      (response) =>
        Effect.flatMap(response.body.text, (text): Effect.Effect<PutResult, StoreError | Retryable> => {
          // S3 can answer 200 and still fail: the error is in the body.
          const error = Xml.error(text)
          if (error !== undefined) return Effect.fail(errorIn200(ctx, error, false))
          const eTag = Xml.text(Xml.child(Xml.parse(text), "CompleteMultipartUploadResult"), "ETag")
          return Effect.succeed({
            eTag: eTag === undefined || eTag === "" ? undefined : eTag,
            version: header(response.headers, "x-amz-version-id")
          })
        })
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, Errors.write(Errors.writeMode(mode)))
  )
}

/** The ETag S3 gives a completed upload: the MD5 of the parts' MD5s, and the number of parts. */
export const multipartETag = (eTags: ReadonlyArray<string>): string => {
  const hash = createHash("md5")
  for (const eTag of eTags) hash.update(Buffer.from(eTag.replace(/"/g, ""), "hex"))
  return `"${hash.digest("hex")}-${eTags.length}"`
}

const MD5_ETAG = /^"?[0-9a-f]{32}"?$/

/**
 * Whether the ETag of a completed upload can be computed from its parts' (RGW answers CompleteMultipartUpload with
 * an empty ETag): when every part's ETag is an MD5, which SSE-KMS ones are not.
 */
const computable = (s3: S3, eTags: ReadonlyArray<string>): boolean =>
  s3.config.serverSideEncryption !== "aws:kms" && s3.config.serverSideEncryption !== "aws:kms:dsse" &&
  eTags.every((eTag) => MD5_ETAG.test(eTag))

/** Completes an upload; after a lost (or error-in-200) answer, the object tells whether it was completed. */
const completeChecked = (
  s3: S3,
  path: string,
  uploadId: string,
  eTags: ReadonlyArray<string>,
  conditional: Record<string, string>,
  mode: PutMode,
  tries = 0
): Effect.Effect<PutResult, WriteError> =>
  Effect.catchIf(
    completeMultipartUpload(s3, path, uploadId, eTags, conditional, mode),
    isLostResponse,
    (lost) =>
      Effect.flatMap(Effect.either(Get.head(s3.client.getClient, path)), (head) =>
        Either.isRight(head) && head.right.eTag?.replace(/"/g, "") === multipartETag(eTags).replace(/"/g, "")
          ? Effect.succeed({ eTag: head.right.eTag, version: head.right.version })
          : tries < s3.config.retry.maxRetries
          ? completeChecked(s3, path, uploadId, eTags, conditional, mode, tries + 1)
          : Effect.fail(lost))
  )

const unquoted = (eTag: string | undefined) => eTag?.replace(/^(W\/)?"|"$/g, "")

/**
 * The conditions of a put checked with a HEAD before completing. The conditional headers go on the complete call
 * too (S3 evaluates them there, atomically), but servers that ignore them there (Ceph RGW 16 does) would otherwise
 * let a `create` overwrite an object, or an update of a stale ETag win: the check leaves only the race between it
 * and the complete.
 */
const precheck = (
  s3: S3,
  path: string,
  conditional: Record<string, string>
): Effect.Effect<void, WriteError> => {
  const ifNoneMatch = conditional["if-none-match"]
  const ifMatch = conditional["if-match"]
  if (ifNoneMatch === undefined && ifMatch === undefined) return Effect.void
  const ctx = { store: STORE, method: "put", path }
  return Effect.flatMap(Effect.either(Get.head(s3.client.getClient, path)), (head): Effect.Effect<void, WriteError> => {
    if (Either.isLeft(head) && head.left._tag !== "NotFound") {
      const e = head.left
      return Effect.fail(
        e._tag === "PermissionDenied" || e._tag === "Unauthenticated" || e._tag === "StoreError"
          ? e
          : new StoreError({ ...ctx, description: e.message })
      )
    }
    if (ifNoneMatch !== undefined && Either.isRight(head)) {
      return Effect.fail(new AlreadyExists({ ...ctx, description: "the object exists (checked before completing)" }))
    }
    if (ifMatch !== undefined) {
      const current = Either.isRight(head) ? unquoted(head.right.eTag) : undefined
      if (current !== unquoted(ifMatch)) {
        const description = current === undefined
          ? "the object does not exist (checked before completing)"
          : `the object's ETag is "${current}", not the expected "${unquoted(ifMatch)}" (checked before completing)`
        return Effect.fail(new PreconditionFailed({ ...ctx, description }))
      }
    }
    return Effect.void
  })
}

/**
 * A multipart upload of `path` for the shared driver. The conditional headers of a put go on the complete call,
 * the others on the create call.
 */
export const upload = (
  s3: S3,
  path: string,
  headers: Record<string, string>,
  mode: PutMode
): Upload<Started, string, PutResult, WriteError> => {
  const { "if-match": ifMatch, "if-none-match": ifNoneMatch, ...createHeaders } = headers
  const conditional: Record<string, string> = {}
  if (ifNoneMatch !== undefined) conditional["if-none-match"] = ifNoneMatch
  if (ifMatch !== undefined) conditional["if-match"] = ifMatch
  return {
    start: createMultipartUpload(s3, path, createHeaders),
    part: (started, body, index) => uploadPart(s3, path, started.uploadId, body, index + 1),
    // Before completing: our upload's own listing is what tells the strays by.
    complete: (started, eTags) =>
      Effect.zipRight(
        Effect.zipRight(precheck(s3, path, conditional), abortStrays(s3, path, started)),
        Effect.map(
          completeChecked(s3, path, started.uploadId, eTags, conditional, mode),
          (result) =>
            result.eTag === undefined && computable(s3, eTags) ? { ...result, eTag: multipartETag(eTags) } : result
        )
      ),
    // Our upload first (its listing tells the strays by, so they are found before it goes).
    abort: (started) =>
      Effect.zipRight(abortStrays(s3, path, started), abortMultipartUpload(s3, path, started.uploadId))
  }
}
