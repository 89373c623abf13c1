// The in-process locks of LocalStore: a conditional update (`mode: { eTag }`) compares and renames under the lock
// of its path, and every other commit, rename and delete of that path takes the same lock, so the comparison
// cannot go stale between the check and the rename. Another process does not see these locks.
import * as Effect from "effect/Effect"

/** Paths share this many semaphores (by hash): a fixed memory cost, and collisions only serialise more. */
const LOCK_STRIPES = 64

/** FNV-1a over the UTF-16 code units of a key. */
const hashKey = (key: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h >>> 0
}

/** Runs an effect holding the lock of `key`. */
export type Locked = (key: string) => <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

export const makeLocks = (): Locked => {
  const locks = Array.from({ length: LOCK_STRIPES }, () => Effect.unsafeMakeSemaphore(1))
  return (key) => locks[hashKey(key) % LOCK_STRIPES].withPermits(1)
}
