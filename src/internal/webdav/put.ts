// The put of an HTTP (WebDAV) store. A payload held in memory, or a stream that turns out to fit one part, is one
// PUT (safe to repeat). A longer stream is written to a temporary resource beside the target and moved into place
// with MOVE (Overwrite: T): a PUT that breaks mid-body leaves its partial bytes on the server (rclone keeps them), so
// the object itself must only ever be replaced whole. Conditional modes, attributes and tags are NotSupported.
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { PutOptions, PutPayload, PutResult } from "../../ObjectStore.js"
import type { PutError } from "../../ObjectStoreError.js"
import { NotSupported, StoreError } from "../../ObjectStoreError.js"
import * as Errors from "../cloud/errors.js"
import type { Context } from "../cloud/failure.js"
import { HttpFailure } from "../cloud/failure.js"
import * as Get from "../cloud/get.js"
import * as Multipart from "../cloud/multipart.js"
import * as payloads from "../payload.js"
import { toAsyncIterable } from "../pull.js"
import type { WebDav } from "./client.js"
import { errorDialect, isUnsupportedStatus, notWebDav, STORE } from "./client.js"
import { deleteObject, ensureParents, putBytes, transfer } from "./object.js"
import { temporaryFor } from "./temp.js"

/** Streams up to this size are sent as one in-memory PUT (repeatable, and no temporary resource). */
export const SINGLE_PUT_BYTES = 8 * 1024 * 1024

/** Why a put option cannot be honoured, or undefined. */
const unsupported = (options: PutOptions, ctx: Context): NotSupported | undefined => {
  const mode = options.mode ?? "overwrite"
  if (mode !== "overwrite") {
    return new NotSupported({
      ...ctx,
      description: "WebDAV servers (rclone among them) ignore conditional PUT headers, so create and update " +
        "modes cannot be made safe; only overwrite is supported"
    })
  }
  const attributes = options.attributes ?? {}
  if (Object.values(attributes).some((v) => v !== undefined)) {
    return new NotSupported({ ...ctx, description: "WebDAV keeps no object attributes" })
  }
  if (Object.keys(options.tags ?? {}).length > 0) {
    return new NotSupported({ ...ctx, description: "WebDAV keeps no object tags" })
  }
  return undefined
}

/** The failure of a streamed PUT's answer, as the shared table says, or NotSupported for a server without PUT. */
const answerFailure = (ctx: Context, status: number, body: string) => {
  const failure = new HttpFailure(status, body.trim().slice(0, 200) || undefined, undefined, {})
  return isUnsupportedStatus(status)
    ? notWebDav(ctx, "PUT", failure, "put")
    : Errors.toError(errorDialect, ctx, failure)
}

/** The streamed PUT of parts to a temporary resource, then the MOVE into place; the temporary one goes on failure. */
const streamed = <E>(dav: WebDav, path: string, parts: Stream.Stream<Uint8Array, E>, ctx: Context) =>
  Effect.suspend(() => {
    const temp = temporaryFor(path)
    let payloadFailure: { readonly error: E } | undefined
    const body = toAsyncIterable(
      Stream.tapError(parts, (error) => Effect.sync(() => void (payloadFailure = { error })))
    )
    const upload = dav.client.sendStream("PUT", dav.client.pathOf(temp), body).pipe(
      Effect.catchAll((error) =>
        Effect.fail<E | StoreError>(
          payloadFailure !== undefined
            ? payloadFailure.error
            : new StoreError({ ...ctx, description: error.description, cause: error })
        )
      ),
      Effect.flatMap((response) =>
        response.status < 300
          ? response.body.discard
          : Effect.flatMap(
            Effect.orElseSucceed(response.body.text, () => ""),
            (text) => Effect.fail(answerFailure(ctx, response.status, text))
          )
      )
    )
    const moved = Effect.mapError(
      transfer(dav, "MOVE", temp, path, true),
      (error) =>
        error._tag === "NotFound" || error._tag === "AlreadyExists" || error._tag === "NotSupported"
          ? new StoreError({ ...ctx, description: `moving the upload into place: ${error.message}`, cause: error })
          : error
    )
    return Effect.zipRight(upload, moved).pipe(
      Effect.onError(() => Effect.ignore(deleteObject(dav, temp))),
      Effect.zipRight(
        Effect.map(
          Effect.either(Get.head(dav.client.getClient, path)),
          (meta) => ({ eTag: meta._tag === "Right" ? meta.right.eTag : undefined }) as PutResult
        )
      )
    )
  })

/** The store's put. */
export const put = <E>(
  dav: WebDav,
  path: string,
  payload: PutPayload<E>,
  options: PutOptions
): Effect.Effect<PutResult, PutError | E> => {
  const ctx = { store: STORE, method: "put", path }
  const problem = unsupported(options, ctx)
  if (problem !== undefined) return Effect.fail(problem)
  const single = (body: Uint8Array) => putBytes(dav, path, body, ctx)
  const inMemory = payloads.inMemory(payload)
  if (inMemory !== undefined) return Effect.suspend(() => single(payloads.concat(inMemory, false)))
  return Multipart.splitPut(
    Multipart.toParts(payloads.stream(payload, ctx), SINGLE_PUT_BYTES),
    single,
    (parts) => Effect.zipRight(ensureParents(dav, path, ctx), streamed(dav, path, parts, ctx))
  )
}
