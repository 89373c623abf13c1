import { assert, describe, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as SigV4 from "../src/internal/signing/sigv4.js"

// The repo's own copy of AWS's suite (awslabs/aws-c-auth, Apache-2.0), so the tests do not depend on ../shared.
const SUITE = fileURLToPath(new URL("./fixtures/aws-sigv4-test-suite/", import.meta.url))

const sha256Hex = (data: string) => createHash("sha256").update(data, "utf8").digest("hex")
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

interface ParsedRequest {
  readonly method: string
  readonly path: string
  readonly query: Array<[string, string]>
  readonly headers: Record<string, string | Array<string>>
  readonly body: string
}

const parseQuery = (raw: string): Array<[string, string]> =>
  raw.split("&").filter((pair) => pair !== "").map((pair) => {
    const eq = pair.indexOf("=")
    const key = eq === -1 ? pair : pair.slice(0, eq)
    const value = eq === -1 ? "" : pair.slice(eq + 1)
    return [decodeURIComponent(key), decodeURIComponent(value)]
  })

/**
 * The suite's raw HTTP text: the request line (the path may hold spaces, so the version is split off the end),
 * headers with obsolete line folding and repeated names, a blank line, the body.
 */
const parseRequest = (text: string): ParsedRequest => {
  const normalized = text.replace(/\r\n/g, "\n")
  const blank = normalized.indexOf("\n\n")
  const head = blank === -1 ? normalized.replace(/\n$/, "") : normalized.slice(0, blank)
  const body = blank === -1 ? "" : normalized.slice(blank + 2)
  const [requestLine, ...lines] = head.split("\n")
  const method = requestLine.slice(0, requestLine.indexOf(" "))
  const target = requestLine.slice(method.length + 1, requestLine.lastIndexOf(" "))
  const q = target.indexOf("?")
  const path = q === -1 ? target : target.slice(0, q)
  const query = q === -1 ? [] : parseQuery(target.slice(q + 1))

  const order: Array<[string, Array<string>]> = []
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      // obs-fold: RFC 9112 has the recipient replace it with a space before the value is interpreted.
      const values = order[order.length - 1][1]
      values[values.length - 1] += " " + line
      continue
    }
    const colon = line.indexOf(":")
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1)
    const existing = order.find(([n]) => n === name)
    if (existing) existing[1].push(value)
    else order.push([name, [value]])
  }
  const headers: Record<string, string | Array<string>> = {}
  for (const [name, values] of order) headers[name] = values.length === 1 ? values[0] : values
  return { method, path, query, headers, body }
}

interface Context {
  readonly credentials: { readonly access_key_id: string; readonly secret_access_key: string; readonly token?: string }
  readonly expiration_in_seconds: number
  readonly normalize: boolean
  readonly region: string
  readonly service: string
  readonly sign_body: boolean
  readonly timestamp: string
  readonly omit_session_token?: boolean
}

const caseNames = Fs.readdirSync(SUITE, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

const read = (name: string, file: string) => Fs.readFileSync(Path.join(SUITE, name, file), "utf8")
const expected = (name: string, file: string) => read(name, file).replace(/\n+$/, "")

const load = (name: string) => {
  const request = parseRequest(read(name, "request.txt"))
  const context = JSON.parse(read(name, "context.json")) as Context
  const credentials: SigV4.Credentials = context.credentials.token === undefined
    ? { accessKeyId: context.credentials.access_key_id, secretAccessKey: context.credentials.secret_access_key }
    : {
      accessKeyId: context.credentials.access_key_id,
      secretAccessKey: context.credentials.secret_access_key,
      sessionToken: context.credentials.token
    }
  const input: SigV4.RequestInput = {
    method: request.method,
    path: request.path,
    // request.txt holds the raw path ("/example space/", "/ሴ"); S3 encodes each segment once, as the suite expects.
    encodePath: true,
    // S3 never normalizes; the suite's normalize:true cases are run with normalization switched on.
    normalizePath: context.normalize,
    query: request.query,
    headers: request.headers,
    // The canonical request always ends with the body's hash, whatever sign_body says.
    payloadHash: sha256Hex(request.body),
    credentials,
    region: context.region,
    service: context.service,
    date: new Date(context.timestamp),
    signSessionToken: context.omit_session_token !== true
  }
  return { request, context, input }
}

const sortedPairs = (pairs: ReadonlyArray<readonly [string, string]>) => pairs.map(([k, v]) => `${k}=${v}`).sort()

describe("AWS SigV4 test suite", () => {
  it("has the 38 published cases", () => {
    assert.strictEqual(caseNames.length, 38)
  })

  describe("header form", () => {
    for (const name of caseNames) {
      it(name, () => {
        const { context, input } = load(name)
        // sign_body: the body hash is also sent and signed as x-amz-content-sha256 (header form only).
        const signed = SigV4.signRequest({ ...input, contentSha256Header: context.sign_body })
        assert.strictEqual(signed.canonicalRequest, expected(name, "header-canonical-request.txt"))
        assert.strictEqual(signed.stringToSign, expected(name, "header-string-to-sign.txt"))
        assert.strictEqual(signed.signature, expected(name, "header-signature.txt"))

        // The headers we hand back are exactly the ones the suite's signed request added.
        const signedRequest = parseRequest(read(name, "header-signed-request.txt"))
        const added: Record<string, unknown> = {}
        for (const header of ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]) {
          if (signedRequest.headers[header] !== undefined) added[header] = signedRequest.headers[header]
        }
        assert.deepStrictEqual(signed.headers, added)
      })
    }
  })

  describe("query (presigned) form", () => {
    for (const name of caseNames) {
      it(name, () => {
        const { context, input } = load(name)
        // sign_body does not add x-amz-content-sha256 in the query form; the body hash still ends the request.
        const presigned = SigV4.presign({ ...input, expiresIn: context.expiration_in_seconds })
        assert.strictEqual(presigned.canonicalRequest, expected(name, "query-canonical-request.txt"))
        assert.strictEqual(presigned.stringToSign, expected(name, "query-string-to-sign.txt"))
        assert.strictEqual(presigned.signature, expected(name, "query-signature.txt"))

        // Same parameters as the suite's signed URL (order on the wire is free).
        const signedRequest = parseRequest(read(name, "query-signed-request.txt"))
        assert.deepStrictEqual(
          sortedPairs(parseQuery(presigned.queryString)),
          sortedPairs(signedRequest.query)
        )
      })
    }
  })

  it("session tokens: signed in the query form unless omitted, then appended unsigned", () => {
    const before = load("post-sts-header-before")
    const after = load("post-sts-header-after")
    const token = before.context.credentials.token!
    const signedIn = SigV4.presign({ ...before.input, expiresIn: 3600 })
    assert.include(signedIn.canonicalRequest, "X-Amz-Security-Token=")
    const appended = SigV4.presign({ ...after.input, expiresIn: 3600 })
    assert.notInclude(appended.canonicalRequest, "X-Amz-Security-Token")
    assert.include(appended.queryString, "&X-Amz-Security-Token=" + SigV4.encodeRfc3986(token))
    assert.deepStrictEqual(appended.params[appended.params.length - 1], ["X-Amz-Signature", appended.signature])
  })
})

// Examples from AWS's S3 documentation: "Signature Calculations for the Authorization Header" and
// "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
describe("S3 documentation examples", () => {
  const credentials = {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
  }
  const host = "examplebucket.s3.amazonaws.com"
  const base = { credentials, region: "us-east-1", service: "s3", date: new Date("2013-05-24T00:00:00Z") }

  it("GET Object with a Range header", () => {
    const signed = SigV4.signRequest({
      ...base,
      method: "GET",
      path: "/test.txt",
      headers: { host, range: "bytes=0-9" },
      payloadHash: EMPTY_SHA256,
      contentSha256Header: true
    })
    assert.strictEqual(
      signed.canonicalRequest,
      [
        "GET",
        "/test.txt",
        "",
        "host:examplebucket.s3.amazonaws.com",
        "range:bytes=0-9",
        `x-amz-content-sha256:${EMPTY_SHA256}`,
        "x-amz-date:20130524T000000Z",
        "",
        "host;range;x-amz-content-sha256;x-amz-date",
        EMPTY_SHA256
      ].join("\n")
    )
    assert.strictEqual(
      signed.stringToSign,
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"
    )
    assert.strictEqual(signed.signature, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    assert.deepStrictEqual(signed.headers, {
      authorization: "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
      "x-amz-date": "20130524T000000Z",
      "x-amz-content-sha256": EMPTY_SHA256
    })
  })

  it("PUT Object: a key with '$', encoded once with encodeS3Key", () => {
    const payloadHash = sha256Hex("Welcome to Amazon S3.")
    const path = "/" + SigV4.encodeS3Key("test$file.text")
    assert.strictEqual(path, "/test%24file.text")
    const signed = SigV4.signRequest({
      ...base,
      method: "PUT",
      path,
      headers: { host, date: "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY" },
      payloadHash,
      contentSha256Header: true
    })
    assert.strictEqual(signed.signedHeaders, "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class")
    assert.strictEqual(signed.signature, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
  })

  it("GET Bucket lifecycle and list objects: query parameters encoded and sorted", () => {
    const get = (query: ReadonlyArray<readonly [string, string]>) =>
      SigV4.signRequest({
        ...base,
        method: "GET",
        path: "/",
        query,
        headers: { host },
        payloadHash: EMPTY_SHA256,
        contentSha256Header: true
      })
    const lifecycle = get([["lifecycle", ""]])
    assert.strictEqual(lifecycle.canonicalQuery, "lifecycle=")
    assert.strictEqual(lifecycle.signature, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    const list = get([["prefix", "J"], ["max-keys", "2"]])
    assert.strictEqual(list.canonicalQuery, "max-keys=2&prefix=J")
    assert.strictEqual(list.signature, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
  })

  it("presigned GET, 86400 seconds", () => {
    const presigned = SigV4.presign({
      ...base,
      method: "GET",
      path: "/test.txt",
      headers: { host },
      payloadHash: "UNSIGNED-PAYLOAD",
      expiresIn: 86400
    })
    const query = "X-Amz-Algorithm=AWS4-HMAC-SHA256" +
      "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    assert.strictEqual(
      presigned.canonicalRequest,
      `GET\n/test.txt\n${query}\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD`
    )
    assert.strictEqual(
      presigned.stringToSign,
      "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n" +
        "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04"
    )
    assert.strictEqual(presigned.signature, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    assert.strictEqual(
      presigned.queryString,
      query + "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
  })

  it("rejects expiries outside 1..604800 seconds without echoing the secret", () => {
    const input = {
      ...base,
      method: "GET",
      path: "/test.txt",
      headers: { host },
      payloadHash: "UNSIGNED-PAYLOAD"
    }
    for (const expiresIn of [0, -1, 604801, 1.5, Number.NaN]) {
      const error = (() => {
        try {
          SigV4.presign({ ...input, expiresIn })
        } catch (e) {
          return e
        }
        return undefined
      })()
      assert.instanceOf(error, RangeError)
      assert.include((error as RangeError).message, "expiresIn")
      assert.notInclude((error as RangeError).message, credentials.secretAccessKey)
    }
    assert.strictEqual(SigV4.presign({ ...input, expiresIn: 1 }).params[3][1], "1")
    assert.strictEqual(SigV4.presign({ ...input, expiresIn: 604800 }).params[3][1], "604800")
  })

  it("derived-key cache: results do not depend on what was signed before", () => {
    const input = {
      ...base,
      method: "GET",
      path: "/test.txt",
      headers: { host, range: "bytes=0-9" },
      payloadHash: EMPTY_SHA256,
      contentSha256Header: true
    }
    const first = SigV4.signRequest(input).signature
    // More scopes than the cache holds, other secrets and days, then back.
    for (let i = 0; i < 20; i++) {
      SigV4.signRequest({ ...input, region: `region-${i}` })
      SigV4.signRequest({ ...input, credentials: { ...credentials, secretAccessKey: `secret-${i}` } })
      SigV4.signRequest({ ...input, date: new Date(Date.UTC(2013, 4, 25 + i)) })
    }
    assert.strictEqual(SigV4.signRequest(input).signature, first)
    assert.notStrictEqual(SigV4.signRequest({ ...input, region: "eu-west-1" }).signature, first)
    assert.notStrictEqual(SigV4.signRequest({ ...input, service: "s3-object-lambda" }).signature, first)
  })
})

describe("encoding", () => {
  it("encodeS3Key encodes each segment once and keeps '/'", () => {
    assert.strictEqual(SigV4.encodeS3Key("plain/key-1_2.3~"), "plain/key-1_2.3~")
    assert.strictEqual(
      SigV4.encodeS3Key("a b/c+d/ü!'()*=&?#%/é"),
      "a%20b/c%2Bd/%C3%BC%21%27%28%29%2A%3D%26%3F%23%25/%C3%A9"
    )
    assert.strictEqual(SigV4.encodeS3Key("//a//"), "//a//")
  })

  it("S3 paths are signed exactly as sent: no normalization unless asked", () => {
    const input = {
      method: "GET",
      path: "/bucket//a/./b/../c%20d",
      headers: { host: "s3.example.com" },
      payloadHash: "UNSIGNED-PAYLOAD",
      credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
      region: "us-east-1",
      service: "s3",
      date: new Date("2024-01-02T03:04:05Z")
    }
    assert.strictEqual(SigV4.signRequest(input).canonicalRequest.split("\n")[1], "/bucket//a/./b/../c%20d")
    assert.strictEqual(
      SigV4.signRequest({ ...input, normalizePath: true }).canonicalRequest.split("\n")[1],
      "/bucket/a/c%20d"
    )
    // encodePath on the raw key gives the same string as encodeS3Key, so URL and signature agree.
    const raw = "/bucket/dir/ä b+c.txt"
    assert.strictEqual(
      SigV4.signRequest({ ...input, path: raw, encodePath: true }).canonicalRequest,
      SigV4.signRequest({ ...input, path: SigV4.encodeS3Key(raw) }).canonicalRequest
    )
  })

  it("normalizePath removes dot segments and duplicate slashes", () => {
    assert.strictEqual(SigV4.normalizePath("/example/.."), "/")
    assert.strictEqual(SigV4.normalizePath("//example//"), "/example/")
    assert.strictEqual(SigV4.normalizePath("/./example"), "/example")
    assert.strictEqual(SigV4.normalizePath("/a/b/.."), "/a/")
    assert.strictEqual(SigV4.normalizePath(""), "/")
  })

  it("header values: trimmed, inner whitespace collapsed, repeated values joined with ','", () => {
    const signed = SigV4.signRequest({
      method: "GET",
      path: "/",
      headers: { host: "h", "x-b": "  a \t  b  ", "x-a": ["1", " 2  3 "] },
      payloadHash: "UNSIGNED-PAYLOAD",
      credentials: { accessKeyId: "AK", secretAccessKey: "SK", sessionToken: "T" },
      region: "r",
      service: "s3",
      date: new Date("2024-01-02T03:04:05Z")
    })
    assert.strictEqual(
      signed.canonicalRequest,
      "GET\n/\n\nhost:h\nx-a:1,2 3\nx-amz-date:20240102T030405Z\nx-amz-security-token:T\nx-b:a b\n\n" +
        "host;x-a;x-amz-date;x-amz-security-token;x-b\nUNSIGNED-PAYLOAD"
    )
    assert.strictEqual(signed.headers["x-amz-security-token"], "T")
  })
})
