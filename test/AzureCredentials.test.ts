// Token credentials against loopback servers that play Microsoft Entra ID's token endpoint and the instance metadata
// service (IMDS). The storage requests go to Azurite through the fault proxy, which records them: the bearer token
// must be on them. Azurite (plain HTTP, no OAuth mode) refuses bearer tokens, which is fine here: what is checked is
// what the client sent, how often it asked for a token, and what it made of the endpoints' answers.
import { assert, describe, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import type { Scope } from "effect"
import * as AzureStore from "effect-obstore/AzureStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { CONTAINER } from "./fixtures/azure/azurite.js"
import { FaultProxy } from "./support/faultProxy.js"
import { azurite } from "./support/servers.js"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** A loopback endpoint answering every request with `answer()`; it records what it got. */
const endpoint = (answer: (seen: Seen) => { status: number; body: string }) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ url: string; seen: Array<Seen>; server: http.Server }>((resolve) => {
        const seen: Array<Seen> = []
        const server = http.createServer((req, res) => {
          let body = ""
          req.on("data", (c) => (body += c))
          req.on("end", () => {
            const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body }
            seen.push(request)
            const { body: out, status } = answer(request)
            res.writeHead(status, { "content-type": "application/json" }).end(out)
          })
        })
        server.listen(
          0,
          "127.0.0.1",
          () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server })
        )
      })
    ),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

const token = (n: number, expiresIn = 3600) =>
  JSON.stringify({ token_type: "Bearer", access_token: `token-${n}`, expires_in: expiresIn })

/** The proxy in front of Azurite and the store options pointing at it. */
const storage = Effect.map(FaultProxy.scoped(azurite.endpoint), (proxy) => ({
  proxy,
  base: {
    account: azurite.account,
    container: CONTAINER,
    endpoint: `${proxy.endpoint}/${azurite.account}`,
    client: { allowHttp: true },
    retry: { maxRetries: 0 }
  }
}))

const authorizations = (proxy: { readonly seen: ReadonlyArray<{ readonly headers: http.IncomingHttpHeaders }> }) =>
  proxy.seen.map((r) => r.headers.authorization)

const run = <A, E>(options: AzureStore.AzureOptions, effect: Effect.Effect<A, E, ObjectStore.ObjectStore>) =>
  Effect.provide(effect, AzureStore.layer(options))

describe("AzureStore token credentials", () => {
  it.scoped("client secret: one token request with the form Entra ID expects, the token on every request", () =>
    Effect.gen(function*() {
      const entra = yield* endpoint(() => ({ status: 200, body: token(1) }))
      const { base, proxy } = yield* storage
      yield* run(
        { ...base, tenantId: "my-tenant", clientId: "my-app", clientSecret: "shh-secret", authorityHost: entra.url },
        Effect.gen(function*() {
          yield* Effect.either(ObjectStore.get("a"))
          yield* Effect.either(ObjectStore.get("b"))
        })
      )
      assert.strictEqual(entra.seen.length, 1, "the token is cached")
      const request = entra.seen[0]
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.url, "/my-tenant/oauth2/v2.0/token")
      const form = new URLSearchParams(request.body)
      assert.strictEqual(form.get("grant_type"), "client_credentials")
      assert.strictEqual(form.get("client_id"), "my-app")
      assert.strictEqual(form.get("client_secret"), "shh-secret")
      assert.strictEqual(form.get("scope"), "https://storage.azure.com/.default")
      assert.deepStrictEqual(authorizations(proxy), ["Bearer token-1", "Bearer token-1"])
      assert.isTrue(proxy.seen.every((r) => r.headers["x-ms-version"] !== undefined))
    }))

  it.scoped("a token is fetched again 5 minutes before it expires (TestClock)", () =>
    Effect.gen(function*() {
      let n = 0
      const entra = yield* endpoint(() => ({ status: 200, body: token(++n) }))
      const { base, proxy } = yield* storage
      yield* run(
        { ...base, tenantId: "t", clientId: "c", clientSecret: "s", authorityHost: entra.url },
        Effect.gen(function*() {
          yield* Effect.either(ObjectStore.get("a"))
          yield* TestClock.adjust("54 minutes")
          yield* Effect.either(ObjectStore.get("b"))
          yield* TestClock.adjust("2 minutes")
          yield* Effect.either(ObjectStore.get("c"))
        })
      )
      assert.strictEqual(entra.seen.length, 2)
      assert.deepStrictEqual(authorizations(proxy), ["Bearer token-1", "Bearer token-1", "Bearer token-2"])
    }))

  it.scoped("a refused client secret is Unauthenticated with the OAuth code, and no secret in the message", () =>
    Effect.gen(function*() {
      const entra = yield* endpoint(() => ({
        status: 401,
        body: JSON.stringify({ error: "invalid_client", error_description: "AADSTS7000215: secret shh-secret is bad" })
      }))
      const { base, proxy } = yield* storage
      const error = yield* run(
        { ...base, tenantId: "t", clientId: "c", clientSecret: "shh-secret", authorityHost: entra.url },
        Effect.flip(ObjectStore.get("a"))
      )
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "invalid_client")
      assert.notInclude(error.message, "shh-secret")
      assert.notInclude(JSON.stringify(error), "shh-secret")
      assert.strictEqual(proxy.requests, 0, "no storage request without a token")
    }))

  it.scoped("an endpoint that answers 500 or garbage is a StoreError", () =>
    Effect.gen(function*() {
      const broken = yield* endpoint(() => ({ status: 500, body: "oops" }))
      const garbage = yield* endpoint(() => ({ status: 200, body: "{\"access_token\": 5}" }))
      const { base } = yield* storage
      for (const url of [broken.url, garbage.url]) {
        const error = yield* run(
          { ...base, tenantId: "t", clientId: "c", clientSecret: "s", authorityHost: url },
          Effect.flip(ObjectStore.get("a"))
        )
        assert.strictEqual(error._tag, "StoreError", error.message)
      }
    }))

  it.scoped("workload identity: the federated token file is the assertion, read again at each refresh", () =>
    Effect.gen(function*() {
      let n = 0
      const entra = yield* endpoint(() => ({ status: 200, body: token(++n) }))
      const { base, proxy } = yield* storage
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "azure-wi-"))
      const file = path.join(dir, "token")
      fs.writeFileSync(file, "federated-1\n")
      yield* run(
        { ...base, tenantId: "tenant", clientId: "app", federatedTokenFile: file, authorityHost: entra.url },
        Effect.gen(function*() {
          yield* Effect.either(ObjectStore.get("a"))
          fs.writeFileSync(file, "federated-2")
          yield* TestClock.adjust("58 minutes")
          yield* Effect.either(ObjectStore.get("b"))
        })
      )
      const forms = entra.seen.map((s) => new URLSearchParams(s.body))
      assert.deepStrictEqual(forms.map((f) => f.get("client_assertion")), ["federated-1", "federated-2"])
      assert.strictEqual(
        forms[0].get("client_assertion_type"),
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
      )
      assert.strictEqual(forms[0].get("client_id"), "app")
      assert.isNull(forms[0].get("client_secret"))
      assert.strictEqual(entra.seen[0].url, "/tenant/oauth2/v2.0/token")
      assert.deepStrictEqual(authorizations(proxy), ["Bearer token-1", "Bearer token-2"])
      fs.rmSync(dir, { recursive: true })
    }))

  it.scoped("workload identity with a missing token file is Unauthenticated naming the file", () =>
    Effect.gen(function*() {
      const { base } = yield* storage
      const error = yield* run(
        { ...base, tenantId: "t", clientId: "c", federatedTokenFile: "/nonexistent/token" },
        Effect.flip(ObjectStore.get("a"))
      )
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "/nonexistent/token")
    }))

  it.scoped("managed identity: IMDS is asked with Metadata: true, the resource and the identity", () =>
    Effect.gen(function*() {
      const imds = yield* endpoint(() => ({
        status: 200,
        body: JSON.stringify({
          access_token: "imds-token",
          expires_on: String(3600),
          resource: "https://storage.azure.com"
        })
      }))
      const { base, proxy } = yield* storage
      yield* run(
        { ...base, msiEndpoint: `${imds.url}/metadata/identity/oauth2/token`, clientId: "user-assigned" },
        Effect.gen(function*() {
          yield* Effect.either(ObjectStore.get("a"))
          yield* Effect.either(ObjectStore.get("b"))
        })
      )
      assert.strictEqual(imds.seen.length, 1)
      const url = new URL(imds.seen[0].url, imds.url)
      assert.strictEqual(imds.seen[0].method, "GET")
      assert.strictEqual(imds.seen[0].headers.metadata, "true")
      assert.strictEqual(url.pathname, "/metadata/identity/oauth2/token")
      assert.strictEqual(url.searchParams.get("resource"), "https://storage.azure.com")
      assert.strictEqual(url.searchParams.get("client_id"), "user-assigned")
      assert.isNotNull(url.searchParams.get("api-version"))
      assert.deepStrictEqual(authorizations(proxy), ["Bearer imds-token", "Bearer imds-token"])
    }))

  it.scoped("managed identity by resource id; an IMDS 400 (no identity) is Unauthenticated", () =>
    Effect.gen(function*() {
      const imds = yield* endpoint(() => ({
        status: 400,
        body: JSON.stringify({ error: "invalid_request", error_description: "Identity not found" })
      }))
      const { base } = yield* storage
      const error = yield* run(
        { ...base, msiEndpoint: imds.url, msiResourceId: "/subscriptions/x/rg/y/id" },
        Effect.flip(ObjectStore.get("a"))
      )
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "invalid_request")
      assert.strictEqual(new URL(imds.seen[0].url, imds.url).searchParams.get("msi_res_id"), "/subscriptions/x/rg/y/id")
    }))

  it.scoped("a fixed bearer token is sent as is and never fetched", () =>
    Effect.gen(function*() {
      const { base, proxy } = yield* storage
      const error = yield* run({ ...base, bearerToken: "fixed-token" }, Effect.flip(ObjectStore.get("a")))
      assert.deepStrictEqual(authorizations(proxy), ["Bearer fixed-token"])
      assert.notInclude(error.message, "fixed-token")
    }))
})

// Keeps the Scope import used for readers of the helpers' types.
export type _Scope = Scope.Scope
