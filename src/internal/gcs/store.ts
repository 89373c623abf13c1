// A GCS store assembled from its parts: the config checked, credentials resolved (explicit source, else the
// application default chain), and the backend operations wired to the shared cloud core and to GCS's own calls.
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { readFile } from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { GCSStore } from "../../GCSStore.js"
import { GCSConfig } from "../../GCSStore.js"
import * as ObjectPath from "../../ObjectPath.js"
import * as ObjectStore from "../../ObjectStore.js"
import type { InvalidPath } from "../../ObjectStoreError.js"
import { InvalidConfig, NotSupported, Unauthenticated } from "../../ObjectStoreError.js"
import * as PrefixStore from "../../PrefixStore.js"
import { RetryConfig } from "../../RetryConfig.js"
import type * as Signer from "../../Signer.js"
import * as List from "../cloud/list.js"
import type { Transport } from "../http/transport.js"
import type { Prefixable } from "../prefixable.js"
import { PrefixableId } from "../prefixable.js"
import type { Client } from "./client.js"
import * as GcsClient from "./client.js"
import { PART_LIMITS, STORE } from "./client.js"
import type { CredentialFile, ServiceAccountKey, TokenProvider } from "./credentials.js"
import * as Credentials from "./credentials.js"
import * as Get from "./get.js"
import { deleteObject, listPage, rewrite } from "./object.js"
import type { PutContext } from "./put.js"
import { put } from "./put.js"
import { makeSigner } from "./sign.js"

const DELETE_CONCURRENCY = 8

const invalid = (field: string, description: string) =>
  new InvalidConfig({ store: STORE, method: "make", field, description })

const SOURCES = ["bearerToken", "serviceAccountKey", "serviceAccount", "applicationCredentials"] as const

/** What the schema cannot check alone: fields that depend on each other. */
const checkConfig = (config: GCSConfig, endpoint: URL): InvalidConfig | undefined => {
  if (endpoint.protocol === "http:" && !config.client.allowHttp) {
    return invalid("endpoint", `${endpoint.origin} is plain HTTP; set client.allowHttp: true to allow it`)
  }
  const given = SOURCES.filter((k) => config[k] !== undefined)
  if (given.length > 1) return invalid(given[1], `give one credential source, not ${given.join(" and ")}`)
  if (config.skipSignature && given.length > 0) {
    return invalid(given[0], "skipSignature sends no credentials; drop one of them")
  }
  return undefined
}

const readKeyFile = (file: string, field: string): Effect.Effect<string, InvalidConfig> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (cause) =>
      invalid(field, `cannot read ${JSON.stringify(file)}: ${(cause as { code?: string }).code ?? "error"}`)
  })

const parsed = (text: string, source: string, field: string): Effect.Effect<CredentialFile, InvalidConfig> => {
  const file = Credentials.parseCredentialFile(text, source)
  return file instanceof Unauthenticated
    ? Effect.fail(invalid(field, file.description ?? file.message))
    : Effect.succeed(file)
}

/** The configured credential file, if one is configured. */
const configuredFile = (config: GCSConfig): Effect.Effect<CredentialFile | undefined, InvalidConfig> => {
  if (config.serviceAccountKey !== undefined) {
    return parsed(Redacted.value(config.serviceAccountKey), "serviceAccountKey", "serviceAccountKey")
  }
  const [file, field] = config.serviceAccount !== undefined
    ? [config.serviceAccount, "serviceAccount"]
    : [config.applicationCredentials, "applicationCredentials"]
  if (file === undefined) return Effect.succeed(undefined)
  return Effect.flatMap(readKeyFile(file, field), (text) => parsed(text, JSON.stringify(file), field))
}

/**
 * The application default credentials when nothing is configured: gcloud's well-known file if it exists, else the
 * GCE metadata server. Resolved on first use, so a store that is never used asks nothing.
 */
const defaultChain = (metadataEndpoint: string): TokenProvider => {
  const wellKnown = path.join(
    process.env.CLOUDSDK_CONFIG ?? path.join(os.homedir(), ".config", "gcloud"),
    "application_default_credentials.json"
  )
  return Effect.flatMap(
    Effect.promise(() => readFile(wellKnown, "utf8").catch(() => undefined)),
    (text) => {
      if (text === undefined) return Credentials.metadataServer(metadataEndpoint)
      const file = Credentials.parseCredentialFile(text, wellKnown)
      return file instanceof Unauthenticated ? Effect.fail(file) : Credentials.fromFile(file)
    }
  )
}

interface Resolved {
  readonly tokens: TokenProvider | undefined
  readonly signingKey: ServiceAccountKey | "unsigned" | undefined
}

const credentialsOf = (config: GCSConfig): Effect.Effect<Resolved, InvalidConfig> => {
  if (config.skipSignature) return Effect.succeed({ tokens: undefined, signingKey: "unsigned" })
  if (config.bearerToken !== undefined) {
    return Effect.succeed({ tokens: Credentials.staticToken(config.bearerToken), signingKey: undefined })
  }
  return Effect.flatMap(configuredFile(config), (file): Effect.Effect<Resolved> => {
    if (file !== undefined) {
      return Effect.map(Credentials.cached(Credentials.fromFile(file)), (tokens) => ({
        tokens,
        signingKey: file.type === "service_account" ? file : undefined
      }))
    }
    // The emulator checks no credentials: asking the metadata server for them would only fail.
    if (config.emulator) return Effect.succeed({ tokens: undefined, signingKey: "unsigned" })
    return Effect.map(
      Credentials.cached(defaultChain(config.metadataEndpoint ?? Credentials.DEFAULT_METADATA_ENDPOINT)),
      (tokens) => ({ tokens, signingKey: undefined })
    )
  })
}

/** The backend operations of a GCS store. */
const backend = (gcs: Client, config: GCSConfig): ObjectStore.Backend => {
  const putContext: PutContext = {
    client: gcs,
    ignoresPreconditions: config.emulator,
    singleChunkUploads: config.emulator
  }
  return {
    name: STORE,
    multipartLimits: PART_LIMITS,
    get: (path, options) => Get.get(gcs, config.emulator, path, options),
    head: (path) => Get.head(gcs, path),
    put: (path, payload, options) => put(putContext, path, payload, options),
    list: (prefix, options) =>
      List.paginate((token) =>
        listPage(gcs, "list", prefix, {
          delimiter: false,
          token,
          offset: options.offset
        })
      ),
    listWithDelimiter: (prefix) =>
      List.collect((token) => listPage(gcs, "listWithDelimiter", prefix, { delimiter: true, token })),
    copy: (from, to, options) => {
      if (!options.overwrite && config.emulator) {
        const description = "copy without overwrite needs ifGenerationMatch=0, which this server (the Cloud Storage " +
          "emulator) ignores"
        return Effect.fail(new NotSupported({ store: STORE, method: "copy", path: from, description }))
      }
      return rewrite(gcs, from, to, options.overwrite)
    },
    delete: (path) => deleteObject(gcs, path),
    deleteMany: (paths) =>
      Effect.forEach(paths, (path) => deleteObject(gcs, path), { concurrency: DELETE_CONCURRENCY, discard: true })
  }
}

/** Builds a GCS store over a given transport. */
export const make = (config: GCSConfig, transport: Transport) =>
  Effect.gen(function*() {
    const endpoint = new URL(config.endpoint ?? "https://storage.googleapis.com")
    const problem = checkConfig(config, endpoint)
    if (problem !== undefined) return yield* Effect.fail(problem)
    const { signingKey, tokens } = yield* credentialsOf(config)
    const client = GcsClient.make({
      transport,
      bucket: config.bucket,
      endpoint,
      emulator: config.emulator,
      tokens,
      retry: config.retry,
      noRetry: RetryConfig.make({ ...config.retry, maxRetries: 0 })
    })
    return yield* services(client, ObjectStore.make(backend(client, config)), signingKey, config)
  })

/** The store, signer and GCSStore service of a bucket seen below `config.prefix`. */
const services = (
  gcs: Client,
  base: ObjectStore.ObjectStore.Service,
  signingKey: ServiceAccountKey | "unsigned" | undefined,
  config: GCSConfig
): Effect.Effect<
  {
    readonly store: ObjectStore.ObjectStore.Service
    readonly signer: Signer.Signer.Service
    readonly service: GCSStore["Type"]
  },
  InvalidPath
> =>
  Effect.map(config.prefix === undefined ? Effect.succeed(base) : PrefixStore.make(base, config.prefix), (store) => {
    const prefix = config.prefix === undefined ? "" : config.prefix.replace(/^\/|\/$/g, "")
    const signer = makeSigner(gcs, signingKey, prefix)
    const service: GCSStore["Type"] & Prefixable = {
      config,
      store,
      signer,
      // Seen through PrefixStore.layer: the same bucket below the joined prefix.
      [PrefixableId]: (root) =>
        Effect.map(
          services(gcs, base, signingKey, new GCSConfig({ ...config, prefix: ObjectPath.join(prefix, root) }, true)),
          (s) => s.service
        )
    }
    return { store, signer, service }
  })
