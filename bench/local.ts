// LocalStore and MemoryStore against their raw baselines, measured in one run with interleaved rounds (A B A B ...)
// and medians. Run with `npm run bench -- local` or `npx tsx bench/local.ts`.
//
//   - LocalStore streamed get of 256 MiB vs fs.createReadStream (1 MiB chunks), drained and counted
//   - LocalStore put of a Stream of 1 MiB chunks vs fs.createWriteStream fed the same chunks
//   - LocalStore 1 KiB put + get, and head, in ops/s vs node:fs doing the same (temporary file + rename, readFile,
//     stat): what the per-call checks cost (issue 9: every handle is checked to lie inside the root)
//   - MemoryStore 1 KiB put + get vs a Map behind Effect.sync
//   - peak RSS of a child process streaming 1 GiB from one LocalStore path to another
import { Effect, Stream } from "effect"
import * as esbuild from "esbuild"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { fileURLToPath } from "node:url"
import * as LocalStore from "../src/LocalStore.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as ObjectStore from "../src/ObjectStore.js"
import { repoRoot } from "../test/support/repoRoot.js"

const MiB = 1024 * 1024
const ROUNDS = 5
const STREAM_MiB = 256
const RSS_MiB = 1024
const MEMORY_OPS = 20_000
const SMALL_OPS = 1_000

const thisFile = fileURLToPath(import.meta.url)

const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const time = async (f: () => Promise<unknown>): Promise<number> => {
  const start = performance.now()
  await f()
  return (performance.now() - start) / 1000
}

/** Runs `a` and `b` alternately (after one warm-up each) and returns the median seconds of each. */
const interleave = async (
  a: () => Promise<unknown>,
  b: () => Promise<unknown>,
  before: () => void = () => undefined
): Promise<readonly [number, number]> => {
  before()
  await a()
  before()
  await b()
  const as: Array<number> = []
  const bs: Array<number> = []
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which one goes first, so that neither always follows the other.
    if (i % 2 === 0) {
      before()
      as.push(await time(a))
      before()
      bs.push(await time(b))
    } else {
      before()
      bs.push(await time(b))
      before()
      as.push(await time(a))
    }
  }
  return [median(as), median(bs)]
}

/** 16 distinct chunks of 1 MiB, cycled: a payload source that costs nothing to produce. */
const chunks: ReadonlyArray<Uint8Array> = Array.from({ length: 16 }, (_, i) => {
  const chunk = new Uint8Array(MiB)
  for (let j = 0; j < chunk.length; j += 4096) chunk[j] = (i * 31 + j) & 0xff
  return chunk
})
const chunkAt = (i: number) => chunks[i % chunks.length]

const writeFileOfMiB = (file: string, mib: number): void => {
  const fd = fs.openSync(file, "w")
  try {
    for (let i = 0; i < mib; i++) fs.writeSync(fd, chunkAt(i))
  } finally {
    fs.closeSync(fd)
  }
}

interface Row {
  readonly name: string
  readonly ours: string
  readonly baseline: string
  readonly ratio: string
  readonly target: string
  readonly pass: boolean
}

const printTable = (rows: ReadonlyArray<Row>): void => {
  const header = ["benchmark", "ours", "baseline", "ratio", "target", "result"]
  const lines = rows.map((r) => [r.name, r.ours, r.baseline, r.ratio, r.target, r.pass ? "PASS" : "MISS"])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const format = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i])).join("  ")
  console.log(format(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const line of lines) console.log(format(line))
}

const mibPerSecond = (mib: number, seconds: number) => `${(mib / seconds).toFixed(0)} MiB/s`

// ---------------------------------------------------------------------------------------------------------------
// LocalStore throughput
// ---------------------------------------------------------------------------------------------------------------

const localThroughput = async (dir: string): Promise<ReadonlyArray<Row>> => {
  const store = await Effect.runPromise(Effect.provide(ObjectStore.ObjectStore, LocalStore.layer({ root: dir })))
  const source = path.join(dir, "source.bin")
  writeFileOfMiB(source, STREAM_MiB)
  const expected = STREAM_MiB * MiB

  const check = (n: number) => {
    if (n !== expected) throw new Error(`read ${n} bytes, expected ${expected}`)
  }

  const rawGet = () =>
    new Promise<void>((resolve, reject) => {
      let n = 0
      fs.createReadStream(source, { highWaterMark: MiB })
        .on("data", (chunk) => {
          n += chunk.length
        })
        .on("error", reject)
        .on("end", () => {
          check(n)
          resolve()
        })
    })

  const ourGet = () =>
    Effect.runPromise(
      Effect.flatMap(store.get("source.bin"), (result) =>
        Stream.runFold(result.stream, 0, (n, chunk) => n + chunk.byteLength))
    ).then(check)

  const [getRaw, getOurs] = await interleave(rawGet, ourGet)

  const rawTarget = path.join(dir, "put-raw.bin")
  const ourTarget = path.join(dir, "put-ours.bin")
  function* source1MiB() {
    for (let i = 0; i < STREAM_MiB; i++) yield chunkAt(i)
  }
  const rawPut = () => pipeline(Readable.from(source1MiB()), fs.createWriteStream(rawTarget, { highWaterMark: MiB }))
  const ourPut = () =>
    Effect.runPromise(store.put("put-ours.bin", Stream.fromIterable({ [Symbol.iterator]: source1MiB })))
  // Both start from no file: neither pays for freeing the previous round's blocks inside its timing.
  const removeTargets = () => {
    fs.rmSync(rawTarget, { force: true })
    fs.rmSync(ourTarget, { force: true })
  }
  const [putRaw, putOurs] = await interleave(rawPut, ourPut, removeTargets)
  if (fs.statSync(ourTarget).size !== expected) throw new Error("LocalStore put wrote the wrong size")
  removeTargets()
  fs.rmSync(source)

  const getRatio = getRaw / getOurs
  const putRatio = putRaw / putOurs
  return [
    {
      name: `LocalStore get, ${STREAM_MiB} MiB streamed`,
      ours: mibPerSecond(STREAM_MiB, getOurs),
      baseline: `${mibPerSecond(STREAM_MiB, getRaw)} (createReadStream)`,
      ratio: `${getRatio.toFixed(2)}x`,
      target: ">= 0.80x",
      pass: getRatio >= 0.8
    },
    {
      name: `LocalStore put, ${STREAM_MiB} MiB stream of 1 MiB chunks`,
      ours: mibPerSecond(STREAM_MiB, putOurs),
      baseline: `${mibPerSecond(STREAM_MiB, putRaw)} (createWriteStream)`,
      ratio: `${putRatio.toFixed(2)}x`,
      target: ">= 0.80x",
      pass: putRatio >= 0.8
    }
  ]
}

// ---------------------------------------------------------------------------------------------------------------
// LocalStore small operations, ops/s
// ---------------------------------------------------------------------------------------------------------------

const localSmallOps = async (dir: string): Promise<ReadonlyArray<Row>> => {
  const root = path.join(dir, "small")
  fs.mkdirSync(path.join(root, "raw", "dir"), { recursive: true })
  const store = await Effect.runPromise(LocalStore.make({ root }))
  const payload = new Uint8Array(1024).fill(42)
  const keys = Array.from({ length: 100 }, (_, i) => `ours/dir/key-${i}`)
  const files = Array.from({ length: 100 }, (_, i) => path.join(root, "raw", "dir", `key-${i}`))
  const each = (f: (i: number) => Promise<unknown>) => async () => {
    for (let i = 0; i < SMALL_OPS; i++) await f(i % 100)
  }
  const ourPutGet = each((i) =>
    Effect.runPromise(
      Effect.flatMap(store.put(keys[i], payload), () => Effect.flatMap(store.get(keys[i]), (r) => r.bytes))
    )
  )
  // What a careful program does with node:fs alone: write a temporary file, rename it into place, read it back.
  const rawPutGet = each(async (i) => {
    const temp = `${files[i]}.tmp`
    await fs.promises.writeFile(temp, payload, { flag: "wx" })
    await fs.promises.rename(temp, files[i])
    await fs.promises.readFile(files[i])
  })
  const [putGetOurs, putGetRaw] = await interleave(ourPutGet, rawPutGet)
  const ourHead = each((i) => Effect.runPromise(store.head(keys[i])))
  const rawHead = each((i) => fs.promises.stat(files[i], { bigint: true }))
  const [headOurs, headRaw] = await interleave(ourHead, rawHead)
  const rate = (seconds: number, what: string) => `${Math.round(SMALL_OPS / seconds).toLocaleString("en-US")} ${what}/s`
  return [
    {
      name: "LocalStore 1 KiB put + get",
      ours: rate(putGetOurs, "put+get"),
      baseline: `${rate(putGetRaw, "put+get")} (writeFile + rename + readFile)`,
      ratio: `${(putGetRaw / putGetOurs).toFixed(2)}x`,
      target: "(for comparison)",
      pass: true
    },
    {
      name: "LocalStore head",
      ours: rate(headOurs, "head"),
      baseline: `${rate(headRaw, "stat")} (fs.stat)`,
      ratio: `${(headRaw / headOurs).toFixed(2)}x`,
      target: "(for comparison)",
      pass: true
    }
  ]
}

// ---------------------------------------------------------------------------------------------------------------
// MemoryStore ops/s
// ---------------------------------------------------------------------------------------------------------------

const memoryOps = async (tracing: boolean): Promise<Row> => {
  const payload = new Uint8Array(1024).fill(42)
  const keys = Array.from({ length: 1000 }, (_, i) => `bench/key-${i}`)
  const store = await Effect.runPromise(MemoryStore.make)
  const map = new Map<string, Uint8Array>()

  const ours = () =>
    Effect.runPromise(Effect.withTracerEnabled(
      Effect.forEach(
        Array.from({ length: MEMORY_OPS }, (_, i) => keys[i % keys.length]),
        (key) => Effect.flatMap(store.put(key, payload), () => Effect.flatMap(store.get(key), (r) => r.bytes)),
        { discard: true }
      ),
      tracing
    ))
  const baseline = () =>
    Effect.runPromise(Effect.forEach(
      Array.from({ length: MEMORY_OPS }, (_, i) => keys[i % keys.length]),
      (key) =>
        Effect.flatMap(
          Effect.sync(() => map.set(key, payload)),
          () => Effect.sync(() => map.get(key))
        ),
      { discard: true }
    ))
  // CPU time of this process beside wall time: on a shared machine the wall clock also counts other processes.
  let cpuMicros = 0
  const oursCpu = async () => {
    const before = process.cpuUsage()
    await ours()
    const used = process.cpuUsage(before)
    cpuMicros = Math.min(cpuMicros === 0 ? Infinity : cpuMicros, used.user + used.system)
  }
  const [oursSeconds, baselineSeconds] = await interleave(oursCpu, baseline)
  const slowdown = oursSeconds / baselineSeconds
  const rate = MEMORY_OPS / oursSeconds
  const opsPerSecond = (s: number) => `${Math.round(MEMORY_OPS / s).toLocaleString("en-US")} put+get/s`
  // The cloud-core issue's target, for the traced row: the contract layer's overhead per operation.
  const target = tracing ? 100_000 : undefined
  return {
    name: `MemoryStore 1 KiB put + get${tracing ? "" : " (tracer off)"}`,
    ours: `${opsPerSecond(oursSeconds)} (cpu: ${opsPerSecond(cpuMicros / 1e6)})`,
    baseline: `${opsPerSecond(baselineSeconds)} (Map in Effect.sync)`,
    ratio: `${slowdown.toFixed(2)}x slower`,
    target: target === undefined ? "(for comparison)" : `>= ${target.toLocaleString("en-US")} put+get/s`,
    pass: target === undefined ? true : rate >= target
  }
}

// ---------------------------------------------------------------------------------------------------------------
// peak RSS of a 1 GiB LocalStore -> LocalStore stream, in a child process of its own
// ---------------------------------------------------------------------------------------------------------------

interface RssReport {
  readonly startMiB: number
  readonly peakMiB: number
  readonly maxRssMiB: number
  readonly seconds: number
}

/** The child: streams `source.bin` into `copy.bin` through get + put, sampling its RSS every 10 ms. */
const rssChild = async (dir: string): Promise<void> => {
  const store = await Effect.runPromise(Effect.provide(ObjectStore.ObjectStore, LocalStore.layer({ root: dir })))
  // Load and JIT the code paths first, so that the baseline includes the modules and not the bytes.
  await Effect.runPromise(store.put("warm.bin", "warm"))
  await Effect.runPromise(Effect.flatMap(store.get("warm.bin"), (r) => r.bytes))
  const startMiB = process.memoryUsage().rss / MiB
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 10)
  const start = performance.now()
  await Effect.runPromise(
    Effect.flatMap(store.get("source.bin"), (result) => store.put("copy.bin", result.stream))
  )
  const seconds = (performance.now() - start) / 1000
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage().rss)
  const report: RssReport = {
    startMiB,
    peakMiB: peak / MiB,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    seconds
  }
  process.stdout.write(JSON.stringify(report))
}

const peakRss = async (dir: string): Promise<Row> => {
  writeFileOfMiB(path.join(dir, "source.bin"), RSS_MiB)
  // The child runs plain JavaScript bundled from this file, so its RSS is node + effect + the store, not a
  // TypeScript loader's (tsx alone adds ~110 MiB).
  const bundle = path.join(dir, "rss-child.mjs")
  await esbuild.build({
    entryPoints: [thisFile],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bundle,
    logLevel: "error",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
  })
  const report = await new Promise<RssReport>((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, "--rss-child", dir], {
      cwd: repoRoot(import.meta.url),
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (data) => {
      out += String(data)
    })
    child.on("error", reject)
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`the RSS child exited with ${code}`))
      try {
        resolve(JSON.parse(out) as RssReport)
      } catch (error) {
        reject(error)
      }
    })
  })
  const copied = fs.statSync(path.join(dir, "copy.bin")).size
  if (copied !== RSS_MiB * MiB) throw new Error(`the RSS child copied ${copied} bytes`)
  fs.rmSync(path.join(dir, "copy.bin"))
  fs.rmSync(path.join(dir, "source.bin"))
  const peak = Math.max(report.peakMiB, report.maxRssMiB)
  const growth = peak - report.startMiB
  return {
    name: `LocalStore -> LocalStore, ${RSS_MiB} MiB streamed: peak RSS`,
    ours: `${peak.toFixed(0)} MiB (${mibPerSecond(RSS_MiB, report.seconds)})`,
    baseline: `${report.startMiB.toFixed(0)} MiB before streaming`,
    ratio: `+${growth.toFixed(0)} MiB`,
    target: "peak < 128 MiB",
    pass: peak < 128
  }
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Runs the benchmarks and prints the table.
 */
export const main = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-bench-local-"))
  try {
    console.log(`LocalStore / MemoryStore benchmarks (${ROUNDS} interleaved rounds, medians; temp dir ${dir})`)
    const rows: Array<Row> = []
    // LOCAL_BENCH=small runs only the small-operation rows (quick before/after comparisons).
    if (process.env.LOCAL_BENCH === "small") {
      rows.push(...await localSmallOps(dir))
      console.log()
      return printTable(rows)
    }
    rows.push(...await localThroughput(dir))
    rows.push(...await localSmallOps(dir))
    rows.push(await memoryOps(true))
    // The same with Effect.withTracerEnabled(false): what the span of each operation costs.
    rows.push(await memoryOps(false))
    rows.push(await peakRss(dir))
    console.log()
    printTable(rows)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The same benchmarks as an Effect. */
export const run: Effect.Effect<void, unknown> = Effect.tryPromise({ try: main, catch: (error) => error })

const childIndex = process.argv.indexOf("--rss-child")
if (childIndex !== -1) {
  await rssChild(process.argv[childIndex + 1])
} else if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === thisFile) {
  await main()
}
