// The one table from an HTTP failure to a typed error, shared by every cloud. The shared rules say what a status
// means for any request (401 and the cloud's credential codes are Unauthenticated, 403 PermissionDenied, a missing
// bucket or container a StoreError, the rest StoreError); each operation adds what a status means for it alone
// (404 is NotFound for a read but PreconditionFailed for an update), as a small override table.
import {
  AlreadyExists,
  InvalidRange,
  NotFound,
  NotModified,
  PermissionDenied,
  PreconditionFailed,
  StoreError,
  Unauthenticated
} from "../../ObjectStoreError.js"
import type { Context, HttpFailure } from "./failure.js"
import { fieldsOf } from "./failure.js"

/** What a cloud's error codes mean beyond their status. */
export interface ErrorDialect {
  /** Codes that mean bad credentials or a bad signature whatever the status (S3 answers them with 403 or 400). */
  readonly unauthenticatedCodes: ReadonlySet<string>
  /** Codes of a 404 that mean the bucket or container is missing: a configuration problem, never `NotFound`. */
  readonly containerMissingCodes: ReadonlySet<string>
}

const classes = {
  NotFound,
  AlreadyExists,
  PreconditionFailed,
  NotModified,
  InvalidRange,
  PermissionDenied,
  Unauthenticated,
  StoreError
} as const

export type Tag = keyof typeof classes

export type ErrorOf<T extends Tag> = InstanceType<(typeof classes)[T]>

/** The errors any request can end with. */
export type AccessError = ErrorOf<"PermissionDenied" | "Unauthenticated" | "StoreError">

/** What one status means for an operation: a tag, optionally with its own description or path. */
export type Rule<T extends Tag> = T | {
  readonly tag: T
  readonly description?: ((failure: HttpFailure) => string) | undefined
  readonly path?: string | undefined
}

export type Overrides<T extends Tag> = Readonly<Partial<Record<number, Rule<T>>>>

const build = (tag: Tag, ctx: Context, failure: HttpFailure, description?: string, path?: string) => {
  const fields = fieldsOf(ctx, failure)
  return new classes[tag]({
    ...fields,
    ...(description === undefined ? {} : { description }),
    ...(path === undefined ? {} : { path })
  })
}

/** Whether a 404 is about the object (not a missing bucket or container). */
export const isObjectMissing = (dialect: ErrorDialect, failure: HttpFailure): boolean =>
  failure.status === 404 && (failure.code === undefined || !dialect.containerMissingCodes.has(failure.code))

/** The typed error of a failure: the operation's overrides first, then the shared rules. */
export const toError = <T extends Tag = never>(
  dialect: ErrorDialect,
  ctx: Context,
  failure: HttpFailure,
  overrides?: Overrides<T>
): ErrorOf<T> | AccessError => {
  const missingContainer = failure.code !== undefined && dialect.containerMissingCodes.has(failure.code)
  const rule = overrides === undefined || missingContainer ? undefined : overrides[failure.status]
  if (rule !== undefined) {
    return (typeof rule === "string"
      ? build(rule, ctx, failure)
      : build(rule.tag, ctx, failure, rule.description?.(failure), rule.path)) as ErrorOf<T>
  }
  if (failure.status === 401 || (failure.code !== undefined && dialect.unauthenticatedCodes.has(failure.code))) {
    return build("Unauthenticated", ctx, failure) as Unauthenticated
  }
  if (failure.status === 403) return build("PermissionDenied", ctx, failure) as PermissionDenied
  return build("StoreError", ctx, failure) as StoreError
}

// -- the operations' tables ----------------------------------------------------------------------------------------

/** A GET or HEAD: conditionals and ranges answer with their own statuses. */
export const read = (
  describeRange: string
): Overrides<"NotFound" | "NotModified" | "PreconditionFailed" | "InvalidRange"> => ({
  304: "NotModified",
  404: "NotFound",
  412: "PreconditionFailed",
  416: { tag: "InvalidRange", description: (f) => `${describeRange} is not satisfiable: ${f.describe()}` }
})

/** The rest of a body fetched again, pinned to the ETag of its first part. */
export const resume = (received: number): Overrides<"NotFound" | "PreconditionFailed"> => ({
  404: { tag: "NotFound", description: () => "the object was deleted while its body was read" },
  412: {
    tag: "PreconditionFailed",
    description: () => `the object changed while its body was read (after ${received} bytes)`
  }
})

const updateMissing = {
  tag: "PreconditionFailed",
  description: () => "the object to update does not exist"
} as const

/** A write: a conditional one fails with the condition (an update of a missing object too: its ETag is what failed). */
export const write = (
  mode: "overwrite" | "create" | "update"
): Overrides<"AlreadyExists" | "PreconditionFailed"> =>
  mode === "overwrite"
    ? {}
    : mode === "create"
    ? { 409: "AlreadyExists", 412: "AlreadyExists", 404: updateMissing }
    : { 409: "PreconditionFailed", 412: "PreconditionFailed", 404: updateMissing }

/** A copy: the source may be missing, and a copy that must not overwrite names the target it found. */
export const copy = (to: string, overwrite: boolean): Overrides<"NotFound" | "AlreadyExists"> =>
  overwrite
    ? { 404: "NotFound" }
    : { 404: "NotFound", 409: { tag: "AlreadyExists", path: to }, 412: { tag: "AlreadyExists", path: to } }

/** Mode of a put as the table knows it. */
export const writeMode = (mode: "overwrite" | "create" | object): "overwrite" | "create" | "update" =>
  mode === "overwrite" ? "overwrite" : mode === "create" ? "create" : "update"
