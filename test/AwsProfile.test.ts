import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Duration, Effect, Exit, Inspectable, Redacted, TestClock } from "effect"
import * as S3Store from "effect-obstore/S3Store"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Util from "node:util"
import type { AwsCredentials } from "../src/internal/aws/credentials.js"
import * as Credentials from "../src/internal/aws/credentials.js"
import * as Ini from "../src/internal/aws/ini.js"
import { splitCommandLine } from "../src/internal/aws/process.js"
import * as Profile from "../src/internal/aws/profile.js"
import { startEndpoint } from "./support/endpoint.js"
import { s3 } from "./support/servers.js"

// The shared config and credentials files, written to a temporary HOME; STS is a real HTTP server on loopback. Every
// test passes `env` explicitly (HOME among it), so the machine's own ~/.aws and AWS variables never take part.

// Distinct values so a leak of any of them is easy to find.
const SECRETS = {
  fileSecret: "Gk4filesecret/7Tn+Qa2",
  fileToken: "Zr5filetoken-8Wd1Mc",
  configSecret: "Pe3cfgsecret/6Yh+Lu9",
  stsSecret: "Jc5stssecret/2Hn+Wy1",
  stsToken: "Vb7ststoken-6Qe3Ls",
  processSecret: "Um8procsecret/4Fv+Ki3",
  processToken: "Dx2proctoken-9Ns5Ob",
  webIdentityToken: "eyJhbGciOiJSUzI1NiJ9.Hq6webidpayload-Cv3.sig7Ta",
  envSecret: "Xq3envsecret/9Lm+Zt7"
} as const

const EXPIRATION = "2030-01-01T00:00:00Z"

const stsCredentials = (action: string, accessKeyId: string) =>
  `<${action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <${action}Result>
    <Credentials>
      <AccessKeyId>${accessKeyId}</AccessKeyId>
      <SecretAccessKey>${SECRETS.stsSecret}</SecretAccessKey>
      <SessionToken>${SECRETS.stsToken}</SessionToken>
      <Expiration>${EXPIRATION}</Expiration>
    </Credentials>
  </${action}Result>
</${action}Response>`

/** Answers AssumeRole with an access key id derived from the role's name, so each hop of a chain is visible. */
const fakeSts = (respond?: (form: URLSearchParams) => { status: number; body: string } | undefined) =>
  Effect.map(
    startEndpoint((req, res) => {
      const form = new URLSearchParams(req.body)
      const action = form.get("Action") ?? ""
      const role = (form.get("RoleArn") ?? "").split("/").pop() ?? ""
      const answer = respond?.(form) ?? { status: 200, body: stsCredentials(action, `ASIA-${role}`) }
      res.writeHead(answer.status, { "content-type": "text/xml" }).end(answer.body)
    }),
    ({ requests, url }) => ({
      url,
      requests,
      forms: () => requests.map((r) => new URLSearchParams(r.body))
    })
  )

const home = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "obstore-profile-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

/** Writes `~/.aws/config` and `~/.aws/credentials` under `dir` (either may be left out). */
const writeAws = (dir: string, files: { readonly config?: string; readonly credentials?: string }) =>
  Effect.promise(async () => {
    await Fs.mkdir(Path.join(dir, ".aws"), { recursive: true })
    if (files.config !== undefined) await Fs.writeFile(Path.join(dir, ".aws", "config"), files.config)
    if (files.credentials !== undefined) await Fs.writeFile(Path.join(dir, ".aws", "credentials"), files.credentials)
  })

/** The chain with only the files in play: no IMDS, STS on loopback. */
const chain = (env: Record<string, string>, extra?: Partial<Credentials.DefaultChainOptions>) =>
  Credentials.defaultChain({ region: "us-east-1", disableImds: true, env, ...extra })

const accessKeyOf = (creds: AwsCredentials) => Redacted.value(creds.accessKeyId)

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  if (Exit.isSuccess(exit)) throw new Error("unreachable")
  const failure = Cause.failureOption(exit.cause)
  assert.isTrue(failure._tag === "Some", `expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  if (failure._tag === "None") throw new Error("unreachable")
  return failure.value
}

const render = (u: unknown): Array<string> => {
  const out = [JSON.stringify(u) ?? "", String(u), Inspectable.format(u), Util.inspect(u, { depth: 20 })]
  if (u instanceof Error) {
    out.push(u.message, u.stack ?? "", Cause.pretty(Cause.fail(u)))
    if (u.cause !== undefined) out.push(...render(u.cause))
  }
  return out
}

const LEAK_WINDOW = 8

const assertNoSecrets = (u: unknown) => {
  for (const text of render(u)) {
    for (const [name, secret] of Object.entries(SECRETS)) {
      for (let i = 0; i + LEAK_WINDOW <= secret.length; i++) {
        const fragment = secret.slice(i, i + LEAK_WINDOW)
        assert.isFalse(text.includes(fragment), `${name} leaked ("${fragment}") in: ${text.slice(0, 500)}`)
      }
    }
  }
}

/** A `credential_process` line running a Node script (both paths quoted: the temp dir may hold spaces). */
const nodeCommand = (script: string, ...args: ReadonlyArray<string>) =>
  [process.execPath, script, ...args].map((word) => `"${word}"`).join(" ")

const writeScript = (dir: string, name: string, source: string) =>
  Effect.promise(async () => {
    const path = Path.join(dir, name)
    await Fs.writeFile(path, source)
    return path
  })

describe("shared files: the INI dialect", () => {
  it("sections, comments, whitespace and sub-properties", () => {
    const ini = Ini.parse(
      [
        "# a comment",
        "; another",
        "[default]",
        "region = eu-west-1 # trailing comment",
        "aws_secret_access_key=abc#def;ghi",
        "  [ profile   spaced ]  ",
        "region=us-east-2",
        "s3 =",
        "  max_concurrent_requests = 20",
        "  addressing_style = path",
        "output = json",
        "[profile a.b]",
        "region = ap-south-1",
        "[__proto__]",
        "polluted = yes",
        "no equals sign here",
        "[broken",
        "ignored = 1"
      ].join("\r\n")
    )
    assert.strictEqual(ini.get("default")?.get("region"), "eu-west-1")
    // `#` and `;` start a comment only at the start of a line or after whitespace: secrets may contain them.
    assert.strictEqual(ini.get("default")?.get("aws_secret_access_key"), "abc#def;ghi")
    assert.strictEqual(ini.get("profile spaced")?.get("region"), "us-east-2")
    assert.strictEqual(ini.get("profile spaced")?.get("output"), "json")
    assert.isFalse(ini.get("profile spaced")?.has("max_concurrent_requests"))
    assert.isFalse(ini.get("profile spaced")?.has("s3"))
    assert.strictEqual(ini.get("profile a.b")?.get("region"), "ap-south-1")
    assert.strictEqual(ini.get("__proto__")?.get("polluted"), "yes")
    assert.isUndefined(({} as Record<string, unknown>).polluted)
    assert.isFalse([...ini.values()].some((s) => s.has("ignored")))
  })

  it("config profiles need the `profile` prefix (except default); credentials profiles must not have it", () => {
    const config = Ini.configProfiles(
      Ini.parse("[profile default]\nregion = a\n[default]\nregion = b\n[dev]\nregion = c\n[profile dev]\nregion = d")
    )
    assert.strictEqual(config.get("default")?.get("region"), "a")
    assert.strictEqual(config.get("dev")?.get("region"), "d")
    const credentials = Ini.credentialsProfiles(Ini.parse("[dev]\nx = 1\n[profile prod]\nx = 2"))
    assert.deepStrictEqual([...credentials.keys()], ["dev"])
  })

  it("credential_process command lines are split into words, never given to a shell", () => {
    assert.deepStrictEqual(splitCommandLine("/usr/bin/tool --profile dev"), ["/usr/bin/tool", "--profile", "dev"])
    assert.deepStrictEqual(splitCommandLine(`"/opt/my tools/get" 'a b' "c\\"d" e\\ f`), [
      "/opt/my tools/get",
      "a b",
      "c\"d",
      "e f"
    ])
    assert.deepStrictEqual(splitCommandLine("tool $(rm -rf ~); `id` | cat"), [
      "tool",
      "$(rm",
      "-rf",
      "~);",
      "`id`",
      "|",
      "cat"
    ])
    assert.deepStrictEqual(splitCommandLine(`"C:\\Program Files\\tool.exe" --x`, true), [
      "C:\\Program Files\\tool.exe",
      "--x"
    ])
    assert.isUndefined(splitCommandLine("tool \"unterminated"))
  })
})

describe("shared files: credentials", () => {
  it.scoped("static keys with a session token from the credentials file, for AWS_PROFILE or default", () =>
    Effect.gen(function*() {
      const dir = yield* home
      yield* writeAws(dir, {
        credentials: [
          "[default]",
          "aws_access_key_id = AKIADEFAULT",
          `aws_secret_access_key = ${SECRETS.fileSecret}`,
          "",
          "[dev]  ; the dev account",
          "aws_access_key_id=AKIADEV",
          `aws_secret_access_key=${SECRETS.fileSecret}`,
          `aws_session_token=${SECRETS.fileToken}`
        ].join("\n"),
        config: `[profile cfg]\naws_access_key_id = AKIACFG\naws_secret_access_key = ${SECRETS.configSecret}\n`
      })
      const byDefault = yield* chain({ HOME: dir })
      assert.strictEqual(accessKeyOf(byDefault), "AKIADEFAULT")
      assert.isUndefined(byDefault.sessionToken)
      const dev = yield* chain({ HOME: dir, AWS_PROFILE: "dev" })
      assert.strictEqual(accessKeyOf(dev), "AKIADEV")
      assert.strictEqual(Redacted.value(dev.secretAccessKey), SECRETS.fileSecret)
      assert.strictEqual(dev.sessionToken && Redacted.value(dev.sessionToken), SECRETS.fileToken)
      // Keys in the config file count too; the profile option beats AWS_PROFILE.
      const cfg = yield* chain({ HOME: dir, AWS_PROFILE: "dev" }, { profile: "cfg" })
      assert.strictEqual(accessKeyOf(cfg), "AKIACFG")
      for (const creds of [byDefault, dev, cfg]) assertNoSecrets(creds)
    }))

  it.scoped("AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE move the files; the credentials file wins per key", () =>
    Effect.gen(function*() {
      const dir = yield* home
      const config = Path.join(dir, "elsewhere.ini")
      const credentials = Path.join(dir, "creds.ini")
      yield* Effect.promise(() =>
        Fs.writeFile(
          config,
          `[profile p]\naws_access_key_id = AKIACFG\naws_secret_access_key = ${SECRETS.configSecret}\n`
        )
      )
      yield* Effect.promise(() => Fs.writeFile(credentials, "[p]\naws_access_key_id = AKIACREDS\n"))
      // The files under HOME exist too, and must be ignored.
      yield* writeAws(dir, { credentials: `[p]\naws_access_key_id = AKIAHOME\naws_secret_access_key = x1234567\n` })
      const creds = yield* chain({
        HOME: dir,
        AWS_PROFILE: "p",
        AWS_CONFIG_FILE: config,
        AWS_SHARED_CREDENTIALS_FILE: credentials
      })
      assert.strictEqual(accessKeyOf(creds), "AKIACREDS")
      assert.strictEqual(Redacted.value(creds.secretAccessKey), SECRETS.configSecret)
    }))

  it.scoped("role_arn + source_profile: AssumeRole signed with the source profile's keys", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* home
      yield* writeAws(dir, {
        config: [
          "[profile app]",
          "role_arn = arn:aws:iam::123456789012:role/app",
          "source_profile = base",
          "role_session_name = my-session",
          "external_id = ext-42",
          "duration_seconds = 1800",
          "region = eu-west-2"
        ].join("\n"),
        credentials: `[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = ${SECRETS.fileSecret}\n`
      })
      const creds = yield* chain({ HOME: dir, AWS_PROFILE: "app" }, { stsEndpoint: sts.url })
      assert.strictEqual(accessKeyOf(creds), "ASIA-app")
      assert.strictEqual(Redacted.value(creds.secretAccessKey), SECRETS.stsSecret)
      assert.strictEqual(creds.expiration?.toISOString(), "2030-01-01T00:00:00.000Z")
      assert.strictEqual(sts.requests.length, 1)
      const [request] = sts.requests
      const form = new URLSearchParams(request.body)
      assert.strictEqual(form.get("Action"), "AssumeRole")
      assert.strictEqual(form.get("RoleArn"), "arn:aws:iam::123456789012:role/app")
      assert.strictEqual(form.get("RoleSessionName"), "my-session")
      assert.strictEqual(form.get("ExternalId"), "ext-42")
      assert.strictEqual(form.get("DurationSeconds"), "1800")
      // Signed for STS in the profile's region, with the source's key id; the secret itself never travels.
      assert.match(
        String(request.headers.authorization),
        /^AWS4-HMAC-SHA256 Credential=AKIABASE\/\d{8}\/eu-west-2\/sts\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/
      )
      assert.notInclude(JSON.stringify(request), SECRETS.fileSecret)
      assertNoSecrets(creds)
    }))

  it.scoped("chained source profiles: each role is assumed with the credentials of the one before", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* home
      yield* writeAws(dir, {
        config: [
          "[profile top]",
          "role_arn = arn:aws:iam::1:role/top",
          "source_profile = middle",
          "[profile middle]",
          "role_arn = arn:aws:iam::1:role/middle",
          "source_profile = base"
        ].join("\n"),
        credentials: `[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = ${SECRETS.fileSecret}\n`
      })
      const creds = yield* chain({ HOME: dir }, { profile: "top", stsEndpoint: sts.url })
      assert.strictEqual(accessKeyOf(creds), "ASIA-top")
      assert.deepStrictEqual(sts.forms().map((f) => f.get("RoleArn")), [
        "arn:aws:iam::1:role/middle",
        "arn:aws:iam::1:role/top"
      ])
      const signers = sts.requests.map((r) => /Credential=([^/]+)\//.exec(String(r.headers.authorization))?.[1])
      assert.deepStrictEqual(signers, ["AKIABASE", "ASIA-middle"])
      // The second hop carries the first hop's session token.
      assert.strictEqual(sts.requests[1].headers["x-amz-security-token"], SECRETS.stsToken)
      assert.match(sts.forms()[0].get("RoleSessionName") ?? "", /^effect-obstore-\d+$/)
    }))

  it.scoped("a profile may name itself as source when it holds keys", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* home
      yield* writeAws(dir, {
        credentials: [
          "[self]",
          "aws_access_key_id = AKIASELF",
          `aws_secret_access_key = ${SECRETS.fileSecret}`,
          "role_arn = arn:aws:iam::1:role/selfrole",
          "source_profile = self"
        ].join("\n")
      })
      const creds = yield* chain({ HOME: dir, AWS_PROFILE: "self" }, { stsEndpoint: sts.url })
      assert.strictEqual(accessKeyOf(creds), "ASIA-selfrole")
      assert.include(String(sts.requests[0].headers.authorization), "Credential=AKIASELF/")
    }))

  it.scoped("a source_profile cycle is Unauthenticated naming the cycle, before any request", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* home
      yield* writeAws(dir, {
        config: [
          "[profile a]",
          "role_arn = arn:aws:iam::1:role/a",
          "source_profile = b",
          "[profile b]",
          "role_arn = arn:aws:iam::1:role/b",
          "source_profile = c",
          "[profile c]",
          "role_arn = arn:aws:iam::1:role/c",
          "source_profile = a"
        ].join("\n")
      })
      const error = failureOf(yield* Effect.exit(chain({ HOME: dir, AWS_PROFILE: "a" }, { stsEndpoint: sts.url })))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "cycle: a -> b -> c -> a")
      assert.strictEqual(sts.requests.length, 0)
      // A source profile that is missing is just as clear.
      yield* writeAws(dir, { config: "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = ghost\n" })
      const missing = failureOf(yield* Effect.exit(chain({ HOME: dir, AWS_PROFILE: "a" }, { stsEndpoint: sts.url })))
      assert.strictEqual(missing._tag, "Unauthenticated")
      assert.include(missing.message, "profile \"a\" names source_profile \"ghost\", which is not in")
    }))

  it.scoped("an STS refusal of AssumeRole is Unauthenticated with the STS code, and the chain stops", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts(() => ({
        status: 403,
        body: `<ErrorResponse><Error><Code>AccessDenied</Code><Message>no trust for AKIABASE ${SECRETS.fileSecret}` +
          `</Message></Error></ErrorResponse>`
      }))
      const dir = yield* home
      yield* writeAws(dir, {
        config: "[profile app]\nrole_arn = arn:aws:iam::1:role/app\nsource_profile = base\n",
        credentials: `[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = ${SECRETS.fileSecret}\n`
      })
      const error = failureOf(
        yield* Effect.exit(
          chain({ HOME: dir, AWS_PROFILE: "app", AWS_WEB_IDENTITY_TOKEN_FILE: "/nonexistent", AWS_ROLE_ARN: "x" }, {
            stsEndpoint: sts.url
          })
        )
      )
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "shared config files: STS AssumeRole failed (HTTP 403 AccessDenied")
      assertNoSecrets(error)
    }))

  it.scoped("web_identity_token_file + role_arn in a profile: AssumeRoleWithWebIdentity", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* home
      yield* Effect.promise(() => Fs.writeFile(Path.join(dir, "token"), `${SECRETS.webIdentityToken}\n`))
      yield* writeAws(dir, {
        config: [
          "[profile eks]",
          "role_arn = arn:aws:iam::1:role/pod",
          "web_identity_token_file = ~/token",
          "role_session_name = pod-session"
        ].join("\n")
      })
      const creds = yield* chain({ HOME: dir, AWS_PROFILE: "eks" }, { stsEndpoint: sts.url })
      assert.strictEqual(accessKeyOf(creds), "ASIA-pod")
      const form = sts.forms()[0]
      assert.strictEqual(form.get("Action"), "AssumeRoleWithWebIdentity")
      assert.strictEqual(form.get("WebIdentityToken"), SECRETS.webIdentityToken)
      assert.strictEqual(form.get("RoleSessionName"), "pod-session")
      assert.isUndefined(sts.requests[0].headers.authorization)
      assertNoSecrets(creds)
    }))

  it.scoped("credential_source = Environment assumes the role with the environment's keys", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* home
      yield* writeAws(dir, {
        config: "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\ncredential_source = Environment\n"
      })
      const env = { HOME: dir, AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: SECRETS.envSecret }
      // AWS_PROFILE does not hide the environment's keys: they answer first, and no role is assumed.
      const direct = yield* chain({ ...env, AWS_PROFILE: "ci" }, { stsEndpoint: sts.url })
      assert.strictEqual(accessKeyOf(direct), "AKIAENV")
      assert.strictEqual(sts.requests.length, 0)
      // A profile passed explicitly does (botocore's rule): the role is assumed with the environment's keys.
      const creds = yield* chain(env, { profile: "ci", stsEndpoint: sts.url })
      assert.strictEqual(accessKeyOf(creds), "ASIA-ci")
      assert.include(String(sts.requests[0].headers.authorization), "Credential=AKIAENV/")
      const unknown = failureOf(
        yield* Effect.exit(
          Effect.zipRight(
            writeAws(dir, { config: "[profile ci]\nrole_arn = arn:aws:iam::1:role/ci\ncredential_source = Moon\n" }),
            chain({ HOME: dir, AWS_PROFILE: "ci" }, { stsEndpoint: sts.url })
          )
        )
      )
      assert.include(unknown.message, "credential_source \"Moon\" is not one of Environment")
    }))

  it.scoped("credential_process: runs the program without a shell and reads its Version 1 document", () =>
    Effect.gen(function*() {
      const dir = yield* home
      const script = yield* writeScript(
        dir,
        "creds helper.js",
        `process.stdout.write(JSON.stringify({
          Version: 1,
          AccessKeyId: "AKIAPROC:" + process.argv.slice(2).join("|"),
          SecretAccessKey: ${JSON.stringify(SECRETS.processSecret)},
          SessionToken: ${JSON.stringify(SECRETS.processToken)},
          Expiration: "2030-01-01T00:00:00Z"
        }))`
      )
      yield* writeAws(dir, {
        config: `[profile proc]\ncredential_process = ${nodeCommand(script)} --x 'a b' $HOME;echo\n`
      })
      const creds = yield* chain({ HOME: dir, AWS_PROFILE: "proc" })
      // Arguments arrive literally: no variable expansion, no command separator.
      assert.strictEqual(accessKeyOf(creds), "AKIAPROC:--x|a b|$HOME;echo")
      assert.strictEqual(Redacted.value(creds.secretAccessKey), SECRETS.processSecret)
      assert.strictEqual(creds.sessionToken && Redacted.value(creds.sessionToken), SECRETS.processToken)
      assert.strictEqual(creds.expiration?.toISOString(), "2030-01-01T00:00:00.000Z")
      assertNoSecrets(creds)
    }))

  it.scoped("credential_process: credentials are fetched again shortly before their Expiration", () =>
    Effect.gen(function*() {
      const dir = yield* home
      const counter = Path.join(dir, "count")
      // Each run counts itself and hands out credentials valid for one hour of the test clock's time.
      const script = yield* writeScript(
        dir,
        "rotate.js",
        `const fs = require("node:fs")
        const n = fs.existsSync(${JSON.stringify(counter)}) ? Number(fs.readFileSync(${
          JSON.stringify(counter)
        }, "utf8")) + 1 : 1
        fs.writeFileSync(${JSON.stringify(counter)}, String(n))
        process.stdout.write(JSON.stringify({
          Version: 1,
          AccessKeyId: "AKIAROT" + n,
          SecretAccessKey: ${JSON.stringify(SECRETS.processSecret)},
          Expiration: new Date(n * 3600 * 1000).toISOString()
        }))`
      )
      yield* writeAws(dir, { config: `[default]\ncredential_process = ${nodeCommand(script)}\n` })
      const provider = yield* Credentials.cached(chain({ HOME: dir }))
      assert.strictEqual(accessKeyOf(yield* provider), "AKIAROT1")
      yield* TestClock.adjust("54 minutes")
      assert.strictEqual(accessKeyOf(yield* provider), "AKIAROT1")
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual(accessKeyOf(yield* provider), "AKIAROT2")
      assert.strictEqual(accessKeyOf(yield* provider), "AKIAROT2")
      // A run that hands out credentials already expired is refused rather than signed with.
      yield* TestClock.adjust(Duration.hours(10))
      const error = failureOf(yield* Effect.exit(provider))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "expired at 1970-01-01T03:00:00.000Z")
    }))

  it.scoped("credential_process: a failing program is Unauthenticated with its stderr, never its secrets", () =>
    Effect.gen(function*() {
      const dir = yield* home
      const script = yield* writeScript(
        dir,
        "fails.js",
        `process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: "AKIAHALF", SecretAccessKey: ${
          JSON.stringify(SECRETS.processSecret)
        } }))
        process.stderr.write("vault: session expired\\nrefusing to hand out ${SECRETS.processSecret}\\n")
        process.exit(3)`
      )
      yield* writeAws(dir, {
        config: `[default]\ncredential_process = ${nodeCommand(script)} --token ${SECRETS.processToken}\n`
      })
      const error = failureOf(yield* Effect.exit(chain({ HOME: dir })))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "credential_process of profile \"default\"")
      assert.include(error.message, "exited with code 3")
      assert.include(error.message, "vault: session expired")
      // The program is named, its arguments are not (they may hold a secret, as here).
      assert.include(error.message, process.execPath)
      assertNoSecrets(error)

      const bad = (config: string) =>
        Effect.flatMap(writeAws(dir, { config }), () => Effect.exit(chain({ HOME: dir }))).pipe(Effect.map(failureOf))
      const notJson = yield* writeScript(dir, "notjson.js", `process.stdout.write("{\\"Version\\": 1, oops")`)
      const noVersion = yield* writeScript(
        dir,
        "v2.js",
        `process.stdout.write(JSON.stringify({ Version: 2, AccessKeyId: "A", SecretAccessKey: "B" }))`
      )
      const problems = yield* Effect.all([
        bad(`[default]\ncredential_process = ${nodeCommand(notJson)}\n`),
        bad(`[default]\ncredential_process = ${nodeCommand(noVersion)}\n`),
        bad(`[default]\ncredential_process = ${Path.join(dir, "no-such-program")}\n`),
        bad(`[default]\ncredential_process = "unterminated\n`)
      ])
      assert.deepStrictEqual(problems.map((e) => e._tag), Array(4).fill("Unauthenticated"))
      assert.include(problems[0].message, "printed no JSON document")
      assert.include(problems[1].message, "\"Version\": 1")
      assert.include(problems[2].message, "ENOENT")
      assert.include(problems[3].message, "unterminated quote")
    }))

  it.live("credential_process: a program that hangs is stopped after the timeout", () =>
    Effect.gen(function*() {
      const dir = yield* home
      const script = yield* writeScript(dir, "hang.js", "setTimeout(() => {}, 60_000)")
      yield* writeAws(dir, { config: `[default]\ncredential_process = ${nodeCommand(script)}\n` })
      const started = Date.now()
      const error = failureOf(yield* Effect.exit(chain({ HOME: dir }, { processTimeout: "300 millis" })))
      assert.isBelow(Date.now() - started, 5000)
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "did not finish within")
    }).pipe(Effect.scoped))

  it.scoped("a profile named by AWS_PROFILE that does not exist is a clear error; a missing default is skipped", () =>
    Effect.gen(function*() {
      const dir = yield* home
      yield* writeAws(dir, { config: "[profile other]\nregion = eu-west-1\n" })
      const error = failureOf(yield* Effect.exit(chain({ HOME: dir, AWS_PROFILE: "typo" })))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "profile \"typo\" (named by AWS_PROFILE) is not in")
      assert.include(error.message, Path.join(dir, ".aws", "config"))
      assert.include(error.message, Path.join(dir, ".aws", "credentials"))
      const none = failureOf(yield* Effect.exit(chain({ HOME: dir })))
      assert.include(none.message, "no AWS credentials found")
      assert.include(none.message, "shared config files: no [default] profile")
      // A profile that holds only settings (a region) is skipped too, as in the SDKs.
      const settings = failureOf(yield* Effect.exit(chain({ HOME: dir, AWS_PROFILE: "other" })))
      assert.include(settings.message, "profile \"other\" holds no credentials")
    }))

  it.scoped("SSO profiles are refused with a way out", () =>
    Effect.gen(function*() {
      const dir = yield* home
      yield* writeAws(dir, { config: "[profile sso]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = r\n" })
      const error = failureOf(yield* Effect.exit(chain({ HOME: dir, AWS_PROFILE: "sso" })))
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "IAM Identity Center")
      assert.include(error.message, "aws configure export-credentials --profile sso --format process")
    }))

  it.scoped("precedence: environment keys, then the files, then web identity from the environment", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* home
      yield* Effect.promise(() => Fs.writeFile(Path.join(dir, "token"), SECRETS.webIdentityToken))
      yield* writeAws(dir, {
        credentials: `[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = ${SECRETS.fileSecret}\n`
      })
      const webIdentity = {
        AWS_WEB_IDENTITY_TOKEN_FILE: Path.join(dir, "token"),
        AWS_ROLE_ARN: "arn:aws:iam::1:role/envrole"
      }
      const withEnv = yield* chain(
        { HOME: dir, AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: SECRETS.envSecret, ...webIdentity },
        { stsEndpoint: sts.url }
      )
      assert.strictEqual(accessKeyOf(withEnv), "AKIAENV")
      // Unlike the JS SDK v3, AWS_PROFILE does not hide keys in the environment (botocore, Go and Rust agree).
      const withProfile = yield* chain(
        { HOME: dir, AWS_PROFILE: "default", AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: SECRETS.envSecret },
        { stsEndpoint: sts.url }
      )
      assert.strictEqual(accessKeyOf(withProfile), "AKIAENV")
      const withFiles = yield* chain({ HOME: dir, ...webIdentity }, { stsEndpoint: sts.url })
      assert.strictEqual(accessKeyOf(withFiles), "AKIAFILE")
      assert.strictEqual(sts.requests.length, 0)
      const withoutFiles = yield* chain({ HOME: Path.join(dir, "empty"), ...webIdentity }, { stsEndpoint: sts.url })
      assert.strictEqual(accessKeyOf(withoutFiles), "ASIA-envrole")
    }))
})

describe("shared files: region", () => {
  it.scoped("profileRegion reads the profile's region from the config file", () =>
    Effect.gen(function*() {
      const dir = yield* home
      yield* writeAws(dir, {
        config: "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-southeast-2\n",
        credentials: "[dev]\nregion = us-west-1\n[creds-only]\nregion = ca-central-1\n"
      })
      assert.strictEqual(yield* Profile.profileRegion({ env: { HOME: dir } }), "eu-west-1")
      assert.strictEqual(yield* Profile.profileRegion({ env: { HOME: dir, AWS_PROFILE: "dev" } }), "ap-southeast-2")
      assert.strictEqual(yield* Profile.profileRegion({ env: { HOME: dir }, profile: "creds-only" }), "ca-central-1")
      assert.isUndefined(yield* Profile.profileRegion({ env: { HOME: dir, AWS_PROFILE: "missing" } }))
    }))

  it.scoped("S3Store.fromEnv takes the profile's region when AWS_REGION is not set", () =>
    Effect.gen(function*() {
      const dir = yield* home
      yield* writeAws(dir, { config: "[profile dev]\nregion = eu-central-1\n[default]\nregion = eu-west-3\n" })
      const read = (vars: Record<string, string>, overrides?: Partial<S3Store.S3Options>) =>
        S3Store.fromEnv(overrides).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ AWS_BUCKET: "b1b", ...vars }))))
        )
      const config = Path.join(dir, ".aws", "config")
      assert.strictEqual((yield* read({ HOME: dir })).region, "eu-west-3")
      assert.strictEqual((yield* read({ AWS_CONFIG_FILE: config, AWS_PROFILE: "dev" })).region, "eu-central-1")
      assert.strictEqual((yield* read({ HOME: dir, AWS_PROFILE: "dev", AWS_REGION: "us-west-2" })).region, "us-west-2")
      assert.strictEqual((yield* read({ HOME: dir, AWS_PROFILE: "dev" }, { region: "sa-east-1" })).region, "sa-east-1")
      assert.isUndefined((yield* read({ HOME: Path.join(dir, "nowhere") })).region)
      // A ConfigProvider that names no home and no file reads no file (not even the process's own ~/.aws).
      assert.isUndefined((yield* read({ AWS_PROFILE: "dev" })).region)
    }))
})

describe("shared files: end to end against the S3 server", () => {
  it.scopedLive("a store signs with a profile's credential_process and with an assumed role", () =>
    Effect.gen(function*() {
      const dir = yield* home
      const script = yield* writeScript(
        dir,
        "rgw.js",
        `process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: ${JSON.stringify(s3.accessKeyId)}, ` +
          `SecretAccessKey: ${JSON.stringify(s3.secretAccessKey)} }))`
      )
      // STS hands out the server's real keys for the role, so only a correctly assumed role can sign.
      const sts = yield* startEndpoint((_req, res) =>
        res.writeHead(200, { "content-type": "text/xml" }).end(
          stsCredentials("AssumeRole", s3.accessKeyId).replace(SECRETS.stsSecret, s3.secretAccessKey)
        )
      )
      yield* writeAws(dir, {
        config: [
          `[profile proc]\ncredential_process = ${nodeCommand(script)}`,
          "[profile role]\nrole_arn = arn:aws:iam::1:role/rgw\nsource_profile = base"
        ].join("\n"),
        credentials: `[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = ${SECRETS.fileSecret}\n`
      })
      const options = {
        bucket: s3.bucket,
        region: s3.region,
        endpoint: s3.endpoint,
        client: { allowHttp: true },
        conditionalPut: "etag-unquoted" as const
      }
      for (const profile of ["proc", "role"]) {
        const store = yield* S3Store.make({
          ...options,
          credentials: Credentials.defaultChain({
            region: s3.region,
            disableImds: true,
            stsEndpoint: sts.url,
            env: { HOME: dir, AWS_PROFILE: profile }
          })
        })
        const key = `aws-profile/${profile}-${Date.now()}.txt`
        yield* store.put(key, `signed by ${profile}`)
        const got = yield* Effect.flatMap(store.get(key), (r) => r.text)
        assert.strictEqual(got, `signed by ${profile}`)
        yield* store.delete(key)
      }
      assert.strictEqual(sts.requests.length, 1)
      assert.include(String(sts.requests[0].headers.authorization), "Credential=AKIABASE/")
    }))
})
