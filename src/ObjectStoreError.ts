/**
 * The typed errors of every store. Backends map their own failures (an S3 `NoSuchKey`, an Azure `BlobNotFound`,
 * an HTTP 404, an `ENOENT`) to these once, at the edge, so programs handle them with `Effect.catchTag`.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-obstore/ObjectStoreError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The context every error carries: which store, which operation, which path, a human readable description and
 * the underlying cause when there is one.
 *
 * @since 0.1.0
 * @category models
 */
export const ErrorContext = {
  store: Schema.String,
  method: Schema.String,
  path: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect)
}

const describe = (
  self: { readonly store: string; readonly method: string; readonly path?: string | undefined },
  what: string,
  description: string | undefined
): string => {
  // JSON quoting escapes control characters: a path with a newline cannot forge a log line.
  const where = self.path === undefined ? "" : ` ${JSON.stringify(self.path).replace(/\u007f/g, "\\u007f")}`
  return `${self.store}.${self.method}${where}: ${what}${description === undefined ? "" : ` (${description})`}`
}

/**
 * The object (or the source of a copy) does not exist.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.TaggedError<NotFound>("effect-obstore/NotFound")("NotFound", ErrorContext) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "object not found", this.description)
  }
}

/**
 * A create (put with `mode: "create"`, copy or rename without overwrite) found an object already there.
 *
 * @since 0.1.0
 * @category errors
 */
export class AlreadyExists
  extends Schema.TaggedError<AlreadyExists>("effect-obstore/AlreadyExists")("AlreadyExists", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "an object already exists at this path", this.description)
  }
}

/**
 * A precondition did not hold: `ifMatch` / `ifUnmodifiedSince` on get, or the ETag / version of an update.
 *
 * @since 0.1.0
 * @category errors
 */
export class PreconditionFailed extends Schema.TaggedError<PreconditionFailed>("effect-obstore/PreconditionFailed")(
  "PreconditionFailed",
  ErrorContext
) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "precondition failed", this.description)
  }
}

/**
 * A conditional get (`ifNoneMatch`, `ifModifiedSince`) found the object unchanged.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotModified
  extends Schema.TaggedError<NotModified>("effect-obstore/NotModified")("NotModified", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "object not modified", this.description)
  }
}

/**
 * The credentials are valid but do not allow this operation (HTTP 403, `EACCES`, a path outside the root).
 *
 * @since 0.1.0
 * @category errors
 */
export class PermissionDenied
  extends Schema.TaggedError<PermissionDenied>("effect-obstore/PermissionDenied")("PermissionDenied", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "permission denied", this.description)
  }
}

/**
 * The credentials are missing, wrong or expired (HTTP 401, a bad signature, an unknown access key).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthenticated
  extends Schema.TaggedError<Unauthenticated>("effect-obstore/Unauthenticated")("Unauthenticated", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "not authenticated", this.description)
  }
}

/**
 * The path breaks the path rules (see `ObjectPath`). Raised before any I/O.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidPath
  extends Schema.TaggedError<InvalidPath>("effect-obstore/InvalidPath")("InvalidPath", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "invalid path", this.description)
  }
}

/**
 * The byte range is malformed (negative, inverted, not an integer) or starts past the end of the object.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRange
  extends Schema.TaggedError<InvalidRange>("effect-obstore/InvalidRange")("InvalidRange", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "invalid range", this.description)
  }
}

/**
 * The store cannot do this (a backend without versions asked for a version, a server that cannot copy
 * conditionally asked to copy without overwrite).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotSupported
  extends Schema.TaggedError<NotSupported>("effect-obstore/NotSupported")("NotSupported", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "not supported", this.description)
  }
}

/**
 * A store's configuration was rejected. `field` names the offending key.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidConfig extends Schema.TaggedError<InvalidConfig>("effect-obstore/InvalidConfig")("InvalidConfig", {
  ...ErrorContext,
  field: Schema.optional(Schema.String)
}) {
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    const what = this.field === undefined ? "invalid configuration" : `invalid configuration field "${this.field}"`
    return describe(this, what, this.description)
  }
}

/**
 * Anything else: transport failures, server errors that outlived their retries, malformed responses.
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreError
  extends Schema.TaggedError<StoreError>("effect-obstore/StoreError")("StoreError", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "store error", this.description)
  }
}

/**
 * The payload of a put could not be read: its stream or iterable failed, or a one-shot payload (a Node `Readable`,
 * a web `ReadableStream`, an async iterator) was already consumed, locked or destroyed before the put began. The
 * store never retries it, and nothing is stored; a caller should not retry it either (it is not transient: build a
 * fresh payload instead).
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadError
  extends Schema.TaggedError<PayloadError>("effect-obstore/PayloadError")("PayloadError", ErrorContext)
{
  /** @since 0.1.0 */
  readonly [TypeId]: TypeId = TypeId
  /** @since 0.1.0 */
  override get message(): string {
    return describe(this, "the payload could not be read", this.description)
  }
}

/**
 * Every error a store can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type ObjectStoreError =
  | NotFound
  | AlreadyExists
  | PreconditionFailed
  | NotModified
  | PermissionDenied
  | Unauthenticated
  | InvalidPath
  | InvalidRange
  | NotSupported
  | InvalidConfig
  | PayloadError
  | StoreError

/**
 * @since 0.1.0
 * @category refinements
 */
export const isObjectStoreError = (u: unknown): u is ObjectStoreError => Predicate.hasProperty(u, TypeId)

/**
 * The failures any operation that talks to a backend can see.
 *
 * @since 0.1.0
 * @category errors
 */
export type AccessError = PermissionDenied | Unauthenticated | StoreError

/**
 * @since 0.1.0
 * @category errors
 */
export type GetError =
  | NotFound
  | NotModified
  | PreconditionFailed
  | InvalidPath
  | InvalidRange
  | NotSupported
  | InvalidConfig
  | AccessError

/**
 * @since 0.1.0
 * @category errors
 */
export type HeadError = NotFound | InvalidPath | AccessError

/**
 * @since 0.1.0
 * @category errors
 */
export type PutError =
  | AlreadyExists
  | PreconditionFailed
  | InvalidPath
  | NotSupported
  | InvalidConfig
  | PayloadError
  | AccessError

/**
 * @since 0.1.0
 * @category errors
 */
export type ListError = InvalidPath | NotSupported | AccessError

/**
 * @since 0.1.0
 * @category errors
 */
export type CopyError = NotFound | AlreadyExists | InvalidPath | NotSupported | AccessError

/**
 * @since 0.1.0
 * @category errors
 */
export type DeleteError = InvalidPath | NotSupported | AccessError

/**
 * The error type of a body stream (a `GetResult.stream`): the read can still fail mid-way, or find that the object
 * changed under it (`PreconditionFailed`).
 *
 * @since 0.1.0
 * @category errors
 */
export type StreamError = PreconditionFailed | NotFound | AccessError

/**
 * A copy of an error with other context (the public method of a derived operation, a path relative to a prefix).
 * Errors that are not this library's pass through unchanged.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withContext = <E>(
  error: E,
  context: { readonly method?: string | undefined; readonly path?: (path: string) => string }
): E => {
  if (!isObjectStoreError(error)) return error
  const method = context.method ?? error.method
  const path = error.path === undefined || context.path === undefined ? error.path : context.path(error.path)
  if (method === error.method && path === error.path) return error
  const copy = Object.create(Object.getPrototypeOf(error)) as E
  return Object.assign(copy as object, error, { method, path }) as E
}
