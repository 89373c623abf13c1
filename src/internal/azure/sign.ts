// SAS URLs for the Signer service: a blob service SAS signed with the account key. The signing time comes from
// Effect's Clock; the SAS starts a minute early so a server whose clock is behind ours still accepts it.
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as ObjectPath from "../../ObjectPath.js"
import { InvalidConfig } from "../../ObjectStoreError.js"
import type * as Signer from "../../Signer.js"
import type { Azure } from "./client.js"
import { STORE } from "./client.js"
import { makeSigner, serviceSas } from "./sharedKey.js"

/** The longest a SAS we sign may live: a year (Azure sets no limit on a service SAS; a longer one is a mistake). */
const MAX_SECONDS = 365 * 24 * 3600
const CLOCK_SKEW_MS = 60_000

const permissions: Record<Signer.SignMethod, string> = { GET: "r", HEAD: "r", PUT: "cw", DELETE: "d" }

const invalid = (field: string, description: string) =>
  new InvalidConfig({ store: STORE, method: "sign", field, description })

/** Why `expiresIn` cannot be signed, if it cannot. */
const expiresProblem = (input: Duration.DurationInput, decoded: Option.Option<Duration.Duration>) => {
  if (Option.isNone(decoded)) {
    return `expected a duration such as "1 hour" or milliseconds, got ${JSON.stringify(String(input))}`
  }
  const seconds = Duration.toSeconds(decoded.value)
  return Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_SECONDS
    ? undefined
    : `expiresIn must be whole seconds between 1 and ${MAX_SECONDS} (a year), got ${seconds} s`
}

/** The Signer service of a store whose paths live below `prefix` ("" for none). */
export const makeSignerService = (azure: Azure, prefix: string): Signer.Signer.Service => {
  const credential = azure.client.credential
  const signer = credential._tag === "SharedKey"
    ? makeSigner(azure.client.account, Redacted.value(credential.key))
    : undefined
  const signOne = (method: Signer.SignMethod, input: string, expiresIn: Duration.Duration) =>
    Effect.gen(function*() {
      const parsed = ObjectPath.parse(input, { store: STORE, method: "sign" })
      if (Either.isLeft(parsed)) return yield* Effect.fail(parsed.left)
      if (permissions[method] === undefined) {
        return yield* Effect.fail(invalid("method", `expected GET, PUT, HEAD or DELETE, got ${JSON.stringify(method)}`))
      }
      if (signer === undefined) {
        return yield* Effect.fail(
          invalid("accessKey", "signing URLs needs the account key (accessKey); user delegation SAS is not supported")
        )
      }
      const blob = ObjectPath.join(prefix, parsed.right)
      const now = yield* Clock.currentTimeMillis
      const url = new URL(azure.client.target.origin + azure.client.pathOf(blob))
      url.search = serviceSas(signer, azure.client.account, {
        permissions: permissions[method],
        start: new Date(now - CLOCK_SKEW_MS),
        expiry: new Date(now + Duration.toMillis(expiresIn)),
        container: azure.client.container,
        blob
      })
      return url
    })
  const sign = (method: Signer.SignMethod, paths: string | ReadonlyArray<string>, input: Duration.DurationInput) => {
    const decoded = Duration.decodeUnknown(input)
    const problem = expiresProblem(input, decoded)
    const expiresIn = Option.getOrElse(decoded, () => Duration.zero)
    const effect: Effect.Effect<URL | ReadonlyArray<URL>, Signer.SignError> = problem !== undefined
      ? Effect.fail(invalid("expiresIn", problem))
      : typeof paths === "string"
      ? signOne(method, paths, expiresIn)
      : Effect.forEach(paths, (p) => signOne(method, p, expiresIn))
    return Effect.withSpan(effect, "AzureStore.sign", { attributes: { "objectstore.store": STORE } })
  }
  return { sign: sign as Signer.Signer.Service["sign"] }
}
