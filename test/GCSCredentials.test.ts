/**
 * Where GCSStore's tokens come from, against a loopback server that plays Google's OAuth token endpoint, the GCE
 * metadata server and (to see the token used) the JSON API's objects.get.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Scope } from "effect"
import * as GCSStore from "effect-obstore/GCSStore"
import { createPublicKey, createVerify } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const keyFile = new URL("./fixtures/gcs-v4-signing/test_service_account.not-a-test.json", import.meta.url)
const key = JSON.parse(readFileSync(keyFile, "utf8")) as Record<string, string>

interface Seen {
  readonly tokenRequests: Array<URLSearchParams>
  readonly metadataRequests: Array<http.IncomingHttpHeaders>
  readonly authorizations: Array<string | undefined>
}

interface Behaviour {
  tokenStatus?: number
  tokenBody?: unknown
}

const verifyJwt = (jwt: string): Record<string, unknown> => {
  const [header, claims, signature] = jwt.split(".")
  const verified = createVerify("RSA-SHA256").update(`${header}.${claims}`).verify(
    createPublicKey(key.private_key),
    Buffer.from(signature, "base64url")
  )
  if (!verified) throw new Error("bad JWT signature")
  const h = JSON.parse(Buffer.from(header, "base64url").toString()) as Record<string, unknown>
  if (h.alg !== "RS256" || h.kid !== key.private_key_id) throw new Error("bad JWT header")
  return JSON.parse(Buffer.from(claims, "base64url").toString()) as Record<string, unknown>
}

const serve = (behaviour: Behaviour): Effect.Effect<{ endpoint: string; seen: Seen }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ endpoint: string; seen: Seen; server: http.Server }>((resume) => {
      const seen: Seen = { tokenRequests: [], metadataRequests: [], authorizations: [] }
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", () => {
          const body = Buffer.concat(chunks).toString()
          const send = (status: number, value: unknown) => {
            res.writeHead(status, { "content-type": "application/json" })
            res.end(JSON.stringify(value))
          }
          if (req.url === "/token" && req.method === "POST") {
            const form = new URLSearchParams(body)
            seen.tokenRequests.push(form)
            if (form.get("grant_type") === "urn:ietf:params:oauth:grant-type:jwt-bearer") {
              const claims = verifyJwt(form.get("assertion")!)
              if (claims.iss !== key.client_email || !String(claims.scope).includes("devstorage")) {
                return send(400, { error: "invalid_grant" })
              }
            }
            return send(
              behaviour.tokenStatus ?? 200,
              behaviour.tokenBody ?? { access_token: `token-${form.get("grant_type")}`, expires_in: 3600 }
            )
          }
          if (req.url === "/computeMetadata/v1/instance/service-accounts/default/token") {
            seen.metadataRequests.push(req.headers)
            if (req.headers["metadata-flavor"] !== "Google") return send(403, {})
            return send(200, { access_token: "token-metadata", expires_in: 3600, token_type: "Bearer" })
          }
          seen.authorizations.push(req.headers.authorization)
          send(200, { name: "x", size: "1", updated: new Date().toISOString(), generation: "1", etag: "e" })
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          seen,
          server
        })))
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  )

const headTwice = (options: GCSStore.GCSOptions) =>
  Effect.gen(function*() {
    const store = yield* GCSStore.make(options)
    yield* store.head("x")
    yield* store.head("x")
  })

const base = (endpoint: string): GCSStore.GCSOptions => ({
  bucket: "bkt",
  endpoint,
  client: { allowHttp: true },
  retry: { maxRetries: 0 }
})

const tempFile = (content: unknown) => {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), "gcs-cred-")), "credentials.json")
  writeFileSync(file, JSON.stringify(content))
  return file
}

describe("GCSStore credentials", () => {
  it.scopedLive("a service account key: an RS256 JWT exchanged once at the key's token_uri, then cached", () =>
    Effect.gen(function*() {
      const { endpoint, seen } = yield* serve({})
      yield* headTwice({
        ...base(endpoint),
        serviceAccountKey: JSON.stringify({ ...key, token_uri: `${endpoint}/token` })
      })
      assert.strictEqual(seen.tokenRequests.length, 1, "the token is fetched once")
      assert.deepStrictEqual(
        seen.authorizations,
        Array(2).fill("Bearer token-urn:ietf:params:oauth:grant-type:jwt-bearer")
      )
    }))

  it.scopedLive("a service account key file (serviceAccount) works the same", () =>
    Effect.gen(function*() {
      const { endpoint, seen } = yield* serve({})
      yield* headTwice({ ...base(endpoint), serviceAccount: tempFile({ ...key, token_uri: `${endpoint}/token` }) })
      assert.strictEqual(seen.tokenRequests.length, 1)
      assert.strictEqual(seen.authorizations.length, 2)
    }))

  it.scopedLive("an authorized_user ADC file trades its refresh token", () =>
    Effect.gen(function*() {
      const { endpoint, seen } = yield* serve({})
      const file = tempFile({
        type: "authorized_user",
        client_id: "client-id",
        client_secret: "client-secret",
        refresh_token: "refresh-secret",
        token_uri: `${endpoint}/token`
      })
      yield* headTwice({ ...base(endpoint), applicationCredentials: file })
      const form = seen.tokenRequests[0]
      assert.strictEqual(form.get("grant_type"), "refresh_token")
      assert.strictEqual(form.get("refresh_token"), "refresh-secret")
      assert.strictEqual(form.get("client_id"), "client-id")
      assert.strictEqual(seen.tokenRequests.length, 1)
      assert.deepStrictEqual(seen.authorizations, ["Bearer token-refresh_token", "Bearer token-refresh_token"])
    }))

  it.scopedLive("without credentials, the GCE metadata server (Metadata-Flavor: Google)", () =>
    Effect.gen(function*() {
      // The default chain reads gcloud's well-known file first: this machine must not have one for this test.
      const wellKnown = path.join(os.homedir(), ".config", "gcloud", "application_default_credentials.json")
      assert.isFalse(existsSync(wellKnown) || process.env.CLOUDSDK_CONFIG !== undefined, "no gcloud ADC here")
      const { endpoint, seen } = yield* serve({})
      yield* headTwice({ ...base(endpoint), metadataEndpoint: endpoint })
      assert.strictEqual(seen.metadataRequests.length, 1)
      assert.deepStrictEqual(seen.authorizations, ["Bearer token-metadata", "Bearer token-metadata"])
    }))

  it.scopedLive("a static bearer token is sent as it is", () =>
    Effect.gen(function*() {
      const { endpoint, seen } = yield* serve({})
      yield* headTwice({ ...base(endpoint), bearerToken: "static-token" })
      assert.deepStrictEqual(seen.authorizations, ["Bearer static-token", "Bearer static-token"])
      assert.strictEqual(seen.tokenRequests.length, 0)
    }))

  it.scopedLive("skipSignature and the emulator send no Authorization", () =>
    Effect.gen(function*() {
      const { endpoint, seen } = yield* serve({})
      yield* headTwice({ ...base(endpoint), skipSignature: true })
      yield* headTwice({ ...base(endpoint), emulator: true })
      assert.deepStrictEqual(seen.authorizations, [undefined, undefined, undefined, undefined])
    }))

  it.scopedLive("a token endpoint that refuses (400 invalid_grant) is Unauthenticated, naming no secret", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* serve({ tokenStatus: 400, tokenBody: { error: "invalid_grant" } })
      const file = tempFile({
        type: "authorized_user",
        client_id: "id",
        client_secret: "very-secret",
        refresh_token: "refresh-very-secret",
        token_uri: `${endpoint}/token`
      })
      const store = yield* GCSStore.make({ ...base(endpoint), applicationCredentials: file })
      const error = yield* Effect.flip(store.head("x"))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "invalid_grant")
      assert.notInclude(JSON.stringify(error), "very-secret")
    }))

  it.scopedLive("a token answer without access_token is Unauthenticated; an unreachable endpoint a StoreError", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* serve({ tokenBody: { expires_in: 10 } })
      const withKey = {
        ...base(endpoint),
        serviceAccountKey: JSON.stringify({ ...key, token_uri: `${endpoint}/token` })
      }
      const store = yield* GCSStore.make(withKey)
      assert.strictEqual((yield* Effect.flip(store.head("x")))._tag, "Unauthenticated")
      const nowhere = yield* GCSStore.make({ ...base(endpoint), metadataEndpoint: "http://127.0.0.1:1" })
      assert.strictEqual((yield* Effect.flip(nowhere.head("x")))._tag, "StoreError")
    }))

  it.effect("a key that cannot sign is refused without quoting it", () =>
    Effect.gen(function*() {
      const bad = { ...key, private_key: "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n" }
      const store = yield* GCSStore.make({
        ...base("http://127.0.0.1:1"),
        serviceAccountKey: JSON.stringify({ ...bad, token_uri: "http://127.0.0.1:1/token" })
      })
      const error = yield* Effect.flip(store.head("x"))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.notInclude(JSON.stringify(error), "not-a-key")
    }).pipe(Effect.scoped))
})
