// Azure credentials: the account key (Shared Key), a SAS token, a fixed bearer token, and OAuth tokens fetched from
// Microsoft Entra ID (client secret; workload identity with a federated token file) or from the instance metadata
// service (managed identity), cached and refreshed through the cloud core's token cache. Secrets go into `Redacted`
// the moment they are read; errors name the source and the status, never a secret, token or response body.
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { readFile } from "node:fs/promises"
import { StoreError, Unauthenticated } from "../../ObjectStoreError.js"
import { request as metadataRequest } from "../cloud/metadata.js"
import * as TokenCache from "../cloud/tokenCache.js"

const STORE = "AzureStore"
const METHOD = "credentials"

/** The scope (v2 endpoints) and resource (IMDS) of Azure Storage tokens. */
export const STORAGE_SCOPE = "https://storage.azure.com/.default"
export const STORAGE_RESOURCE = "https://storage.azure.com"
export const DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
export const DEFAULT_IMDS_ENDPOINT = "http://169.254.169.254/metadata/identity/oauth2/token"
const TIMEOUT = Duration.seconds(10)

/** An OAuth access token and when it expires. */
export interface AzureToken {
  readonly token: Redacted.Redacted<string>
  /** Epoch millis. */
  readonly expiresAt: number
}

export type TokenProvider = Effect.Effect<AzureToken, Unauthenticated | StoreError>

/** How requests are authorized. */
export type Credential =
  | { readonly _tag: "SharedKey"; readonly key: Redacted.Redacted<string> }
  | { readonly _tag: "Sas"; readonly query: ReadonlyArray<readonly [string, string]> }
  | { readonly _tag: "Token"; readonly token: Effect.Effect<Redacted.Redacted<string>, Unauthenticated | StoreError> }
  | { readonly _tag: "Anonymous" }

const unauthenticated = (description: string): Unauthenticated =>
  new Unauthenticated({ store: STORE, method: METHOD, description })

const storeError = (description: string, cause?: unknown): StoreError =>
  new StoreError({ store: STORE, method: METHOD, description, ...(cause === undefined ? {} : { cause }) })

/** The parameters of a SAS token (`?sv=...&sig=...` or without the `?`), decoded. */
export const parseSas = (
  token: string
): ReadonlyArray<readonly [string, string]> => [...new URLSearchParams(token.startsWith("?") ? token.slice(1) : token)]

/** The SAS parameters a token must hold to be one. */
export const sasProblem = (query: ReadonlyArray<readonly [string, string]>): string | undefined => {
  const names = new Set(query.map(([k]) => k))
  return names.has("sig") && names.has("sv") ? undefined : "a SAS token holds at least sv=... and sig=..."
}

// The OAuth error code of a token endpoint's JSON answer (never its description: it may echo what was sent).
const oauthCode = (body: string): string | undefined => {
  try {
    const parsed: unknown = JSON.parse(body)
    if (typeof parsed === "object" && parsed !== null && "error" in parsed && typeof parsed.error === "string") {
      return parsed.error.replace(/[^\w.-]/g, "").slice(0, 64)
    }
  } catch {
    // not JSON: reported by status only
  }
  return undefined
}

/** Reads `access_token` and its expiry (`expires_in` seconds or `expires_on` epoch seconds) from a JSON answer. */
const parseToken = (source: string, body: string, now: number): AzureToken | StoreError => {
  let parsed: Record<string, unknown>
  try {
    const value: unknown = JSON.parse(body)
    if (typeof value !== "object" || value === null) throw new Error("not an object")
    parsed = value as Record<string, unknown>
  } catch {
    return storeError(`${source} answered with a body that is not a JSON object`)
  }
  const token = parsed.access_token
  if (typeof token !== "string" || token === "") return storeError(`${source} answered without an access_token`)
  const expiresIn = Number(parsed.expires_in)
  const expiresOn = Number(parsed.expires_on)
  const expiresAt = Number.isFinite(expiresOn) && expiresOn > 0
    ? expiresOn * 1000
    : Number.isFinite(expiresIn) && expiresIn > 0
    ? now + expiresIn * 1000
    : undefined
  if (expiresAt === undefined) return storeError(`${source} answered without expires_in or expires_on`)
  return { token: Redacted.make(token), expiresAt }
}

/** Sends a token request and reads the token; 4xx is Unauthenticated, the rest a StoreError that may heal. */
const fetchToken = (
  source: string,
  url: string,
  init: { readonly method: "GET" | "POST"; readonly headers: Record<string, string>; readonly body?: string }
): TokenProvider =>
  Effect.flatMap(
    Effect.mapError(metadataRequest(url, init, TIMEOUT), (e) => storeError(`${source}: ${e.reason}`)),
    (response) =>
      Effect.flatMap(Clock.currentTimeMillis, (now): TokenProvider => {
        if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          const code = oauthCode(response.body)
          return Effect.fail(unauthenticated(`${source} refused: HTTP ${response.status}${code ? ` ${code}` : ""}`))
        }
        if (response.status !== 200) {
          return Effect.fail(storeError(`${source} answered HTTP ${response.status}`))
        }
        const parsed = parseToken(source, response.body, now)
        return parsed instanceof StoreError ? Effect.fail(parsed) : Effect.succeed(parsed)
      })
  )

const tokenUrl = (authorityHost: string, tenantId: string) =>
  `${authorityHost.replace(/\/+$/, "")}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`

/** Client credentials with a secret (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow). */
export const clientSecret = (options: {
  readonly authorityHost: string
  readonly tenantId: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
}): TokenProvider =>
  Effect.suspend(() =>
    fetchToken("the Entra ID token endpoint (client secret)", tokenUrl(options.authorityHost, options.tenantId), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: options.clientId,
        client_secret: Redacted.value(options.clientSecret),
        scope: STORAGE_SCOPE
      }).toString()
    })
  )

/** Workload identity: the federated token file (rotated by the platform, so read at every refresh) as the assertion. */
export const workloadIdentity = (options: {
  readonly authorityHost: string
  readonly tenantId: string
  readonly clientId: string
  readonly tokenFile: string
}): TokenProvider =>
  Effect.flatMap(
    Effect.tryPromise({
      try: () => readFile(options.tokenFile, "utf8"),
      catch: (e) =>
        unauthenticated(
          `cannot read the federated token file ${options.tokenFile}: ${(e as { code?: string }).code ?? "error"}`
        )
    }),
    (assertion) =>
      assertion.trim() === ""
        ? Effect.fail(unauthenticated(`the federated token file ${options.tokenFile} is empty`))
        : fetchToken(
          "the Entra ID token endpoint (workload identity)",
          tokenUrl(options.authorityHost, options.tenantId),
          {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
            body: new URLSearchParams({
              grant_type: "client_credentials",
              client_id: options.clientId,
              client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
              client_assertion: assertion.trim(),
              scope: STORAGE_SCOPE
            }).toString()
          }
        )
  )

/** Managed identity through the instance metadata service (IMDS). */
export const managedIdentity = (options: {
  readonly endpoint: string
  readonly clientId?: string | undefined
  readonly msiResourceId?: string | undefined
}): TokenProvider =>
  Effect.suspend(() => {
    const url = new URL(options.endpoint)
    url.searchParams.set("api-version", "2019-08-01")
    url.searchParams.set("resource", STORAGE_RESOURCE)
    if (options.clientId !== undefined) url.searchParams.set("client_id", options.clientId)
    if (options.msiResourceId !== undefined) url.searchParams.set("msi_res_id", options.msiResourceId)
    return fetchToken("the managed identity endpoint (IMDS)", url.toString(), {
      method: "GET",
      headers: { metadata: "true" }
    })
  })

/** A provider behind the token cache: fetched once, again 5 minutes before it expires. */
export const cached = (provider: TokenProvider) =>
  Effect.map(
    TokenCache.make(provider, { expiresAt: (t: AzureToken) => t.expiresAt }),
    (get): Credential => ({ _tag: "Token", token: Effect.map(get, (t) => t.token) })
  )
