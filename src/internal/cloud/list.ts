// Listing for every cloud: a cloud fetches one page (objects, common prefixes, the token of the next page); paging
// it into a lazy Stream, and collecting a delimited listing, are the same everywhere.
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { ListResult, ObjectMeta } from "../../ObjectStore.js"

export interface Page {
  readonly objects: ReadonlyArray<ObjectMeta>
  readonly commonPrefixes: ReadonlyArray<string>
  /** The token of the next page; undefined on the last one. */
  readonly next: string | undefined
}

/** Fetches the page after `token` (undefined: the first page). */
export type FetchPage<E> = (token: string | undefined) => Effect.Effect<Page, E>

/** Every object of every page, fetched lazily as the stream is read. */
export const paginate = <E>(fetchPage: FetchPage<E>): Stream.Stream<ObjectMeta, E> =>
  Stream.paginateEffect(
    undefined as string | undefined,
    (token) =>
      Effect.map(fetchPage(token), (page): readonly [ReadonlyArray<ObjectMeta>, Option.Option<string | undefined>] => [
        page.objects,
        page.next === undefined ? Option.none() : Option.some(page.next)
      ])
  ).pipe(Stream.flattenIterables)

/** Every page of a delimited listing, collected into one result. */
export const collect = <E>(fetchPage: FetchPage<E>): Effect.Effect<ListResult, E> =>
  Effect.suspend(() => {
    const objects: Array<ObjectMeta> = []
    const commonPrefixes: Array<string> = []
    const loop = (token: string | undefined): Effect.Effect<ListResult, E> =>
      Effect.flatMap(fetchPage(token), (page) => {
        objects.push(...page.objects)
        commonPrefixes.push(...page.commonPrefixes)
        return page.next === undefined ? Effect.succeed({ objects, commonPrefixes }) : loop(page.next)
      })
    return loop(undefined)
  })
