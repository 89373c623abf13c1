import { ContainerSASPermissions, generateBlobSASQueryParameters } from "@azure/storage-blob"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Effect, Either, Redacted, Stream } from "effect"
import * as AzureStore from "effect-obstore/AzureStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as Signer from "effect-obstore/Signer"
import { beforeAll } from "vitest"
import * as SharedKey from "../src/internal/azure/sharedKey.js"
import { full } from "./conformance/capabilities.js"
import { conformance } from "./conformance/suite.js"
import { CONTAINER, ensureContainer, options, sdkCredential } from "./fixtures/azure/azurite.js"
import { azurite } from "./support/servers.js"

beforeAll(() => ensureContainer())

const store = AzureStore.layer(options)

conformance("AzureStore (Azurite)", store, {
  ...full,
  attributes: full.attributes.filter((a) => a !== "storageClass"),
  versionlessGet: "NotFound",
  backslashInKeys: false,
  reasons: {
    ...full.reasons,
    backslashInKeys: "Azure stores a backslash in a blob name as \"/\": AzureStore refuses such keys",
    versions: "Azurite keeps no versions; it ignores versionid, and an answer without that x-ms-version-id is a miss",
    attributes: "Azure's storage class is the access tier (Hot, Cool, Cold, Archive): \"STANDARD\" is not one"
  }
})

const wrongKey = Buffer.alloc(64, 7).toString("base64")

describe("AzureStore", () => {
  it.effect("a wrong key is refused: Azurite answers 403 AuthorizationFailure, so PermissionDenied", () =>
    Effect.gen(function*() {
      const head = yield* Effect.flip(ObjectStore.head("anything"))
      assert.strictEqual(head._tag, "PermissionDenied")
      assert.include(head.message, "AuthorizationFailure")
      const put = yield* Effect.flip(ObjectStore.put("x", "y"))
      assert.strictEqual(put._tag, "PermissionDenied")
    }).pipe(Effect.provide(AzureStore.layer({ ...options, accessKey: wrongKey }))))

  it.effect("a missing container is a StoreError naming it, never NotFound", () =>
    Effect.gen(function*() {
      const get = yield* Effect.flip(ObjectStore.get("anything"))
      assert.strictEqual(get._tag, "StoreError")
      assert.include(get.message, "no-such-container")
      const head = yield* Effect.flip(ObjectStore.head("anything"))
      assert.strictEqual(head._tag, "StoreError", head.message)
      const copy = yield* Effect.flip(ObjectStore.copy("a", "b"))
      assert.strictEqual(copy._tag, "StoreError", copy.message)
    }).pipe(Effect.provide(AzureStore.layer({ ...options, container: "no-such-container" }))))

  it.effect("a second create is AlreadyExists, a stale update PreconditionFailed, a missing blob NotFound", () =>
    Effect.gen(function*() {
      const key = `azure-specific/${crypto.randomUUID()}`
      const first = yield* ObjectStore.put(key, "one", { mode: "create" })
      assert.match(first.eTag ?? "", /^"0x[0-9A-F]+"$/)
      const again = yield* Effect.flip(ObjectStore.put(key, "two", { mode: "create" }))
      assert.strictEqual(again._tag, "AlreadyExists")
      const second = yield* ObjectStore.put(key, "three", { mode: { eTag: first.eTag } })
      const stale = yield* Effect.flip(ObjectStore.put(key, "four", { mode: { eTag: first.eTag } }))
      assert.strictEqual(stale._tag, "PreconditionFailed")
      assert.strictEqual((yield* ObjectStore.head(key)).eTag, second.eTag)
      const missing = yield* Effect.flip(ObjectStore.get(`${key}-missing`))
      assert.strictEqual(missing._tag, "NotFound")
      yield* ObjectStore.delete(key)
    }).pipe(Effect.provide(store)))

  it.effect("a block-list upload honours create and update modes at commit", () =>
    Effect.gen(function*() {
      const key = `azure-specific/${crypto.randomUUID()}`
      const blocks = (byte: number) => Stream.make(new Uint8Array(1500).fill(byte))
      const multipart = { partSize: 1024, concurrency: 2 }
      const first = yield* ObjectStore.put(key, blocks(1), { mode: "create", multipart })
      const again = yield* Effect.flip(ObjectStore.put(key, blocks(2), { mode: "create", multipart }))
      assert.strictEqual(again._tag, "AlreadyExists")
      yield* ObjectStore.put(key, blocks(3), { mode: { eTag: first.eTag }, multipart })
      const stale = yield* Effect.flip(ObjectStore.put(key, blocks(4), { mode: { eTag: first.eTag }, multipart }))
      assert.strictEqual(stale._tag, "PreconditionFailed")
      const bytes = yield* (yield* ObjectStore.get(key)).bytes
      assert.deepStrictEqual([bytes.byteLength, bytes[0], bytes[1499]], [1500, 3, 3])
      yield* ObjectStore.delete(key)
    }).pipe(Effect.provide(store)))

  it.effect("listWithDelimiter pages with markers and gives directories", () =>
    Effect.gen(function*() {
      const base = `azure-specific/${crypto.randomUUID()}`
      yield* ObjectStore.put(`${base}/a/1`, "x")
      yield* ObjectStore.put(`${base}/b`, "x")
      const result = yield* ObjectStore.listWithDelimiter(base)
      assert.deepStrictEqual(result.commonPrefixes, [`${base}/a`])
      assert.deepStrictEqual(result.objects.map((o) => o.path), [`${base}/b`])
      const after = yield* ObjectStore.list(base, { offset: `${base}/a/1` }).pipe(Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(after).map((o) => o.path), [`${base}/b`])
      yield* ObjectStore.delete([`${base}/a/1`, `${base}/b`])
    }).pipe(Effect.provide(store)))

  it.effect("useEmulator alone reaches Azurite with its well-known account and key", () =>
    Effect.gen(function*() {
      const key = `azure-specific/${crypto.randomUUID()}`
      yield* ObjectStore.put(key, "emulated")
      assert.strictEqual(yield* (yield* ObjectStore.get(key)).text, "emulated")
      yield* ObjectStore.delete(key)
    }).pipe(Effect.provide(AzureStore.layer({ useEmulator: true, container: CONTAINER }))))

  it.effect("a SAS token authorizes requests (made with the SDK from the account key)", () =>
    Effect.gen(function*() {
      const sasToken = generateBlobSASQueryParameters({
        containerName: CONTAINER,
        permissions: ContainerSASPermissions.parse("racwdl"),
        expiresOn: new Date(Date.now() + 3600_000)
      }, sdkCredential).toString()
      const key = `azure-specific/${crypto.randomUUID()}`
      const viaSas = AzureStore.layer({ ...options, accessKey: undefined, sasToken })
      yield* Effect.provide(ObjectStore.put(key, "by sas", { attributes: { contentType: "text/x-sas" } }), viaSas)
      const result = yield* Effect.provide(ObjectStore.get(key), viaSas)
      assert.strictEqual(yield* result.text, "by sas")
      yield* Effect.provide(ObjectStore.copy(key, `${key}-other`), viaSas)
      assert.strictEqual((yield* ObjectStore.head(`${key}-other`)).size, 6)
      const listed = yield* Effect.provide(ObjectStore.list("azure-specific").pipe(Stream.runCollect), viaSas)
      assert.isTrue(Chunk.toReadonlyArray(listed).some((m) => m.path === key))
      yield* Effect.provide(ObjectStore.delete([key, `${key}-other`]), viaSas)
      const readOnly = generateBlobSASQueryParameters({
        containerName: CONTAINER,
        permissions: ContainerSASPermissions.parse("r"),
        expiresOn: new Date(Date.now() + 3600_000)
      }, sdkCredential).toString()
      const denied = yield* Effect.flip(
        Effect.provide(
          ObjectStore.put(key, "no"),
          AzureStore.layer({ ...options, accessKey: undefined, sasToken: readOnly })
        )
      )
      assert.strictEqual(denied._tag, "PermissionDenied")
    }).pipe(Effect.provide(store)))

  it.effect("a prefix keeps the store below it, and PrefixStore joins onto it", () =>
    Effect.gen(function*() {
      const base = `azure-specific/${crypto.randomUUID()}`
      yield* Effect.provide(ObjectStore.put("inner.txt", "p"), AzureStore.layer({ ...options, prefix: base }))
      assert.strictEqual((yield* ObjectStore.head(`${base}/inner.txt`)).size, 1)
      const url = yield* Effect.provide(
        Signer.sign("GET", "inner.txt", "1 minute"),
        AzureStore.layer({ ...options, prefix: base })
      )
      assert.include(url.pathname, `${base}/inner.txt`)
      yield* ObjectStore.delete(`${base}/inner.txt`)
    }).pipe(Effect.provide(store)))

  it.effect("invalid config fails with InvalidConfig naming the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ ...options, container: "Not_A_Container" }, "container"],
        [{ ...options, container: "a--b" }, "container"],
        [{ ...options, account: "UPPER" }, "account"],
        [{ ...options, endpoint: "not a url" }, "endpoint"],
        [{ ...options, client: {} }, "endpoint"],
        [{ ...options, accessKey: "not base64!" }, "accessKey"],
        [{ ...options, accessKey: undefined, sasToken: "sv=2020-01-01" }, "sasToken"],
        [{ ...options, clientSecret: "s" }, "clientId"],
        [{ ...options, clientSecret: "s", clientId: "c" }, "tenantId"],
        [{ ...options, federatedTokenFile: "/tmp/x", clientId: "c" }, "tenantId"],
        [{ container: CONTAINER }, "account"],
        [{ ...options, retry: { maxRetries: -1 } }, "retry.maxRetries"],
        [{ ...options, containerName: "typo" }, "containerName"]
      ]
      for (const [input, field] of cases) {
        const error = yield* Effect.flip(Effect.scoped(AzureStore.make(input as AzureStore.AzureOptions)))
        assert.strictEqual(error._tag, "InvalidConfig", JSON.stringify(input))
        if (error._tag === "InvalidConfig") assert.strictEqual(error.field, field, error.message)
      }
    }))

  it.effect("secrets are Redacted in the decoded config", () =>
    Effect.gen(function*() {
      const { config } = yield* AzureStore.AzureStore
      assert.isTrue(Redacted.isRedacted(config.accessKey))
      assert.notInclude(JSON.stringify(config), azurite.accessKey)
      assert.notInclude(String(config), azurite.accessKey)
    }).pipe(Effect.provide(store)))

  it.effect("layerConfig reads the Azure environment variables", () =>
    Effect.gen(function*() {
      const read = yield* AzureStore.fromEnv()
      assert.strictEqual(read.account, azurite.account)
      assert.strictEqual(read.container, CONTAINER)
      assert.strictEqual(read.endpoint, azurite.endpoint)
      assert.deepStrictEqual(read.client, { allowHttp: true })
      const key = `azure-specific/env-${crypto.randomUUID()}`
      yield* Effect.provide(ObjectStore.put(key, "x"), AzureStore.layerConfig())
      yield* Effect.provide(ObjectStore.delete(key), store)
      const none = yield* Effect.flip(
        AzureStore.fromEnv().pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
      )
      assert.strictEqual(none.field, "container")
    }).pipe(
      Effect.withConfigProvider(ConfigProvider.fromMap(
        new Map([
          ["AZURE_STORAGE_ACCOUNT_NAME", azurite.account],
          ["AZURE_STORAGE_ACCOUNT_KEY", azurite.accessKey],
          ["AZURE_STORAGE_ENDPOINT", azurite.endpoint],
          ["AZURE_CONTAINER_NAME", CONTAINER],
          ["AZURE_ALLOW_HTTP", "true"]
        ])
      ))
    ))
})

describe("Shared Key", () => {
  it("builds the string to sign in the layout of Microsoft's documented example", () => {
    // https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key (Get Container Metadata example)
    const toSign = SharedKey.stringToSign("myaccount", {
      method: "GET",
      path: "/mycontainer",
      query: [["restype", "container"], ["comp", "metadata"], ["timeout", "20"]],
      headers: { "x-ms-date": "Fri, 26 Jun 2015 23:39:12 GMT", "x-ms-version": "2015-02-21" }
    })
    assert.strictEqual(
      toSign,
      "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2015-02-21\n" +
        "/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20"
    )
  })

  it("signs as the Azure SDK does, and signs Content-Length 0 as empty", () => {
    const signer = SharedKey.makeSigner(azurite.account, azurite.accessKey)
    const toSign = SharedKey.stringToSign(azurite.account, {
      method: "PUT",
      path: "/devstoreaccount1/c/a%20b",
      query: undefined,
      headers: { "content-length": "0", "x-ms-meta-z": "  two   words ", "x-ms-date": "d", "content-type": "t" }
    })
    assert.strictEqual(
      toSign,
      "PUT\n\n\n\n\nt\n\n\n\n\n\n\nx-ms-date:d\nx-ms-meta-z:two words\n/devstoreaccount1/devstoreaccount1/c/a%20b"
    )
    assert.strictEqual(signer.hmac(toSign), sdkCredential.computeHMACSHA256(toSign))
  })
})

describe("AzureStore.parseUrl", () => {
  const cases: ReadonlyArray<readonly [string, object]> = [
    ["az://box/some/prefix", { container: "box", prefix: "some/prefix" }],
    ["azure://box", { container: "box" }],
    ["adl://box/p", { container: "box", prefix: "p" }],
    ["abfs://box/p", { container: "box", prefix: "p" }],
    ["abfss://box@acct.dfs.core.windows.net/p/q", { container: "box", account: "acct", prefix: "p/q" }],
    ["https://acct.blob.core.windows.net/box/p", { container: "box", account: "acct", prefix: "p" }],
    ["https://acct.dfs.core.windows.net/box", { container: "box", account: "acct" }],
    ["https://acct.blob.fabric.microsoft.com/box", { container: "box", account: "acct", useFabricEndpoint: true }],
    ["http://127.0.0.1:10000/devstoreaccount1/box/p", {
      container: "box",
      account: "devstoreaccount1",
      endpoint: "http://127.0.0.1:10000/devstoreaccount1",
      useEmulator: true,
      prefix: "p"
    }]
  ]
  for (const [url, expected] of cases) {
    it(url, () => assert.deepStrictEqual(Either.getOrThrow(AzureStore.parseUrl(url)), expected))
  }
  const refused = [
    "az://",
    "https://example.com/box",
    "https://acct.blob.core.windows.net",
    "https://acct.blob.core.windows.net/box?sv=x&sig=y",
    "http://example.com:10000/devstoreaccount1/box",
    "az://user:pass@box",
    "s3://box"
  ]
  for (const url of refused) it(`refuses ${url}`, () => assert.isTrue(Either.isLeft(AzureStore.parseUrl(url))))
})
