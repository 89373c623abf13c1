/**
 * A store seen through a prefix: every path is resolved below `prefix`, and paths in results are relative to it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ObjectPath from "./ObjectPath.js"
import * as ObjectStore from "./ObjectStore.js"
import type { InvalidPath } from "./ObjectStoreError.js"
import { withContext } from "./ObjectStoreError.js"

/**
 * Wraps a store so that it reads and writes only below `prefix`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  inner: ObjectStore.ObjectStore.Service,
  prefix: string
): Effect.Effect<ObjectStore.ObjectStore.Service, InvalidPath> =>
  Effect.map(
    Either.match(ObjectPath.parsePrefix(prefix, { store: "PrefixStore", method: "make" }), {
      onLeft: Effect.fail,
      onRight: Effect.succeed
    }),
    (root) => root === "" ? inner : unsafeMake(inner, root)
  )

const unsafeMake = (inner: ObjectStore.ObjectStore.Service, root: string): ObjectStore.ObjectStore.Service => {
  const full = (path: string) => ObjectPath.join(root, path)
  const strip = (path: string) => ObjectPath.relative(path, root)
  const meta = (m: ObjectStore.ObjectMeta): ObjectStore.ObjectMeta => ({ ...m, path: strip(m.path) })

  // Errors name paths as the caller knows them, relative to the prefix.
  const local = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.mapError(effect, (error) => withContext(error, { path: (p) => ObjectPath.isUnder(p, root) ? strip(p) : p }))

  return ObjectStore.make({
    name: inner.name,
    // The inner store traces every call already.
    spans: false,
    get: (path, options) =>
      local(Effect.map(inner.get(full(path), options), (result) => ObjectStore.withMeta(result, meta(result.meta)))),
    getRange: (path, range) => local(inner.getRange(full(path), range)),
    head: (path) => local(Effect.map(inner.head(full(path)), meta)),
    put: (path, payload, options) => local(inner.put(full(path), payload, options)),
    list: (prefix, options) =>
      inner.list(
        full(prefix),
        options.offset === undefined ? {} : { offset: full(options.offset) }
      ).pipe(
        Stream.map(meta),
        Stream.mapError((error) => withContext(error, { path: (p) => ObjectPath.isUnder(p, root) ? strip(p) : p }))
      ),
    listWithDelimiter: (prefix) =>
      local(Effect.map(inner.listWithDelimiter(full(prefix)), (result) => ({
        commonPrefixes: result.commonPrefixes.map(strip),
        objects: result.objects.map(meta)
      }))),
    copy: (from, to, options) => local(inner.copy(full(from), full(to), options)),
    rename: (from, to, options) => local(inner.rename(full(from), full(to), options)),
    delete: (path) => local(inner.delete(full(path))),
    deleteMany: (paths) => local(inner.delete(paths.map(full)))
  })
}

/**
 * Replaces the `ObjectStore` in context with a view of it below `prefix`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  prefix: string
): Layer.Layer<ObjectStore.ObjectStore, InvalidPath, ObjectStore.ObjectStore> =>
  Layer.effect(ObjectStore.ObjectStore, Effect.flatMap(ObjectStore.ObjectStore, (inner) => make(inner, prefix)))
