// Everything under one prefix of a store copied into a local directory, with progress and a summary; run again,
// objects whose ETags are comparable MD5s (S3 single-part uploads) and unchanged are skipped. Run with
// `npx tsx examples/transfer.ts [source-url] [target-dir]`, e.g.
// `AWS_ACCESS_KEY_ID=... npx tsx examples/transfer.ts s3://my-bucket/exports /tmp/exports`; without arguments it
// copies a MemoryStore filled here into a temp directory.
import { Effect } from "effect"
import * as FromUrl from "effect-obstore/FromUrl"
import * as Transfer from "effect-obstore/Transfer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const [sourceUrl = "memory:///", target = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-transfer-"))] = process.argv
  .slice(2)

const program = Effect.scoped(Effect.gen(function*() {
  const source = yield* FromUrl.fromUrl(sourceUrl)
  if (sourceUrl === "memory:///") {
    for (let i = 0; i < 5; i++) yield* source.put(`reports/2024/${i}.csv`, `id,value\n${i},${i * i}\n`)
  }
  fs.mkdirSync(target, { recursive: true })
  const local = yield* FromUrl.fromUrl(`file://${target}`)
  const summary = yield* Transfer.transfer({ store: source, path: "" }, { store: local, path: "" }, {
    recursive: true,
    concurrency: 8,
    onProgress: (p) => process.stderr.write(`\r${p.done}/${p.total} bytes, ${p.objects}/${p.totalObjects} objects`),
    onObject: (item) => process.stderr.write(`\n${item.action} ${item.from}`)
  })
  console.log(
    `\n${summary.objects} objects: ${summary.transferred} transferred, ${summary.copied} copied on the server, ` +
      `${summary.skipped} skipped, ${summary.bytes} bytes -> ${target}`
  )
}))

Effect.runPromise(program)
