// Names of the temporary resources a streamed upload is written to before it is moved into place. Listings leave
// them out, so an upload in progress (or one a crashed process left behind) is never seen as an object.
import { randomUUID } from "node:crypto"

const MARK = ".effect-obstore-upload-"

/** A fresh temporary name beside `path` (same collection, so the MOVE is a rename). */
export const temporaryFor = (path: string): string => {
  const slash = path.lastIndexOf("/")
  return `${slash === -1 ? "" : path.slice(0, slash + 1)}${MARK}${randomUUID()}`
}

export const isTemporary = (path: string): boolean => path.slice(path.lastIndexOf("/") + 1).startsWith(MARK)
