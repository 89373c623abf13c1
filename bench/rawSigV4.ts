// The raw floor's signing, shared by the S3 benchmarks: SigV4 header auth in the fewest lines on node:crypto, as a
// hand-written client would do it (the keys used here need no path encoding). Not the library's signer, on purpose.
import { createHash, createHmac } from "node:crypto"

export const HOST = "127.0.0.1:47480"
export const REGION = "us-east-1"
export const ACCESS_KEY = "AKIAOBSTORETEST00000"
export const SECRET_KEY = "obstoreTestSecretKey00000000000000000000"
export const UNSIGNED = "UNSIGNED-PAYLOAD"

/** An encoded, sorted query string (what SigV4 signs and what goes on the wire). */
export const query = (params: ReadonlyArray<readonly [string, string]>): string =>
  params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).sort().join("&")

const signingKeys = new Map<string, Buffer>()

const signingKey = (day: string): Buffer => {
  let key = signingKeys.get(day)
  if (key === undefined) {
    const hmac = (k: string | Buffer, data: string) => createHmac("sha256", k).update(data).digest()
    key = hmac(hmac(hmac(hmac(`AWS4${SECRET_KEY}`, day), REGION), "s3"), "aws4_request")
    signingKeys.set(day, key)
  }
  return key
}

/** The headers of a signed request: `extra`, host, date, payload hash and authorization. */
export const sign = (
  method: string,
  path: string,
  canonicalQuery: string,
  extra: Readonly<Record<string, string>>,
  payloadHash: string = UNSIGNED
): Record<string, string> => {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "")
  const day = amzDate.slice(0, 8)
  const headers: Record<string, string> = {
    ...extra,
    host: HOST,
    "x-amz-content-sha256": payloadHash,
    "x-amz-date": amzDate
  }
  const names = Object.keys(headers).sort()
  const signed = names.join(";")
  const canonical = `${method}\n${path}\n${canonicalQuery}\n${
    names.map((n) => `${n}:${headers[n]}\n`).join("")
  }\n${signed}\n${payloadHash}`
  const scope = `${day}/${REGION}/s3/aws4_request`
  const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash("sha256").update(canonical).digest("hex")}`
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, SignedHeaders=${signed}, Signature=${
    createHmac("sha256", signingKey(day)).update(toSign).digest("hex")
  }`
  return headers
}
