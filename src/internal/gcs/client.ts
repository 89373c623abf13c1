// The GCS side of the request engine: the JSON API's paths (metadata under /storage/v1, media uploads under
// /upload/storage/v1, rewriteTo where the server has it), a bearer token as the cloud's authorize hook, the JSON API's
// error bodies, and GCS's error reasons and headers for the shared tables.
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { StoreError } from "../../ObjectStoreError.js"
import type { RetryConfig } from "../../RetryConfig.js"
import type { ErrorDialect } from "../cloud/errors.js"
import type { Context } from "../cloud/failure.js"
import type { HeaderConfig } from "../cloud/headers.js"
import type { Authorize, Engine, Query } from "../cloud/request.js"
import * as Request from "../cloud/request.js"
import type { Transport } from "../http/transport.js"
import type { TokenProvider } from "./credentials.js"

export const STORE = "GCSStore"

/** Resumable upload chunks must be multiples of 256 KiB (https://cloud.google.com/storage/docs/performing-resumable-uploads). */
export const CHUNK_GRANULARITY = 256 * 1024
/** GCS takes objects up to 5 TiB; chunks are bounded by memory, not by the service. */
export const PART_LIMITS = { minPartSize: CHUNK_GRANULARITY, maxPartSize: 5 * 1024 * 1024 * 1024 } as const

/** The reason GCS gives a missing bucket is `notFound`, like a missing object: told apart by its message. */
export const BUCKET_MISSING = "bucketNotFound"

export const errorDialect: ErrorDialect = {
  unauthenticatedCodes: new Set(["authError", "required", "invalid_grant", "unauthorized"]),
  containerMissingCodes: new Set([BUCKET_MISSING])
}

/** What a media download says about the object (real GCS; the emulator leaves most of it out). */
export const headerConfig: HeaderConfig = {
  metadataPrefix: "x-goog-meta-",
  versionHeader: "x-goog-generation",
  storageClassHeader: "x-goog-storage-class"
}

/**
 * The JSON API's error document: `{"error":{"code":404,"message":"...","errors":[{"reason":"notFound"}]}}`. The
 * code we keep is the first reason; a missing bucket gets a code of its own. Not JSON (a proxy's page): no code.
 */
export const parseError = (bucket: string) => (body: string) => {
  if (body === "" || body[0] !== "{") return undefined
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown; errors?: Array<{ reason?: unknown }> } }
    const error = parsed.error
    if (typeof error !== "object" || error === null) return undefined
    const message = typeof error.message === "string" ? error.message : undefined
    const reason = Array.isArray(error.errors) && typeof error.errors[0]?.reason === "string"
      ? error.errors[0].reason
      : undefined
    if (reason === "notFound" && message !== undefined && /bucket/i.test(message) && !/object/i.test(message)) {
      return { code: BUCKET_MISSING, message: `bucket "${bucket}" does not exist` }
    }
    return reason === undefined ? (message === undefined ? undefined : { code: "error", message }) : {
      code: reason,
      message
    }
  } catch {
    return undefined
  }
}

export interface Target {
  readonly origin: string
  readonly host: string
  /** The endpoint's own path ("" for the service root). */
  readonly basePath: string
  /** Where rewriteTo lives: under /storage/v1 on Google, at /b/... on the emulator. */
  readonly rewriteBase: string
}

export interface Client {
  readonly execute: Engine["execute"]
  /** The same engine with no retries: for requests whose body is a one-shot stream. */
  readonly executeOnce: Engine["execute"]
  readonly bucket: string
  readonly target: Target
  readonly retry: RetryConfig
  /** `/storage/v1/b/{bucket}/o/{object}` (object encoded as one segment); the listing without an object. */
  readonly objectPath: (key: string | undefined) => string
  /** `/upload/storage/v1/b/{bucket}/o`. */
  readonly uploadPath: string
  readonly rewritePath: (from: string, to: string) => string
}

/** An object name as one path segment: every `/` and reserved character escaped, as the JSON API wants. */
export const encodeName = (name: string): string =>
  encodeURIComponent(name).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())

const queryString = (query: Query | undefined): string =>
  query === undefined || query.length === 0
    ? ""
    : query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")

const bearer = (tokens: TokenProvider): Authorize => (request, headers, send) =>
  Effect.flatMap(tokens, (token) => {
    const all = headers()
    all.authorization = `Bearer ${Redacted.value(token.token)}`
    return send(all, queryString(request.query))
  })

const anonymous: Authorize = (request, headers, send) =>
  Effect.suspend(() => send(headers(), queryString(request.query)))

export interface ClientOptions {
  readonly transport: Transport
  readonly bucket: string
  readonly endpoint: URL
  readonly emulator: boolean
  readonly tokens: TokenProvider | undefined
  readonly retry: RetryConfig
  readonly noRetry: RetryConfig
}

export const make = (options: ClientOptions): Client => {
  const { endpoint } = options
  const basePath = endpoint.pathname.replace(/\/+$/, "")
  const target: Target = {
    origin: `${endpoint.protocol}//${endpoint.host}`,
    host: endpoint.host,
    basePath,
    rewriteBase: options.emulator ? basePath : `${basePath}/storage/v1`
  }
  const bucketPath = `${basePath}/storage/v1/b/${encodeName(options.bucket)}/o`
  const engineOptions = {
    transport: options.transport,
    origin: target.origin,
    host: target.host,
    authorize: options.tokens === undefined ? anonymous : bearer(options.tokens),
    parseError: parseError(options.bucket),
    retry: options.retry
  }
  const engine = Request.make(engineOptions)
  const once = Request.make({ ...engineOptions, retry: options.noRetry })
  const bucketSegment = encodeName(options.bucket)
  return {
    execute: engine.execute,
    executeOnce: once.execute,
    bucket: options.bucket,
    target,
    retry: options.retry,
    objectPath: (key) => key === undefined ? bucketPath : `${bucketPath}/${encodeName(key)}`,
    uploadPath: `${basePath}/upload/storage/v1/b/${bucketSegment}/o`,
    rewritePath: (from, to) =>
      `${target.rewriteBase}/b/${bucketSegment}/o/${encodeName(from)}/rewriteTo/b/${bucketSegment}/o/${encodeName(to)}`
  }
}

export const malformed = (ctx: Context, description: string): StoreError => new StoreError({ ...ctx, description })
