// A scanner for ListObjectsV2 responses, the one S3 body big enough for its parsing to matter. Measured on a 1,000-key
// page (RGW's format): fast-xml-parser 5.12 takes 30-44 ms (30-44 µs a key, more than the rest of a listing put
// together, and what makes the AWS SDK's listing slow too); this scanner takes well under a millisecond. It reads only
// the elements a listing needs and rejects a document whose structure it does not find, so a corrupt body is an
// error, never a silently short listing. Everything else S3 sends is parsed with fast-xml-parser (xml.ts).

export interface ListEntry {
  readonly key: string
  readonly size: string
  readonly lastModified: string
  readonly eTag: string | undefined
}

export interface ListPage {
  readonly contents: ReadonlyArray<ListEntry>
  readonly commonPrefixes: ReadonlyArray<string>
  readonly isTruncated: boolean
  readonly nextContinuationToken: string | undefined
}

const ENTITY = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/g
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }

const decode = (s: string): string =>
  s.indexOf("&") === -1 ?
    s :
    s.replace(ENTITY, (_, hex: string | undefined, dec: string | undefined, name) =>
      hex !== undefined
        ? String.fromCodePoint(parseInt(hex, 16))
        : dec !== undefined
        ? String.fromCodePoint(parseInt(dec, 10))
        : NAMED[name as string])

/** The text of the first `<name>…</name>` between `from` and `to`, or undefined. */
const element = (xml: string, name: string, from: number, to: number): string | undefined => {
  const open = xml.indexOf("<" + name + ">", from)
  if (open === -1 || open >= to) {
    // An empty element may be written `<name/>`.
    const empty = xml.indexOf("<" + name + "/>", from)
    return empty !== -1 && empty < to ? "" : undefined
  }
  const start = open + name.length + 2
  const close = xml.indexOf("</" + name + ">", start)
  if (close === -1 || close > to) return undefined
  return decode(xml.slice(start, close))
}

/** Parses a ListBucketResult; a string says what is wrong with the document. */
export const parseListPage = (xml: string): ListPage | string => {
  const root = xml.indexOf("<ListBucketResult")
  const end = xml.lastIndexOf("</ListBucketResult>")
  if (root === -1 || end === -1 || end < root) return "the body is not a ListBucketResult document"
  const contents: Array<ListEntry> = []
  const commonPrefixes: Array<string> = []
  // Top-level fields come before, between or after the repeated elements: read them outside those blocks.
  let outside = ""
  let at = root
  for (;;) {
    const nextContents = xml.indexOf("<Contents>", at)
    const nextPrefix = xml.indexOf("<CommonPrefixes>", at)
    const next = nextContents === -1
      ? nextPrefix
      : nextPrefix === -1
      ? nextContents
      : Math.min(nextContents, nextPrefix)
    if (next === -1 || next > end) {
      outside += xml.slice(at, end)
      break
    }
    outside += xml.slice(at, next)
    if (next === nextContents) {
      const close = xml.indexOf("</Contents>", next)
      if (close === -1 || close > end) return "a Contents element is not closed"
      const key = element(xml, "Key", next, close)
      const size = element(xml, "Size", next, close)
      const lastModified = element(xml, "LastModified", next, close)
      if (key === undefined || size === undefined || lastModified === undefined) {
        return "a Contents element lacks Key, Size or LastModified"
      }
      contents.push({ key, size, lastModified, eTag: element(xml, "ETag", next, close) })
      at = close + 11
    } else {
      const close = xml.indexOf("</CommonPrefixes>", next)
      if (close === -1 || close > end) return "a CommonPrefixes element is not closed"
      const prefix = element(xml, "Prefix", next, close)
      if (prefix === undefined) return "a CommonPrefixes element lacks its Prefix"
      commonPrefixes.push(prefix)
      at = close + 17
    }
  }
  const truncated = element(outside, "IsTruncated", 0, outside.length)
  if (truncated !== undefined && truncated !== "true" && truncated !== "false") {
    return `IsTruncated is neither true nor false: ${JSON.stringify(truncated)}`
  }
  return {
    contents,
    commonPrefixes,
    isTruncated: truncated === "true",
    nextContinuationToken: element(outside, "NextContinuationToken", 0, outside.length)
  }
}
