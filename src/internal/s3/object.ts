// One function per S3 REST call on objects (PutObject, CopyObject, DeleteObject, DeleteObjects, PutObjectTagging,
// ListObjectsV2), each mapping its failures through the shared error table with its own overrides. GetObject and
// HeadObject go through the shared get (`client.getClient`); the multipart calls are in `multipart.ts`.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import * as ObjectPath from "../../ObjectPath.js"
import type { ObjectMeta, PutMode, PutResult } from "../../ObjectStore.js"
import { StoreError } from "../../ObjectStoreError.js"
import { boundedText, ERROR_BODY_LIMIT } from "../cloud/body.js"
import * as Errors from "../cloud/errors.js"
import { mapFailure } from "../cloud/failure.js"
import type { Page } from "../cloud/list.js"
import type { Query } from "../cloud/request.js"
import { Retryable } from "../http/retry.js"
import { header } from "../http/transport.js"
import { encodeS3Key } from "../signing/sigv4.js"
import type { S3 } from "./client.js"
import { discardChecked, errorDialect, errorIn200, malformed, STORE } from "./client.js"
import { parseListPage } from "./listXml.js"
import * as Xml from "./xml.js"

const md5Base64 = (body: string) => createHash("md5").update(body).digest("base64")

/** Headers every write that stores an object sends: server-side encryption. */
export const encryptionHeaders = (s3: S3, into: Record<string, string>): Record<string, string> => {
  if (s3.config.serverSideEncryption !== undefined) {
    into["x-amz-server-side-encryption"] = s3.config.serverSideEncryption
    if (s3.config.sseKmsKeyId !== undefined) {
      into["x-amz-server-side-encryption-aws-kms-key-id"] = s3.config.sseKmsKeyId
    }
  }
  return into
}

/** A checksum of a body for the server to verify, when the config asks for one. */
export const checksumHeaders = (s3: S3, body: Uint8Array): Record<string, string> =>
  s3.config.checksumAlgorithm === "SHA256"
    ? { "x-amz-checksum-sha256": createHash("sha256").update(body).digest("base64") }
    : {}

/** PutObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html), sent once per call. */
export const putObject = (s3: S3, path: string, body: Uint8Array, headers: Record<string, string>, mode: PutMode) => {
  const ctx = { store: STORE, method: "put", path }
  const idempotent = mode === "overwrite"
  return mapFailure(
    s3.client.execute(
      {
        method: "PUT",
        path: s3.client.pathOf(path),
        headers: { ...headers, ...checksumHeaders(s3, body), "content-length": String(body.byteLength) },
        body,
        idempotent,
        // put.ts checks the object after a lost answer (or a 5xx) of a conditional put.
        reconciles: true
      },
      ctx,
      (response) =>
        Effect.as(discardChecked(response, ctx, idempotent), {
          eTag: header(response.headers, "etag"),
          version: header(response.headers, "x-amz-version-id")
        } as PutResult)
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, Errors.write(Errors.writeMode(mode)))
  )
}

/** PutObjectTagging (https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectTagging.html). */
export const putObjectTagging = (s3: S3, path: string, tags: ReadonlyArray<readonly [string, string]>) => {
  const ctx = { store: STORE, method: "put", path }
  const body = "<Tagging><TagSet>" +
    tags.map(([k, v]) => `<Tag><Key>${Xml.escape(k)}</Key><Value>${Xml.escape(v)}</Value></Tag>`).join("") +
    "</TagSet></Tagging>"
  return mapFailure(
    s3.client.execute(
      {
        method: "PUT",
        path: s3.client.pathOf(path),
        query: [["tagging", ""]],
        headers: { "content-md5": md5Base64(body), "content-type": "application/xml" },
        body,
        idempotent: true
      },
      ctx,
      (response) => discardChecked(response, ctx, true)
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )
}

/**
 * GetObjectTagging (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTagging.html): the object's tags,
 * none on a server that does not implement tagging (501), as CopyObject would carry none there.
 */
export const getObjectTagging = (s3: S3, path: string) => {
  const ctx = { store: STORE, method: "copy", path }
  return s3.client.execute(
    { method: "GET", path: s3.client.pathOf(path), query: [["tagging", ""]], idempotent: true },
    ctx,
    (response) =>
      Effect.flatMap(
        boundedText(ctx, "the GetObjectTagging answer", response.body, response.headers, ERROR_BODY_LIMIT),
        (text) => {
          const tags = parseTags(text)
          return tags === undefined
            ? Effect.fail(malformed(ctx, "the GetObjectTagging answer is not a tag set"))
            : Effect.succeed(tags)
        }
      )
  ).pipe(
    Effect.catchTag("HttpFailure", (failure) =>
      failure.status === 501
        ? Effect.succeed<ReadonlyArray<readonly [string, string]>>([])
        : Effect.fail(Errors.toError(errorDialect, ctx, failure, { 404: "NotFound" })))
  )
}

/** The tags of a GetObjectTagging answer; undefined when it is not one (no Tagging root, a tag without a key). */
const parseTags = (text: string): ReadonlyArray<readonly [string, string]> | undefined => {
  const tagging = Xml.child(Xml.parse(text), "Tagging")
  if (tagging === undefined) return undefined
  const tags = Xml.list(Xml.child(tagging, "TagSet"), "Tag").map((tag) =>
    [Xml.text(tag, "Key"), Xml.text(tag, "Value") ?? ""] as const
  )
  return tags.every((tag): tag is readonly [string, string] => tag[0] !== undefined && tag[0] !== "")
    ? tags
    : undefined
}

/**
 * `x-amz-copy-source`: `/bucket/key` whatever the style of the URLs the client sends to (a virtual-hosted URL's path
 * has no bucket, and an endpoint's base path is not part of the source).
 */
export const copySourceOf = (s3: S3, key: string): string => `/${encodeS3Key(s3.config.bucket)}/${encodeS3Key(key)}`

/** CopyObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html). */
export const copyObject = (s3: S3, from: string, to: string, overwrite: boolean) => {
  const ctx = { store: STORE, method: "copy", path: from }
  const headers = encryptionHeaders(s3, { "x-amz-copy-source": copySourceOf(s3, from) })
  if (!overwrite) headers["if-none-match"] = "*"
  return mapFailure(
    s3.client.execute(
      { method: "PUT", path: s3.client.pathOf(to), headers, idempotent: overwrite },
      ctx,
      (response) =>
        Effect.flatMap(
          boundedText(ctx, "the CopyObject answer", response.body, response.headers, ERROR_BODY_LIMIT),
          (text): Effect.Effect<void, StoreError | Retryable> => {
            const error = Xml.error(text)
            return error === undefined ? Effect.void : Effect.fail(errorIn200(ctx, error, overwrite))
          }
        )
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, Errors.copy(to, overwrite))
  )
}

/** DeleteObject (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html); a missing object is fine. */
export const deleteObject = (s3: S3, path: string) => {
  const ctx = { store: STORE, method: "delete", path }
  return s3.client.execute(
    { method: "DELETE", path: s3.client.pathOf(path), idempotent: true },
    ctx,
    (response) => discardChecked(response, ctx, true)
  ).pipe(
    Effect.catchTag("HttpFailure", (failure) =>
      Errors.isObjectMissing(errorDialect, failure)
        ? Effect.void
        : Effect.fail(Errors.toError(errorDialect, ctx, failure)))
  )
}

const deleteFailures = (ctx: { store: string; method: string }, keys: number, text: string) => {
  const result = Xml.child(Xml.parse(text), "DeleteResult")
  if (result === undefined) {
    const error = Xml.error(text)
    return malformed(
      ctx,
      error === undefined ? "DeleteObjects returned no DeleteResult" : `DeleteObjects failed: ${error.code}`
    )
  }
  const failed = Xml.list(result, "Error")
    .map((e) => ({ key: Xml.text(e, "Key") ?? "?", code: Xml.text(e, "Code") ?? "?", message: Xml.text(e, "Message") }))
    .filter((e) => e.code !== "NoSuchKey")
  if (failed.length === 0) return undefined
  const listed = failed.slice(0, 10).map((e) => `"${e.key}" (${e.code}${e.message ? `: ${e.message}` : ""})`)
  return new StoreError({
    ...ctx,
    path: failed[0].key,
    description: `${failed.length} of ${keys} deletes failed: ${listed.join(", ")}${failed.length > 10 ? ", ..." : ""}`,
    cause: failed
  })
}

/** DeleteObjects (https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html), up to 1,000 keys. */
export const deleteObjects = (s3: S3, keys: ReadonlyArray<string>) => {
  const ctx = { store: STORE, method: "delete" }
  const body = "<Delete><Quiet>true</Quiet>" +
    keys.map((key) => `<Object><Key>${Xml.escape(key)}</Key></Object>`).join("") + "</Delete>"
  return mapFailure(
    s3.client.execute(
      {
        method: "POST",
        path: s3.client.pathOf(undefined),
        query: [["delete", ""]],
        headers: { "content-md5": md5Base64(body), "content-type": "application/xml" },
        body,
        idempotent: true
      },
      ctx,
      (response) =>
        Effect.flatMap(boundedText(ctx, "the DeleteObjects answer", response.body, response.headers), (text) => {
          const error = deleteFailures(ctx, keys.length, text)
          return error === undefined ? Effect.void : Effect.fail<StoreError>(error)
        })
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )
}

/** The objects of a ListObjectsV2 page; keys that break our path rules (written by other clients) are left out. */
const pageObjects = (
  ctx: { store: string; method: string; path: string },
  page: Exclude<ReturnType<typeof parseListPage>, string>
) => {
  const objects: Array<ObjectMeta> = []
  for (const entry of page.contents) {
    const size = Number(entry.size)
    const lastModified = new Date(entry.lastModified)
    if (entry.size === "" || !Number.isSafeInteger(size) || size < 0 || Number.isNaN(lastModified.getTime())) {
      return malformed(ctx, `ListObjectsV2 returned "${entry.key}" with size ${entry.size}, time ${entry.lastModified}`)
    }
    if (Either.isLeft(ObjectPath.parse(entry.key))) continue
    objects.push({ path: entry.key, lastModified, size, eTag: entry.eTag })
  }
  return objects
}

/** ListObjectsV2 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html): one page. */
export const listObjectsV2 = (
  s3: S3,
  method: string,
  prefix: string,
  options: {
    readonly delimiter: boolean
    readonly token?: string | undefined
    readonly startAfter?: string | undefined
  }
) => {
  const ctx = { store: STORE, method, path: prefix }
  const query: Array<readonly [string, string]> = [["list-type", "2"]]
  if (prefix !== "") query.push(["prefix", prefix + "/"])
  if (options.delimiter) query.push(["delimiter", "/"])
  if (options.token !== undefined) query.push(["continuation-token", options.token])
  if (options.startAfter !== undefined) query.push(["start-after", options.startAfter])
  return mapFailure(
    s3.client.execute(
      { method: "GET", path: s3.client.pathOf(undefined), query: query as Query, idempotent: true },
      ctx,
      (response) =>
        Effect.flatMap(boundedText(ctx, "the ListObjectsV2 page", response.body, response.headers), (text) => {
          const page = parseListPage(text)
          // A listing is safe to ask for again: an unreadable page is retried like a broken connection.
          if (typeof page === "string") {
            return Effect.fail<StoreError | Retryable>(new Retryable(malformed(ctx, `ListObjectsV2: ${page}`)))
          }
          const objects = pageObjects(ctx, page)
          if (objects instanceof StoreError) return Effect.fail(objects)
          const commonPrefixes = page.commonPrefixes.map((p) => p.endsWith("/") ? p.slice(0, -1) : p)
          const next = page.nextContinuationToken
          if (page.isTruncated && (next === undefined || next === "")) {
            return Effect.fail(malformed(ctx, "ListObjectsV2 was truncated but gave no continuation token"))
          }
          return Effect.succeed<Page>({ objects, commonPrefixes, next: page.isTruncated ? next : undefined })
        })
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )
}
