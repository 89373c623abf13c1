/**
 * Object paths: `/`-delimited, no empty, `.` or `..` segments, no control characters, well-formed Unicode (no lone
 * surrogates). A leading or trailing `/` is stripped. Every store checks paths with these rules before any I/O, so a bad path is an `InvalidPath`, never a
 * request.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { InvalidPath } from "./ObjectStoreError.js"

/**
 * The separator between path segments.
 *
 * @since 0.1.0
 * @category constants
 */
export const DELIMITER = "/"

// C0 controls and DEL: they have no business in a key and break signing, XML bodies and filesystems.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

// A high surrogate not followed by a low one, or a low one not preceded by a high one. Such a string has no UTF-8
// form: a filesystem turns it into U+FFFD (two keys, one file) and URL encoding throws. `String#isWellFormed` says
// the same but is not in the ES2022 library this package compiles against.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * Why a path is rejected, or `undefined` when it follows the rules. `path` must already be stripped of leading and
 * trailing delimiters.
 *
 * @since 0.1.0
 * @category validation
 */
export const problem = (path: string): string | undefined => {
  if (CONTROL.test(path)) return "paths may not contain control characters"
  if (LONE_SURROGATE.test(path)) return "paths must be well-formed Unicode (a lone surrogate has no UTF-8 form)"
  if (path === "") return undefined
  // Segments are looked at in place: slicing each one out showed in the profile of small operations.
  let start = 0
  while (start <= path.length) {
    let end = path.indexOf(DELIMITER, start)
    if (end === -1) end = path.length
    const length = end - start
    if (length === 0) return "paths may not contain empty segments (\"//\")"
    if (length <= 2 && path.charCodeAt(start) === 46 && (length === 1 || path.charCodeAt(start + 1) === 46)) {
      return `paths may not contain "${path.slice(start, end)}" segments`
    }
    start = end + 1
  }
  return undefined
}

const strip = (path: string): string => {
  let start = 0
  let end = path.length
  // Only one leading and one trailing delimiter are stripped; "//a" still has an empty segment.
  if (path.charCodeAt(0) === 47) start = 1
  if (end > start && path.charCodeAt(end - 1) === 47) end = end - 1
  return start === 0 && end === path.length ? path : path.slice(start, end)
}

/**
 * Where a path check happens, for the error it raises.
 *
 * @since 0.1.0
 * @category models
 */
export interface Context {
  readonly store: string
  readonly method: string
  /** A store's own rule on top of the common ones (e.g. Azure turns `\` into `/`): why a path is refused. */
  readonly problem?: ((path: string) => string | undefined) | undefined
}

const unknownContext: Context = { store: "ObjectPath", method: "parse" }

// What an InvalidPath carries of the context (not the store's own rule).
const errorContext = ({ method, store }: Context) => ({ store, method })

/**
 * Checks and normalises the path of an object: it must be non-empty.
 *
 * @since 0.1.0
 * @category validation
 */
export const parse = (input: string, context: Context = unknownContext): Either.Either<string, InvalidPath> => {
  const path = normalize(input, context)
  return typeof path === "string" ? Either.right(path) : Either.left(path)
}

/**
 * `parse` without the `Either`: the normalised path, or the `InvalidPath`. For the checks every operation makes.
 *
 * @since 0.1.0
 * @category validation
 */
export const normalize = (input: string, context: Context = unknownContext): string | InvalidPath => {
  if (typeof input !== "string") {
    return new InvalidPath({ ...errorContext(context), path: String(input), description: "a path must be a string" })
  }
  const path = strip(input)
  if (path === "") {
    return new InvalidPath({ ...errorContext(context), path: input, description: "an object path may not be empty" })
  }
  const why = problem(path) ?? context.problem?.(path)
  return why === undefined ? path : new InvalidPath({ ...errorContext(context), path: input, description: why })
}

/**
 * Checks and normalises a prefix (a "directory"): the empty prefix means the whole store.
 *
 * @since 0.1.0
 * @category validation
 */
export const parsePrefix = (
  input: string | undefined,
  context: Context = unknownContext
): Either.Either<string, InvalidPath> => {
  if (input === undefined) return Either.right("")
  if (typeof input !== "string") {
    return Either.left(
      new InvalidPath({ ...errorContext(context), path: String(input), description: "a prefix must be a string" })
    )
  }
  const path = strip(input)
  const why = problem(path) ?? (path === "" ? undefined : context.problem?.(path))
  return why === undefined
    ? Either.right(path)
    : Either.left(new InvalidPath({ ...errorContext(context), path: input, description: why }))
}

/**
 * Joins normalised paths, skipping empty ones.
 *
 * @since 0.1.0
 * @category combinators
 */
export const join = (...parts: ReadonlyArray<string>): string => {
  let out = ""
  for (const part of parts) {
    if (part === "") continue
    out = out === "" ? part : out + DELIMITER + part
  }
  return out
}

/**
 * Whether `path` lies under the directory `prefix`, matching whole segments: `a/b` is under `a` but `ab/c` is not.
 * Everything is under the empty prefix; a path is not under itself.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isUnder = (path: string, prefix: string): boolean =>
  prefix === "" || (path.length > prefix.length && path.charCodeAt(prefix.length) === 47 && path.startsWith(prefix))

/**
 * The part of `path` below `prefix` (which must contain it, see `isUnder`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const relative = (path: string, prefix: string): string => prefix === "" ? path : path.slice(prefix.length + 1)

/**
 * The segments of a path.
 *
 * @since 0.1.0
 * @category combinators
 */
export const segments = (path: string): ReadonlyArray<string> => path === "" ? [] : path.split(DELIMITER)

/**
 * The last segment of a path.
 *
 * @since 0.1.0
 * @category combinators
 */
export const filename = (path: string): string => path.slice(path.lastIndexOf(DELIMITER) + 1)

/**
 * The extension of the last segment, without the dot, if it has one.
 *
 * @since 0.1.0
 * @category combinators
 */
export const extension = (path: string): string | undefined => {
  const name = filename(path)
  const dot = name.lastIndexOf(".")
  return dot <= 0 || dot === name.length - 1 ? undefined : name.slice(dot + 1)
}

/**
 * A Schema for object paths: decodes and normalises a string, failing with the rule it breaks.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ObjectPath: Schema.Schema<string> = Schema.String.pipe(
  Schema.filter((s) => problem(strip(s)) ?? (strip(s) === "" ? "an object path may not be empty" : true), {
    identifier: "ObjectPath"
  }),
  Schema.transform(Schema.String, { strict: true, decode: strip, encode: (s) => s })
)
