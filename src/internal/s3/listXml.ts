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

/** Thrown (and caught in `parseListPage`) for a character reference XML does not allow. */
class BadReference {
  constructor(readonly reference: string) {}
}

/** XML 1.0's Char production: a reference to anything else (a surrogate, NUL, past U+10FFFF) is not well-formed. */
const isXmlChar = (c: number) =>
  c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
  (c >= 0x10000 && c <= 0x10ffff)

const character = (reference: string, code: number): string => {
  if (!isXmlChar(code)) throw new BadReference(reference)
  return String.fromCodePoint(code)
}

const decode = (s: string): string =>
  s.indexOf("&") === -1 ?
    s :
    s.replace(ENTITY, (reference, hex: string | undefined, dec: string | undefined, name) =>
      hex !== undefined
        ? character(reference, parseInt(hex, 16))
        : dec !== undefined
        ? character(reference, parseInt(dec, 10))
        : NAMED[name as string])

/** The text of the first `<name>…</name>` in `block`, or undefined. */
const element = (block: string, name: string): string | undefined => {
  const open = block.indexOf("<" + name + ">")
  if (open === -1) {
    // An empty element may be written `<name/>`.
    return block.indexOf("<" + name + "/>") === -1 ? undefined : ""
  }
  const start = open + name.length + 2
  const close = block.indexOf("</" + name + ">", start)
  return close === -1 ? undefined : decode(block.slice(start, close))
}

/** Parses a ListBucketResult; a string says what is wrong with the document. */
export const parseListPage = (xml: string): ListPage | string => {
  try {
    return scan(xml)
  } catch (e) {
    if (e instanceof BadReference) return `the character reference ${e.reference.slice(0, 24)} is not allowed in XML`
    throw e
  }
}

const scan = (xml: string): ListPage | string => {
  const root = xml.indexOf("<ListBucketResult")
  const end = xml.lastIndexOf("</ListBucketResult>")
  if (root === -1 || end === -1 || end < root) return "the body is not a ListBucketResult document"
  const contents: Array<ListEntry> = []
  const commonPrefixes: Array<string> = []
  // Top-level fields come before, between or after the repeated elements: read them outside those blocks.
  let outside = ""
  let at = root
  // Where the next element of each kind starts; searched again only once passed, so a page without one kind
  // is not rescanned to its end for every element of the other (which made the scan quadratic).
  let nextContents = -2
  let nextPrefix = -2
  for (;;) {
    if (nextContents !== -1 && nextContents < at) nextContents = xml.indexOf("<Contents>", at)
    if (nextPrefix !== -1 && nextPrefix < at) nextPrefix = xml.indexOf("<CommonPrefixes>", at)
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
      // Searches stay inside the element (V8 slices share the string): a missing field never scans the page.
      const block = xml.slice(next, close)
      const key = element(block, "Key")
      const size = element(block, "Size")
      const lastModified = element(block, "LastModified")
      if (key === undefined || size === undefined || lastModified === undefined) {
        return "a Contents element lacks Key, Size or LastModified"
      }
      contents.push({ key, size, lastModified, eTag: element(block, "ETag") })
      at = close + 11
    } else {
      const close = xml.indexOf("</CommonPrefixes>", next)
      if (close === -1 || close > end) return "a CommonPrefixes element is not closed"
      const prefix = element(xml.slice(next, close), "Prefix")
      if (prefix === undefined) return "a CommonPrefixes element lacks its Prefix"
      commonPrefixes.push(prefix)
      at = close + 17
    }
  }
  const truncated = element(outside, "IsTruncated")
  if (truncated !== undefined && truncated !== "true" && truncated !== "false") {
    return `IsTruncated is neither true nor false: ${JSON.stringify(truncated)}`
  }
  return {
    contents,
    commonPrefixes,
    isTruncated: truncated === "true",
    nextContinuationToken: element(outside, "NextContinuationToken")
  }
}
