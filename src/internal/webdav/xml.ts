// WebDAV multistatus bodies (RFC 4918 section 13) read with fast-xml-parser, bounded against hostile servers: the
// size is capped before parsing (by the caller, while reading), a document nested deeper than any multistatus needs
// is refused by a linear scan, and DOCTYPEs are refused outright, so no entity is ever declared, let alone expanded.
// Only XML's five predefined entities and character references are decoded, in the few values we keep.
import { XMLParser } from "fast-xml-parser"

/** The largest multistatus body read (a Depth: infinity listing of ~90,000 entries on rclone). */
export const MAX_MULTISTATUS_BYTES = 64 * 1024 * 1024

/** The deepest element nesting accepted; a multistatus with lock discovery needs about 8. */
export const MAX_DEPTH = 32

// No entity processing at all: `&amp;` stays as written and is decoded below, in values only.
const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true
})

/** One `<response>`: the resource's href and what its 200 propstat said. */
export interface Entry {
  readonly href: string
  readonly collection: boolean
  readonly contentLength: string | undefined
  readonly lastModified: string | undefined
  readonly eTag: string | undefined
}

type Node = Record<string, unknown>

const isNode = (u: unknown): u is Node => typeof u === "object" && u !== null && !Array.isArray(u)

const list = (u: unknown): ReadonlyArray<unknown> => u === undefined ? [] : Array.isArray(u) ? u : [u]

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" }

/** XML's predefined entities and character references; anything else is left as written. */
export const decodeText = (s: string): string =>
  s.indexOf("&") === -1 ? s : s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-z]{2,4});/g, (whole, name: string) => {
    if (name.startsWith("#")) {
      const code = name[1] === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10)
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole
    }
    return ENTITIES[name] ?? whole
  })

const text = (node: unknown, name: string): string | undefined => {
  const value = isNode(node) ? node[name] : undefined
  return typeof value === "string" ? decodeText(value) : typeof value === "number" ? String(value) : undefined
}

/** The element nesting of a document, found without parsing it; stops counting past `limit`. */
export const depthOf = (body: string, limit: number): number => {
  let depth = 0
  let max = 0
  let at = body.indexOf("<")
  while (at !== -1 && at + 1 < body.length) {
    const next = body.charCodeAt(at + 1)
    const end = body.indexOf(">", at)
    if (end === -1) break
    if (next === 47 /* / */) depth--
    else if (next !== 63 /* ? */ && next !== 33 /* ! */ && body.charCodeAt(end - 1) !== 47) {
      depth++
      if (depth > max && (max = depth) > limit) return max
    }
    at = body.indexOf("<", end)
  }
  return max
}

const statusOk = (status: string | undefined) => status === undefined || /^HTTP\/[\d.]+ 2\d\d/.test(status)

const entryOf = (response: unknown): Entry | undefined => {
  const href = text(response, "href")
  if (href === undefined || !isNode(response)) return undefined
  let prop: Node = {}
  for (const propstat of list(response.propstat)) {
    const p = isNode(propstat) ? propstat.prop : undefined
    if (isNode(p) && statusOk(text(propstat, "status"))) prop = { ...prop, ...p }
  }
  const type = prop.resourcetype
  return {
    href,
    collection: isNode(type) && "collection" in type,
    contentLength: text(prop, "getcontentlength"),
    lastModified: text(prop, "getlastmodified"),
    eTag: text(prop, "getetag")
  }
}

/** The entries of a multistatus body, or why it is not one. */
export const parseMultistatus = (body: string): ReadonlyArray<Entry> | string => {
  if (body.length > MAX_MULTISTATUS_BYTES) return `the multistatus body is larger than ${MAX_MULTISTATUS_BYTES} bytes`
  if (/<!DOCTYPE|<!ENTITY/i.test(body)) return "the multistatus body declares a DOCTYPE or entities (refused)"
  if (depthOf(body, MAX_DEPTH) > MAX_DEPTH) return `the multistatus body is nested deeper than ${MAX_DEPTH} elements`
  let doc: unknown
  try {
    doc = parser.parse(body, true)
  } catch (error) {
    return `the multistatus body is not well-formed XML: ${error instanceof Error ? error.message : String(error)}`
  }
  const multistatus = isNode(doc) ? doc.multistatus : undefined
  if (multistatus === undefined) return "the body has no multistatus element"
  if (multistatus === "") return []
  if (!isNode(multistatus)) return "the multistatus element is malformed"
  const entries: Array<Entry> = []
  for (const response of list(multistatus.response)) {
    const entry = entryOf(response)
    if (entry === undefined) return "a multistatus response has no href"
    entries.push(entry)
  }
  return entries
}
