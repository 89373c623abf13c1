import { assert, describe, it } from "@effect/vitest"
import { parseListPage } from "effect-obstore/internal/s3/listXml"
import * as Xml from "effect-obstore/internal/s3/xml"
import * as fc from "fast-check"

const escape = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;")

interface Entry {
  readonly key: string
  readonly size: number
  readonly eTag: string
}

const document = (entries: ReadonlyArray<Entry>, prefixes: ReadonlyArray<string>, token?: string) =>
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
  "<Name>test-bucket</Name><Prefix></Prefix><KeyCount>" + entries.length + "</KeyCount><MaxKeys>1000</MaxKeys>" +
  `<IsTruncated>${token === undefined ? "false" : "true"}</IsTruncated>` +
  entries.map((e) =>
    `<Contents><Key>${escape(e.key)}</Key><LastModified>2026-11-26T09:00:00.000Z</LastModified>` +
    `<ETag>${escape(e.eTag)}</ETag><Size>${e.size}</Size><StorageClass>STANDARD</StorageClass>` +
    "<Owner><ID>tester</ID><DisplayName>Test User</DisplayName></Owner><Type>Normal</Type></Contents>"
  ).join("") +
  prefixes.map((p) => `<CommonPrefixes><Prefix>${escape(p)}</Prefix></CommonPrefixes>`).join("") +
  (token === undefined ? "" : `<NextContinuationToken>${escape(token)}</NextContinuationToken>`) +
  "</ListBucketResult>"

const key = fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).filter((s) => !/[\u0000-\u001f]/.test(s))

describe("listXml", () => {
  it("reads what fast-xml-parser reads, for any keys, ETags and prefixes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key, size: fc.nat(), eTag: fc.string({ maxLength: 40 }) }), { maxLength: 20 }),
        fc.array(key, { maxLength: 5 }),
        fc.option(key, { nil: undefined }),
        (entries, prefixes, token) => {
          const xml = document(entries, prefixes, token)
          const page = parseListPage(xml)
          if (typeof page === "string") return assert.fail(page)
          assert.deepStrictEqual(page.contents.map((c) => c.key), entries.map((e) => e.key))
          assert.deepStrictEqual(page.contents.map((c) => c.eTag), entries.map((e) => e.eTag))
          assert.deepStrictEqual(page.contents.map((c) => Number(c.size)), entries.map((e) => e.size))
          assert.deepStrictEqual(page.commonPrefixes, prefixes)
          assert.strictEqual(page.isTruncated, token !== undefined)
          assert.strictEqual(page.nextContinuationToken, token)
          // The reference parser agrees on the keys.
          const reference = Xml.list(Xml.child(Xml.parse(xml), "ListBucketResult"), "Contents").map((c) =>
            Xml.text(c, "Key")
          )
          assert.deepStrictEqual(page.contents.map((c) => c.key), reference)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("decodes numeric character references", () => {
    const page = parseListPage(
      "<ListBucketResult><Contents><Key>a&#233;&#x1F600;&amp;b</Key><Size>1</Size>" +
        "<LastModified>2026-01-01T00:00:00Z</LastModified></Contents></ListBucketResult>"
    )
    if (typeof page === "string") return assert.fail(page)
    assert.strictEqual(page.contents[0].key, "aé😀&b")
    assert.isUndefined(page.contents[0].eTag)
  })

  it("rejects documents whose structure is broken", () => {
    const good = document([{ key: "a", size: 1, eTag: "\"e\"" }], ["p/"])
    const broken = [
      "",
      "<Error><Code>InternalError</Code></Error>",
      good.replace("</ListBucketResult>", ""),
      good.replace("</Contents>", ""),
      good.replace("<Key>a</Key>", ""),
      good.replace("<Size>1</Size>", ""),
      good.replace("</CommonPrefixes>", ""),
      good.replace("<IsTruncated>false", "<IsTruncated>maybe")
    ]
    for (const xml of broken) assert.isString(parseListPage(xml), xml.slice(0, 80))
  })

  it("an empty listing is an empty page", () => {
    const page = parseListPage("<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount></ListBucketResult>")
    if (typeof page === "string") return assert.fail(page)
    assert.deepStrictEqual(page.contents, [])
    assert.isFalse(page.isTruncated)
  })
})
