/**
 * GCSStore's secrets never leak: stores are built with a static bearer token, a service account key (its private
 * key) and an authorized_user file (client secret, refresh token), against a loopback server that plays the token
 * endpoint (handing out a distinctive access token) and the JSON API (refusing with 401/403, or answering). Every log
 * line, span and printed form of the config, the services, each result and each error is searched for each secret
 * and for any 8 characters in a row of it.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import type { Context, Option, Scope } from "effect"
import { Cause, Effect, Exit, HashMap, Inspectable, Layer, List, Logger, Tracer } from "effect"
import * as GCSStore from "effect-obstore/GCSStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as Signer from "effect-obstore/Signer"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Util from "node:util"

const key = JSON.parse(
  readFileSync(new URL("./fixtures/gcs-v4-signing/test_service_account.not-a-test.json", import.meta.url), "utf8")
) as Record<string, string>
const pem = key.private_key.replace(/-----[A-Z ]+-----|\s/g, "")

const SECRETS = {
  bearerToken: "ya29.Kq7Xw2Zr9Vm4Tb8Nd1Jh6Lc3",
  accessToken: "ya29.Pf5Gs0Ue4Ya7Ri2Wo9Qn6Mk1",
  clientSecret: "GOCSPX-Hb6Tm1YxQr8Pk3Wd9Jn5",
  refreshToken: "1//0gRw2KzTx5Jb8Hq1Vn6Dg3Ls7",
  // Slices of the private key from its start, middle and end (its body is long and base64).
  privateKeyStart: pem.slice(40, 80),
  privateKeyMiddle: pem.slice(Math.floor(pem.length / 2), Math.floor(pem.length / 2) + 40),
  privateKeyEnd: pem.slice(-60, -20)
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

const leaks = (captured: ReadonlyArray<Captured>): ReadonlyArray<string> =>
  captured.flatMap(({ text, where }) =>
    Object.entries(SECRETS).flatMap(([name, secret]) => {
      const fragment = windows(secret).find((w) => text.includes(w))
      return fragment === undefined ? [] : [`${name} ("${fragment}") in ${where}`]
    })
  )

const safe = (f: () => string | undefined): string => {
  try {
    return String(f())
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
    out.push({ where: `${where}.stack`, text: u.stack ?? "" }, {
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
  Logger.make(({ annotations, cause, message, spans }) => {
    out.push(...render("log", message))
    for (const [k, v] of HashMap.toEntries(annotations)) out.push(...render(`log annotation ${k}`, v))
    if (!Cause.isEmpty(cause)) out.push({ where: "log cause", text: Cause.pretty(cause, { renderErrorCause: true }) })
    for (const span of List.toArray(spans)) out.push({ where: "log span", text: span.label })
  })

const recordingTracer = (out: Array<Captured>) =>
  Tracer.make({
    span: (name, parent: Option.Option<Tracer.AnySpan>, context: Context.Context<never>, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `s-${Math.random()}`,
        traceId: "t",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links: Array.from(links),
        sampled: true,
        kind,
        end: (_end, exit) => {
          out.push({ where: `span ${name}`, text: name })
          for (const [k, v] of attributes) out.push(...render(`span ${name} attribute ${k}`, v))
          if (Exit.isFailure(exit)) out.push({ where: `span ${name} exit`, text: Cause.pretty(exit.cause) })
        },
        attribute: (k, v) => attributes.set(k, v),
        event: (e, _t, a) => out.push(...render(`span ${name} event ${e}`, a ?? {})),
        addLinks: () => undefined
      }
      return span
    },
    context: (f) => f()
  })

/** A token endpoint that hands out `accessToken`, and a JSON API that answers `status` to everything else. */
const serve = (status: number): Effect.Effect<string, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          const send = (code: number, body: unknown) => {
            res.writeHead(code, { "content-type": "application/json" })
            res.end(JSON.stringify(body))
          }
          if (req.url === "/token") return send(200, { access_token: SECRETS.accessToken, expires_in: 3600 })
          if (status === 200) return send(200, { name: "x", size: "1", updated: new Date().toISOString() })
          send(status, { error: { code: status, message: "denied", errors: [{ reason: "forbidden" }] } })
        })
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`))

const sources = (endpoint: string): ReadonlyArray<readonly [string, Partial<GCSStore.GCSOptions>]> => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gcs-secrets-"))
  const user = path.join(dir, "adc.json")
  writeFileSync(
    user,
    JSON.stringify({
      type: "authorized_user",
      client_id: "id",
      client_secret: SECRETS.clientSecret,
      refresh_token: SECRETS.refreshToken,
      token_uri: `${endpoint}/token`
    })
  )
  return [
    ["bearer token", { bearerToken: SECRETS.bearerToken }],
    ["service account key", { serviceAccountKey: JSON.stringify({ ...key, token_uri: `${endpoint}/token` }) }],
    ["authorized_user file", { applicationCredentials: user }]
  ]
}

/** Runs every operation on a store, capturing logs, spans and every printed result and error. */
const exercise = (options: GCSStore.GCSOptions, captured: Array<Captured>, platform: boolean) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      platform
        ? GCSStore.layerWithHttpClient(options).pipe(Layer.provide(NodeHttpClient.layerUndici))
        : GCSStore.layer(options)
    )
    const service = yield* GCSStore.GCSStore.pipe(Effect.provide(context))
    captured.push(...render("config", service.config), ...render("service", service))
    const run = <A, E>(what: string, effect: Effect.Effect<A, E, ObjectStore.ObjectStore | Signer.Signer>) =>
      effect.pipe(
        Effect.provide(context),
        Effect.tapErrorCause((cause) => Effect.logError(what, cause)),
        Effect.exit,
        Effect.map((exit) =>
          captured.push(...render(what, Exit.isSuccess(exit) ? exit.value : Cause.squash(exit.cause)))
        )
      )
    yield* run("head", ObjectStore.head("a"))
    yield* run("get", ObjectStore.get("a"))
    yield* run("put", ObjectStore.put("a", "x", { attributes: { metadata: { k: "v" } } }))
    yield* run("list", ObjectStore.listWithDelimiter("d"))
    yield* run("copy", ObjectStore.copy("a", "b"))
    yield* run("delete", ObjectStore.delete("a"))
    yield* run("sign", Signer.sign("GET", "a", "1 hour"))
  }).pipe(
    Effect.provide(Logger.replace(Logger.defaultLogger, captureLogger(captured))),
    Effect.withTracer(recordingTracer(captured)),
    Effect.scoped
  )

describe("GCSStore secrets never leak", () => {
  it("the search finds a planted secret", () => {
    assert.isAbove(
      leaks([{ where: "probe", text: `authorization: Bearer ${SECRETS.accessToken.slice(3, 15)}` }]).length,
      0
    )
    assert.isAbove(leaks([{ where: "probe", text: key.private_key }]).length, 0)
  })

  for (const [status, platform] of [[401, false], [403, false], [200, false], [401, true], [200, true]] as const) {
    it.scopedLive(`every credential source, the server answering ${status} (${platform ? "platform" : "undici"} transport)`, () =>
      Effect.gen(function*() {
        const endpoint = yield* serve(status)
        for (const [name, source] of sources(endpoint)) {
          const captured: Array<Captured> = []
          yield* exercise(
            {
              bucket: "bkt",
              endpoint,
              client: { allowHttp: true },
              retry: { maxRetries: 0 },
              ...source
            },
            captured,
            platform
          )
          assert.isAbove(captured.length, 20, name)
          assert.deepStrictEqual(leaks(captured), [], name)
        }
      }))
  }

  it.effect("InvalidConfig for secrets of the wrong type or shape quotes none of them", () =>
    Effect.gen(function*() {
      const captured: Array<Captured> = []
      for (
        const input of [
          { bucket: "bkt", bearerToken: 42 },
          { bucket: "bkt", serviceAccountKey: JSON.stringify({ ...key, type: "nonsense" }) },
          { bucket: "bkt", serviceAccountKey: `{"private_key": "${SECRETS.privateKeyStart}"` },
          { bucket: "bkt", bearerToken: SECRETS.bearerToken, serviceAccountKey: JSON.stringify(key) }
        ]
      ) {
        const error = yield* Effect.flip(Effect.scoped(GCSStore.make(input as unknown as GCSStore.GCSOptions)))
        assert.strictEqual(error._tag, "InvalidConfig")
        captured.push(...render("error", error))
      }
      assert.deepStrictEqual(leaks(captured), [])
    }))
})
