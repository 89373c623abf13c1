import { assert, describe, it } from "@effect/vitest"
import * as Errors from "effect-obstore/internal/cloud/errors"
import { HttpFailure } from "effect-obstore/internal/cloud/failure"

const dialect: Errors.ErrorDialect = {
  unauthenticatedCodes: new Set(["SignatureDoesNotMatch"]),
  containerMissingCodes: new Set(["NoSuchBucket"])
}
const ctx = { store: "Test", method: "get", path: "a/b" }
const failure = (status: number, code?: string) => new HttpFailure(status, code, "message", {})

describe("cloud error table", () => {
  it("shared rules: 401 and credential codes are Unauthenticated, 403 PermissionDenied, the rest StoreError", () => {
    assert.strictEqual(Errors.toError(dialect, ctx, failure(401))._tag, "Unauthenticated")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(403, "SignatureDoesNotMatch"))._tag, "Unauthenticated")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(400, "SignatureDoesNotMatch"))._tag, "Unauthenticated")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(403, "AccessDenied"))._tag, "PermissionDenied")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(404))._tag, "StoreError")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(412))._tag, "StoreError")
  })

  it("keeps the context, the description and the raw failure as cause", () => {
    const f = failure(403, "AccessDenied")
    const error = Errors.toError(dialect, ctx, f)
    assert.strictEqual(error.store, "Test")
    assert.strictEqual(error.method, "get")
    assert.strictEqual(error.path, "a/b")
    assert.strictEqual(error.cause, f)
    assert.include(error.message, "HTTP 403: AccessDenied: message")
  })

  it("reads map conditionals and ranges; a missing bucket is never NotFound", () => {
    const read = Errors.read("bytes=10-19")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(404, "NoSuchKey"), read)._tag, "NotFound")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(404, "NoSuchBucket"), read)._tag, "StoreError")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(304), read)._tag, "NotModified")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(412), read)._tag, "PreconditionFailed")
    const range = Errors.toError(dialect, ctx, failure(416, "InvalidRange"), read)
    assert.strictEqual(range._tag, "InvalidRange")
    assert.include(range.message, "bytes=10-19 is not satisfiable")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(403), read)._tag, "PermissionDenied")
  })

  it("writes: the condition fails by mode, an update of a missing object is PreconditionFailed", () => {
    const create = Errors.write("create")
    const update = Errors.write("update")
    const overwrite = Errors.write("overwrite")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(412), create)._tag, "AlreadyExists")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(409), create)._tag, "AlreadyExists")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(412), update)._tag, "PreconditionFailed")
    const missing = Errors.toError(dialect, ctx, failure(404, "NoSuchKey"), update)
    assert.strictEqual(missing._tag, "PreconditionFailed")
    assert.include(missing.message, "does not exist")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(404, "NoSuchBucket"), update)._tag, "StoreError")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(412), overwrite)._tag, "StoreError")
    assert.strictEqual(Errors.writeMode({ eTag: "x" }), "update")
  })

  it("copies: a missing source is NotFound, an existing target AlreadyExists naming the target", () => {
    assert.strictEqual(Errors.toError(dialect, ctx, failure(404), Errors.copy("to", true))._tag, "NotFound")
    const exists = Errors.toError(dialect, ctx, failure(412), Errors.copy("to", false))
    assert.strictEqual(exists._tag, "AlreadyExists")
    assert.strictEqual(exists.path, "to")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(412), Errors.copy("to", true))._tag, "StoreError")
  })

  it("resumes: a changed object is PreconditionFailed saying how far the read got", () => {
    const changed = Errors.toError(dialect, ctx, failure(412), Errors.resume(1234))
    assert.strictEqual(changed._tag, "PreconditionFailed")
    assert.include(changed.message, "after 1234 bytes")
    assert.strictEqual(Errors.toError(dialect, ctx, failure(404), Errors.resume(1))._tag, "NotFound")
  })

  it("isObjectMissing tells a missing object from a missing bucket", () => {
    assert.isTrue(Errors.isObjectMissing(dialect, failure(404, "NoSuchKey")))
    assert.isTrue(Errors.isObjectMissing(dialect, failure(404)))
    assert.isFalse(Errors.isObjectMissing(dialect, failure(404, "NoSuchBucket")))
    assert.isFalse(Errors.isObjectMissing(dialect, failure(403)))
  })
})
