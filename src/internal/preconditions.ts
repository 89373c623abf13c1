// Conditional-get rules for stores that evaluate them themselves (memory, local filesystem), following HTTP
// (RFC 9110 §13.2.2): If-Unmodified-Since is ignored when If-Match is present, and If-Modified-Since when
// If-None-Match is.
import type { GetOptions, ObjectMeta } from "../ObjectStore.js"
import { NotModified, PreconditionFailed } from "../ObjectStoreError.js"

const matches = (header: string, eTag: string | undefined): boolean =>
  header.trim() === "*" || (eTag !== undefined && header.split(",").some((candidate) => candidate.trim() === eTag))

export const checkPreconditions = (
  meta: ObjectMeta,
  options: GetOptions,
  context: { readonly store: string; readonly method: string; readonly path: string }
): PreconditionFailed | NotModified | undefined => {
  if (options.ifMatch !== undefined) {
    if (!matches(options.ifMatch, meta.eTag)) {
      return new PreconditionFailed({
        ...context,
        description: `ifMatch ${options.ifMatch} does not match ETag ${meta.eTag ?? "(none)"}`
      })
    }
  } else if (options.ifUnmodifiedSince !== undefined && meta.lastModified > options.ifUnmodifiedSince) {
    return new PreconditionFailed({
      ...context,
      description:
        `modified at ${meta.lastModified.toISOString()}, after ifUnmodifiedSince ${options.ifUnmodifiedSince.toISOString()}`
    })
  }
  if (options.ifNoneMatch !== undefined) {
    if (matches(options.ifNoneMatch, meta.eTag)) {
      return new NotModified({ ...context, description: `ETag ${meta.eTag ?? "(none)"} matches ifNoneMatch` })
    }
  } else if (options.ifModifiedSince !== undefined && meta.lastModified <= options.ifModifiedSince) {
    return new NotModified({
      ...context,
      description: `not modified since ${options.ifModifiedSince.toISOString()}`
    })
  }
  return undefined
}
