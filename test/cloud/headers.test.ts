import { assert, describe, it } from "@effect/vitest"
import type { HeaderConfig } from "effect-obstore/internal/cloud/headers"
import { attributeHeaders, attributesFrom, metaFrom } from "effect-obstore/internal/cloud/headers"

const s3: HeaderConfig = {
  metadataPrefix: "x-amz-meta-",
  versionHeader: "x-amz-version-id",
  storageClassHeader: "x-amz-storage-class"
}
const gcs: HeaderConfig = { metadataPrefix: "x-goog-meta-" }

describe("cloud headers <-> attributes", () => {
  it("writes attributes and metadata as the cloud's headers", () => {
    const headers = attributeHeaders(s3, {
      contentType: "text/plain",
      cacheControl: "no-cache",
      storageClass: "STANDARD_IA",
      metadata: { Owner: "me", "a-b": "c" }
    }, {})
    assert.deepStrictEqual(headers, {
      "content-type": "text/plain",
      "cache-control": "no-cache",
      "x-amz-storage-class": "STANDARD_IA",
      "x-amz-meta-owner": "me",
      "x-amz-meta-a-b": "c"
    })
    // A cloud without a storage-class header sends none.
    assert.deepStrictEqual(attributeHeaders(gcs, { storageClass: "COLD", metadata: { k: "v" } }, {}), {
      "x-goog-meta-k": "v"
    })
  })

  it("reads attributes back from an answer, and only the cloud's own metadata prefix", () => {
    const attributes = attributesFrom(s3, {
      "content-type": "text/plain",
      "content-language": "en",
      "x-amz-storage-class": "GLACIER",
      "x-amz-meta-owner": "me",
      "x-amz-meta-list": ["a", "b"],
      "x-goog-meta-other": "no",
      etag: "\"e\""
    })
    assert.deepStrictEqual(attributes, {
      contentType: "text/plain",
      contentLanguage: "en",
      storageClass: "GLACIER",
      metadata: { owner: "me", list: "a,b" }
    })
    assert.deepStrictEqual(attributesFrom(gcs, { "x-amz-meta-owner": "me" }), {})
  })

  it("round trips through headers", () => {
    const attributes = { contentDisposition: "inline", contentEncoding: "gzip", metadata: { x: "1" } }
    assert.deepStrictEqual(attributesFrom(gcs, attributeHeaders(gcs, attributes, {})), attributes)
  })

  it("reads the metadata of an object, the version from the cloud's header", () => {
    const meta = metaFrom(s3, "p", {
      "last-modified": "Tue, 01 Apr 2025 10:00:00 GMT",
      etag: "\"abc\"",
      "x-amz-version-id": "v1"
    }, 42)
    assert.deepStrictEqual(meta, {
      path: "p",
      lastModified: new Date("2025-04-01T10:00:00Z"),
      size: 42,
      eTag: "\"abc\"",
      version: "v1"
    })
    assert.strictEqual(metaFrom(gcs, "p", { "x-amz-version-id": "v1" }, 0).version, undefined)
    assert.strictEqual(metaFrom(gcs, "p", {}, 0).lastModified.getTime(), 0)
  })
})
