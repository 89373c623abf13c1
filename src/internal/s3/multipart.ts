// S3's multipart calls (CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload,
// ListMultipartUploads) as an `Upload` for the shared multipart driver, with S3's answers to lost responses: a lost
// create aborts the stray upload whose id never arrived, a lost complete is checked against the object's ETag.
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import type { PutMode, PutResult } from "../../ObjectStore.js"
import type { AlreadyExists, PermissionDenied, PreconditionFailed, Unauthenticated } from "../../ObjectStoreError.js"
import { StoreError } from "../../ObjectStoreError.js"
import * as Errors from "../cloud/errors.js"
import { mapFailure } from "../cloud/failure.js"
import * as Get from "../cloud/get.js"
import type { Upload } from "../cloud/multipart.js"
import { isLostResponse } from "../cloud/request.js"
import type { Retryable } from "../http/retry.js"
import { header, TransportError } from "../http/transport.js"
import type { S3 } from "./client.js"
import { discardChecked, errorDialect, errorIn200, malformed, STORE } from "./client.js"
import { checksumHeaders } from "./object.js"
import * as Xml from "./xml.js"

// How far back a stray upload (from a create whose answer was lost) may have started, allowing for clock skew.
const STRAY_WINDOW_MS = 60_000

type AccessError = PermissionDenied | Unauthenticated | StoreError

/** What a write of an object can fail with. */
export type WriteError = AlreadyExists | PreconditionFailed | AccessError

export interface UploadInfo {
  readonly key: string
  readonly uploadId: string
  readonly initiated: Date
}

/** ListMultipartUploads (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html), every page. */
export const listMultipartUploads = (
  s3: S3,
  prefix: string
): Effect.Effect<ReadonlyArray<UploadInfo>, StoreError | Unauthenticated> => {
  const ctx = { store: STORE, method: "listMultipartUploads", path: prefix }
  const page = (keyMarker?: string, uploadIdMarker?: string): Effect.Effect<ReadonlyArray<UploadInfo>, AccessError> => {
    const query: Array<readonly [string, string]> = [["uploads", ""]]
    if (prefix !== "") query.push(["prefix", prefix])
    if (keyMarker !== undefined) query.push(["key-marker", keyMarker])
    if (uploadIdMarker !== undefined) query.push(["upload-id-marker", uploadIdMarker])
    return mapFailure(
      s3.client.execute(
        { method: "GET", path: s3.client.pathOf(undefined), query, idempotent: true },
        ctx,
        (response) =>
          Effect.flatMap(response.body.text, (text) => {
            const result = Xml.child(Xml.parse(text), "ListMultipartUploadsResult")
            if (result === undefined) return Effect.fail(malformed(ctx, "ListMultipartUploads returned no result"))
            const uploads = Xml.list(result, "Upload").map((u) => ({
              key: Xml.text(u, "Key") ?? "",
              uploadId: Xml.text(u, "UploadId") ?? "",
              initiated: new Date(Xml.text(u, "Initiated") ?? 0)
            }))
            const nextKey = Xml.text(result, "IsTruncated") === "true" ? Xml.text(result, "NextKeyMarker") : undefined
            return nextKey === undefined
              ? Effect.succeed(uploads)
              : Effect.map(page(nextKey, Xml.text(result, "NextUploadIdMarker")), (more) => [...uploads, ...more])
          })
      ),
      (failure) => Errors.toError(errorDialect, ctx, failure)
    )
  }
  // Listing uploads is a maintenance call: a denied one is reported as the store failing, not as a denied read.
  return Effect.catchTag(
    page(),
    "PermissionDenied",
    (e) => Effect.fail(new StoreError({ ...e, description: e.message }))
  )
}

/** AbortMultipartUpload (https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html); never fails. */
export const abortMultipartUpload = (s3: S3, path: string, uploadId: string): Effect.Effect<void> =>
  s3.client.execute(
    { method: "DELETE", path: s3.client.pathOf(path), query: [["uploadId", uploadId]], idempotent: true },
    { store: STORE, method: "put", path },
    (response) => response.body.discard
  ).pipe(Effect.ignore)

/** Aborts the uploads of exactly `path` started since `since` (the strays of creates whose answer was lost). */
const abortStrays = (s3: S3, path: string, since: number) =>
  Effect.flatMap(Effect.orElseSucceed(listMultipartUploads(s3, path), () => []), (uploads) =>
    Effect.forEach(
      uploads.filter((u) => u.key === path && u.initiated.getTime() >= since),
      (u) => abortMultipartUpload(s3, path, u.uploadId),
      { discard: true }
    ))

/**
 * CreateMultipartUpload (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateMultipartUpload.html). Not
 * repeated blindly: after a lost or unreadable answer, the uploads of this key started since the attempt (the one
 * whose id never arrived) are aborted, then it starts again.
 */
export const createMultipartUpload = (
  s3: S3,
  path: string,
  headers: Record<string, string>
): Effect.Effect<string, AccessError> => {
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
  const attempt = (tries: number): Effect.Effect<string, AccessError> =>
    Effect.flatMap(
      Clock.currentTimeMillis,
      (startedAt) =>
        Effect.catchIf(once, isLostResponse, (lost) =>
          Effect.zipRight(
            abortStrays(s3, path, startedAt - STRAY_WINDOW_MS),
            tries >= s3.config.retry.maxRetries ? Effect.fail(lost) : attempt(tries + 1)
          ))
    )
  return attempt(0)
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

/**
 * A multipart upload of `path` for the shared driver. The conditional headers of a put go on the complete call,
 * the others on the create call.
 */
export const upload = (
  s3: S3,
  path: string,
  headers: Record<string, string>,
  mode: PutMode
): Upload<string, string, PutResult, WriteError> => {
  const { "if-match": ifMatch, "if-none-match": ifNoneMatch, ...createHeaders } = headers
  const conditional: Record<string, string> = {}
  if (ifNoneMatch !== undefined) conditional["if-none-match"] = ifNoneMatch
  if (ifMatch !== undefined) conditional["if-match"] = ifMatch
  return {
    start: createMultipartUpload(s3, path, createHeaders),
    part: (uploadId, body, index) => uploadPart(s3, path, uploadId, body, index + 1),
    complete: (uploadId, eTags) =>
      Effect.map(
        completeChecked(s3, path, uploadId, eTags, conditional, mode),
        (result) =>
          result.eTag === undefined && computable(s3, eTags) ? { ...result, eTag: multipartETag(eTags) } : result
      ),
    abort: (uploadId) => abortMultipartUpload(s3, path, uploadId)
  }
}
