/**
 * Azure Blob Storage (and Azurite, the emulator) over the shared HTTP transport: Shared Key signing on
 * `node:crypto`, SAS tokens, bearer tokens, and OAuth tokens from Microsoft Entra ID (client secret, workload
 * identity) or the instance metadata service (managed identity).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { ClientConfig, type ClientOptions } from "./ClientConfig.js"
import * as Azure from "./internal/azure/store.js"
import * as StoreLayer from "./internal/cloud/storeLayer.js"
import { decode } from "./internal/config.js"
import * as ObjectStore from "./ObjectStore.js"
import type { InvalidPath } from "./ObjectStoreError.js"
import { InvalidConfig } from "./ObjectStoreError.js"
import { RetryConfig, type RetryOptions } from "./RetryConfig.js"
import * as Signer from "./Signer.js"

const STORE = "AzureStore"

const AccountName = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9]{3,24}$/, {
    message: () => "an account name has 3 to 24 characters: lowercase letters and digits"
  })
)

const ContainerName = Schema.String.pipe(
  Schema.pattern(/^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/, {
    message: () =>
      "a container name has 3 to 63 characters: lowercase letters, digits and single hyphens, starting and ending with a letter or digit"
  })
)

const Url = Schema.String.pipe(
  Schema.filter((s) => {
    try {
      const url = new URL(s)
      return url.protocol === "http:" || url.protocol === "https:" ? true : "expected an http(s) URL"
    } catch {
      return `not a URL: ${JSON.stringify(s)}`
    }
  })
)

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "expected a non-empty string" }))

// A secret of the wrong type must not be echoed in the error that says so.
const Secret = Schema.Redacted(
  Schema.String.annotations({ message: () => "expected a string (the value is not shown: it is a secret)" })
)

/**
 * The configuration of an Azure store. Secrets are `Redacted` from the moment they are decoded.
 *
 * @since 0.1.0
 * @category models
 */
export class AzureConfig extends Schema.Class<AzureConfig>("effect-obstore/AzureConfig")({
  /** The storage account. Default with `useEmulator`: `devstoreaccount1`. */
  account: Schema.optional(AccountName),
  container: ContainerName,
  /** The account key (Shared Key). */
  accessKey: Schema.optional(Secret),
  /** A SAS token (`sv=...&sig=...`, with or without the leading `?`). */
  sasToken: Schema.optional(Secret),
  /** A fixed OAuth bearer token. */
  bearerToken: Schema.optional(Secret),
  /** The application (client) id for client-secret, workload-identity and user-assigned managed identity. */
  clientId: Schema.optional(NonEmpty),
  clientSecret: Schema.optional(Secret),
  tenantId: Schema.optional(NonEmpty),
  /** Entra ID's host. Default `https://login.microsoftonline.com`. */
  authorityHost: Schema.optional(Url),
  /** Workload identity: the file holding the federated token (rotated by the platform). */
  federatedTokenFile: Schema.optional(NonEmpty),
  /** Managed identity: the token endpoint. Default IMDS, `http://169.254.169.254/metadata/identity/oauth2/token`. */
  msiEndpoint: Schema.optional(Url),
  /** Managed identity: the Azure resource id of a user-assigned identity. */
  msiResourceId: Schema.optional(NonEmpty),
  /** Azurite: its account, key and endpoint by default, plain HTTP allowed. */
  useEmulator: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** The account's blob endpoint. Default `https://{account}.blob.core.windows.net`. */
  endpoint: Schema.optional(Url),
  /** `https://{account}.blob.fabric.microsoft.com` (OneLake) instead of `blob.core.windows.net`. */
  useFabricEndpoint: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Send unsigned requests (public containers). */
  skipSignature: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  /** Every path of the store lives below this prefix. */
  prefix: Schema.optional(Schema.String),
  client: Schema.optionalWith(ClientConfig, { default: () => ClientConfig.make({}) }),
  retry: Schema.optionalWith(RetryConfig, { default: () => RetryConfig.make({}) })
}) {}

/**
 * What `make` and `layer` take: the plain form of `AzureConfig`. Unknown fields are refused with `InvalidConfig`.
 * Credentials are used in this order: `bearerToken`, `accessKey`, `sasToken`, `clientSecret` (with `clientId` and
 * `tenantId`), `federatedTokenFile` (with `clientId` and `tenantId`), `skipSignature`, the emulator key with
 * `useEmulator`, and else managed identity.
 *
 * @since 0.1.0
 * @category options
 */
export interface AzureOptions {
  /** The storage account: 3 to 24 lowercase letters and digits. Default with `useEmulator`: `devstoreaccount1`. */
  readonly account?: string | undefined
  /** The container: 3 to 63 lowercase letters, digits and single hyphens. */
  readonly container: string
  /** The account key (Shared Key), base64. Held as `Redacted` once decoded: never printed, logged or traced. */
  readonly accessKey?: string | undefined
  /** A SAS token (`sv=...&sig=...`, with or without the leading `?`). */
  readonly sasToken?: string | undefined
  /** A fixed OAuth bearer token for `https://storage.azure.com`. */
  readonly bearerToken?: string | undefined
  /** The application (client) id (client secret, workload identity, user-assigned managed identity). */
  readonly clientId?: string | undefined
  /** The client secret of `clientId` in `tenantId`. */
  readonly clientSecret?: string | undefined
  /** The Entra ID tenant (directory) id. */
  readonly tenantId?: string | undefined
  /** Entra ID's host. Default `https://login.microsoftonline.com`. */
  readonly authorityHost?: string | undefined
  /** Workload identity: the file holding the federated token (read again at every refresh). */
  readonly federatedTokenFile?: string | undefined
  /** Managed identity: the token endpoint. Default IMDS, `http://169.254.169.254/metadata/identity/oauth2/token`. */
  readonly msiEndpoint?: string | undefined
  /** Managed identity: the Azure resource id of a user-assigned identity. */
  readonly msiResourceId?: string | undefined
  /** Azurite: its account, well-known key and `http://127.0.0.1:10000/{account}` by default, plain HTTP allowed. */
  readonly useEmulator?: boolean | undefined
  /** The account's blob endpoint. Default `https://{account}.blob.core.windows.net`. */
  readonly endpoint?: string | undefined
  /** `https://{account}.blob.fabric.microsoft.com` (OneLake) instead of `blob.core.windows.net`. Default `false`. */
  readonly useFabricEndpoint?: boolean | undefined
  /** Send unsigned requests (public containers). Default `false`. */
  readonly skipSignature?: boolean | undefined
  /** Every path of the store lives below this prefix. */
  readonly prefix?: string | undefined
  /** HTTP client settings: timeouts, `allowHttp`, default headers, connection pool. */
  readonly client?: ClientOptions | undefined
  /** When and how often requests are retried (up to 10 retries within 180 s by default). */
  readonly retry?: RetryOptions | undefined
}

// Declared by hand because editors show no documentation for the fields of `Schema.Encoded` types: this stops the
// build when the declaration and the schema disagree.
true satisfies Same<AzureOptions, typeof AzureConfig.Encoded>
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false

/**
 * The Azure-specific service, provided beside `ObjectStore` by the layers.
 *
 * @since 0.1.0
 * @category tags
 */
export class AzureStore extends Context.Tag("effect-obstore/AzureStore")<AzureStore, {
  readonly config: AzureConfig
  readonly store: ObjectStore.ObjectStore.Service
  readonly signer: Signer.Signer.Service
}>() {}

// The store on either transport.
const build = StoreLayer.builders(
  (options: AzureOptions) => decode(AzureConfig, options, STORE),
  (config) => config.client,
  Azure.make
)

/**
 * Builds an Azure store on the default transport (an undici connection pool per origin, closed with the scope).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: AzureOptions
): Effect.Effect<ObjectStore.ObjectStore.Service, InvalidConfig | InvalidPath, Scope.Scope> =>
  Effect.map(build.undici(options), (s) => s.store)

/**
 * Provides `ObjectStore`, `Signer` and `AzureStore` on the default transport.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: AzureOptions
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | AzureStore, InvalidConfig | InvalidPath> =>
  StoreLayer.layerFrom(AzureStore, build.undici(options))

/**
 * Like `layer`, but sends every request through the `HttpClient` in context (custom TLS, proxies, other runtimes).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithHttpClient = (
  options: AzureOptions
): Layer.Layer<
  ObjectStore.ObjectStore | Signer.Signer | AzureStore,
  InvalidConfig | InvalidPath,
  HttpClient.HttpClient
> => StoreLayer.layerFrom(AzureStore, build.platform(options))

/**
 * Reads the Azure environment variables (see `fromEnv`). `overrides` win over the environment.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  overrides: Partial<AzureOptions> = {}
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | AzureStore, InvalidConfig | InvalidPath> =>
  StoreLayer.layerFrom(AzureStore, Effect.flatMap(fromEnv(overrides), build.undici))

// Option name -> the variables that set it, first one set wins (the Azure SDKs' names, then obstore's).
const variables: ReadonlyArray<readonly [keyof AzureOptions, ReadonlyArray<string>]> = [
  ["account", ["AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"]],
  ["container", ["AZURE_CONTAINER_NAME", "AZURE_STORAGE_CONTAINER_NAME"]],
  ["accessKey", [
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_MASTER_KEY",
    "AZURE_STORAGE_KEY"
  ]],
  ["sasToken", ["AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_SAS_KEY"]],
  ["bearerToken", ["AZURE_STORAGE_TOKEN"]],
  ["clientId", ["AZURE_STORAGE_CLIENT_ID", "AZURE_CLIENT_ID"]],
  ["clientSecret", ["AZURE_STORAGE_CLIENT_SECRET", "AZURE_CLIENT_SECRET"]],
  ["tenantId", ["AZURE_STORAGE_TENANT_ID", "AZURE_TENANT_ID", "AZURE_STORAGE_AUTHORITY_ID"]],
  ["authorityHost", ["AZURE_AUTHORITY_HOST"]],
  ["federatedTokenFile", ["AZURE_FEDERATED_TOKEN_FILE"]],
  ["msiEndpoint", ["AZURE_MSI_ENDPOINT", "AZURE_IDENTITY_ENDPOINT"]],
  ["msiResourceId", ["AZURE_MSI_RESOURCE_ID"]],
  ["endpoint", ["AZURE_STORAGE_ENDPOINT", "AZURE_ENDPOINT"]]
]

const flags: ReadonlyArray<readonly [keyof AzureOptions, string]> = [
  ["useEmulator", "AZURE_STORAGE_USE_EMULATOR"],
  ["useFabricEndpoint", "AZURE_USE_FABRIC_ENDPOINT"],
  ["skipSignature", "AZURE_SKIP_SIGNATURE"]
]

/**
 * The options `layerConfig` reads from the environment (through `Config`, so a ConfigProvider can stand in):
 * `AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_CONTAINER_NAME`, `AZURE_STORAGE_ACCOUNT_KEY` (or `_ACCESS_KEY`,
 * `_MASTER_KEY`), `AZURE_STORAGE_SAS_TOKEN` (or `_SAS_KEY`), `AZURE_STORAGE_TOKEN`, `AZURE_CLIENT_ID`,
 * `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID` (each also as `AZURE_STORAGE_*`), `AZURE_AUTHORITY_HOST`,
 * `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_MSI_ENDPOINT`, `AZURE_MSI_RESOURCE_ID`, `AZURE_STORAGE_ENDPOINT`,
 * `AZURE_STORAGE_USE_EMULATOR`, `AZURE_USE_FABRIC_ENDPOINT`, `AZURE_SKIP_SIGNATURE`, `AZURE_ALLOW_HTTP`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromEnv = (overrides: Partial<AzureOptions> = {}): Effect.Effect<AzureOptions, InvalidConfig> =>
  Effect.gen(function*() {
    const failed = (error: unknown) =>
      new InvalidConfig({ store: STORE, method: "layerConfig", description: String(error), cause: error })
    const options: Record<string, unknown> = {}
    for (const [key, names] of variables) {
      const values = yield* Effect.mapError(
        Config.all(names.map((name) => Config.option(Config.string(name)))),
        failed
      )
      const value = Option.getOrUndefined(Option.firstSomeOf(values))
      if (value !== undefined) options[key] = value
    }
    for (const [key, name] of flags) {
      const value = yield* Effect.mapError(Config.option(Config.boolean(name)), failed)
      if (Option.isSome(value)) options[key] = value.value
    }
    const allowHttp = yield* Effect.mapError(Config.option(Config.boolean("AZURE_ALLOW_HTTP")), failed)
    const merged: Record<string, unknown> = { ...options, ...overrides }
    if (Option.isSome(allowHttp)) merged.client = { allowHttp: allowHttp.value, ...(overrides.client ?? {}) }
    if (merged.container === undefined) {
      return yield* Effect.fail(
        new InvalidConfig({
          store: STORE,
          method: "layerConfig",
          field: "container",
          description: "no container: set AZURE_CONTAINER_NAME or pass { container }"
        })
      )
    }
    // Checked by the strict decoder of `make`; an interface has no index signature to convert from directly.
    return merged as unknown as AzureOptions
  })

export {
  /**
   * Reads the URL forms of an Azure store (`az://`, `azure://`, `adl://`, `abfs[s]://`, `https://` blob and dfs
   * endpoints, the emulator's `http://127.0.0.1:10000/<account>/<container>`) into the container, account, prefix
   * and endpoint they name; the left is why a URL is not one.
   *
   * @since 0.1.0
   * @category constructors
   */
  parse as parseUrl
} from "./internal/azure/url.js"
