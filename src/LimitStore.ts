/**
 * Bounds the number of requests in flight on a store. A `get` holds its permit while the request runs and again
 * while its body stream is read; a `list` holds one while its stream is read.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as ObjectStore from "./ObjectStore.js"
import { InvalidConfig } from "./ObjectStoreError.js"

/**
 * Wraps a store so that at most `maxConcurrentRequests` operations run at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  inner: ObjectStore.ObjectStore.Service,
  maxConcurrentRequests: number
): Effect.Effect<ObjectStore.ObjectStore.Service, InvalidConfig> => {
  if (!Number.isSafeInteger(maxConcurrentRequests) || maxConcurrentRequests < 1) {
    return Effect.fail(
      new InvalidConfig({
        store: "LimitStore",
        method: "make",
        field: "maxConcurrentRequests",
        description: `must be a positive integer, got ${String(maxConcurrentRequests)}`
      })
    )
  }
  return Effect.map(Effect.makeSemaphore(maxConcurrentRequests), (semaphore) => {
    const limit = semaphore.withPermits(1)
    // A stream takes its permit when it starts and gives it back when it ends, fails or is interrupted. The wait
    // for the permit stays interruptible (acquireRelease's acquire is not): only taking it and registering its
    // release happen as one step.
    const limitStream = <A, E>(stream: Stream.Stream<A, E>): Stream.Stream<A, E> =>
      Stream.unwrapScoped(
        Effect.uninterruptibleMask((restore) =>
          Effect.zipRight(
            restore(semaphore.take(1)),
            Effect.as(Effect.addFinalizer(() => semaphore.release(1)), stream)
          )
        )
      )
    return ObjectStore.make({
      name: inner.name,
      spans: false,
      get: (path, options) =>
        Effect.map(limit(inner.get(path, options)), (result) =>
          ObjectStore.makeGetResult({
            meta: result.meta,
            range: result.range,
            attributes: result.attributes,
            stream: limitStream(result.stream)
          })),
      getRange: (path, range) => limit(inner.getRange(path, range)),
      head: (path) => limit(inner.head(path)),
      put: (path, payload, options) => limit(inner.put(path, payload, options)),
      list: (prefix, options) => limitStream(inner.list(prefix, options)),
      listWithDelimiter: (prefix) => limit(inner.listWithDelimiter(prefix)),
      copy: (from, to, options) => limit(inner.copy(from, to, options)),
      rename: (from, to, options) => limit(inner.rename(from, to, options)),
      delete: (path) => limit(inner.delete(path)),
      // Each delete takes its own permit: a bulk delete must not starve the limit nor exceed it.
      deleteMany: (paths) =>
        Effect.forEach(paths, (path) => limit(inner.delete(path)), { concurrency: "unbounded", discard: true })
    })
  })
}

/**
 * Replaces the `ObjectStore` in context with one that runs at most `maxConcurrentRequests` operations at once.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  maxConcurrentRequests: number
): Layer.Layer<ObjectStore.ObjectStore, InvalidConfig, ObjectStore.ObjectStore> =>
  Layer.effect(
    ObjectStore.ObjectStore,
    Effect.flatMap(ObjectStore.ObjectStore, (inner) => make(inner, maxConcurrentRequests))
  )
