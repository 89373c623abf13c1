/**
 * HTTPStore against rclone's WebDAV server (scripts/webdav.sh): the conformance suite with what WebDAV can honestly
 * do, then what is particular to WebDAV (collections made on demand, Overwrite, PROPFIND bodies, secrets).
 */
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Either, Layer, Redacted, Stream } from "effect"
import * as HTTPStore from "effect-obstore/HTTPStore"
import * as ObjectStore from "effect-obstore/ObjectStore"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { parseUrl } from "../src/internal/webdav/url.js"
import { depthOf, parseMultistatus } from "../src/internal/webdav/xml.js"
import { full } from "./conformance/capabilities.js"
import { conformance } from "./conformance/suite.js"
import { webdav } from "./support/servers.js"

// Every test of this file works below its own prefix: other test files use the same server at the same time.
const run = `http-store/${randomUUID()}`
const options: HTTPStore.HTTPOptions = { url: webdav.url, prefix: run, client: { allowHttp: true } }
const rclone = HTTPStore.layer(options)

conformance("HTTPStore (rclone WebDAV)", rclone, {
  ...full,
  putCreate: false,
  putUpdate: false,
  attributes: [],
  tags: false,
  reasons: {
    ...full.reasons,
    putCreate: "rclone (like most WebDAV servers) ignores If-None-Match on PUT: a create cannot be made safe",
    putUpdate: "rclone ignores If-Match on PUT: an update cannot be made safe",
    attributes: "WebDAV keeps no content headers or user metadata of an upload",
    tags: "WebDAV has no object tags",
    versions: "WebDAV servers keep only the latest object"
  }
})

const onDisk = (...parts: ReadonlyArray<string>) => path.join(webdav.root, run, ...parts)

describe("HTTPStore (WebDAV specifics)", () => {
  it.live("a put makes the missing collections, and again after they were removed behind its back", () =>
    Effect.gen(function*() {
      const dir = `mkcol/${randomUUID()}`
      yield* ObjectStore.put(`${dir}/a/b/c.txt`, "deep")
      assert.strictEqual(fs.readFileSync(onDisk(dir, "a", "b", "c.txt"), "utf8"), "deep")
      fs.rmSync(onDisk(dir, "a"), { recursive: true })
      yield* ObjectStore.put(`${dir}/a/b/d.txt`, "again")
      assert.strictEqual(fs.readFileSync(onDisk(dir, "a", "b", "d.txt"), "utf8"), "again")
    }).pipe(Effect.provide(rclone)))

  it.live("a put into a base collection that does not exist yet makes it (but not its parents)", () =>
    Effect.gen(function*() {
      const base = `${run}/fresh-base-${randomUUID()}`
      const store = yield* HTTPStore.make({ ...options, prefix: undefined, url: `${webdav.url}${base}/` }).pipe(
        Effect.orDie
      )
      yield* store.put("top", "made")
      assert.strictEqual(fs.readFileSync(path.join(webdav.root, base, "top"), "utf8"), "made")
      const deeper = yield* HTTPStore.make({ ...options, prefix: undefined, url: `${webdav.url}${base}/x/y/` }).pipe(
        Effect.orDie
      )
      assert.strictEqual((yield* Effect.flip(deeper.put("top", "no")))._tag, "StoreError")
      assert.isFalse(fs.existsSync(path.join(webdav.root, base, "x")), "no collection above the base was made")
    }).pipe(Effect.scoped))

  it.live("delete of a path that names a collection removes nothing", () =>
    Effect.gen(function*() {
      const dir = `collection/${randomUUID()}`
      yield* ObjectStore.put(`${dir}/keep/me`, "kept")
      yield* ObjectStore.delete(`${dir}/keep`)
      assert.strictEqual(fs.readFileSync(onDisk(dir, "keep", "me"), "utf8"), "kept")
    }).pipe(Effect.provide(rclone)))

  it.live(
    "a streamed put bigger than one PUT goes through a temporary resource that is never listed",
    () =>
      Effect.gen(function*() {
        const dir = `streamed/${randomUUID()}`
        const chunk = new Uint8Array(1024 * 1024).fill(7)
        const chunks = Stream.range(1, 17).pipe(Stream.as(chunk))
        const result = yield* ObjectStore.put(`${dir}/big`, chunks)
        assert.strictEqual(result.eTag, (yield* ObjectStore.head(`${dir}/big`)).eTag)
        assert.deepStrictEqual(fs.readdirSync(onDisk(dir)), ["big"], "no temporary resource is left")
        assert.strictEqual(fs.statSync(onDisk(dir, "big")).size, 17 * 1024 * 1024)
        fs.writeFileSync(onDisk(dir, ".effect-obstore-upload-leftover"), "x")
        const listed = yield* ObjectStore.list(dir).pipe(Stream.map((m) => m.path), Stream.runCollect)
        assert.deepStrictEqual([...listed], [`${dir}/big`])
      }).pipe(Effect.provide(rclone)),
    120_000
  )

  it.live("the ETag is the content's MD5 (rclone --etag-hash MD5) and meta comes from PROPFIND", () =>
    Effect.gen(function*() {
      const dir = `meta/${randomUUID()}`
      yield* ObjectStore.put(`${dir}/x`, "hello world")
      const [listed] = (yield* ObjectStore.listWithDelimiter(dir)).objects
      assert.strictEqual(listed.eTag, "\"5eb63bbbe01eeed093cb22bb8f5acdc3\"")
      assert.strictEqual(listed.size, 11)
      assert.strictEqual((yield* ObjectStore.head(`${dir}/x`)).eTag, listed.eTag)
    }).pipe(Effect.provide(rclone)))

  it.live("invalid config fails with InvalidConfig naming the field, without echoing header values", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ url: "not a url" }, "url"],
        [{ url: "ftp://example.com/" }, "url"],
        [{ url: "https://user:pw@example.com/" }, "url"],
        [{ url: "https://example.com/?q=1" }, "url"],
        [{ url: webdav.url }, "url"],
        [{ url: "https://example.com/", headers: { "bad name": "x" } }, "headers"],
        [{ url: "https://example.com/", headers: { range: "bytes=0-1" } }, "headers"],
        [{ url: "https://example.com/", headers: { authorization: "Bearer s3cr3t\nx: y" } }, "headers.authorization"],
        [{ url: "https://example.com/", bucket: "typo" }, "bucket"],
        [{ url: "https://example.com/", retry: { maxRetries: -1 } }, "retry.maxRetries"]
      ]
      for (const [input, field] of cases) {
        const error = yield* Effect.flip(Effect.scoped(HTTPStore.make(input as HTTPStore.HTTPOptions)))
        assert.strictEqual(error._tag, "InvalidConfig", JSON.stringify(input))
        if (error._tag === "InvalidConfig") assert.isTrue(error.field?.startsWith(field), error.message)
        assert.notInclude(error.message, "s3cr3t")
      }
    }))

  it.live("header values are Redacted in the decoded config and sent to the server", () =>
    Effect.gen(function*() {
      const { config } = yield* HTTPStore.HTTPStore
      assert.isTrue(Redacted.isRedacted(config.headers.authorization))
      assert.notInclude(JSON.stringify(config), "s3cr3t")
      assert.notInclude(String(config), "s3cr3t")
      // rclone without --user accepts any credentials: the request goes through with the header.
      yield* ObjectStore.put(`headers/${randomUUID()}`, "x")
    }).pipe(Effect.provide(HTTPStore.layer({ ...options, headers: { authorization: "Bearer s3cr3t" } }))))
})

describe("HTTPStore multistatus bodies", () => {
  const response = (href: string, props: string) =>
    `<D:response><D:href>${href}</D:href><D:propstat><D:prop>${props}</D:prop>` +
    `<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>`
  const doc = (body: string) => `<?xml version="1.0"?><D:multistatus xmlns:D="DAV:">${body}</D:multistatus>`

  it("reads collections, lengths, dates and ETags, with any namespace prefix, entities decoded", () => {
    const entries = parseMultistatus(
      doc(
        response("/d/", "<D:resourcetype><D:collection/></D:resourcetype>") +
          response(
            "/d/a&amp;b",
            "<D:resourcetype/><D:getcontentlength>5</D:getcontentlength>" +
              "<D:getlastmodified>Sun, 29 Nov 2026 10:20:14 GMT</D:getlastmodified><D:getetag>&quot;x&quot;</D:getetag>"
          )
      ).replace(/D:/g, "lp1:").replace("xmlns:lp1", "xmlns:lp1")
    )
    assert.deepStrictEqual(entries, [
      { href: "/d/", collection: true, contentLength: undefined, lastModified: undefined, eTag: undefined },
      {
        href: "/d/a&b",
        collection: false,
        contentLength: "5",
        lastModified: "Sun, 29 Nov 2026 10:20:14 GMT",
        eTag: "\"x\""
      }
    ])
  })

  it("refuses entity declarations (billion laughs) without expanding anything", () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>` +
      doc(response("/&b;", ""))
    const result = parseMultistatus(laughs)
    assert.isString(result)
    assert.include(result as string, "DOCTYPE")
  })

  it("refuses deeply nested bodies before parsing them", () => {
    const deep = doc(response("/x", "<a>".repeat(10_000) + "</a>".repeat(10_000)))
    assert.isAbove(depthOf(deep, 32), 32)
    assert.include(parseMultistatus(deep) as string, "nested deeper")
  })

  it("refuses bodies that are not multistatus XML", () => {
    assert.isString(parseMultistatus("<html><body>hello</body></html>"))
    assert.isString(parseMultistatus("<D:multistatus xmlns:D=\"DAV:\"><D:response>"))
    assert.deepStrictEqual(parseMultistatus(doc("")), [])
  })
})

describe("HTTPStore URLs", () => {
  it("parseUrl takes http(s) URLs and refuses credentials, queries and other schemes", () => {
    assert.deepStrictEqual(
      parseUrl("https://dav.example.com/remote.php/dav/files/me/"),
      Either.right({
        url: "https://dav.example.com/remote.php/dav/files/me/"
      })
    )
    assert.deepStrictEqual(parseUrl("http://127.0.0.1:47481"), Either.right({ url: "http://127.0.0.1:47481/" }))
    for (
      const bad of ["s3://bucket", "https://u:p@example.com/", "https://example.com/?x=1", "https://e.com/%zz", "x"]
    ) {
      assert.isTrue(Either.isLeft(parseUrl(bad)), bad)
    }
  })
})

/**
 * A loopback server in front of rclone that refuses PROPFIND with Depth: infinity (403, as RFC 4918 lets a server
 * do) and forwards everything else: listings must then walk Depth: 1.
 */
const finiteDepthProxy = Effect.acquireRelease(
  Effect.promise(async () => {
    const target = new URL(webdav.url)
    const depths: Array<string> = []
    const server = http.createServer((req, res) => {
      if (req.method === "PROPFIND") depths.push(String(req.headers.depth))
      if (req.method === "PROPFIND" && req.headers.depth === "infinity") {
        req.resume()
        res.writeHead(403, { "content-type": "application/xml" }).end(
          "<?xml version=\"1.0\"?><D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>"
        )
        return
      }
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
      )
      req.pipe(upstream)
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    return { server, depths, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }
  }),
  ({ server }) =>
    Effect.promise(() =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    )
)

describe("HTTPStore on a server that refuses Depth: infinity", () => {
  it.live("list walks Depth: 1, in lexicographic order, with offset, and remembers the refusal", () =>
    Effect.gen(function*() {
      const proxy = yield* finiteDepthProxy
      const store = yield* HTTPStore.make({ ...options, url: proxy.url, prefix: `${run}/walk` }).pipe(Effect.orDie)
      // WebDAV cannot hold "a" both as an object and as a collection: the names differ.
      const paths = ["a-b", "a/x", "a/y/z", "a0", "b/c", "é"]
      yield* Effect.forEach(paths, (p) => store.put(p, p), { concurrency: 4, discard: true })
      const listed = (offset?: string) =>
        store.list("", offset === undefined ? {} : { offset }).pipe(Stream.map((m) => m.path), Stream.runCollect)
      assert.deepStrictEqual([...yield* listed()], [...paths].sort())
      assert.deepStrictEqual([...yield* listed("a/x")], ["a/y/z", "a0", "b/c", "é"])
      assert.deepStrictEqual([...yield* Stream.runCollect(Stream.map(store.list("a"), (m) => m.path))], [
        "a/x",
        "a/y/z"
      ])
      assert.strictEqual(proxy.depths.filter((d) => d === "infinity").length, 1, "infinity was asked once")
    }).pipe(Effect.scoped))
})

describe("HTTPStore.layerConfig", () => {
  const fromMap = (entries: ReadonlyArray<readonly [string, string]>) =>
    Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries)))

  it.live("reads HTTP_URL and HTTP_ALLOW_HTTP; overrides win", () =>
    Effect.gen(function*() {
      yield* ObjectStore.put("from-env.txt", "env")
      assert.strictEqual(yield* Effect.flatMap(ObjectStore.get("from-env.txt"), (r) => r.text), "env")
      const onDisk = fs.readFileSync(path.join(webdav.root, run, "env", "from-env.txt"), "utf8")
      assert.strictEqual(onDisk, "env")
    }).pipe(
      Effect.provide(
        HTTPStore.layerConfig({ prefix: `${run}/env` }).pipe(
          Layer.provide(fromMap([["HTTP_URL", webdav.url], ["HTTP_ALLOW_HTTP", "true"]]))
        )
      )
    ))

  it.live("without HTTP_URL it is InvalidConfig naming the url; HTTP_BEARER_TOKEN is sent, never shown", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(Layer.build(HTTPStore.layerConfig().pipe(Layer.provide(fromMap([])))))
      assert.strictEqual(missing._tag, "InvalidConfig")
      assert.include(missing.message, "HTTP_URL")
      const seen: Array<string | undefined> = []
      const server = http.createServer((req, res) => {
        seen.push(req.headers.authorization)
        res.writeHead(200, { "content-length": "0", "last-modified": new Date(0).toUTCString() }).end()
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
      )
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
      const context = yield* Layer.build(
        HTTPStore.layerConfig().pipe(
          Layer.provide(fromMap([["HTTP_URL", url], ["HTTP_ALLOW_HTTP", "true"], ["HTTP_BEARER_TOKEN", "s3cr3t-tok"]]))
        )
      )
      const service = Context.get(context, HTTPStore.HTTPStore)
      yield* service.store.head("x")
      assert.deepStrictEqual(seen, ["Bearer s3cr3t-tok"])
      assert.notInclude(JSON.stringify(service.config), "s3cr3t-tok")
      assert.notInclude(String(service.config), "s3cr3t-tok")
    }).pipe(Effect.scoped))
})
