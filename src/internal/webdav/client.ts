// The WebDAV side of the request engine: the server's base collection and how object paths map onto it, the
// configured headers (secrets unwrapped per attempt, never stored in plain form), the short text of an error
// body, and the GET/HEAD client the shared get (ranges, conditionals, resume) runs on.
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { NotSupported, StoreError } from "../../ObjectStoreError.js"
import type { RetryConfig } from "../../RetryConfig.js"
import type { ErrorDialect } from "../cloud/errors.js"
import type { Context } from "../cloud/failure.js"
import { HttpFailure } from "../cloud/failure.js"
import type { GetClient } from "../cloud/get.js"
import type { HeaderConfig } from "../cloud/headers.js"
import type { Authorize, Engine } from "../cloud/request.js"
import * as Request from "../cloud/request.js"
import type { Response, Transport, TransportError } from "../http/transport.js"
import { header } from "../http/transport.js"

export const STORE = "HTTPStore"

/** WebDAV has no error codes of its own that change what a status means. */
export const errorDialect: ErrorDialect = { unauthenticatedCodes: new Set(), containerMissingCodes: new Set() }

/** No user metadata travels over plain HTTP; the standard content headers are read as the server sends them. */
export const headerConfig: HeaderConfig = { metadataPrefix: "x-effect-obstore-none-" }

export interface Client {
  readonly execute: Engine["execute"]
  readonly retry: RetryConfig
  /** `scheme://host[:port]` of the server. */
  readonly origin: string
  /** The encoded path of the base collection, without a trailing "/" ("" for the server's root). */
  readonly basePath: string
  /** The decoded segments of the base collection, to recognise hrefs. */
  readonly baseSegments: ReadonlyArray<string>
  /** The encoded request path of an object, or of a collection (with its trailing "/") when `collection`. */
  readonly pathOf: (path: string, collection?: boolean) => string
  readonly getClient: GetClient
  /**
   * Sends one request whose body is a stream, once (it cannot be sent again): the engine takes only bodies held in
   * memory. The configured headers are added; the caller reads the status.
   */
  readonly sendStream: (
    method: "PUT",
    path: string,
    body: AsyncIterable<Uint8Array>
  ) => Effect.Effect<Response, TransportError>
}

/** What every WebDAV request function needs: the client and what the store learnt about the server. */
export interface WebDav {
  readonly client: Client
  /** Collections (as object paths) that exist, so that a write into them sends no MKCOL. */
  readonly dirs: Set<string>
  /** Whether the server refused a PROPFIND with Depth: infinity (listings then walk Depth: 1). */
  infinityRefused: boolean
}

export interface ClientOptions {
  readonly transport: Transport
  readonly url: URL
  readonly headers: Readonly<Record<string, Redacted.Redacted<string>>>
  readonly retry: RetryConfig
}

const encodePath = (path: string): string => path.split("/").map(encodeURIComponent).join("/")

/** Decoded segments of an encoded path; undefined when an escape is malformed. */
export const decodeSegments = (pathname: string): ReadonlyArray<string> | undefined => {
  try {
    return pathname.split("/").filter((s) => s !== "").map(decodeURIComponent)
  } catch {
    return undefined
  }
}

// Error bodies of WebDAV servers are a status line in text or an HTML page: a short single line is worth quoting.
const CONTROL = /[\u0000-\u001f\u007f]+/g
const parseError = (body: string) => {
  const line = body.trim().replace(CONTROL, " ")
  return line === "" || line.length > 200 || line.includes("<") ? undefined : { code: line, message: undefined }
}

/**
 * rclone answers a suffix range of an empty object with "206, content-range: bytes 0--1/0" where HTTP says 416: no
 * byte range of an empty object is satisfiable, so that is what it is read as.
 */
const emptySuffix = (response: Response) =>
  response.status === 206 && /\/0\s*$/.test(header(response.headers, "content-range") ?? "")

const unsatisfiable = (response: Response) =>
  Effect.fail(new HttpFailure(416, undefined, "no range of an empty object is satisfiable", response.headers))

/** The configured headers, unwrapped for one attempt. */
const withHeaders = (secrets: ReadonlyArray<readonly [string, Redacted.Redacted<string>]>): Authorize =>
(
  _request,
  headers,
  send
) =>
  Effect.suspend(() => {
    const all = headers()
    for (const [name, value] of secrets) all[name] = Redacted.value(value)
    return send(all, "")
  })

export const make = (options: ClientOptions): Client => {
  const { url } = options
  const basePath = url.pathname.replace(/\/+$/, "")
  const secrets = Object.entries(options.headers).map(([name, value]) => [name.toLowerCase(), value] as const)
  const engine = Request.make({
    transport: options.transport,
    origin: url.origin,
    host: url.host,
    authorize: withHeaders(secrets),
    parseError,
    retry: options.retry,
    // The configured header values (a token under any header name) are scrubbed from anything the server says.
    secrets: () => secrets.map(([, value]) => Redacted.value(value))
  })
  const execute = engine.execute
  const pathOf = (path: string, collection = false) =>
    path === "" ? basePath + "/" : basePath + "/" + encodePath(path) + (collection ? "/" : "")
  const getClient: GetClient = {
    store: STORE,
    headers: headerConfig,
    errors: errorDialect,
    maxResumes: options.retry.maxRetries,
    request: (request, context, handle) =>
      execute(
        {
          method: request.head ? "HEAD" : "GET",
          path: pathOf(request.path),
          headers: request.headers,
          idempotent: true
        },
        context,
        (response) =>
          emptySuffix(response) ? Effect.zipRight(response.body.discard, unsatisfiable(response)) : handle(response)
      )
  }
  const sendStream = (method: "PUT", path: string, body: AsyncIterable<Uint8Array>) =>
    Effect.suspend(() => {
      const headers: Record<string, string> = { host: url.host }
      for (const [name, value] of secrets) headers[name] = Redacted.value(value)
      return options.transport.send({ method, origin: url.origin, path, headers, body })
    })
  return {
    execute,
    sendStream,
    retry: options.retry,
    origin: url.origin,
    basePath,
    baseSegments: decodeSegments(basePath) ?? [],
    pathOf,
    getClient
  }
}

/** Whether a status says the server does not do the method at all: it is not (that much of) a WebDAV server. */
export const isUnsupportedStatus = (status: number): boolean => status === 405 || status === 501

/** The answer of a server that does not do WebDAV, named in the error. */
export const notWebDav = (ctx: Context, request: string, failure: HttpFailure, needs: string): NotSupported =>
  new NotSupported({
    ...ctx,
    description: `the server answered ${request} with ${failure.describe()}: ${needs} needs a WebDAV server`,
    cause: failure
  })

export const malformed = (ctx: Context, description: string): StoreError => new StoreError({ ...ctx, description })
