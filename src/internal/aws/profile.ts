// Credentials and region from the shared AWS files (`~/.aws/config`, `~/.aws/credentials`) for the profile named by
// the caller, `AWS_PROFILE`, or `default`. A profile holds static keys, a role to assume (from another profile or a
// named credential source), a web identity token file, or a `credential_process`; resolved in the JS SDK's order.
// AWS IAM Identity Center (`sso_*`) and MFA prompts are not supported: both need a person or a browser.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import type { AwsCredentials } from "./credentials.js"
import * as Ini from "./ini.js"
import { fromProcess } from "./process.js"
import type { Env, Fail, Link } from "./source.js"
import { envValue, readSecretFile, rejected, Skip } from "./source.js"
import * as Sts from "./sts.js"

type Profile = ReadonlyMap<string, string>

/** Where the files are and which profile to read. */
export interface FilesOptions {
  readonly env: Env
  /** Overrides `AWS_PROFILE`. */
  readonly profile?: string | undefined
  /** Overrides `AWS_CONFIG_FILE`, else `~/.aws/config`. */
  readonly configFile?: string | undefined
  /** Overrides `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`. */
  readonly credentialsFile?: string | undefined
}

export interface ProfileOptions extends FilesOptions {
  /** Region of the STS endpoint when the profile names none. */
  readonly region: string
  /** Overrides the STS endpoint (`AWS_ENDPOINT_URL_STS`, else `https://sts.{region}.amazonaws.com`). */
  readonly stsEndpoint?: string | undefined
  readonly stsTimeout: Duration.Duration
  /** Per run of a `credential_process` (default 1 minute, as in the Go SDK). */
  readonly processTimeout?: Duration.DurationInput | undefined
  /** The links `credential_source = Environment | Ec2InstanceMetadata | EcsContainer` stand for. */
  readonly credentialSource: (name: string) => Link | undefined
}

const home = (env: Env): string => envValue(env, "HOME") ?? envValue(env, "USERPROFILE") ?? Os.homedir()

const expand = (path: string, env: Env): string =>
  path === "~" || path.startsWith("~/") ? Path.join(home(env), path.slice(1)) : path

interface Files {
  readonly name: string
  /** Who chose the profile, if anyone did (a missing one is then an error, not a skip). */
  readonly chosenBy: "AWS_PROFILE" | "the profile option" | undefined
  readonly configPath: string
  readonly credentialsPath: string
  readonly profiles: ReadonlyMap<string, Profile>
  /** The config file's own profiles, for the region (which belongs there). */
  readonly config: ReadonlyMap<string, Profile>
}

// A file that is missing (or unreadable) holds no profiles, as in the SDKs; it is not an error on its own.
const readText = (path: string): Effect.Effect<string> =>
  Effect.tryPromise(() => Fs.readFile(path, "utf8")).pipe(Effect.orElseSucceed(() => ""))

/** Reads and merges both files: for the same profile, the credentials file's keys win. */
export const loadFiles = (options: FilesOptions): Effect.Effect<Files> =>
  Effect.gen(function*() {
    const { env } = options
    const chosen = options.profile ?? envValue(env, "AWS_PROFILE")
    const configPath = expand(
      options.configFile ?? envValue(env, "AWS_CONFIG_FILE") ?? Path.join(home(env), ".aws", "config"),
      env
    )
    const credentialsPath = expand(
      options.credentialsFile ?? envValue(env, "AWS_SHARED_CREDENTIALS_FILE") ??
        Path.join(home(env), ".aws", "credentials"),
      env
    )
    const [configText, credentialsText] = yield* Effect.all([readText(configPath), readText(credentialsPath)], {
      concurrency: 2
    })
    const config = Ini.configProfiles(Ini.parse(configText))
    const profiles = new Map<string, Profile>(config)
    for (const [name, values] of Ini.credentialsProfiles(Ini.parse(credentialsText))) {
      const base = profiles.get(name)
      profiles.set(name, base === undefined ? values : new Map([...base, ...values]))
    }
    const chosenBy = options.profile !== undefined
      ? "the profile option"
      : chosen !== undefined
      ? "AWS_PROFILE"
      : undefined
    return { name: chosen ?? "default", chosenBy, configPath, credentialsPath, profiles, config }
  })

/** The `region` of the profile, from the config file (else the credentials file); undefined when there is none. */
export const profileRegion = (options: FilesOptions): Effect.Effect<string | undefined> =>
  Effect.map(
    loadFiles(options),
    (files) => files.config.get(files.name)?.get("region") ?? files.profiles.get(files.name)?.get("region")
  )

/**
 * The profile's region for a configuration read through `Config`: files are only looked for where those variables
 * point (no fallback to the process's home directory), so a `ConfigProvider` that names none reads no file.
 */
export const configuredRegion = (env: Env): Effect.Effect<string | undefined> =>
  ["HOME", "USERPROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"].some((key) => envValue(env, key))
    ? profileRegion({ env })
    : Effect.succeed(undefined)

const get = (profile: Profile, key: string): string | undefined => {
  const value = profile.get(key)
  return value === undefined || value === "" ? undefined : value
}

const staticKeys = (name: string, profile: Profile): Effect.Effect<AwsCredentials, Fail> | undefined => {
  const accessKeyId = get(profile, "aws_access_key_id")
  const secretAccessKey = get(profile, "aws_secret_access_key")
  if (accessKeyId === undefined && secretAccessKey === undefined) return undefined
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    return Effect.fail(
      rejected(`profile "${name}" sets only one of aws_access_key_id and aws_secret_access_key`)
    )
  }
  const token = get(profile, "aws_session_token")
  return Effect.succeed({
    accessKeyId: Redacted.make(accessKeyId),
    secretAccessKey: Redacted.make(secretAccessKey),
    sessionToken: token === undefined ? undefined : Redacted.make(token)
  })
}

const isSso = (profile: Profile) =>
  ["sso_session", "sso_start_url", "sso_account_id", "sso_role_name", "sso_region"].some((k) => profile.has(k))

const stsEndpointFor = (options: ProfileOptions, region: string) =>
  options.stsEndpoint ?? envValue(options.env, "AWS_ENDPOINT_URL_STS") ?? `https://sts.${region}.amazonaws.com`

const durationOf = (name: string, profile: Profile): Effect.Effect<number | undefined, Fail> => {
  const text = get(profile, "duration_seconds")
  if (text === undefined) return Effect.succeed(undefined)
  const seconds = Number(text)
  return Number.isInteger(seconds) && seconds >= 900 && seconds <= 43200
    ? Effect.succeed(seconds)
    : Effect.fail(rejected(`profile "${name}": duration_seconds must be a whole number from 900 to 43200`))
}

type Resolved = Effect.Effect<AwsCredentials, Fail | Skip>

/** Where a role's source credentials come from: another profile (`source_profile`) or a named chain link. */
const roleSource = (
  files: Files,
  options: ProfileOptions,
  name: string,
  profile: Profile,
  chain: ReadonlyArray<string>
): Resolved => {
  const sourceProfile = get(profile, "source_profile")
  if (sourceProfile !== undefined) {
    const path = [...(chain.length === 0 ? [name] : chain), sourceProfile]
    return chain.includes(sourceProfile)
      ? Effect.fail(rejected(`source_profile entries form a cycle: ${path.join(" -> ")}`))
      : resolve(files, options, sourceProfile, path)
  }
  const credentialSource = get(profile, "credential_source") ?? ""
  const link = options.credentialSource(credentialSource)
  if (link === undefined) {
    return Effect.fail(
      rejected(
        `profile "${name}": credential_source "${credentialSource}" is not one of Environment, Ec2InstanceMetadata, ` +
          "EcsContainer"
      )
    )
  }
  // Named explicitly, the source must answer: its skip is this profile's failure.
  return Effect.catchTag(link, "Skip", (skip) =>
    Effect.fail(
      rejected(`profile "${name}": credential_source ${credentialSource} has no credentials (${skip.reason})`)
    ))
}

const assumeRoleOf = (
  files: Files,
  options: ProfileOptions,
  name: string,
  profile: Profile,
  chain: ReadonlyArray<string>,
  roleArn: string
): Resolved => {
  if (profile.has("source_profile") && profile.has("credential_source")) {
    return Effect.fail(rejected(`profile "${name}" sets both source_profile and credential_source; keep one`))
  }
  if (profile.has("mfa_serial")) {
    return Effect.fail(rejected(`profile "${name}" needs an MFA code (mfa_serial), which this library cannot ask for`))
  }
  return Effect.gen(function*() {
    const durationSeconds = yield* durationOf(name, profile)
    const source = yield* roleSource(files, options, name, profile, chain)
    const region = get(profile, "region") ?? options.region
    return yield* Sts.assumeRole({
      endpoint: stsEndpointFor(options, region),
      region,
      timeout: options.stsTimeout,
      roleArn,
      sessionName: get(profile, "role_session_name"),
      externalId: get(profile, "external_id"),
      durationSeconds,
      source
    })
  })
}

const webIdentityOf = (options: ProfileOptions, profile: Profile, tokenFile: string, roleArn: string): Resolved => {
  const region = get(profile, "region") ?? options.region
  return Effect.flatMap(
    readSecretFile(expand(tokenFile, options.env), "web identity token file"),
    (token) =>
      Sts.assumeRoleWithWebIdentity({
        endpoint: stsEndpointFor(options, region),
        timeout: options.stsTimeout,
        roleArn,
        sessionName: get(profile, "role_session_name"),
        token
      })
  )
}

/** Why a profile with none of the supported settings cannot give credentials. */
const unsupported = (name: string, profile: Profile, chain: ReadonlyArray<string>): Resolved => {
  if (isSso(profile)) {
    return Effect.fail(
      rejected(
        `profile "${name}" uses AWS IAM Identity Center (sso_*), which this library does not support; add ` +
          `credential_process = aws configure export-credentials --profile ${name} --format process`
      )
    )
  }
  if (profile.has("role_arn")) {
    return Effect.fail(
      rejected(`profile "${name}" sets role_arn without source_profile, credential_source or web_identity_token_file`)
    )
  }
  return chain.length > 0
    ? Effect.fail(rejected(`source profile "${name}" holds no credentials`))
    : Effect.fail(new Skip({ reason: `profile "${name}" holds no credentials` }))
}

/**
 * The credentials of the profile `name`, in the JS SDK's order: a role to assume, static keys, a web identity token
 * file, a `credential_process`. `chain` holds the profiles already visited through `source_profile`, in order; a
 * profile reached as a source uses its own static keys before any role it names (the SDKs' rule, which also lets a
 * profile name itself as its source).
 */
const resolve = (files: Files, options: ProfileOptions, name: string, chain: ReadonlyArray<string>): Resolved =>
  Effect.suspend(() => {
    const profile = files.profiles.get(name)
    const where = `${files.configPath} or ${files.credentialsPath}`
    if (profile === undefined) {
      if (chain.length > 0) {
        return Effect.fail(
          rejected(`profile "${chain[chain.length - 2]}" names source_profile "${name}", which is not in ${where}`)
        )
      }
      return files.chosenBy !== undefined
        ? Effect.fail(rejected(`profile "${name}" (named by ${files.chosenBy}) is not in ${where}`))
        : Effect.fail(new Skip({ reason: `no [default] profile in ${where}` }))
    }
    const keys = staticKeys(name, profile)
    if (chain.length > 0 && keys !== undefined) return keys
    const roleArn = get(profile, "role_arn")
    if (roleArn !== undefined && (profile.has("source_profile") || profile.has("credential_source"))) {
      return assumeRoleOf(files, options, name, profile, chain, roleArn)
    }
    if (keys !== undefined) return keys
    const tokenFile = get(profile, "web_identity_token_file")
    if (tokenFile !== undefined && roleArn !== undefined) return webIdentityOf(options, profile, tokenFile, roleArn)
    const commandLine = get(profile, "credential_process")
    if (commandLine !== undefined) {
      return fromProcess(commandLine, name, Duration.decode(options.processTimeout ?? Duration.minutes(1)))
    }
    return unsupported(name, profile, chain)
  })

/** The chain's shared-files link. */
export const fromProfileLink = (options: ProfileOptions): Link =>
  Effect.flatMap(loadFiles(options), (files) => resolve(files, options, files.name, []))
