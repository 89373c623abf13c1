// GET and HEAD of GCS objects. HEAD is objects.get (the JSON resource: every attribute, the generation as version).
// GET is an `alt=media` download through the cloud core's get (range checks, eager small bodies, the resuming stream),
// pinned to the generation it first saw: a resumed body asks `ifGenerationMatch`, never an ETag. Conditions are
// evaluated by the client on the object's ETag and time (the JSON API has no If-Match for media). Where downloads
// carry no metadata (the emulator), the resource is read first and the download pinned to its generation.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as ObjectStore from "../../ObjectStore.js"
import type { Attributes, GetOptions, GetResult, ObjectMeta } from "../../ObjectStore.js"
import type { GetError, HeadError } from "../../ObjectStoreError.js"
import { NotFound, NotModified, PreconditionFailed } from "../../ObjectStoreError.js"
import { HttpFailure } from "../cloud/failure.js"
import * as Get from "../cloud/get.js"
import type { GetClient } from "../cloud/get.js"
import { matches, parseETags } from "../cloud/range.js"
import { header } from "../http/transport.js"
import type { Client } from "./client.js"
import { errorDialect, headerConfig, STORE } from "./client.js"
import { attributesOf, getResource, metaOf } from "./object.js"

type Ctx = { readonly store: string; readonly method: string; readonly path: string }

const unquote = (eTag: string | undefined) => eTag?.replace(/^"|"$/g, "")

const seconds = (date: Date) => Math.floor(date.getTime() / 1000)

/** The conditions of a get, checked on the object's meta (HTTP's rules: dates to the second, RFC 9110 13.2.2). */
export const conditionFailure = (
  ctx: Ctx,
  options: GetOptions,
  meta: ObjectMeta
): PreconditionFailed | NotModified | undefined => {
  if (options.ifMatch !== undefined && !matches(parseETags(options.ifMatch), meta.eTag, true)) {
    return new PreconditionFailed({ ...ctx, description: `the object's ETag ${meta.eTag} is not one of ifMatch` })
  }
  if (
    options.ifMatch === undefined && options.ifUnmodifiedSince !== undefined &&
    seconds(meta.lastModified) > seconds(options.ifUnmodifiedSince)
  ) {
    return new PreconditionFailed({ ...ctx, description: "the object was modified after ifUnmodifiedSince" })
  }
  if (options.ifNoneMatch !== undefined && matches(parseETags(options.ifNoneMatch), meta.eTag, false)) {
    return new NotModified({ ...ctx, description: `the object's ETag ${meta.eTag} is one of ifNoneMatch` })
  }
  if (
    options.ifNoneMatch === undefined && options.ifModifiedSince !== undefined &&
    seconds(meta.lastModified) <= seconds(options.ifModifiedSince)
  ) {
    return new NotModified({ ...ctx, description: "the object was not modified since ifModifiedSince" })
  }
  return undefined
}

/**
 * A GetClient for one get: it remembers the generation of the first answer (or the one it is given), and sends it
 * as `generation` and `ifGenerationMatch` where the core asks for its ETag (a resumed body), so a body is never
 * stitched from two generations.
 */
export const pinnedClient = (gcs: Client, generation?: string): GetClient => {
  let pinned = generation
  return {
    store: STORE,
    headers: headerConfig,
    errors: errorDialect,
    maxResumes: gcs.retry.maxRetries,
    request: (request, context, handle) => {
      const { "if-match": ifMatch, ...headers } = request.headers
      const query: Array<readonly [string, string]> = [["alt", "media"]]
      const version = request.version ?? pinned
      if (version !== undefined) query.push(["generation", version])
      if (ifMatch !== undefined && pinned !== undefined) query.push(["ifGenerationMatch", pinned])
      return gcs.execute(
        { method: "GET", path: gcs.objectPath(request.path), query, headers, idempotent: true },
        context,
        (response) => {
          const seen = header(response.headers, "x-goog-generation")
          if (pinned === undefined) pinned = seen
          else if (seen !== undefined && seen !== pinned) {
            const description = `the object changed while it was read (generation ${seen}, expected ${pinned})`
            // As the server answers a failed ifGenerationMatch: the table makes it PreconditionFailed.
            return Effect.zipRight(
              response.body.discard,
              Effect.fail(new HttpFailure(412, "conditionNotMet", description, response.headers))
            )
          }
          return handle(response)
        }
      )
    }
  }
}

const notFound = (ctx: Ctx, description: string) => new NotFound({ ...ctx, description })

/** HEAD: the object's resource; with a version, that generation. */
export const head = (gcs: Client, path: string, version?: string): Effect.Effect<ObjectMeta, HeadError> =>
  Effect.map(resourceOf(gcs, path, "head", version), ({ meta }) => meta)

const resourceOf = (gcs: Client, path: string, method: string, version: string | undefined) =>
  Effect.flatMap(getResource(gcs, path, method, version), (resource) =>
    // A server that ignores `generation` answers with the live object: another generation is not the one asked.
    version !== undefined && resource.generation !== version
      ? Effect.fail(notFound({ store: STORE, method, path }, `generation ${version} does not exist`))
      : Effect.succeed({ meta: metaOf(resource, path), attributes: attributesOf(resource) }))

const headOnly = (meta: ObjectMeta, attributes: Attributes): GetResult =>
  ObjectStore.makeGetResult({
    meta,
    range: { start: 0, end: meta.size },
    attributes,
    bytes: Effect.succeed(new Uint8Array(0))
  })

/** A get that reads the resource first (metadata the download lacks), then downloads that generation. */
const resourceFirst = (gcs: Client, path: string, options: GetOptions): Effect.Effect<GetResult, GetError> => {
  const ctx = { store: STORE, method: "get", path }
  return Effect.flatMap(resourceOf(gcs, path, "get", options.version), ({ attributes, meta }) => {
    const failed = conditionFailure(ctx, options, meta)
    if (failed !== undefined) return Effect.fail(failed)
    if (options.head === true) return Effect.succeed(headOnly(meta, attributes))
    // Checked here: a server that answers an unsatisfiable range with 200 must not make it a StoreError.
    const range = options.range === undefined ? undefined : ObjectStore.resolveRange(options.range, meta.size, ctx)
    if (range !== undefined && Either.isLeft(range)) return Effect.fail(range.left)
    if (meta.size === 0) {
      return Effect.succeed(ObjectStore.makeGetResult({
        meta,
        range: { start: 0, end: 0 },
        attributes,
        bytes: Effect.succeed(new Uint8Array(0))
      }))
    }
    const asked: GetOptions = range === undefined ? {} : { range: range.right }
    return Effect.map(
      Get.get(pinnedClient(gcs, meta.version), path, asked),
      (result) =>
        ObjectStore.makeGetResult({
          meta,
          range: result.range,
          attributes,
          stream: result.stream,
          bytes: result.bytes
        })
    )
  })
}

/** A get from the download's own headers (one request), its conditions checked on the answer. */
const fromHeaders = (gcs: Client, path: string, options: GetOptions): Effect.Effect<GetResult, GetError> => {
  const ctx = { store: STORE, method: "get", path }
  if (options.head === true) {
    return Effect.flatMap(resourceOf(gcs, path, "get", options.version), ({ attributes, meta }) => {
      const failed = conditionFailure(ctx, options, meta)
      return failed === undefined ? Effect.succeed(headOnly(meta, attributes)) : Effect.fail(failed)
    })
  }
  const asked: GetOptions = {
    ...(options.range === undefined ? {} : { range: options.range }),
    ...(options.version === undefined ? {} : { version: options.version })
  }
  return Effect.flatMap(Get.get(pinnedClient(gcs), path, asked), (result) => {
    const meta = { ...result.meta, eTag: unquote(result.meta.eTag) }
    const failed = conditionFailure(ctx, options, meta)
    // Reading the first chunk and closing the stream lets the connection go without downloading the rest.
    if (failed !== undefined) return Effect.zipRight(Effect.ignore(Stream.runHead(result.stream)), Effect.fail(failed))
    return Effect.succeed(ObjectStore.withMeta(result, meta))
  })
}

export const get = (
  gcs: Client,
  metadataFromResource: boolean,
  path: string,
  options: GetOptions
): Effect.Effect<GetResult, GetError> =>
  metadataFromResource ? resourceFirst(gcs, path, options) : fromHeaders(gcs, path, options)
