// The INI dialect of the AWS shared config and credentials files, as the AWS SDKs read it: `[section]` headers,
// `key = value` lines, `#` / `;` comments (at the start of a line, or after whitespace), whitespace trimmed
// everywhere. Nested sub-properties (a key with an empty value followed by indented lines, e.g. `s3 =`) are skipped:
// nothing read here uses them. Written by hand rather than taken from npm: `ini` splits dotted section names into
// nested objects (`[profile a.b]`), reads `key[]` as arrays, turns "true" / "null" into non-strings, and cuts a value
// at any `;` or `#` (a secret may hold one); the SDK's own (`@smithy/shared-ini-file-loader`) reads `process.env`
// and caches files module-wide. The dialect is a few rules.
// https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html

/** Sections by name, each a map of keys to values; later sections and keys of the same name win. */
export type Ini = ReadonlyMap<string, ReadonlyMap<string, string>>

const stripComment = (line: string): string => {
  const match = /(^|\s)[#;]/.exec(line)
  return match === null ? line : line.slice(0, match.index)
}

/** Parses a file; lines that are neither a section, a property nor a comment are ignored, as the SDKs do. */
export const parse = (text: string): Ini => {
  const sections = new Map<string, Map<string, string>>()
  let current: Map<string, string> | undefined
  // Inside a sub-property block: indented lines belong to it and are skipped.
  let nested = false
  for (const raw of text.split(/\r?\n/)) {
    const line = stripComment(raw).trim()
    if (line === "") continue
    if (line.startsWith("[")) {
      nested = false
      if (!line.endsWith("]")) {
        current = undefined
        continue
      }
      const name = line.slice(1, -1).trim().replace(/\s+/g, " ")
      current = sections.get(name)
      if (current === undefined) {
        current = new Map()
        sections.set(name, current)
      }
      continue
    }
    if (current === undefined) continue
    const indented = /^\s/.test(raw)
    if (nested && indented) continue
    nested = false
    const equals = line.indexOf("=")
    if (equals <= 0) continue
    const key = line.slice(0, equals).trim()
    const value = line.slice(equals + 1).trim()
    if (value === "") {
      nested = true
      continue
    }
    current.set(key, value)
  }
  return sections
}

/**
 * The profiles of a config file: `[profile name]` sections, and `[default]` (also `[profile default]`). Other
 * sections (`[sso-session x]`, `[services x]`, a bare `[name]`) are not profiles there.
 */
export const configProfiles = (ini: Ini): Map<string, ReadonlyMap<string, string>> => {
  const profiles = new Map<string, ReadonlyMap<string, string>>()
  for (const [name, values] of ini) {
    const profile = name === "default" ? "default" : /^profile\s+(\S+)$/.exec(name)?.[1]
    if (profile === undefined) continue
    // `[profile default]` replaces `[default]`, whichever comes first (the JS SDK's rule).
    if (name === "default" && profiles.has(profile)) continue
    profiles.set(profile, values)
  }
  return profiles
}

/** The profiles of a credentials file: every section is a profile, named without any prefix. */
export const credentialsProfiles = (ini: Ini): Map<string, ReadonlyMap<string, string>> => {
  const profiles = new Map<string, ReadonlyMap<string, string>>()
  for (const [name, values] of ini) {
    if (!name.startsWith("profile ")) profiles.set(name, values)
  }
  return profiles
}
