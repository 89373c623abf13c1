// Google's V4 signed-URL conformance cases (test/fixtures/gcs-v4-signing, from googleapis/conformance-tests), run
// against our signer: canonical request, string to sign, signature and query string, each asserted.
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted, TestClock } from "effect"
import * as GCSStore from "effect-obstore/GCSStore"
import * as Signer from "effect-obstore/Signer"
import { readFileSync } from "node:fs"
import { encodePath, signV4 } from "../src/internal/gcs/sign.js"

interface Case {
  readonly description: string
  readonly bucket: string
  readonly object?: string
  readonly method: string
  readonly expiration: number
  readonly timestamp: string
  readonly headers?: Record<string, string>
  readonly queryParameters?: Record<string, string>
  readonly urlStyle?: "VIRTUAL_HOSTED_STYLE" | "BUCKET_BOUND_HOSTNAME"
  readonly bucketBoundHostname?: string
  readonly hostname?: string
  readonly clientEndpoint?: string
  readonly emulatorHostname?: string
  readonly universeDomain?: string
  readonly scheme?: string
  readonly expectedUrl: string
  readonly expectedCanonicalRequest: string
  readonly expectedStringToSign: string
}

const dir = new URL("./fixtures/gcs-v4-signing/", import.meta.url)
const cases = (JSON.parse(readFileSync(new URL("v4_signatures.json", dir), "utf8")) as {
  signingV4Tests: ReadonlyArray<Case>
}).signingV4Tests
const keyText = readFileSync(new URL("test_service_account.not-a-test.json", dir), "utf8")
const key = JSON.parse(keyText) as { client_email: string; private_key: string }

// The host the SDKs sign: the host name alone (they drop the port), chosen hostname > client endpoint > emulator >
// universe domain > storage.googleapis.com.
const hostName = (value: string) => new URL(/^https?:\/\//.test(value) ? value : `https://${value}`).hostname
const signedHost = (c: Case): string => {
  const domain = `storage.${c.universeDomain ?? "googleapis.com"}`
  if (c.urlStyle === "BUCKET_BOUND_HOSTNAME") return c.bucketBoundHostname!
  if (c.urlStyle === "VIRTUAL_HOSTED_STYLE") return `${c.bucket}.${domain}`
  if (c.hostname !== undefined) return hostName(c.hostname)
  if (c.clientEndpoint !== undefined) return hostName(c.clientEndpoint)
  if (c.emulatorHostname !== undefined) return hostName(c.emulatorHostname)
  return domain
}

const signedPath = (c: Case): string => {
  const object = c.object === undefined ? "" : `/${encodePath(c.object)}`
  return c.urlStyle === undefined ? `/${c.bucket}${object}` : object
}

// Upstream's "Universe domain with virtual hosted style" lists a path-style canonical request, but its string to
// sign, signature and URL are those of the virtual-hosted path `/test-object` (sha256 of that canonical request is
// the hash in its string to sign). We sign what its URL and signature say, and check its canonical request differs
// from upstream's in the path line only.
const INCONSISTENT_UPSTREAM = new Set(["Universe domain with virtual hosted style"])

describe("GCS V4 signing (Google's conformance cases)", () => {
  it("has the 29 cases", () => assert.strictEqual(cases.length, 29))

  for (const c of cases) {
    it(c.description, () => {
      const signed = signV4({
        method: c.method,
        host: signedHost(c),
        path: signedPath(c),
        headers: c.headers,
        query: c.queryParameters,
        email: key.client_email,
        privateKey: Redacted.make(key.private_key),
        date: new Date(c.timestamp),
        expiresIn: c.expiration
      })
      if (INCONSISTENT_UPSTREAM.has(c.description)) {
        const ours = signed.canonicalRequest.split("\n")
        const theirs = c.expectedCanonicalRequest.split("\n")
        assert.deepStrictEqual([ours[1], theirs[1]], [`/${c.object}`, `/${c.bucket}/${c.object}`])
        assert.deepStrictEqual(ours.filter((_, i) => i !== 1), theirs.filter((_, i) => i !== 1))
      } else {
        assert.strictEqual(signed.canonicalRequest, c.expectedCanonicalRequest, "canonical request")
      }
      assert.strictEqual(signed.stringToSign, c.expectedStringToSign, "string to sign")
      const expected = new URL(c.expectedUrl)
      assert.strictEqual(signed.signature, expected.searchParams.get("X-Goog-Signature"), "signature")
      assert.strictEqual(signed.queryString, c.expectedUrl.slice(c.expectedUrl.indexOf("?") + 1), "query string")
    })
  }
})

describe("GCSStore Signer", () => {
  const store = GCSStore.layer({
    bucket: "test-bucket",
    serviceAccountKey: keyText,
    endpoint: "https://storage.googleapis.com"
  })

  it.effect("signs the first conformance case through the Signer service (time from the TestClock)", () =>
    Effect.gen(function*() {
      const c = cases[0]
      yield* TestClock.setTime(new Date(c.timestamp).getTime())
      const url = yield* Signer.sign("GET", c.object!, `${c.expiration} seconds`)
      assert.strictEqual(url.href, c.expectedUrl)
    }).pipe(Effect.provide(store)))

  it.effect("expiry outside 1 s..7 days, or not whole seconds, is InvalidConfig; bad paths InvalidPath", () =>
    Effect.gen(function*() {
      for (const bad of ["8 days", "0 seconds", 1500] as const) {
        const error = yield* Effect.flip(Signer.sign("GET", "a", bad))
        assert.strictEqual(error._tag, "InvalidConfig", String(bad))
      }
      assert.strictEqual((yield* Effect.flip(Signer.sign("GET", "a/../b", "1 hour")))._tag, "InvalidPath")
      const many = yield* Signer.sign("PUT", ["x", "y/z"], "1 hour")
      assert.deepStrictEqual(many.map((u) => u.pathname), ["/test-bucket/x", "/test-bucket/y/z"])
    }).pipe(Effect.provide(store)))

  it.effect("a store with a bearer token only cannot sign: Unauthenticated, saying what is needed", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Signer.sign("GET", "a", "1 hour"))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "service account key")
    }).pipe(Effect.provide(GCSStore.layer({ bucket: "test-bucket", bearerToken: "t" }))))
})
