// The Azure side of the request engine: the container's URL (`https://{account}.blob.core.windows.net/{container}`
// or the emulator's path style `http://127.0.0.1:10000/{account}/{container}`), the authorize hook (Shared Key,
// SAS, bearer token), Azure's XML error bodies and `x-ms-error-code` header, and Azure's codes for the shared table.
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { AzureConfig } from "../../AzureStore.js"
import type { Unauthenticated } from "../../ObjectStoreError.js"
import { StoreError } from "../../ObjectStoreError.js"
import type { ErrorDialect } from "../cloud/errors.js"
import type { Context } from "../cloud/failure.js"
import { HttpFailure, isFailure } from "../cloud/failure.js"
import type { GetClient } from "../cloud/get.js"
import type { HeaderConfig } from "../cloud/headers.js"
import type { Authorize, Engine, Query } from "../cloud/request.js"
import * as Request from "../cloud/request.js"
import type { Transport } from "../http/transport.js"
import { header } from "../http/transport.js"
import * as Xml from "../s3/xml.js"
import { encodeRfc3986, encodeS3Key } from "../signing/sigv4.js"
import type { Credential } from "./credentials.js"
import { makeGetRequest } from "./get.js"
import { API_VERSION, makeSigner } from "./sharedKey.js"

export const STORE = "AzureStore"

/** Azure's error codes for the shared error table. */
export const errorDialect: ErrorDialect = {
  // Azure answers a bad signature or token with 403 AuthenticationFailed (Azurite says AuthorizationFailure, which on
  // Azure means a denied request, so it stays PermissionDenied).
  unauthenticatedCodes: new Set([
    "AuthenticationFailed",
    "InvalidAuthenticationInfo",
    "NoAuthenticationInformation",
    "ExpiredToken"
  ]),
  containerMissingCodes: new Set(["ContainerNotFound", "ContainerBeingDeleted"])
}

/** Azure's headers for metadata and attributes (the tier stands for the storage class). */
export const headerConfig: HeaderConfig = {
  metadataPrefix: "x-ms-meta-",
  versionHeader: "x-ms-version-id",
  storageClassHeader: "x-ms-access-tier"
}

export interface Target {
  /** `scheme://host[:port]`. */
  readonly origin: string
  readonly host: string
  /** Encoded path of the container, e.g. "/container" or "/devstoreaccount1/container" (emulator). */
  readonly containerPath: string
}

export interface Client {
  readonly execute: Engine["execute"]
  /** The encoded request path of a blob (or of the container with `undefined`). */
  readonly pathOf: (blob: string | undefined) => string
  readonly target: Target
  readonly account: string
  readonly container: string
  readonly credential: Credential
  readonly getClient: GetClient
  /** Authorizes a request without sending it (the sub-requests of a batch). */
  readonly prepare: Prepare
}

/** A query string in the encoding we sign and send. */
export const encodeQuery = (query: Query | undefined): string => {
  if (query === undefined || query.length === 0) return ""
  let out = ""
  for (const [k, v] of query) out += `${out === "" ? "" : "&"}${encodeRfc3986(k)}=${encodeRfc3986(v)}`
  return out
}

/** The code of a failure from the `x-ms-error-code` header when the body had none (HEAD answers have no body). */
const withHeaderCode = (failure: HttpFailure): HttpFailure => {
  if (failure.code !== undefined) return failure
  const code = header(failure.headers, "x-ms-error-code")
  return code === undefined ? failure : new HttpFailure(failure.status, code, failure.message, failure.headers)
}

/** A request as authorized: the headers to send and the encoded query string. */
export interface Prepared {
  readonly headers: Record<string, string>
  readonly query: string
}

/** Dates and signs one attempt of a request (or one sub-request of a batch), building fresh headers each time. */
export type Prepare = (
  request: { readonly method: string; readonly path: string; readonly query?: Query | undefined },
  headers: Record<string, string>
) => Effect.Effect<Prepared, Unauthenticated | StoreError>

const prepareWith = (account: string, credential: Credential): Prepare => {
  switch (credential._tag) {
    case "SharedKey": {
      const signer = makeSigner(account, Redacted.value(credential.key))
      return (request, headers) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          headers["x-ms-date"] = new Date(now).toUTCString()
          headers["x-ms-version"] = API_VERSION
          headers.authorization = signer.authorization({
            method: request.method,
            path: request.path,
            query: request.query,
            headers
          })
          return { headers, query: encodeQuery(request.query) }
        })
    }
    case "Sas": {
      const sas = encodeQuery(credential.query)
      return (request, headers) =>
        Effect.sync(() => {
          headers["x-ms-version"] = API_VERSION
          const query = encodeQuery(request.query)
          return { headers, query: query === "" ? sas : `${query}&${sas}` }
        })
    }
    case "Token":
      return (request, headers) =>
        Effect.map(credential.token, (token) => {
          headers["x-ms-version"] = API_VERSION
          headers.authorization = `Bearer ${Redacted.value(token)}`
          return { headers, query: encodeQuery(request.query) }
        })
    case "Anonymous":
      return (request, headers) =>
        Effect.sync(() => {
          headers["x-ms-version"] = API_VERSION
          return { headers, query: encodeQuery(request.query) }
        })
  }
}

const authorizeWith = (prepare: Prepare): Authorize => (request, headers, send) =>
  Effect.flatMap(prepare(request, headers()), (prepared) => send(prepared.headers, prepared.query))

/** Azure's error bodies, with a missing container named (Azure's own message does not). */
const parseError = (container: string) => (body: string) => {
  const parsed = Xml.error(body)
  return parsed?.code === "ContainerNotFound"
    ? { code: parsed.code, message: `container "${container}" does not exist` }
    : parsed
}

export interface ClientOptions {
  readonly transport: Transport
  readonly config: AzureConfig
  readonly account: string
  readonly container: string
  readonly target: Target
  readonly credential: Credential
}

const secretsOf = (credential: Credential) => (): ReadonlyArray<string> =>
  credential._tag === "SharedKey"
    ? [Redacted.value(credential.key)]
    : credential._tag === "Sas"
    ? credential.query.filter(([name]) => name === "sig").map(([, value]) => value)
    : []

export const make = (options: ClientOptions): Client => {
  const { target, credential, account } = options
  const pathOf = (blob: string | undefined) =>
    blob === undefined ? target.containerPath : `${target.containerPath}/${encodeS3Key(blob)}`
  const prepare = prepareWith(account, credential)
  const authorize = authorizeWith(prepare)
  const engine = Request.make({
    transport: options.transport,
    origin: target.origin,
    host: target.host,
    authorize,
    parseError: parseError(options.container),
    retry: options.config.retry,
    // Scrubbed from anything the server says: the account key, and each SAS parameter (sig is one of many).
    secrets: secretsOf(credential)
  })
  const execute: Engine["execute"] = (request, context, handle) =>
    Effect.catchIf(engine.execute(request, context, handle), isFailure, (f) => Effect.fail(withHeaderCode(f)))
  const getClient: GetClient = {
    store: STORE,
    headers: headerConfig,
    errors: errorDialect,
    maxResumes: options.config.retry.maxRetries,
    request: makeGetRequest(execute, pathOf)
  }
  return {
    execute,
    pathOf,
    target,
    account,
    container: options.container,
    credential,
    getClient,
    prepare
  }
}

/** What every Azure request function needs. */
export interface Azure {
  readonly client: Client
  readonly config: AzureConfig
}

export const malformed = (ctx: Context, description: string): StoreError => new StoreError({ ...ctx, description })
