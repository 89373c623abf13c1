/**
 * S3 responses we must not trust (issue 9, points 6-12). A small malicious server on loopback poses as S3: it answers
 * each request from a script the test writes (repeated continuation tokens, resumed reads with the wrong range or
 * ETag, huge error bodies, trickled bodies, listings outside the prefix, echoed secrets). Every test runs on the live
 * clock (`it.live`): the store talks to a real socket, and timeouts are real time.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Scope } from "effect"
import { Cause, Chunk, Effect, Exit, Stream } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Util from "node:util"

/** A live-clock test with a scope (the server and the store are closed with it). */
const live = (name: string, body: () => Effect.Effect<void, unknown, Scope.Scope>) =>
  it.live(name, () => Effect.scoped(body()), 30_000)

type Handler = (req: Http.IncomingMessage, res: Http.ServerResponse, n: number) => void

interface Hostile {
  readonly endpoint: string
  /** Requests seen so far (method and url). */
  readonly requests: Array<
    { readonly method: string; readonly url: string; readonly headers: Http.IncomingHttpHeaders }
  >
}

/** A loopback server answering every request with `handler` (n: the request's number, from 0). */
const hostile = (handler: Handler): Effect.Effect<Hostile, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<Hostile & { server: Http.Server }>((resolve) => {
        const requests: Hostile["requests"] = []
        const server = Http.createServer((req, res) => {
          const n = requests.length
          requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers })
          req.resume()
          req.on("end", () => handler(req, res, n))
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resolve({ endpoint: `http://127.0.0.1:${port}`, requests, server })
        })
      })
    ),
    ({ server }) =>
      Effect.promise(() =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      )
  )

const SECRET = "Wq7xR2mZ/9vLp+Kd4NtYc8HsJ0fGbE3uAo6i"
const TOKEN = "Fz3Qk8Vw/Jm1+Rx6Tb9Nd2Ys5Hc0Lg7Ue4Pa"

const store = (endpoint: string, extra: Partial<S3Store.S3Options> = {}) =>
  S3Store.make({
    bucket: "bucket",
    region: "us-east-1",
    endpoint,
    accessKeyId: "AKIAQ7XW2ZK9RM4VT8JD",
    secretAccessKey: SECRET,
    sessionToken: TOKEN,
    client: { allowHttp: true, timeout: "300 millis" },
    retry: { maxRetries: 2, initBackoff: "1 millis", maxBackoff: "2 millis" },
    ...extra
  } as S3Store.S3Options)

const listXml = (keys: ReadonlyArray<string>, next?: string, prefixes: ReadonlyArray<string> = []) =>
  `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bucket</Name>` +
  keys.map((k) =>
    `<Contents><Key>${k}</Key><Size>1</Size><LastModified>2025-01-01T00:00:00Z</LastModified>` +
    `<ETag>"e"</ETag></Contents>`
  ).join("") +
  prefixes.map((p) => `<CommonPrefixes><Prefix>${p}</Prefix></CommonPrefixes>`).join("") +
  `<IsTruncated>${next !== undefined}</IsTruncated>` +
  (next === undefined ? "" : `<NextContinuationToken>${next}</NextContinuationToken>`) +
  `</ListBucketResult>`

const xmlAnswer = (res: Http.ServerResponse, body: string, status = 200) => {
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  assert.isTrue(Exit.isFailure(exit), "expected a failure")
  const failure = Cause.failureOption((exit as Exit.Failure<A, E>).cause)
  assert.isTrue(
    failure._tag === "Some",
    `expected a typed failure, got ${Cause.pretty((exit as Exit.Failure<A, E>).cause)}`
  )
  return (failure as { value: E }).value
}

const tagOf = (exit: Exit.Exit<unknown, unknown>) => (failureOf(exit) as { _tag: string })._tag

// ---------------------------------------------------------------------------------------------------------------------
// 6. repeated continuation tokens
// ---------------------------------------------------------------------------------------------------------------------

describe("S3 hostile: repeated continuation tokens (issue 9.6)", () => {
  live("list fails with a StoreError when a token repeats, instead of looping", () =>
    Effect.gen(function*() {
      const server = yield* hostile((_req, res) => xmlAnswer(res, listXml(["a/x"], "same")))
      const s = yield* store(server.endpoint)
      const exit = yield* Effect.exit(Stream.runCollect(s.list("a")).pipe(Effect.timeout("5 seconds")))
      const error = failureOf(exit)
      assert.strictEqual((error as { _tag: string })._tag, "StoreError")
      assert.include(String((error as Error).message), "repeated")
      assert.isBelow(server.requests.length, 5)
    }))

  live("listMultipartUploads fails with a StoreError when the markers repeat", () =>
    Effect.gen(function*() {
      const page = `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult><Bucket>bucket</Bucket>` +
        `<Upload><Key>a/x</Key><UploadId>u1</UploadId><Initiated>2025-01-01T00:00:00Z</Initiated></Upload>` +
        `<IsTruncated>true</IsTruncated><NextKeyMarker>a/x</NextKeyMarker>` +
        `<NextUploadIdMarker>u1</NextUploadIdMarker></ListMultipartUploadsResult>`
      const server = yield* hostile((_req, res) => xmlAnswer(res, page))
      const s3 = yield* Effect.provide(
        S3Store.S3Store,
        S3Store.layer({
          bucket: "bucket",
          region: "us-east-1",
          endpoint: server.endpoint,
          accessKeyId: "AKIAQ7XW2ZK9RM4VT8JD",
          secretAccessKey: SECRET,
          client: { allowHttp: true, timeout: "300 millis" }
        })
      )
      const exit = yield* Effect.exit(s3.listMultipartUploads("a").pipe(Effect.timeout("5 seconds")))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.include(String((failureOf(exit) as Error).message), "repeated")
      assert.strictEqual(server.requests.length, 2)
    }))

  live("listWithDelimiter fails with a StoreError when a token comes back (A, B, A)", () =>
    Effect.gen(function*() {
      const tokens = ["A", "B", "A"]
      const server = yield* hostile((_req, res, n) => xmlAnswer(res, listXml([`a/k${n}`], tokens[n % 3])))
      const s = yield* store(server.endpoint)
      const exit = yield* Effect.exit(s.listWithDelimiter("a").pipe(Effect.timeout("5 seconds")))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.strictEqual(server.requests.length, 3)
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// 7. resumed answers
// ---------------------------------------------------------------------------------------------------------------------

const SIZE = 400 * 1024
const object = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7) % 251)
const CUT = 100 * 1024

/** The first GET is cut after CUT bytes; the resume (a ranged GET) is answered by `resume`. */
const cutThen = (resume: (req: Http.IncomingMessage, res: Http.ServerResponse) => void): Handler => (req, res, n) => {
  if (n === 0) {
    res.writeHead(200, { "content-length": SIZE, etag: "\"e1\"", "last-modified": new Date(0).toUTCString() })
    res.write(object.subarray(0, CUT), () => res.socket?.destroy())
    return
  }
  resume(req, res)
}

const readAll = (s: ObjectStore.ObjectStore.Service) =>
  Effect.flatMap(s.get("k"), (result) => {
    const seen: Array<Uint8Array> = []
    return Stream.runForEach(result.stream, (chunk) => Effect.sync(() => seen.push(chunk))).pipe(
      Effect.exit,
      Effect.map((exit) => ({ exit, emitted: seen.reduce((n, c) => n + c.byteLength, 0) }))
    )
  })

describe("S3 hostile: resumed answers are checked before a byte is passed on (issue 9.7)", () => {
  live("a 206 with another Content-Range is refused", () =>
    Effect.gen(function*() {
      const server = yield* hostile(cutThen((_req, res) => {
        // The client asks for bytes=CUT-; the server answers from 0.
        res.writeHead(206, {
          "content-range": `bytes 0-${SIZE - CUT - 1}/${SIZE}`,
          "content-length": SIZE - CUT,
          etag: "\"e1\""
        })
        res.end(object.subarray(0, SIZE - CUT))
      }))
      const { emitted, exit } = yield* readAll(yield* store(server.endpoint, { retry: { maxRetries: 1 } }))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.include(String((failureOf(exit) as Error).message), "content-range")
      assert.strictEqual(emitted, CUT)
    }))

  live("a 206 with another ETag is refused (PreconditionFailed)", () =>
    Effect.gen(function*() {
      const server = yield* hostile(cutThen((_req, res) => {
        res.writeHead(206, {
          "content-range": `bytes ${CUT}-${SIZE - 1}/${SIZE}`,
          "content-length": SIZE - CUT,
          etag: "\"other\""
        })
        res.end(object.subarray(CUT))
      }))
      const { emitted, exit } = yield* readAll(yield* store(server.endpoint, { retry: { maxRetries: 1 } }))
      assert.strictEqual(tagOf(exit), "PreconditionFailed")
      assert.strictEqual(emitted, CUT)
    }))

  live("a 200 of the wrong length to a resume is refused", () =>
    Effect.gen(function*() {
      const server = yield* hostile(cutThen((_req, res) => {
        res.writeHead(200, { "content-length": SIZE - CUT, etag: "\"e1\"" })
        res.end(object.subarray(CUT))
      }))
      const { emitted, exit } = yield* readAll(yield* store(server.endpoint, { retry: { maxRetries: 1 } }))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.strictEqual(emitted, CUT)
    }))

  live(
    "a full 200 to a resume is cut to the missing bytes (the object is whole and unmixed)",
    () =>
      Effect.gen(function*() {
        const server = yield* hostile(cutThen((_req, res) => {
          res.writeHead(200, { "content-length": SIZE, etag: "\"e1\"" })
          res.end(object)
        }))
        const s = yield* store(server.endpoint, { retry: { maxRetries: 1 } })
        const bytes = yield* Effect.flatMap(s.get("k"), (r) => r.bytes)
        assert.strictEqual(bytes.byteLength, SIZE)
        assert.deepStrictEqual(bytes, object)
      })
  )
})

// ---------------------------------------------------------------------------------------------------------------------
// 8. unbounded reads
// ---------------------------------------------------------------------------------------------------------------------

/** Writes `total` bytes of `fill` in 64 KiB pieces as the socket drains, counting what went out. */
const pour = (res: Http.ServerResponse, total: number, sent: { n: number }, fill = 0x20) => {
  const piece = Buffer.alloc(64 * 1024, fill)
  const more = () => {
    while (sent.n < total) {
      sent.n += piece.byteLength
      if (!res.write(piece)) return void res.once("drain", more)
    }
    res.end()
  }
  res.on("error", () => undefined)
  more()
}

describe("S3 hostile: unbounded reads (issue 9.8)", () => {
  live("an error body is read up to a cap, not whole", () =>
    Effect.gen(function*() {
      const sent = { n: 0 }
      const TOTAL = 64 * 1024 * 1024
      const server = yield* hostile((_req, res) => {
        res.writeHead(403, { "content-type": "application/xml", "content-length": TOTAL + 20 })
        res.write("<Error><Code>AccessDenied</Code><Message>")
        pour(res, TOTAL, sent)
      })
      const s = yield* store(server.endpoint, { client: { allowHttp: true, timeout: "5 seconds" } })
      const exit = yield* Effect.exit(s.get("k"))
      assert.strictEqual(tagOf(exit), "PermissionDenied")
      // The client stopped reading: the server could not push the 64 MiB.
      yield* Effect.sleep("100 millis")
      assert.isBelow(sent.n, 16 * 1024 * 1024)
    }))

  live("a 10-byte ranged read answered with a whole 200 reads only what it needs", () =>
    Effect.gen(function*() {
      const sent = { n: 0 }
      const TOTAL = 64 * 1024 * 1024
      const server = yield* hostile((_req, res) => {
        res.writeHead(200, { "content-length": TOTAL, etag: "\"e1\"" })
        pour(res, TOTAL, sent, 0x41)
      })
      const s = yield* store(server.endpoint, { client: { allowHttp: true, timeout: "5 seconds" } })
      const bytes = yield* s.getRange("k", { start: 5, end: 15 })
      assert.deepStrictEqual(bytes, new Uint8Array(10).fill(0x41))
      yield* Effect.sleep("100 millis")
      assert.isBelow(sent.n, 16 * 1024 * 1024)
    }))

  live("a list page over the cap is a StoreError naming the cap", () =>
    Effect.gen(function*() {
      const sent = { n: 0 }
      const TOTAL = 80 * 1024 * 1024
      const server = yield* hostile((_req, res) => {
        // Chunked: no Content-Length to refuse it by.
        res.writeHead(200, { "content-type": "application/xml" })
        res.write("<ListBucketResult><Contents><Key>")
        pour(res, TOTAL, sent, 0x61)
      })
      const s = yield* store(server.endpoint, { client: { allowHttp: true, timeout: "5 seconds" } })
      const exit = yield* Effect.exit(Stream.runCollect(s.list("")))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.include(String((failureOf(exit) as Error).message), "MiB")
      assert.isBelow(sent.n, 40 * 1024 * 1024)
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// 9. trickled bodies
// ---------------------------------------------------------------------------------------------------------------------

describe("S3 hostile: timeouts (issue 9.9)", () => {
  live("a trickled small body is bounded by client.timeout as a whole, not per chunk", () =>
    Effect.gen(function*() {
      const server = yield* hostile((_req, res) => {
        res.writeHead(200, { "content-length": 20, etag: "\"e\"" })
        let i = 0
        const timer = setInterval(() => {
          if (res.destroyed || i === 20) return clearInterval(timer)
          res.write("x")
          i++
        }, 100)
        res.on("close", () => clearInterval(timer))
      })
      const s = yield* store(server.endpoint, { retry: { maxRetries: 0 } })
      const start = Date.now()
      const exit = yield* Effect.exit(Effect.flatMap(s.get("k"), (r) => r.bytes))
      const ms = Date.now() - start
      assert.strictEqual(tagOf(exit), "StoreError")
      // 20 chunks 100 ms apart would take 2 s; the timeout is 300 ms.
      assert.isBelow(ms, 1000)
    }))

  live("a big body that stalls mid-stream fails after client.timeout of silence", () =>
    Effect.gen(function*() {
      const server = yield* hostile((_req, res) => {
        res.writeHead(200, { "content-length": SIZE, etag: "\"e\"" })
        res.write(object.subarray(0, CUT))
      })
      const s = yield* store(server.endpoint, { retry: { maxRetries: 0 } })
      const start = Date.now()
      const exit = yield* Effect.exit(Effect.flatMap(s.get("k"), (r) => r.bytes))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.isBelow(Date.now() - start, 3000)
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// 10. listings
// ---------------------------------------------------------------------------------------------------------------------

describe("S3 hostile: listings are checked (issue 9.10)", () => {
  live("a key outside the requested prefix is a StoreError", () =>
    Effect.gen(function*() {
      const server = yield* hostile((_req, res) => xmlAnswer(res, listXml(["a/ok", "b/outside"])))
      const s = yield* store(server.endpoint)
      const exit = yield* Effect.exit(Stream.runCollect(s.list("a")))
      assert.strictEqual(tagOf(exit), "StoreError")
      assert.include(String((failureOf(exit) as Error).message), "outside")
    }))

  live("absolute and dot-dot keys and bad common prefixes are left out", () =>
    Effect.gen(function*() {
      const server = yield* hostile((_req, res) =>
        xmlAnswer(res, listXml(["a/ok", "a/../up", "a//b", "a/./c", "a/d/"], undefined, ["a/p/", "a/../q/", "a/x/y/"]))
      )
      const s = yield* store(server.endpoint)
      const flat = yield* Stream.runCollect(s.list("a"))
      assert.deepStrictEqual(Chunk.toArray(flat).map((m) => m.path), ["a/ok"])
      const delimited = yield* s.listWithDelimiter("a")
      assert.deepStrictEqual(delimited.objects.map((m) => m.path), ["a/ok"])
      assert.deepStrictEqual(delimited.commonPrefixes, ["a/p"])
    }))

  live("the prefix option never renames a key from outside it", () =>
    Effect.gen(function*() {
      const server = yield* hostile((_req, res) => xmlAnswer(res, listXml(["root/a/ok", "rootx/a/evil", "other/z"])))
      const s = yield* store(server.endpoint, { prefix: "root" })
      const exit = yield* Effect.exit(Stream.runCollect(s.list("a")))
      assert.strictEqual(tagOf(exit), "StoreError")
    }))

  for (const ref of ["&#x110000;", "&#xD800;", "&#0;", "&#1114112;"]) {
    live(`an invalid character reference ${ref} is a StoreError, not a defect`, () =>
      Effect.gen(function*() {
        const server = yield* hostile((_req, res) => xmlAnswer(res, listXml([`a/x${ref}`])))
        const s = yield* store(server.endpoint, { retry: { maxRetries: 0 } })
        const exit = yield* Effect.exit(Stream.runCollect(s.list("a")))
        assert.strictEqual(tagOf(exit), "StoreError")
      }))
  }
})

// ---------------------------------------------------------------------------------------------------------------------
// 11. echoed secrets
// ---------------------------------------------------------------------------------------------------------------------

const printed = (error: unknown, exit: Exit.Exit<unknown, unknown>) =>
  [
    String((error as Error).message),
    JSON.stringify(error),
    Util.inspect(error, { depth: 10 }),
    Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
  ].join("\n")

describe("S3 hostile: echoed secrets are scrubbed (issue 9.11)", () => {
  live(
    "an error body echoing the session token, the secret and the Authorization header says none of them",
    () =>
      Effect.gen(function*() {
        let authorization = ""
        const server = yield* hostile((req, res) => {
          authorization = String(req.headers.authorization)
          const echo = `${req.headers["x-amz-security-token"]} ${SECRET} ${authorization} ` +
            encodeURIComponent(TOKEN)
          xmlAnswer(res, `<Error><Code>AccessDenied</Code><Message>${echo}</Message></Error>`, 403)
        })
        const s = yield* store(server.endpoint)
        for (const op of [s.get("k"), s.put("k", "x"), Stream.runCollect(s.list("a")), s.delete("k")] as const) {
          const exit = yield* Effect.exit(op as Effect.Effect<unknown, unknown>)
          const text = printed(failureOf(exit), exit)
          assert.include(text, "AccessDenied", text)
          for (const secret of [TOKEN, SECRET, authorization, encodeURIComponent(TOKEN)]) {
            assert.notInclude(text, secret)
          }
          const signature = /Signature=([0-9a-f]{64})/.exec(authorization)
          assert.isNotNull(signature)
          assert.notInclude(text, signature![1])
        }
      })
  )

  live("a 200 whose error body echoes the token (a failed copy) says none of it", () =>
    Effect.gen(function*() {
      const server = yield* hostile((req, res) =>
        xmlAnswer(
          res,
          `<Error><Code>InternalError</Code><Message>${req.headers["x-amz-security-token"]}</Message></Error>`
        )
      )
      const s = yield* store(server.endpoint, { retry: { maxRetries: 0 } })
      const exit = yield* Effect.exit(s.copy("a", "b"))
      const text = printed(failureOf(exit), exit)
      assert.include(text, "InternalError")
      assert.notInclude(text, TOKEN)
    }))
})

// ---------------------------------------------------------------------------------------------------------------------
// 12. values that cannot go on the wire
// ---------------------------------------------------------------------------------------------------------------------

describe("S3 hostile: values that cannot go on the wire (issue 9.12)", () => {
  const cases: ReadonlyArray<readonly [string, ObjectStore.PutOptions]> = [
    ["contentType with CR/LF", { attributes: { contentType: "text/plain\r\nx-evil: 1" } }],
    ["contentType beyond Latin-1", { attributes: { contentType: "text/plain; name=\u2603" } }],
    ["a metadata value with LF", { attributes: { metadata: { a: "x\ny" } } }],
    ["a metadata key that is no header name", { attributes: { metadata: { "a b": "x" } } }],
    ["a tag with a lone surrogate", { tags: { k: "\uD800" } }],
    ["an update eTag with CR", { mode: { eTag: "\"e\"\r" } }]
  ]
  for (const [name, options] of cases) {
    live(`put with ${name} is InvalidConfig before any request`, () =>
      Effect.gen(function*() {
        const server = yield* hostile((_req, res) => xmlAnswer(res, ""))
        const s = yield* store(server.endpoint)
        const exit = yield* Effect.exit(s.put("k", "x", options))
        assert.strictEqual(tagOf(exit), "InvalidConfig")
        assert.strictEqual(server.requests.length, 0)
      }))
  }

  live("get with an ifMatch holding LF is InvalidConfig before any request", () =>
    Effect.gen(function*() {
      const server = yield* hostile((_req, res) => xmlAnswer(res, ""))
      const s = yield* store(server.endpoint)
      const exit = yield* Effect.exit(s.get("k", { ifMatch: "\"a\"\n" }))
      assert.strictEqual(tagOf(exit), "InvalidConfig")
      assert.strictEqual(server.requests.length, 0)
    }))

  live("a KMS key id with CR/LF is InvalidConfig when the store is made", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        store("http://127.0.0.1:1", { serverSideEncryption: "aws:kms", sseKmsKeyId: "key\r\nx: y" })
      )
      assert.strictEqual(tagOf(exit), "InvalidConfig")
    }))
})
