// What a URL on the command line names: a store and a path in it. Unlike `FromUrl`, whose URL path is the store's
// prefix, a CLI URL's path is the object (or the prefix) the command works on: `s3://bucket/a/b.txt` is the object
// `a/b.txt` of the bucket's store, `file:///tmp/x` the path `tmp/x` of a LocalStore over `/`. S3 stores are built
// with their `S3Store` service, so `cp` between two buckets of one endpoint copies on the server and `sign` works.
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { fileURLToPath } from "node:url"
import * as FromUrl from "../../FromUrl.js"
import type { ObjectStore } from "../../ObjectStore.js"
import { InvalidConfig } from "../../ObjectStoreError.js"
import type { Signer } from "../../Signer.js"
import type { S3Side } from "../io/transfer.js"

export interface Location {
  /** The URL as given. */
  readonly url: string
  readonly store: ObjectStore.Service
  /** The S3 service, for server-side copies and signing; undefined for other stores. */
  readonly s3: (S3Side & { readonly signer: Signer.Service }) | undefined
  /** The object path or prefix in the store ("" for the whole store). */
  readonly path: string
  /** The URL ends with "/": it names a directory. */
  readonly directory: boolean
}

const invalid = (url: string, description: string) =>
  new InvalidConfig({ store: "obstore", method: "url", path: url, field: "url", description })

const trim = (path: string) => path.replace(/^\/+|\/+$/g, "")

const s3 = (url: string) =>
  Effect.gen(function*() {
    const [S3Url, S3Store] = yield* Effect.promise(() =>
      Promise.all([import("../s3/url.js"), import("../../S3Store.js")])
    )
    const parsed = S3Url.parse(url)
    if (Either.isLeft(parsed)) return yield* Effect.fail(invalid(url, parsed.left))
    const { prefix, ...fixed } = parsed.right
    const options = yield* S3Store.fromEnv(fixed)
    const context = yield* Layer.build(S3Store.layer(options))
    const service = Context.get(context, S3Store.S3Store)
    return { store: service.store, s3: service, path: prefix ?? "" }
  })

const file = (url: string) =>
  Effect.gen(function*() {
    let absolute: string
    try {
      absolute = fileURLToPath(url)
    } catch (cause) {
      return yield* Effect.fail(invalid(url, `not a file URL: ${String(cause)}`))
    }
    const LocalStore = yield* Effect.promise(() => import("../../LocalStore.js"))
    const store = yield* LocalStore.make({ root: "/" })
    return { store, s3: undefined, path: trim(absolute) }
  })

/** Opens the store a URL names; S3 connections are closed with the scope. */
export const open = (url: string): Effect.Effect<Location, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1].toLowerCase()
    const directory = url.endsWith("/")
    if (scheme === "file") return { url, directory, ...(yield* file(url)) }
    if (scheme === "s3" || scheme === "s3a" || scheme === "https") return { url, directory, ...(yield* s3(url)) }
    if (scheme === "memory") {
      const store = yield* FromUrl.fromUrl("memory:///")
      return { url, directory, store, s3: undefined, path: trim(url.slice("memory://".length)) }
    }
    // A bare path is a local file, as `cp` users expect.
    if (scheme === undefined && url.startsWith("/")) {
      return { url, directory, ...(yield* file(`file://${encodeURI(url)}`)) }
    }
    return yield* Effect.fail(
      invalid(url, "expected s3://bucket/path, file:///absolute/path, an https S3 URL or an absolute path")
    )
  })
