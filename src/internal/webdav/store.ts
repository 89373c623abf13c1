// An HTTP store assembled from its parts: the config checked, the client made, and the backend operations wired to
// the shared cloud core (get with ranges, conditionals and resume) and to WebDAV's own requests.
import * as Effect from "effect/Effect"
import type { HTTPConfig } from "../../HTTPStore.js"
import * as ObjectStore from "../../ObjectStore.js"
import { InvalidConfig, NotSupported } from "../../ObjectStoreError.js"
import * as PrefixStore from "../../PrefixStore.js"
import * as Get from "../cloud/get.js"
import type { Transport } from "../http/transport.js"
import type { WebDav } from "./client.js"
import * as Client from "./client.js"
import { STORE } from "./client.js"
import { list, listWithDelimiter } from "./list.js"
import { deleteObject, transfer } from "./object.js"
import { put } from "./put.js"

const DELETE_CONCURRENCY = 8

/** The backend operations of an HTTP store. */
const backend = (dav: WebDav): ObjectStore.Backend => {
  const getClient = dav.client.getClient
  return {
    name: STORE,
    get: (path, options) =>
      options.version !== undefined
        ? Effect.fail(
          new NotSupported({ store: STORE, method: "get", path, description: "WebDAV servers keep no versions" })
        )
        : Get.get(getClient, path, options),
    head: (path) => Get.head(getClient, path),
    put: (path, payload, options) => put(dav, path, payload, options),
    list: (prefix, options) => list(dav, prefix, options.offset),
    listWithDelimiter: (prefix) => listWithDelimiter(dav, prefix),
    copy: (from, to, options) => transfer(dav, "COPY", from, to, options.overwrite),
    rename: (from, to, options) => transfer(dav, "MOVE", from, to, options.overwrite),
    delete: (path) => deleteObject(dav, path),
    deleteMany: (paths) =>
      Effect.forEach(paths, (path) => deleteObject(dav, path), { concurrency: DELETE_CONCURRENCY, discard: true })
  }
}

/** Builds the WebDAV record of a store over a transport (exposed for the store's own service). */
export const makeWebDav = (config: HTTPConfig, transport: Transport): Effect.Effect<WebDav, InvalidConfig> =>
  Effect.suspend(() => {
    const url = new URL(config.url)
    if (url.protocol === "http:" && !config.client.allowHttp) {
      return Effect.fail(
        new InvalidConfig({
          store: STORE,
          method: "make",
          field: "url",
          description: `${url.origin} is plain HTTP; set client.allowHttp: true to allow it`
        })
      )
    }
    const client = Client.make({ transport, url, headers: config.headers, retry: config.retry })
    return Effect.succeed({ client, dirs: new Set<string>(), infinityRefused: false })
  })

/** Builds an HTTP store over a given transport, below `config.prefix` when there is one. */
export const make = (config: HTTPConfig, transport: Transport) =>
  Effect.flatMap(makeWebDav(config, transport), (dav) => {
    const base = ObjectStore.make(backend(dav))
    return config.prefix === undefined ? Effect.succeed(base) : PrefixStore.make(base, config.prefix)
  })
