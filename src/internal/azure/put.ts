// Azure's put: the request headers of a put (content headers as x-ms-blob-*, metadata, tags, tier, the conditional
// mode), one Put Blob for a payload that fits, and Put Block + Put Block List through the shared multipart driver for
// streams. Blocks of a failed upload are never committed: Azure drops uncommitted blocks after a week, and they are
// invisible meanwhile, so there is nothing to abort.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { createHash, randomBytes } from "node:crypto"
import type { Attributes, PutMode, PutOptions, PutPayload, PutResult } from "../../ObjectStore.js"
import type { PermissionDenied, StoreError, Unauthenticated } from "../../ObjectStoreError.js"
import { AlreadyExists, NotSupported, PreconditionFailed } from "../../ObjectStoreError.js"
import * as Errors from "../cloud/errors.js"
import * as Multipart from "../cloud/multipart.js"
import { isLostResponse } from "../cloud/request.js"
import { header } from "../http/transport.js"
import * as payloads from "../payload.js"
import type { Azure } from "./client.js"
import { errorDialect, STORE } from "./client.js"
import { putBlob, putBlock, putBlockList } from "./object.js"

/** Azure's block sizes: at most 4,000 MiB a block and 50,000 blocks; no minimum. */
export const PART_LIMITS = { minPartSize: 1, maxPartSize: 4000 * 1024 * 1024 } as const
/** The bytes Azure takes in one Put Blob (5,000 MiB since 2019-12-12). */
export const MAX_SINGLE_PUT = 5000 * 1024 * 1024
const DEFAULT_PART_SIZE = 8 * 1024 * 1024
const DEFAULT_PART_CONCURRENCY = 4

type Ctx = { readonly store: string; readonly method: string; readonly path: string }
export type WriteError = AlreadyExists | PreconditionFailed | PermissionDenied | Unauthenticated | StoreError

// Attribute -> header of Put Blob and Put Block List (Get Blob answers with the standard names).
const contentHeaders: ReadonlyArray<readonly [keyof Attributes & string, string]> = [
  ["contentType", "x-ms-blob-content-type"],
  ["contentDisposition", "x-ms-blob-content-disposition"],
  ["contentEncoding", "x-ms-blob-content-encoding"],
  ["contentLanguage", "x-ms-blob-content-language"],
  ["cacheControl", "x-ms-blob-cache-control"]
]

/** The headers of a put: content headers, metadata, tier, tags and the conditional mode. */
export const putHeaders = (
  options: PutOptions,
  ctx: Ctx
): Either.Either<Record<string, string>, NotSupported | PreconditionFailed> => {
  const headers: Record<string, string> = {}
  const attributes = options.attributes ?? {}
  for (const [key, name] of contentHeaders) {
    const value = attributes[key]
    if (typeof value === "string") headers[name] = value
  }
  if (attributes.storageClass !== undefined) headers["x-ms-access-tier"] = attributes.storageClass
  if (attributes.metadata !== undefined) {
    for (const key in attributes.metadata) headers[`x-ms-meta-${key.toLowerCase()}`] = attributes.metadata[key]
  }
  const tags = Object.entries(options.tags ?? {})
  if (tags.length > 0) {
    headers["x-ms-tags"] = tags.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")
  }
  const mode = options.mode ?? "overwrite"
  if (mode === "create") headers["if-none-match"] = "*"
  else if (mode !== "overwrite") {
    if (mode.version !== undefined) {
      return Either.left(
        new NotSupported({ ...ctx, description: "Azure conditional puts compare ETags, not versions" })
      )
    }
    if (mode.eTag === undefined) {
      return Either.left(new PreconditionFailed({ ...ctx, description: "an update needs the ETag to compare" }))
    }
    headers["if-match"] = mode.eTag
  }
  return Either.right(headers)
}

type Probe = {
  readonly eTag: string | undefined
  readonly md5: string | undefined
  readonly version: string | undefined
}

/** The ETag and Content-MD5 of a blob, or undefined when it is missing. */
const probe = (azure: Azure, ctx: Ctx, path: string): Effect.Effect<Probe | undefined, WriteError> =>
  azure.client.execute(
    { method: "HEAD", path: azure.client.pathOf(path), idempotent: true },
    ctx,
    (response) =>
      Effect.as(response.body.discard, {
        eTag: header(response.headers, "etag"),
        md5: header(response.headers, "content-md5"),
        version: header(response.headers, "x-ms-version-id")
      })
  ).pipe(
    Effect.catchTag("HttpFailure", (failure) =>
      Errors.isObjectMissing(errorDialect, failure)
        ? Effect.succeed(undefined)
        : Effect.fail(Errors.toError(errorDialect, ctx, failure)))
  )

/**
 * A conditional Put Blob whose answer was lost may have been applied. The blob tells: its Content-MD5 (Azure keeps
 * the MD5 of a Put Blob's body) equal to ours means it was; the old blob untouched (or none, for a create) means it
 * was not, and it is sent again; anything else is someone else's write.
 */
const putBlobChecked = (
  azure: Azure,
  path: string,
  body: Uint8Array,
  headers: Record<string, string>,
  mode: PutMode,
  tries = 0
): Effect.Effect<PutResult, WriteError> => {
  const sent = putBlob(azure, path, body, headers, mode)
  if (mode === "overwrite") return sent
  return Effect.catchIf(sent, isLostResponse, (lost) => {
    const ctx = { store: STORE, method: "put", path }
    const again = tries < azure.config.retry.maxRetries
      ? putBlobChecked(azure, path, body, headers, mode, tries + 1)
      : Effect.fail(lost)
    return Effect.flatMap(
      Effect.catchAll(probe(azure, ctx, path), () => Effect.fail(lost)),
      (found): Effect.Effect<PutResult, WriteError> => {
        if (found === undefined) {
          return mode === "create"
            ? again
            : Effect.fail(new PreconditionFailed({ ...ctx, description: "the object to update does not exist" }))
        }
        if (found.md5 === createHash("md5").update(body).digest("base64")) {
          return Effect.succeed({ eTag: found.eTag, version: found.version })
        }
        if (mode !== "create" && found.eTag === mode.eTag) return again
        return Effect.fail(
          mode === "create"
            ? new AlreadyExists({ ...ctx, description: "the response was lost, and another object is there now" })
            : new PreconditionFailed({
              ...ctx,
              description: "the response was lost, and the object now holds another write"
            })
        )
      }
    )
  })
}

// The part size and concurrency were checked against Azure's limits by ObjectStore.make before any I/O.
const multipartOf = (options: PutOptions) => {
  const multipart = typeof options.multipart === "object" ? options.multipart : {}
  return {
    partSize: multipart.partSize ?? DEFAULT_PART_SIZE,
    concurrency: multipart.concurrency ?? DEFAULT_PART_CONCURRENCY
  }
}

/**
 * Put Block + Put Block List as an upload for the shared driver. Block ids are base64 of a random upload id and the
 * block number, all of one length as Azure requires; the id keeps two concurrent uploads of one blob apart.
 */
const blockUpload = (
  azure: Azure,
  path: string,
  headers: Record<string, string>,
  mode: PutMode
): Multipart.Upload<string, string, PutResult, WriteError> => ({
  start: Effect.sync(() => randomBytes(12).toString("hex")),
  part: (id, body, index) => {
    const blockId = Buffer.from(`${id}-${String(index).padStart(6, "0")}`).toString("base64")
    return Effect.as(putBlock(azure, path, blockId, body), blockId)
  },
  complete: (_id, blockIds) => putBlockList(azure, path, blockIds, headers, mode),
  // Uncommitted blocks cannot be deleted one by one; they vanish when the blob is committed or after a week.
  abort: () => Effect.void
})

/**
 * The store's put. A stream goes up in blocks (one Put Blob when it turns out to be one block or less); an in-memory
 * payload is one Put Blob, unless the caller asks for blocks with `multipart` or it is bigger than `MAX_SINGLE_PUT`.
 */
export const put = <E>(azure: Azure, path: string, payload: PutPayload<E>, options: PutOptions) => {
  const ctx = { store: STORE, method: "put", path }
  const headers = putHeaders(options, ctx)
  if (Either.isLeft(headers)) return Effect.fail(headers.left)
  const mode = options.mode ?? "overwrite"
  const multipart = multipartOf(options)
  const single = (body: Uint8Array) => putBlobChecked(azure, path, body, headers.right, mode)
  const inMemory = payloads.inMemory(payload)
  if (options.multipart === false) {
    return inMemory === undefined
      ? Effect.flatMap(payloads.bytes(payload, ctx), single)
      : Effect.suspend(() => single(payloads.concat(inMemory, false)))
  }
  if (inMemory !== undefined && options.multipart === undefined && payloads.byteLength(inMemory) <= MAX_SINGLE_PUT) {
    return Effect.suspend(() => single(payloads.concat(inMemory, false)))
  }
  return Multipart.splitPut(
    Multipart.toParts(payloads.stream(payload, ctx), multipart.partSize),
    single,
    (parts) => Multipart.upload(blockUpload(azure, path, headers.right, mode), parts, multipart.concurrency)
  )
}
