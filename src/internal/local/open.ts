// The one place LocalStore opens a file below its root (reads, and the temporary files of writes). Whatever
// hardens those opens (O_NOFOLLOW, opening relative to a held directory, refusing FIFOs) belongs here.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { FileHandle } from "node:fs/promises"
import * as fsp from "node:fs/promises"
import type { PermissionDenied, StoreError } from "../../ObjectStoreError.js"
import { attempt, type Context } from "./errors.js"

/** How a file is opened: to read an object, or to create a temporary file that must not exist yet. */
export type OpenFlags = "r" | "wx"

export const openPath = (file: string, flags: OpenFlags): Promise<FileHandle> => fsp.open(file, flags)

export const closeQuietly = (handle: FileHandle): Effect.Effect<void> =>
  Effect.promise(() => handle.close().catch(() => undefined))

/** Opens `file` for reading, in a scope; `on` maps the codes the caller expects, as in `attempt`. */
export const openRead = <E>(
  ctx: Context,
  file: string,
  on: (code: string | undefined, cause: unknown) => E | undefined
): Effect.Effect<FileHandle, E | PermissionDenied | StoreError, Scope.Scope> =>
  Effect.acquireRelease(attempt(ctx, `opening ${file}`, () => openPath(file, "r"), on), closeQuietly)
