// Secrets a server may echo back (a session token, the Authorization header, a SAS signature, the secret key it
// shares with us) are removed from anything the server said before it becomes part of an error. The request engine
// collects what it sent (see `sentSecrets`) and asks the store for what it holds (`EngineOptions.secrets`).
import { isObjectStoreError } from "../../ObjectStoreError.js"
import { isTransportError, TransportError } from "../http/transport.js"
import { HttpFailure } from "./failure.js"

// No XML or JSON syntax in it: error bodies are scrubbed before they are parsed.
export const REDACTED = "[redacted]"

/** Shorter values are not treated as secrets: scrubbing them would mangle ordinary words. */
const MIN_SECRET_LENGTH = 8

/** Request headers whose values are credentials, on every cloud. */
export const SECRET_HEADERS: ReadonlyArray<string> = [
  "authorization",
  "proxy-authorization",
  "x-amz-security-token",
  "x-goog-iam-authorization-token",
  "cookie",
  "x-api-key"
]

/** Query parameters that carry credentials: presigned URLs, SAS tokens, OAuth tokens. */
const SECRET_PARAMS = new Set([
  "sig",
  "signature",
  "x-amz-signature",
  "x-amz-security-token",
  "x-amz-credential",
  "x-goog-signature",
  "x-goog-credential",
  "access_token",
  "token"
])

const add = (into: Array<string>, value: string | undefined) => {
  if (value !== undefined && value.length >= MIN_SECRET_LENGTH) into.push(value)
}

/**
 * The credentials in the headers and query string of one attempt: each secret header's whole value and its parts
 * (an Authorization header's signature and credential, a bearer token), and secret query parameters (raw and decoded).
 */
export const sentSecrets = (
  headers: Record<string, string>,
  query: string,
  extraHeaders: ReadonlyArray<string> = []
): Array<string> => {
  const out: Array<string> = []
  for (const name of SECRET_HEADERS) collectHeader(out, headers[name])
  for (const name of extraHeaders) collectHeader(out, headers[name])
  if (query !== "") {
    for (const pair of query.split("&")) {
      const eq = pair.indexOf("=")
      if (eq === -1 || !SECRET_PARAMS.has(pair.slice(0, eq).toLowerCase())) continue
      const raw = pair.slice(eq + 1)
      add(out, raw)
      try {
        add(out, decodeURIComponent(raw))
      } catch {
        // not percent-encoded text: the raw form is enough
      }
    }
  }
  return out
}

const collectHeader = (out: Array<string>, value: string | undefined) => {
  if (value === undefined) return
  add(out, value)
  // "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…", "Bearer …", "SharedKey account:signature".
  for (const part of value.split(/[\s,]+/)) {
    const eq = part.indexOf("=")
    add(out, eq === -1 ? part : part.slice(eq + 1))
    const colon = part.lastIndexOf(":")
    if (colon !== -1) add(out, part.slice(colon + 1))
  }
}

/** A scrubber for a set of secrets (each also in its percent-encoded form); longest first, so no part is left. */
export const scrubber = (secrets: ReadonlyArray<string>): (text: string) => string => {
  const all = new Set<string>()
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue
    all.add(secret)
    all.add(encodeURIComponent(secret))
  }
  if (all.size === 0) return (text) => text
  const list = Array.from(all).sort((a, b) => b.length - a.length)
  return (text) => {
    let out = text
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
    return out
  }
}

const safeText = (u: unknown): string => {
  try {
    return typeof u === "string" ? u : JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

/**
 * An error with the secrets taken out of everything a server could have put in it: the description, an HTTP
 * failure's message and headers, and any other cause (replaced by its scrubbed text when it holds a secret).
 */
export const scrubError = <E>(error: E, scrub: (text: string) => string): E => {
  if (error instanceof HttpFailure) return scrubFailure(error, scrub) as E
  if (!isObjectStoreError(error)) return error
  const description = error.description === undefined ? undefined : scrub(error.description)
  const cause = scrubCause(error.cause, scrub)
  if (description === error.description && cause === error.cause) return error
  const copy = Object.create(Object.getPrototypeOf(error)) as E
  return Object.assign(copy as object, error, { description, cause }) as E
}

const scrubCause = (cause: unknown, scrub: (text: string) => string): unknown => {
  if (cause === undefined || cause === null) return cause
  if (cause instanceof HttpFailure) return scrubFailure(cause, scrub)
  if (isObjectStoreError(cause)) return scrubError(cause, scrub)
  // Kept a TransportError (lost-response checks look for one), with its description scrubbed.
  if (isTransportError(cause)) {
    const description = scrub(cause.description)
    return description === cause.description
      ? cause
      : new TransportError(cause.kind, description, scrubCause(cause.cause, scrub), cause.sent)
  }
  const text = safeText(cause)
  const clean = scrub(text)
  return clean === text ? cause : clean
}

export const scrubFailure = (failure: HttpFailure, scrub: (text: string) => string): HttpFailure => {
  const message = failure.message === undefined ? undefined : scrub(failure.message)
  const code = failure.code === undefined ? undefined : scrub(failure.code)
  let headers = failure.headers
  for (const name in failure.headers) {
    const value = failure.headers[name]
    const text = value === undefined ? undefined : typeof value === "string" ? value : value.join(", ")
    if (text !== undefined && scrub(text) !== text) {
      headers = { ...headers, [name]: scrub(text) }
    }
  }
  return message === failure.message && code === failure.code && headers === failure.headers
    ? failure
    : new HttpFailure(failure.status, code, message, headers)
}
