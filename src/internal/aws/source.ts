// What the credential sources share: the chain's two outcomes besides success (Skip: not configured; Fail: configured
// but broken), the environment they read, and small parsers that never quote their input (it holds secrets).
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { XMLParser } from "fast-xml-parser"
import * as Fs from "node:fs/promises"
import type { MetadataError } from "../cloud/metadata.js"
import { errorCode } from "../cloud/metadata.js"
import type { AwsCredentials } from "./credentials.js"

/** The source is not configured (or, for IMDS, not reachable): the chain moves on. */
export class Skip extends Data.TaggedError("Skip")<{ readonly reason: string }> {}

/** The source is configured but failed: the chain stops here rather than fall through to another identity. */
export class Fail extends Data.TaggedError("Fail")<{
  readonly kind: "Unauthenticated" | "StoreError"
  readonly reason: string
  readonly cause?: unknown
}> {}

export type Link = Effect.Effect<AwsCredentials, Skip | Fail>

export type Env = Readonly<Record<string, string | undefined>>

export const envValue = (env: Env, key: string): string | undefined => {
  const value = env[key]
  return value === undefined || value.trim() === "" ? undefined : value.trim()
}

export const rejected = (reason: string, cause?: unknown): Fail =>
  new Fail({ kind: "Unauthenticated", reason, ...(cause === undefined ? {} : { cause }) })

export const failTransport = (what: string) => (error: MetadataError) =>
  new Fail({ kind: "StoreError", reason: `${what}: ${error.reason}`, cause: error.cause })

export const field = (u: unknown, key: string): unknown =>
  typeof u === "object" && u !== null && Object.prototype.hasOwnProperty.call(u, key)
    ? (u as Record<string, unknown>)[key]
    : undefined

export const nonEmptyString = (u: unknown): string | undefined => typeof u === "string" && u.length > 0 ? u : undefined

export const parseDate = (u: unknown): Date | undefined => {
  if (typeof u !== "string") return undefined
  const date = new Date(u)
  return Number.isNaN(date.getTime()) ? undefined : date
}

// Parse failures carry no cause: `JSON.parse` quotes the offending input in its message, and that input holds secrets.
export const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

const xmlParser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  // Keep every value a string: a secret key that looks like a number must not become one.
  parseTagValue: false,
  trimValues: true
})

export const parseXml = (body: string): unknown => {
  try {
    return xmlParser.parse(body)
  } catch {
    return undefined
  }
}

/** Never let an echoed secret reach a message, whatever the other side put in it. */
export const scrub = (text: string, secrets: ReadonlyArray<Redacted.Redacted<string> | string | undefined>): string =>
  secrets.reduce<string>((out, secret) => {
    const value = secret === undefined ? "" : typeof secret === "string" ? secret : Redacted.value(secret)
    return value.length < 4 ? out : out.split(value).join("<redacted>")
  }, text)

export const readSecretFile = (path: string, what: string): Effect.Effect<Redacted.Redacted<string>, Fail> =>
  Effect.tryPromise({
    try: () => Fs.readFile(path, "utf8"),
    catch: (cause) => rejected(`cannot read ${what} "${path}" (${errorCode(cause) ?? "read failed"})`, cause)
  }).pipe(
    Effect.flatMap((text) => {
      const value = text.trim()
      return value === ""
        ? Effect.fail(rejected(`${what} "${path}" is empty`))
        : Effect.succeed(Redacted.make(value))
    })
  )
