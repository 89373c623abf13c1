/**
 * Issue 9, point 11, for the stores that came after S3: a server that echoes what it was sent (headers, the query) and
 * even the account key into its error bodies. The secrets never reach the error's message, `JSON.stringify`,
 * `util.inspect` or `Cause.pretty`. (S3 is covered by test/S3Hostile.test.ts.)
 */
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as AzureStore from "effect-obstore/AzureStore"
import * as GCSStore from "effect-obstore/GCSStore"
import * as HTTPStore from "effect-obstore/HTTPStore"
import type * as ObjectStore from "effect-obstore/ObjectStore"
import * as Util from "node:util"
import { startEndpoint } from "./support/endpoint.js"

const ACCOUNT_KEY = Buffer.from("Zq8Wm3Xv7Kd2Rt9Bn4Hc6Lf1Jy5Pg0Sa").toString("base64")
const SAS_SIG = "Tk4Qv9Wm2Xr7Zb3Nd8Hj1Lc6"
const BEARER = "ya29.Vh3Kq8Wz1Xm6Tb9Nr4Jd7Lc2"
const API_TOKEN = "tok_Pw6Zk1Xq9Vm3Rb7Nd2Hj8Lc"

/** Answers 403 to everything, with a body quoting the request line, every header and the account key. */
const echoing = startEndpoint((req, res) => {
  const quoted = [req.method, req.url, JSON.stringify(req.headers), ACCOUNT_KEY].join("\n")
  const xml = `<?xml version="1.0"?><Error><Code>AuthorizationFailure</Code><Message>${quoted}</Message></Error>`
  const json = JSON.stringify({ error: { code: 403, message: quoted, errors: [{ reason: "forbidden" }] } })
  const isJson = (req.url ?? "").includes("/storage/v1/")
  res.writeHead(403, { "content-type": isJson ? "application/json" : "application/xml", "x-ms-error-code": "X" })
  res.end(isJson ? json : xml)
})

const printed = (exit: Exit.Exit<unknown, unknown>): string => {
  assert.isTrue(Exit.isFailure(exit), "the request must fail")
  if (Exit.isSuccess(exit)) return ""
  const error = Cause.squash(exit.cause)
  return [String(error), JSON.stringify(error), Util.inspect(error, { depth: 10 }), Cause.pretty(exit.cause)].join("\n")
}

const attempts = (store: ObjectStore.ObjectStore.Service) =>
  Effect.all(
    [
      Effect.exit(store.head("a/b")),
      Effect.exit(store.put("a/b", "x")),
      Effect.exit(store.delete("a/b"))
    ] as const
  )

const assertClean = (texts: ReadonlyArray<string>, secrets: ReadonlyArray<string>) => {
  assert.isAbove(texts.length, 0)
  for (const text of texts) {
    assert.isAbove(text.length, 0)
    for (const secret of secrets) assert.notInclude(text, secret)
  }
}

describe("a server echoing secrets into its errors", () => {
  it.scoped("AzureStore: the account key and the Shared Key signature are scrubbed", () =>
    Effect.gen(function*() {
      const endpoint = yield* echoing
      const store = yield* AzureStore.make({
        account: "acct",
        container: "container",
        accessKey: ACCOUNT_KEY,
        endpoint: `${endpoint.url}/acct`,
        client: { allowHttp: true },
        retry: { maxRetries: 0 }
      })
      const texts = (yield* attempts(store)).map(printed)
      const signatures = endpoint.requests.map((r) => String(r.headers.authorization).split(":").pop() ?? "")
      assert.isAbove(signatures.length, 0)
      assertClean(texts, [ACCOUNT_KEY, ...signatures])
    }))

  it.scoped("AzureStore: a SAS token's signature is scrubbed", () =>
    Effect.gen(function*() {
      const endpoint = yield* echoing
      const store = yield* AzureStore.make({
        account: "acct",
        container: "container",
        sasToken: `sv=2024-05-04&sp=rwdl&sig=${SAS_SIG}`,
        endpoint: `${endpoint.url}/acct`,
        client: { allowHttp: true },
        retry: { maxRetries: 0 }
      })
      assertClean((yield* attempts(store)).map(printed), [SAS_SIG])
      assert.isTrue(endpoint.requests.some((r) => r.url.includes(SAS_SIG)), "the SAS was sent")
    }))

  it.scoped("GCSStore: the bearer token is scrubbed", () =>
    Effect.gen(function*() {
      const endpoint = yield* echoing
      const store = yield* GCSStore.make({
        bucket: "bucket",
        bearerToken: BEARER,
        endpoint: endpoint.url,
        client: { allowHttp: true },
        retry: { maxRetries: 0 }
      })
      assertClean((yield* attempts(store)).map(printed), [BEARER])
      assert.isTrue(endpoint.requests.some((r) => String(r.headers.authorization).includes(BEARER)), "token sent")
    }))

  it.scoped("HTTPStore: a token under a header of any name is scrubbed", () =>
    Effect.gen(function*() {
      const endpoint = yield* echoing
      const store = yield* HTTPStore.make({
        url: `${endpoint.url}/dav/`,
        headers: { "x-api-token": API_TOKEN },
        client: { allowHttp: true },
        retry: { maxRetries: 0 }
      })
      assertClean((yield* attempts(store)).map(printed), [API_TOKEN])
      assert.isTrue(endpoint.requests.some((r) => r.headers["x-api-token"] === API_TOKEN), "the header was sent")
    }))
})
