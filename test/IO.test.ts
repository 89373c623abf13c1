import { Effect, Layer } from "effect"
import * as LocalStore from "effect-obstore/LocalStore"
import * as MemoryStore from "effect-obstore/MemoryStore"
import * as S3Store from "effect-obstore/S3Store"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Faulty, ioConformance } from "./conformance/io.js"
import type { FaultProxy as Proxy } from "./support/faultProxy.js"
import { FaultProxy } from "./support/faultProxy.js"
import { rgwOptions, s3 } from "./support/servers.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-io-test-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

ioConformance("MemoryStore", MemoryStore.layer, { partSize: 64 * 1024, md5ETags: false })

ioConformance("LocalStore", LocalStore.layer({ root, automaticCleanup: true }), {
  partSize: 64 * 1024,
  md5ETags: false
})

// The RGW bucket through a fault proxy, for the cut-connection transfer.
let proxy: Proxy | undefined
const faulty = Faulty.layerEffect(
  Effect.flatMap(FaultProxy.scoped(s3.endpoint), (started) => {
    proxy = started
    return S3Store.make({ ...rgwOptions, endpoint: started.endpoint })
  })
)

ioConformance("S3Store (RADOS Gateway)", S3Store.layer(rgwOptions), {
  partSize: 5 * 1024 * 1024,
  md5ETags: true,
  pendingUploads: (prefix) =>
    Effect.flatMap(S3Store.S3Store, (s) => s.listMultipartUploads(prefix)).pipe(
      Effect.map((uploads) => uploads.length),
      Effect.provide(S3Store.layer(rgwOptions))
    ),
  faults: {
    layer: faulty as Layer.Layer<Faulty, unknown>,
    cutNextGet: (afterBytes) =>
      proxy!.addRule({
        match: (r) => r.method === "GET" && !r.query.has("list-type"),
        fault: { kind: "truncateBody", afterBytes }
      }),
    cuts: () => proxy?.counts().truncateBody ?? 0
  }
})
