// LocalStore's backend: the operations of the modules beside this one, bound to one root.
import type * as ObjectStore from "../../ObjectStore.js"
import { copy } from "./copy.js"
import { del } from "./delete.js"
import { STORE } from "./errors.js"
import { get, getRange, head } from "./get.js"
import { list, listWithDelimiter } from "./list.js"
import { put } from "./put.js"
import { rename } from "./rename.js"
import type { Path } from "./root.js"
import { makeLocal } from "./state.js"

/** The backend over the real directory `root` (already checked to exist). */
export const makeBackend = (
  root: string,
  path: Path,
  automaticCleanup: boolean
): ObjectStore.Backend => {
  const local = makeLocal(root, path, automaticCleanup)
  return {
    name: STORE,
    get: (key, options) => get(local, key, options),
    getRange: (key, range) => getRange(local, key, range),
    head: (key) => head(local, key),
    put: (key, payload, options) => put(local, key, payload, options),
    list: (prefix, options) => list(local, prefix, options),
    listWithDelimiter: (prefix) => listWithDelimiter(local, prefix),
    copy: (from, to, options) => copy(local, from, to, options),
    rename: (from, to, options) => rename(local, from, to, options),
    delete: (key) => del(local, key)
  }
}
