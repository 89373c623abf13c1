// The implementation behind the `ObjectStore` contract: `make` turns a backend's primitives into the full service
// (paths and ranges checked before any I/O, derived operations, one span per call, errors labelled with the
// operation the caller called), and the small helpers every backend shares (GetResult, payloads, ranges).
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as ObjectPath from "../ObjectPath.js"
import type {
  Attributes,
  Backend,
  ByteRange,
  GetResult,
  GetResultParts,
  ListResult,
  ObjectMeta,
  ObjectStore,
  PutPayload,
  ResolvedRange
} from "../ObjectStore.js"
import type { InvalidPath, PayloadError, StreamError } from "../ObjectStoreError.js"
import { InvalidConfig, InvalidRange, withContext } from "../ObjectStoreError.js"
import * as progress from "./io/progress.js"
import * as checks from "./options.js"
import * as payloads from "./payload.js"
import { collect } from "./pull.js"
import * as ranges from "./ranges.js"
import { traced } from "./span.js"

/** Bytes closer than this are fetched in one request by `getRanges` (object_store's default). */
const DEFAULT_COALESCE = 1024 * 1024
const RANGE_CONCURRENCY = 10
const DELETE_CONCURRENCY = 10

const decoder = new TextDecoder()

// ---------------------------------------------------------------------------------------------------------------
// GetResult
// ---------------------------------------------------------------------------------------------------------------

// Streams and effects are built only when a caller asks for them: most callers read `bytes` or `text` once, and
// building an unused Stream per get is measurable on an in-memory store.
class GetResultImpl implements GetResult {
  constructor(
    readonly meta: ObjectMeta,
    readonly range: ResolvedRange,
    readonly attributes: Attributes,
    private readonly body: Stream.Stream<Uint8Array, StreamError> | undefined,
    private readonly whole: Effect.Effect<Uint8Array, StreamError> | undefined
  ) {}
  get stream(): Stream.Stream<Uint8Array, StreamError> {
    return this.body ?? Stream.fromEffect(this.whole!)
  }
  get bytes(): Effect.Effect<Uint8Array, StreamError> {
    return this.whole ?? Effect.map(collect(this.body!), (chunks) => payloads.concat(chunks, false))
  }
  get text(): Effect.Effect<string, StreamError> {
    return Effect.map(this.bytes, (b) => decoder.decode(b))
  }
  withMeta(meta: ObjectMeta): GetResult {
    return new GetResultImpl(meta, this.range, this.attributes, this.body, this.whole)
  }
}

const NO_ATTRIBUTES: Attributes = {}

export const makeGetResult = (parts: GetResultParts): GetResult =>
  new GetResultImpl(parts.meta, parts.range, parts.attributes ?? NO_ATTRIBUTES, parts.stream, parts.bytes)

/** The same, without the options object: for backends on the hot path. */
export const unsafeGetResult = (
  meta: ObjectMeta,
  range: ResolvedRange,
  attributes: Attributes,
  bytes: Effect.Effect<Uint8Array, StreamError>
): GetResult => new GetResultImpl(meta, range, attributes, undefined, bytes)

export const withMeta = (result: GetResult, meta: ObjectMeta): GetResult =>
  result instanceof GetResultImpl
    ? result.withMeta(meta)
    : makeGetResult({ meta, range: result.range, attributes: result.attributes, stream: result.stream })

// ---------------------------------------------------------------------------------------------------------------
// helpers for backends
// ---------------------------------------------------------------------------------------------------------------

type Where = { readonly store: string; readonly method: string; readonly path: string }

export const payloadStream: <E>(
  payload: PutPayload<E>,
  context: Where
) => Stream.Stream<Uint8Array, E | PayloadError> = payloads.stream

export const payloadBytes: <E>(payload: PutPayload<E>, context: Where) => Effect.Effect<Uint8Array, E | PayloadError> =
  payloads.bytes

export const resolveRange = (
  range: ByteRange,
  size: number,
  context: Where
): Either.Either<ResolvedRange, InvalidRange> => {
  const resolved = ranges.resolve(range, size)
  return Either.isRight(resolved)
    ? Either.right(resolved.right)
    : Either.left(new InvalidRange({ ...context, description: resolved.left }))
}

// ---------------------------------------------------------------------------------------------------------------
// make
// ---------------------------------------------------------------------------------------------------------------

type Method =
  | "get"
  | "getRange"
  | "getRanges"
  | "head"
  | "put"
  | "list"
  | "listWithDelimiter"
  | "copy"
  | "rename"
  | "delete"

const METHODS: ReadonlyArray<Method> = [
  "get",
  "getRange",
  "getRanges",
  "head",
  "put",
  "list",
  "listWithDelimiter",
  "copy",
  "rename",
  "delete"
]

/**
 * What every operation of one store shares: its name, whether it traces, the full set of primitives, and per
 * operation the span name and the context of path errors (made once here: per call they showed in the profile).
 */
interface Core {
  readonly store: string
  readonly traced: boolean
  readonly backend: Backend
  readonly limits: checks.Limits
  readonly spanName: Readonly<Record<Method, string>>
  readonly at: Readonly<Record<Method, ObjectPath.Context>>
  readonly getRange: (path: string, range: ByteRange) => ReturnType<ObjectStore.Service["getRange"]>
  readonly deleteMany: (paths: ReadonlyArray<string>) => ReturnType<ObjectStore.Service["delete"]>
  readonly rename: NonNullable<Backend["rename"]>
  readonly listWithDelimiter: NonNullable<Backend["listWithDelimiter"]>
}

const perMethod = <A>(f: (method: Method) => A): Record<Method, A> =>
  Object.fromEntries(METHODS.map((method) => [method, f(method)])) as Record<Method, A>

// The operations a backend may leave out are derived from the ones it must have.
const derive = (backend: Backend): Core => ({
  store: backend.name,
  traced: backend.spans ?? true,
  backend,
  limits: backend.multipartLimits ?? checks.NO_LIMITS,
  spanName: perMethod((method) => `${backend.name}.${method}`),
  at: perMethod((method) => ({ store: backend.name, method, problem: backend.pathProblem })),
  getRange: backend.getRange ??
    ((path, range) => Effect.flatMap(backend.get(path, { range }), (result) => result.bytes)),
  deleteMany: backend.deleteMany ??
    ((paths) => Effect.forEach(paths, backend.delete, { concurrency: DELETE_CONCURRENCY, discard: true })),
  rename: backend.rename ??
    ((from, to, options) => Effect.zipRight(backend.copy(from, to, options), backend.delete(from))),
  listWithDelimiter: backend.listWithDelimiter ?? ((prefix) => delimit(backend, prefix))
})

const delimit = (backend: Backend, prefix: string) =>
  Stream.runFold(
    backend.list(prefix, {}),
    { commonPrefixes: new Set<string>(), objects: [] as Array<ObjectMeta> },
    (acc, meta) => {
      const rest = ObjectPath.relative(meta.path, prefix)
      const slash = rest.indexOf(ObjectPath.DELIMITER)
      if (slash === -1) acc.objects.push(meta)
      else acc.commonPrefixes.add(ObjectPath.join(prefix, rest.slice(0, slash)))
      return acc
    }
  ).pipe(Effect.map((acc): ListResult => ({ commonPrefixes: Array.from(acc.commonPrefixes), objects: acc.objects })))

// Derived operations fail with the errors of the primitives they call: report the operation the caller called.
const relabel = <A, E>(method: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.mapError(effect, (error) => withContext(error, { method }))

const span = <A, E>(core: Core, method: Method, effect: Effect.Effect<A, E>, path?: string, to?: string) =>
  core.traced ? traced(effect, core.spanName[method], core.store, path, to) : effect

// Checks one path, then runs the operation in its span.
const withPath = <A, E>(
  core: Core,
  method: Method,
  input: string,
  f: (path: string) => Effect.Effect<A, E>
): Effect.Effect<A, E | InvalidPath> => {
  const path = ObjectPath.normalize(input, core.at[method])
  return typeof path !== "string" ? Effect.fail(path) : span(core, method, f(path), path)
}

const withPaths = <A, E>(
  core: Core,
  method: Method,
  fromInput: string,
  toInput: string,
  f: (from: string, to: string) => Effect.Effect<A, E>
): Effect.Effect<A, E | InvalidPath> => {
  const from = ObjectPath.normalize(fromInput, core.at[method])
  if (typeof from !== "string") return Effect.fail(from)
  const to = ObjectPath.normalize(toInput, core.at[method])
  if (typeof to !== "string") return Effect.fail(to)
  return span(core, method, f(from, to), from, to)
}

const checkRange = (store: string, method: string, path: string, range: ByteRange | undefined) => {
  if (range === undefined) return undefined
  const why = ranges.problem(range)
  return why === undefined ? undefined : new InvalidRange({ store, method, path, description: why })
}

const NO_OPTIONS = {}

// get, put and head are the hot path: no closure per call.
const get = (core: Core): ObjectStore.Service["get"] => (input, options = NO_OPTIONS) => {
  const path = ObjectPath.normalize(input, core.at.get)
  if (typeof path !== "string") return Effect.fail(path)
  const bad = checkRange(core.store, "get", path, options.range)
  if (bad !== undefined) return Effect.fail(bad)
  const report = options.onProgress
  const result = core.backend.get(path, options)
  return span(core, "get", report === undefined ? result : Effect.map(result, (r) => progress.get(r, report)), path)
}

// An option no request can honour, found before any I/O.
const invalid = (core: Core, method: Method, path: string, problem: checks.Problem) =>
  Effect.fail(new InvalidConfig({ store: core.store, method, path, ...problem }))

const put = (core: Core): ObjectStore.Service["put"] => (input, payload, options = NO_OPTIONS) => {
  const path = ObjectPath.normalize(input, core.at.put)
  if (typeof path !== "string") return Effect.fail(path)
  const problem = options === NO_OPTIONS ? undefined : checks.putProblem(options, core.limits)
  if (problem !== undefined) return invalid(core, "put", path, problem)
  const report = options.onProgress
  return span(
    core,
    "put",
    report === undefined
      ? core.backend.put(path, payload, options)
      : progress.put(core.backend, path, payload, options, report),
    path
  )
}

const head = (core: Core): ObjectStore.Service["head"] => (input) => {
  const path = ObjectPath.normalize(input, core.at.head)
  return typeof path !== "string" ? Effect.fail(path) : span(core, "head", core.backend.head(path), path)
}

const getRange = (core: Core): ObjectStore.Service["getRange"] => (input, range) =>
  withPath(core, "getRange", input, (path) => {
    const bad = checkRange(core.store, "getRange", path, range)
    return bad === undefined ? relabel("getRange", core.getRange(path, range)) : Effect.fail(bad)
  })

// Checks every range, reads the coalesced ranges, and cuts each requested range out of the one holding it.
const getRanges = (core: Core): ObjectStore.Service["getRanges"] => (input, list, options = NO_OPTIONS) =>
  withPath(core, "getRanges", input, (path) => {
    const problem = checks.coalesceProblem(options.coalesce)
    if (problem !== undefined) return invalid(core, "getRanges", path, problem)
    const fail = (description: string) => Effect.fail(new InvalidRange({ ...where, description }))
    const where = { store: core.store, method: "getRanges", path }
    const bounded: Array<ranges.Bounded> = []
    for (const range of list) {
      const bad = checkRange(core.store, "getRanges", path, range)
      if (bad !== undefined) return Effect.fail(bad)
      const b = ranges.bounds(range)
      if (b.end === undefined) return fail("getRanges takes bounded ranges only")
      bounded.push({ start: b.start, end: b.end })
    }
    const { merged, owner } = ranges.coalesce(bounded, options.coalesce ?? DEFAULT_COALESCE)
    return Effect.forEach(merged, (r) => relabel("getRanges", core.getRange(path, r)), {
      concurrency: RANGE_CONCURRENCY
    }).pipe(Effect.flatMap((buffers) => {
      const out: Array<Uint8Array> = []
      for (let i = 0; i < bounded.length; i++) {
        const m = merged[owner[i]]
        const buffer = buffers[owner[i]]
        const from = bounded[i].start - m.start
        // The merged read was cut at the object's end: a requested range that starts past it is unsatisfiable.
        if (from >= buffer.byteLength) {
          return fail(`${ranges.show(list[i])} starts at or past the end of the object`)
        }
        out.push(buffer.subarray(from, Math.min(bounded[i].end - m.start, buffer.byteLength)))
      }
      return Effect.succeed(out)
    }))
  })

const list = (core: Core): ObjectStore.Service["list"] => (prefix, options = NO_OPTIONS) => {
  const parsed = ObjectPath.parsePrefix(prefix, core.at.list)
  if (Either.isLeft(parsed)) return Stream.fail(parsed.left)
  const stream = core.backend.list(parsed.right, options)
  return !core.traced ? stream : stream.pipe(
    Stream.withSpan(`${core.store}.list`, {
      captureStackTrace: false,
      attributes: { "objectstore.store": core.store, "objectstore.prefix": parsed.right }
    })
  )
}

const listWithDelimiter = (core: Core): ObjectStore.Service["listWithDelimiter"] => (prefix) => {
  const parsed = ObjectPath.parsePrefix(prefix, core.at.listWithDelimiter)
  if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
  return span(
    core,
    "listWithDelimiter",
    relabel("listWithDelimiter", core.listWithDelimiter(parsed.right)),
    parsed.right
  )
}

const del = (core: Core): ObjectStore.Service["delete"] => (paths) => {
  if (typeof paths === "string") return withPath(core, "delete", paths, core.backend.delete)
  const checked: Array<string> = []
  for (const input of paths) {
    const path = ObjectPath.normalize(input, core.at.delete)
    if (typeof path !== "string") return Effect.fail(path)
    checked.push(path)
  }
  if (checked.length === 0) return Effect.void
  const one = checked.length === 1
  return span(
    core,
    "delete",
    relabel("delete", one ? core.backend.delete(checked[0]) : core.deleteMany(checked)),
    one ? checked[0] : undefined
  )
}

export const make = (backend: Backend): ObjectStore.Service => {
  const core = derive(backend)
  return {
    name: core.store,
    get: get(core),
    getRange: getRange(core),
    getRanges: getRanges(core),
    head: head(core),
    put: put(core),
    list: list(core),
    listWithDelimiter: listWithDelimiter(core),
    copy: (from, to, options = NO_OPTIONS) =>
      withPaths(core, "copy", from, to, (f, t) =>
        options.onProgress === undefined
          ? backend.copy(f, t, { overwrite: options.overwrite ?? true })
          : relabel("copy", progress.copy(backend, f, t, options.overwrite ?? true, options.onProgress))),
    rename: (from, to, options = NO_OPTIONS) =>
      withPaths(
        core,
        "rename",
        from,
        to,
        (f, t) => relabel("rename", core.rename(f, t, { overwrite: options.overwrite ?? true }))
      ),
    delete: del(core)
  }
}
