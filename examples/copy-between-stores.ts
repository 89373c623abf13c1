// Copies every object of one store into another, streaming each body: two stores in one program, each under a
// role of its own. Here an in-memory store is copied into a local directory; any two stores (S3 to local, local
// to S3, `FromUrl.layer(url)`) work the same way.
// Run it with `npx tsx examples/copy-between-stores.ts`.
import { Console, Effect, Layer, Stream } from "effect"
import { LocalStore, MemoryStore, ObjectStore } from "effect-obstore"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

// One tag per role. Each has the operations of the ObjectStore module as statics: Source.get, Target.put, ...
class Source extends ObjectStore.Tag("example/Source")<Source>() {}
class Target extends ObjectStore.Tag("example/Target")<Target>() {}

/** Streams every object under `prefix` from Source to Target, `concurrency` at a time; returns the bytes copied. */
const copyAll = (prefix = "", concurrency = 4) =>
  Source.list(prefix).pipe(
    Stream.mapEffect(
      (meta) =>
        Effect.gen(function*() {
          const result = yield* Source.get(meta.path)
          // The body goes from one store to the other as a stream: memory stays flat however big the object.
          yield* Target.put(meta.path, result.stream)
          return meta.size
        }),
      { concurrency }
    ),
    Stream.runFold(0, (total, size) => total + size)
  )

const seed = Effect.forEach(
  ["reports/2026/jan.csv", "reports/2026/feb.csv", "images/logo.svg", "README.txt"],
  (key, i) => Source.put(key, `${key}\n`.repeat(100 * (i + 1))),
  { discard: true }
)

const program = Effect.gen(function*() {
  yield* seed
  const bytes = yield* copyAll()
  const copied = yield* Stream.runCollect(Target.list())
  yield* Console.log(`copied ${copied.length} objects, ${bytes} bytes:`)
  for (const meta of copied) yield* Console.log(`  ${meta.path} (${meta.size} bytes)`)
  // What Target holds is what Source holds.
  for (const meta of copied) {
    const [a, b] = yield* Effect.all([
      Effect.flatMap(Source.get(meta.path), (r) => r.text),
      Effect.flatMap(Target.get(meta.path), (r) => r.text)
    ])
    if (a !== b) return yield* Effect.dieMessage(`${meta.path} differs`)
  }
  yield* Console.log("every object matches")
})

const root = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-copy-example-"))

program.pipe(
  Effect.provide(Layer.merge(Source.layer(MemoryStore.layer), Target.layer(LocalStore.layer({ root })))),
  Effect.ensuring(Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))),
  Effect.runPromise
).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
