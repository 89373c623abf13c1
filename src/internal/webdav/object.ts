// One function per WebDAV request on resources (RFC 4918): PUT, MKCOL of missing parent collections (remembered per
// store), DELETE, and COPY/MOVE with an explicit Overwrite header. Failures go through the shared error table; a
// server that does not do a method (405/501) is NotSupported naming what it answered.
import * as Effect from "effect/Effect"
import type { PutResult } from "../../ObjectStore.js"
import type { DeleteError, NotSupported } from "../../ObjectStoreError.js"
import { NotFound, StoreError } from "../../ObjectStoreError.js"
import * as RetryConfig from "../../RetryConfig.js"
import * as Errors from "../cloud/errors.js"
import type { Context } from "../cloud/failure.js"
import type { HttpFailure } from "../cloud/failure.js"
import { isFailure } from "../cloud/failure.js"
import * as Get from "../cloud/get.js"
import { isLostResponse } from "../cloud/request.js"
import { header } from "../http/transport.js"
import type { WebDav } from "./client.js"
import { errorDialect, isUnsupportedStatus, notWebDav, STORE } from "./client.js"
import { resourceType } from "./list.js"

type Failure = HttpFailure | StoreError | NotSupported | Errors.AccessError

const parentsOf = (path: string): ReadonlyArray<string> => {
  const parts = path.split("/")
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"))
}

const accessError = (ctx: Context, failure: HttpFailure, request: string, needs: string) =>
  isUnsupportedStatus(failure.status)
    ? notWebDav(ctx, request, failure, needs)
    : Errors.toError(errorDialect, ctx, failure)

/**
 * Retries a request answered 423 Locked. rclone takes a short lock on a resource for each write, so concurrent
 * writes into one collection (their MKCOLs of the same parent) meet it; a client's real LOCK is waited for as long
 * as the retry settings allow, then reported.
 */
export const retryLocked = <A, E>(dav: WebDav, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.retry(effect, {
    schedule: RetryConfig.schedule(dav.client.retry),
    while: (e) => isFailure(e) && e.status === 423
  })

/** MKCOL of one collection ("" is the store's base collection): 201 made it, 405 says something is there already. */
const mkcolOnce = (dav: WebDav, dir: string, ctx: Context) =>
  retryLocked(
    dav,
    dav.client.execute(
      { method: "MKCOL", path: dav.client.pathOf(dir, true), idempotent: true },
      ctx,
      (response) => response.body.discard
    )
  ).pipe(
    Effect.catchIf(
      (e) => isFailure(e) && e.status === 405,
      () => Effect.void
    )
  )

/**
 * MKCOL of a collection; a top-level one answered 409 (its parent, the base collection the store was given, is
 * missing) makes the base collection first. rclone answers 201 for an existing collection too.
 */
const mkcol = (dav: WebDav, dir: string, ctx: Context) =>
  mkcolOnce(dav, dir, ctx).pipe(
    Effect.catchIf(
      (e) => isFailure(e) && e.status === 409 && !dir.includes("/"),
      () => Effect.zipRight(mkcolOnce(dav, "", ctx), mkcolOnce(dav, dir, ctx))
    ),
    Effect.catchIf(isFailure, (failure) => Effect.fail(accessError(ctx, failure, "MKCOL", "writing"))),
    Effect.tap(() => dav.dirs.add(dir))
  )

/** Makes the parent collections of `path` that are not known to exist, outermost first. */
export const ensureParents = (dav: WebDav, path: string, ctx: Context) =>
  Effect.forEach(parentsOf(path).filter((dir) => !dav.dirs.has(dir)), (dir) => mkcol(dav, dir, ctx), {
    discard: true
  })

/**
 * Sends a request that needs the parent collections of `target`: they are made first where not known, and made again
 * (the cache forgotten) when the server still answers that they are missing (someone deleted them meanwhile).
 */
export const withParents = <A, E>(
  dav: WebDav,
  target: string,
  ctx: Context,
  parentMissing: (status: number) => boolean,
  send: Effect.Effect<A, E | HttpFailure>
): Effect.Effect<A, E | Failure> =>
  Effect.zipRight(
    ensureParents(dav, target, ctx),
    Effect.catchIf(send, (e): e is HttpFailure => isFailure(e) && parentMissing(e.status), () => {
      const parents = parentsOf(target)
      for (const dir of parents) dav.dirs.delete(dir)
      // An object at the top level: the base collection itself is missing.
      const made = parents.length === 0
        ? Effect.catchIf(
          mkcolOnce(dav, "", ctx),
          isFailure,
          (f) => Effect.fail(accessError(ctx, f, "MKCOL", "writing"))
        )
        : ensureParents(dav, target, ctx)
      return Effect.zipRight(made, send)
    })
  )

/** PUT of a body held in memory (safe to repeat: it replaces the object with the same bytes). */
export const putBytes = (dav: WebDav, path: string, body: Uint8Array, ctx: Context) =>
  Effect.catchIf(
    withParents(
      dav,
      path,
      ctx,
      (status) => status === 404 || status === 409,
      retryLocked(
        dav,
        dav.client.execute(
          {
            method: "PUT",
            path: dav.client.pathOf(path),
            headers: { "content-length": String(body.byteLength) },
            body,
            idempotent: true
          },
          ctx,
          (response) => Effect.as(response.body.discard, { eTag: header(response.headers, "etag") } as PutResult)
        )
      )
    ),
    isFailure,
    (failure) => Effect.fail(accessError(ctx, failure, "PUT", "put"))
  )

/**
 * DELETE of an object. A path that names a collection is left alone: DELETE of a collection removes everything in
 * it, and an object store's delete of "dir" must not remove "dir/file". So the resource is looked at first.
 */
export const deleteObject = (dav: WebDav, path: string): Effect.Effect<void, DeleteError> => {
  const ctx = { store: STORE, method: "delete", path }
  const deleteFailure = (failure: HttpFailure, request: string) => accessError(ctx, failure, request, "delete")
  return Effect.flatMap(
    Effect.catchIf(resourceType(dav, path, ctx), isFailure, (f) => Effect.fail(deleteFailure(f, "PROPFIND"))),
    (type) =>
      type !== "object" ? Effect.void : retryLocked(
        dav,
        dav.client.execute(
          { method: "DELETE", path: dav.client.pathOf(path), idempotent: true },
          ctx,
          (response) => response.body.discard
        )
      ).pipe(
        Effect.catchIf(isFailure, (failure) =>
          failure.status === 404 ? Effect.void : Effect.fail(deleteFailure(failure, "DELETE")))
      )
  )
}

/** A MOVE answered 403: rclone says so for a missing source. The source tells which it is. */
const moveDenied = (dav: WebDav, from: string, ctx: Context, failure: HttpFailure) =>
  Effect.flatMap(Effect.either(Get.head(dav.client.getClient, from)), (source) =>
    Effect.fail(
      source._tag === "Left" && source.left._tag === "NotFound"
        ? new NotFound({ ...ctx, description: `the source does not exist (${failure.describe()})`, cause: failure })
        : Errors.toError(errorDialect, ctx, failure)
    ))

/**
 * A COPY or MOVE whose answer was lost (it may have been applied) is not sent again blindly: a repeated MOVE finds
 * its source gone, a repeated COPY without overwrite its own copy. The resources tell: a MOVE happened when the
 * source is gone and the target is there; a COPY when the target has the source's ETag.
 */
const reconcile = (dav: WebDav, method: "COPY" | "MOVE", from: string, to: string, lost: StoreError) => {
  const head = (path: string) => Effect.either(Get.head(dav.client.getClient, path))
  return Effect.flatMap(Effect.all([head(from), head(to)]), ([source, target]) => {
    const done = method === "MOVE"
      ? source._tag === "Left" && source.left._tag === "NotFound" && target._tag === "Right"
      : source._tag === "Right" && target._tag === "Right" && source.right.eTag !== undefined &&
        source.right.eTag === target.right.eTag
    return done ? Effect.void : Effect.fail(lost)
  })
}

/** COPY or MOVE (https://www.rfc-editor.org/rfc/rfc4918#section-9.8), always with an explicit Overwrite header. */
export const transfer = (dav: WebDav, method: "COPY" | "MOVE", from: string, to: string, overwrite: boolean) => {
  const ctx = { store: STORE, method: method === "COPY" ? "copy" : "rename", path: from }
  const request = retryLocked(
    dav,
    dav.client.execute(
      {
        method,
        path: dav.client.pathOf(from),
        headers: { destination: dav.client.origin + dav.client.pathOf(to), overwrite: overwrite ? "T" : "F" },
        // A repeated MOVE finds its source gone, a repeated COPY without overwrite its own copy: neither is safe.
        idempotent: method === "COPY" && overwrite
      },
      ctx,
      (response) => response.body.discard
    )
  )
  const sent = Effect.catchIf(
    withParents(dav, to, ctx, (status) => status === 409, request),
    isFailure,
    (failure): Effect.Effect<never, NotSupported | Errors.ErrorOf<"NotFound" | "AlreadyExists"> | Errors.AccessError> =>
      isUnsupportedStatus(failure.status)
        ? Effect.fail(notWebDav(ctx, method, failure, method === "COPY" ? "copy" : "rename"))
        : method === "MOVE" && failure.status === 403
        ? moveDenied(dav, from, ctx, failure)
        : Effect.fail(Errors.toError(errorDialect, ctx, failure, Errors.copy(to, overwrite)))
  )
  return Effect.catchIf(sent, isLostResponse, (lost) => reconcile(dav, method, from, to, lost))
}
