// copy: the source is copied (cloned where the filesystem can) into a temporary file next to the target, then
// committed like a put ("overwrite" or "create").
import * as Effect from "effect/Effect"
import { constants } from "node:fs"
import * as fsp from "node:fs/promises"
import { NotFound, StoreError } from "../../ObjectStoreError.js"
import type { CopyError } from "../../ObjectStoreError.js"
import { commit } from "./commit.js"
import { attempt, context } from "./errors.js"
import { resolveObject, statFile } from "./root.js"
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
    yield* statFile(ctx, source)
    const target = yield* prepareTarget(local, toCtx, to)
    const temp = yield* reserveTemp(local.path, target.dir, to)
    yield* attempt(
      ctx,
      `copying ${source} to ${temp.file}`,
      () => fsp.copyFile(source, temp.file, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE),
      (code) =>
        code === "ENOENT" ? new NotFound({ ...ctx, description: "the source vanished during the copy" }) : undefined
    )
    yield* Effect.catchTag(
      commit(local, toCtx, to, temp, target.file, options.overwrite ? "overwrite" : "create"),
      "PreconditionFailed",
      (e) => Effect.fail(new StoreError({ ...toCtx, description: e.message, cause: e }))
    )
  }))
}
