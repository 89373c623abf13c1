// Decoding of S3's XML bodies with fast-xml-parser (the parser the AWS SDK uses). Values stay strings.
import { XMLParser } from "fast-xml-parser"

// No isArray callback: fast-xml-parser 5 computes a path for every tag it asks about, which doubled the CPU of a
// listing. `list` below turns a lone element into a one-element array instead.
const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  processEntities: true
})

type Node = Record<string, unknown>

const isNode = (u: unknown): u is Node => typeof u === "object" && u !== null && !Array.isArray(u)

const REFERENCE = /&#(?:x([0-9a-fA-F]+)|([0-9]+));/g

/** XML 1.0's Char production (a surrogate, NUL or a code point past U+10FFFF is not a character). */
const isXmlChar = (c: number) =>
  c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
  (c >= 0x10000 && c <= 0x10ffff)

/** Whether every character reference names a character: the parser would decode `&#xD800;` to a lone surrogate. */
const referencesValid = (text: string): boolean => {
  if (!text.includes("&#")) return true
  for (const m of text.matchAll(REFERENCE)) {
    if (!isXmlChar(m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2], 10))) return false
  }
  return true
}

/** Parses a body; `undefined` when it is not well-formed XML. */
export const parse = (text: string): Node | undefined => {
  if (!referencesValid(text)) return undefined
  try {
    const doc: unknown = parser.parse(text, true)
    return isNode(doc) ? doc : undefined
  } catch {
    return undefined
  }
}

export const child = (node: unknown, name: string): unknown => isNode(node) ? node[name] : undefined

export const text = (node: unknown, name: string): string | undefined => {
  const value = child(node, name)
  if (typeof value === "string") return value
  // An empty element parses as "" or as an empty object depending on the document.
  if (isNode(value) && Object.keys(value).length === 0) return ""
  return undefined
}

export const list = (node: unknown, name: string): ReadonlyArray<unknown> => {
  const value = child(node, name)
  return Array.isArray(value) ? value : value === undefined ? [] : [value]
}

/** The S3 error in a body (`<Error><Code>…</Code><Message>…</Message></Error>`), if there is one. */
export const error = (body: string): { readonly code: string; readonly message: string | undefined } | undefined => {
  if (!body.includes("<Error")) return undefined
  const doc = parse(body)
  const first = list(doc, "Error")[0]
  const code = text(first, "Code")
  return code === undefined ? undefined : { code, message: text(first, "Message") }
}

const escapes: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&apos;" }

export const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => escapes[c])
