// The two STS calls the credential sources make: AssumeRoleWithWebIdentity (unsigned: the token is the proof) and
// AssumeRole (signed with the source profile's credentials). Both answer the same Credentials element.
// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Crypto from "node:crypto"
import { request as send } from "../cloud/metadata.js"
import { signRequest } from "../signing/sigv4.js"
import type { AwsCredentials } from "./credentials.js"
import { Fail, failTransport, field, nonEmptyString, parseDate, parseXml, rejected, scrub } from "./source.js"

type Action = "AssumeRole" | "AssumeRoleWithWebIdentity"

const stsError = (action: Action, status: number, body: string, secrets: ReadonlyArray<Redacted.Redacted<string>>) => {
  const error = field(field(parseXml(body), "ErrorResponse"), "Error")
  const code = nonEmptyString(field(error, "Code"))
  const message = nonEmptyString(field(error, "Message"))
  const detail = code === undefined
    ? `HTTP ${status}`
    : `HTTP ${status} ${code}${message === undefined ? "" : `: ${scrub(message, secrets)}`}`
  return new Fail({
    // Throttling and an identity provider STS could not reach are worth retrying; anything else is a rejection.
    kind: status >= 500 || code === "Throttling" || code === "IDPCommunicationError" ? "StoreError" : "Unauthenticated",
    reason: `STS ${action} failed (${detail})`
  })
}

const credentialsOf = (action: Action, body: string): Effect.Effect<AwsCredentials, Fail> => {
  const creds = field(field(field(parseXml(body), `${action}Response`), `${action}Result`), "Credentials")
  const accessKeyId = nonEmptyString(field(creds, "AccessKeyId"))
  const secretAccessKey = nonEmptyString(field(creds, "SecretAccessKey"))
  const sessionToken = nonEmptyString(field(creds, "SessionToken"))
  if (accessKeyId === undefined || secretAccessKey === undefined || sessionToken === undefined) {
    return Effect.fail(new Fail({ kind: "StoreError", reason: `STS ${action} answered without credentials` }))
  }
  return Effect.succeed({
    accessKeyId: Redacted.make(accessKeyId),
    secretAccessKey: Redacted.make(secretAccessKey),
    sessionToken: Redacted.make(sessionToken),
    expiration: parseDate(field(creds, "Expiration"))
  })
}

const checkEndpoint = (endpoint: string): Effect.Effect<URL, Fail> =>
  URL.canParse(endpoint)
    ? Effect.succeed(new URL(endpoint))
    : Effect.fail(rejected(`invalid STS endpoint "${endpoint}"`))

/** A session name when the configuration gives none, as the SDKs do (theirs say `aws-sdk-js-<millis>`). */
export const defaultSessionName = Effect.map(Clock.currentTimeMillis, (now) => `effect-obstore-${now}`)

const FORM = "application/x-www-form-urlencoded; charset=utf-8"

export interface WebIdentityRequest {
  readonly endpoint: string
  readonly timeout: Duration.Duration
  readonly roleArn: string
  readonly sessionName?: string | undefined
  readonly token: Redacted.Redacted<string>
}

export const assumeRoleWithWebIdentity = (input: WebIdentityRequest): Effect.Effect<AwsCredentials, Fail> =>
  Effect.gen(function*() {
    yield* checkEndpoint(input.endpoint)
    const form = new URLSearchParams({
      Action: "AssumeRoleWithWebIdentity",
      Version: "2011-06-15",
      RoleArn: input.roleArn,
      RoleSessionName: input.sessionName ?? (yield* defaultSessionName),
      WebIdentityToken: Redacted.value(input.token)
    })
    const response = yield* send(input.endpoint, {
      method: "POST",
      headers: { "content-type": FORM, accept: "application/xml" },
      body: form.toString()
    }, input.timeout).pipe(Effect.mapError(failTransport(`STS endpoint ${input.endpoint}`)))
    if (response.status !== 200) {
      return yield* Effect.fail(stsError("AssumeRoleWithWebIdentity", response.status, response.body, [input.token]))
    }
    return yield* credentialsOf("AssumeRoleWithWebIdentity", response.body)
  })

export interface AssumeRoleRequest {
  readonly endpoint: string
  /** The region the request is signed for. */
  readonly region: string
  readonly timeout: Duration.Duration
  readonly roleArn: string
  readonly sessionName?: string | undefined
  readonly externalId?: string | undefined
  readonly durationSeconds?: number | undefined
  readonly source: AwsCredentials
}

export const assumeRole = (input: AssumeRoleRequest): Effect.Effect<AwsCredentials, Fail> =>
  Effect.gen(function*() {
    const url = yield* checkEndpoint(input.endpoint)
    const params: Record<string, string> = {
      Action: "AssumeRole",
      Version: "2011-06-15",
      RoleArn: input.roleArn,
      RoleSessionName: input.sessionName ?? (yield* defaultSessionName)
    }
    if (input.externalId !== undefined) params.ExternalId = input.externalId
    if (input.durationSeconds !== undefined) params.DurationSeconds = String(input.durationSeconds)
    const body = new URLSearchParams(params).toString()
    const now = yield* Clock.currentTimeMillis
    const headers = { host: url.host, "content-type": FORM }
    const signed = signRequest({
      method: "POST",
      path: url.pathname === "" ? "/" : url.pathname,
      encodePath: true,
      headers,
      payloadHash: Crypto.createHash("sha256").update(body).digest("hex"),
      credentials: {
        accessKeyId: Redacted.value(input.source.accessKeyId),
        secretAccessKey: Redacted.value(input.source.secretAccessKey),
        sessionToken: input.source.sessionToken === undefined ? undefined : Redacted.value(input.source.sessionToken)
      },
      region: input.region,
      service: "sts",
      date: new Date(now)
    })
    const response = yield* send(input.endpoint, {
      method: "POST",
      headers: { "content-type": FORM, accept: "application/xml", ...signed.headers },
      body
    }, input.timeout).pipe(Effect.mapError(failTransport(`STS endpoint ${input.endpoint}`)))
    if (response.status !== 200) {
      const secrets = [input.source.secretAccessKey, input.source.sessionToken].filter(
        (s): s is Redacted.Redacted<string> => s !== undefined
      )
      return yield* Effect.fail(stsError("AssumeRole", response.status, response.body, secrets))
    }
    return yield* credentialsOf("AssumeRole", response.body)
  })
