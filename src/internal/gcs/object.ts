// One function per JSON API call on objects (objects.get for metadata, objects.insert as a media or multipart upload,
// objects.delete, objects.rewrite, objects.list), each mapping its failures through the shared error table. The
// object resource (JSON) is read into ObjectMeta and Attributes here, once.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ObjectPath from "../../ObjectPath.js"
import type { Attributes, ObjectMeta, PutResult } from "../../ObjectStore.js"
import { StoreError } from "../../ObjectStoreError.js"
import * as Errors from "../cloud/errors.js"
import type { Overrides, Tag } from "../cloud/errors.js"
import type { Context } from "../cloud/failure.js"
import { mapFailure } from "../cloud/failure.js"
import type { Page } from "../cloud/list.js"
import type { Query } from "../cloud/request.js"
import { Retryable } from "../http/retry.js"
import type { Response } from "../http/transport.js"
import type { Client } from "./client.js"
import { errorDialect, malformed, STORE } from "./client.js"

/** The fields of an object resource we read (https://cloud.google.com/storage/docs/json_api/v1/objects). */
export interface Resource {
  readonly name: string
  readonly size: string
  readonly updated: string
  readonly etag?: string
  readonly generation?: string
  readonly metageneration?: string
  readonly contentType?: string
  readonly contentDisposition?: string
  readonly contentEncoding?: string
  readonly contentLanguage?: string
  readonly cacheControl?: string
  readonly storageClass?: string
  readonly metadata?: Record<string, string>
}

export const metaOf = (resource: Resource, path = resource.name): ObjectMeta => ({
  path,
  lastModified: new Date(resource.updated),
  size: Number(resource.size),
  eTag: resource.etag,
  version: resource.generation
})

export const attributesOf = (resource: Resource): Attributes => {
  const attributes: { -readonly [K in keyof Attributes]: Attributes[K] } = {}
  if (resource.contentType !== undefined) attributes.contentType = resource.contentType
  if (resource.contentDisposition !== undefined) attributes.contentDisposition = resource.contentDisposition
  if (resource.contentEncoding !== undefined) attributes.contentEncoding = resource.contentEncoding
  if (resource.contentLanguage !== undefined) attributes.contentLanguage = resource.contentLanguage
  if (resource.cacheControl !== undefined) attributes.cacheControl = resource.cacheControl
  if (resource.storageClass !== undefined) attributes.storageClass = resource.storageClass
  if (resource.metadata !== undefined && Object.keys(resource.metadata).length > 0) {
    attributes.metadata = { ...resource.metadata }
  }
  return attributes
}

/** The object resource of attributes, as an upload's metadata. */
export const resourceOf = (name: string, attributes: Attributes): Record<string, unknown> => {
  const resource: Record<string, unknown> = { name }
  for (
    const key of [
      "contentType",
      "contentDisposition",
      "contentEncoding",
      "contentLanguage",
      "cacheControl",
      "storageClass"
    ] as const
  ) {
    if (attributes[key] !== undefined) resource[key] = attributes[key]
  }
  if (attributes.metadata !== undefined) resource.metadata = attributes.metadata
  return resource
}

const isResource = (u: unknown): u is Resource => {
  if (typeof u !== "object" || u === null) return false
  const r = u as Record<string, unknown>
  return typeof r.name === "string" && typeof r.size === "string" && Number.isSafeInteger(Number(r.size)) &&
    typeof r.updated === "string" && !Number.isNaN(Date.parse(r.updated))
}

/** Reads a JSON body that must be an object resource; an unreadable one is retried when the request may be. */
export const readResource = (
  response: Response,
  ctx: Context,
  idempotent: boolean
): Effect.Effect<Resource, StoreError | Retryable, never> =>
  Effect.flatMap(
    Effect.orElseSucceed(response.body.text, () => ""),
    (text): Effect.Effect<Resource, StoreError | Retryable> => {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        parsed = undefined
      }
      if (isResource(parsed)) return Effect.succeed(parsed)
      const error = malformed(ctx, "the answer is not an object resource")
      return Effect.fail(idempotent ? new Retryable(error) : error)
    }
  )

export const putResultOf = (resource: Resource): PutResult => ({ eTag: resource.etag, version: resource.generation })

/** objects.get (metadata): the resource of an object, optionally of one generation. */
export const getResource = (
  gcs: Client,
  path: string,
  method: string,
  generation?: string
): Effect.Effect<Resource, Errors.ErrorOf<"NotFound"> | Errors.AccessError> => {
  const ctx = { store: STORE, method, path }
  return mapFailure(
    gcs.execute(
      {
        method: "GET",
        path: gcs.objectPath(path),
        query: generation === undefined ? undefined : [["generation", generation]],
        idempotent: true
      },
      ctx,
      (response) => readResource(response, ctx, true)
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, { 404: "NotFound" })
  )
}

/** The query of a write's preconditions (https://cloud.google.com/storage/docs/request-preconditions). */
export interface Preconditions {
  readonly ifGenerationMatch?: string | undefined
  readonly ifMetagenerationMatch?: string | undefined
}

export const preconditionQuery = (p: Preconditions): Array<readonly [string, string]> => {
  const query: Array<readonly [string, string]> = []
  if (p.ifGenerationMatch !== undefined) query.push(["ifGenerationMatch", p.ifGenerationMatch])
  if (p.ifMetagenerationMatch !== undefined) query.push(["ifMetagenerationMatch", p.ifMetagenerationMatch])
  return query
}

const encoder = new TextEncoder()

/** A multipart/related body: the resource as JSON, then the bytes (https://cloud.google.com/storage/docs/uploading-objects). */
const multipartBody = (resource: Record<string, unknown>, contentType: string, body: Uint8Array) => {
  const boundary = `effect-obstore-${crypto.randomUUID()}`
  const head = encoder.encode(
    `--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(resource)}\r\n` +
      `--${boundary}\r\ncontent-type: ${contentType}\r\n\r\n`
  )
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`)
  const out = new Uint8Array(head.byteLength + body.byteLength + tail.byteLength)
  out.set(head, 0)
  out.set(body, head.byteLength)
  out.set(tail, head.byteLength + body.byteLength)
  return { boundary, body: out }
}

/** Whether an upload needs the resource (anything beyond a content type): then it is multipart, else media. */
export const needsResource = (attributes: Attributes): boolean =>
  Object.keys(attributes).some((k) => k !== "contentType" && (attributes as Record<string, unknown>)[k] !== undefined)

/** objects.insert in one request: `uploadType=media`, or `multipart` when there are attributes to set. */
export const insert = (
  gcs: Client,
  path: string,
  body: Uint8Array,
  attributes: Attributes,
  preconditions: Preconditions,
  overrides: Overrides<"AlreadyExists" | "PreconditionFailed">,
  idempotent: boolean
): Effect.Effect<PutResult, Errors.ErrorOf<"AlreadyExists" | "PreconditionFailed"> | Errors.AccessError> => {
  const ctx = { store: STORE, method: "put", path }
  const contentType = attributes.contentType ?? "application/octet-stream"
  const query: Array<readonly [string, string]> = preconditionQuery(preconditions)
  let request
  if (needsResource(attributes)) {
    const multipart = multipartBody(resourceOf(path, attributes), contentType, body)
    query.unshift(["uploadType", "multipart"])
    request = {
      headers: {
        "content-type": `multipart/related; boundary=${multipart.boundary}`,
        "content-length": String(multipart.body.byteLength)
      },
      body: multipart.body
    }
  } else {
    query.unshift(["uploadType", "media"], ["name", path])
    request = { headers: { "content-type": contentType, "content-length": String(body.byteLength) }, body }
  }
  return mapFailure(
    gcs.execute(
      { method: "POST", path: gcs.uploadPath, query, ...request, idempotent },
      ctx,
      (response) => Effect.map(readResource(response, ctx, idempotent), putResultOf)
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, overrides)
  )
}

/** objects.delete; a missing object is fine (deletes are then safe to retry). */
export const deleteObject = (gcs: Client, path: string) => {
  const ctx = { store: STORE, method: "delete", path }
  return gcs.execute(
    { method: "DELETE", path: gcs.objectPath(path), idempotent: true },
    ctx,
    (response) => response.body.discard
  ).pipe(
    Effect.catchTag("HttpFailure", (failure) =>
      Errors.isObjectMissing(errorDialect, failure)
        ? Effect.void
        : Effect.fail(Errors.toError(errorDialect, ctx, failure)))
  )
}

/**
 * objects.rewrite: a copy the service may do in several calls, each answering with a `rewriteToken` to send back
 * until `done` (big objects, or across locations and storage classes).
 */
export const rewrite = (gcs: Client, from: string, to: string, overwrite: boolean) => {
  const ctx = { store: STORE, method: "copy", path: from }
  const overrides: Overrides<Tag & ("NotFound" | "AlreadyExists")> = Errors.copy(to, overwrite)
  const call = (
    token: string | undefined
  ): Effect.Effect<void, Errors.ErrorOf<"NotFound" | "AlreadyExists"> | Errors.AccessError> => {
    const query: Array<readonly [string, string]> = []
    if (!overwrite) query.push(["ifGenerationMatch", "0"])
    if (token !== undefined) query.push(["rewriteToken", token])
    return mapFailure(
      gcs.execute(
        { method: "POST", path: gcs.rewritePath(from, to), query: query as Query, idempotent: overwrite },
        ctx,
        (response) =>
          Effect.flatMap(response.body.text, (text): Effect.Effect<string | undefined, StoreError | Retryable> => {
            let parsed: { done?: unknown; rewriteToken?: unknown } | undefined
            try {
              parsed = JSON.parse(text) as typeof parsed
            } catch {
              parsed = undefined
            }
            if (parsed === undefined || typeof parsed.done !== "boolean") {
              const error = malformed(ctx, "objects.rewrite answered without a rewrite response")
              return Effect.fail(overwrite ? new Retryable(error) : error)
            }
            if (parsed.done) return Effect.succeed(undefined)
            if (typeof parsed.rewriteToken !== "string" || parsed.rewriteToken === "") {
              return Effect.fail(malformed(ctx, "objects.rewrite is not done and gave no rewriteToken"))
            }
            return Effect.succeed(parsed.rewriteToken)
          })
      ),
      (failure) => Errors.toError(errorDialect, ctx, failure, overrides)
    ).pipe(Effect.flatMap((next) => next === undefined ? Effect.void : call(next)))
  }
  return call(undefined)
}

interface ListBody {
  readonly items?: ReadonlyArray<unknown>
  readonly prefixes?: ReadonlyArray<unknown>
  readonly nextPageToken?: unknown
}

/** The objects of a page after `offset`; names that break our path rules (other clients wrote them) are left out. */
const pageOf = (ctx: Context, body: ListBody, offset: string | undefined): Page | StoreError => {
  const objects: Array<ObjectMeta> = []
  for (const item of body.items ?? []) {
    if (!isResource(item)) return malformed(ctx, "objects.list returned an item that is not an object resource")
    if (offset !== undefined && item.name <= offset) continue
    if (Either.isLeft(ObjectPath.parse(item.name))) continue
    objects.push(metaOf(item))
  }
  const commonPrefixes: Array<string> = []
  for (const p of body.prefixes ?? []) {
    if (typeof p !== "string") return malformed(ctx, "objects.list returned a prefix that is not a string")
    commonPrefixes.push(p.endsWith("/") ? p.slice(0, -1) : p)
  }
  const next = typeof body.nextPageToken === "string" && body.nextPageToken !== "" ? body.nextPageToken : undefined
  return { objects, commonPrefixes, next }
}

/**
 * objects.list: one page. `startOffset` is inclusive on GCS and our offset exclusive (and some servers ignore it), so
 * names up to the offset are also dropped here.
 */
export const listPage = (
  gcs: Client,
  method: string,
  prefix: string,
  options: {
    readonly delimiter: boolean
    readonly token?: string | undefined
    readonly offset?: string | undefined
    readonly pageSize?: number | undefined
  }
) => {
  const ctx = { store: STORE, method, path: prefix }
  const query: Array<readonly [string, string]> = []
  if (prefix !== "") query.push(["prefix", prefix + "/"])
  if (options.delimiter) query.push(["delimiter", "/"])
  if (options.token !== undefined) query.push(["pageToken", options.token])
  if (options.offset !== undefined) query.push(["startOffset", options.offset])
  if (options.pageSize !== undefined) query.push(["maxResults", String(options.pageSize)])
  return mapFailure(
    gcs.execute(
      { method: "GET", path: gcs.objectPath(undefined), query, idempotent: true },
      ctx,
      (response) =>
        Effect.flatMap(response.body.text, (text): Effect.Effect<Page, StoreError | Retryable> => {
          let body: ListBody | undefined
          try {
            body = JSON.parse(text) as ListBody
          } catch {
            body = undefined
          }
          // A listing is safe to ask for again: an unreadable page is retried like a broken connection.
          if (typeof body !== "object" || body === null) {
            return Effect.fail(new Retryable(malformed(ctx, "objects.list answered with no JSON document")))
          }
          const page = pageOf(ctx, body, options.offset)
          return page instanceof StoreError ? Effect.fail(page) : Effect.succeed(page)
        })
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )
}
