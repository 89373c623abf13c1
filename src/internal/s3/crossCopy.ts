// CopyObject from another bucket of the same endpoint (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html):
// the store's own copy names its source in its own bucket; a transfer between two buckets (or two prefixes) of one
// endpoint copies on the server with the source bucket named in `x-amz-copy-source`, in parts (`copyParts.ts`) when
// the source is too big for one CopyObject. The clients are built from the two configs the way the store builds its
// own, on one pool of their own (a hook into the stores would avoid it).
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { CopyError, PreconditionFailed } from "../../ObjectStoreError.js"
import type { S3Config } from "../../S3Store.js"
import * as Errors from "../cloud/errors.js"
import { mapFailure } from "../cloud/failure.js"
import * as Undici from "../http/undici.js"
import type { S3 } from "./client.js"
import { errorDialect, errorIn200, HttpFailure, STORE } from "./client.js"
import { clientOn, credentialsOf, endpointUrl } from "./connect.js"
import type { Source } from "./copyParts.js"
import { COPY_PART_SIZE, copyPartsFrom, copySource, isTooBig } from "./copyParts.js"
import { encryptionHeaders } from "./object.js"
import * as Xml from "./xml.js"

/**
 * Copies `sourceKey` of the source bucket to `key` of the destination bucket, on the server; `size` (the source's,
 * as listed) tells whether one CopyObject can.
 */
export type CrossCopy = (
  sourceKey: string,
  key: string,
  size: number
) => Effect.Effect<void, CopyError | PreconditionFailed>

/** The largest object one CopyObject copies; larger ones need UploadPartCopy. */
export const MAX_COPY_SIZE = 5 * 1024 ** 3

/** Above what size a copy is made in parts, and in parts of what size: S3's limits, lowered by tests. */
export interface Limits {
  readonly maxCopySize: number
  readonly partSize: number
}

export const LIMITS: Limits = { maxCopySize: MAX_COPY_SIZE, partSize: COPY_PART_SIZE }

/** The endpoint a config sends to, to tell whether two stores can copy between them on the server. */
export const endpointOf = (config: S3Config): string => endpointUrl(config).origin

/** A copier from the bucket of `source` into the bucket of `dest`, with connections closed with the scope. */
export const make = (
  source: S3Config,
  dest: S3Config,
  limits: Limits = LIMITS
): Effect.Effect<CrossCopy, never, Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Undici.make(dest.client)
    const credentials = yield* credentialsOf(dest)
    const from = clientOn(source, transport, credentials)
    const to = clientOn(dest, transport, credentials)
    return (sourceKey, key, size) => copyFrom(to, { s3: from, key: sourceKey }, key, size, limits)
  })

/** CopyObject up to the limit, or when S3 says the source is too big for it, a copy in parts. */
const copyFrom = (s3: S3, source: Source, key: string, size: number, limits: Limits) => {
  const inParts = copyPartsFrom(s3, source, key, true, limits.partSize)
  return size > limits.maxCopySize ? inParts : Effect.catchIf(
    copy(s3, source, key),
    (e) => e.cause instanceof HttpFailure && isTooBig(e.cause),
    () => inParts
  )
}

/** The request client of the bucket of `config`, built as the store builds its own, on a pool of its own. */
export const clientFor = (config: S3Config): Effect.Effect<S3, never, Scope.Scope> =>
  Effect.gen(function*() {
    const transport = yield* Undici.make(config.client)
    return clientOn(config, transport, yield* credentialsOf(config))
  })

const copy = (s3: S3, source: Source, key: string) => {
  const ctx = { store: STORE, method: "copy", path: source.key }
  const headers = encryptionHeaders(s3, { "x-amz-copy-source": copySource(source) })
  return mapFailure(
    s3.client.execute(
      { method: "PUT", path: s3.client.pathOf(key), headers, idempotent: true },
      ctx,
      (response) =>
        Effect.flatMap(response.body.text, (text) => {
          const error = Xml.error(text)
          return error === undefined ? Effect.void : Effect.fail(errorIn200(ctx, error, true))
        })
    ),
    (failure) => Errors.toError(errorDialect, ctx, failure, Errors.copy(key, true))
  )
}
