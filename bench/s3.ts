// S3Store against the AWS SDK and a raw floor, on the local Ceph RADOS Gateway, measured in one process with
// interleaved rounds (A B C, B C A, C A B, ...) and medians. Run with `npm run bench -- s3` (`-- s3 --quick` for a
// one-round smoke test) or `npx tsx bench/s3.ts`.
//
//   A  S3Store.make, built once in a scope; every measured batch is one Effect.runPromise of the whole batch
//   B  @aws-sdk/client-s3 S3Client (forcePathStyle) + @aws-sdk/lib-storage Upload for multipart: what users pick today
//   C  an undici Pool (keep-alive, 64 connections) with a few lines of node:crypto SigV4 (UNSIGNED-PAYLOAD, signing
//      key cached per day): no abstraction at all
//
// Rows: 1 KiB PUT and GET at concurrency 16 (ops/s and client CPU per 1,000: process.cpuUsage, user + system; RGW
// runs in other processes), a 64 MiB streamed GET and a 64 MiB multipart PUT from a stream (8 MiB parts, 4 at a
// time) in MB/s (10^6 bytes) and CPU s/GiB, and listing 5,000 keys (all pages). Everything lives under a key prefix
// of its own, deleted at the end.
import { GetObjectCommand, paginateListObjectsV2, PutObjectCommand, S3Client as AwsS3Client } from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { Effect, Exit, Scope, Stream } from "effect"
import { spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as path from "node:path"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { Pool } from "undici"
import type { ObjectStore } from "../src/ObjectStore.js"
import * as S3Store from "../src/S3Store.js"
import { repoRoot } from "../test/support/repoRoot.js"
import { rawMultipartPut } from "./rawMultipart.js"
import { ACCESS_KEY, query, REGION, SECRET_KEY, sign } from "./rawSigV4.js"

const ENDPOINT = "http://127.0.0.1:47480"
const BUCKET = "test-bucket"

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

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
const PREFIX = `bench-s3/${Date.now()}-${process.pid}`
const smallKey = (i: number) => `${PREFIX}/small/k-${String(i % SMALL_KEYS).padStart(5, "0")}`
const BIG_GET_KEY = `${PREFIX}/big/get.bin`
const bigPutKey = (client: string) => `${PREFIX}/big/put-${client}.bin`
const LIST_PREFIX = `${PREFIX}/list`
const listKey = (i: number) => `${LIST_PREFIX}/k-${String(i).padStart(5, "0")}`

const payload = new Uint8Array(KiB).fill(42)

/** 16 distinct chunks of 1 MiB, cycled: a payload source that costs nothing to produce. */
const chunks: ReadonlyArray<Uint8Array> = Array.from({ length: 16 }, (_, i) => {
  const chunk = new Uint8Array(MiB)
  for (let j = 0; j < chunk.length; j += 4096) chunk[j] = (i * 31 + j) & 0xff
  return chunk
})
function* bigSource(): Generator<Uint8Array> {
  for (let i = 0; i < BIG_MiB; i++) yield chunks[i % chunks.length]
}

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Runs `f(i)` for i in [0, n) with `concurrency` workers. */
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

// ---------------------------------------------------------------------------------------------------------------
// the clients: one interface, three implementations
// ---------------------------------------------------------------------------------------------------------------

interface Client {
  readonly name: string
  /** `SMALL_OPS` PUTs of 1 KiB at concurrency 16. */
  readonly putSmall: () => Promise<void>
  /** `SMALL_OPS` GETs of 1 KiB at concurrency 16, bodies read. */
  readonly getSmall: () => Promise<void>
  /** The big object, streamed and counted; returns the bytes read. */
  readonly getBig: () => Promise<number>
  /** A multipart upload of `BIG_MiB` from a stream of 1 MiB chunks. */
  readonly putBig: () => Promise<void>
  /** Lists `LIST_PREFIX`, all pages; returns the number of keys. */
  readonly list: () => Promise<number>
  readonly close: () => Promise<void>
}

// -- A: S3Store -------------------------------------------------------------------------------------------------

const makeS3Store = async (): Promise<Client> => {
  const scope = await Effect.runPromise(Scope.make())
  const store: ObjectStore.Service = await Effect.runPromise(
    Scope.extend(
      S3Store.make({
        bucket: BUCKET,
        region: REGION,
        endpoint: ENDPOINT,
        accessKeyId: ACCESS_KEY,
        secretAccessKey: SECRET_KEY,
        // The raw floor and the SDK's multipart uploads do not hash bodies either.
        unsignedPayload: true,
        client: { allowHttp: true }
      }),
      scope
    )
  )
  const indices = Array.from({ length: SMALL_OPS }, (_, i) => i)
  return {
    name: "S3Store",
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
              Effect.map(result.bytes, (bytes) => check("S3Store GET", bytes.byteLength, KiB))),
          { concurrency: CONCURRENCY, discard: true }
        )
      ),
    getBig: () =>
      Effect.runPromise(
        Effect.flatMap(
          store.get(BIG_GET_KEY),
          (result) => Stream.runFold(result.stream, 0, (n, chunk) => n + chunk.byteLength)
        )
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

// -- B: the AWS SDK ---------------------------------------------------------------------------------------------

const makeSdk = (): Client => {
  const s3 = new AwsS3Client({
    region: REGION,
    endpoint: ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }
  })
  return {
    name: "SDK",
    putSmall: () =>
      runConcurrent(
        SMALL_OPS,
        CONCURRENCY,
        (i) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: smallKey(i), Body: payload }))
      ),
    getSmall: () =>
      runConcurrent(SMALL_OPS, CONCURRENCY, async (i) => {
        const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: smallKey(i) }))
        const bytes = await response.Body?.transformToByteArray()
        check("SDK GET", bytes?.byteLength ?? -1, KiB)
      }),
    getBig: async () => {
      const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: BIG_GET_KEY }))
      let n = 0
      for await (const chunk of response.Body as unknown as AsyncIterable<Uint8Array>) n += chunk.byteLength
      return n
    },
    putBig: async () => {
      await new Upload({
        client: s3,
        params: { Bucket: BUCKET, Key: bigPutKey("B"), Body: Readable.from(bigSource()) },
        partSize: PART_SIZE,
        queueSize: PART_CONCURRENCY
      }).done()
    },
    list: async () => {
      let n = 0
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: BUCKET, Prefix: `${LIST_PREFIX}/` })) {
        n += page.Contents?.length ?? 0
      }
      return n
    },
    close: async () => s3.destroy()
  }
}

// -- C: the raw floor -------------------------------------------------------------------------------------------

interface RawResponse {
  readonly statusCode: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: AsyncIterable<Uint8Array> & {
    text(): Promise<string>
    arrayBuffer(): Promise<ArrayBuffer>
    dump(): Promise<void>
  }
}

const makeRaw = () => {
  const pool = new Pool(ENDPOINT, { connections: 64, keepAliveTimeout: 10_000 })
  const request = async (
    method: "GET" | "PUT" | "POST" | "DELETE",
    key: string | undefined,
    q: string,
    body?: Uint8Array | string,
    extra: Readonly<Record<string, string>> = {}
  ): Promise<RawResponse> => {
    const path = key === undefined ? `/${BUCKET}` : `/${BUCKET}/${key}`
    const response: RawResponse = await pool.request({
      method,
      path: q === "" ? path : `${path}?${q}`,
      headers: sign(method, path, q, extra),
      body: body ?? null
    })
    if (response.statusCode >= 300) {
      throw new Error(`${method} ${path}?${q}: HTTP ${response.statusCode} ${await response.body.text()}`)
    }
    return response
  }
  const put = async (key: string, body: Uint8Array) => {
    const response = await request("PUT", key, "", body, { "content-length": String(body.byteLength) })
    await response.body.dump()
  }
  const multipartPut = (key: string, source: Iterable<Uint8Array>) =>
    rawMultipartPut(
      (method, q, body) =>
        request(method, key, q, body, body instanceof Uint8Array ? { "content-length": String(body.byteLength) } : {}),
      source,
      { partSize: PART_SIZE, concurrency: PART_CONCURRENCY }
    )
  /** Every key under a prefix, all pages. */
  const listKeys = async (prefix: string): Promise<Array<string>> => {
    const keys: Array<string> = []
    let token: string | undefined
    do {
      const params: Array<readonly [string, string]> = [["list-type", "2"], ["prefix", prefix]]
      if (token !== undefined) params.push(["continuation-token", token])
      const text = await (await request("GET", undefined, query(params))).body.text()
      for (const match of text.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(match[1])
      token = text.includes("<IsTruncated>true</IsTruncated>")
        ? /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(text)?.[1]
        : undefined
    } while (token !== undefined)
    return keys
  }
  const deleteKeys = async (keys: ReadonlyArray<string>) => {
    for (let i = 0; i < keys.length; i += 1000) {
      const body = "<Delete><Quiet>true</Quiet>" +
        keys.slice(i, i + 1000).map((k) => `<Object><Key>${k}</Key></Object>`).join("") + "</Delete>"
      const response = await request("POST", undefined, query([["delete", ""]]), body, {
        "content-md5": createHash("md5").update(body).digest("base64"),
        "content-type": "application/xml"
      })
      await response.body.dump()
    }
  }
  const abortUploads = async (prefix: string) => {
    const text = await (await request("GET", undefined, query([["uploads", ""], ["prefix", prefix]]))).body.text()
    for (const match of text.matchAll(/<Upload>[\s\S]*?<Key>([^<]*)<\/Key>[\s\S]*?<UploadId>([^<]*)<\/UploadId>/g)) {
      await (await request("DELETE", match[1], query([["uploadId", match[2]]]))).body.dump()
    }
  }

  const client: Client = {
    name: "raw",
    putSmall: () => runConcurrent(SMALL_OPS, CONCURRENCY, (i) => put(smallKey(i), payload)),
    getSmall: () =>
      runConcurrent(SMALL_OPS, CONCURRENCY, async (i) => {
        const response = await request("GET", smallKey(i), "")
        check("raw GET", (await response.body.arrayBuffer()).byteLength, KiB)
      }),
    getBig: async () => {
      const response = await request("GET", BIG_GET_KEY, "")
      let n = 0
      for await (const chunk of response.body) n += chunk.byteLength
      return n
    },
    putBig: () => multipartPut(bigPutKey("C"), bigSource()),
    list: async () => (await listKeys(`${LIST_PREFIX}/`)).length,
    close: () => pool.close()
  }
  return { client, put, multipartPut, listKeys, deleteKeys, abortUploads }
}

// ---------------------------------------------------------------------------------------------------------------
// measuring
// ---------------------------------------------------------------------------------------------------------------

interface Sample {
  /** Wall-clock seconds. */
  readonly seconds: number
  /** Client CPU seconds (user + system) of this process. */
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
  const header = ["benchmark", "A S3Store", "B SDK", "C raw", "A/B", "A/C", "target", "result"]
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

const ensureRgw = (): void => {
  const status = spawnSync("bash", ["scripts/s3-rgw.sh", "status"], { cwd: root, stdio: "ignore" })
  if (status.status === 0) return
  console.log("starting the Ceph RADOS Gateway (bash scripts/s3-rgw.sh start) ...")
  const start = spawnSync("bash", ["scripts/s3-rgw.sh", "start"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"]
  })
  if (start.status !== 0) throw new Error(`scripts/s3-rgw.sh start exited with ${start.status}`)
}

/**
 * Runs the benchmark and prints the table.
 */
export const main = async (): Promise<void> => {
  ensureRgw()
  const raw = makeRaw()
  const clients: ReadonlyArray<Client> = [await makeS3Store(), makeSdk(), raw.client]
  const started = performance.now()
  try {
    console.log(
      `S3 benchmarks on RGW ${ENDPOINT} (${ROUNDS} interleaved round${ROUNDS === 1 ? "" : "s"}, medians; ` +
        `prefix ${PREFIX}/)`
    )
    console.log(
      `  small: ${SMALL_OPS} x 1 KiB at concurrency ${CONCURRENCY}; big: ${BIG_MiB} MiB (parts of ${
        PART_SIZE / MiB
      } MiB, ${PART_CONCURRENCY} at a time); list: ${LIST_KEYS} keys`
    )
    // Fixtures, written with the raw client: the small keys, the big object to read, the keys to list.
    await runConcurrent(SMALL_KEYS, 64, (i) => raw.put(smallKey(i), payload))
    await raw.multipartPut(BIG_GET_KEY, bigSource())
    const empty = new Uint8Array(0)
    await runConcurrent(LIST_KEYS, 64, (i) => raw.put(listKey(i), empty))
    console.log(`  fixtures written in ${((performance.now() - started) / 1000).toFixed(1)} s`)

    // One warm-up pass of everything per client (JIT, connections), then the measured rounds.
    for (const client of clients) {
      for (const op of OPS) await runOp(client, op)
    }
    const samples = new Map<string, Array<Sample>>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const op of OPS) {
        // A B C, then B C A, then C A B: each client goes first once in three rounds.
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
    const cpuPerGiB = (s: Sample) => s.cpu * (GiB / bigBytes)
    const fmtOps = (x: number) => `${Math.round(x).toLocaleString("en-US")} ops/s`
    const fmtCpu = (x: number) => `${x.toFixed(3)} s`
    const fmtMb = (x: number) => `${x.toFixed(0)} MB/s`
    const fmtSeconds = (x: number) => `${x.toFixed(3)} s`

    // The targets of issue 7, as ratios within this run.
    const throughputRow = (name: string, values: readonly [number, number, number]): Row => ({
      name,
      values,
      format: fmtOps,
      target: ">= 1.8x SDK",
      pass: values[0] >= 1.8 * values[1]
    })
    const cpuRow = (name: string, values: readonly [number, number, number]): Row => ({
      name,
      values,
      format: fmtCpu,
      target: "<= 1.5x raw",
      pass: values[0] <= 1.5 * values[2]
    })
    const bigRow = (name: string, values: readonly [number, number, number]): Row => ({
      name,
      values,
      format: fmtMb,
      target: ">= SDK, >= 0.9x raw",
      pass: values[0] >= values[1] && values[0] >= 0.9 * values[2]
    })
    const infoRow = (name: string, values: readonly [number, number, number], format: (x: number) => string): Row => ({
      name,
      values,
      format,
      target: "(info)",
      pass: undefined
    })
    const listSeconds = stat("list", (s) => s.seconds)
    const rows: ReadonlyArray<Row> = [
      throughputRow("1 KiB PUT, c=16", stat("putSmall", opsPerSecond)),
      throughputRow("1 KiB GET, c=16", stat("getSmall", opsPerSecond)),
      cpuRow("1 KiB PUT: CPU per 1,000", stat("putSmall", cpuPer1000)),
      cpuRow("1 KiB GET: CPU per 1,000", stat("getSmall", cpuPer1000)),
      bigRow(`${BIG_MiB} MiB streamed GET`, stat("getBig", mbPerSecond)),
      cpuRow(`${BIG_MiB} MiB GET: CPU per GiB`, stat("getBig", cpuPerGiB)),
      bigRow(`${BIG_MiB} MiB multipart PUT`, stat("putBig", mbPerSecond)),
      infoRow(`${BIG_MiB} MiB PUT: CPU per GiB`, stat("putBig", cpuPerGiB), fmtCpu),
      {
        name: `list ${LIST_KEYS.toLocaleString("en-US")} keys`,
        values: listSeconds,
        format: fmtSeconds,
        target: ">= 1.5x faster than SDK",
        pass: listSeconds[0] * 1.5 <= listSeconds[1]
      },
      infoRow(`list ${LIST_KEYS.toLocaleString("en-US")} keys: CPU`, stat("list", (s) => s.cpu), fmtCpu)
    ]
    console.log()
    printTable(rows)
    console.log(`\n(total ${((performance.now() - started) / 1000).toFixed(0)} s)`)
  } finally {
    try {
      await raw.abortUploads(`${PREFIX}/`)
      await raw.deleteKeys(await raw.listKeys(`${PREFIX}/`))
    } finally {
      for (const client of clients) await client.close()
    }
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === thisFile) {
  await main()
}
