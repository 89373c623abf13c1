/**
 * Presigned URLs from the `Signer` that `S3Store.layer` provides, used with plain `fetch` against the RADOS Gateway:
 * the server must accept what is signed and refuse what is tampered with or expired.
 */
import { HttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Either, Layer, Stream, TestClock } from "effect"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import * as Signer from "effect-obstore/Signer"
import { randomUUID } from "node:crypto"
import { rgwOptions, s3 } from "./support/servers.js"

const options: S3Store.S3Options = rgwOptions

const rgw = S3Store.layer(options)

const encoder = new TextEncoder()
const decoder = new TextDecoder()

interface Fetched {
  readonly status: number
  readonly headers: Headers
  readonly body: Uint8Array
}

/** Plain `fetch`, nothing of the library in between. */
const send = (url: URL | string, init?: RequestInit): Effect.Effect<Fetched, Error> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, { ...init, signal })
      return { status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()) }
    },
    catch: (cause) => new Error(`fetch ${String(url)} failed`, { cause })
  })

/** What every signed URL must show: the expiry in seconds, and no trace of the secret. */
const assertSigned = (url: URL, seconds: number): void => {
  assert.strictEqual(url.searchParams.get("X-Amz-Expires"), String(seconds), `X-Amz-Expires of ${url.href}`)
  assert.strictEqual(url.searchParams.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256")
  assert.match(url.searchParams.get("X-Amz-Signature") ?? "", /^[0-9a-f]{64}$/)
  assert.include(url.searchParams.get("X-Amz-Credential") ?? "", s3.accessKeyId)
  for (const form of [url.href, decodeURIComponent(url.href)]) {
    assert.notInclude(form, s3.secretAccessKey, "the secret key never appears in a URL")
  }
}

/** RFC 3986 encoding (as SigV4 wants it): `encodeURIComponent` plus ! ' ( ) *. */
const encodeSegment = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())

/** The request path of `key` (path style): each segment percent-encoded. */
const pathOf = (key: string): string => `/${s3.bucket}/${key.split("/").map(encodeSegment).join("/")}`

/** Removes everything under `dir`; a failed cleanup must not hide the test's own result. */
const cleanup = (dir: string) =>
  ObjectStore.list(dir).pipe(
    Stream.map((meta) => meta.path),
    Stream.runCollect,
    Effect.flatMap((paths) => ObjectStore.delete(Chunk.toReadonlyArray(paths))),
    Effect.provide(rgw),
    Effect.ignore
  )

/** Runs `f` in a fresh directory of its own and removes the directory afterwards. */
const inFreshDir = <A, E, R>(f: (dir: string) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    const dir = `signer/${randomUUID()}`
    return Effect.ensuring(f(dir), cleanup(dir))
  })

const amzDate = (millis: number): string => new Date(millis).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")

describe("S3Store Signer (presigned URLs with fetch)", () => {
  it.live("GET of an existing object returns its bytes", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const key = `${dir}/hello.txt`
        yield* ObjectStore.put(key, "hello, presigned world")
        const url = yield* Signer.sign("GET", key, "5 minutes")
        assertSigned(url, 300)
        assert.strictEqual(url.origin, s3.endpoint)
        assert.strictEqual(url.pathname, pathOf(key))
        const response = yield* send(url)
        assert.strictEqual(response.status, 200, decoder.decode(response.body))
        assert.strictEqual(decoder.decode(response.body), "hello, presigned world")
      })
    ).pipe(Effect.provide(rgw)))

  it.live("PUT uploads bytes that S3Store then reads", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const key = `${dir}/uploaded.bin`
        const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256)
        const url = yield* Signer.sign("PUT", key, Duration.minutes(10))
        assertSigned(url, 600)
        const response = yield* send(url, { method: "PUT", body: data })
        assert.strictEqual(response.status, 200, decoder.decode(response.body))
        const result = yield* ObjectStore.get(key)
        assert.strictEqual(result.meta.size, data.byteLength)
        assert.deepStrictEqual(Array.from(yield* result.bytes), Array.from(data))
        assert.strictEqual(result.meta.eTag, response.headers.get("etag"), "the PUT's ETag is the stored one")
      })
    ).pipe(Effect.provide(rgw)))

  it.live("HEAD answers with the object's size and ETag", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const key = `${dir}/head.txt`
        yield* ObjectStore.put(key, "twelve bytes")
        const meta = yield* ObjectStore.head(key)
        const url = yield* Signer.sign("HEAD", key, "1 hour")
        assertSigned(url, 3600)
        const response = yield* send(url, { method: "HEAD" })
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers.get("content-length"), "12")
        assert.strictEqual(response.headers.get("etag"), meta.eTag)
        const missing = yield* send(yield* Signer.sign("HEAD", `${dir}/missing.txt`, "1 hour"), { method: "HEAD" })
        assert.strictEqual(missing.status, 404, "a signed HEAD of a missing key is 404, not 403")
      })
    ).pipe(Effect.provide(rgw)))

  it.live("DELETE removes the object", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const key = `${dir}/doomed.txt`
        yield* ObjectStore.put(key, "soon gone")
        const url = yield* Signer.sign("DELETE", key, "2 minutes")
        assertSigned(url, 120)
        const response = yield* send(url, { method: "DELETE" })
        assert.strictEqual(response.status, 204, decoder.decode(response.body))
        const head = yield* Effect.flip(ObjectStore.head(key))
        assert.strictEqual(head._tag, "NotFound")
      })
    ).pipe(Effect.provide(rgw)))

  it.live("many paths at once give URLs in the same order", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const keys = ["c.txt", "a.txt", "b/nested.txt", "d e.txt"].map((name) => `${dir}/${name}`)
        yield* Effect.forEach(keys, (key) => ObjectStore.put(key, `content of ${key}`), { discard: true })
        const urls = yield* Signer.sign("GET", keys, "90 minutes")
        assert.strictEqual(urls.length, keys.length)
        for (const [i, url] of urls.entries()) {
          assertSigned(url, 5400)
          assert.strictEqual(url.pathname, pathOf(keys[i]), `URL ${i} is for ${keys[i]}`)
          const response = yield* send(url)
          assert.strictEqual(response.status, 200)
          assert.strictEqual(decoder.decode(response.body), `content of ${keys[i]}`)
        }
        assert.deepStrictEqual(yield* Signer.sign("GET", [], "1 minute"), [], "no paths, no URLs")
      })
    ).pipe(Effect.provide(rgw)))

  it.live("a tampered URL is refused with 403", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const key = `${dir}/secret.txt`
        const other = `${dir}/other.txt`
        yield* ObjectStore.put(key, "secret")
        yield* ObjectStore.put(other, "other")
        const url = yield* Signer.sign("GET", key, "5 minutes")
        assert.strictEqual((yield* send(url)).status, 200, "the untouched URL works")

        const signature = url.searchParams.get("X-Amz-Signature") ?? ""
        const flipped = (signature[0] === "0" ? "1" : "0") + signature.slice(1)
        const badSignature = url.href.replace(`X-Amz-Signature=${signature}`, `X-Amz-Signature=${flipped}`)
        assert.notStrictEqual(badSignature, url.href)
        assert.strictEqual((yield* send(badSignature)).status, 403, "a changed signature")

        const otherPath = new URL(url.href)
        otherPath.pathname = pathOf(other)
        assert.strictEqual((yield* send(otherPath)).status, 403, "the signature of one key used for another")

        const longer = url.href.replace("X-Amz-Expires=300", "X-Amz-Expires=3000")
        assert.notStrictEqual(longer, url.href)
        assert.strictEqual((yield* send(longer)).status, 403, "a stretched expiry")

        const put = yield* send(url, { method: "PUT", body: "overwritten" })
        assert.strictEqual(put.status, 403, "a GET URL used to PUT")
        assert.strictEqual(yield* Effect.flatMap(ObjectStore.get(key), (r) => r.text), "secret")
      })
    ).pipe(Effect.provide(rgw)))

  // it.effect runs on the TestClock: the URL is signed two hours in the past, then the clock is set back to now for
  // the requests S3Store itself signs.
  it.effect("an expired URL is refused with 403", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const key = `${dir}/expired.txt`
        const past = Date.now() - 2 * 60 * 60 * 1000
        yield* TestClock.setTime(past)
        const url = yield* Signer.sign("GET", key, "60 seconds")
        assertSigned(url, 60)
        assert.strictEqual(url.searchParams.get("X-Amz-Date"), amzDate(past), "signed at the Clock's time")

        yield* TestClock.setTime(Date.now())
        yield* ObjectStore.put(key, "still here")
        const response = yield* send(url)
        assert.strictEqual(response.status, 403, decoder.decode(response.body))
        const fresh = yield* Signer.sign("GET", key, "60 seconds")
        assert.strictEqual((yield* send(fresh)).status, 200, "the same URL signed now works")
      })
    ).pipe(Effect.provide(rgw)))

  describe("bad input fails before anything is sent", () => {
    // A transport that counts requests: signing is local, nothing may reach it.
    let requests = 0
    const counting = S3Store.layerWithHttpClient(options).pipe(
      Layer.provide(Layer.succeed(
        HttpClient.HttpClient,
        HttpClient.make((request) =>
          Effect.suspend(() => {
            requests++
            return Effect.die(new Error(`unexpected request ${request.method} ${request.url}`))
          })
        )
      ))
    )

    it.live("expiresIn over 7 days, zero or negative is InvalidConfig naming expiresIn", () =>
      Effect.gen(function*() {
        const cases: ReadonlyArray<Duration.DurationInput> = [
          "8 days",
          Duration.days(7).pipe(Duration.sum(Duration.seconds(1))),
          Infinity,
          0,
          "0 seconds",
          -60_000,
          Duration.seconds(-5),
          "500 millis"
        ]
        for (const expiresIn of cases) {
          const what = String(expiresIn)
          const one = yield* Effect.either(Signer.sign("GET", "some/object.txt", expiresIn))
          assert.isTrue(Either.isLeft(one), `${what}: expected InvalidConfig, got a URL`)
          if (Either.isLeft(one)) {
            assert.strictEqual(one.left._tag, "InvalidConfig", `${what}: ${one.left.message}`)
            if (one.left._tag === "InvalidConfig") assert.strictEqual(one.left.field, "expiresIn", what)
          }
          const many = yield* Effect.either(Signer.sign("PUT", ["a", "b"], expiresIn))
          assert.isTrue(Either.isLeft(many) && many.left._tag === "InvalidConfig", `${what}: many paths`)
        }
        const week = yield* Signer.sign("GET", "some/object.txt", "7 days")
        assertSigned(week, 604_800)
        assert.strictEqual(requests, 0, "no request was sent")
      }).pipe(Effect.provide(counting)))

    it.live("an invalid path is InvalidPath", () =>
      Effect.gen(function*() {
        for (const path of ["a//b", "a/../b", "./a", "a\u0000b"]) {
          const error = yield* Effect.flip(Signer.sign("GET", path, "1 minute"))
          assert.strictEqual(error._tag, "InvalidPath", `${JSON.stringify(path)}: ${error.message}`)
        }
        const many = yield* Effect.flip(Signer.sign("GET", ["fine.txt", "a//b"], "1 minute"))
        assert.strictEqual(many._tag, "InvalidPath", "one bad path among many")
        assert.strictEqual(requests, 0, "no request was sent")
      }).pipe(Effect.provide(counting)))
  })

  it.live("keys with unicode, spaces, %, + and # work both ways", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const names = ["ünïcödé 日本語 🚀.txt", "with  spaces.txt", "100% a+b #1.txt", "(x)*!'~=&;,$@.txt"]
        for (const name of names) {
          const key = `${dir}/sub dir ü/${name}`
          yield* ObjectStore.put(key, `read ${name}`)
          const get = yield* Signer.sign("GET", key, "1 minute")
          assert.strictEqual(get.pathname, pathOf(key))
          const read = yield* send(get)
          assert.strictEqual(read.status, 200, `GET ${key}: ${decoder.decode(read.body)}`)
          assert.strictEqual(decoder.decode(read.body), `read ${name}`)

          const written = `${key}.put`
          const put = yield* Signer.sign("PUT", written, "1 minute")
          const response = yield* send(put, { method: "PUT", body: encoder.encode(`written ${name}`) })
          assert.strictEqual(response.status, 200, `PUT ${written}: ${decoder.decode(response.body)}`)
          assert.strictEqual(yield* Effect.flatMap(ObjectStore.get(written), (r) => r.text), `written ${name}`)
        }
      })
    ).pipe(Effect.provide(rgw)))

  it.live("with a store prefix, URLs point below the prefix", () =>
    inFreshDir((dir) =>
      Effect.gen(function*() {
        const prefix = `${dir}/root`
        const prefixed = S3Store.layer({ ...options, prefix })
        yield* Effect.gen(function*() {
          yield* ObjectStore.put("file.txt", "under the prefix")
          const get = yield* Signer.sign("GET", "file.txt", "1 minute")
          assert.strictEqual(get.pathname, pathOf(`${prefix}/file.txt`))
          const read = yield* send(get)
          assert.strictEqual(read.status, 200)
          assert.strictEqual(decoder.decode(read.body), "under the prefix")

          const put = yield* Signer.sign("PUT", "nested/up.txt", "1 minute")
          assert.strictEqual(put.pathname, pathOf(`${prefix}/nested/up.txt`))
          assert.strictEqual((yield* send(put, { method: "PUT", body: "from fetch" })).status, 200)
          assert.strictEqual(yield* Effect.flatMap(ObjectStore.get("nested/up.txt"), (r) => r.text), "from fetch")
        }).pipe(Effect.provide(prefixed))
        // The unprefixed store sees both objects below the prefix.
        const all = Chunk.toReadonlyArray(yield* Stream.runCollect(ObjectStore.list(dir))).map((m) => m.path).sort()
        assert.deepStrictEqual(all, [`${prefix}/file.txt`, `${prefix}/nested/up.txt`])
      })
    ).pipe(Effect.provide(rgw)))
})
