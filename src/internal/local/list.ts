// list, a lazy depth-first walk in key order that skips whole subtrees before the offset, and listWithDelimiter.
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as ObjectPath from "../../ObjectPath.js"
import type * as ObjectStore from "../../ObjectStore.js"
import type { ListError, PermissionDenied, StoreError } from "../../ObjectStoreError.js"
import { type Entry, readEntries, STAT_CONCURRENCY, statEntry } from "./entries.js"
import { type Context, context } from "./errors.js"
import { prefixDirectory, type Root } from "./root.js"

/** At most this many files of one directory are stat'ed for one pull. */
const STAT_BATCH = 256

/** A directory of the walk: its entries are read when it is first reached. */
interface Frame {
  readonly dir: string
  readonly key: string
  entries: ReadonlyArray<Entry> | undefined
  index: number
}

/**
 * The next run of objects of a walk, in key order, or undefined when it is done. Each pull stats one run of files
 * of one directory together.
 */
const makePull = (
  root: Root,
  ctx: Context,
  dir: string,
  prefix: string,
  offset: string | undefined
): Effect.Effect<Chunk.Chunk<ObjectStore.ObjectMeta> | undefined, ListError> => {
  const stack: Array<Frame> = [{ dir, key: prefix, entries: undefined, index: 0 }]
  const walking = new Set<string>([dir])
  return Effect.gen(function*() {
    while (true) {
      const top = stack[stack.length - 1]
      if (top === undefined) return undefined
      const entries = top.entries ??= yield* readEntries(root, ctx, top.dir, top.key)
      if (top.index >= entries.length) {
        stack.pop()
        walking.delete(top.dir)
        continue
      }
      const entry = entries[top.index]
      if (entry.kind === "directory") {
        top.index++
        const key = ObjectPath.join(top.key, entry.name)
        const below = key + ObjectPath.DELIMITER
        // Every key below sorts before the offset: skip the whole subtree.
        if (offset !== undefined && below < offset && !offset.startsWith(below)) continue
        // A symbolic link back to a directory being walked would never end.
        if (walking.has(entry.file)) continue
        walking.add(entry.file)
        stack.push({ dir: entry.file, key, entries: undefined, index: 0 })
        continue
      }
      const batch: Array<readonly [Entry, string]> = []
      while (top.index < entries.length && entries[top.index].kind === "file" && batch.length < STAT_BATCH) {
        const file = entries[top.index++]
        const key = ObjectPath.join(top.key, file.name)
        if (offset === undefined || key > offset) batch.push([file, key])
      }
      if (batch.length === 0) continue
      const metas = yield* Effect.forEach(batch, ([file, key]) => statEntry(ctx, file, key), {
        concurrency: STAT_CONCURRENCY
      })
      const out = metas.filter((meta): meta is ObjectStore.ObjectMeta => meta !== undefined)
      if (out.length > 0) return Chunk.unsafeFromArray(out)
    }
  })
}

export const list = (
  root: Root,
  prefix: string,
  options: ObjectStore.ListOptions
): Stream.Stream<ObjectStore.ObjectMeta, ListError> =>
  Stream.unwrap(Effect.gen(function*() {
    const ctx = context("list", prefix)
    const dir = yield* prefixDirectory(root, ctx, prefix)
    if (dir === undefined) return Stream.empty
    const pull = makePull(root, ctx, dir, prefix, options.offset)
    return Stream.repeatEffectChunkOption(
      pull.pipe(
        Effect.mapError(Option.some),
        Effect.flatMap((chunk) => chunk === undefined ? Effect.fail(Option.none()) : Effect.succeed(chunk))
      )
    )
  }))

/** Whether a directory holds at least one object, at any depth (stops at the first one). */
const holdsObject = (
  root: Root,
  ctx: Context,
  entry: Entry,
  key: string
): Effect.Effect<boolean, PermissionDenied | StoreError> =>
  entry.linked ?
    Effect.succeed(true) :
    Effect.flatMap(readEntries(root, ctx, entry.file, key), (entries) =>
      entries.some((e) => e.kind === "file")
        ? Effect.succeed(true)
        : Effect.reduce(
          entries,
          false,
          (found, e) => found ? Effect.succeed(true) : holdsObject(root, ctx, e, ObjectPath.join(key, e.name))
        ))

export const listWithDelimiter = (
  root: Root,
  prefix: string
): Effect.Effect<ObjectStore.ListResult, ListError> =>
  Effect.gen(function*() {
    const ctx = context("listWithDelimiter", prefix)
    const dir = yield* prefixDirectory(root, ctx, prefix)
    if (dir === undefined) return { commonPrefixes: [], objects: [] }
    const entries = yield* readEntries(root, ctx, dir, prefix)
    type Found = { readonly meta: ObjectStore.ObjectMeta } | { readonly prefix: string } | undefined
    const results = yield* Effect.forEach(entries, (entry): Effect.Effect<Found, PermissionDenied | StoreError> => {
      const key = ObjectPath.join(prefix, entry.name)
      return entry.kind === "file"
        ? Effect.map(statEntry(ctx, entry, key), (meta) => meta === undefined ? undefined : { meta })
        // An empty directory (left by deletes without automaticCleanup) is no common prefix.
        : Effect.map(holdsObject(root, ctx, entry, key), (found) => found ? { prefix: key } : undefined)
    }, { concurrency: STAT_CONCURRENCY })
    const commonPrefixes: Array<string> = []
    const objects: Array<ObjectStore.ObjectMeta> = []
    for (const result of results) {
      if (result === undefined) continue
      if ("meta" in result) objects.push(result.meta)
      else commonPrefixes.push(result.prefix)
    }
    return { commonPrefixes, objects }
  })
