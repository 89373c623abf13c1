// One function per Blob REST call on blobs (Put Blob, Put Block, Put Block List, Copy Blob, Delete Blob, List
// Blobs), each mapping its failures through the shared error table with its own overrides. Get Blob and Get Blob
// Properties go through the shared get (`client.getClient`); Blob Batch is in `batch.ts`.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ObjectPath from "../../ObjectPath.js"
import type { ObjectMeta, PutMode, PutResult } from "../../ObjectStore.js"
import * as Errors from "../cloud/errors.js"
import { mapFailure } from "../cloud/failure.js"
import type { Page } from "../cloud/list.js"
import { Retryable } from "../http/retry.js"
import { header } from "../http/transport.js"
import * as Xml from "../s3/xml.js"
import type { Azure } from "./client.js"
import { encodeQuery, errorDialect, malformed, STORE } from "./client.js"

const encoder = new TextEncoder()

const result = (headers: Parameters<typeof header>[0]): PutResult => ({
  eTag: header(headers, "etag"),
  version: header(headers, "x-ms-version-id")
})

/** Put Blob (https://learn.microsoft.com/rest/api/storageservices/put-blob): a whole block blob in one request. */
export const putBlob = (
  azure: Azure,
  path: string,
  body: Uint8Array,
  headers: Record<string, string>,
  mode: PutMode
) => {
  const ctx = { store: STORE, method: "put", path }
  return mapFailure(
    azure.client.execute(
      {
        method: "PUT",
        path: azure.client.pathOf(path),
        headers: { ...headers, "x-ms-blob-type": "BlockBlob", "content-length": String(body.byteLength) },
        body,
        idempotent: mode === "overwrite"
      },
      ctx,
      (response) => Effect.as(response.body.discard, result(response.headers))
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, Errors.write(Errors.writeMode(mode)))
  )
}

/** Put Block (https://learn.microsoft.com/rest/api/storageservices/put-block): an uncommitted block, safe to repeat. */
export const putBlock = (azure: Azure, path: string, blockId: string, body: Uint8Array) => {
  const ctx = { store: STORE, method: "put", path }
  return mapFailure(
    azure.client.execute(
      {
        method: "PUT",
        path: azure.client.pathOf(path),
        query: [["comp", "block"], ["blockid", blockId]],
        headers: { "content-length": String(body.byteLength) },
        body,
        idempotent: true
      },
      ctx,
      (response) => response.body.discard
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )
}

/** Put Block List (https://learn.microsoft.com/rest/api/storageservices/put-block-list): commits the blocks in order. */
export const putBlockList = (
  azure: Azure,
  path: string,
  blockIds: ReadonlyArray<string>,
  headers: Record<string, string>,
  mode: PutMode
) => {
  const ctx = { store: STORE, method: "put", path }
  const body = encoder.encode(
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>" +
      blockIds.map((id) => `<Latest>${id}</Latest>`).join("") + "</BlockList>"
  )
  return mapFailure(
    azure.client.execute(
      {
        method: "PUT",
        path: azure.client.pathOf(path),
        query: [["comp", "blocklist"]],
        headers: { ...headers, "content-type": "application/xml", "content-length": String(body.byteLength) },
        body,
        // Committing the same list twice stores the same blob; only a conditional commit must not be repeated.
        idempotent: mode === "overwrite"
      },
      ctx,
      (response) => Effect.as(response.body.discard, result(response.headers))
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, Errors.write(Errors.writeMode(mode)))
  )
}

const COPY_POLL_MS = 200
const COPY_POLLS = 300

/**
 * Copy Blob (https://learn.microsoft.com/rest/api/storageservices/copy-blob). Within one account Azure finishes the
 * copy before answering (`x-ms-copy-status: success`); a copy still pending is waited for by polling its properties.
 */
export const copyBlob = (azure: Azure, from: string, to: string, overwrite: boolean) => {
  const ctx = { store: STORE, method: "copy", path: from }
  const target = azure.client.target
  // A SAS authorizes only the request it is on: the source of a copy carries it too.
  const credential = azure.client.credential
  const sas = credential._tag === "Sas" ? `?${encodeQuery(credential.query)}` : ""
  const headers: Record<string, string> = {
    "x-ms-copy-source": `${target.origin}${azure.client.pathOf(from)}${sas}`,
    "content-length": "0"
  }
  if (!overwrite) headers["if-none-match"] = "*"
  const copied = mapFailure(
    azure.client.execute(
      { method: "PUT", path: azure.client.pathOf(to), headers, idempotent: overwrite },
      ctx,
      (response) => Effect.as(response.body.discard, header(response.headers, "x-ms-copy-status"))
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, Errors.copy(to, overwrite))
  )
  return Effect.flatMap(
    copied,
    (status) => status === "pending" ? waitForCopy(azure, ctx, to, COPY_POLLS) : Effect.void
  )
}

type Ctx = { readonly store: string; readonly method: string; readonly path: string }

const waitForCopy = (azure: Azure, ctx: Ctx, to: string, polls: number): Effect.Effect<void, Errors.AccessError> =>
  Effect.flatMap(copyStatus(azure, ctx, to), (status) =>
    status === "pending" && polls > 0
      ? Effect.zipRight(Effect.sleep(COPY_POLL_MS), waitForCopy(azure, ctx, to, polls - 1))
      : status === "success" || status === undefined
      ? Effect.void
      : Effect.fail(malformed(ctx, `the copy to "${to}" ended with status ${status}`)))

const copyStatus = (azure: Azure, ctx: Ctx, to: string) =>
  mapFailure(
    azure.client.execute(
      { method: "HEAD", path: azure.client.pathOf(to), idempotent: true },
      ctx,
      (response) => Effect.as(response.body.discard, header(response.headers, "x-ms-copy-status"))
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )

/** Delete Blob (https://learn.microsoft.com/rest/api/storageservices/delete-blob); a missing blob is fine. */
export const deleteBlob = (azure: Azure, path: string) => {
  const ctx = { store: STORE, method: "delete", path }
  return azure.client.execute(
    { method: "DELETE", path: azure.client.pathOf(path), idempotent: true },
    ctx,
    (response) => response.body.discard
  ).pipe(
    Effect.catchTag("HttpFailure", (failure) =>
      Errors.isObjectMissing(errorDialect, failure)
        ? Effect.void
        : Effect.fail(Errors.toError(errorDialect, ctx, failure)))
  )
}

/** One page of List Blobs as parsed: entries, prefixes and the next marker; a string says why it is unreadable. */
const parseListPage = (text: string): Page | string => {
  const results = Xml.child(Xml.parse(text), "EnumerationResults")
  if (results === undefined) return "the body is not an EnumerationResults document"
  const blobs = Xml.child(results, "Blobs")
  const objects: Array<ObjectMeta> = []
  for (const blob of Xml.list(blobs, "Blob")) {
    const name = Xml.text(blob, "Name") ?? ""
    const properties = Xml.child(blob, "Properties")
    const sizeText = Xml.text(properties, "Content-Length") ?? ""
    const size = Number(sizeText)
    const lastModified = new Date(Xml.text(properties, "Last-Modified") ?? "")
    if (sizeText === "" || !Number.isSafeInteger(size) || size < 0 || Number.isNaN(lastModified.getTime())) {
      return `"${name}" has size ${sizeText}, time ${Xml.text(properties, "Last-Modified")}`
    }
    // Keys that break our path rules (written by other clients) are left out, as on S3.
    if (Either.isLeft(ObjectPath.parse(name))) continue
    const eTag = Xml.text(properties, "Etag")
    // List bodies may carry ETags unquoted (Azurite does); headers carry them quoted: one form for both.
    const quoted = eTag === undefined || eTag === "" ? undefined : eTag.startsWith("\"") ? eTag : `"${eTag}"`
    objects.push({ path: name, lastModified, size, eTag: quoted, version: Xml.text(blob, "VersionId") })
  }
  const commonPrefixes = Xml.list(blobs, "BlobPrefix").map((p) => {
    const name = Xml.text(p, "Name") ?? ""
    return name.endsWith("/") ? name.slice(0, -1) : name
  })
  const next = Xml.text(results, "NextMarker")
  return { objects, commonPrefixes, next: next === undefined || next === "" ? undefined : next }
}

/** List Blobs (https://learn.microsoft.com/rest/api/storageservices/list-blobs): one page. */
export const listBlobs = (
  azure: Azure,
  method: string,
  prefix: string,
  options: { readonly delimiter: boolean; readonly marker?: string | undefined }
) => {
  const ctx = { store: STORE, method, path: prefix }
  const query: Array<readonly [string, string]> = [["restype", "container"], ["comp", "list"], ["maxresults", "5000"]]
  if (prefix !== "") query.push(["prefix", prefix + "/"])
  if (options.delimiter) query.push(["delimiter", "/"])
  if (options.marker !== undefined) query.push(["marker", options.marker])
  return mapFailure(
    azure.client.execute(
      { method: "GET", path: azure.client.pathOf(undefined), query, idempotent: true },
      ctx,
      (response) =>
        Effect.flatMap(response.body.text, (text): Effect.Effect<Page, Retryable> => {
          const page = parseListPage(text)
          // A listing is safe to ask for again: an unreadable page is retried like a broken connection.
          return typeof page === "string"
            ? Effect.fail(new Retryable(malformed(ctx, `List Blobs: ${page}`)))
            : Effect.succeed(page)
        })
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure)
  )
}
