// CopyObject from another bucket of the same endpoint (https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html):
// the store's own copy names its source in its own bucket; a transfer between two buckets (or two prefixes) of one
// endpoint copies on the server with the source bucket named in `x-amz-copy-source`. The client is built from the
// destination's config the way the store builds its own (a hook into the store would avoid the second pool).
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { CopyError } from "../../ObjectStoreError.js"
import type { S3Config } from "../../S3Store.js"
import * as Credentials from "../aws/credentials.js"
import * as Errors from "../cloud/errors.js"
import { mapFailure } from "../cloud/failure.js"
import * as Undici from "../http/undici.js"
import { encodeS3Key } from "../signing/sigv4.js"
import type { S3, Target } from "./client.js"
import * as Client from "./client.js"
import { errorDialect, errorIn200, STORE } from "./client.js"
import { encryptionHeaders } from "./object.js"
import * as Xml from "./xml.js"

/** Copies `sourceKey` of `sourceBucket` to `key` of the destination bucket, on the server. */
export type CrossCopy = (sourceBucket: string, sourceKey: string, key: string) => Effect.Effect<void, CopyError>

/** The largest object one CopyObject copies; larger ones need UploadPartCopy. */
export const MAX_COPY_SIZE = 5 * 1024 ** 3

/** The endpoint a config sends to, to tell whether two stores can copy between them on the server. */
export const endpointOf = (config: S3Config): string =>
  new URL(config.endpoint ?? `https://s3.${config.region}.amazonaws.com`).origin

const targetOf = (config: S3Config, endpoint: URL): Target => {
  const basePath = endpoint.pathname.replace(/\/+$/, "")
  return config.virtualHostedStyleRequest
    ? {
      origin: `${endpoint.protocol}//${config.bucket}.${endpoint.host}`,
      bucketPath: basePath,
      host: `${config.bucket}.${endpoint.host}`
    }
    : {
      origin: `${endpoint.protocol}//${endpoint.host}`,
      bucketPath: `${basePath}/${encodeS3Key(config.bucket)}`,
      host: endpoint.host
    }
}

const credentialsOf = (config: S3Config) =>
  config.skipSignature
    ? Effect.succeed(undefined)
    : config.accessKeyId !== undefined && config.secretAccessKey !== undefined
    ? Effect.succeed(Credentials.staticProvider({
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      sessionToken: config.sessionToken
    }))
    : Credentials.cached(Credentials.defaultChain({ region: config.region }))

/** A copier into the bucket of `config`, with connections closed with the scope. */
export const make = (config: S3Config): Effect.Effect<CrossCopy, never, Scope.Scope> =>
  Effect.map(clientFor(config), (s3) => (sourceBucket, sourceKey, key) => copy(s3, sourceBucket, sourceKey, key))

/** The request client of the bucket of `config`, built as the store builds its own, on a pool of its own. */
export const clientFor = (config: S3Config): Effect.Effect<S3, never, Scope.Scope> =>
  Effect.gen(function*() {
    const endpoint = new URL(config.endpoint ?? `https://s3.${config.region}.amazonaws.com`)
    const transport = yield* Undici.make(config.client)
    const credentials = yield* credentialsOf(config)
    const client = Client.make({
      transport,
      bucket: config.bucket,
      target: targetOf(config, endpoint),
      region: config.region,
      credentials,
      retry: config.retry,
      unsignedPayload: config.unsignedPayload,
      extraHeaders: config.requestPayer ? { "x-amz-request-payer": "requester" } : {}
    })
    return { client, config }
  })

const copy = (s3: S3, sourceBucket: string, sourceKey: string, key: string) => {
  const ctx = { store: STORE, method: "copy", path: sourceKey }
  const headers = encryptionHeaders(s3, {
    "x-amz-copy-source": `/${encodeS3Key(sourceBucket)}/${encodeS3Key(sourceKey)}`
  })
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
