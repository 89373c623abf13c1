/**
 * Secrets never leak. Stores are built with distinctive access keys, secret keys and session tokens (static, from the
 * environment link of the credential chain, and from web identity through a loopback STS), then every log line, every
 * span (attributes, events, end status) and every printed form (`String`, `JSON.stringify`, `Inspectable.format`,
 * `util.inspect`, `Cause.pretty`) of the config, the services and each error is searched for each secret and for any
 * 8 characters in a row of it. Presigned URLs carry the access key id and the session token by design: they are kept
 * apart, and only checked for the secret key.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import type { Context, Option } from "effect"
import {
  Cause,
  Effect,
  Either,
  Exit,
  HashMap,
  Inspectable,
  Layer,
  List,
  Logger,
  LogLevel,
  Redacted,
  Stream,
  Tracer
} from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import * as Signer from "effect-obstore/Signer"
import * as Fs from "node:fs/promises"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Util from "node:util"
import * as Credentials from "../src/internal/aws/credentials.js"
import { s3 } from "./support/servers.js"

// ---------------------------------------------------------------------------------------------------------------------
// the secrets
// ---------------------------------------------------------------------------------------------------------------------

const SECRETS = {
  rgwAccessKeyId: s3.accessKeyId,
  rgwSecretAccessKey: s3.secretAccessKey,
  // Random-looking, no words and no shared runs: a window of one can only come from that secret.
  unknownAccessKeyId: "AKIAQ7XW2ZK9RM4VT8JD",
  wrongSecretAccessKey: "Wq7xR2mZ/9vLp+Kd4NtYc8HsJ0fGbE3uAo6i",
  sessionToken: "Fz3Qk8Vw/Jm1+Rx6Tb9Nd2Ys5Hc0Lg7Ue4Pa",
  envSessionToken: "Xn4Dj7Gq/Ko2+Vh9Mw6Bz1Rt3Cy8Fs5Le0Ju",
  stsAccessKeyId: "ASIAZ3KQ8WX1VN6RT4MB",
  stsSecretAccessKey: "Hb6Tm1Yx/Qr8+Pk3Wd9Jn5Lc2Vf7Gs0Za4Ne",
  stsSessionToken: "Mc9Rw2Kz/Tx5+Jb8Hq1Vn6Dg3Ls7Yf0Pe4Ua",
  webIdentityToken: "eyJhbGciOiJSUzI1NiJ9.Qv7Zm3Kx9Wd2Rj5.Bt8Nc1Hy6Lf4"
} as const

const LEAK_WINDOW = 8

/** Every 8-character window of a secret, but not runs like "00000000" that any id or date can contain. */
const windows = (secret: string): ReadonlyArray<string> => {
  const out = new Set<string>()
  for (let i = 0; i + LEAK_WINDOW <= secret.length; i++) {
    const w = secret.slice(i, i + LEAK_WINDOW)
    if (new Set(w).size > 2) out.add(w)
  }
  return Array.from(out)
}

interface Captured {
  readonly where: string
  readonly text: string
}

/** Each leak found: which secret, which fragment, where, and the text around it. */
const findLeaks = (captured: ReadonlyArray<Captured>): ReadonlyArray<string> => {
  const leaks: Array<string> = []
  for (const { text, where } of captured) {
    for (const [name, secret] of Object.entries(SECRETS)) {
      const fragment = windows(secret).find((w) => text.includes(w))
      if (fragment !== undefined) {
        const at = text.indexOf(fragment)
        leaks.push(`${name} ("${fragment}") in ${where}: …${text.slice(Math.max(0, at - 150), at + 100)}…`)
      }
    }
  }
  return leaks
}

// ---------------------------------------------------------------------------------------------------------------------
// capture: printed forms, logs, spans
// ---------------------------------------------------------------------------------------------------------------------

const safe = (what: string, f: () => string): string => {
  try {
    return f()
  } catch (error) {
    return `<${what} threw: ${String(error)}>`
  }
}

/** Every way a user prints a value: `String`, `JSON.stringify`, `Inspectable.format`, `util.inspect`, and for errors
 * `Cause.pretty` and, since that is what a user prints next, the same again for their `cause`. */
const render = (where: string, u: unknown, seen: Set<unknown> = new Set()): Array<Captured> => {
  if (seen.has(u)) return []
  seen.add(u)
  const out: Array<Captured> = [
    { where: `String(${where})`, text: safe("String", () => String(u)) },
    { where: `JSON.stringify(${where})`, text: safe("JSON.stringify", () => JSON.stringify(u) ?? "undefined") },
    { where: `Inspectable.format(${where})`, text: safe("Inspectable.format", () => Inspectable.format(u)) },
    { where: `util.inspect(${where})`, text: safe("util.inspect", () => Util.inspect(u, { depth: 10 })) }
  ]
  if (u instanceof Error) {
    out.push(
      { where: `${where}.message`, text: u.message },
      { where: `${where}.stack`, text: u.stack ?? "" },
      { where: `Cause.pretty(${where})`, text: Cause.pretty(Cause.fail(u), { renderErrorCause: true }) }
    )
  }
  if (typeof u === "object" && u !== null && "cause" in u && u.cause !== undefined) {
    out.push(...render(`${where}.cause`, u.cause, seen))
  }
  return out
}

const captureLogger = (out: Array<Captured>) =>
  Logger.make(({ annotations, cause, logLevel, message, spans }) => {
    const where = `log ${logLevel.label}`
    out.push(...render(where, message))
    for (const [key, value] of HashMap.toEntries(annotations)) out.push(...render(`${where} annotation ${key}`, value))
    if (!Cause.isEmpty(cause)) {
      out.push({ where: `${where} Cause.pretty`, text: Cause.pretty(cause, { renderErrorCause: true }) })
      out.push(...render(`${where} cause`, cause))
    }
    for (const span of List.toArray(spans)) out.push({ where: `${where} log span`, text: span.label })
  })

interface SpanEvent {
  readonly name: string
  readonly attributes: Record<string, unknown> | undefined
}

class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly traceId = "leak-probe-trace"
  readonly sampled = true
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<SpanEvent> = []
  readonly links: Array<Tracer.SpanLink>
  status: Tracer.SpanStatus
  constructor(
    readonly name: string,
    readonly spanId: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.links = Array.from(links)
    this.status = { _tag: "Started", startTime }
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>): void {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown): void {
    this.attributes.set(key, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>): void {
    this.events.push({ name, attributes })
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>): void {
    this.links.push(...links)
  }
}

const recordingTracer = (spans: Array<RecordedSpan>) => {
  let id = 0
  return Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new RecordedSpan(name, `span-${++id}`, parent, context, links, startTime, kind)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
}

const toHrefs = (u: unknown): Array<string> => u instanceof URL ? [u.href] : Array.isArray(u) ? u.flatMap(toHrefs) : []

const isUrls = (exit: Exit.Exit<unknown, unknown>): exit is Exit.Success<unknown, unknown> =>
  Exit.isSuccess(exit) && toHrefs(exit.value).length > 0

const spanTexts = (spans: ReadonlyArray<RecordedSpan>, urls: Array<string>): Array<Captured> =>
  spans.flatMap((span) => {
    const where = `span ${span.name}`
    const out: Array<Captured> = [{ where, text: span.name }]
    for (const [key, value] of span.attributes) out.push(...render(`${where} attribute ${key}`, value))
    for (const event of span.events) {
      out.push({ where: `${where} event`, text: event.name })
      for (const [key, value] of Object.entries(event.attributes ?? {})) {
        out.push(...render(`${where} event ${event.name} ${key}`, value))
      }
    }
    if (span.status._tag === "Ended") {
      // A sign span ends with the presigned URLs as its value: those carry the key id and token by design, and are
      // checked apart (`urls`).
      const exit = isUrls(span.status.exit) ? Exit.succeed("<presigned URL>") : span.status.exit
      if (isUrls(span.status.exit)) urls.push(...toHrefs(span.status.exit.value))
      out.push(...render(`${where} exit`, exit))
      if (Exit.isFailure(exit)) {
        out.push({ where: `${where} exit Cause.pretty`, text: Cause.pretty(exit.cause, { renderErrorCause: true }) })
      }
    }
    return out
  })

// ---------------------------------------------------------------------------------------------------------------------
// loopback servers
// ---------------------------------------------------------------------------------------------------------------------

/** A loopback port with nothing listening: connections are refused at once. */
const closedPort = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** A fake STS on loopback answering AssumeRoleWithWebIdentity with `respond(webIdentityToken)`. */
const fakeSts = (respond: (token: string) => { readonly status: number; readonly body: string }) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly server: Http.Server }>((resume) => {
      const server = Http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"))
          const answer = respond(form.get("WebIdentityToken") ?? "")
          res.writeHead(answer.status, { "content-type": "text/xml" }).end(answer.body)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ url }) => url))

const stsSuccess = `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>${SECRETS.stsAccessKeyId}</AccessKeyId>
      <SecretAccessKey>${SECRETS.stsSecretAccessKey}</SecretAccessKey>
      <SessionToken>${SECRETS.stsSessionToken}</SessionToken>
      <Expiration>2030-01-01T00:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>`

// An STS that quotes the token back in its error message (some identity providers do).
const stsEcho = (token: string) => ({
  status: 400,
  body: `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>` +
    `<Message>Incorrect token audience for ${token}</Message></Error></ErrorResponse>`
})

const tokenFile = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = await Fs.mkdtemp(Path.join(Os.tmpdir(), "obstore-secrets-"))
    await Fs.writeFile(Path.join(dir, "token"), SECRETS.webIdentityToken)
    return dir
  }),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => Path.join(dir, "token")))

// ---------------------------------------------------------------------------------------------------------------------
// scenarios
// ---------------------------------------------------------------------------------------------------------------------

const base = {
  bucket: s3.bucket,
  region: s3.region,
  endpoint: s3.endpoint,
  client: { allowHttp: true },
  retry: { maxRetries: 0 },
  conditionalPut: "etag-unquoted"
} as const

type Transport = "undici" | "HttpClient"

const storeLayer = (options: S3Store.S3Options, transport: Transport) =>
  transport === "undici"
    ? S3Store.layer(options)
    : S3Store.layerWithHttpClient(options).pipe(Layer.provide(NodeHttpClient.layerUndici))

interface Run {
  readonly captured: Array<Captured>
  /** Presigned URLs that ended a sign span (kept apart like `urls`). */
  readonly spanUrls: Array<string>
  /** Errors of the operations and of building the store, by tag. */
  readonly errors: Array<unknown>
  readonly urls: Array<string>
}

/**
 * Builds the store, prints its config and services, and runs each operation with debug logs around it, logging every
 * failure as a user would (`Effect.logError` of the error, and of the Cause).
 */
const exercise = (options: S3Store.S3Options, transport: Transport) =>
  Effect.gen(function*() {
    const run: Run = { captured: [], spanUrls: [], errors: [], urls: [] }
    const spans: Array<RecordedSpan> = []
    const key = `secrets/${crypto.randomUUID()}`

    const observe = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
      Effect.logDebug(`${name}: start`).pipe(
        Effect.zipRight(effect),
        Effect.tap((a) =>
          toHrefs(a).length > 0
            ? Effect.sync(() => run.urls.push(...toHrefs(a)))
            : Effect.logDebug(`${name}: succeeded`, a)
        ),
        Effect.tapError((error) =>
          Effect.sync(() => {
            run.errors.push(error)
            run.captured.push(...render(`${name} error`, error))
          }).pipe(Effect.zipRight(Effect.logError(`${name}: failed`, error)))
        ),
        Effect.tapErrorCause((cause) => Effect.logWarning(`${name}: cause`, cause)),
        Effect.annotateLogs({ operation: name, transport }),
        Effect.withLogSpan(name),
        Effect.either
      )

    const program = Effect.gen(function*() {
      const service = yield* S3Store.S3Store
      const store = yield* ObjectStore.ObjectStore
      const signer = yield* Signer.Signer
      run.captured.push(
        ...render("S3Store.config", service.config),
        ...render("S3Store service", service),
        ...render("ObjectStore service", store),
        ...render("Signer service", signer)
      )
      yield* Effect.logDebug("config", service.config)
      yield* Effect.logDebug("services", service, store, signer)
      yield* observe("put", ObjectStore.put(key, "secret-free data"))
      yield* observe("get", Effect.flatMap(ObjectStore.get(key), (r) => r.text))
      yield* observe("get missing", ObjectStore.get(`${key}-missing`))
      yield* observe("head missing", ObjectStore.head(`${key}-missing`))
      yield* observe("getRange", ObjectStore.getRange(key, { start: 0, end: 4 }))
      yield* observe("list", Stream.runCollect(ObjectStore.list("secrets")))
      yield* observe("copy", ObjectStore.copy(key, `${key}-copy`))
      yield* observe("sign", Signer.sign("GET", key, "1 hour"))
      yield* observe("sign many", Signer.sign("PUT", [key, `${key}-2`], "1 hour"))
      yield* observe("delete", ObjectStore.delete([key, `${key}-copy`]))
    })

    const built = yield* program.pipe(
      Effect.provide(storeLayer(options, transport)),
      Effect.either,
      Effect.withTracer(recordingTracer(spans)),
      Effect.provide(
        Layer.merge(
          Logger.replace(Logger.defaultLogger, captureLogger(run.captured)),
          Logger.minimumLogLevel(LogLevel.All)
        )
      )
    )
    if (Either.isLeft(built)) {
      run.errors.push(built.left)
      run.captured.push(...render("layer error", built.left))
    }
    run.captured.push(...spanTexts(spans, run.spanUrls))
    if (Either.isRight(built)) {
      assert.isAbove(spans.length, 0, "the tracer recorded spans")
      assert.isTrue(run.captured.some((c) => c.where.startsWith("log DEBUG")), "the logger captured debug lines")
    }
    return run
  })

/** Nothing secret anywhere; presigned URLs never hold the secret key; no request header in an error. */
const assertClean = (run: Run) => {
  const leaks = findLeaks(run.captured)
  // One line per secret and place (without the printing function), then a few excerpts.
  const places = Array.from(
    new Set(
      leaks.map((leak) =>
        leak
          .replace(/ \(".*?"\) in (String|JSON\.stringify|Inspectable\.format|util\.inspect|Cause\.pretty)\(/, " in (")
          .replace(/: ….*$/s, "")
      )
    )
  )
  const problems: Array<string> = [...places]
  for (const url of [...run.urls, ...run.spanUrls]) {
    for (const form of [url, decodeURIComponent(url)]) {
      for (const secret of [SECRETS.rgwSecretAccessKey, SECRETS.wrongSecretAccessKey, SECRETS.stsSecretAccessKey]) {
        if (windows(secret).some((w) => form.includes(w))) problems.push(`a secret key in the presigned URL ${url}`)
      }
    }
  }
  for (const error of run.errors) {
    for (const { text, where } of render("error", error)) {
      if (/AWS4-HMAC-SHA256 Credential=/.test(text)) problems.push(`an Authorization header value in ${where}`)
      if (/["']?authorization["']?\s*[:=]/i.test(text)) problems.push(`an authorization header in ${where}`)
      if (/x-amz-security-token/i.test(text)) problems.push(`an x-amz-security-token header in ${where}`)
    }
  }
  const unique = Array.from(new Set(problems))
  assert.deepStrictEqual(
    unique,
    [],
    `${leaks.length} leak(s), ${unique.length} problem(s):\n${unique.join("\n")}\n\nexcerpts:\n${
      leaks.slice(0, 6).join("\n\n")
    }`
  )
}

const tags = (run: Run) => run.errors.map((e) => (e as { readonly _tag?: unknown })._tag)

/**
 * The run presigned `n` URLs (one `sign`, two in `sign many`), each also seen ending its sign span: the loops over
 * `urls` and `spanUrls` check that many, not none.
 */
const assertSigned = (run: Run, n: number) => {
  assert.lengthOf(run.urls, n, "presigned URLs returned")
  assert.lengthOf(run.spanUrls, n, "presigned URLs ending a sign span")
}

describe("Secrets: the search itself", () => {
  it("finds a planted secret, and a fragment of one", () => {
    assert.lengthOf(findLeaks([{ where: "planted", text: `token=${SECRETS.sessionToken}` }]), 1)
    assert.lengthOf(findLeaks([{ where: "planted", text: `…${SECRETS.stsSecretAccessKey.slice(5, 14)}…` }]), 1)
    assert.lengthOf(findLeaks(render("redacted", Redacted.make(SECRETS.sessionToken))), 0)
    assert.lengthOf(findLeaks([{ where: "config field name", text: "sessionToken secretAccessKey" }]), 0)
  })
})

const valid = { ...base, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }

for (const transport of ["undici", "HttpClient"] as const) {
  describe(`Secrets never leak (${transport} transport)`, () => {
    it.scopedLive("static keys: a missing key is NotFound, and nothing secret is printed", () =>
      Effect.gen(function*() {
        const run = yield* exercise(valid, transport)
        assert.deepStrictEqual(tags(run), ["NotFound", "NotFound"], "get missing and head missing")
        assertSigned(run, 3)
        for (const url of run.urls) assert.include(url, s3.accessKeyId, "the key id is in a presigned URL")
        assertClean(run)
      }))

    it.scopedLive("a wrong secret key is Unauthenticated, and the secret is nowhere", () =>
      Effect.gen(function*() {
        const run = yield* exercise({ ...valid, secretAccessKey: SECRETS.wrongSecretAccessKey }, transport)
        assert.include(tags(run), "Unauthenticated")
        assertSigned(run, 3)
        assertClean(run)
      }))

    it.scopedLive("static keys with a session token: the token is only in presigned URLs", () =>
      Effect.gen(function*() {
        const run = yield* exercise({
          ...base,
          accessKeyId: SECRETS.unknownAccessKeyId,
          secretAccessKey: SECRETS.wrongSecretAccessKey,
          sessionToken: SECRETS.sessionToken
        }, transport)
        assert.include(tags(run), "Unauthenticated")
        assertSigned(run, 3)
        for (const url of run.urls) assert.include(decodeURIComponent(url), SECRETS.sessionToken)
        assertClean(run)
      }))

    it.scopedLive("valid keys with a session token from the environment link of the chain", () =>
      Effect.gen(function*() {
        const run = yield* exercise({
          ...base,
          credentials: Credentials.defaultChain({
            region: s3.region,
            disableImds: true,
            env: {
              AWS_ACCESS_KEY_ID: s3.accessKeyId,
              AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
              AWS_SESSION_TOKEN: SECRETS.envSessionToken
            }
          })
        }, transport)
        assertSigned(run, 3)
        assertClean(run)
      }))

    it.scopedLive("web identity through a loopback STS: its credentials are nowhere", () =>
      Effect.gen(function*() {
        const sts = yield* fakeSts(() => ({ status: 200, body: stsSuccess }))
        const file = yield* tokenFile
        const run = yield* exercise({
          ...base,
          credentials: Credentials.defaultChain({
            region: s3.region,
            stsEndpoint: sts,
            disableImds: true,
            env: { AWS_WEB_IDENTITY_TOKEN_FILE: file, AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/leak-probe" }
          })
        }, transport)
        // RGW knows no such key: every signed request is refused.
        assert.include(tags(run), "Unauthenticated")
        assertSigned(run, 3)
        for (const url of run.urls) assert.include(decodeURIComponent(url), SECRETS.stsSessionToken)
        assertClean(run)
      }))

    it.scopedLive("credential chain failures: an STS echoing the token, a missing file, nothing configured", () =>
      Effect.gen(function*() {
        const sts = yield* fakeSts(stsEcho)
        const file = yield* tokenFile
        const imds = `http://127.0.0.1:${yield* closedPort}`
        const chains = [
          Credentials.defaultChain({
            region: s3.region,
            stsEndpoint: sts,
            disableImds: true,
            env: { AWS_WEB_IDENTITY_TOKEN_FILE: file, AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/leak-probe" }
          }),
          Credentials.defaultChain({
            region: s3.region,
            stsEndpoint: sts,
            disableImds: true,
            env: { AWS_WEB_IDENTITY_TOKEN_FILE: `${file}-missing`, AWS_ROLE_ARN: "arn:aws:iam::1:role/r" }
          }),
          Credentials.defaultChain({
            region: s3.region,
            imdsEndpoint: imds,
            // A half-configured environment link is skipped: its secret must not show up in the reasons.
            env: { AWS_SECRET_ACCESS_KEY: SECRETS.wrongSecretAccessKey, AWS_SESSION_TOKEN: SECRETS.envSessionToken }
          })
        ]
        for (const credentials of chains) {
          const run = yield* exercise({ ...base, credentials }, transport)
          assert.include(tags(run), "Unauthenticated")
          // Without credentials nothing can be signed: the URL checks have nothing to look at here.
          assertSigned(run, 0)
          assertClean(run)
        }
      }))

    it.scopedLive("a refused connection is a StoreError with no request headers in it", () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const run = yield* exercise({
          ...base,
          endpoint: `http://127.0.0.1:${port}`,
          accessKeyId: SECRETS.unknownAccessKeyId,
          secretAccessKey: SECRETS.wrongSecretAccessKey,
          sessionToken: SECRETS.sessionToken
        }, transport)
        assert.include(tags(run), "StoreError")
        // Presigning needs no connection.
        assertSigned(run, 3)
        assertClean(run)
        for (const error of run.errors) {
          if ((error as { readonly _tag?: unknown })._tag !== "StoreError") continue
          assert.match(String(error), /ECONNREFUSED|connection refused/i, `the message says why: ${String(error)}`)
        }
      }))

    it.scopedLive("InvalidConfig from a config full of secrets shows none of them", () =>
      Effect.gen(function*() {
        const secrets = {
          accessKeyId: SECRETS.unknownAccessKeyId,
          secretAccessKey: SECRETS.wrongSecretAccessKey,
          sessionToken: SECRETS.sessionToken
        }
        const inputs: ReadonlyArray<unknown> = [
          { ...base, ...secrets, bucket: "Bad_Bucket" },
          { ...base, ...secrets, client: {} },
          { ...base, ...secrets, secretAccesKey: SECRETS.stsSecretAccessKey },
          { ...base, accessKeyId: SECRETS.unknownAccessKeyId, sessionToken: SECRETS.sessionToken }
        ]
        for (const input of inputs) {
          const run = yield* exercise(input as S3Store.S3Options, transport)
          assert.deepStrictEqual(tags(run), ["InvalidConfig"])
          assertSigned(run, 0)
          assertClean(run)
        }
      }))

    it.scopedLive("InvalidConfig for a secret of the wrong shape does not quote it", () =>
      Effect.gen(function*() {
        const secrets = {
          accessKeyId: SECRETS.unknownAccessKeyId,
          secretAccessKey: SECRETS.wrongSecretAccessKey,
          sessionToken: SECRETS.sessionToken
        }
        // A value wrapped by mistake, or a config file that made a list of it: Schema's "Expected string, actual …"
        // would print it.
        const inputs: ReadonlyArray<unknown> = [
          { ...base, ...secrets, secretAccessKey: [SECRETS.wrongSecretAccessKey] },
          { ...base, ...secrets, sessionToken: { value: SECRETS.sessionToken } },
          { ...base, ...secrets, accessKeyId: { id: SECRETS.unknownAccessKeyId } }
        ]
        for (const input of inputs) {
          const run = yield* exercise(input as S3Store.S3Options, transport)
          assert.deepStrictEqual(tags(run), ["InvalidConfig"])
          assertSigned(run, 0)
          assertClean(run)
        }
      }))
  })
}
