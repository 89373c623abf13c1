// GCS's put: the preconditions of a put mode (`ifGenerationMatch=0` for create, the generation for an update by
// version, generation and metageneration read from the object for an update by ETag), and the choice between one
// request (media or multipart upload) for payloads in memory and a resumable upload for streams.
import * as Effect from "effect/Effect"
import type { PutMode, PutOptions, PutPayload, PutResult } from "../../ObjectStore.js"
import type { PutError } from "../../ObjectStoreError.js"
import { InvalidConfig, NotSupported, PreconditionFailed } from "../../ObjectStoreError.js"
import * as Errors from "../cloud/errors.js"
import * as Multipart from "../cloud/multipart.js"
import * as payloads from "../payload.js"
import type { Client } from "./client.js"
import { CHUNK_GRANULARITY, STORE } from "./client.js"
import type { Preconditions } from "./object.js"
import { getResource, insert } from "./object.js"
import * as Resumable from "./resumable.js"

export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024

/** What a put needs of the store beyond the client. */
export interface PutContext {
  readonly client: Client
  /** The server ignores preconditions (the emulator): conditional puts are refused rather than silently ignored. */
  readonly ignoresPreconditions: boolean
  /** The server cannot take a resumable upload in several chunks (the emulator): streams go as one request. */
  readonly singleChunkUploads: boolean
}

type Ctx = { readonly store: string; readonly method: string; readonly path: string }

/** The preconditions of a mode; an update by ETag reads the object to learn which generation carries that ETag. */
const preconditionsOf = (
  gcs: PutContext,
  path: string,
  mode: PutMode,
  ctx: Ctx
): Effect.Effect<Preconditions, PutError> => {
  if (mode === "overwrite") return Effect.succeed({})
  if (gcs.ignoresPreconditions) {
    const description = "this server ignores preconditions (the Cloud Storage emulator does): a conditional put " +
      "cannot be made safe on it"
    return Effect.fail(new NotSupported({ ...ctx, description }))
  }
  if (mode === "create") return Effect.succeed({ ifGenerationMatch: "0" })
  if (mode.eTag === undefined) return Effect.succeed({ ifGenerationMatch: mode.version })
  const { eTag, version } = mode
  const unquoted = eTag.replace(/^(W\/)?"|"$/g, "")
  return getResource(gcs.client, path, "put").pipe(
    Effect.catchTag(
      "NotFound",
      () => Effect.fail(new PreconditionFailed({ ...ctx, description: "the object to update does not exist" }))
    ),
    Effect.flatMap((resource) =>
      resource.etag !== unquoted || (version !== undefined && resource.generation !== version)
        ? Effect.fail(new PreconditionFailed({ ...ctx, description: `the object's ETag is not ${eTag}` }))
        // The generation and metageneration are what the ETag stood for; the server checks them atomically.
        : Effect.succeed({ ifGenerationMatch: resource.generation, ifMetagenerationMatch: resource.metageneration })
    )
  )
}

const chunkSizeOf = (options: PutOptions, ctx: Ctx): number | InvalidConfig => {
  const size = typeof options.multipart === "object" && options.multipart.partSize !== undefined
    ? options.multipart.partSize
    : DEFAULT_CHUNK_SIZE
  return size % CHUNK_GRANULARITY === 0 ? size : new InvalidConfig({
    ...ctx,
    field: "multipart.partSize",
    description: `resumable upload chunks are multiples of 256 KiB (${CHUNK_GRANULARITY} bytes), got ${size}`
  })
}

/**
 * The store's put. A payload in memory is one media/multipart upload unless the caller asks for `multipart`; a
 * stream is cut into chunks and sent as a resumable upload (one request when it turns out to fit in one chunk).
 * Chunks are sent one at a time: GCS takes a session's chunks in order only.
 */
export const put = <E>(
  gcs: PutContext,
  path: string,
  payload: PutPayload<E>,
  options: PutOptions
): Effect.Effect<PutResult, PutError | E> => {
  const ctx = { store: STORE, method: "put", path }
  if (options.tags !== undefined && Object.keys(options.tags).length > 0) {
    return Effect.fail(new NotSupported({ ...ctx, description: "Cloud Storage objects have no tags" }))
  }
  const chunkSize = chunkSizeOf(options, ctx)
  if (chunkSize instanceof InvalidConfig) return Effect.fail(chunkSize)
  const mode = options.mode ?? "overwrite"
  const attributes = options.attributes ?? {}
  const overrides = Errors.write(Errors.writeMode(mode))
  const client = gcs.client
  return Effect.flatMap(
    preconditionsOf(gcs, path, mode, ctx),
    (preconditions): Effect.Effect<PutResult, PutError | E> => {
      // A plain overwrite may be sent again; a conditional one may have been applied when its answer was lost.
      const idempotent = mode === "overwrite"
      const single = (body: Uint8Array) => insert(client, path, body, attributes, preconditions, overrides, idempotent)
      const inMemory = payloads.inMemory(payload)
      if (options.multipart === false) {
        return inMemory === undefined
          ? Effect.flatMap(payloads.bytes(payload, ctx), single)
          : Effect.suspend(() => single(payloads.concat(inMemory, false)))
      }
      if (inMemory !== undefined && options.multipart === undefined) {
        return Effect.suspend(() => single(payloads.concat(inMemory, false)))
      }
      return Multipart.splitPut(
        Multipart.toParts(payloads.stream(payload, ctx), chunkSize),
        single,
        (parts) =>
          gcs.singleChunkUploads
            ? Resumable.single(client, path, parts, attributes, preconditions, overrides)
            : Multipart.upload(
              Resumable.upload(client, path, attributes, preconditions, overrides, chunkSize),
              parts,
              1
            )
      )
    }
  )
}
