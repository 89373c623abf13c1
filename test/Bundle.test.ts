// The package stays light: a program that uses only MemoryStore, imported from the package's root, bundles without
// the HTTP, XML and AWS code. Bundle size is not timing: esbuild's output for a fixed input is deterministic.
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as esbuild from "esbuild"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

// What a MemoryStore-only program must not carry.
const FORBIDDEN = [
  /(^|\/)node_modules\/undici\//,
  /(^|\/)node_modules\/fast-xml-parser\//,
  /^src\/internal\/s3\//,
  /^src\/internal\/aws\//,
  /^src\/internal\/http\//,
  /^src\/S3Store\.ts$/
]

// Measured at 296 KB minified (effect's runtime, Stream and Schema are ~95% of it); the seed's 1.08 MB had undici
// and the XML parser in it. The bound leaves room for growth of our own code, not for another dependency.
const MAX_BYTES = 400 * 1024

const program = `
import { Effect } from "effect"
import { MemoryStore, ObjectStore } from "effect-obstore"

const program = Effect.gen(function*() {
  yield* ObjectStore.put("a.txt", "hello")
  const result = yield* ObjectStore.get("a.txt")
  return yield* result.text
})

Effect.runPromise(Effect.provide(program, MemoryStore.layer)).then((text) => console.log(text))
`

const bundle = () =>
  esbuild.build({
    stdin: { contents: program, resolveDir: root, loader: "ts", sourcefile: "entry.ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    minify: true,
    write: false,
    metafile: true,
    logLevel: "silent",
    // As a user's bundler would see the published package: its root module, and package.json's sideEffects.
    alias: { "effect-obstore": "./src/index.ts" },
    tsconfig: path.join(root, "tsconfig.json")
  })

describe("bundle size", () => {
  it.effect("a MemoryStore program imported from the package root carries no HTTP, XML or AWS code", () =>
    Effect.promise(async () => {
      const result = await bundle()
      const outputs = Object.values(result.metafile.outputs)
      assert.strictEqual(outputs.length, 1)
      // The inputs of the output are what the bundle holds (the metafile's top-level inputs also list files the
      // root module names but tree-shaking dropped, such as S3Store.ts).
      const held = Object.entries(outputs[0].inputs).filter(([, input]) => input.bytesInOutput > 0).map(([name]) =>
        name
      )
      const forbidden = held.filter((name) => FORBIDDEN.some((re) => re.test(name)))
      assert.deepStrictEqual(forbidden, [])
      assert.isTrue(held.includes("src/MemoryStore.ts"), "the bundle holds MemoryStore")
      assert.isTrue(held.some((name) => name.startsWith("src/internal/objectStore.ts")), "and the contract layer")

      const bytes = result.outputFiles[0].contents.byteLength
      console.log(`MemoryStore-only bundle: ${(bytes / 1024).toFixed(1)} KiB minified, ${held.length} inputs`)
      assert.isBelow(bytes, MAX_BYTES, `bundle of ${bytes} bytes`)
      assert.isAbove(bytes, 50 * 1024, "a bundle this small cannot hold effect's runtime: the check is broken")

      // The bundle runs on its own.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-bundle-"))
      try {
        const file = path.join(dir, "program.mjs")
        fs.writeFileSync(file, result.outputFiles[0].contents)
        assert.strictEqual(execFileSync(process.execPath, [file], { encoding: "utf8" }).trim(), "hello")
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }))
})
