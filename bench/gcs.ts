// GCSStore against @google-cloud/storage and a raw undici floor, on the Cloud Storage emulator, in one process with
// interleaved rounds and medians. Run with `npm run bench -- gcs` (`-- gcs --quick` for a smoke test).
//
//   store    GCSStore with `emulator: true` (what the tests use: metadata from the object resource, so a GET is two
//            requests, objects.get + alt=media; streams in one resumable request)
//   store-1  GCSStore with `emulator: false` (a GET is one alt=media request with metadata from its headers, as on
//            Google); only rows that are safe on the emulator (no multi-chunk uploads: big PUT not run)
//   sdk      @google-cloud/storage (apiEndpoint = the emulator): file.save / file.download / createWriteStream
//            (resumable, one request: the emulator refuses a 16 MiB multipart upload) /
//            createReadStream / getFiles
//   raw      an undici Pool with the same JSON API requests by hand: the emulator's ceiling for this client machine
//
// Rows: 1 KiB PUT and GET at concurrency 16 (ops/s, client CPU ms per 1,000 ops: process.cpuUsage, the emulator runs
// in another process), 64 MiB streamed PUT and GET (MB/s, CPU s/GiB), listing 1,000 keys (ms).
import { Storage } from "@google-cloud/storage"
import { Effect, Exit, Scope, Stream } from "effect"
import { Readable, Writable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { Pool } from "undici"
import * as GCSStore from "../src/GCSStore.js"
import type { ObjectStore } from "../src/ObjectStore.js"

const ENDPOINT = "http://127.0.0.1:47482"
const BUCKET = "obstore-bench"
const KiB = 1024
const MiB = 1024 * KiB
const quick = process.argv.includes("--quick")
const ROUNDS = quick ? 1 : 3
const SMALL_OPS = quick ? 300 : 1_500
const CONCURRENCY = 16
const BIG_MiB = quick ? 16 : 64
const LIST_KEYS = quick ? 300 : 1_000
const PREFIX = `bench-gcs/${Date.now()}-${process.pid}`
const payload = new Uint8Array(KiB).fill(42)
const chunk = new Uint8Array(MiB).fill(7)
function* bigSource(): Generator<Uint8Array> {
  for (let i = 0; i < BIG_MiB; i++) yield chunk
}

interface Client {
  readonly name: string
  readonly putSmall: (key: string) => Promise<unknown>
  readonly getSmall: (key: string) => Promise<number>
  readonly putBig?: (key: string) => Promise<unknown>
  readonly getBig: (key: string) => Promise<number>
  readonly list: (prefix: string) => Promise<number>
}

const runConcurrent = async (n: number, f: (i: number) => Promise<unknown>) => {
  let next = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await f(next++)
  }))
}

const storeClient = async (name: string, emulator: boolean, scope: Scope.CloseableScope): Promise<Client> => {
  const store: ObjectStore.Service = await Effect.runPromise(
    Scope.extend(
      GCSStore.make({ bucket: BUCKET, endpoint: ENDPOINT, emulator, skipSignature: true, client: { allowHttp: true } }),
      scope
    )
  )
  const run = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e)
  return {
    name,
    putSmall: (key) => run(store.put(key, payload)),
    getSmall: (key) => run(Effect.flatMap(store.get(key), (r) => Effect.map(r.bytes, (b) => b.byteLength))),
    ...(emulator
      ? {
        putBig: (key: string) =>
          run(store.put(key, Stream.fromAsyncIterable(toAsync(bigSource()), (e) => e), { multipart: true }))
      }
      : {}),
    getBig: (key) =>
      run(Effect.flatMap(store.get(key), (r) => Stream.runFold(r.stream, 0, (n, c) => n + c.byteLength))),
    list: (prefix) => run(Stream.runCount(store.list(prefix)))
  }
}

async function* toAsync(it: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* it
}

const sdkClient = (): Client => {
  const bucket = new Storage({ apiEndpoint: ENDPOINT, projectId: "demo-test" }).bucket(BUCKET)
  return {
    name: "sdk",
    putSmall: (key) => bucket.file(key).save(Buffer.from(payload), { resumable: false }),
    getSmall: async (key) => (await bucket.file(key).download())[0].byteLength,
    putBig: (key) => pipeline(Readable.from(bigSource()), bucket.file(key).createWriteStream({ resumable: true })),
    getBig: async (key) => {
      let n = 0
      await pipeline(
        bucket.file(key).createReadStream({ validation: false }),
        new Writable({
          write: (c: Buffer, _e, cb) => {
            n += c.byteLength
            cb()
          }
        })
      )
      return n
    },
    list: async (prefix) => (await bucket.getFiles({ prefix: prefix + "/", autoPaginate: true }))[0].length
  }
}

const rawClient = (pool: Pool): Client => {
  const base = `/storage/v1/b/${BUCKET}/o`
  const object = (key: string) => `${base}/${encodeURIComponent(key)}`
  const drain = async (body: AsyncIterable<Uint8Array>) => {
    let n = 0
    for await (const c of body) n += c.byteLength
    return n
  }
  return {
    name: "raw",
    putSmall: async (key) => {
      const r = await pool.request({
        method: "POST",
        path: `/upload${base}?uploadType=media&name=${encodeURIComponent(key)}`,
        headers: { "content-type": "application/octet-stream" },
        body: payload
      })
      await r.body.text()
    },
    getSmall: async (key) =>
      (await (await pool.request({ method: "GET", path: `${object(key)}?alt=media` })).body.bytes()).byteLength,
    getBig: async (key) => drain((await pool.request({ method: "GET", path: `${object(key)}?alt=media` })).body),
    list: async (prefix) => {
      let n = 0
      let token: string | undefined
      do {
        const q = `prefix=${encodeURIComponent(prefix + "/")}${token ? `&pageToken=${encodeURIComponent(token)}` : ""}`
        const page = await (await pool.request({ method: "GET", path: `${base}?${q}` })).body.json() as {
          items?: Array<unknown>
          nextPageToken?: string
        }
        n += page.items?.length ?? 0
        token = page.nextPageToken
      } while (token !== undefined)
      return n
    }
  }
}

interface Sample {
  readonly wall: number
  readonly cpu: number
}

const measure = async (f: () => Promise<unknown>): Promise<Sample> => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await f()
  const wall = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 }
}

const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

type Row = "put 1 KiB" | "get 1 KiB" | "put 64 MiB" | "get 64 MiB" | "list"

const runRow = async (client: Client, row: Row): Promise<Sample | undefined> => {
  const dir = `${PREFIX}/${client.name}`
  switch (row) {
    case "put 1 KiB":
      return measure(() => runConcurrent(SMALL_OPS, (i) => client.putSmall(`${dir}/small/${i % 200}`)))
    case "get 1 KiB":
      return measure(() => runConcurrent(SMALL_OPS, (i) => client.getSmall(`${PREFIX}/shared/small/${i % 200}`)))
    case "put 64 MiB":
      return client.putBig === undefined ? undefined : measure(() => client.putBig!(`${dir}/big.bin`))
    case "get 64 MiB":
      return measure(async () => {
        const n = await client.getBig(`${PREFIX}/shared/big.bin`)
        if (n !== BIG_MiB * MiB) throw new Error(`${client.name} read ${n} bytes`)
      })
    case "list":
      return measure(async () => {
        const n = await client.list(`${PREFIX}/shared/list`)
        if (n !== LIST_KEYS) throw new Error(`${client.name} listed ${n}`)
      })
  }
}

const format = (row: Row, samples: ReadonlyArray<Sample>): string => {
  const wall = median(samples.map((s) => s.wall))
  const cpu = median(samples.map((s) => s.cpu))
  if (row.includes("1 KiB")) {
    return `${Math.round(SMALL_OPS / wall)} ops/s, ${((cpu / SMALL_OPS) * 1e6).toFixed(0)} ms CPU/1k`
  }
  if (row.includes("MiB")) {
    return `${((BIG_MiB * MiB) / 1e6 / wall).toFixed(0)} MB/s, ${(cpu / (BIG_MiB / 1024)).toFixed(2)} s CPU/GiB`
  }
  return `${(wall * 1000).toFixed(0)} ms, ${(cpu * 1000).toFixed(0)} ms CPU`
}

export const main = async (): Promise<void> => {
  const scope = Effect.runSync(Scope.make())
  const pool = new Pool(ENDPOINT, { connections: 64 })
  const clients = [
    await storeClient("store", true, scope),
    await storeClient("store-1", false, scope),
    sdkClient(),
    rawClient(pool)
  ]
  const setup = clients[0]
  console.log(`setting up under ${PREFIX} ...`)
  await runConcurrent(200, (i) => setup.putSmall(`${PREFIX}/shared/small/${i}`))
  await setup.putBig!(`${PREFIX}/shared/big.bin`)
  await runConcurrent(LIST_KEYS, (i) => setup.putSmall(`${PREFIX}/shared/list/k-${String(i).padStart(5, "0")}`))
  const rows: ReadonlyArray<Row> = ["put 1 KiB", "get 1 KiB", "put 64 MiB", "get 64 MiB", "list"]
  const results = new Map<string, Array<Sample>>()
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no client always runs first (or last) on a warm or busy machine.
    const order = clients.map((_, i) => clients[(i + round) % clients.length])
    for (const row of rows) {
      for (const client of order) {
        const sample = await runRow(client, row)
        if (sample === undefined) continue
        const key = `${row}|${client.name}`
        results.set(key, [...(results.get(key) ?? []), sample])
      }
    }
  }
  console.log(`\nGCS emulator, ${ROUNDS} round(s), medians (noisy on a shared machine)\n`)
  console.log(`| row | ${clients.map((c) => c.name).join(" | ")} |`)
  console.log(`|---|${clients.map(() => "---").join("|")}|`)
  for (const row of rows) {
    const cells = clients.map((c) => {
      const samples = results.get(`${row}|${c.name}`)
      return samples === undefined ? "n/a" : format(row, samples)
    })
    console.log(`| ${row} | ${cells.join(" | ")} |`)
  }
  await pool.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
}

if (process.argv[1]?.endsWith("gcs.ts")) await main()
