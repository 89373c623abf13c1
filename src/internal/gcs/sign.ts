// V4 signed URLs (https://cloud.google.com/storage/docs/access-control/signing-urls-manually): GOOG4-RSA-SHA256 with
// a service account's private key, query-string form, UNSIGNED-PAYLOAD. `signV4` is pure (tested against Google's
// conformance cases); `makeSigner` is the Signer service over a store's bucket.
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash, createSign } from "node:crypto"
import * as ObjectPath from "../../ObjectPath.js"
import { InvalidConfig, Unauthenticated } from "../../ObjectStoreError.js"
import type * as Signer from "../../Signer.js"
import type { Client } from "./client.js"
import { encodeName, STORE } from "./client.js"
import type { ServiceAccountKey } from "./credentials.js"

/** RFC 3986 percent-encoding of everything but unreserved characters. */
export const encodeRfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())

/** An object path with its `/` kept, every segment encoded. */
export const encodePath = (path: string): string => path.split("/").map(encodeRfc3986).join("/")

export interface V4Request {
  readonly method: string
  /** The `host` header as signed. */
  readonly host: string
  /** The encoded request path. */
  readonly path: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly query?: Readonly<Record<string, string>> | undefined
  readonly email: string
  readonly privateKey: Redacted.Redacted<string>
  readonly date: Date
  /** Seconds, at most 604800 (7 days). */
  readonly expiresIn: number
}

export interface V4Signature {
  readonly canonicalRequest: string
  readonly stringToSign: string
  readonly signature: string
  /** The query string of the signed URL, signature last. */
  readonly queryString: string
}

const stamp = (date: Date) => date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")

// Header values are trimmed and runs of spaces and tabs folded into one space.
const canonicalValue = (value: string) => value.trim().replace(/[ \t]+/g, " ")

export const signV4 = (request: V4Request): V4Signature => {
  const timestamp = stamp(request.date)
  const day = timestamp.slice(0, 8)
  const scope = `${day}/auto/storage/goog4_request`
  const headers = new Map<string, string>([["host", request.host]])
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    headers.set(name.toLowerCase(), canonicalValue(value))
  }
  const names = Array.from(headers.keys()).sort()
  const signedHeaders = names.join(";")
  const query: Array<readonly [string, string]> = [
    ["X-Goog-Algorithm", "GOOG4-RSA-SHA256"],
    ["X-Goog-Credential", `${request.email}/${scope}`],
    ["X-Goog-Date", timestamp],
    ["X-Goog-Expires", String(request.expiresIn)],
    ["X-Goog-SignedHeaders", signedHeaders],
    ...Object.entries(request.query ?? {})
  ]
  const canonicalQuery = query
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&")
  const canonicalHeaders = names.map((n) => `${n}:${headers.get(n)}\n`).join("")
  const payload = headers.get("x-goog-content-sha256") ?? "UNSIGNED-PAYLOAD"
  const canonicalRequest = [
    request.method,
    request.path,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    payload
  ].join("\n")
  const stringToSign = [
    "GOOG4-RSA-SHA256",
    timestamp,
    scope,
    createHash("sha256").update(canonicalRequest).digest("hex")
  ].join("\n")
  const signature = createSign("RSA-SHA256").update(stringToSign).sign(Redacted.value(request.privateKey), "hex")
  return {
    canonicalRequest,
    stringToSign,
    signature,
    queryString: `${canonicalQuery}&X-Goog-Signature=${signature}`
  }
}

const MAX_EXPIRES = 604_800

const expiresProblem = (input: Duration.DurationInput, decoded: Option.Option<Duration.Duration>) => {
  if (Option.isNone(decoded)) {
    return `expected a duration such as "1 hour" or milliseconds, got ${JSON.stringify(String(input))}`
  }
  const seconds = Duration.toSeconds(decoded.value)
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_EXPIRES
    ? undefined
    : `expiresIn must be whole seconds between 1 and ${MAX_EXPIRES} (7 days), got ${seconds} s`
}

/**
 * The Signer of a store whose paths live below `prefix`. Signing needs a service account key; without any
 * credentials (an emulator, a public bucket) the URL is plain.
 */
export const makeSigner = (
  gcs: Client,
  key: ServiceAccountKey | "unsigned" | undefined,
  prefix: string
): Signer.Signer.Service => {
  const one = (method: Signer.SignMethod, input: string, expiresIn: number) =>
    Effect.gen(function*() {
      const parsed = ObjectPath.parse(input, { store: STORE, method: "sign" })
      if (Either.isLeft(parsed)) return yield* Effect.fail(parsed.left)
      const name = ObjectPath.join(prefix, parsed.right)
      const path = `${gcs.target.basePath}/${encodeName(gcs.bucket)}/${encodePath(name)}`
      const url = new URL(gcs.target.origin + path)
      if (key === "unsigned") return url
      if (key === undefined) {
        return yield* Effect.fail(
          new Unauthenticated({
            store: STORE,
            method: "sign",
            path: input,
            description: "signing URLs needs a service account key (serviceAccount or serviceAccountKey)"
          })
        )
      }
      const now = yield* Clock.currentTimeMillis
      const signed = signV4({
        method,
        host: gcs.target.host,
        path,
        email: key.client_email,
        privateKey: key.private_key,
        date: new Date(now),
        expiresIn
      })
      url.search = signed.queryString
      return url
    })
  const sign = (method: Signer.SignMethod, paths: string | ReadonlyArray<string>, input: Duration.DurationInput) => {
    const decoded = Duration.decodeUnknown(input)
    const problem = expiresProblem(input, decoded)
    const seconds = Option.match(decoded, { onNone: () => 0, onSome: Duration.toSeconds })
    const effect: Effect.Effect<URL | ReadonlyArray<URL>, Signer.SignError> = problem !== undefined
      ? Effect.fail(new InvalidConfig({ store: STORE, method: "sign", field: "expiresIn", description: problem }))
      : typeof paths === "string"
      ? one(method, paths, seconds)
      : Effect.forEach(paths, (p) => one(method, p, seconds))
    return Effect.withSpan(effect, "GCSStore.sign", { attributes: { "objectstore.store": STORE } })
  }
  return { sign: sign as Signer.Signer.Service["sign"] }
}
