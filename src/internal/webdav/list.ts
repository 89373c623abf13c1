// Listing over PROPFIND (https://www.rfc-editor.org/rfc/rfc4918#section-9.1): one Depth: infinity request for a
// whole listing, falling back to walking Depth: 1 when the server refuses infinity (403, as RFC 4918 lets it) or
// the answer is bigger than we read; listWithDelimiter is one Depth: 1 request. Collections become common
// prefixes; objects come sorted, as every store lists them.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as ObjectPath from "../../ObjectPath.js"
import type { ListResult, ObjectMeta } from "../../ObjectStore.js"
import type { NotSupported } from "../../ObjectStoreError.js"
import { StoreError } from "../../ObjectStoreError.js"
import * as Errors from "../cloud/errors.js"
import type { Context, HttpFailure } from "../cloud/failure.js"
import { isFailure } from "../cloud/failure.js"
import { Retryable } from "../http/retry.js"
import type { Body, TransportError } from "../http/transport.js"
import type { WebDav } from "./client.js"
import { decodeSegments, errorDialect, isUnsupportedStatus, malformed, notWebDav, STORE } from "./client.js"
import { isTemporary } from "./temp.js"
import type { Entry } from "./xml.js"
import { MAX_MULTISTATUS_BYTES, parseMultistatus } from "./xml.js"

const PROPFIND_BODY = "<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\"><D:prop>" +
  "<D:resourcetype/><D:getcontentlength/><D:getlastmodified/><D:getetag/></D:prop></D:propfind>"

const TOO_BIG = Symbol("TooBig")

/** The body as text, or TOO_BIG once it passes the cap (the rest is not read). */
const readCapped = (body: Body): Effect.Effect<string | typeof TOO_BIG, TransportError> =>
  Effect.map(
    Stream.runFoldWhile(
      body.stream,
      { chunks: [] as Array<Uint8Array>, size: 0 },
      (acc) => acc.size <= MAX_MULTISTATUS_BYTES,
      (acc, chunk) => {
        acc.chunks.push(chunk)
        acc.size += chunk.byteLength
        return acc
      }
    ),
    (acc) => acc.size > MAX_MULTISTATUS_BYTES ? TOO_BIG : Buffer.concat(acc.chunks, acc.size).toString("utf8")
  )

/** A resource as the listing sees it: its object path (relative to the store's root) and its properties. */
export interface Resource {
  readonly path: string
  readonly entry: Entry
}

/** The object path of an href, or undefined when it is outside the base collection or not a valid path. */
const pathOfHref = (dav: WebDav, href: string): string | undefined => {
  let pathname: string
  try {
    pathname = new URL(href, dav.client.origin).pathname
  } catch {
    return undefined
  }
  const segments = decodeSegments(pathname)
  const base = dav.client.baseSegments
  if (segments === undefined || segments.length < base.length) return undefined
  for (let i = 0; i < base.length; i++) if (segments[i] !== base[i]) return undefined
  const path = segments.slice(base.length).join("/")
  return path === "" || Either.isRight(ObjectPath.parse(path)) ? path : undefined
}

/** One PROPFIND; `TOO_BIG` when the answer is larger than we read. */
export const propfind = (dav: WebDav, path: string, depth: "0" | "1" | "infinity", ctx: Context) =>
  dav.client.execute(
    {
      method: "PROPFIND",
      path: dav.client.pathOf(path, depth !== "0"),
      headers: { depth, "content-type": "application/xml; charset=utf-8" },
      body: PROPFIND_BODY,
      idempotent: true
    },
    ctx,
    (response) =>
      Effect.flatMap(readCapped(response.body), (text): Effect.Effect<
        ReadonlyArray<Resource> | typeof TOO_BIG,
        Retryable
      > => {
        if (text === TOO_BIG) return Effect.succeed(TOO_BIG)
        const entries = parseMultistatus(text)
        // A PROPFIND is safe to send again: an unreadable answer is retried like a broken connection.
        if (typeof entries === "string") return Effect.fail(new Retryable(malformed(ctx, `PROPFIND: ${entries}`)))
        const resources: Array<Resource> = []
        for (const entry of entries) {
          const at = pathOfHref(dav, entry.href)
          if (at !== undefined && !isTemporary(at)) resources.push({ path: at, entry })
        }
        return Effect.succeed(resources)
      })
  )

/** The typed error of a failed PROPFIND of a listing (a server that is not WebDAV is NotSupported, named). */
const listError = (ctx: Context, failure: HttpFailure) =>
  isUnsupportedStatus(failure.status)
    ? notWebDav(ctx, "PROPFIND", failure, "listing")
    : Errors.toError(errorDialect, ctx, failure)

/** What a path names on the server: an object, a collection, or nothing. Failures are left raw. */
export const resourceType = (
  dav: WebDav,
  path: string,
  ctx: Context
): Effect.Effect<"missing" | "collection" | "object", HttpFailure | StoreError | Errors.AccessError> =>
  propfind(dav, path, "0", ctx).pipe(
    Effect.map((resources) =>
      resources === TOO_BIG || resources.length === 0
        ? "missing" as const
        : resources[0].entry.collection
        ? "collection" as const
        : "object" as const
    ),
    Effect.catchIf(
      (e): e is HttpFailure => isFailure(e) && e.status === 404,
      () => Effect.succeed("missing" as const)
    )
  )

const metaOf = (ctx: Context, { entry, path }: Resource): ObjectMeta | StoreError => {
  const size = Number(entry.contentLength ?? "NaN")
  const lastModified = new Date(entry.lastModified ?? "")
  if (!Number.isSafeInteger(size) || size < 0 || Number.isNaN(lastModified.getTime())) {
    return malformed(
      ctx,
      `PROPFIND gave ${JSON.stringify(path)} the length ${entry.contentLength} and time ${entry.lastModified}`
    )
  }
  return { path, size, lastModified, eTag: entry.eTag }
}

const under = (prefix: string) => (path: string) => prefix === "" || path.startsWith(prefix + "/")

/** Sorts and checks the objects among resources. */
const objectsOf = (ctx: Context, resources: ReadonlyArray<Resource>, keep: (path: string) => boolean) => {
  const objects: Array<ObjectMeta> = []
  for (const resource of resources) {
    if (resource.entry.collection || !keep(resource.path)) continue
    const meta = metaOf(ctx, resource)
    if (meta instanceof StoreError) return meta
    objects.push(meta)
  }
  return objects.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
}

type ListFailure = NotSupported | StoreError | Errors.AccessError

/** Depth: 1 of a collection; a missing one is empty. */
const children = (dav: WebDav, dir: string, ctx: Context) =>
  propfind(dav, dir, "1", ctx).pipe(
    Effect.flatMap((resources) =>
      resources === TOO_BIG
        ? Effect.fail(malformed(ctx, `the PROPFIND answer is larger than ${MAX_MULTISTATUS_BYTES} bytes`))
        : Effect.succeed(resources.filter((r) => r.path !== dir && under(dir)(r.path)))
    ),
    Effect.catchIf(isFailure, (failure) =>
      failure.status === 404 ? Effect.succeed([]) : Effect.fail(listError(ctx, failure)))
  )

// Siblings in the order of their full paths: a collection sorts as its name followed by "/".
const walkKey = (r: Resource) => r.entry.collection ? r.path + "/" : r.path

/** Every object below `dir`, walking collections one Depth: 1 request each, depth first, in lexicographic order. */
const walk = (dav: WebDav, dir: string, ctx: Context): Stream.Stream<ObjectMeta, ListFailure> =>
  Stream.unwrap(Effect.map(children(dav, dir, ctx), (resources) => {
    const sorted = [...resources].sort((a, b) => walkKey(a) < walkKey(b) ? -1 : walkKey(a) > walkKey(b) ? 1 : 0)
    return Stream.fromIterable(sorted).pipe(
      Stream.flatMap((r) => {
        if (r.entry.collection) return walk(dav, r.path, ctx)
        const meta = metaOf(ctx, r)
        return meta instanceof StoreError ? Stream.fail(meta) : Stream.succeed(meta)
      })
    )
  }))

/** Everything below `prefix`: one Depth: infinity request, or the walk when the server will not answer it. */
export const list = (
  dav: WebDav,
  prefix: string,
  offset: string | undefined
): Stream.Stream<ObjectMeta, ListFailure> => {
  const ctx = { store: STORE, method: "list", path: prefix }
  const after = (s: Stream.Stream<ObjectMeta, ListFailure>) =>
    offset === undefined ? s : Stream.filter(s, (meta) => meta.path > offset)
  if (dav.infinityRefused) return after(walk(dav, prefix, ctx))
  const infinity = propfind(dav, prefix, "infinity", ctx).pipe(
    Effect.map((resources): Stream.Stream<ObjectMeta, ListFailure> => {
      if (resources === TOO_BIG) return walk(dav, prefix, ctx)
      const objects = objectsOf(ctx, resources, under(prefix))
      return objects instanceof StoreError ? Stream.fail(objects) : Stream.fromIterable(objects)
    }),
    Effect.catchIf(isFailure, (failure) => {
      if (failure.status === 404) return Effect.succeed(Stream.empty)
      if (failure.status === 403 || failure.status === 400) {
        dav.infinityRefused = true
        return Effect.succeed(walk(dav, prefix, ctx))
      }
      return Effect.fail(listError(ctx, failure))
    })
  )
  return after(Stream.unwrap(infinity))
}

/** The objects directly below `prefix` and its collections as common prefixes: one Depth: 1 request. */
export const listWithDelimiter = (dav: WebDav, prefix: string): Effect.Effect<ListResult, ListFailure> => {
  const ctx = { store: STORE, method: "listWithDelimiter", path: prefix }
  return Effect.flatMap(children(dav, prefix, ctx), (resources) => {
    const objects = objectsOf(ctx, resources, () => true)
    if (objects instanceof StoreError) return Effect.fail(objects)
    const commonPrefixes = resources.filter((r) => r.entry.collection).map((r) => r.path).sort()
    return Effect.succeed({ objects, commonPrefixes })
  })
}
