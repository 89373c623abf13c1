// AWS Signature Version 4, on node:crypto. Synchronous on purpose: a signature is one SHA-256 and one HMAC once the
// derived key is cached, and staying off WebCrypto's promise round-trips is what keeps client CPU near the design
// target (~0.3 s per 1,000 requests including the HTTP call). Pure functions: the S3 store unwraps its Redacted
// secrets just before calling them and maps the rare thrown RangeError (bad expiry) into its own error.
//
// Micro-benchmark (100,000 header signings of a typical S3 GET, same day so the derived key is cached; Node 20):
// about 6 µs per signature, of which ~2 µs is the SHA-256 and HMAC, i.e. ~2% of the per-request CPU budget.
import * as Crypto from "node:crypto"

/**
 * Plain-string credentials: the caller unwraps its `Redacted` values at the call site so the secret lives in as few
 * places as possible.
 */
export interface Credentials {
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly sessionToken?: string | undefined
}

/** What both forms (header and presigned query) need. */
export interface RequestInput {
  readonly method: string
  /**
   * The path as sent on the wire, already URI-encoded (build it with {@link encodeS3Key} so the URL and the signature
   * use the same string), unless `encodePath` is set.
   */
  readonly path: string
  /** `path` is raw (decoded): encode each segment once, keeping "/". */
  readonly encodePath?: boolean | undefined
  /**
   * Remove dot segments and duplicate slashes before signing. Off for S3, which signs the path exactly as sent; on for
   * the generic AWS test suite.
   */
  readonly normalizePath?: boolean | undefined
  /** Raw (decoded) query parameters; encoded and sorted here. */
  readonly query?: ReadonlyArray<readonly [string, string]> | undefined
  /**
   * Headers to sign, with lowercase names; `host` must be among them. An array is a repeated header (joined with
   * ","). Do not pass `x-amz-date`, `x-amz-security-token`, `authorization` (nor `x-amz-content-sha256` with
   * `contentSha256Header`): the signer adds them.
   */
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string>>>
  /** Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`. */
  readonly payloadHash: string
  readonly credentials: Credentials
  readonly region: string
  readonly service: string
  readonly date: Date
  /**
   * Whether the session token takes part in the signature (default true, what S3 and STS expect). When false it is
   * still sent, but added after signing (`omit_session_token` in the AWS suite).
   */
  readonly signSessionToken?: boolean | undefined
}

/** Header form input. */
export interface SignInput extends RequestInput {
  /** Also send and sign `x-amz-content-sha256: <payloadHash>` (required by S3). */
  readonly contentSha256Header?: boolean | undefined
}

/** Presigned (query) form input. */
export interface PresignInput extends RequestInput {
  /** Seconds, 1..604800 (seven days, the SigV4 maximum). */
  readonly expiresIn: number
}

/**
 * The intermediate strings are returned because they are built anyway to compute the signature: exposing them costs
 * nothing and lets tests pin each stage separately.
 */
export interface Signed {
  readonly signature: string
  readonly signedHeaders: string
  readonly canonicalRequest: string
  readonly stringToSign: string
  /** Encoded, sorted query of the request; the URL may use it as its query string. */
  readonly canonicalQuery: string
}

/** Header form result. */
export interface SignedRequest extends Signed {
  /** Headers to add to the request: `authorization`, `x-amz-date`, and when asked `x-amz-security-token`, `x-amz-content-sha256`. */
  readonly headers: Record<string, string>
}

/** Presigned form result. */
export interface PresignedRequest extends Signed {
  /** The authentication parameters added, raw (decoded), `X-Amz-Signature` last. */
  readonly params: ReadonlyArray<readonly [string, string]>
  /** The complete encoded query string for the URL: the request's parameters, the auth parameters and the signature. */
  readonly queryString: string
}

const ALGORITHM = "AWS4-HMAC-SHA256"

/** Largest `X-Amz-Expires` SigV4 accepts (seven days). */
export const maxExpiresIn = 604800

/** Why an expiry is invalid, or undefined. */
export const expiresInProblem = (expiresIn: number): string | undefined =>
  Number.isSafeInteger(expiresIn) && expiresIn >= 1 && expiresIn <= maxExpiresIn
    ? undefined
    : `expiresIn must be an integer number of seconds between 1 and ${maxExpiresIn}, got ${String(expiresIn)}`

// ---------------------------------------------------------------------------------------------------------------
// Encoding

const UNRESERVED = /^[A-Za-z0-9\-._~]*$/
const UNRESERVED_OR_SLASH = /^[A-Za-z0-9\-._~/]*$/
const SUB_DELIMS = /[!'()*]/g
const ENCODED_SLASH = /%2F/g
const escapeSubDelim = (c: string) => "%" + c.charCodeAt(0).toString(16).toUpperCase()

/**
 * RFC 3986 encoding as SigV4 wants it: only A-Z a-z 0-9 - _ . ~ kept, UTF-8, uppercase hex. `encodeURIComponent`
 * already does this except for ! ' ( ) *. Throws URIError on a lone surrogate (no valid UTF-8 exists for it).
 */
export const encodeRfc3986 = (s: string): string =>
  UNRESERVED.test(s) ? s : encodeURIComponent(s).replace(SUB_DELIMS, escapeSubDelim)

/**
 * An S3 key as it goes into a request path: each segment encoded once, "/" kept, no leading "/" added. The S3 store
 * builds the URL from this and signs the very same string, so the two cannot disagree.
 */
export const encodeS3Key = (key: string): string =>
  UNRESERVED_OR_SLASH.test(key) ? key : encodeRfc3986(key).replace(ENCODED_SLASH, "/")

/** RFC 3986 remove_dot_segments plus collapsing of empty segments; a trailing "/" survives. */
export const normalizePath = (path: string): string => {
  const segments = path.split("/")
  const out: Array<string> = []
  for (const segment of segments) {
    if (segment === "" || segment === ".") continue
    if (segment === "..") out.pop()
    else out.push(segment)
  }
  const last = segments[segments.length - 1]
  const trailing = out.length > 0 && (last === "" || last === "." || last === "..")
  return "/" + out.join("/") + (trailing ? "/" : "")
}

const canonicalUri = (input: RequestInput): string => {
  let path = input.path
  if (input.normalizePath === true) path = normalizePath(path)
  if (input.encodePath === true) path = encodeS3Key(path)
  return path === "" ? "/" : path
}

const compareEncoded = (a: readonly [string, string], b: readonly [string, string]): number =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0

const canonicalQueryOf = (query: ReadonlyArray<readonly [string, string]>): string => {
  if (query.length === 0) return ""
  const encoded: Array<readonly [string, string]> = new Array(query.length)
  for (let i = 0; i < query.length; i++) encoded[i] = [encodeRfc3986(query[i][0]), encodeRfc3986(query[i][1])]
  // Sorted by byte order of the encoded key, then value; encoded strings are ASCII so code-unit order is byte order.
  if (encoded.length > 1) encoded.sort(compareEncoded)
  let out = encoded[0][0] + "=" + encoded[0][1]
  for (let i = 1; i < encoded.length; i++) out += "&" + encoded[i][0] + "=" + encoded[i][1]
  return out
}

// Trim and collapse inner whitespace runs (folded multi-line values included), as the AWS SDKs do; tested first so
// the common already-clean value costs one regex test and no allocation.
const NEEDS_TRIM = /^\s|\s$|\s\s|[\t\n\r\f\v]/
const WHITESPACE_RUN = /\s+/g
const canonicalValue = (value: string): string =>
  NEEDS_TRIM.test(value) ? value.trim().replace(WHITESPACE_RUN, " ") : value

// ---------------------------------------------------------------------------------------------------------------
// Crypto

// One-shot `crypto.hash` (Node >= 20.12) skips the Hash object; fall back for older 20.x.
const oneShotHash = (Crypto as { readonly hash?: typeof Crypto.hash }).hash
const sha256Hex: (data: string) => string = typeof oneShotHash === "function"
  ? (data) => oneShotHash("sha256", data, "hex")
  : (data) => Crypto.createHash("sha256").update(data).digest("hex")

const hmac = (key: string | Buffer, data: string): Buffer => Crypto.createHmac("sha256", key).update(data).digest()

// The derived key depends only on (secret, day, region, service): a handful of entries covers every store in a
// process. Never exported, so the secret-derived material cannot leak through the module's API.
const KEY_CACHE_SIZE = 8
const keyCache = new Map<string, Buffer>()
let lastSecret = ""
let lastDay = ""
let lastRegion = ""
let lastService = ""
let lastKey: Buffer | undefined

const signingKey = (secret: string, day: string, region: string, service: string): Buffer => {
  if (
    lastKey !== undefined && day === lastDay && secret === lastSecret && region === lastRegion &&
    service === lastService
  ) return lastKey
  const cacheKey = day + "\n" + region + "\n" + service + "\n" + secret
  let key = keyCache.get(cacheKey)
  if (key === undefined) {
    key = hmac(hmac(hmac(hmac("AWS4" + secret, day), region), service), "aws4_request")
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string)
    keyCache.set(cacheKey, key)
  }
  lastSecret = secret
  lastDay = day
  lastRegion = region
  lastService = service
  lastKey = key
  return key
}

// Requests in a burst share the second; formatting it once per second (not per millisecond) saves a toISOString
// per request.
let lastSecond = Number.NaN
let lastAmzDate = ""

/** `yyyymmddThhmmssZ`; throws RangeError on an invalid Date. */
const amzDateOf = (date: Date): string => {
  const second = Math.floor(date.getTime() / 1000)
  if (second === lastSecond) return lastAmzDate
  const iso = date.toISOString()
  const amz = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 13) + iso.slice(14, 16) + iso.slice(17, 19) + "Z"
  lastSecond = second
  lastAmzDate = amz
  return amz
}

// ---------------------------------------------------------------------------------------------------------------
// Signing

interface Core {
  readonly signature: string
  readonly signedHeaders: string
  readonly canonicalRequest: string
  readonly stringToSign: string
  readonly canonicalQuery: string
}

const signCore = (
  input: RequestInput,
  query: ReadonlyArray<readonly [string, string]>,
  extraHeaders: ReadonlyArray<readonly [string, string]>,
  amzDate: string,
  day: string,
  scope: string
): Core => {
  const entries: Array<readonly [string, string]> = []
  const headers = input.headers
  for (const name in headers) {
    const value = headers[name]
    entries.push([
      name,
      typeof value === "string" ? canonicalValue(value) : value.map(canonicalValue).join(",")
    ])
  }
  for (const entry of extraHeaders) entries.push(entry)
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

  let canonicalHeaders = ""
  let signedHeaders = ""
  for (let i = 0; i < entries.length; i++) {
    canonicalHeaders += entries[i][0] + ":" + entries[i][1] + "\n"
    signedHeaders += i === 0 ? entries[i][0] : ";" + entries[i][0]
  }
  const canonicalQuery = canonicalQueryOf(query)
  const canonicalRequest = input.method + "\n" + canonicalUri(input) + "\n" + canonicalQuery + "\n" +
    canonicalHeaders + "\n" + signedHeaders + "\n" + input.payloadHash
  const stringToSign = ALGORITHM + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex(canonicalRequest)
  const key = signingKey(input.credentials.secretAccessKey, day, input.region, input.service)
  const signature = Crypto.createHmac("sha256", key).update(stringToSign).digest("hex")
  return { signature, signedHeaders, canonicalRequest, stringToSign, canonicalQuery }
}

/**
 * Signs a request in the header form. Returns the headers to add (`authorization`, `x-amz-date`, and
 * `x-amz-security-token` / `x-amz-content-sha256` when they apply).
 */
export const signRequest = (input: SignInput): SignedRequest => {
  const amzDate = amzDateOf(input.date)
  const day = amzDate.slice(0, 8)
  const scope = day + "/" + input.region + "/" + input.service + "/aws4_request"
  const token = input.credentials.sessionToken
  const signToken = token !== undefined && input.signSessionToken !== false

  const extra: Array<readonly [string, string]> = [["x-amz-date", amzDate]]
  if (signToken) extra.push(["x-amz-security-token", token])
  if (input.contentSha256Header === true) extra.push(["x-amz-content-sha256", input.payloadHash])

  const core = signCore(input, input.query ?? [], extra, amzDate, day, scope)
  const headers: Record<string, string> = {
    authorization: ALGORITHM + " Credential=" + input.credentials.accessKeyId + "/" + scope + ", SignedHeaders=" +
      core.signedHeaders + ", Signature=" + core.signature,
    "x-amz-date": amzDate
  }
  if (token !== undefined) headers["x-amz-security-token"] = token
  if (input.contentSha256Header === true) headers["x-amz-content-sha256"] = input.payloadHash
  return {
    signature: core.signature,
    signedHeaders: core.signedHeaders,
    canonicalRequest: core.canonicalRequest,
    stringToSign: core.stringToSign,
    canonicalQuery: core.canonicalQuery,
    headers
  }
}

/**
 * Presigns a request: the authentication goes into the query string, so the URL alone grants access until it
 * expires. Throws a RangeError (naming only the bad value) when `expiresIn` is outside 1..604800.
 */
export const presign = (input: PresignInput): PresignedRequest => {
  const problem = expiresInProblem(input.expiresIn)
  if (problem !== undefined) throw new RangeError(problem)
  const amzDate = amzDateOf(input.date)
  const day = amzDate.slice(0, 8)
  const scope = day + "/" + input.region + "/" + input.service + "/aws4_request"
  const token = input.credentials.sessionToken
  const signToken = token !== undefined && input.signSessionToken !== false

  let signedHeaders = ""
  for (const name of Object.keys(input.headers).sort()) signedHeaders += signedHeaders === "" ? name : ";" + name

  const params: Array<readonly [string, string]> = [
    ["X-Amz-Algorithm", ALGORITHM],
    ["X-Amz-Credential", input.credentials.accessKeyId + "/" + scope],
    ["X-Amz-Date", amzDate],
    ["X-Amz-Expires", String(input.expiresIn)],
    ["X-Amz-SignedHeaders", signedHeaders]
  ]
  if (signToken) params.push(["X-Amz-Security-Token", token])
  const query = input.query === undefined ? params : [...input.query, ...params]

  const core = signCore(input, query, [], amzDate, day, scope)
  let queryString = core.canonicalQuery + "&X-Amz-Signature=" + core.signature
  if (token !== undefined && !signToken) {
    params.push(["X-Amz-Security-Token", token])
    queryString += "&X-Amz-Security-Token=" + encodeRfc3986(token)
  }
  params.push(["X-Amz-Signature", core.signature])
  return { ...core, params, queryString }
}
