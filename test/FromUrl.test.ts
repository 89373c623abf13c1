import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import * as FromUrl from "effect-obstore/FromUrl"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as LocalUrl from "../src/internal/local/url.js"
import * as S3Url from "../src/internal/s3/url.js"
import { ensureContainer } from "./fixtures/azure/azurite.js"
import { azurite, gcs, rgwOptions, s3, webdav } from "./support/servers.js"

const roundTrip = (layer: Layer.Layer<ObjectStore.ObjectStore, unknown>) =>
  Effect.gen(function*() {
    const store = yield* ObjectStore.ObjectStore
    yield* ObjectStore.put("from-url/a.txt", "hello")
    const text = yield* Effect.flatMap(ObjectStore.get("from-url/a.txt"), (r) => r.text)
    yield* ObjectStore.delete("from-url/a.txt")
    return { name: store.name, text }
  }).pipe(Effect.provide(layer))

const rgwEnvironment = ConfigProvider.fromMap(
  new Map([
    ["AWS_ACCESS_KEY_ID", s3.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", s3.secretAccessKey],
    ["AWS_ENDPOINT_URL", s3.endpoint],
    ["AWS_ALLOW_HTTP", "true"]
  ])
)

// A URL whose scheme is known only at run time: the fallback overload, checked at run time only.
const dynamic = (url: string): string => url

const invalidConfig = (effect: Effect.Effect<unknown, unknown, never>) =>
  Effect.map(Effect.flip(effect), (error) => {
    const e = error as { _tag: string; field?: string; message: string }
    assert.strictEqual(e._tag, "InvalidConfig", e.message)
    return e
  })

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "obstore-from-url-"))

describe("FromUrl.layer", () => {
  it.effect("memory:/// is a MemoryStore", () =>
    Effect.gen(function*() {
      const result = yield* roundTrip(FromUrl.layer("memory:///"))
      assert.deepStrictEqual(result, { name: "MemoryStore", text: "hello" })
    }))

  it.effect("file:///dir is a LocalStore rooted there", () =>
    Effect.gen(function*() {
      const root = tempDir()
      const store = FromUrl.layer(`file://${root}`)
      yield* Effect.provide(ObjectStore.put("x/y.txt", "on disk"), store)
      assert.strictEqual(fs.readFileSync(path.join(root, "x/y.txt"), "utf8"), "on disk")
      fs.rmSync(root, { recursive: true, force: true })
    }))

  it.effect("file:/// takes LocalStore options and percent-escapes", () =>
    Effect.gen(function*() {
      const root = path.join(tempDir(), "with space")
      const url = `file://${root.replace(/ /g, "%20")}` as const
      // The directory does not exist yet: mkdir creates it.
      const result = yield* roundTrip(FromUrl.layer(url, { mkdir: true }))
      assert.deepStrictEqual(result, { name: "LocalStore", text: "hello" })
      assert.isTrue(fs.statSync(root).isDirectory())
      fs.rmSync(path.dirname(root), { recursive: true, force: true })
    }))

  it.live("s3://bucket/prefix is an S3Store below the prefix, configured from the environment", () =>
    Effect.gen(function*() {
      const layer = FromUrl.layer(`s3://${s3.bucket}/from-url-prefix`, { conditionalPut: "etag-unquoted" })
      const result = yield* roundTrip(layer)
      assert.deepStrictEqual(result, { name: "S3Store", text: "hello" })
      // The object lands below the prefix of the URL.
      const key = `k-${crypto.randomUUID()}`
      yield* Effect.provide(ObjectStore.put(key, "x"), layer)
      const meta = yield* Effect.provide(ObjectStore.head(`from-url-prefix/${key}`), S3Store.layer(rgwOptions))
      assert.strictEqual(meta.size, 1)
      yield* Effect.provide(ObjectStore.delete(key), layer)
    }).pipe(Effect.withConfigProvider(rgwEnvironment)))

  it.live("s3a:// is the same store; options win over the environment", () =>
    Effect.gen(function*() {
      const layer = FromUrl.layer(`s3a://${s3.bucket}/from-url-s3a`, {
        accessKeyId: s3.accessKeyId,
        secretAccessKey: s3.secretAccessKey,
        endpoint: s3.endpoint,
        client: { allowHttp: true }
      })
      const result = yield* roundTrip(layer)
      assert.deepStrictEqual(result, { name: "S3Store", text: "hello" })
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(
      // Wrong keys in the environment: the options must be the ones used.
      new Map([["AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0"], ["AWS_SECRET_ACCESS_KEY", "wrong"]])
    ))))

  it.effect("an unknown scheme or a malformed URL is InvalidConfig listing the supported forms", () =>
    Effect.gen(function*() {
      for (const url of ["ftp://host/x", "not a url", "gopher://bucket", "mailto:someone@example.com"]) {
        const error = yield* invalidConfig(Effect.provide(ObjectStore.ObjectStore, FromUrl.layer(dynamic(url))))
        assert.strictEqual(error.field, "url", url)
        assert.include(error.message, "memory:///", url)
        assert.include(error.message, "s3://<bucket>", url)
      }
    }))
})

describe("FromUrl on the other servers", () => {
  it.effect("the emulator's http://127.0.0.1:10000/devstoreaccount1/<container> is an AzureStore", () =>
    Effect.gen(function*() {
      yield* Effect.promise(() => ensureContainer("from-url"))
      const url = `${azurite.endpoint}/from-url/some/prefix`
      const result = yield* roundTrip(FromUrl.layer(dynamic(url), { client: { allowHttp: true } }))
      assert.deepStrictEqual(result, { name: "AzureStore", text: "hello" })
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))

  it.effect("gs://<bucket> is a GCSStore, pointed at the emulator by STORAGE_EMULATOR_HOST", () =>
    Effect.gen(function*() {
      const result = yield* roundTrip(FromUrl.layer("gs://from-url-bucket/prefix"))
      assert.deepStrictEqual(result, { name: "GCSStore", text: "hello" })
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["STORAGE_EMULATOR_HOST", gcs.endpoint]])))))

  it.effect("any other http(s) URL is an HTTPStore", () =>
    Effect.gen(function*() {
      const url = `${webdav.url}from-url-${crypto.randomUUID()}/` as const
      const result = yield* roundTrip(FromUrl.layer(url, { client: { allowHttp: true } }))
      assert.deepStrictEqual(result, { name: "HTTPStore", text: "hello" })
    }))

  it.scoped("https hosts go to their cloud: Azure accounts, Google storage, S3, then HTTPStore", () =>
    Effect.gen(function*() {
      const cases = [
        ["https://acct.blob.core.windows.net/container/prefix", "AzureStore", { skipSignature: true }],
        ["az://container/prefix", "AzureStore", { account: "acct", skipSignature: true }],
        ["https://storage.googleapis.com/bucket/prefix", "GCSStore", { skipSignature: true }],
        ["https://my-bucket.s3.eu-west-1.amazonaws.com", "S3Store", { skipSignature: true }],
        ["https://files.example.com/dav/", "HTTPStore", {}]
      ] as const
      for (const [url, name, options] of cases) {
        const store = yield* FromUrl.fromUrl(dynamic(url), options)
        assert.strictEqual(store.name, name, url)
      }
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))

  it.effect("an option of another cloud is InvalidConfig naming it", () =>
    Effect.gen(function*() {
      const error = yield* invalidConfig(
        Effect.scoped(FromUrl.fromUrl("gs://bucket", { accessKeyId: "AKIA" } as FromUrl.GCSUrlOptions))
      )
      assert.strictEqual(error.field, "accessKeyId")
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))
})

describe("FromUrl.fromUrl", () => {
  it.scoped("returns the service, so a program can hold several stores", () =>
    Effect.gen(function*() {
      const a = yield* FromUrl.fromUrl("memory:///")
      const b = yield* FromUrl.fromUrl("memory:///")
      const root = tempDir()
      const c = yield* FromUrl.fromUrl(`file://${root}`)
      yield* a.put("x", "from a")
      yield* c.put("x", "from c")
      assert.strictEqual(yield* Effect.flatMap(a.get("x"), (r) => r.text), "from a")
      assert.strictEqual((yield* Effect.flip(b.head("x")))._tag, "NotFound")
      assert.strictEqual(fs.readFileSync(path.join(root, "x"), "utf8"), "from c")
      assert.deepStrictEqual([a.name, b.name, c.name], ["MemoryStore", "MemoryStore", "LocalStore"])
      fs.rmSync(root, { recursive: true, force: true })
    }))

  it.scoped("every https form makes an S3 store", () =>
    Effect.gen(function*() {
      for (
        const url of [
          "https://s3.eu-west-1.amazonaws.com/my-bucket/some/prefix",
          "https://my-bucket.s3.eu-west-1.amazonaws.com",
          "https://0123abcd.r2.cloudflarestorage.com/my-bucket"
        ] as const
      ) {
        const store = yield* FromUrl.fromUrl(url, { skipSignature: true })
        assert.strictEqual(store.name, "S3Store", url)
      }
    }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))))

  it.effect("a relative or host file URL is InvalidConfig, not a silent /dir", () =>
    Effect.gen(function*() {
      for (const url of ["file://dir", "file://dir/sub", "file:dir", "file:./dir", "file:/abs"]) {
        const error = yield* invalidConfig(Effect.scoped(FromUrl.fromUrl(dynamic(url))))
        assert.strictEqual(error.field, "url", url)
        assert.include(error.message, "file:///", url)
      }
    }))

  it.effect("a memory URL with a location is InvalidConfig", () =>
    Effect.gen(function*() {
      for (const url of ["memory:///dir", "memory://host/", "memory:///?x=1"]) {
        const error = yield* invalidConfig(Effect.scoped(FromUrl.fromUrl(dynamic(url))))
        assert.strictEqual(error.field, "url", url)
      }
    }))

  it.effect("an S3 URL without a bucket is InvalidConfig", () =>
    Effect.gen(function*() {
      for (
        const url of [
          "s3://",
          "https://s3.eu-west-1.amazonaws.com/",
          "https://acc.r2.cloudflarestorage.com",
          "s3://user:pass@bucket/x",
          "s3://Bad_Bucket/x"
        ]
      ) {
        const error = yield* invalidConfig(
          Effect.scoped(FromUrl.fromUrl(dynamic(url))).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
          )
        )
        assert.isDefined(error.field, url)
      }
    }))

  it.effect("an option the picked store does not have is InvalidConfig naming it", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
        ["memory:///", { accessKeyId: "AKIA" }, "accessKeyId"],
        ["file:///tmp", { accessKeyId: "AKIA" }, "accessKeyId"],
        ["file:///tmp", { root: "/elsewhere" }, "root"],
        ["s3://bucket/prefix", { mkdir: true }, "mkdir"],
        ["s3://bucket/prefix", { bucket: "other" }, "bucket"],
        ["s3://bucket/prefix", { prefix: "other" }, "prefix"],
        ["https://s3.eu-west-1.amazonaws.com/bucket", { region: "us-east-1" }, "region"],
        ["https://acc.r2.cloudflarestorage.com/bucket", { endpoint: "https://example.com" }, "endpoint"]
      ]
      for (const [url, options, field] of cases) {
        const error = yield* invalidConfig(
          Effect.scoped(FromUrl.fromUrl(dynamic(url), options as FromUrl.UrlOptions)).pipe(
            Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
          )
        )
        assert.strictEqual(error.field, field, url)
        assert.include(error.message, field, url)
      }
    }))

  it.effect("options are typed by scheme", () =>
    Effect.gen(function*() {
      // Each line is a type error, checked by `tsc` (an unused @ts-expect-error is an error too); at run time each
      // is an InvalidConfig naming the option.
      // @ts-expect-error a memory store takes no options
      const memory = FromUrl.fromUrl("memory:///", { accessKeyId: "AKIA" })
      // @ts-expect-error mkdir is a LocalStore option
      const s3 = FromUrl.fromUrl("s3://bucket", { mkdir: true })
      // @ts-expect-error accessKeyId is an S3Store option
      const file = FromUrl.layer("file:///tmp", { accessKeyId: "AKIA" })
      // @ts-expect-error the bucket comes from the URL
      const bucket = FromUrl.fromUrl("s3://bucket", { bucket: "other" })
      // @ts-expect-error the root comes from the URL
      const root = FromUrl.fromUrl("file:///tmp", { root: "/x" })
      // Well-typed: the options of the store the scheme picks.
      const typed = FromUrl.fromUrl("s3://bucket", { region: "eu-west-1", skipSignature: true })
      const local = FromUrl.fromUrl("file:///tmp", { mkdir: false })
      assert.isTrue(Effect.isEffect(typed) && Effect.isEffect(local))
      const env = Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      assert.strictEqual((yield* invalidConfig(Effect.scoped(memory))).field, "accessKeyId")
      assert.strictEqual((yield* invalidConfig(env(Effect.scoped(s3)))).field, "mkdir")
      assert.strictEqual((yield* invalidConfig(Effect.provide(ObjectStore.ObjectStore, file))).field, "accessKeyId")
      assert.strictEqual((yield* invalidConfig(env(Effect.scoped(bucket)))).field, "bucket")
      assert.strictEqual((yield* invalidConfig(Effect.scoped(root))).field, "root")
    }))

  it.effect("MemoryStore.parseUrl takes memory:/// only", () =>
    Effect.sync(() => {
      assert.isTrue(Either.isRight(MemoryStore.parseUrl("memory:///")))
      assert.isTrue(Either.isLeft(MemoryStore.parseUrl("memory:///x")))
      assert.isTrue(Either.isLeft(MemoryStore.parseUrl("file:///x")))
    }))
})

describe("S3 URL forms", () => {
  const parse = (url: string) => Either.getOrThrowWith(S3Url.parse(url), (why) => new Error(why))

  it("s3:// and s3a:// name a bucket and an optional prefix", () => {
    assert.deepStrictEqual(parse("s3://bucket"), { bucket: "bucket" })
    assert.deepStrictEqual(parse("s3://bucket/"), { bucket: "bucket" })
    assert.deepStrictEqual(parse("s3://bucket/a/b/"), { bucket: "bucket", prefix: "a/b" })
    assert.deepStrictEqual(parse("s3a://bucket/a%20b"), { bucket: "bucket", prefix: "a b" })
  })

  it("https://s3.<region>.amazonaws.com/<bucket>[/prefix] is path style, endpoint fixed", () => {
    assert.deepStrictEqual(parse("https://s3.eu-west-1.amazonaws.com/bucket"), {
      bucket: "bucket",
      region: "eu-west-1",
      endpoint: "https://s3.eu-west-1.amazonaws.com"
    })
    assert.deepStrictEqual(parse("https://s3.us-east-2.amazonaws.com/bucket/p/q"), {
      bucket: "bucket",
      region: "us-east-2",
      endpoint: "https://s3.us-east-2.amazonaws.com",
      prefix: "p/q"
    })
    assert.deepStrictEqual(parse("https://s3.amazonaws.com/bucket"), {
      bucket: "bucket",
      endpoint: "https://s3.amazonaws.com"
    })
  })

  it("https://<bucket>.s3.<region>.amazonaws.com[/prefix] is virtual-hosted style", () => {
    assert.deepStrictEqual(parse("https://my.bucket.s3.eu-west-1.amazonaws.com/p"), {
      bucket: "my.bucket",
      region: "eu-west-1",
      endpoint: "https://s3.eu-west-1.amazonaws.com",
      virtualHostedStyleRequest: true,
      prefix: "p"
    })
    assert.deepStrictEqual(parse("https://bucket.s3.ap-south-1.amazonaws.com"), {
      bucket: "bucket",
      region: "ap-south-1",
      endpoint: "https://s3.ap-south-1.amazonaws.com",
      virtualHostedStyleRequest: true
    })
  })

  it("https://<account>.r2.cloudflarestorage.com/<bucket> sets the account's endpoint", () => {
    assert.deepStrictEqual(parse("https://0123abcd.r2.cloudflarestorage.com/bucket/p"), {
      bucket: "bucket",
      region: "auto",
      endpoint: "https://0123abcd.r2.cloudflarestorage.com",
      prefix: "p"
    })
  })

  it("other hosts, schemes and malformed escapes are refused", () => {
    for (
      const url of [
        "https://example.com/bucket",
        "http://s3.eu-west-1.amazonaws.com/bucket",
        "s3://bucket/%zz",
        "s3://bucket/x?versionId=1",
        "https://s3.eu-west-1.amazonaws.com"
      ]
    ) {
      assert.isTrue(Either.isLeft(S3Url.parse(url)), url)
    }
  })
})

describe("file URL form", () => {
  it("file:///abs is the directory, percent-decoded", () => {
    assert.deepStrictEqual(LocalUrl.parse("file:///var/data"), Either.right({ root: "/var/data" }))
    assert.deepStrictEqual(LocalUrl.parse("file:///a%20b/c"), Either.right({ root: "/a b/c" }))
  })

  it("relative, host and escaped-slash forms are refused", () => {
    for (const url of ["file://dir", "file:dir", "file:/abs", "file://host/abs", "file:///a%2Fb", "file:///a?x"]) {
      assert.isTrue(Either.isLeft(LocalUrl.parse(url)), url)
    }
  })
})
