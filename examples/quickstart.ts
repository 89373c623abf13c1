// The quickstart: the same program on an in-memory store and on a local directory.
// Run it with `npm run example`.
import { Console, Effect } from "effect"
import { LocalStore, MemoryStore, ObjectStore } from "effect-obstore"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const program = Effect.gen(function*() {
  const store = yield* ObjectStore.ObjectStore
  yield* Console.log(`-- ${store.name}`)

  const put = yield* ObjectStore.put("file.txt", "hello world!")
  yield* Console.log(`put file.txt -> eTag ${put.eTag}`)

  const result = yield* ObjectStore.get("file.txt")
  const text = yield* result.text
  yield* Console.log(`get file.txt -> ${JSON.stringify(text)} (${result.meta.size} bytes, eTag ${result.meta.eTag})`)

  const hello = yield* ObjectStore.getRange("file.txt", { start: 0, end: 5 })
  yield* Console.log(`getRange file.txt 0..5 -> ${JSON.stringify(new TextDecoder().decode(hello))}`)

  yield* ObjectStore.copy("file.txt", "other.txt")
  const copied = yield* Effect.flatMap(ObjectStore.get("other.txt"), (r) => r.text)
  yield* Console.log(`copy -> other.txt -> ${JSON.stringify(copied)}`)

  const listing = yield* ObjectStore.listWithDelimiter()
  yield* Console.log(`list -> ${listing.objects.map((m) => m.path).join(", ")}`)

  // Failures are typed: a missing object is a NotFound you can catch by tag.
  const missing = yield* ObjectStore.head("missing.txt").pipe(
    Effect.as("found?"),
    Effect.catchTag("NotFound", (e) => Effect.succeed(`NotFound: ${e.message}`))
  )
  yield* Console.log(`head missing.txt -> ${missing}`)
})

const root = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-quickstart-"))

const main = Effect.gen(function*() {
  yield* program.pipe(Effect.provide(MemoryStore.layer))
  yield* program.pipe(Effect.provide(LocalStore.layer({ root })))
  yield* Console.log(`(LocalStore wrote into ${root})`)
}).pipe(
  Effect.ensuring(Effect.sync(() => fs.rmSync(root, { recursive: true, force: true })))
)

Effect.runPromise(main).catch((error) => {
  console.error(error)
  process.exit(1)
})
