// ETags and metadata from file stats. Bigint stats carry the nanosecond mtime, which platform's File.Info lacks.
import type { BigIntStats } from "node:fs"
import type { ObjectMeta } from "../../ObjectStore.js"

/** The ETag of a file: inode, nanosecond mtime and size, so a rewrite in place or a replacement both change it. */
export const eTagOf = (stats: BigIntStats): string =>
  `${stats.ino.toString(16)}-${stats.mtimeNs.toString(16)}-${stats.size.toString(16)}`

export const metaOf = (path: string, stats: BigIntStats): ObjectMeta => ({
  path,
  lastModified: new Date(Number(stats.mtimeMs)),
  size: Number(stats.size),
  eTag: eTagOf(stats)
})
