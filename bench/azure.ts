// AzureStore against @azure/storage-blob and a raw floor, on Azurite, measured in one process with interleaved rounds
// (A B C, B C A, C A B, ...) and medians. Run with `npm run bench -- azure` (`-- azure --quick` for a one-round smoke
// test) or `npx tsx bench/azure.ts`.
//
//   A  AzureStore.make, built once in a scope; every measured batch is one Effect.runPromise of the whole batch
//   B  @azure/storage-blob ContainerClient (uploadData / uploadStream for blocks, download, listBlobsFlat)
//   C  an undici Pool (keep-alive, 64 connections) with a Shared Key signature per request: no abstraction at all.
//      It shows Azurite's own ceiling: Azurite is a single Node process, and a client cannot go faster than it.
//
// Rows: 1 KiB Put Blob and Get Blob at concurrency 16 (ops/s and client CPU per 1,000: process.cpuUsage, user +
// system; Azurite runs in another process), a 64 MiB streamed GET and a 64 MiB block upload from a stream (8 MiB
// blocks, 4 at a time) in MB/s (10^6 bytes), and listing 5,000 blobs (all pages). Everything lives under a prefix of
// its own, deleted at the end.
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob"
import { Effect, Exit, Scope, Stream } from "effect"
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { Pool } from "undici"
import * as AzureStore from "../src/AzureStore.js"
import { API_VERSION, makeSigner } from "../src/internal/azure/sharedKey.js"
import type { ObjectStore } from "../src/ObjectStore.js"
import { repoRoot } from "../test/support/repoRoot.js"

const ACCOUNT = "devstoreaccount1"
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
const ORIGIN = "http://127.0.0.1:10000"
const ENDPOINT = `${ORIGIN}/${ACCOUNT}`
const CONTAINER = "bench-container"

const KiB = 1024
const MiB = 1024 * KiB

const quick = process.argv.includes("--quick")
const ROUNDS = quick ? 1 : 3
const SMALL_OPS = quick ? 300 : 2_000
const SMALL_KEYS = quick ? 300 : 1_000
const CONCURRENCY = 16
const BIG_MiB = quick ? 24 : 64
const PART_SIZE = 8 * MiB
const PART_CONCURRENCY = 4
const LIST_KEYS = quick ? 1_000 : 5_000

const thisFile = fileURLToPath(import.meta.url)
const root = repoRoot(import.meta.url)
const PREFIX = `bench-azure/${Date.now()}-${process.pid}`
const smallKey = (i: number) => `${PREFIX}/small/k-${String(i % SMALL_KEYS).padStart(5, "0")}`
const BIG_GET_KEY = `${PREFIX}/big/get.bin`
const bigPutKey = (client: string) => `${PREFIX}/big/put-${client}.bin`
const LIST_PREFIX = `${PREFIX}/list`
const listKey = (i: number) => `${LIST_PREFIX}/k-${String(i).padStart(5, "0")}`

const payload = new Uint8Array(KiB).fill(42)
const chunks: ReadonlyArray<Uint8Array> = Array.from({ length: 16 }, (_, i) => {
  const chunk = new Uint8Array(MiB)
  for (let j = 0; j < chunk.length; j += 4096) chunk[j] = (i * 31 + j) & 0xff
  return chunk
})
function* bigSource(): Generator<Uint8Array> {
  for (let i = 0; i < BIG_MiB; i++) yield chunks[i % chunks.length]
}

/** The same source as Buffers: the SDK's stream upload takes Buffers only. */
function* bigBuffers(): Generator<Buffer> {
  for (const c of bigSource()) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength)
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const runConcurrent = async (n: number, concurrency: number, f: (i: number) => Promise<unknown>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < n) await f(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

const check = (what: string, got: number, expected: number): void => {
  if (got !== expected) throw new Error(`${what}: got ${got}, expected ${expected}`)
}

interface Client {
  readonly name: string
  readonly putSmall: () => Promise<void>
  readonly getSmall: () => Promise<void>
  readonly getBig: () => Promise<number>
  readonly putBig: () => Promise<void>
  readonly list: () => Promise<number>
  readonly close: () => Promise<void>
}

// -- A: AzureStore ------------------------------------------------------------------------------------------------

const makeAzureStore = async (): Promise<Client> => {
  const scope = await Effect.runPromise(Scope.make())
  const store: ObjectStore.Service = await Effect.runPromise(
    Scope.extend(
      AzureStore.make({
        account: ACCOUNT,
        container: CONTAINER,
        accessKey: KEY,
        endpoint: ENDPOINT,
        client: { allowHttp: true }
      }),
      scope
    )
  )
  const indices = Array.from({ length: SMALL_OPS }, (_, i) => i)
  return {
    name: "AzureStore",
    putSmall: () =>
      Effect.runPromise(
        Effect.forEach(indices, (i) => store.put(smallKey(i), payload), { concurrency: CONCURRENCY, discard: true })
      ),
    getSmall: () =>
      Effect.runPromise(
        Effect.forEach(
          indices,
          (i) =>
            Effect.flatMap(store.get(smallKey(i)), (result) =>
              Effect.map(result.bytes, (bytes) => check("AzureStore GET", bytes.byteLength, KiB))),
          { concurrency: CONCURRENCY, discard: true }
        )
      ),
    getBig: () =>
      Effect.runPromise(
        Effect.flatMap(store.get(BIG_GET_KEY), (result) => Stream.runFold(result.stream, 0, (n, c) => n + c.byteLength))
      ),
    putBig: () =>
      Effect.runPromise(
        Effect.asVoid(
          store.put(bigPutKey("A"), Stream.fromIterable({ [Symbol.iterator]: bigSource }), {
            multipart: { partSize: PART_SIZE, concurrency: PART_CONCURRENCY }
          })
        )
      ),
    list: () => Effect.runPromise(Stream.runCount(store.list(LIST_PREFIX))),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

// -- B: @azure/storage-blob ---------------------------------------------------------------------------------------

const sdkService = new BlobServiceClient(ENDPOINT, new StorageSharedKeyCredential(ACCOUNT, KEY))
const sdkContainer = sdkService.getContainerClient(CONTAINER)

const makeSdk = (): Client => ({
  name: "SDK",
  putSmall: () =>
    runConcurrent(SMALL_OPS, CONCURRENCY, (i) => sdkContainer.getBlockBlobClient(smallKey(i)).upload(payload, KiB)),
  getSmall: () =>
    runConcurrent(SMALL_OPS, CONCURRENCY, async (i) => {
      const bytes = await sdkContainer.getBlockBlobClient(smallKey(i)).downloadToBuffer()
      check("SDK GET", bytes.byteLength, KiB)
    }),
  getBig: async () => {
    const response = await sdkContainer.getBlockBlobClient(BIG_GET_KEY).download()
    let n = 0
    for await (const chunk of response.readableStreamBody as AsyncIterable<Uint8Array>) n += chunk.byteLength
    return n
  },
  putBig: async () => {
    await sdkContainer.getBlockBlobClient(bigPutKey("B")).uploadStream(
      // The SDK's stream upload takes Buffers only.
      Readable.from(bigBuffers()),
      PART_SIZE,
      PART_CONCURRENCY
    )
  },
  list: async () => {
    let n = 0
    for await (const _ of sdkContainer.listBlobsFlat({ prefix: `${LIST_PREFIX}/` })) n++
    return n
  },
  close: async () => {}
})

// -- C: raw undici + Shared Key -------------------------------------------------------------------------------------

const makeRaw = () => {
  const pool = new Pool(ORIGIN, { connections: 64, pipelining: 1 })
  const signer = makeSigner(ACCOUNT, KEY)
  const containerPath = `/${ACCOUNT}/${CONTAINER}`
  const request = (
    method: "GET" | "PUT" | "DELETE",
    blob: string | undefined,
    query: ReadonlyArray<readonly [string, string]>,
    headers: Record<string, string> = {},
    body?: Uint8Array
  ) => {
    const path = blob === undefined ? containerPath : `${containerPath}/${blob}`
    const all: Record<string, string> = {
      ...headers,
      "x-ms-date": new Date().toUTCString(),
      "x-ms-version": API_VERSION,
      "content-length": String(body?.byteLength ?? 0)
    }
    all.authorization = signer.authorization({ method, path, query, headers: all })
    const qs = query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")
    return pool.request({ method, path: qs === "" ? path : `${path}?${qs}`, headers: all, body: body ?? null })
  }
  const put = async (blob: string, body: Uint8Array) => {
    const response = await request("PUT", blob, [], { "x-ms-blob-type": "BlockBlob" }, body)
    await response.body.dump()
    if (response.statusCode !== 201) throw new Error(`raw PUT ${blob}: ${response.statusCode}`)
  }
  const putBlocks = async (blob: string, source: Iterable<Uint8Array>) => {
    const ids: Array<string> = []
    let pending: Array<Uint8Array> = []
    let size = 0
    const inflight = new Set<Promise<void>>()
    const flush = async () => {
      const block = Buffer.concat(pending)
      pending = []
      size = 0
      const id = Buffer.from(String(ids.length).padStart(6, "0")).toString("base64")
      ids.push(id)
      const p = request("PUT", blob, [["comp", "block"], ["blockid", id]], {}, block).then((r) => r.body.dump())
        .then(() => {
          inflight.delete(p)
        })
      inflight.add(p)
      if (inflight.size >= PART_CONCURRENCY) await Promise.race(inflight)
    }
    for (const chunk of source) {
      pending.push(chunk)
      size += chunk.byteLength
      if (size >= PART_SIZE) await flush()
    }
    if (size > 0) await flush()
    await Promise.all(inflight)
    const xml = `<?xml version="1.0" encoding="utf-8"?><BlockList>${
      ids.map((id) => `<Latest>${id}</Latest>`).join("")
    }</BlockList>`
    const response = await request("PUT", blob, [["comp", "blocklist"]], {}, Buffer.from(xml))
    await response.body.dump()
    if (response.statusCode !== 201) throw new Error(`raw Put Block List: ${response.statusCode}`)
  }
  const listKeys = async (prefix: string): Promise<Array<string>> => {
    const keys: Array<string> = []
    let marker: string | undefined
    do {
      const query: Array<readonly [string, string]> = [["restype", "container"], ["comp", "list"], ["prefix", prefix]]
      if (marker !== undefined) query.push(["marker", marker])
      const text = await (await request("GET", undefined, query)).body.text()
      for (const match of text.matchAll(/<Name>([^<]*)<\/Name>/g)) keys.push(match[1])
      marker = /<NextMarker>([^<]+)<\/NextMarker>/.exec(text)?.[1]
    } while (marker !== undefined)
    return keys
  }
  const client: Client = {
    name: "raw",
    putSmall: () => runConcurrent(SMALL_OPS, CONCURRENCY, (i) => put(smallKey(i), payload)),
    getSmall: () =>
      runConcurrent(SMALL_OPS, CONCURRENCY, async (i) => {
        const response = await request("GET", smallKey(i), [])
        check("raw GET", (await response.body.arrayBuffer()).byteLength, KiB)
      }),
    getBig: async () => {
      const response = await request("GET", BIG_GET_KEY, [])
      let n = 0
      for await (const chunk of response.body) n += (chunk as Buffer).byteLength
      return n
    },
    putBig: () => putBlocks(bigPutKey("C"), bigSource()),
    list: async () => (await listKeys(`${LIST_PREFIX}/`)).length,
    close: () => pool.close()
  }
  return { client, put, putBlocks }
}

// -- measuring ------------------------------------------------------------------------------------------------------

interface Sample {
  readonly seconds: number
  readonly cpu: number
}

const measure = async (f: () => Promise<unknown>): Promise<Sample> => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await f()
  const seconds = (performance.now() - t0) / 1000
  const cpu = process.cpuUsage(cpu0)
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6 }
}

type Op = "putSmall" | "getSmall" | "getBig" | "putBig" | "list"
const OPS: ReadonlyArray<Op> = ["putSmall", "getSmall", "getBig", "putBig", "list"]

const runOp = async (client: Client, op: Op): Promise<void> => {
  switch (op) {
    case "getBig":
      return check(`${client.name} big GET`, await client.getBig(), BIG_MiB * MiB)
    case "list":
      return check(`${client.name} list`, await client.list(), LIST_KEYS)
    default:
      return client[op]()
  }
}

interface Row {
  readonly name: string
  readonly values: readonly [number, number, number]
  readonly format: (x: number) => string
  readonly target: string
  readonly pass: boolean | undefined
}

const printTable = (rows: ReadonlyArray<Row>): void => {
  const header = ["benchmark", "A AzureStore", "B SDK", "C raw", "A/B", "A/C", "target", "result"]
  const lines = rows.map((r) => {
    const [a, b, c] = r.values
    return [
      r.name,
      r.format(a),
      r.format(b),
      r.format(c),
      `${(a / b).toFixed(2)}x`,
      `${(a / c).toFixed(2)}x`,
      r.target,
      r.pass === undefined ? "-" : r.pass ? "PASS" : "MISS"
    ]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const format = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()
  console.log(format(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const line of lines) console.log(format(line))
}

const ensureAzurite = (): void => {
  // The status probe has a short timeout, which a loaded machine can miss: asked three times before starting.
  for (let i = 0; i < 3; i++) {
    if (spawnSync("bash", ["scripts/azurite.sh", "status"], { cwd: root, stdio: "ignore" }).status === 0) return
  }
  console.log("starting Azurite (bash scripts/azurite.sh start) ...")
  const start = spawnSync("bash", ["scripts/azurite.sh", "start"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"]
  })
  if (start.status !== 0) throw new Error(`scripts/azurite.sh start exited with ${start.status}`)
}

/** Runs the benchmark and prints the table. */
export const main = async (): Promise<void> => {
  ensureAzurite()
  await sdkContainer.createIfNotExists()
  const raw = makeRaw()
  const clients: ReadonlyArray<Client> = [await makeAzureStore(), makeSdk(), raw.client]
  const started = performance.now()
  try {
    console.log(
      `Azure benchmarks on Azurite ${ENDPOINT} (${ROUNDS} interleaved round${ROUNDS === 1 ? "" : "s"}, medians; ` +
        `prefix ${PREFIX}/)`
    )
    console.log(
      `  small: ${SMALL_OPS} x 1 KiB at concurrency ${CONCURRENCY}; big: ${BIG_MiB} MiB (blocks of ${
        PART_SIZE / MiB
      } MiB, ${PART_CONCURRENCY} at a time); list: ${LIST_KEYS} blobs`
    )
    await runConcurrent(SMALL_KEYS, 32, (i) => raw.put(smallKey(i), payload))
    await raw.putBlocks(BIG_GET_KEY, bigSource())
    await runConcurrent(LIST_KEYS, 32, (i) => raw.put(listKey(i), new Uint8Array(0)))
    console.log(`  fixtures written in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    for (const client of clients) {
      for (const op of OPS) await runOp(client, op)
    }
    const samples = new Map<string, Array<Sample>>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const op of OPS) {
        for (let k = 0; k < clients.length; k++) {
          const client = clients[(round + k) % clients.length]
          const sample = await measure(() => runOp(client, op))
          const key = `${client.name}/${op}`
          samples.set(key, [...(samples.get(key) ?? []), sample])
        }
      }
      console.log(`  round ${round + 1}/${ROUNDS} done at ${((performance.now() - started) / 1000).toFixed(0)} s`)
    }
    const stat = (op: Op, f: (s: Sample) => number): readonly [number, number, number] => {
      const of = (client: Client) => median((samples.get(`${client.name}/${op}`) ?? []).map(f))
      return [of(clients[0]), of(clients[1]), of(clients[2])]
    }
    const bigBytes = BIG_MiB * MiB
    const opsPerSecond = (s: Sample) => SMALL_OPS / s.seconds
    const cpuPer1000 = (s: Sample) => (s.cpu / SMALL_OPS) * 1000
    const mbPerSecond = (s: Sample) => bigBytes / 1e6 / s.seconds
    const fmtOps = (x: number) => `${Math.round(x).toLocaleString("en-US")} ops/s`
    const fmtCpu = (x: number) => `${x.toFixed(3)} s`
    const fmtMb = (x: number) => `${x.toFixed(0)} MB/s`
    // The targets of issue 10, as ratios within this run.
    const rate = (name: string, values: readonly [number, number, number]): Row => ({
      name,
      values,
      format: fmtOps,
      target: ">= 1.5x SDK",
      pass: values[0] >= 1.5 * values[1]
    })
    const cpu = (name: string, values: readonly [number, number, number]): Row => ({
      name,
      values,
      format: fmtCpu,
      target: "<= 0.5x SDK",
      pass: values[0] <= 0.5 * values[1]
    })
    const big = (name: string, values: readonly [number, number, number]): Row => ({
      name,
      values,
      format: fmtMb,
      target: ">= SDK",
      pass: values[0] >= values[1]
    })
    const rows: ReadonlyArray<Row> = [
      rate("1 KiB PUT, c=16", stat("putSmall", opsPerSecond)),
      rate("1 KiB GET, c=16", stat("getSmall", opsPerSecond)),
      cpu("1 KiB PUT: CPU per 1,000", stat("putSmall", cpuPer1000)),
      cpu("1 KiB GET: CPU per 1,000", stat("getSmall", cpuPer1000)),
      big(`${BIG_MiB} MiB streamed GET`, stat("getBig", mbPerSecond)),
      big(`${BIG_MiB} MiB block PUT`, stat("putBig", mbPerSecond)),
      {
        name: `list ${LIST_KEYS.toLocaleString("en-US")} blobs`,
        values: stat("list", (s) => s.seconds),
        format: (x) => `${x.toFixed(3)} s`,
        target: "(info)",
        pass: undefined
      },
      {
        name: `list ${LIST_KEYS.toLocaleString("en-US")} blobs: CPU`,
        values: stat("list", (s) => s.cpu),
        format: fmtCpu,
        target: "(info)",
        pass: undefined
      }
    ]
    console.log()
    printTable(rows)
    console.log(`\n(total ${((performance.now() - started) / 1000).toFixed(0)} s)`)
  } finally {
    try {
      const keys: Array<string> = []
      for await (const blob of sdkContainer.listBlobsFlat({ prefix: `${PREFIX}/` })) keys.push(blob.name)
      await runConcurrent(keys.length, 32, (i) => sdkContainer.deleteBlob(keys[i]))
    } finally {
      for (const client of clients) await client.close()
    }
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === thisFile) {
  await main()
}
