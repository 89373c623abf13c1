// copy: the source is copied (cloned where the filesystem can) into a temporary file next to the target, then
// committed like a put ("overwrite" or "create").
import * as Effect from "effect/Effect"
import { constants } from "node:fs"
import * as fsp from "node:fs/promises"
import { NotFound, StoreError } from "../../ObjectStoreError.js"
import type { CopyError } from "../../ObjectStoreError.js"
import { commit } from "./commit.js"
import { attempt, context, retryVanished, Vanished } from "./errors.js"
import { handlePath, openRead } from "./open.js"
import { resolveObject } from "./root.js"
import type { Local } from "./state.js"
import { prepareTarget } from "./target.js"
import { isReserved, reservedPath, reserveTemp } from "./tempFile.js"

export const copy = (
  local: Local,
  from: string,
  to: string,
  options: { readonly overwrite: boolean }
): Effect.Effect<void, CopyError> => {
  const ctx = context("copy", from)
  const toCtx = context("copy", to)
  if (isReserved(from)) return Effect.fail(reservedPath(ctx))
  if (isReserved(to)) return Effect.fail(reservedPath(toCtx))
  return Effect.scoped(Effect.gen(function*() {
    const source = yield* resolveObject(local, ctx, from)
    // Copied from the checked handle, never from the name, which may lead elsewhere by now.
    const { handle } = yield* openRead(
      local,
      ctx,
      source,
      (code) => code === "ENOENT" || code === "ENOTDIR" ? new NotFound(ctx) : undefined
    )
    const { target, temp } = yield* retryVanished(Effect.gen(function*() {
      const target = yield* prepareTarget(local, toCtx, to)
      const temp = yield* reserveTemp(target.dir, to)
      yield* attempt(
        toCtx,
        `copying ${source} to ${temp.shown}`,
        () => fsp.copyFile(handlePath(handle, source), temp.file, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE),
        // The source is held open: a missing path is the target's directory, removed by another call's cleanup.
        (code) => code === "ENOENT" ? new Vanished(toCtx, `copying to ${temp.shown}`) : undefined
      )
      return { target, temp }
    }))
    yield* Effect.catchTag(
      commit(local, toCtx, to, temp, target, options.overwrite ? "overwrite" : "create"),
      "PreconditionFailed",
      (e) => Effect.fail(new StoreError({ ...toCtx, description: e.message, cause: e }))
    )
  }))
}
