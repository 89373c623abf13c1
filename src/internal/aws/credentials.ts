// AWS credential providers for the S3 store: static keys, a refreshing cache, and the default chain (environment →
// shared config files → web identity → container → EC2 instance metadata). Secrets go into `Redacted` the moment they are parsed; error
// descriptions name sources, status codes and AWS error codes, never a key, token or response body.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { StoreError, Unauthenticated } from "../../ObjectStoreError.js"
import type { MetadataError } from "../cloud/metadata.js"
import { request as send } from "../cloud/metadata.js"
import * as TokenCache from "../cloud/tokenCache.js"
import { fromProfileLink } from "./profile.js"
import type { Env, Link } from "./source.js"
import {
  envValue,
  Fail,
  failTransport,
  field,
  nonEmptyString,
  parseDate,
  parseJson,
  readSecretFile,
  Skip
} from "./source.js"
import * as Sts from "./sts.js"

/** Credentials as the signer needs them; every secret stays `Redacted` until the moment of signing. */
export interface AwsCredentials {
  readonly accessKeyId: Redacted.Redacted<string>
  readonly secretAccessKey: Redacted.Redacted<string>
  readonly sessionToken?: Redacted.Redacted<string> | undefined
  readonly expiration?: Date | undefined
}

/** Fetches credentials; run it again to fetch again (wrap it with {@link cached} to reuse them). */
export type CredentialProvider = Effect.Effect<AwsCredentials, Unauthenticated | StoreError>

const STORE = "S3Store"
const METHOD = "credentials"

const unauthenticated = (description: string, cause?: unknown): Unauthenticated =>
  new Unauthenticated({
    store: STORE,
    method: METHOD,
    description,
    ...(cause === undefined ? {} : { cause })
  })

const storeError = (description: string, cause?: unknown): StoreError =>
  new StoreError({
    store: STORE,
    method: METHOD,
    description,
    ...(cause === undefined ? {} : { cause })
  })

/** Always the same credentials. */
export const staticProvider = (creds: AwsCredentials): CredentialProvider => Effect.succeed(creds)

const isSecret = (u: unknown): u is Redacted.Redacted<string> => {
  if (!Redacted.isRedacted(u)) return false
  const value: unknown = Redacted.value(u)
  return typeof value === "string" && value.length > 0
}

/**
 * What a provider returned, checked before anything signs with it: a provider written by a user can hand back a
 * missing or plain-string secret, which would otherwise end the fiber with a defect when the signer unwraps it.
 */
export const checked = (creds: AwsCredentials): Effect.Effect<AwsCredentials, Unauthenticated> => {
  const value: unknown = creds
  const missing = typeof value !== "object" || value === null
    ? "credentials"
    : !isSecret(creds.accessKeyId)
    ? "accessKeyId"
    : !isSecret(creds.secretAccessKey)
    ? "secretAccessKey"
    : creds.sessionToken !== undefined && !isSecret(creds.sessionToken)
    ? "sessionToken"
    : undefined
  return missing === undefined
    ? Effect.succeed(creds)
    : Effect.fail(
      unauthenticated(`the credential provider returned no usable ${missing} (a non-empty string in a Redacted)`)
    )
}

// ---------------------------------------------------------------------------------------------------------------------
// cache
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Reuses a provider's credentials until `refreshBefore` (default 5 minutes) before they expire, through the shared
 * token cache: concurrent callers share one fetch, and a failed refresh serves the old credentials while they are
 * still valid.
 */
export const cached = (
  provider: CredentialProvider,
  options?: { readonly refreshBefore?: Duration.DurationInput | undefined }
): Effect.Effect<CredentialProvider> =>
  TokenCache.make(Effect.flatMap(provider, checked), {
    expiresAt: (creds) => creds.expiration?.getTime(),
    refreshBefore: options?.refreshBefore
  })

/** Credentials from a JSON document in the shape ECS and IMDS both serve. */
const credentialsFromJson = (doc: unknown): AwsCredentials | undefined => {
  const accessKeyId = nonEmptyString(field(doc, "AccessKeyId"))
  const secretAccessKey = nonEmptyString(field(doc, "SecretAccessKey"))
  if (accessKeyId === undefined || secretAccessKey === undefined) return undefined
  const token = nonEmptyString(field(doc, "Token"))
  const expirationField = field(doc, "Expiration")
  const expiration = parseDate(expirationField)
  if (expirationField !== undefined && expiration === undefined) return undefined
  return {
    accessKeyId: Redacted.make(accessKeyId),
    secretAccessKey: Redacted.make(secretAccessKey),
    sessionToken: token === undefined ? undefined : Redacted.make(token),
    expiration
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// the chain's links
// ---------------------------------------------------------------------------------------------------------------------

const fromEnvLink = (env: Env): Link =>
  Effect.suspend((): Link => {
    const accessKeyId = envValue(env, "AWS_ACCESS_KEY_ID")
    const secretAccessKey = envValue(env, "AWS_SECRET_ACCESS_KEY")
    if (accessKeyId === undefined && secretAccessKey === undefined) {
      return Effect.fail(new Skip({ reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set" }))
    }
    if (accessKeyId === undefined) return Effect.fail(new Skip({ reason: "AWS_ACCESS_KEY_ID not set" }))
    if (secretAccessKey === undefined) return Effect.fail(new Skip({ reason: "AWS_SECRET_ACCESS_KEY not set" }))
    const sessionToken = envValue(env, "AWS_SESSION_TOKEN")
    const expirationText = envValue(env, "AWS_CREDENTIAL_EXPIRATION")
    const expiration = parseDate(expirationText)
    if (expirationText !== undefined && expiration === undefined) {
      return Effect.fail(
        new Fail({ kind: "Unauthenticated", reason: "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 date" })
      )
    }
    return Effect.succeed({
      accessKeyId: Redacted.make(accessKeyId),
      secretAccessKey: Redacted.make(secretAccessKey),
      sessionToken: sessionToken === undefined ? undefined : Redacted.make(sessionToken),
      expiration
    })
  })

const fromWebIdentityLink = (
  env: Env,
  endpoint: string,
  timeout: Duration.Duration
): Link =>
  Effect.suspend((): Link => {
    const tokenFile = envValue(env, "AWS_WEB_IDENTITY_TOKEN_FILE")
    const roleArn = envValue(env, "AWS_ROLE_ARN")
    if (tokenFile === undefined && roleArn === undefined) {
      return Effect.fail(new Skip({ reason: "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set" }))
    }
    if (tokenFile === undefined) return Effect.fail(new Skip({ reason: "AWS_WEB_IDENTITY_TOKEN_FILE not set" }))
    if (roleArn === undefined) return Effect.fail(new Skip({ reason: "AWS_ROLE_ARN not set" }))
    if (!URL.canParse(endpoint)) {
      return Effect.fail(new Fail({ kind: "Unauthenticated", reason: `invalid STS endpoint "${endpoint}"` }))
    }
    return Effect.flatMap(readSecretFile(tokenFile, "web identity token file"), (token) =>
      Sts.assumeRoleWithWebIdentity({
        endpoint,
        timeout,
        roleArn,
        sessionName: envValue(env, "AWS_ROLE_SESSION_NAME"),
        token
      }))
  })

const CONTAINER_HOSTS = new Set(["169.254.170.2", "169.254.170.23", "[fd00:ec2::23]"])

/**
 * Whether a full container credentials URI may receive the authorization token: HTTPS anywhere, plain HTTP only to
 * loopback or to the ECS / EKS Pod Identity agents (the AWS SDKs' rule).
 */
export const isAllowedContainerUri = (uri: string): boolean => {
  if (!URL.canParse(uri)) return false
  const url = new URL(uri)
  if (url.protocol === "https:") return true
  if (url.protocol !== "http:") return false
  const host = url.hostname
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host) || CONTAINER_HOSTS.has(host)
}

const fromContainerLink = (env: Env, ecsEndpoint: string, timeout: Duration.Duration): Link =>
  Effect.suspend((): Link => {
    const relative = envValue(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    const full = envValue(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")
    let url: string
    if (relative !== undefined) {
      url = `${ecsEndpoint.replace(/\/+$/, "")}${relative.startsWith("/") ? "" : "/"}${relative}`
      if (!URL.canParse(url)) {
        return Effect.fail(
          new Fail({ kind: "Unauthenticated", reason: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not a valid path" })
        )
      }
    } else if (full !== undefined) {
      if (!isAllowedContainerUri(full)) {
        return Effect.fail(
          new Fail({
            kind: "Unauthenticated",
            reason: "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, loopback, or the ECS / EKS agent address"
          })
        )
      }
      url = full
    } else {
      return Effect.fail(
        new Skip({ reason: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not set" })
      )
    }
    const tokenFile = envValue(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    const tokenValue = envValue(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")
    const authorization: Effect.Effect<Redacted.Redacted<string> | undefined, Fail> = tokenFile !== undefined
      ? readSecretFile(tokenFile, "container authorization token file")
      : Effect.succeed(tokenValue === undefined ? undefined : Redacted.make(tokenValue))
    return Effect.gen(function*() {
      const token = yield* authorization
      if (token !== undefined && /[\r\n]/.test(Redacted.value(token))) {
        return yield* Effect.fail(
          new Fail({ kind: "Unauthenticated", reason: "the container authorization token contains a line break" })
        )
      }
      const headers: Record<string, string> = { accept: "application/json" }
      if (token !== undefined) headers.authorization = Redacted.value(token)
      const response = yield* send(url, { method: "GET", headers }, timeout).pipe(
        Effect.mapError(failTransport(`container credentials endpoint ${url}`))
      )
      if (response.status !== 200) {
        const code = nonEmptyString(field(parseJson(response.body), "Code"))
        return yield* Effect.fail(
          new Fail({
            kind: response.status >= 500 || response.status === 429 ? "StoreError" : "Unauthenticated",
            reason: `container credentials endpoint answered HTTP ${response.status}${
              code === undefined ? "" : ` (${code})`
            }`
          })
        )
      }
      const creds = credentialsFromJson(parseJson(response.body))
      if (creds === undefined) {
        return yield* Effect.fail(
          new Fail({ kind: "StoreError", reason: "container credentials endpoint answered without valid credentials" })
        )
      }
      return creds
    })
  })

const IMDS_PATH = "/latest/meta-data/iam/security-credentials/"

const fromImdsLink = (endpoint: string, timeout: Duration.Duration): Link =>
  Effect.suspend((): Link => {
    const base = endpoint.replace(/\/+$/, "")
    if (!URL.canParse(base)) {
      return Effect.fail(new Fail({ kind: "Unauthenticated", reason: `invalid instance metadata endpoint "${base}"` }))
    }
    // Off EC2 nothing answers: one short attempt per step, and an unreachable service just ends the chain.
    const unreachable = (step: string) => (error: MetadataError) =>
      new Skip({ reason: `${step} at ${base}: ${error.reason}` })
    const bad = (step: string, status: number) =>
      status === 404
        ? new Skip({ reason: `${step} at ${base}: HTTP 404` })
        : new Fail({
          kind: status >= 500 || status === 429 ? "StoreError" : "Unauthenticated",
          reason: `instance metadata ${step} answered HTTP ${status}`
        })
    return Effect.gen(function*() {
      const tokenResponse = yield* send(`${base}/latest/api/token`, {
        method: "PUT",
        headers: { "x-aws-ec2-metadata-token-ttl-seconds": "21600" }
      }, timeout).pipe(Effect.mapError(unreachable("IMDSv2 token request")))
      if (tokenResponse.status !== 200) return yield* Effect.fail(bad("IMDSv2 token request", tokenResponse.status))
      const token = Redacted.make(tokenResponse.body.trim())
      const headers = () => ({ "x-aws-ec2-metadata-token": Redacted.value(token) })
      const roleResponse = yield* send(`${base}${IMDS_PATH}`, { method: "GET", headers: headers() }, timeout).pipe(
        Effect.mapError(unreachable("IAM role lookup"))
      )
      if (roleResponse.status === 404) {
        return yield* Effect.fail(new Skip({ reason: `no IAM role attached to the instance (${base})` }))
      }
      if (roleResponse.status !== 200) return yield* Effect.fail(bad("IAM role lookup", roleResponse.status))
      const role = roleResponse.body.split("\n").map((line) => line.trim()).find((line) => line !== "")
      if (role === undefined) {
        return yield* Effect.fail(new Skip({ reason: `no IAM role attached to the instance (${base})` }))
      }
      const credsResponse = yield* send(
        `${base}${IMDS_PATH}${encodeURIComponent(role)}`,
        { method: "GET", headers: headers() },
        timeout
      ).pipe(Effect.mapError(failTransport(`instance metadata credentials for role "${role}"`)))
      if (credsResponse.status !== 200) {
        return yield* Effect.fail(bad(`credentials for role "${role}"`, credsResponse.status))
      }
      const doc = parseJson(credsResponse.body)
      const code = field(doc, "Code")
      if (code !== undefined && code !== "Success") {
        return yield* Effect.fail(
          new Fail({
            kind: "Unauthenticated",
            reason: `instance metadata credentials for role "${role}" not available (Code ${String(code)})`
          })
        )
      }
      const creds = credentialsFromJson(doc)
      if (creds === undefined) {
        return yield* Effect.fail(
          new Fail({
            kind: "StoreError",
            reason: `instance metadata answered without valid credentials for role "${role}"`
          })
        )
      }
      return creds
    })
  })

// ---------------------------------------------------------------------------------------------------------------------
// the chain
// ---------------------------------------------------------------------------------------------------------------------

/** Options of {@link defaultChain}. */
export interface DefaultChainOptions {
  /** Where the variables come from (default `process.env`). */
  readonly env?: Record<string, string | undefined> | undefined
  /** Region of the STS endpoint used for web identity. */
  readonly region: string
  /** Default `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `http://169.254.169.254`. */
  readonly imdsEndpoint?: string | undefined
  /** Default `AWS_ENDPOINT_URL_STS`, else `https://sts.{region}.amazonaws.com`. */
  readonly stsEndpoint?: string | undefined
  /** Base of `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (default `http://169.254.170.2`). */
  readonly ecsEndpoint?: string | undefined
  /** Per request to IMDS and the container endpoint (default 1 second: off EC2 / ECS nothing answers). */
  readonly timeout?: Duration.DurationInput | undefined
  /** Per request to STS (default 10 seconds: it is a real, remote service). */
  readonly stsTimeout?: Duration.DurationInput | undefined
  /** Skip EC2 instance metadata (also `AWS_EC2_METADATA_DISABLED=true`). */
  readonly disableImds?: boolean | undefined
  /** The shared-files profile to read (default `AWS_PROFILE`, else `default`); given, it outranks the environment's keys. */
  readonly profile?: string | undefined
  /** Default `AWS_CONFIG_FILE`, else `~/.aws/config` (`~` is `HOME` in `env`, else the user's home). */
  readonly configFile?: string | undefined
  /** Default `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. */
  readonly credentialsFile?: string | undefined
  /** Per run of a profile's `credential_process` (default 1 minute). */
  readonly processTimeout?: Duration.DurationInput | undefined
}

const toPublic = (fail: Fail, description: string) =>
  fail.kind === "Unauthenticated" ? unauthenticated(description, fail.cause) : storeError(description, fail.cause)

const runChain = (links: ReadonlyArray<readonly [string, Link]>): CredentialProvider =>
  Effect.suspend(() => {
    const skipped: Array<string> = []
    const go = (index: number): CredentialProvider => {
      if (index >= links.length) {
        return Effect.fail(unauthenticated(`no AWS credentials found; tried ${skipped.join("; ")}`))
      }
      const [name, link] = links[index]
      return Effect.catchAll(link, (error): CredentialProvider => {
        if (error._tag === "Skip") {
          skipped.push(`${name}: ${error.reason}`)
          return go(index + 1)
        }
        const before = skipped.length === 0 ? "" : ` (after ${skipped.join("; ")})`
        return Effect.fail(toPublic(error, `${name}: ${error.reason}${before}`))
      })
    }
    return go(0)
  })

/**
 * The AWS SDKs' default chain: environment variables, then the shared config and credentials files (the profile's
 * static keys, role, web identity token file or `credential_process`), then web identity
 * (`AWS_WEB_IDENTITY_TOKEN_FILE`, as on EKS), then the container endpoint (ECS, EKS Pod Identity), then EC2
 * instance metadata (IMDSv2 only). A source that is not configured is skipped; a configured one that fails ends the
 * chain, so a broken role never silently falls back to the instance's identity. Wrap it with {@link cached}.
 */
export const defaultChain = (options: DefaultChainOptions): CredentialProvider =>
  Effect.suspend(() => {
    const env: Env = options.env ?? process.env
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(1))
    const stsTimeout = Duration.decode(options.stsTimeout ?? Duration.seconds(10))
    const stsEndpoint = options.stsEndpoint ?? envValue(env, "AWS_ENDPOINT_URL_STS") ??
      `https://sts.${options.region}.amazonaws.com`
    const imdsEndpoint = options.imdsEndpoint ?? envValue(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT") ??
      "http://169.254.169.254"
    const ecsEndpoint = options.ecsEndpoint ?? "http://169.254.170.2"
    const imdsDisabled = options.disableImds === true ||
      envValue(env, "AWS_EC2_METADATA_DISABLED")?.toLowerCase() === "true"
    const environment = fromEnvLink(env)
    // A profile passed explicitly outranks the environment's keys (botocore's rule, as with `aws --profile`);
    // AWS_PROFILE does not, so keys exported in a shell still win over the files.
    const first: Link = options.profile === undefined
      ? environment
      : Effect.fail(new Skip({ reason: `skipped: profile "${options.profile}" was given` }))
    const container = fromContainerLink(env, ecsEndpoint, timeout)
    const imds: Link = imdsDisabled
      ? Effect.fail(new Skip({ reason: "disabled" }))
      : fromImdsLink(imdsEndpoint, timeout)
    const sources: Record<string, Link> = {
      Environment: environment,
      EcsContainer: container,
      Ec2InstanceMetadata: imds
    }
    const profile = fromProfileLink({
      env,
      profile: options.profile,
      configFile: options.configFile,
      credentialsFile: options.credentialsFile,
      region: options.region,
      stsEndpoint: options.stsEndpoint,
      stsTimeout,
      processTimeout: options.processTimeout,
      credentialSource: (name) => Object.prototype.hasOwnProperty.call(sources, name) ? sources[name] : undefined
    })
    return runChain([
      ["environment", first],
      ["shared config files", profile],
      ["web identity", fromWebIdentityLink(env, stsEndpoint, stsTimeout)],
      ["container", container],
      ["EC2 instance metadata", imds]
    ])
  })
