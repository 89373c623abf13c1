// An Azure store assembled from its parts: the config checked, the container's target and credential set up, and
// the backend operations wired to the shared cloud core (get, list) and to Azure's own calls.
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { AzureStore } from "../../AzureStore.js"
import { AzureConfig } from "../../AzureStore.js"
import * as ObjectPath from "../../ObjectPath.js"
import * as ObjectStore from "../../ObjectStore.js"
import type { InvalidPath } from "../../ObjectStoreError.js"
import { InvalidConfig } from "../../ObjectStoreError.js"
import * as PrefixStore from "../../PrefixStore.js"
import type * as Signer from "../../Signer.js"
import * as Get from "../cloud/get.js"
import * as List from "../cloud/list.js"
import type { Transport } from "../http/transport.js"
import type { Prefixable } from "../prefixable.js"
import { PrefixableId } from "../prefixable.js"
import { BATCH_SIZE, deleteBatch } from "./batch.js"
import type { Azure, Target } from "./client.js"
import * as Client from "./client.js"
import { STORE } from "./client.js"
import * as Credentials from "./credentials.js"
import { copyBlob, deleteBlob, listBlobs } from "./object.js"
import { PART_LIMITS, put } from "./put.js"
import { isBase64Key } from "./sharedKey.js"
import { makeSignerService } from "./sign.js"

/** Azurite's well-known account and key (published by Microsoft; not a secret). */
export const EMULATOR_ACCOUNT = "devstoreaccount1"
export const EMULATOR_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
const EMULATOR_ORIGIN = "http://127.0.0.1:10000"
const DELETE_CONCURRENCY = 4

const invalid = (field: string, description: string) =>
  new InvalidConfig({ store: STORE, method: "make", field, description })

/** The account's blob endpoint, or why there is none. */
const endpointOf = (config: AzureConfig, account: string): URL => {
  if (config.endpoint !== undefined) return new URL(config.endpoint)
  if (config.useEmulator) return new URL(`${EMULATOR_ORIGIN}/${account}`)
  return new URL(`https://${account}.blob.${config.useFabricEndpoint ? "fabric.microsoft.com" : "core.windows.net"}`)
}

/** What the schema cannot check alone: fields that depend on each other. */
const checkConfig = (config: AzureConfig, account: string | undefined, endpoint: URL | undefined) => {
  if (account === undefined) return invalid("account", "no account: set account (or useEmulator: true)")
  if (endpoint !== undefined && endpoint.protocol === "http:" && !config.client.allowHttp && !config.useEmulator) {
    return invalid("endpoint", `${endpoint.origin} is plain HTTP; set client.allowHttp: true to allow it`)
  }
  if (config.accessKey !== undefined && !isBase64Key(Redacted.value(config.accessKey))) {
    return invalid("accessKey", "an account key is base64 (the value is not shown: it is a secret)")
  }
  if (config.sasToken !== undefined) {
    const problem = Credentials.sasProblem(Credentials.parseSas(Redacted.value(config.sasToken)))
    if (problem !== undefined) return invalid("sasToken", `${problem} (the value is not shown: it is a secret)`)
  }
  if (config.clientSecret !== undefined && (config.clientId === undefined || config.tenantId === undefined)) {
    return invalid(
      config.clientId === undefined ? "clientId" : "tenantId",
      "a clientSecret goes with clientId and tenantId"
    )
  }
  if (config.federatedTokenFile !== undefined && (config.clientId === undefined || config.tenantId === undefined)) {
    return invalid(
      config.clientId === undefined ? "clientId" : "tenantId",
      "a federatedTokenFile goes with clientId and tenantId"
    )
  }
  return undefined
}

/** The container's target: `{endpoint}/{container}` (the emulator's endpoint holds the account in its path). */
const targetOf = (endpoint: URL, container: string): Target => ({
  origin: `${endpoint.protocol}//${endpoint.host}`,
  host: endpoint.host,
  containerPath: `${endpoint.pathname.replace(/\/+$/, "")}/${container}`
})

/** The first credential the config names, in the documented order. */
const credentialOf = (config: AzureConfig): Effect.Effect<Credentials.Credential> => {
  if (config.bearerToken !== undefined) {
    const token = config.bearerToken
    return Effect.succeed({ _tag: "Token", token: Effect.succeed(token) })
  }
  if (config.accessKey !== undefined) return Effect.succeed({ _tag: "SharedKey", key: config.accessKey })
  if (config.sasToken !== undefined) {
    return Effect.succeed({ _tag: "Sas", query: Credentials.parseSas(Redacted.value(config.sasToken)) })
  }
  const authorityHost = config.authorityHost ?? Credentials.DEFAULT_AUTHORITY_HOST
  if (config.clientSecret !== undefined && config.clientId !== undefined && config.tenantId !== undefined) {
    return Credentials.cached(Credentials.clientSecret({
      authorityHost,
      tenantId: config.tenantId,
      clientId: config.clientId,
      clientSecret: config.clientSecret
    }))
  }
  if (config.federatedTokenFile !== undefined && config.clientId !== undefined && config.tenantId !== undefined) {
    return Credentials.cached(Credentials.workloadIdentity({
      authorityHost,
      tenantId: config.tenantId,
      clientId: config.clientId,
      tokenFile: config.federatedTokenFile
    }))
  }
  if (config.skipSignature) return Effect.succeed({ _tag: "Anonymous" })
  if (config.useEmulator) return Effect.succeed({ _tag: "SharedKey", key: Redacted.make(EMULATOR_KEY) })
  return Credentials.cached(Credentials.managedIdentity({
    endpoint: config.msiEndpoint ?? Credentials.DEFAULT_IMDS_ENDPOINT,
    clientId: config.clientId,
    msiResourceId: config.msiResourceId
  }))
}

/** The backend operations of an Azure store. */
// Azure (and Azurite) store a backslash in a blob name as "/": "a\\b" would silently be "a/b".
const backslash = (path: string): string | undefined =>
  path.includes("\\")
    ? "Azure Blob Storage turns a backslash into \"/\", so this path would name another object"
    : undefined

const backend = (azure: Azure): ObjectStore.Backend => {
  const getClient = azure.client.getClient
  return {
    name: STORE,
    pathProblem: backslash,
    multipartLimits: PART_LIMITS,
    get: (path, options) => Get.get(getClient, path, options),
    head: (path) => Get.head(getClient, path),
    put: (path, payload, options) => put(azure, path, payload, options),
    list: (prefix, options) => {
      const all = List.paginate((marker) => listBlobs(azure, "list", prefix, { delimiter: false, marker }))
      // List Blobs has no start-after: keys up to the offset are skipped here.
      const offset = options.offset
      return offset === undefined ? all : Stream.filter(all, (meta) => meta.path > offset)
    },
    listWithDelimiter: (prefix) =>
      List.collect((marker) => listBlobs(azure, "listWithDelimiter", prefix, { delimiter: true, marker })),
    copy: (from, to, options) => copyBlob(azure, from, to, options.overwrite),
    delete: (path) => deleteBlob(azure, path),
    deleteMany: (paths) => {
      const batches: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < paths.length; i += BATCH_SIZE) batches.push(paths.slice(i, i + BATCH_SIZE))
      return Effect.forEach(
        batches,
        (batch) => batch.length === 1 ? deleteBlob(azure, batch[0]) : deleteBatch(azure, batch),
        { concurrency: DELETE_CONCURRENCY, discard: true }
      )
    }
  }
}

/** Builds an Azure store over a given transport. */
export const make = (config: AzureConfig, transport: Transport) =>
  Effect.gen(function*() {
    const account = config.account ?? (config.useEmulator ? EMULATOR_ACCOUNT : undefined)
    const endpoint = account === undefined ? undefined : endpointOf(config, account)
    const problem = checkConfig(config, account, endpoint)
    if (problem !== undefined || account === undefined || endpoint === undefined) {
      return yield* Effect.fail(problem ?? invalid("account", "no account"))
    }
    const credential = yield* credentialOf(config)
    const client = Client.make({
      transport,
      config,
      account,
      container: config.container,
      target: targetOf(endpoint, config.container),
      credential
    })
    const azure: Azure = { client, config }
    return yield* services(azure, ObjectStore.make(backend(azure)), config)
  })

/** The store, signer and AzureStore service of a container seen below `config.prefix`. */
const services = (
  azure: Azure,
  base: ObjectStore.ObjectStore.Service,
  config: AzureConfig
): Effect.Effect<
  {
    readonly store: ObjectStore.ObjectStore.Service
    readonly signer: Signer.Signer.Service
    readonly service: AzureStore["Type"]
  },
  InvalidPath
> =>
  Effect.map(config.prefix === undefined ? Effect.succeed(base) : PrefixStore.make(base, config.prefix), (store) => {
    const prefix = config.prefix === undefined ? "" : config.prefix.replace(/^\/|\/$/g, "")
    const signer = makeSignerService(azure, prefix)
    const service: AzureStore["Type"] & Prefixable = {
      config,
      store,
      signer,
      // Seen through PrefixStore.layer: the same container below the joined prefix.
      [PrefixableId]: (root) =>
        Effect.map(
          services(azure, base, new AzureConfig({ ...config, prefix: ObjectPath.join(prefix, root) }, true)),
          (s) => s.service
        )
    }
    return { store, signer, service }
  })
