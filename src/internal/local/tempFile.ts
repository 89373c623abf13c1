// Temporary files: every write lands in `.<name>.<random>.obstore-tmp` next to its target first, and is put in
// place by commit.ts. Names with the suffix are reserved, so list can skip them and no path can address one.
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { randomBytes } from "node:crypto"
import type { FileHandle } from "node:fs/promises"
import * as fsp from "node:fs/promises"
import * as ObjectPath from "../../ObjectPath.js"
import { InvalidPath } from "../../ObjectStoreError.js"
import type { PermissionDenied, StoreError } from "../../ObjectStoreError.js"
import { attempt, type Context, Vanished } from "./errors.js"
import { closeQuietly, createFile, type Dir } from "./open.js"

/** Temporary files end with this; list skips such names and paths may not use them. */
export const TEMP_SUFFIX = ".obstore-tmp"

/** Whether any segment of a key uses the reserved temporary suffix. */
export const isReserved = (key: string): boolean => key.endsWith(TEMP_SUFFIX) || key.includes(`${TEMP_SUFFIX}/`)

export const reservedPath = (ctx: Context) =>
  new InvalidPath({
    ...ctx,
    description: `names ending in "${TEMP_SUFFIX}" are reserved for LocalStore's temporary files`
  })

/** A fresh temporary name next to `base` (cut so that the name stays under common 255-byte limits). */
export const tempName = (base: string): string =>
  `.${base.slice(0, 48)}.${randomBytes(8).toString("hex")}${TEMP_SUFFIX}`

export interface Temp {
  /** Names the temporary file through its held directory (what the calls use). */
  readonly file: string
  /** Its real path (for messages). */
  readonly shown: string
  /** Set by the commit that moved it into place: then there is nothing to remove. */
  renamed: boolean
}

/** A temporary file name in the held directory `dir`, removed when the scope closes unless renamed into place. */
export const reserveTemp = (dir: Dir, key: string): Effect.Effect<Temp, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync((): Temp => {
      const name = tempName(ObjectPath.filename(key))
      return { file: dir.at(name), shown: dir.shown(name), renamed: false }
    }),
    (temp) => temp.renamed ? Effect.void : Effect.promise(() => fsp.unlink(temp.file).catch(() => undefined))
  )

/**
 * Creates the reserved temporary file (exclusively) and opens it for writing, in a scope. Its directory may have
 * been removed by a concurrent delete with automaticCleanup meanwhile: that is `Vanished`, and the put starts over.
 */
export const openTemp = (
  ctx: Context,
  temp: Temp
): Effect.Effect<FileHandle, PermissionDenied | StoreError | Vanished, Scope.Scope> =>
  Effect.acquireRelease(
    attempt(
      ctx,
      `creating ${temp.shown}`,
      () => createFile(temp.file),
      (code) => code === "ENOENT" ? new Vanished(ctx, `creating ${temp.shown}`) : undefined
    ),
    closeQuietly
  )
