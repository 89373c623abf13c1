// HTTPStore against a raw undici Pool on the same server (rclone serve webdav, scripts/webdav.sh), measured in one
// process with interleaved rounds (A B, B A, ...) and medians. Run with `npm run bench -- http` (`-- http --quick`
// for a one-round smoke test) or `npx tsx bench/http.ts`.
//
//   A  HTTPStore.make, built once in a scope; every measured batch is one Effect.runPromise of the whole batch
//   B  an undici Pool (keep-alive, 64 connections): GET and read the body, no abstraction at all
//
// Rows: 1 KiB GETs at concurrency 16 (ops/s and client CPU per 1,000: process.cpuUsage, user + system; rclone runs
// in its own process) and a 64 MiB streamed GET (MB/s, 10^6 bytes). Target: A's CPU per small GET within 1.3x of B's.
// Everything lives under a collection of its own, deleted at the end.
import { Effect, Exit, Scope, Stream } from "effect"
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Pool } from "undici"
import * as HTTPStore from "../src/HTTPStore.js"
import type { ObjectStore } from "../src/ObjectStore.js"
import { repoRoot } from "../test/support/repoRoot.js"

const URL_BASE = "http://127.0.0.1:47481"

const KiB = 1024
const MiB = 1024 * KiB

const quick = process.argv.includes("--quick")
const ROUNDS = quick ? 1 : 5
const SMALL_OPS = quick ? 500 : 3_000
const SMALL_KEYS = quick ? 200 : 500
const CONCURRENCY = 16
const BIG_MiB = quick ? 16 : 64
const TARGET_CPU_RATIO = 1.3

const root = repoRoot(import.meta.url)
const PREFIX = `bench-http-${Date.now()}-${process.pid}`
const smallKey = (i: number) => `small/k-${String(i % SMALL_KEYS).padStart(5, "0")}`
const BIG_KEY = "big.bin"
const payload = new Uint8Array(KiB).fill(42)

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
  readonly getSmall: () => Promise<void>
  readonly getBig: () => Promise<number>
  readonly close: () => Promise<void>
}

const makeStore = async (): Promise<Client> => {
  const scope = await Effect.runPromise(Scope.make())
  const store: ObjectStore.Service = await Effect.runPromise(
    Scope.extend(HTTPStore.make({ url: `${URL_BASE}/${PREFIX}/`, client: { allowHttp: true } }), scope)
  )
  const indices = Array.from({ length: SMALL_OPS }, (_, i) => i)
  return {
    name: "HTTPStore",
    getSmall: () =>
      Effect.runPromise(
        Effect.forEach(
          indices,
          (i) =>
            Effect.flatMap(store.get(smallKey(i)), (result) =>
              Effect.map(result.bytes, (bytes) => check("HTTPStore GET", bytes.byteLength, KiB))),
          { concurrency: CONCURRENCY, discard: true }
        )
      ),
    getBig: () =>
      Effect.runPromise(
        Effect.flatMap(store.get(BIG_KEY), (result) => Stream.runFold(result.stream, 0, (n, c) => n + c.byteLength))
      ),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const makeRaw = () => {
  const pool = new Pool(URL_BASE, { connections: 64, keepAliveTimeout: 10_000 })
  const request = async (method: "GET" | "PUT" | "MKCOL" | "DELETE", key: string, body?: Uint8Array) => {
    const response = await pool.request({
      method,
      path: `/${PREFIX}/${key}`,
      headers: body === undefined ? {} : { "content-length": String(body.byteLength) },
      body: body ?? null
    })
    if (response.statusCode >= 300) throw new Error(`${method} ${key}: HTTP ${response.statusCode}`)
    return response
  }
  const client: Client = {
    name: "raw undici",
    getSmall: () =>
      runConcurrent(SMALL_OPS, CONCURRENCY, async (i) => {
        const response = await request("GET", smallKey(i))
        check("raw GET", (await response.body.arrayBuffer()).byteLength, KiB)
      }),
    getBig: async () => {
      const response = await request("GET", BIG_KEY)
      let n = 0
      for await (const chunk of response.body) n += (chunk as Uint8Array).byteLength
      return n
    },
    close: () => pool.close()
  }
  const setup = async () => {
    await (await request("MKCOL", "")).body.dump()
    await (await request("MKCOL", "small/")).body.dump()
    await runConcurrent(SMALL_KEYS, 16, async (i) => (await request("PUT", smallKey(i), payload)).body.dump())
    const big = new Uint8Array(BIG_MiB * MiB)
    for (let j = 0; j < big.length; j += 4096) big[j] = j & 0xff
    await (await request("PUT", BIG_KEY, big)).body.dump()
  }
  const teardown = async () => (await request("DELETE", "")).body.dump()
  return { client, setup, teardown }
}

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

const ensureWebdav = (): void => {
  if (spawnSync("bash", ["scripts/webdav.sh", "status"], { cwd: root, stdio: "ignore" }).status === 0) return
  console.log("starting rclone serve webdav (bash scripts/webdav.sh start) ...")
  const start = spawnSync("bash", ["scripts/webdav.sh", "start"], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"]
  })
  if (start.status !== 0) throw new Error(`scripts/webdav.sh start exited with ${start.status}`)
}

/** Runs the benchmark and prints the table. */
export const main = async (): Promise<void> => {
  ensureWebdav()
  const raw = makeRaw()
  await raw.setup()
  const clients: ReadonlyArray<Client> = [await makeStore(), raw.client]
  try {
    console.log(`HTTP benchmarks on rclone WebDAV ${URL_BASE} (${ROUNDS} interleaved rounds, medians; /${PREFIX}/)`)
    console.log(`  small: ${SMALL_OPS} x 1 KiB GET at concurrency ${CONCURRENCY}; big: ${BIG_MiB} MiB GET`)
    for (const client of clients) {
      await client.getSmall()
      check(`${client.name} big GET`, await client.getBig(), BIG_MiB * MiB)
    }
    const samples = new Map<string, Array<Sample>>()
    const add = (key: string, sample: Sample) => samples.set(key, [...(samples.get(key) ?? []), sample])
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < clients.length; k++) {
        const client = clients[(round + k) % clients.length]
        add(`${client.name}/small`, await measure(() => client.getSmall()))
        add(`${client.name}/big`, await measure(async () => check("big", await client.getBig(), BIG_MiB * MiB)))
      }
    }
    const stat = (name: string, op: string, f: (s: Sample) => number) => median(samples.get(`${name}/${op}`)!.map(f))
    const [a, b] = clients.map((c) => c.name)
    const rows: ReadonlyArray<readonly [string, number, number, (x: number) => string]> = [
      [
        "1 KiB GET ops/s",
        stat(a, "small", (s) => SMALL_OPS / s.seconds),
        stat(b, "small", (s) => SMALL_OPS / s.seconds),
        (x) => x.toFixed(0)
      ],
      [
        "1 KiB GET CPU s per 1,000",
        stat(a, "small", (s) => s.cpu * 1000 / SMALL_OPS),
        stat(b, "small", (s) => s.cpu * 1000 / SMALL_OPS),
        (x) => x.toFixed(3)
      ],
      [
        `${BIG_MiB} MiB GET MB/s`,
        stat(a, "big", (s) => BIG_MiB * MiB / 1e6 / s.seconds),
        stat(b, "big", (s) => BIG_MiB * MiB / 1e6 / s.seconds),
        (x) => x.toFixed(0)
      ]
    ]
    const header = ["benchmark", `A ${a}`, `B ${b}`, "A/B"]
    const lines = rows.map(([name, x, y, format]) => [name, format(x), format(y), `${(x / y).toFixed(2)}x`])
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
    const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()
    console.log(line(header))
    console.log(widths.map((w) => "-".repeat(w)).join("  "))
    for (const l of lines) console.log(line(l))
    const ratio = rows[1][1] / rows[1][2]
    console.log(
      `target: CPU per small GET within ${TARGET_CPU_RATIO}x of raw undici: ${ratio.toFixed(2)}x ${
        ratio <= TARGET_CPU_RATIO ? "PASS" : "MISS"
      }`
    )
  } finally {
    for (const client of clients) await client.close().catch(() => undefined)
    await raw.teardown().catch(() => undefined)
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
