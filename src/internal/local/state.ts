// What every operation of one LocalStore shares: its root, its locks and its cleanup setting.
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { type Locked, makeLocks } from "./locks.js"
import { makeRoot, type Root } from "./root.js"

export interface Local extends Root {
  readonly locked: Locked
  /** Remove the directories that deletes and renames leave empty. */
  readonly automaticCleanup: boolean
}

export const makeLocal = (
  root: string,
  path: Path.Path,
  fs: FileSystem.FileSystem,
  automaticCleanup: boolean
): Local => ({ ...makeRoot(root, path, fs), locked: makeLocks(), automaticCleanup })
