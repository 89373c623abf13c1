// What every operation of one LocalStore shares: its root, its locks and its cleanup setting.
import { type Locked, makeLocks } from "./locks.js"
import { makeRoot, type Path, type Root } from "./root.js"

export interface Local extends Root {
  readonly locked: Locked
  /** Remove the directories that deletes and renames leave empty. */
  readonly automaticCleanup: boolean
}

export const makeLocal = (
  root: string,
  path: Path,
  automaticCleanup: boolean
): Local => ({ ...makeRoot(root, path), locked: makeLocks(), automaticCleanup })
