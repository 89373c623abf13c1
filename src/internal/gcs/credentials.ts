// Where a GCS store's OAuth access tokens come from: a static bearer token, a service account key (a JWT signed
// RS256 with node:crypto, exchanged at the key's token endpoint), an `authorized_user` refresh token (what
// `gcloud auth application-default login` writes), or the GCE metadata server. Every fetched token goes through the
// cloud core's token cache (refreshed 5 minutes before it expires, concurrent callers share one fetch).
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createSign } from "node:crypto"
import { StoreError, Unauthenticated } from "../../ObjectStoreError.js"
import * as Metadata from "../cloud/metadata.js"
import * as TokenCache from "../cloud/tokenCache.js"

const STORE = "GCSStore"

/** An OAuth access token and when it expires (epoch millis; undefined: never, for a static token). */
export interface GcpToken {
  readonly token: Redacted.Redacted<string>
  readonly expiresAt?: number | undefined
}

export type TokenProvider = Effect.Effect<GcpToken, Unauthenticated | StoreError>

export const SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"
export const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
export const DEFAULT_METADATA_ENDPOINT = "http://metadata.google.internal"
const TIMEOUT = Duration.seconds(10)

/** A service account key (the JSON file the console hands out); only the fields used. */
export interface ServiceAccountKey {
  readonly type: "service_account"
  readonly client_email: string
  readonly private_key: Redacted.Redacted<string>
  readonly private_key_id?: string | undefined
  readonly token_uri?: string | undefined
}

export interface AuthorizedUser {
  readonly type: "authorized_user"
  readonly client_id: string
  readonly client_secret: Redacted.Redacted<string>
  readonly refresh_token: Redacted.Redacted<string>
  readonly token_uri?: string | undefined
}

export type CredentialFile = ServiceAccountKey | AuthorizedUser

const unauthenticated = (description: string, cause?: unknown) =>
  new Unauthenticated({ store: STORE, method: "credentials", description, cause })

/**
 * Reads a credential file's JSON; the secrets in it are wrapped in `Redacted` at once, and an error never quotes the
 * document (it holds a private key).
 */
export const parseCredentialFile = (text: string, source: string): CredentialFile | Unauthenticated => {
  let json: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== "object" || parsed === null) return unauthenticated(`${source} is not a JSON object`)
    json = parsed as Record<string, unknown>
  } catch {
    return unauthenticated(`${source} is not valid JSON`)
  }
  const str = (key: string) => typeof json[key] === "string" ? json[key] as string : undefined
  const tokenUri = str("token_uri")
  if (json.type === "service_account") {
    const email = str("client_email")
    const key = str("private_key")
    if (email === undefined || key === undefined) {
      return unauthenticated(`${source}: a service account key needs client_email and private_key`)
    }
    return {
      type: "service_account",
      client_email: email,
      private_key: Redacted.make(key),
      private_key_id: str("private_key_id"),
      token_uri: tokenUri
    }
  }
  if (json.type === "authorized_user") {
    const id = str("client_id")
    const secret = str("client_secret")
    const refresh = str("refresh_token")
    if (id === undefined || secret === undefined || refresh === undefined) {
      return unauthenticated(`${source}: authorized_user needs client_id, client_secret and refresh_token`)
    }
    return {
      type: "authorized_user",
      client_id: id,
      client_secret: Redacted.make(secret),
      refresh_token: Redacted.make(refresh),
      token_uri: tokenUri
    }
  }
  return unauthenticated(`${source}: unsupported credential type ${JSON.stringify(String(json.type ?? "none"))}`)
}

const base64url = (data: string | Buffer) => Buffer.from(data).toString("base64url")

/** The signed JWT of the OAuth 2.0 JWT bearer flow (RFC 7523) for a service account. */
export const serviceAccountJwt = (key: ServiceAccountKey, nowMillis: number, scope = SCOPE): string => {
  const iat = Math.floor(nowMillis / 1000)
  const header = base64url(JSON.stringify({
    alg: "RS256",
    typ: "JWT",
    ...(key.private_key_id === undefined ? {} : { kid: key.private_key_id })
  }))
  const claims = base64url(JSON.stringify({
    iss: key.client_email,
    scope,
    aud: key.token_uri ?? DEFAULT_TOKEN_URI,
    iat,
    exp: iat + 3600
  }))
  const input = `${header}.${claims}`
  const signature = createSign("RSA-SHA256").update(input).sign(Redacted.value(key.private_key))
  return `${input}.${base64url(signature)}`
}

/** An OAuth token endpoint's answer: `{ access_token, expires_in }`; its error body is reported by code only. */
const tokenFrom = (
  response: Metadata.MetadataResponse,
  what: string,
  now: number
): Effect.Effect<GcpToken, Unauthenticated | StoreError> => {
  let body: { access_token?: unknown; expires_in?: unknown; error?: unknown } = {}
  try {
    body = JSON.parse(response.body) as typeof body
  } catch {
    // reported below
  }
  if (response.status !== 200) {
    const code = typeof body.error === "string" ? `: ${body.error}` : ""
    const description = `${what} answered HTTP ${response.status}${code}`
    return Effect.fail(
      response.status >= 500 || response.status === 429
        ? new StoreError({ store: STORE, method: "credentials", description })
        : unauthenticated(description)
    )
  }
  if (typeof body.access_token !== "string" || body.access_token === "") {
    return Effect.fail(unauthenticated(`${what} answered without an access_token`))
  }
  const seconds = typeof body.expires_in === "number" ? body.expires_in : Number(body.expires_in ?? 3600)
  return Effect.succeed({
    token: Redacted.make(body.access_token),
    expiresAt: now + (Number.isFinite(seconds) ? seconds : 3600) * 1000
  })
}

const unreachable = (what: string) => (error: Metadata.MetadataError) =>
  new StoreError({ store: STORE, method: "credentials", description: `${what}: ${error.reason}`, cause: error })

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

const postForm = (url: string, fields: Record<string, string>, what: string) =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Metadata.request(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form(fields)
    }, TIMEOUT).pipe(
      Effect.mapError(unreachable(what)),
      Effect.flatMap((response) => tokenFrom(response, what, now))
    ))

/** Exchanges a signed JWT for an access token at the key's token endpoint. */
export const serviceAccount = (key: ServiceAccountKey): TokenProvider =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    let assertion: string
    try {
      assertion = serviceAccountJwt(key, now)
    } catch (cause) {
      // node:crypto's message names the key format problem, never the key.
      return Effect.fail(unauthenticated("the service account's private_key cannot sign (not an RSA PEM key)", cause))
    }
    return postForm(key.token_uri ?? DEFAULT_TOKEN_URI, {
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion
    }, "the service account token endpoint")
  })

/** Trades a refresh token for an access token. */
export const authorizedUser = (user: AuthorizedUser): TokenProvider =>
  Effect.suspend(() =>
    postForm(user.token_uri ?? DEFAULT_TOKEN_URI, {
      grant_type: "refresh_token",
      client_id: user.client_id,
      client_secret: Redacted.value(user.client_secret),
      refresh_token: Redacted.value(user.refresh_token)
    }, "the OAuth token endpoint")
  )

/** The token of the instance's default service account, from the GCE metadata server. */
export const metadataServer = (endpoint: string): TokenProvider =>
  Effect.flatMap(Clock.currentTimeMillis, (now) =>
    Metadata.request(
      `${endpoint.replace(/\/+$/, "")}/computeMetadata/v1/instance/service-accounts/default/token`,
      { method: "GET", headers: { "metadata-flavor": "Google" } },
      TIMEOUT
    ).pipe(
      Effect.mapError(unreachable("the GCE metadata server")),
      Effect.flatMap((response) => tokenFrom(response, "the GCE metadata server", now))
    ))

export const fromFile = (file: CredentialFile): TokenProvider =>
  file.type === "service_account" ? serviceAccount(file) : authorizedUser(file)

export const staticToken = (token: Redacted.Redacted<string>): TokenProvider => Effect.succeed({ token })

/** A provider behind the token cache. */
export const cached = (provider: TokenProvider): Effect.Effect<TokenProvider> =>
  TokenCache.make(provider, { expiresAt: (t) => t.expiresAt })
