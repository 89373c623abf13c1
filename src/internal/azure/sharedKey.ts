// Azure Storage Shared Key signing and service SAS on node:crypto
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key,
// https://learn.microsoft.com/rest/api/storageservices/create-service-sas). The account key is decoded once; every
// request is one HMAC-SHA256 over a string built without intermediate arrays of headers.
import { createHmac } from "node:crypto"

/** The REST API version we speak (Blob Batch needs 2018-11-09, `x-ms-tags` 2019-12-12). */
export const API_VERSION = "2023-11-03"

/** The standard headers of the string to sign, in order (Content-Length "0" is signed as empty since 2015-02-21). */
const STANDARD = [
  "content-encoding",
  "content-language",
  "content-length",
  "content-md5",
  "content-type",
  "date",
  "if-modified-since",
  "if-match",
  "if-none-match",
  "if-unmodified-since",
  "range"
] as const

export interface SharedKeyRequest {
  readonly method: string
  /** The encoded request path, as sent (e.g. "/devstoreaccount1/container/a%20b"). */
  readonly path: string
  /** Query parameters, not encoded. */
  readonly query: ReadonlyArray<readonly [string, string]> | undefined
  /** Lowercase names. */
  readonly headers: Record<string, string>
}

/** The CanonicalizedHeaders: every x-ms- header, sorted, one `name:value\n` per header (values unfolded). */
const canonicalHeaders = (headers: Record<string, string>): string => {
  const names: Array<string> = []
  for (const name in headers) if (name.startsWith("x-ms-")) names.push(name)
  names.sort()
  let out = ""
  for (const name of names) out += `${name}:${headers[name].replace(/\s+/g, " ").trim()}\n`
  return out
}

/** The CanonicalizedResource: `/account/path`, then each query parameter, lowercased and sorted, with its values. */
const canonicalResource = (account: string, request: SharedKeyRequest): string => {
  let out = `/${account}${request.path}`
  const query = request.query
  if (query === undefined || query.length === 0) return out
  const byName = new Map<string, Array<string>>()
  for (const [k, v] of query) {
    const name = k.toLowerCase()
    const values = byName.get(name)
    if (values === undefined) byName.set(name, [v])
    else values.push(v)
  }
  for (const name of [...byName.keys()].sort()) out += `\n${name}:${byName.get(name)!.sort().join(",")}`
  return out
}

/** The string to sign of a request (exported for the tests that check it against Microsoft's examples). */
export const stringToSign = (account: string, request: SharedKeyRequest): string => {
  let out = request.method + "\n"
  for (const name of STANDARD) {
    const value = request.headers[name]
    out += (value === undefined || (name === "content-length" && value === "0") ? "" : value) + "\n"
  }
  return out + canonicalHeaders(request.headers) + canonicalResource(account, request)
}

/** A Shared Key signer for one account: decodes the key once. */
export const makeSigner = (account: string, key: string) => {
  const decoded = Buffer.from(key, "base64")
  const hmac = (text: string) => createHmac("sha256", decoded).update(text, "utf8").digest("base64")
  return {
    /** The `Authorization` header of a request whose headers already hold `x-ms-date` and `x-ms-version`. */
    authorization: (request: SharedKeyRequest): string =>
      `SharedKey ${account}:${hmac(stringToSign(account, request))}`,
    hmac
  }
}

export type SharedKeySigner = ReturnType<typeof makeSigner>

/** Whether a key is base64 of some bytes (the form Azure hands out). */
export const isBase64Key = (key: string): boolean =>
  key.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(key) && key.length % 4 === 0

/** A date as SAS wants it: ISO 8601 in UTC without milliseconds. */
export const sasDate = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, "Z")

export interface ServiceSas {
  /** Letters of the permissions, in the order Azure requires (racwdxyltmeop). */
  readonly permissions: string
  readonly expiry: Date
  readonly start?: Date | undefined
  readonly container: string
  /** The blob name, not encoded. */
  readonly blob: string
  readonly protocol?: "https" | "https,http" | undefined
}

/** A blob service SAS (sr=b) signed with the account key, as a query string (version 2020-12-06 and later layout). */
export const serviceSas = (signer: SharedKeySigner, account: string, sas: ServiceSas): string => {
  const start = sas.start === undefined ? "" : sasDate(sas.start)
  const expiry = sasDate(sas.expiry)
  const protocol = sas.protocol ?? ""
  const toSign = [
    sas.permissions,
    start,
    expiry,
    `/blob/${account}/${sas.container}/${sas.blob}`,
    "", // signed identifier
    "", // signed IP
    protocol,
    API_VERSION,
    "b",
    "", // snapshot time
    "", // encryption scope
    "",
    "",
    "",
    "",
    "" // rscc, rscd, rsce, rscl, rsct
  ].join("\n")
  const params = new URLSearchParams()
  params.set("sv", API_VERSION)
  if (start !== "") params.set("st", start)
  params.set("se", expiry)
  params.set("sr", "b")
  params.set("sp", sas.permissions)
  if (protocol !== "") params.set("spr", protocol)
  params.set("sig", signer.hmac(toSign))
  return params.toString()
}
