/**
 * A store seen through a prefix: every path is resolved below `prefix`, and paths in results are relative to it.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { isPrefixable, PrefixableId } from "./internal/prefixable.js"
import * as ObjectPath from "./ObjectPath.js"
import * as ObjectStore from "./ObjectStore.js"
import type { InvalidPath } from "./ObjectStoreError.js"
import { StoreError, withContext } from "./ObjectStoreError.js"
import * as Signer from "./Signer.js"

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
  Effect.map(parseRoot(prefix), (root) => root === "" ? inner : unsafeMake(inner, root))

const parseRoot = (prefix: string): Effect.Effect<string, InvalidPath> =>
  Either.match(ObjectPath.parsePrefix(prefix, { store: "PrefixStore", method: "make" }), {
    onLeft: Effect.fail,
    onRight: Effect.succeed
  })

// Errors name paths as the caller knows them, relative to the prefix.
const localErrors = (root: string) => <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.mapError(
    effect,
    (error) => withContext(error, { path: (p) => ObjectPath.isUnder(p, root) ? ObjectPath.relative(p, root) : p })
  )

/** A listed path outside the prefix: stripping the prefix from it would name another object. */
const escaped = (inner: ObjectStore.ObjectStore.Service, method: string, path: string) =>
  Effect.fail(
    new StoreError({
      store: inner.name,
      method,
      description: `the store listed ${JSON.stringify(path)}, outside the prefix`
    })
  )

const unsafeMake = (inner: ObjectStore.ObjectStore.Service, root: string): ObjectStore.ObjectStore.Service => {
  const full = (path: string) => ObjectPath.join(root, path)
  const strip = (path: string) => ObjectPath.relative(path, root)
  const meta = (m: ObjectStore.ObjectMeta): ObjectStore.ObjectMeta => ({ ...m, path: strip(m.path) })
  const local = localErrors(root)

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
        // Checked per chunk (one effect per page, not per key).
        Stream.mapChunksEffect((chunk) => {
          const stray = Chunk.findFirst(chunk, (m) => !ObjectPath.isUnder(m.path, root))
          return stray._tag === "Some"
            ? escaped(inner, "list", stray.value.path)
            : Effect.succeed(Chunk.map(chunk, meta))
        }),
        Stream.mapError((error) => withContext(error, { path: (p) => ObjectPath.isUnder(p, root) ? strip(p) : p }))
      ),
    listWithDelimiter: (prefix) =>
      local(Effect.flatMap(inner.listWithDelimiter(full(prefix)), (result) => {
        // A store that lists outside what was asked would have its keys renamed into the prefix: refused.
        const stray = result.objects.find((m) => !ObjectPath.isUnder(m.path, root))?.path ??
          result.commonPrefixes.find((p) => !ObjectPath.isUnder(p, root))
        if (stray !== undefined) return escaped(inner, "listWithDelimiter", stray)
        return Effect.succeed({ commonPrefixes: result.commonPrefixes.map(strip), objects: result.objects.map(meta) })
      })),
    copy: (from, to, options) => local(inner.copy(full(from), full(to), options)),
    rename: (from, to, options) => local(inner.rename(full(from), full(to), options)),
    delete: (path) => local(inner.delete(full(path))),
    deleteMany: (paths) => local(inner.delete(paths.map(full)))
  })
}

/**
 * A signer that signs only below `prefix`: paths are checked, then signed below it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const signer = (
  inner: Signer.Signer.Service,
  prefix: string
): Effect.Effect<Signer.Signer.Service, InvalidPath> =>
  Effect.map(parseRoot(prefix), (root) => root === "" ? inner : unsafeSigner(inner, root))

const unsafeSigner = (inner: Signer.Signer.Service, root: string): Signer.Signer.Service => {
  const full = (input: string) =>
    Either.match(ObjectPath.parse(input, { store: "PrefixStore", method: "sign" }), {
      onLeft: Effect.fail,
      onRight: (path) => Effect.succeed(ObjectPath.join(root, path))
    })
  const local = localErrors(root)
  const sign = (
    method: Signer.SignMethod,
    paths: string | ReadonlyArray<string>,
    expiresIn: Parameters<Signer.Signer.Service["sign"]>[2]
  ): Effect.Effect<URL | ReadonlyArray<URL>, Signer.SignError> =>
    typeof paths === "string"
      ? local(Effect.flatMap(full(paths), (path) => inner.sign(method, path, expiresIn)))
      : local(Effect.flatMap(Effect.forEach(paths, full), (all) => inner.sign(method, all, expiresIn)))
  return { sign: sign as Signer.Signer.Service["sign"] }
}

/**
 * Replaces the `ObjectStore` in context with a view of it below `prefix`. Every other service in context that takes
 * paths is replaced by its view below `prefix` too: the `Signer` (a URL signed through the layer never reaches
 * outside the prefix) and a store's own service such as `S3Store`. So
 * `PrefixStore.layer("tenant").pipe(Layer.provideMerge(S3Store.layer(options)))` hands out no unprefixed service.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  prefix: string
): Layer.Layer<ObjectStore.ObjectStore, InvalidPath, ObjectStore.ObjectStore> =>
  Layer.effectContext(Effect.flatMap(
    Effect.context<ObjectStore.ObjectStore>(),
    (context) =>
      Effect.flatMap(parseRoot(prefix), (root) => {
        const store = Context.get(context, ObjectStore.ObjectStore)
        if (root === "") return Effect.succeed(Context.make(ObjectStore.ObjectStore, store))
        // Services that know how to narrow themselves (a store's own tag), then the Signer and the store.
        const narrowed = Array.from(context.unsafeMap).flatMap(([key, value]) =>
          isPrefixable(value) ? [Effect.map(value[PrefixableId](root), (v) => [key, v] as const)] : []
        )
        return Effect.map(Effect.all(narrowed), (entries) => {
          let out = Context.make(ObjectStore.ObjectStore, unsafeMake(store, root))
          for (const [key, value] of entries) out = Context.add(out, Context.GenericTag<unknown>(key), value)
          const signer = Context.getOption(context, Signer.Signer)
          if (Option.isSome(signer)) out = Context.add(out, Signer.Signer, unsafeSigner(signer.value, root))
          // The extra services are not in the layer's type: they only replace what an outer provideMerge exposes.
          return out as Context.Context<ObjectStore.ObjectStore>
        })
      })
  ))
