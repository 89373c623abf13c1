// put: the payload goes to a temporary file next to the target, which commit.ts then puts in place.
import * as Effect from "effect/Effect"
import type { BigIntStats } from "node:fs"
import * as ObjectStore from "../../ObjectStore.js"
import { NotSupported } from "../../ObjectStoreError.js"
import type { PutError } from "../../ObjectStoreError.js"
import * as payloads from "../payload.js"
import { forEachChunk } from "../pull.js"
import { commit } from "./commit.js"
import { attempt, context, retryVanished } from "./errors.js"
import { eTagOf } from "./eTag.js"
import type { Local } from "./state.js"
import { prepareTarget } from "./target.js"
import { isReserved, openTemp, reservedPath, reserveTemp } from "./tempFile.js"
import { makeWriter } from "./writer.js"

const hasAttributes = (attributes: ObjectStore.Attributes | undefined): boolean =>
  attributes !== undefined &&
  Object.entries(attributes).some(([name, value]) =>
    value !== undefined && !(name === "metadata" && Object.keys(value as object).length === 0)
  )

export const put = <E>(
  local: Local,
  key: string,
  payload: ObjectStore.PutPayload<E>,
  options: ObjectStore.PutOptions
): Effect.Effect<ObjectStore.PutResult, PutError | E> => {
  const ctx = context("put", key)
  const mode = options.mode ?? "overwrite"
  if (typeof mode === "object" && mode.version !== undefined) {
    return Effect.fail(
      new NotSupported({ ...ctx, description: "LocalStore keeps no versions; update by eTag instead" })
    )
  }
  if (hasAttributes(options.attributes)) {
    return Effect.fail(
      new NotSupported({
        ...ctx,
        description: "LocalStore does not store attributes: the local filesystem has no place for them"
      })
    )
  }
  if (isReserved(key)) return Effect.fail(reservedPath(ctx))
  return Effect.scoped(Effect.gen(function*() {
    // Prepared again when another call's cleanup removes the directory before the temporary file is in it.
    const { handle, target, temp } = yield* retryVanished(Effect.gen(function*() {
      const target = yield* prepareTarget(local, ctx, key)
      const temp = yield* reserveTemp(target.dir, key)
      return { handle: yield* openTemp(ctx, temp), target, temp }
    }))
    const writer = makeWriter(ctx, handle)
    const chunks = payloads.inMemory(payload)
    if (chunks !== undefined) {
      yield* writer.push(chunks)
    } else {
      yield* forEachChunk(payloads.stream(payload, ctx), (chunk) => writer.push(chunk))
    }
    yield* writer.flush
    const stats: BigIntStats = yield* attempt(
      ctx,
      "stat of the temporary file",
      () => handle.stat({ bigint: true })
    )
    // Closing reports late write errors (NFS); the scope's close of an already closed handle is a no-op.
    yield* attempt(ctx, "closing the temporary file", () => handle.close())
    yield* commit(local, ctx, key, temp, target, mode)
    // rename and link keep the inode and mtime: the temporary file's ETag is the object's.
    return { eTag: eTagOf(stats) }
  }))
}
