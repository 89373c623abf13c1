/**
 * Azure secrets never leak: the account key (right and wrong), a SAS token's signature, a bearer token, a client
 * secret, a federated token and the tokens Entra ID hands out. Stores are built with each, every operation is run
 * (successes and failures), and every log line, span and printed form (`String`, `JSON.stringify`,
 * `Inspectable.format`, `util.inspect`, `Cause.pretty`) of the config, the services and each result or error is
 * searched for any 8 characters in a row of each secret. A token endpoint that echoes the secret in its error
 * description is part of the run.
 */
import { ContainerSASPermissions, generateBlobSASQueryParameters } from "@azure/storage-blob"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, HashMap, Inspectable, Layer, Logger, LogLevel, Stream, Tracer } from "effect"
import * as AzureStore from "effect-obstore/AzureStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as Signer from "effect-obstore/Signer"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Util from "node:util"
import { beforeAll } from "vitest"
import { CONTAINER, ensureContainer, options, sdkCredential } from "./fixtures/azure/azurite.js"
import { azurite } from "./support/servers.js"

beforeAll(() => ensureContainer())

const sas = generateBlobSASQueryParameters({
  containerName: CONTAINER,
  permissions: ContainerSASPermissions.parse("racwdl"),
  expiresOn: new Date(Date.now() + 3600_000)
}, sdkCredential)

const SECRETS = {
  accountKey: azurite.accessKey,
  wrongKey: "Qm9vN2tXcDNyWnY4eEw1dEg5Y0oxc0Y2Z0IwblkzYVQ0dVI3ZEs5cVc1ak4yaFYxeE0=",
  sasSignature: sas.signature,
  bearerToken: "eyJ0eXAiOiJKV1Qi.Wq7xR2mZ9vLpKd4NtYc8Hs.J0fGbE3uAo6i",
  clientSecret: "Fz3Qk8Vw~Jm1.Rx6Tb9Nd2Ys5Hc0Lg7Ue4Pa",
  federatedToken: "eyJhbGciOiJSUzI1NiJ9.Qv7Zm3Kx9Wd2Rj5.Bt8Nc1Hy6Lf4",
  issuedToken: "Xn4Dj7Gq.Ko2Vh9Mw6Bz1Rt3Cy8Fs5Le0Ju"
} as const

const windows = (secret: string): ReadonlyArray<string> => {
  const out = new Set<string>()
  for (let i = 0; i + 8 <= secret.length; i++) {
    const w = secret.slice(i, i + 8)
    if (new Set(w).size > 2) out.add(w)
  }
  return Array.from(out)
}

interface Captured {
  readonly where: string
  readonly text: string
}

const findLeaks = (captured: ReadonlyArray<Captured>): ReadonlyArray<string> => {
  const leaks: Array<string> = []
  for (const { text, where } of captured) {
    for (const [name, secret] of Object.entries(SECRETS)) {
      // The signature of a SAS is in the SAS by design; only the other secrets are looked for in signed URLs.
      const fragment = windows(secret).find((w) => text.includes(w))
      if (fragment !== undefined) {
        leaks.push(
          `${name} ("${fragment}") in ${where}: …${
            text.slice(text.indexOf(fragment) - 100, text.indexOf(fragment) + 60)
          }…`
        )
      }
    }
  }
  return leaks
}

const safe = (f: () => string | undefined): string => {
  try {
    return f() ?? "undefined"
  } catch (error) {
    return `<threw: ${String(error)}>`
  }
}

const render = (where: string, u: unknown, seen: Set<unknown> = new Set()): Array<Captured> => {
  if (seen.has(u)) return []
  seen.add(u)
  const out: Array<Captured> = [
    { where: `String(${where})`, text: safe(() => String(u)) },
    { where: `JSON.stringify(${where})`, text: safe(() => JSON.stringify(u) ?? "undefined") },
    { where: `Inspectable.format(${where})`, text: safe(() => Inspectable.format(u)) },
    { where: `util.inspect(${where})`, text: safe(() => Util.inspect(u, { depth: 10 })) }
  ]
  if (u instanceof Error) {
    out.push({ where: `${where}.message`, text: u.message }, {
      where: `Cause.pretty(${where})`,
      text: Cause.pretty(Cause.fail(u), { renderErrorCause: true })
    })
  }
  if (typeof u === "object" && u !== null && "cause" in u && u.cause !== undefined) {
    out.push(...render(`${where}.cause`, u.cause, seen))
  }
  return out
}

const captureLogger = (out: Array<Captured>) =>
  Logger.make(({ annotations, cause, logLevel, message }) => {
    out.push(...render(`log ${logLevel.label}`, message))
    for (const [key, value] of HashMap.toEntries(annotations)) out.push(...render(`log annotation ${key}`, value))
    if (!Cause.isEmpty(cause)) out.push({ where: "log cause", text: Cause.pretty(cause, { renderErrorCause: true }) })
  })

const recordingTracer = (out: Array<Captured>) =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      out.push({ where: "span name", text: name })
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: "s",
        traceId: "t",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes: new Map(),
        links: Array.from(links),
        sampled: true,
        kind,
        end: (_end, exit) => {
          if (Exit.isFailure(exit)) out.push({ where: `span ${name} exit`, text: Cause.pretty(exit.cause) })
        },
        attribute: (key, value) => out.push(...render(`span ${name} attribute ${key}`, value)),
        event: (event, _t, attributes) => out.push(...render(`span ${name} event ${event}`, attributes)),
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

/** Every operation once (in a fresh directory), its results and errors rendered. */
const exercise = (out: Array<Captured>) =>
  Effect.gen(function*() {
    const dir = `secrets/${crypto.randomUUID()}`
    const record = <A, E>(what: string, effect: Effect.Effect<A, E>) =>
      Effect.map(Effect.exit(effect), (exit) => {
        out.push(...render(what, Exit.isSuccess(exit) ? exit.value : Cause.squash(exit.cause)))
        if (Exit.isFailure(exit)) out.push({ where: `${what} Cause.pretty`, text: Cause.pretty(exit.cause) })
      })
    const store = yield* ObjectStore.ObjectStore
    const service = yield* AzureStore.AzureStore
    out.push(...render("AzureStore service", service), ...render("config", service.config))
    yield* record("put", store.put(`${dir}/a`, "a", { mode: "create" }))
    yield* record(
      "put stream",
      store.put(`${dir}/b`, Stream.make(new Uint8Array(3000)), { multipart: { partSize: 1000 } })
    )
    yield* record("get", Effect.flatMap(store.get(`${dir}/a`), (r) => r.text))
    yield* record("get missing", store.get(`${dir}/missing`))
    yield* record("head", store.head(`${dir}/missing`))
    yield* record("list", Stream.runCollect(store.list(dir)))
    yield* record("copy", store.copy(`${dir}/a`, `${dir}/c`, { overwrite: false }))
    yield* record("sign", Effect.map(service.signer.sign("GET", `${dir}/a`, "1 hour"), (u) => u.pathname))
    yield* record("delete", store.delete([`${dir}/a`, `${dir}/b`, `${dir}/c`]))
  })

const probe = (options: AzureStore.AzureOptions) =>
  Effect.gen(function*() {
    const out: Array<Captured> = []
    const built = yield* Effect.exit(Layer.build(AzureStore.layer(options)))
    if (Exit.isFailure(built)) {
      out.push(...render("layer failure", Cause.squash(built.cause)), {
        where: "layer cause",
        text: Cause.pretty(built.cause)
      })
    } else {
      yield* exercise(out).pipe(
        Effect.provide(built.value),
        Effect.provide(Logger.replace(Logger.defaultLogger, captureLogger(out))),
        Logger.withMinimumLogLevel(LogLevel.All),
        Effect.withTracer(recordingTracer(out))
      )
    }
    return out
  }).pipe(Effect.scoped)

/** A loopback token endpoint that hands out `issuedToken`, or refuses while echoing what it was sent. */
const tokenEndpoint = (refuse: boolean) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ url: string; server: http.Server }>((resolve) => {
        const server = http.createServer((req, res) => {
          let body = ""
          req.on("data", (c) => (body += c))
          req.on("end", () => {
            res.writeHead(refuse ? 401 : 200, { "content-type": "application/json" }).end(
              refuse
                ? JSON.stringify({ error: "invalid_client", error_description: `bad: ${body}` })
                : JSON.stringify({ access_token: SECRETS.issuedToken, expires_in: 3600 })
            )
          })
        })
        server.listen(
          0,
          "127.0.0.1",
          () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })
        )
      })
    ),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

describe("Azure secrets never leak", () => {
  it("the search finds a secret when one is there", () => {
    assert.isNotEmpty(findLeaks([{ where: "x", text: `key=${azurite.accessKey.slice(10, 30)}` }]))
  })

  const cases: ReadonlyArray<
    readonly [string, () => Effect.Effect<AzureStore.AzureOptions, never, import("effect").Scope.Scope>]
  > = [
    ["the account key", () => Effect.succeed(options)],
    ["a wrong account key", () => Effect.succeed({ ...options, accessKey: SECRETS.wrongKey })],
    ["a SAS token", () => Effect.succeed({ ...options, accessKey: undefined, sasToken: sas.toString() })],
    [
      "a tampered SAS token",
      () => Effect.succeed({ ...options, accessKey: undefined, sasToken: sas.toString().replace("sp=racwdl", "sp=r") })
    ],
    ["a bearer token", () => Effect.succeed({ ...options, accessKey: undefined, bearerToken: SECRETS.bearerToken })],
    ["an account key that is not base64", () => Effect.succeed({ ...options, accessKey: `${SECRETS.clientSecret}!` })],
    ["a client secret (token issued)", () =>
      Effect.map(tokenEndpoint(false), ({ url }) => ({
        ...options,
        accessKey: undefined,
        tenantId: "t",
        clientId: "c",
        clientSecret: SECRETS.clientSecret,
        authorityHost: url
      }))],
    ["a client secret (refused, echoed back)", () =>
      Effect.map(tokenEndpoint(true), ({ url }) => ({
        ...options,
        accessKey: undefined,
        tenantId: "t",
        clientId: "c",
        clientSecret: SECRETS.clientSecret,
        authorityHost: url
      }))],
    ["a federated token (refused, echoed back)", () =>
      Effect.map(tokenEndpoint(true), ({ url }) => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "azure-secret-")), "token")
        fs.writeFileSync(file, SECRETS.federatedToken)
        return {
          ...options,
          accessKey: undefined,
          tenantId: "t",
          clientId: "c",
          federatedTokenFile: file,
          authorityHost: url
        }
      })]
  ]
  for (const [name, make] of cases) {
    it.live(`with ${name}`, () =>
      Effect.gen(function*() {
        const captured = yield* Effect.flatMap(make(), probe)
        assert.isAbove(captured.length, 5)
        assert.deepStrictEqual(findLeaks(captured), [])
      }).pipe(Effect.scoped))
  }

  it.live("a signed URL holds the signature, never the account key", () =>
    Effect.gen(function*() {
      const url = yield* Signer.sign("GET", "x", "1 hour")
      assert.deepStrictEqual(findLeaks([{ where: "url", text: url.href }]), [])
    }).pipe(Effect.provide(AzureStore.layer(options))))
})

export type _Context = Context.Context<never>
