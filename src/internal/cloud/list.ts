// Listing for every cloud: a cloud fetches one page (objects, common prefixes, the token of the next page); paging
// it into a lazy Stream, and collecting a delimited listing, are the same everywhere, and so are the checks of what
// a page says: a token that comes back would page forever, and keys outside the requested prefix, or that are not
// paths this API can address, must not reach the caller (or a PrefixStore, which would rename them).
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ObjectPath from "../../ObjectPath.js"
import type { ListResult, ObjectMeta } from "../../ObjectStore.js"
import { StoreError } from "../../ObjectStoreError.js"
import type { Context } from "./failure.js"

export interface Page {
  readonly objects: ReadonlyArray<ObjectMeta>
  readonly commonPrefixes: ReadonlyArray<string>
  /** The token of the next page; undefined on the last one. */
  readonly next: string | undefined
}

/** Fetches the page after `token` (undefined: the first page). */
export type FetchPage<E> = (token: string | undefined) => Effect.Effect<Page, E>

/** What a listing asked for, to check its pages against. */
export interface ListScope {
  /** Who lists (the errors' store and method). */
  readonly context: Context
  /** The requested prefix (a normalised path, "" for everything); every key must be below it. */
  readonly prefix: string
}

const anonymous: Context = { store: "ObjectStore", method: "list" }

/**
 * A guard against paging forever: each token (or marker) may be seen once per listing. `check(next)` is a StoreError
 * when `next` came before. For cloud code that pages by hand (S3's ListMultipartUploads markers, ...): make one guard
 * per listing and check every token it is handed.
 */
export const tokenGuard = (context: Context) => {
  const seen = new Set<string>()
  return (next: string | undefined): StoreError | undefined => {
    if (next === undefined) return undefined
    if (seen.has(next)) {
      const shown = next.length > 64 ? next.slice(0, 64) + "…" : next
      return new StoreError({
        ...context,
        description: `the server repeated the continuation token ${JSON.stringify(shown)}: the listing would loop`
      })
    }
    seen.add(next)
    return undefined
  }
}

/** Whether a key is a path this API can address, unchanged (no `//`, `.`, `..`, leading or trailing `/`). */
const addressable = (key: string): boolean => ObjectPath.normalize(key) === key

const below = (path: string, prefix: string) => prefix === "" || ObjectPath.isUnder(path, prefix)

const outside = (scope: ListScope, what: string, key: string) =>
  new StoreError({
    ...scope.context,
    ...(scope.prefix === "" ? {} : { path: scope.prefix }),
    description: `the server listed ${what} ${JSON.stringify(key)}, outside the requested prefix`
  })

/**
 * A page checked against what was asked: a key or common prefix outside the prefix is a StoreError (the server does
 * not honour the prefix; nothing it lists can be trusted); keys that are not addressable paths (absolute, `..`,
 * `//`, a trailing `/`) are left out, as are common prefixes that are not one segment below the prefix.
 */
export const checkPage = (scope: ListScope, page: Page): Page | StoreError => {
  let objects: Array<ObjectMeta> | undefined
  for (let i = 0; i < page.objects.length; i++) {
    const meta = page.objects[i]
    const ok = addressable(meta.path)
    if (ok && !below(meta.path, scope.prefix)) return outside(scope, "the key", meta.path)
    if (!ok && objects === undefined) objects = page.objects.slice(0, i)
    else if (ok && objects !== undefined) objects.push(meta)
  }
  let commonPrefixes: Array<string> | undefined
  for (let i = 0; i < page.commonPrefixes.length; i++) {
    const p = page.commonPrefixes[i]
    const ok = addressable(p)
    if (ok && !below(p, scope.prefix)) return outside(scope, "the common prefix", p)
    const direct = ok && !ObjectPath.relative(p, scope.prefix).includes("/")
    if (!direct && commonPrefixes === undefined) commonPrefixes = page.commonPrefixes.slice(0, i)
    else if (direct && commonPrefixes !== undefined) commonPrefixes.push(p)
  }
  return objects === undefined && commonPrefixes === undefined ? page : {
    objects: objects ?? page.objects,
    commonPrefixes: commonPrefixes ?? page.commonPrefixes,
    next: page.next
  }
}

/** `fetchPage` with its tokens guarded and, given a scope, its pages checked. */
const checked = <E>(fetchPage: FetchPage<E>, scope: ListScope | undefined): FetchPage<E | StoreError> => {
  const guard = tokenGuard(scope?.context ?? anonymous)
  return (token) =>
    Effect.flatMap(fetchPage(token), (page) => {
      const repeated = guard(page.next)
      if (repeated !== undefined) return Effect.fail(repeated)
      if (scope === undefined) return Effect.succeed(page)
      const result = checkPage(scope, page)
      return result instanceof StoreError ? Effect.fail(result) : Effect.succeed(result)
    })
}

/**
 * Every object of every page, fetched lazily as the stream is read. A repeated token is a StoreError; with `scope`,
 * every page is checked (`checkPage`).
 */
export const paginate = <E>(fetchPage: FetchPage<E>, scope?: ListScope): Stream.Stream<ObjectMeta, E | StoreError> =>
  Stream.suspend(() => {
    const fetch = checked(fetchPage, scope)
    return Stream.paginateEffect(
      undefined as string | undefined,
      (token) =>
        Effect.map(fetch(token), (page): readonly [ReadonlyArray<ObjectMeta>, Option.Option<string | undefined>] => [
          page.objects,
          page.next === undefined ? Option.none() : Option.some(page.next)
        ])
    ).pipe(Stream.flattenIterables)
  })

/** Every page of a delimited listing, collected into one result; tokens guarded and pages checked as in `paginate`. */
export const collect = <E>(fetchPage: FetchPage<E>, scope?: ListScope): Effect.Effect<ListResult, E | StoreError> =>
  Effect.suspend(() => {
    const fetch = checked(fetchPage, scope)
    const objects: Array<ObjectMeta> = []
    const commonPrefixes: Array<string> = []
    const loop = (token: string | undefined): Effect.Effect<ListResult, E | StoreError> =>
      Effect.flatMap(fetch(token), (page) => {
        objects.push(...page.objects)
        commonPrefixes.push(...page.commonPrefixes)
        return page.next === undefined ? Effect.succeed({ objects, commonPrefixes }) : loop(page.next)
      })
    return loop(undefined)
  })
