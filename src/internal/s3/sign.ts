// Presigned URLs (SigV4 in the query string) for the Signer service.
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ObjectPath from "../../ObjectPath.js"
import { InvalidConfig } from "../../ObjectStoreError.js"
import type * as Signer from "../../Signer.js"
import type { CredentialProvider } from "../aws/credentials.js"
import { expiresInProblem, presign } from "../signing/sigv4.js"
import type { S3 } from "./client.js"
import { STORE, UNSIGNED_PAYLOAD } from "./client.js"

const signOne = (
  s3: S3,
  credentials: CredentialProvider | undefined,
  prefix: string,
  method: Signer.SignMethod,
  input: string,
  expiresIn: Duration.Duration
) =>
  Effect.gen(function*() {
    const parsed = ObjectPath.parse(input, { store: STORE, method: "sign" })
    if (Either.isLeft(parsed)) return yield* Effect.fail(parsed.left)
    const path = s3.client.pathOf(ObjectPath.join(prefix, parsed.right))
    const url = new URL(s3.client.target.origin + path)
    if (credentials === undefined) return url
    const creds = yield* credentials
    const now = yield* Clock.currentTimeMillis
    const signed = presign({
      method,
      path,
      headers: { host: s3.client.target.host },
      payloadHash: UNSIGNED_PAYLOAD,
      credentials: {
        accessKeyId: Redacted.value(creds.accessKeyId),
        secretAccessKey: Redacted.value(creds.secretAccessKey),
        sessionToken: creds.sessionToken === undefined ? undefined : Redacted.value(creds.sessionToken)
      },
      region: s3.config.region,
      service: "s3",
      date: new Date(now),
      expiresIn: Duration.toSeconds(expiresIn)
    })
    url.search = signed.queryString
    return url
  })

/** Why `expiresIn` cannot be signed, if it cannot. */
const expiresProblem = (input: Duration.DurationInput, decoded: Option.Option<Duration.Duration>) => {
  if (Option.isNone(decoded)) {
    return `expected a duration such as "1 hour" or milliseconds, got ${JSON.stringify(String(input))}`
  }
  const seconds = Duration.toSeconds(decoded.value)
  return Number.isFinite(seconds) && !Number.isInteger(seconds)
    ? `expiresIn must be whole seconds between 1 and 604800 (7 days), got ${seconds} s`
    : expiresInProblem(seconds)
}

/** The Signer service of a store whose paths live below `prefix` ("" for none). */
export const makeSigner = (
  s3: S3,
  credentials: CredentialProvider | undefined,
  prefix: string
): Signer.Signer.Service => {
  const sign = (method: Signer.SignMethod, paths: string | ReadonlyArray<string>, input: Duration.DurationInput) => {
    const decoded = Duration.decodeUnknown(input)
    const problem = expiresProblem(input, decoded)
    const expiresIn = Option.getOrElse(decoded, () => Duration.zero)
    const effect: Effect.Effect<URL | ReadonlyArray<URL>, Signer.SignError> = problem !== undefined
      ? Effect.fail(new InvalidConfig({ store: STORE, method: "sign", field: "expiresIn", description: problem }))
      : typeof paths === "string"
      ? signOne(s3, credentials, prefix, method, paths, expiresIn)
      : Effect.forEach(paths, (p) => signOne(s3, credentials, prefix, method, p, expiresIn))
    return Effect.withSpan(effect, "S3Store.sign", { attributes: { "objectstore.store": STORE } })
  }
  return { sign: sign as Signer.Signer.Service["sign"] }
}
