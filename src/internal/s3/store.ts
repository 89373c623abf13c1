// An S3 store assembled from its parts: the config checked, the bucket's target and credentials set up, and the
// backend operations wired to the shared cloud core (get, list) and to S3's own calls.
import * as Effect from "effect/Effect"
import * as ObjectPath from "../../ObjectPath.js"
import * as ObjectStore from "../../ObjectStore.js"
import type { InvalidPath } from "../../ObjectStoreError.js"
import { InvalidConfig, NotSupported } from "../../ObjectStoreError.js"
import * as PrefixStore from "../../PrefixStore.js"
import type { S3Store } from "../../S3Store.js"
import { S3Config } from "../../S3Store.js"
import type * as Signer from "../../Signer.js"
import * as Credentials from "../aws/credentials.js"
import { HttpFailure } from "../cloud/failure.js"
import * as Get from "../cloud/get.js"
import * as Headers from "../cloud/headers.js"
import * as List from "../cloud/list.js"
import type { Transport } from "../http/transport.js"
import type { Prefixable } from "../prefixable.js"
import { PrefixableId } from "../prefixable.js"
import type { S3 } from "./client.js"
import { PART_LIMITS, STORE } from "./client.js"
import { clientOn, credentialsOf, endpointUrl } from "./connect.js"
import * as CopyParts from "./copyParts.js"
import { listMultipartUploads } from "./multipart.js"
import { copyObject, deleteObject, deleteObjects, listObjectsV2 } from "./object.js"
import { put } from "./put.js"
import { makeSigner } from "./sign.js"

const DELETE_BATCH = 1000
const DELETE_CONCURRENCY = 4

const invalid = (field: string, description: string) =>
  new InvalidConfig({ store: STORE, method: "make", field, description })

/** What the schema cannot check alone: fields that depend on each other. */
const checkConfig = (config: S3Config, endpoint: URL): InvalidConfig | undefined => {
  if (endpoint.protocol === "http:" && !config.client.allowHttp) {
    return invalid("endpoint", `${endpoint.origin} is plain HTTP; set client.allowHttp: true to allow it`)
  }
  if (config.serverSideEncryption === undefined && config.sseKmsKeyId !== undefined) {
    return invalid("sseKmsKeyId", "needs serverSideEncryption \"aws:kms\" or \"aws:kms:dsse\"")
  }
  const kms = config.sseKmsKeyId === undefined ? undefined : Headers.headerValueProblem(config.sseKmsKeyId)
  if (kms !== undefined) return invalid("sseKmsKeyId", `the key id ${kms}`)
  if (config.sessionToken !== undefined && config.accessKeyId === undefined) {
    return invalid("sessionToken", "a session token goes with accessKeyId and secretAccessKey; set them too")
  }
  const hasKey = config.accessKeyId !== undefined
  if (hasKey !== (config.secretAccessKey !== undefined)) {
    return invalid(hasKey ? "secretAccessKey" : "accessKeyId", "accessKeyId and secretAccessKey go together")
  }
  return undefined
}

/**
 * The first put option that cannot go on the wire (a line break or a character beyond Latin-1 in a header, a lone
 * surrogate in a tag), as InvalidConfig naming it: refused before any request, so never retried.
 */
const unsendablePut = (path: string, options: ObjectStore.PutOptions): InvalidConfig | undefined => {
  const problem = Headers.attributesProblem(options.attributes) ?? Headers.tagsProblem(options.tags) ??
    modeProblem(options.mode)
  return problem === undefined
    ? undefined
    : new InvalidConfig({
      store: STORE,
      method: "put",
      path,
      field: problem[0],
      description: `${problem[0]} ${problem[1]}`
    })
}

const modeProblem = (mode: ObjectStore.PutMode | undefined): readonly [string, string] | undefined => {
  if (mode === undefined || typeof mode === "string") return undefined
  const eTag = mode.eTag === undefined ? undefined : Headers.headerValueProblem(mode.eTag)
  if (eTag !== undefined) return ["mode.eTag", eTag]
  const version = mode.version === undefined ? undefined : Headers.headerValueProblem(mode.version)
  return version === undefined ? undefined : ["mode.version", version]
}

/** The backend operations of an S3 store. */
const backend = (s3: S3): ObjectStore.Backend => {
  const getClient = s3.client.getClient
  return {
    name: STORE,
    // Checked by ObjectStore.make before any request, like every other option.
    multipartLimits: PART_LIMITS,
    putProgress: true,
    get: (path, options) => Get.get(getClient, path, options),
    head: (path) => Get.head(getClient, path),
    put: (path, payload, options) => {
      const invalid = unsendablePut(path, options)
      return invalid === undefined ? put(s3, path, payload, options) : Effect.fail(invalid)
    },
    list: (prefix, options) =>
      List.paginate(
        (token) =>
          listObjectsV2(s3, "list", prefix, {
            delimiter: false,
            token,
            startAfter: token === undefined ? options.offset : undefined
          }),
        { context: { store: STORE, method: "list", path: prefix }, prefix }
      ),
    listWithDelimiter: (prefix) =>
      List.collect(
        (token) => listObjectsV2(s3, "listWithDelimiter", prefix, { delimiter: true, token }),
        { context: { store: STORE, method: "listWithDelimiter", path: prefix }, prefix }
      ),
    copy: (from, to, options) => {
      if (!options.overwrite && s3.config.copyIfNotExists === "disabled") {
        const description = "copy without overwrite needs a server that honours If-None-Match on CopyObject; set " +
          "copyIfNotExists: \"header\" if yours does"
        return Effect.fail(new NotSupported({ store: STORE, method: "copy", path: from, description }))
      }
      // S3 copies up to 5 GiB in one CopyObject and says so above it: such a copy is made in parts.
      return Effect.catchIf(
        copyObject(s3, from, to, options.overwrite),
        (e) => e.cause instanceof HttpFailure && CopyParts.isTooBig(e.cause),
        () => CopyParts.copyInParts(s3, from, to, options.overwrite)
      )
    },
    delete: (path) => deleteObject(s3, path),
    deleteMany: (paths) => {
      const batches: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < paths.length; i += DELETE_BATCH) batches.push(paths.slice(i, i + DELETE_BATCH))
      return Effect.forEach(batches, (keys) => deleteObjects(s3, keys), {
        concurrency: DELETE_CONCURRENCY,
        discard: true
      })
    }
  }
}

/** Builds an S3 store over a given transport. */
export const make = (
  config: S3Config,
  transport: Transport,
  provided: Credentials.CredentialProvider | undefined
) =>
  Effect.gen(function*() {
    const problem = checkConfig(config, endpointUrl(config))
    if (problem !== undefined) return yield* Effect.fail(problem)
    const credentials = yield* credentialsOf(config, provided)
    const s3: S3 = clientOn(config, transport, credentials)
    return yield* services(s3, ObjectStore.make(backend(s3)), credentials, config)
  })

/** The store, signer and S3Store service of a bucket seen below `config.prefix`. */
const services = (
  s3: S3,
  base: ObjectStore.ObjectStore.Service,
  credentials: Credentials.CredentialProvider | undefined,
  config: S3Config
): Effect.Effect<
  {
    readonly store: ObjectStore.ObjectStore.Service
    readonly signer: Signer.Signer.Service
    readonly service: S3Store["Type"]
  },
  InvalidPath
> =>
  Effect.map(config.prefix === undefined ? Effect.succeed(base) : PrefixStore.make(base, config.prefix), (store) => {
    const prefix = config.prefix === undefined ? "" : config.prefix.replace(/^\/|\/$/g, "")
    const signer: Signer.Signer.Service = makeSigner(s3, credentials, prefix)
    const service: S3Store["Type"] & Prefixable = {
      config,
      store,
      signer,
      listMultipartUploads: (under) =>
        Effect.map(
          listMultipartUploads(s3, ObjectPath.join(prefix, under ?? "")),
          (uploads) => uploads.map(({ key, uploadId }) => ({ key, uploadId }))
        ),
      // Seen through PrefixStore.layer: the same bucket below the joined prefix.
      [PrefixableId]: (root) =>
        Effect.map(
          services(s3, base, credentials, new S3Config({ ...config, prefix: ObjectPath.join(prefix, root) }, true)),
          (s) => s.service
        )
    }
    return { store, signer, service }
  })
