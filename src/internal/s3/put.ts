// S3's put: the request headers of a put (attributes, tags, encryption, the conditional mode), a single PutObject
// whose lost answer is checked rather than repeated blindly, and the choice between one request and a multipart
// upload through the shared driver.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash } from "node:crypto"
import type { PutMode, PutOptions, PutPayload, PutResult } from "../../ObjectStore.js"
import { AlreadyExists, NotSupported, PreconditionFailed, StoreError } from "../../ObjectStoreError.js"
import * as Get from "../cloud/get.js"
import { attributeHeaders } from "../cloud/headers.js"
import * as Multipart from "../cloud/multipart.js"
import { isLostResponse } from "../cloud/request.js"
import * as payloads from "../payload.js"
import type { S3 } from "./client.js"
import { headerConfig, STORE } from "./client.js"
import type { WriteError } from "./multipart.js"
import { upload } from "./multipart.js"
import { encryptionHeaders, putObject, putObjectTagging } from "./object.js"

const DEFAULT_PART_SIZE = 8 * 1024 * 1024
const DEFAULT_PART_CONCURRENCY = 4

type Ctx = { readonly store: string; readonly method: string; readonly path: string }

/** The conditional header of a put mode, or why the mode cannot be sent. */
const modeHeaders = (
  s3: S3,
  mode: PutMode,
  ctx: Ctx,
  into: Record<string, string>
): NotSupported | PreconditionFailed | undefined => {
  if (mode === "overwrite") return undefined
  if (s3.config.conditionalPut === "disabled") {
    return new NotSupported({ ...ctx, description: "conditional puts are disabled (conditionalPut: \"disabled\")" })
  }
  if (mode === "create") {
    into["if-none-match"] = "*"
    return undefined
  }
  if (mode.version !== undefined) {
    return new NotSupported({ ...ctx, description: "S3 conditional puts compare ETags, not versions" })
  }
  if (mode.eTag === undefined) {
    return new PreconditionFailed({ ...ctx, description: "an update needs the ETag to compare" })
  }
  into["if-match"] = s3.config.conditionalPut === "etag-unquoted" ? mode.eTag.replace(/^"|"$/g, "") : mode.eTag
  return undefined
}

/** The headers of a put: attributes, user metadata, tags, encryption and the conditional mode. */
export const putHeaders = (
  s3: S3,
  options: PutOptions,
  ctx: Ctx
): Either.Either<Record<string, string>, NotSupported | PreconditionFailed> => {
  const headers = attributeHeaders(headerConfig, options.attributes ?? {}, {})
  const tags = Object.entries(options.tags ?? {})
  if (tags.length > 0) {
    headers["x-amz-tagging"] = tags.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")
  }
  encryptionHeaders(s3, headers)
  const problem = modeHeaders(s3, options.mode ?? "overwrite", ctx, headers)
  return problem === undefined ? Either.right(headers) : Either.left(problem)
}

/** After a multipart upload: some servers (RGW) drop the x-amz-tagging of CreateMultipartUpload. */
export const tagAgain = (s3: S3, path: string, tags: ReadonlyArray<readonly [string, string]>) =>
  tags.length === 0 ? Effect.void : putObjectTagging(s3, path, tags)

const unquote = (e: string | undefined) => e?.replace(/^"|"$/g, "")

/** The wait before the `tries`-th send again of a conditional put: the store's backoff, without jitter. */
const backoff = (s3: S3, tries: number): Duration.Duration => {
  const { base, initBackoff, maxBackoff } = s3.config.retry
  return Duration.min(Duration.times(initBackoff, Math.pow(base, tries)), maxBackoff)
}

/**
 * A conditional put is not repeated blindly after its answer was lost (or was a 5xx, which may come after the write
 * took effect): it may have been applied. The object tells: our content there (S3's ETag of a single PUT is the MD5
 * of the body) means it was applied; the old object untouched (or none, for a create) means it was not, and it is
 * sent again after the store's backoff (the server may be shedding load); anything else is someone else's write.
 */
const reconcile = (
  s3: S3,
  path: string,
  body: Uint8Array,
  headers: Record<string, string>,
  mode: PutMode,
  lost: StoreError,
  tries: number
): Effect.Effect<PutResult, WriteError> => {
  const ctx = { store: STORE, method: "put", path }
  const ours = createHash("md5").update(body).digest("hex")
  const again = tries < s3.config.retry.maxRetries
    ? Effect.zipRight(Effect.sleep(backoff(s3, tries)), putObjectChecked(s3, path, body, headers, mode, tries + 1))
    : Effect.fail(lost)
  const kms = s3.config.serverSideEncryption === "aws:kms" || s3.config.serverSideEncryption === "aws:kms:dsse"
  return Effect.matchEffect(Get.head(s3.client.getClient, path), {
    onFailure: (error): Effect.Effect<PutResult, WriteError> =>
      error._tag !== "NotFound"
        ? Effect.fail(lost)
        : mode === "create"
        ? again
        : Effect.fail(new PreconditionFailed({ ...ctx, description: "the object to update does not exist" })),
    onSuccess: (meta): Effect.Effect<PutResult, WriteError> => {
      if (kms) return Effect.fail(lost) // KMS ETags are not the MD5 of the body: we cannot tell.
      if (unquote(meta.eTag) === ours) return Effect.succeed({ eTag: meta.eTag, version: meta.version })
      if (mode !== "create" && mode !== "overwrite" && unquote(meta.eTag) === unquote(mode.eTag)) return again
      return Effect.fail(
        mode === "create"
          ? new AlreadyExists({ ...ctx, description: "the response was lost, and another object is there now" })
          : new PreconditionFailed({
            ...ctx,
            description: "the response was lost, and the object now holds another write"
          })
      )
    }
  })
}

/** PutObject, with a lost answer of a conditional put checked against the object. */
const putObjectChecked = (
  s3: S3,
  path: string,
  body: Uint8Array,
  headers: Record<string, string>,
  mode: PutMode,
  tries = 0
): Effect.Effect<PutResult, WriteError> => {
  const sent = putObject(s3, path, body, headers, mode)
  return mode === "overwrite"
    ? sent
    : Effect.catchIf(sent, isLostResponse, (lost) => reconcile(s3, path, body, headers, mode, lost, tries))
}

// The part size and concurrency were checked against S3's limits by ObjectStore.make before any I/O.
const multipartOf = (options: PutOptions) => {
  const multipart = typeof options.multipart === "object" ? options.multipart : {}
  return {
    partSize: multipart.partSize ?? DEFAULT_PART_SIZE,
    concurrency: multipart.concurrency ?? DEFAULT_PART_CONCURRENCY
  }
}

/** The bytes S3 takes in one PutObject: an in-memory payload above it is uploaded in parts even when not asked to. */
export const MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024

/**
 * The store's put. A stream is uploaded in parts (one PutObject when it turns out to be one part or less); an
 * in-memory payload is one PutObject, unless the caller asks for parts with `multipart` (`true` or options) or it is
 * bigger than `MAX_SINGLE_PUT`; then its parts are views of the caller's buffers, not copies.
 */
export const put = <E>(s3: S3, path: string, payload: PutPayload<E>, options: PutOptions) => {
  const ctx = { store: STORE, method: "put", path }
  const headers = putHeaders(s3, options, ctx)
  if (Either.isLeft(headers)) return Effect.fail(headers.left)
  const mode = options.mode ?? "overwrite"
  const multipart = multipartOf(options)
  // Progress is what the server acknowledged: a single PUT once answered, a multipart upload part by part.
  const report = options.onProgress
  let acked = 0
  const onPart = report === undefined ? undefined : (bytes: number) => {
    acked += bytes
    report({ done: acked, total: undefined })
  }
  const single = (body: Uint8Array) =>
    report === undefined
      ? putObjectChecked(s3, path, body, headers.right, mode)
      : Effect.tap(
        putObjectChecked(s3, path, body, headers.right, mode),
        () => report({ done: body.byteLength, total: body.byteLength })
      )
  const inMemory = payloads.inMemory(payload)
  const askedForParts = options.multipart !== undefined
  if (options.multipart === false) {
    return inMemory === undefined
      ? Effect.flatMap(payloads.bytes(payload, ctx), single)
      : Effect.suspend(() => single(payloads.concat(inMemory, false)))
  }
  if (inMemory !== undefined && !askedForParts && payloads.byteLength(inMemory) <= MAX_SINGLE_PUT) {
    return Effect.suspend(() => single(payloads.concat(inMemory, false)))
  }
  const tags = Object.entries(options.tags ?? {})
  return Multipart.splitPut(
    Multipart.toParts(payloads.stream(payload, ctx), multipart.partSize),
    single,
    (parts) =>
      Multipart.upload(upload(s3, path, headers.right, mode), parts, multipart.concurrency, onPart).pipe(
        // Only when the ETag could be neither read from the answer nor computed from the parts' (SSE-KMS on a
        // server that leaves it out): HEAD has it.
        Effect.flatMap((result) =>
          result.eTag !== undefined
            ? Effect.succeed(result)
            : Effect.map(
              Effect.orElseSucceed(Get.head(s3.client.getClient, path), () => undefined),
              (meta): PutResult => ({ eTag: meta?.eTag, version: result.version ?? meta?.version })
            )
        ),
        Effect.tap(() => tagAgain(s3, path, tags))
      )
  )
}
