import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Duration, Effect, Exit, Fiber, Inspectable, Redacted, Ref, TestClock } from "effect"
import { StoreError } from "effect-obstore/ObjectStoreError"
import * as Fs from "node:fs/promises"
import * as Http from "node:http"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Util from "node:util"
import type { AwsCredentials, CredentialProvider } from "../src/internal/aws/credentials.js"
import * as Credentials from "../src/internal/aws/credentials.js"
import { startEndpoint } from "./support/endpoint.js"

// Fake STS / ECS / IMDS endpoints: real HTTP servers on loopback, so the providers' requests, headers, timeouts and
// parsing all run for real. Every test passes `env` and loopback endpoints explicitly, so nothing ever reaches the
// real metadata addresses or the machine's own AWS variables.

/** A loopback port with nothing listening: connections are refused at once. */
const closedPort = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const tempDir = Effect.acquireRelease(
  Effect.promise(() => Fs.mkdtemp(Path.join(Os.tmpdir(), "obstore-creds-"))),
  (dir) => Effect.promise(() => Fs.rm(dir, { recursive: true, force: true }))
)

const writeFile = (path: string, content: string) => Effect.promise(() => Fs.writeFile(path, content))

// Distinct values so a leak of any of them is easy to find.
const SECRETS = {
  envSecret: "Xq3envsecret/9Lm+Zt7",
  envToken: "Pw8envtoken-4Rb2Kd",
  stsSecret: "Jc5stssecret/2Hn+Wy1",
  stsToken: "Vb7ststoken-6Qe3Ls",
  webIdentityToken: "eyJhbGciOiJSUzI1NiJ9.Tk4webidpayload-Mz8.sig0Yf",
  ecsSecret: "Rd2ecssecret/5Gu+Nh6",
  ecsToken: "Kf9ecstoken-1Xa7Pv",
  ecsAuth: "Hs6ecsauth-3Cw8Jq",
  imdsSecret: "Lt1imdssecret/8Bo+Ue4",
  imdsToken: "Wm3imdstoken-5Sz9Dr",
  imdsApiToken: "Ny4imdsapi-AQAEANx7"
} as const

const EXPIRATION = "2030-01-01T00:00:00Z"

const stsSuccess = (accessKeyId: string) =>
  `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>
    <Credentials>
      <AccessKeyId>${accessKeyId}</AccessKeyId>
      <SecretAccessKey>${SECRETS.stsSecret}</SecretAccessKey>
      <SessionToken>${SECRETS.stsToken}</SessionToken>
      <Expiration>${EXPIRATION}</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`

const stsErrorXml = (code: string, message: string) =>
  `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error>
  <RequestId>req-2</RequestId>
</ErrorResponse>`

const fakeSts = (respond?: (form: URLSearchParams) => { status: number; body: string }) =>
  startEndpoint((req, res) => {
    const form = new URLSearchParams(req.method === "POST" ? req.body : req.url.split("?")[1] ?? "")
    const answer = respond?.(form) ?? { status: 200, body: stsSuccess("ASIASTS") }
    res.writeHead(answer.status, { "content-type": "text/xml" }).end(answer.body)
  })

const ecsBody = (accessKeyId: string) =>
  JSON.stringify({
    AccessKeyId: accessKeyId,
    SecretAccessKey: SECRETS.ecsSecret,
    Token: SECRETS.ecsToken,
    Expiration: EXPIRATION,
    RoleArn: "arn:aws:iam::123456789012:role/ecs"
  })

/** Answers `path` with credentials, and 401 when `auth` is set and the Authorization header differs. */
const fakeEcs = (options: { readonly path: string; readonly auth?: string; readonly body?: string }) =>
  startEndpoint((req, res) => {
    if (options.auth !== undefined && req.headers.authorization !== options.auth) {
      res.writeHead(401, { "content-type": "application/json" }).end(
        JSON.stringify({ Code: "AccessDenied", Message: "bad token" })
      )
      return
    }
    if (req.url !== options.path) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { "content-type": "application/json" }).end(options.body ?? ecsBody("ASIAECS"))
  })

/** IMDSv2 only: every GET without the token handed out by the PUT is refused, as on an instance with v1 off. */
const fakeImds = (options?: { readonly role?: string | null; readonly code?: string }) =>
  startEndpoint((req, res) => {
    const role = options?.role === undefined ? "app-role" : options.role
    if (req.method === "PUT" && req.url === "/latest/api/token") {
      if (req.headers["x-aws-ec2-metadata-token-ttl-seconds"] === undefined) {
        res.writeHead(400).end()
        return
      }
      res.writeHead(200, { "content-type": "text/plain" }).end(SECRETS.imdsApiToken)
      return
    }
    if (req.method !== "GET") {
      res.writeHead(405).end()
      return
    }
    if (req.headers["x-aws-ec2-metadata-token"] !== SECRETS.imdsApiToken) {
      res.writeHead(401).end()
      return
    }
    if (req.url === "/latest/meta-data/iam/security-credentials/") {
      if (role === null) res.writeHead(404).end()
      else res.writeHead(200, { "content-type": "text/plain" }).end(`${role}\n`)
      return
    }
    if (role !== null && req.url === `/latest/meta-data/iam/security-credentials/${role}`) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
        Code: options?.code ?? "Success",
        LastUpdated: "2029-12-31T18:00:00Z",
        Type: "AWS-HMAC",
        AccessKeyId: "ASIAIMDS",
        SecretAccessKey: SECRETS.imdsSecret,
        Token: SECRETS.imdsToken,
        Expiration: EXPIRATION
      }))
      return
    }
    res.writeHead(404).end()
  })

const noImds = Effect.map(closedPort, (port) => `http://127.0.0.1:${port}`)

const accessKeyOf = (creds: AwsCredentials) => Redacted.value(creds.accessKeyId)

const render = (u: unknown): Array<string> => {
  const out = [JSON.stringify(u) ?? "", String(u), Inspectable.format(u), Util.inspect(u, { depth: 20 })]
  if (u instanceof Error) {
    out.push(u.message, u.stack ?? "", Cause.pretty(Cause.fail(u)))
    // The cause is what a user logging the error would print next.
    if (u.cause !== undefined) out.push(...render(u.cause))
  }
  return out
}

// Any 8 characters in a row of a secret count as a leak: error messages may quote a fragment of their input.
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

describe("AwsCredentials.defaultChain", () => {
  it.effect("environment variables", () =>
    Effect.gen(function*() {
      const creds = yield* Credentials.defaultChain({
        region: "us-east-1",
        disableImds: true,
        env: {
          AWS_ACCESS_KEY_ID: "AKIAENV",
          AWS_SECRET_ACCESS_KEY: SECRETS.envSecret,
          AWS_SESSION_TOKEN: SECRETS.envToken
        }
      })
      assert.strictEqual(accessKeyOf(creds), "AKIAENV")
      assert.strictEqual(Redacted.value(creds.secretAccessKey), SECRETS.envSecret)
      assert.strictEqual(creds.sessionToken && Redacted.value(creds.sessionToken), SECRETS.envToken)
      assert.isUndefined(creds.expiration)
      assertNoSecrets(creds)
    }))

  it.scoped("web identity: reads the token file and calls STS AssumeRoleWithWebIdentity", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* tempDir
      const tokenFile = Path.join(dir, "token")
      yield* writeFile(tokenFile, `${SECRETS.webIdentityToken}\n`)
      const creds = yield* Credentials.defaultChain({
        region: "eu-west-1",
        stsEndpoint: sts.url,
        imdsEndpoint: yield* noImds,
        env: {
          AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
          AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/web",
          AWS_ROLE_SESSION_NAME: "my-session"
        }
      })
      assert.strictEqual(accessKeyOf(creds), "ASIASTS")
      assert.strictEqual(Redacted.value(creds.secretAccessKey), SECRETS.stsSecret)
      assert.strictEqual(creds.sessionToken && Redacted.value(creds.sessionToken), SECRETS.stsToken)
      assert.strictEqual(creds.expiration?.toISOString(), new Date(EXPIRATION).toISOString())
      assert.strictEqual(sts.requests.length, 1)
      const form = new URLSearchParams(sts.requests[0].body)
      assert.strictEqual(form.get("Action"), "AssumeRoleWithWebIdentity")
      assert.strictEqual(form.get("Version"), "2011-06-15")
      assert.strictEqual(form.get("RoleArn"), "arn:aws:iam::123456789012:role/web")
      assert.strictEqual(form.get("RoleSessionName"), "my-session")
      assert.strictEqual(form.get("WebIdentityToken"), SECRETS.webIdentityToken)
      assert.isUndefined(sts.requests[0].headers.authorization, "AssumeRoleWithWebIdentity is unsigned")
      assertNoSecrets(creds)
    }))

  it.scoped("web identity: AWS_ENDPOINT_URL_STS and a default session name", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const dir = yield* tempDir
      const tokenFile = Path.join(dir, "token")
      yield* writeFile(tokenFile, SECRETS.webIdentityToken)
      const creds = yield* Credentials.defaultChain({
        region: "eu-west-1",
        disableImds: true,
        env: {
          AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
          AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/web",
          AWS_ENDPOINT_URL_STS: sts.url
        }
      })
      assert.strictEqual(accessKeyOf(creds), "ASIASTS")
      const sessionName = new URLSearchParams(sts.requests[0].body).get("RoleSessionName") ?? ""
      assert.match(sessionName, /^effect-obstore-\d+$/)
    }))

  it.scoped("web identity: an STS error is Unauthenticated with the STS code, and the chain stops", () =>
    Effect.gen(function*() {
      // The fake echoes the token in its message: it must not reach the error either.
      const sts = yield* fakeSts((form) => ({
        status: 400,
        body: stsErrorXml("InvalidIdentityToken", `Incorrect token audience for ${form.get("WebIdentityToken")}`)
      }))
      const imds = yield* fakeImds()
      const dir = yield* tempDir
      const tokenFile = Path.join(dir, "token")
      yield* writeFile(tokenFile, SECRETS.webIdentityToken)
      const error = yield* Credentials.defaultChain({
        region: "eu-west-1",
        stsEndpoint: sts.url,
        imdsEndpoint: imds.url,
        env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/web" }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "InvalidIdentityToken")
      assert.include(error.message, "Incorrect token audience")
      assert.include(error.message, "web identity")
      assert.strictEqual(imds.requests.length, 0, "a broken role does not fall back to the instance role")
      assertNoSecrets(error)
    }))

  it.scoped("web identity: an STS 5xx is a StoreError", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts(() => ({ status: 503, body: stsErrorXml("ServiceUnavailable", "try later") }))
      const dir = yield* tempDir
      const tokenFile = Path.join(dir, "token")
      yield* writeFile(tokenFile, SECRETS.webIdentityToken)
      const error = yield* Credentials.defaultChain({
        region: "eu-west-1",
        stsEndpoint: sts.url,
        disableImds: true,
        env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/web" }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "ServiceUnavailable")
    }))

  it.scoped("web identity: a missing token file is Unauthenticated naming the file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const tokenFile = Path.join(dir, "missing")
      const error = yield* Credentials.defaultChain({
        region: "eu-west-1",
        stsEndpoint: "http://127.0.0.1:1",
        disableImds: true,
        env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/web" }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, tokenFile)
      assert.include(error.message, "ENOENT")
    }))

  it.scoped("container: relative URI with an authorization token", () =>
    Effect.gen(function*() {
      const ecs = yield* fakeEcs({ path: "/v2/credentials/abc", auth: SECRETS.ecsAuth })
      const creds = yield* Credentials.defaultChain({
        region: "us-east-1",
        ecsEndpoint: ecs.url,
        disableImds: true,
        env: {
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: "/v2/credentials/abc",
          AWS_CONTAINER_AUTHORIZATION_TOKEN: SECRETS.ecsAuth
        }
      })
      assert.strictEqual(accessKeyOf(creds), "ASIAECS")
      assert.strictEqual(Redacted.value(creds.secretAccessKey), SECRETS.ecsSecret)
      assert.strictEqual(creds.sessionToken && Redacted.value(creds.sessionToken), SECRETS.ecsToken)
      assert.strictEqual(creds.expiration?.getTime(), new Date(EXPIRATION).getTime())
      assert.strictEqual(ecs.requests.length, 1)
      assert.strictEqual(ecs.requests[0].method, "GET")
      assert.strictEqual(ecs.requests[0].headers.authorization, SECRETS.ecsAuth)
    }))

  it.scoped("container: full URI with the token read from a file", () =>
    Effect.gen(function*() {
      const ecs = yield* fakeEcs({ path: "/creds", auth: SECRETS.ecsAuth })
      const dir = yield* tempDir
      const tokenFile = Path.join(dir, "eks-pod-identity-token")
      yield* writeFile(tokenFile, `${SECRETS.ecsAuth}\n`)
      const creds = yield* Credentials.defaultChain({
        region: "us-east-1",
        disableImds: true,
        env: {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecs.url}/creds`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: "the-file-wins"
        }
      })
      assert.strictEqual(accessKeyOf(creds), "ASIAECS")
      assert.strictEqual(ecs.requests[0].headers.authorization, SECRETS.ecsAuth)
    }))

  it.scoped("container: a refused token is Unauthenticated", () =>
    Effect.gen(function*() {
      const ecs = yield* fakeEcs({ path: "/creds", auth: "something-else" })
      const error = yield* Credentials.defaultChain({
        region: "us-east-1",
        disableImds: true,
        env: {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecs.url}/creds`,
          AWS_CONTAINER_AUTHORIZATION_TOKEN: SECRETS.ecsAuth
        }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "401")
      assert.include(error.message, "AccessDenied")
      assertNoSecrets(error)
    }))

  it.scoped("container: a malformed document is a StoreError that does not quote it", () =>
    Effect.gen(function*() {
      const ecs = yield* fakeEcs({ path: "/creds", body: ecsBody("ASIAECS").slice(0, -20) })
      const error = yield* Credentials.defaultChain({
        region: "us-east-1",
        disableImds: true,
        env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecs.url}/creds` }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "StoreError")
      assert.include(error.message, "without valid credentials")
      assertNoSecrets(error)
    }))

  it("container: a full URI must be https, loopback or the ECS / EKS agent", () => {
    assert.isTrue(Credentials.isAllowedContainerUri("http://127.0.0.1:8080/creds"))
    assert.isTrue(Credentials.isAllowedContainerUri("http://localhost/creds"))
    assert.isTrue(Credentials.isAllowedContainerUri("http://[::1]/creds"))
    assert.isTrue(Credentials.isAllowedContainerUri("http://169.254.170.23/v1/credentials"))
    assert.isTrue(Credentials.isAllowedContainerUri("https://creds.example.com/x"))
    assert.isFalse(Credentials.isAllowedContainerUri("http://creds.example.com/x"))
    assert.isFalse(Credentials.isAllowedContainerUri("http://10.0.0.1/x"))
    assert.isFalse(Credentials.isAllowedContainerUri("file:///etc/passwd"))
    assert.isFalse(Credentials.isAllowedContainerUri("not a url"))
  })

  it.effect("container: a disallowed full URI fails before any request", () =>
    Effect.gen(function*() {
      // 0.0.0.0 is not on the allowed list yet connects to this machine, so a missing check cannot send traffic
      // anywhere else (it would show as ECONNREFUSED instead).
      const port = yield* closedPort
      const error = yield* Credentials.defaultChain({
        region: "us-east-1",
        disableImds: true,
        env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `http://0.0.0.0:${port}/creds` }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "must be https, loopback")
      assert.notInclude(error.message, "ECONNREFUSED")
    }))

  it.scoped("IMDSv2: the session token from the PUT is sent on every GET", () =>
    Effect.gen(function*() {
      const imds = yield* fakeImds()
      const creds = yield* Credentials.defaultChain({ region: "us-east-1", imdsEndpoint: imds.url, env: {} })
      assert.strictEqual(accessKeyOf(creds), "ASIAIMDS")
      assert.strictEqual(Redacted.value(creds.secretAccessKey), SECRETS.imdsSecret)
      assert.strictEqual(creds.sessionToken && Redacted.value(creds.sessionToken), SECRETS.imdsToken)
      assert.deepStrictEqual(
        imds.requests.map((r) => `${r.method} ${r.url}`),
        [
          "PUT /latest/api/token",
          "GET /latest/meta-data/iam/security-credentials/",
          "GET /latest/meta-data/iam/security-credentials/app-role"
        ]
      )
      assert.strictEqual(imds.requests[0].headers["x-aws-ec2-metadata-token-ttl-seconds"], "21600")
      for (const get of imds.requests.slice(1)) {
        assert.strictEqual(get.headers["x-aws-ec2-metadata-token"], SECRETS.imdsApiToken)
      }
      assertNoSecrets(creds)
    }))

  it.scoped("IMDSv2: the fake refuses a GET without the session token", () =>
    Effect.gen(function*() {
      const imds = yield* fakeImds()
      const status = yield* Effect.promise(() =>
        fetch(`${imds.url}/latest/meta-data/iam/security-credentials/`).then((r) => r.status)
      )
      assert.strictEqual(status, 401)
    }))

  it.scoped("IMDSv2: AWS_EC2_METADATA_SERVICE_ENDPOINT, and AWS_EC2_METADATA_DISABLED", () =>
    Effect.gen(function*() {
      const imds = yield* fakeImds()
      const creds = yield* Credentials.defaultChain({
        region: "us-east-1",
        env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: `${imds.url}/` }
      })
      assert.strictEqual(accessKeyOf(creds), "ASIAIMDS")
      const error = yield* Credentials.defaultChain({
        region: "us-east-1",
        env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url, AWS_EC2_METADATA_DISABLED: "true" }
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "EC2 instance metadata: disabled")
      assert.strictEqual(imds.requests.length, 3, "no request once disabled")
    }))

  it.scoped("IMDSv2: no role attached and a failed credentials code are Unauthenticated", () =>
    Effect.gen(function*() {
      const noRole = yield* fakeImds({ role: null })
      const error = yield* Credentials.defaultChain({ region: "us-east-1", imdsEndpoint: noRole.url, env: {} }).pipe(
        Effect.flip
      )
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "no IAM role attached")
      const failing = yield* fakeImds({ code: "AssumeRoleUnauthorizedAccess" })
      const error2 = yield* Credentials.defaultChain({ region: "us-east-1", imdsEndpoint: failing.url, env: {} })
        .pipe(Effect.flip)
      assert.strictEqual(error2._tag, "Unauthenticated")
      assert.include(error2.message, "AssumeRoleUnauthorizedAccess")
      assertNoSecrets(error)
      assertNoSecrets(error2)
    }))

  it.scoped("precedence: environment, then web identity, then container, then IMDS", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const ecs = yield* fakeEcs({ path: "/creds" })
      const imds = yield* fakeImds()
      const dir = yield* tempDir
      const tokenFile = Path.join(dir, "token")
      yield* writeFile(tokenFile, SECRETS.webIdentityToken)
      const envLink = { AWS_ACCESS_KEY_ID: "AKIAENV", AWS_SECRET_ACCESS_KEY: SECRETS.envSecret }
      const webLink = { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: "arn:aws:iam::123456789012:role/web" }
      const ecsLink = { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecs.url}/creds` }
      const chain = (env: Record<string, string>) =>
        Credentials.defaultChain({ region: "us-east-1", stsEndpoint: sts.url, imdsEndpoint: imds.url, env }).pipe(
          Effect.map(accessKeyOf)
        )
      const counts = () => [sts.requests.length, ecs.requests.length, imds.requests.length]

      assert.strictEqual(yield* chain({ ...envLink, ...webLink, ...ecsLink }), "AKIAENV")
      assert.deepStrictEqual(counts(), [0, 0, 0])
      assert.strictEqual(yield* chain({ ...webLink, ...ecsLink }), "ASIASTS")
      assert.deepStrictEqual(counts(), [1, 0, 0])
      assert.strictEqual(yield* chain(ecsLink), "ASIAECS")
      assert.deepStrictEqual(counts(), [1, 1, 0])
      assert.strictEqual(yield* chain({}), "ASIAIMDS")
      assert.deepStrictEqual(counts(), [1, 1, 3])
      // Half-configured sources are skipped, not fatal.
      assert.strictEqual(yield* chain({ AWS_ACCESS_KEY_ID: "AKIAHALF", AWS_ROLE_ARN: "arn" }), "ASIAIMDS")
    }))

  it.live("nothing configured and IMDS refusing connections: Unauthenticated listing every source", () =>
    Effect.gen(function*() {
      const start = Date.now()
      const error = yield* Credentials.defaultChain({
        region: "us-east-1",
        imdsEndpoint: yield* noImds,
        env: {}
      }).pipe(Effect.flip)
      assert.isBelow(Date.now() - start, 1000)
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "no AWS credentials found")
      assert.include(error.message, "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set")
      assert.include(error.message, "web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set")
      assert.include(error.message, "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
      assert.include(error.message, "EC2 instance metadata: IMDSv2 token request")
      assert.include(error.message, "ECONNREFUSED")
    }).pipe(Effect.scoped))

  it.live("IMDS accepting connections but never answering: gives up after the timeout", () =>
    Effect.gen(function*() {
      const silent = yield* startEndpoint(() => {
        // never answer
      })
      const start = Date.now()
      const error = yield* Credentials.defaultChain({
        region: "us-east-1",
        imdsEndpoint: silent.url,
        timeout: "300 millis",
        env: {}
      }).pipe(Effect.flip)
      const elapsed = Date.now() - start
      assert.isAtLeast(elapsed, 250)
      assert.isBelow(elapsed, 2000)
      assert.strictEqual(error._tag, "Unauthenticated")
      assert.include(error.message, "no answer within")
      assert.strictEqual(silent.requests.length, 1, "one attempt, no retries")
    }).pipe(Effect.scoped))
})

// ---------------------------------------------------------------------------------------------------------------------

const HOUR = Duration.toMillis("1 hour")
const MINUTE = Duration.toMillis("1 minute")

/** A provider that counts its fetches and hands out credentials valid for an hour from the (test) clock. */
const countingProvider = (options?: { readonly expires?: boolean }) =>
  Effect.gen(function*() {
    const fetches = yield* Ref.make(0)
    const failing = yield* Ref.make(false)
    const provider: CredentialProvider = Effect.gen(function*() {
      const n = yield* Ref.updateAndGet(fetches, (k) => k + 1)
      if (yield* Ref.get(failing)) {
        return yield* Effect.fail(
          new StoreError({ store: "test", method: "credentials", description: `fetch ${n} failed` })
        )
      }
      const now = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      return {
        accessKeyId: Redacted.make(`AKID${n}`),
        secretAccessKey: Redacted.make(`secret${n}`),
        expiration: options?.expires === false ? undefined : new Date(now + HOUR)
      }
    })
    return { fetches, failing, provider }
  })

describe("AwsCredentials.cached", () => {
  it.effect("reuses credentials until refreshBefore their expiry, then fetches again", () =>
    Effect.gen(function*() {
      const { fetches, provider } = yield* countingProvider()
      const cachedProvider = yield* Credentials.cached(provider)
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID1")
      assert.strictEqual(yield* Ref.get(fetches), 1)
      yield* TestClock.adjust(Duration.millis(55 * MINUTE - 1))
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID1")
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID1")
      assert.strictEqual(yield* Ref.get(fetches), 1)
      yield* TestClock.adjust(Duration.millis(1))
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID2")
      assert.strictEqual(yield* Ref.get(fetches), 2)
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID2")
      assert.strictEqual(yield* Ref.get(fetches), 2)
    }))

  it.effect("refreshBefore is configurable", () =>
    Effect.gen(function*() {
      const { fetches, provider } = yield* countingProvider()
      const cachedProvider = yield* Credentials.cached(provider, { refreshBefore: "20 minutes" })
      yield* cachedProvider
      yield* TestClock.adjust("39 minutes")
      yield* cachedProvider
      assert.strictEqual(yield* Ref.get(fetches), 1)
      yield* TestClock.adjust("1 minute")
      yield* cachedProvider
      assert.strictEqual(yield* Ref.get(fetches), 2)
    }))

  it.effect("concurrent callers share one fetch", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const { fetches, provider } = yield* countingProvider()
      const cachedProvider = yield* Credentials.cached(Effect.zipRight(Deferred.await(gate), provider))
      const fiber = yield* Effect.fork(
        Effect.all(Array.from({ length: 20 }, () => cachedProvider), { concurrency: "unbounded" })
      )
      for (let i = 0; i < 20; i++) yield* Effect.yieldNow()
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.join(fiber)
      assert.strictEqual(yield* Ref.get(fetches), 1)
      assert.deepStrictEqual(new Set(results.map(accessKeyOf)), new Set(["AKID1"]))

      // The same at refresh time.
      yield* TestClock.adjust("56 minutes")
      const again = yield* Effect.all(Array.from({ length: 20 }, () => cachedProvider), { concurrency: "unbounded" })
      assert.strictEqual(yield* Ref.get(fetches), 2)
      assert.deepStrictEqual(new Set(again.map(accessKeyOf)), new Set(["AKID2"]))
    }))

  it.effect("a failed refresh serves the old credentials while they are valid, and retries on the next call", () =>
    Effect.gen(function*() {
      const { failing, fetches, provider } = yield* countingProvider()
      const cachedProvider = yield* Credentials.cached(provider)
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID1")
      yield* Ref.set(failing, true)
      yield* TestClock.adjust("56 minutes")
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID1")
      assert.strictEqual(yield* Ref.get(fetches), 2)
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID1")
      assert.strictEqual(yield* Ref.get(fetches), 3)
      // Once they expire the failure shows.
      yield* TestClock.adjust("4 minutes")
      const exit = yield* Effect.exit(cachedProvider)
      assert.isTrue(Exit.isFailure(exit))
      assert.include(String(exit), "fetch 4 failed")
      // And a later success is picked up.
      yield* Ref.set(failing, false)
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID5")
    }))

  it.effect("a failed first fetch is not cached", () =>
    Effect.gen(function*() {
      const { failing, fetches, provider } = yield* countingProvider()
      const cachedProvider = yield* Credentials.cached(provider)
      yield* Ref.set(failing, true)
      const error = yield* Effect.flip(cachedProvider)
      assert.strictEqual(error._tag, "StoreError")
      yield* Ref.set(failing, false)
      assert.strictEqual(accessKeyOf(yield* cachedProvider), "AKID2")
      assert.strictEqual(yield* Ref.get(fetches), 2)
    }))

  it.effect("credentials without an expiration are fetched once", () =>
    Effect.gen(function*() {
      const { fetches, provider } = yield* countingProvider({ expires: false })
      const cachedProvider = yield* Credentials.cached(provider)
      yield* cachedProvider
      yield* TestClock.adjust("3650 days")
      yield* cachedProvider
      yield* cachedProvider
      assert.strictEqual(yield* Ref.get(fetches), 1)
    }))

  it.effect("staticProvider always answers the same credentials", () =>
    Effect.gen(function*() {
      const creds: AwsCredentials = {
        accessKeyId: Redacted.make("AKIASTATIC"),
        secretAccessKey: Redacted.make(SECRETS.envSecret)
      }
      const provider = Credentials.staticProvider(creds)
      assert.strictEqual(yield* provider, creds)
      assert.strictEqual(yield* provider, creds)
    }))
})

describe("AwsCredentials secrets", () => {
  it.scoped("never appear in credentials or errors, however they are printed", () =>
    Effect.gen(function*() {
      const sts = yield* fakeSts()
      const ecs = yield* fakeEcs({ path: "/creds", auth: SECRETS.ecsAuth })
      const imds = yield* fakeImds()
      const dir = yield* tempDir
      const tokenFile = Path.join(dir, "token")
      yield* writeFile(tokenFile, SECRETS.webIdentityToken)
      const found = yield* Effect.all([
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          env: {
            AWS_ACCESS_KEY_ID: "AKIAENV",
            AWS_SECRET_ACCESS_KEY: SECRETS.envSecret,
            AWS_SESSION_TOKEN: SECRETS.envToken
          }
        }),
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          stsEndpoint: sts.url,
          env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: "arn:aws:iam::1:role/r" }
        }),
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          env: {
            AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecs.url}/creds`,
            AWS_CONTAINER_AUTHORIZATION_TOKEN: SECRETS.ecsAuth
          }
        }),
        Credentials.defaultChain({ region: "us-east-1", imdsEndpoint: imds.url, env: {} })
      ])
      assert.strictEqual(found.length, 4)
      for (const creds of found) assertNoSecrets(creds)

      // Failures where the secrets were in hand: a refused container token, a web identity rejected by an STS that
      // echoes it, a malformed STS document and a truncated container document.
      const badSts = yield* fakeSts((form) => ({
        status: 403,
        body: stsErrorXml("AccessDenied", `not authorized: ${form.get("WebIdentityToken")}`)
      }))
      const garbledSts = yield* fakeSts(() => ({ status: 200, body: stsSuccess("ASIA").slice(0, 250) }))
      const badEcs = yield* fakeEcs({ path: "/creds", body: ecsBody("ASIAECS").slice(0, 40) })
      // V8 quotes the text around an unexpected token in a JSON.parse error: it must not end up in a cause.
      const garbledEcs = yield* fakeEcs({
        path: "/creds",
        body: `{"AccessKeyId":"ASIAECS","SecretAccessKey":${SECRETS.ecsSecret},"Token":"${SECRETS.ecsToken}"}`
      })
      const errors = yield* Effect.all([
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          env: {
            AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecs.url}/creds`,
            AWS_CONTAINER_AUTHORIZATION_TOKEN: `${SECRETS.ecsAuth}x`
          }
        }),
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          stsEndpoint: badSts.url,
          env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: "arn:aws:iam::1:role/r" }
        }),
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          stsEndpoint: garbledSts.url,
          env: { AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile, AWS_ROLE_ARN: "arn:aws:iam::1:role/r" }
        }),
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${badEcs.url}/creds` }
        }),
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          env: { AWS_CONTAINER_CREDENTIALS_FULL_URI: `${garbledEcs.url}/creds` }
        }),
        Credentials.defaultChain({
          region: "us-east-1",
          disableImds: true,
          env: {
            AWS_CONTAINER_CREDENTIALS_FULL_URI: `${ecs.url}/creds`,
            AWS_CONTAINER_AUTHORIZATION_TOKEN: `${SECRETS.ecsAuth}\r\nx-injected: 1`
          }
        })
      ].map(Effect.flip))
      assert.deepStrictEqual(errors.map((e) => e._tag), [
        "Unauthenticated",
        "Unauthenticated",
        "StoreError",
        "StoreError",
        "StoreError",
        "Unauthenticated"
      ])
      for (const error of errors) assertNoSecrets(error)
    }))
})

describe("a provider's answer is checked before it is used", () => {
  it.effect("no secret, a plain string or an empty one is Unauthenticated, never a defect", () =>
    Effect.gen(function*() {
      const answers: ReadonlyArray<unknown> = [
        { accessKeyId: Redacted.make("AKIA") },
        { accessKeyId: Redacted.make("AKIA"), secretAccessKey: "plain" },
        { accessKeyId: Redacted.make("AKIA"), secretAccessKey: Redacted.make("") },
        { accessKeyId: "AKIA", secretAccessKey: Redacted.make("s") },
        { accessKeyId: Redacted.make("AKIA"), secretAccessKey: Redacted.make("s"), sessionToken: "t" },
        undefined
      ]
      for (const creds of answers) {
        const provider = yield* Credentials.cached(Effect.succeed(creds as AwsCredentials))
        const exit = yield* Effect.exit(provider)
        assert.isTrue(Exit.isFailure(exit) && Cause.isFailType(exit.cause), JSON.stringify(creds))
        const error = yield* Effect.flip(provider)
        assert.strictEqual(error._tag, "Unauthenticated")
        assert.notInclude(error.message, "plain")
      }
      const good = { accessKeyId: Redacted.make("AKIA"), secretAccessKey: Redacted.make("s") }
      assert.strictEqual(yield* Effect.flatten(Credentials.cached(Effect.succeed(good))), good)
    }))
})

describe("the shared config files in the chain", () => {
  it.scoped("are tried after the environment and before web identity, and named in the list of what was tried", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* Effect.flip(
        Credentials.defaultChain({ region: "us-east-1", disableImds: true, env: { HOME: dir } })
      )
      const message = error.message
      const order = ["environment:", "shared config files:", "web identity:", "container:", "EC2 instance metadata:"]
        .map((name) => message.indexOf(name))
      assert.isFalse(order.includes(-1), message)
      assert.deepStrictEqual([...order].sort((a, b) => a - b), order, message)
      assert.include(message, `no [default] profile in ${Path.join(dir, ".aws", "config")}`)
    }))
})
