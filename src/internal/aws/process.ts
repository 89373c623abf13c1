// `credential_process`: a program the profile names, run without a shell, whose standard output is a JSON document
// (Version 1) holding the credentials. The command line is split into words the way the AWS CLI splits it (POSIX
// shell quoting, not a shell): no variable, glob, pipe or redirection is interpreted, so nothing in the
// configuration or the environment can inject a command. A program that needs a shell says so:
// `credential_process = sh -c "..."`.
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as ChildProcess from "node:child_process"
import type { AwsCredentials } from "./credentials.js"
import { Fail, field, nonEmptyString, parseDate, parseJson, rejected, scrub } from "./source.js"

/** Longest output read: a credentials document is well under a KiB. */
const MAX_OUTPUT = 256 * 1024

/** How much of the program's standard error an error message carries. */
const STDERR_SUMMARY = 300

/**
 * Splits a command line into words: whitespace separates them; single quotes keep everything literally; double quotes
 * keep everything but `\"`, `\\`, `\$` and `` \` ``; outside quotes a backslash keeps the next character. On Windows
 * backslashes are path separators and only double quotes group. Undefined when a quote is left open.
 */
export const splitCommandLine = (line: string, windows = false): Array<string> | undefined => {
  const words: Array<string> = []
  let word = ""
  let inWord = false
  let quote: "'" | "\"" | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (quote === "'") {
      if (c === "'") quote = undefined
      else word += c
    } else if (quote === "\"") {
      if (c === "\"") quote = undefined
      else if (c === "\\" && !windows && i + 1 < line.length && "\"\\$`".includes(line[i + 1])) word += line[++i]
      else word += c
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ""
      inWord = false
    } else {
      inWord = true
      if (c === "\"" || (c === "'" && !windows)) quote = c
      else if (c === "\\" && !windows && i + 1 < line.length) word += line[++i]
      else word += c
    }
  }
  if (quote !== undefined) return undefined
  if (inWord) words.push(word)
  return words
}

interface Output {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly spawnError?: string | undefined
}

const run = (argv: ReadonlyArray<string>, signal: AbortSignal): Promise<Output> =>
  new Promise((resolve) => {
    ChildProcess.execFile(
      argv[0],
      argv.slice(1),
      { maxBuffer: MAX_OUTPUT, signal, windowsHide: true, encoding: "utf8" },
      (error, stdout, stderr) => {
        const e: (Error & { code?: unknown; signal?: unknown }) | null = error
        resolve({
          code: e === null ? 0 : typeof e.code === "number" ? e.code : null,
          signal: e !== null && typeof e.signal === "string" ? e.signal as NodeJS.Signals : null,
          stdout,
          stderr,
          // ENOENT, EACCES, ERR_CHILD_PROCESS_STDIO_MAXBUFFER: the program did not run to its end for a reason of ours.
          spawnError: e !== null && typeof e.code === "string" ? e.code : undefined
        })
      }
    )
  })

/** The last lines of standard error, short, with anything the program also printed as a value removed. */
const summarize = (stderr: string, stdout: string): string => {
  const values: Array<string> = []
  const doc = parseJson(stdout.trim())
  if (typeof doc === "object" && doc !== null) {
    for (const value of Object.values(doc)) if (typeof value === "string") values.push(value)
  }
  const text = scrub(stderr, values).trim().replace(/\s*\n\s*/g, " | ")
  return text.length <= STDERR_SUMMARY ? text : `...${text.slice(text.length - STDERR_SUMMARY)}`
}

const parseOutput = (stdout: string, what: string, now: number): Effect.Effect<AwsCredentials, Fail> => {
  const doc = parseJson(stdout.trim())
  if (typeof doc !== "object" || doc === null) return Effect.fail(rejected(`${what} printed no JSON document`))
  if (field(doc, "Version") !== 1) return Effect.fail(rejected(`${what} printed a document without "Version": 1`))
  const accessKeyId = nonEmptyString(field(doc, "AccessKeyId"))
  const secretAccessKey = nonEmptyString(field(doc, "SecretAccessKey"))
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    return Effect.fail(rejected(`${what} printed no AccessKeyId and SecretAccessKey`))
  }
  const token = nonEmptyString(field(doc, "SessionToken"))
  const expirationField = field(doc, "Expiration")
  const expiration = parseDate(expirationField)
  if (expirationField !== undefined && expirationField !== null && expiration === undefined) {
    return Effect.fail(rejected(`${what} printed an Expiration that is not an ISO 8601 date`))
  }
  if (expiration !== undefined && expiration.getTime() <= now) {
    return Effect.fail(rejected(`${what} printed credentials that expired at ${expiration.toISOString()}`))
  }
  return Effect.succeed({
    accessKeyId: Redacted.make(accessKeyId),
    secretAccessKey: Redacted.make(secretAccessKey),
    sessionToken: token === undefined ? undefined : Redacted.make(token),
    expiration
  })
}

/**
 * Runs `commandLine` and reads credentials from its output. Messages name the program, never its arguments (they may
 * hold a secret) nor its standard output.
 */
export const fromProcess = (
  commandLine: string,
  profile: string,
  timeout: Duration.Duration
): Effect.Effect<AwsCredentials, Fail> =>
  Effect.suspend(() => {
    const argv = splitCommandLine(commandLine, process.platform === "win32")
    if (argv === undefined) {
      return Effect.fail(rejected(`credential_process of profile "${profile}" has an unterminated quote`))
    }
    if (argv.length === 0) return Effect.fail(rejected(`credential_process of profile "${profile}" is empty`))
    const what = `credential_process of profile "${profile}" (${argv[0]})`
    return Effect.tryPromise({ try: (signal) => run(argv, signal), catch: () => rejected(`${what} could not run`) })
      .pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new Fail({ kind: "StoreError", reason: `${what} did not finish within ${Duration.format(timeout)}` })
        }),
        Effect.flatMap((out) => {
          if (out.spawnError !== undefined) {
            return Effect.fail(rejected(`${what} could not run (${out.spawnError})`))
          }
          if (out.code !== 0) {
            const how = out.signal === null ? `exited with code ${out.code}` : `was killed by ${out.signal}`
            const stderr = summarize(out.stderr, out.stdout)
            return Effect.fail(rejected(`${what} ${how}${stderr === "" ? "" : `: ${stderr}`}`))
          }
          return Effect.flatMap(Clock.currentTimeMillis, (now) => parseOutput(out.stdout, what, now))
        })
      )
  })
