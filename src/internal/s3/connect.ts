// How a bucket's config becomes a request client: its URLs (path or virtual-hosted style), its credentials, and the
// client on a transport. The store builds its own client this way, and a transfer between two buckets builds the
// clients of both (crossCopy.ts).
import * as Effect from "effect/Effect"
import type { S3Config } from "../../S3Store.js"
import * as Credentials from "../aws/credentials.js"
import type { Transport } from "../http/transport.js"
import { encodeS3Key } from "../signing/sigv4.js"
import type { S3, Target } from "./client.js"
import * as Client from "./client.js"

/** The endpoint a config sends to (AWS's regional endpoint when it names none). */
export const endpointUrl = (config: S3Config): URL =>
  new URL(config.endpoint ?? `https://s3.${config.region}.amazonaws.com`)

/** Path style `https://{endpoint}/{bucket}/key` or virtual-hosted `https://{bucket}.{endpoint host}/key`. */
export const targetOf = (config: S3Config, endpoint: URL): Target => {
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

/** Static keys, none (unsigned requests), or a provider (by default the AWS chain) behind the token cache. */
export const credentialsOf = (config: S3Config, provided?: Credentials.CredentialProvider) =>
  config.skipSignature
    ? Effect.succeed(undefined)
    : config.accessKeyId !== undefined && config.secretAccessKey !== undefined
    ? Effect.succeed(Credentials.staticProvider({
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      sessionToken: config.sessionToken
    }))
    : Credentials.cached(provided ?? Credentials.defaultChain({ region: config.region }))

/** The request client of the bucket of `config`, on `transport`. */
export const clientOn = (
  config: S3Config,
  transport: Transport,
  credentials: Credentials.CredentialProvider | undefined
): S3 => {
  const client = Client.make({
    transport,
    bucket: config.bucket,
    target: targetOf(config, endpointUrl(config)),
    region: config.region,
    credentials,
    retry: config.retry,
    unsignedPayload: config.unsignedPayload,
    extraHeaders: config.requestPayer ? { "x-amz-request-payer": "requester" } : {}
  })
  return { client, config }
}
