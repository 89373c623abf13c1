import { Effect, Layer } from "effect"
import * as AzureStore from "effect-obstore/AzureStore"
import * as GCSStore from "effect-obstore/GCSStore"
import * as HTTPStore from "effect-obstore/HTTPStore"
import * as LocalStore from "effect-obstore/LocalStore"
import * as MemoryStore from "effect-obstore/MemoryStore"
import type { ObjectStore } from "effect-obstore/ObjectStore"
import * as S3Store from "effect-obstore/S3Store"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Faulty, ioConformance } from "./conformance/io.js"
import { ensureContainer, options as azureOptions } from "./fixtures/azure/azurite.js"
import type { FaultProxy as Proxy } from "./support/faultProxy.js"
import { FaultProxy } from "./support/faultProxy.js"
import type { RequestInfo } from "./support/faultProxy.js"
import { azurite, gcs, rgwOptions, s3, webdav } from "./support/servers.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-io-test-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

ioConformance("MemoryStore", MemoryStore.layer, { partSize: 64 * 1024, md5ETags: false })

ioConformance("LocalStore", LocalStore.layer({ root, automaticCleanup: true }), {
  partSize: 64 * 1024,
  md5ETags: false
})

/**
 * A store behind a fault proxy in front of `origin`, for the cut-connection transfer: `make` builds the store on the
 * proxy's endpoint, `isBodyGet` tells an object download (what gets cut) from the cloud's other requests.
 */
const withFaults = (
  origin: string,
  make: (endpoint: string) => Effect.Effect<ObjectStore.Service, unknown, import("effect/Scope").Scope>,
  isBodyGet: (request: RequestInfo) => boolean
) => {
  let proxy: Proxy | undefined
  return {
    layer: Faulty.layerEffect(Effect.flatMap(FaultProxy.scoped(origin), (started) => {
      proxy = started
      return make(started.endpoint)
    })) as Layer.Layer<Faulty, unknown>,
    cutNextGet: (afterBytes: number) =>
      proxy!.addRule({ match: isBodyGet, fault: { kind: "truncateBody", afterBytes } }),
    cuts: () => proxy?.counts().truncateBody ?? 0
  }
}

ioConformance("S3Store (RADOS Gateway)", S3Store.layer(rgwOptions), {
  partSize: 5 * 1024 * 1024,
  md5ETags: true,
  pendingUploads: (prefix) =>
    Effect.flatMap(S3Store.S3Store, (s) => s.listMultipartUploads(prefix)).pipe(
      Effect.map((uploads) => uploads.length),
      Effect.provide(S3Store.layer(rgwOptions))
    ),
  faults: withFaults(
    s3.endpoint,
    (endpoint) => S3Store.make({ ...rgwOptions, endpoint }),
    (r) => r.method === "GET" && !r.query.has("list-type")
  )
})

// Azurite: blocks of any size, opaque ETags.
await ensureContainer()
ioConformance("AzureStore (Azurite)", AzureStore.layer(azureOptions), {
  partSize: 64 * 1024,
  md5ETags: false,
  faults: withFaults(
    azurite.endpoint,
    (endpoint) => AzureStore.make({ ...azureOptions, endpoint: `${endpoint}/${azurite.account}` }),
    (r) => r.method === "GET" && !r.query.has("comp")
  )
})

// The Cloud Storage emulator: resumable-upload chunks are multiples of 256 KiB, ETags are not MD5s.
const gcsOptions = {
  bucket: "obstore-test",
  emulator: true,
  prefix: `io-${randomUUID()}`,
  client: { allowHttp: true }
} as const
ioConformance("GCSStore (Cloud Storage emulator)", GCSStore.layer({ ...gcsOptions, endpoint: gcs.endpoint }), {
  partSize: 256 * 1024,
  md5ETags: false,
  noConditionalPut: "the emulator ignores ifGenerationMatch, so the store refuses conditional writes on it",
  faults: withFaults(
    gcs.endpoint,
    (endpoint) => GCSStore.make({ ...gcsOptions, endpoint }),
    (r) => r.method === "GET" && r.query.get("alt") === "media"
  )
})

// rclone WebDAV: one PUT per object (no multipart), ETags are content MD5s.
const webdavPrefix = `io-${randomUUID()}`
ioConformance(
  "HTTPStore (rclone WebDAV)",
  HTTPStore.layer({ url: webdav.url, prefix: webdavPrefix, client: { allowHttp: true } }),
  {
    partSize: 64 * 1024,
    md5ETags: true,
    noConditionalPut: "WebDAV servers (rclone among them) ignore conditional PUT headers",
    faults: withFaults(
      webdav.url,
      (endpoint) => HTTPStore.make({ url: `${endpoint}/`, prefix: webdavPrefix, client: { allowHttp: true } }),
      (r) => r.method === "GET"
    )
  }
)
afterAll(() => fs.rmSync(path.join(webdav.root, webdavPrefix), { recursive: true, force: true }))
