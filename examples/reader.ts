// Random access into a big object through a reader: the footer of a file, then a "row group" in the middle, read
// through 64 KiB buffers (one ranged get per buffer, every one pinned to the ETag the reader opened), and the same
// object written through a writer (committed when its scope closes). Run with `npx tsx examples/reader.ts`.
import { Effect } from "effect"
import { MemoryStore } from "effect-obstore"
import * as ObjectReader from "effect-obstore/ObjectReader"
import * as ObjectWriter from "effect-obstore/ObjectWriter"

const program = Effect.gen(function*() {
  // Write 1 MiB in 4 KiB pieces, then an 8-byte "footer".
  yield* Effect.scoped(Effect.gen(function*() {
    const writer = yield* ObjectWriter.openWriter("data/table.bin")
    for (let i = 0; i < 256; i++) yield* writer.write(new Uint8Array(4096).fill(i))
    yield* writer.write("FOOTER!!")
  }))

  const { footer, middle, requests } = yield* Effect.scoped(Effect.gen(function*() {
    const reader = yield* ObjectReader.openReader("data/table.bin", { bufferSize: 64 * 1024 })
    const footer = new TextDecoder().decode(yield* reader.readRange(reader.size - 8, reader.size))
    yield* reader.seek(128 * 4096)
    const middle = yield* reader.read(16)
    return { footer, middle: Array.from(middle), requests: reader.requests() }
  }))
  console.log({ footer, middle, requests })
})

program.pipe(Effect.provide(MemoryStore.layer), Effect.runPromise)
