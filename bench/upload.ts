// Uploads on the local Ceph RADOS Gateway: what a multipart PUT costs S3Store against the AWS SDK and a raw floor,
// and how much memory a 1 GiB streamed upload holds. Run with `npm run bench -- upload` (`-- upload --quick` for a
// smoke test) or `npx tsx bench/upload.ts`.
//
//   A  S3Store.make (unsignedPayload: true, and a second store signing payloads), built once; each upload is one
//      Effect.runPromise
//   B  @aws-sdk/client-s3 + @aws-sdk/lib-storage Upload as users run it: over http it signs every part's SHA-256
//      and adds a CRC32 checksum, so it does more work than A and C; it is the throughput baseline of issue 14
//   C  an undici Pool with a few lines of node:crypto SigV4 (UNSIGNED-PAYLOAD), parts copied into fresh 8 MiB
//      buffers (bench/s3.ts's raw client, the baseline of issue 14), and the same client reusing a part's buffer
//      once its upload is done (a fresh buffer per part costs page faults: the stricter floor)
//
// A and C compare the same work: unsigned payloads on both (the rows of issue 14), and signed payloads (the SHA-256
// of every part) on both. Rows: a 64 MiB multipart PUT from a stream of
// 1 MiB chunks (parts of 8 MiB, 4 at a time), in MB/s (10^6 bytes) and client CPU s/GiB (process.cpuUsage, user +
// system; RGW runs in other processes), interleaved rounds, medians; then the peak RSS of a child process uploading
// 1 GiB with the defaults from a stream of fresh 64 KiB chunks and from one of fresh 16 MiB chunks, above the
// child's RSS before the upload. Every object is deleted after it is measured (RGW's memstore fills up).
import { S3Client as AwsS3Client } from "@aws-sdk/client-s3"
import { Upload } from "@aws-sdk/lib-storage"
import { Effect, Exit, Scope, Stream } from "effect"
import * as esbuild from "esbuild"
import { spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { Pool } from "undici"
import type { ObjectStore } from "../src/ObjectStore.js"
import * as S3Store from "../src/S3Store.js"
import { repoRoot } from "../test/support/repoRoot.js"
import { rawMultipartPut } from "./rawMultipart.js"
import { ACCESS_KEY, REGION, SECRET_KEY, sign, UNSIGNED } from "./rawSigV4.js"

const ENDPOINT = "http://127.0.0.1:47480"
const BUCKET = "test-bucket"

const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB

const quick = process.argv.includes("--quick")
const ROUNDS = quick ? 1 : 6
const BIG_MiB = 64
const PART_SIZE = 8 * MiB
const PART_CONCURRENCY = 4
const RSS_MiB = quick ? 256 : 1024

const thisFile = fileURLToPath(import.meta.url)
// A function: this module also runs bundled into a temporary directory (the RSS children), where there is no root.
const root = () => repoRoot(import.meta.url)
const PREFIX = `bench-upload/${Date.now()}-${process.pid}`

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

const s3Options = {
  bucket: BUCKET,
  region: REGION,
  endpoint: ENDPOINT,
  accessKeyId: ACCESS_KEY,
  secretAccessKey: SECRET_KEY,
  unsignedPayload: true,
  client: { allowHttp: true }
}

// -- the raw floor ----------------------------------------------------------------------------------------------

const makeRaw = () => {
  const pool = new Pool(ENDPOINT, { connections: 16, keepAliveTimeout: 10_000 })
  const request = async (
    method: "PUT" | "POST" | "DELETE",
    key: string,
    q: string,
    body?: Uint8Array | string,
    signPayload = false
  ) => {
    const p = `/${BUCKET}/${key}`
    const extra = body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) }
    const response = await pool.request({
      method,
      path: q === "" ? p : `${p}?${q}`,
      headers: sign(
        method,
        p,
        q,
        extra,
        signPayload ? createHash("sha256").update(body ?? "").digest("hex") : UNSIGNED
      ),
      body: body ?? null
    })
    if (response.statusCode >= 300) {
      throw new Error(`${method} ${p}?${q}: HTTP ${response.statusCode} ${await response.body.text()}`)
    }
    return response
  }
  /** With `reuse`, a part's buffer is used again once its upload is done (no fresh pages per part). */
  const multipartPut = (key: string, source: Iterable<Uint8Array>, reuse = false, signPayload = false) =>
    rawMultipartPut((method, q, body) => request(method, key, q, body, signPayload), source, {
      partSize: PART_SIZE,
      concurrency: PART_CONCURRENCY,
      reuse
    })
  const remove = async (key: string) => (await request("DELETE", key, "")).body.dump()
  return { multipartPut, remove, close: () => pool.close() }
}

// -- measuring ------------------------------------------------------------------------------------------------

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

interface Row {
  readonly name: string
  readonly ours: string
  readonly baseline: string
  readonly ratio: string
  readonly target: string
  readonly pass: boolean
}

const printTable = (rows: ReadonlyArray<Row>): void => {
  const header = ["benchmark", "S3Store", "baseline", "ratio", "target", "result"]
  const lines = rows.map((r) => [r.name, r.ours, r.baseline, r.ratio, r.target, r.pass ? "PASS" : "MISS"])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const format = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()
  console.log(format(header))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const line of lines) console.log(format(line))
}

// -- peak RSS of a 1 GiB upload, in a child process -------------------------------------------------------------

interface RssReport {
  readonly baselineMiB: number
  readonly peakMiB: number
  /** The peak of `process.memoryUsage().arrayBuffers`: buffers live or not yet collected. */
  readonly peakBuffersMiB: number
  readonly seconds: number
  readonly eTag: string | undefined
}

/** The child: uploads `RSS_MiB` of fresh chunks of `chunkKiB` with the default multipart options. */
const rssChild = async (chunkKiB: number, key: string): Promise<void> => {
  const scope = await Effect.runPromise(Scope.make())
  const store: ObjectStore.Service = await Effect.runPromise(Scope.extend(S3Store.make(s3Options), scope))
  const chunkBytes = chunkKiB * KiB
  const count = (RSS_MiB * MiB) / chunkBytes
  // A fresh buffer per chunk, as a file or socket stream gives them: nothing is shared between chunks.
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < count; i++) {
      const chunk = new Uint8Array(chunkBytes)
      chunk[0] = i & 0xff
      yield chunk
    }
  }
  // The baseline is a store that has already sent a request (undici, the signer and the XML parser are loaded), after
  // a full collection.
  await Effect.runPromise(store.put(`${key}.warm`, "warm"))
  await Effect.runPromise(store.delete(`${key}.warm`))
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  const baseline = process.memoryUsage().rss
  let peak = baseline
  let peakBuffers = 0
  const timer = setInterval(() => {
    const usage = process.memoryUsage()
    peak = Math.max(peak, usage.rss)
    peakBuffers = Math.max(peakBuffers, usage.arrayBuffers)
  }, 10)
  const t0 = performance.now()
  const result = await Effect.runPromise(store.put(key, Stream.fromAsyncIterable(source(), (e) => e)))
  const seconds = (performance.now() - t0) / 1000
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage().rss)
  await Effect.runPromise(store.delete(key))
  await Effect.runPromise(Scope.close(scope, Exit.void))
  const report: RssReport = {
    baselineMiB: baseline / MiB,
    peakMiB: peak / MiB,
    peakBuffersMiB: peakBuffers / MiB,
    seconds,
    eTag: result.eTag
  }
  process.stdout.write(JSON.stringify(report))
}

const runRssChild = async (bundle: string, chunkKiB: number): Promise<RssReport> =>
  new Promise<RssReport>((resolve, reject) => {
    const key = `${PREFIX}/rss-${chunkKiB}.bin`
    const args = [bundle, "--rss-child", String(chunkKiB), key, ...(quick ? ["--quick"] : [])]
    const child = spawn(process.execPath, ["--expose-gc", ...args], {
      cwd: root(),
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
      } catch (e) {
        reject(e)
      }
    })
  })

const ensureRgw = (): void => {
  const status = spawnSync("bash", ["scripts/s3-rgw.sh", "status"], { cwd: root(), stdio: "ignore" })
  if (status.status === 0) return
  const start = spawnSync("bash", ["scripts/s3-rgw.sh", "start"], {
    cwd: root(),
    stdio: ["ignore", "inherit", "inherit"]
  })
  if (start.status !== 0) throw new Error(`scripts/s3-rgw.sh start exited with ${start.status}`)
}

type Name = "S3Store" | "SDK" | "raw" | "rawReuse" | "S3StoreSigned" | "rawSigned"

/** Runs the benchmark and prints the table. */
export const main = async (): Promise<void> => {
  ensureRgw()
  const started = performance.now()
  const scope = await Effect.runPromise(Scope.make())
  const store: ObjectStore.Service = await Effect.runPromise(Scope.extend(S3Store.make(s3Options), scope))
  const signedStore: ObjectStore.Service = await Effect.runPromise(
    Scope.extend(S3Store.make({ ...s3Options, unsignedPayload: false }), scope)
  )
  const sdk = new AwsS3Client({
    region: REGION,
    endpoint: ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }
  })
  const raw = makeRaw()
  const key = (name: Name) => `${PREFIX}/put-${name}.bin`
  const uploads: Record<Name, () => Promise<unknown>> = {
    S3Store: () =>
      Effect.runPromise(
        store.put(key("S3Store"), Stream.fromIterable({ [Symbol.iterator]: bigSource }), {
          multipart: { partSize: PART_SIZE, concurrency: PART_CONCURRENCY }
        })
      ),
    SDK: () =>
      new Upload({
        client: sdk,
        params: { Bucket: BUCKET, Key: key("SDK"), Body: Readable.from(bigSource()) },
        partSize: PART_SIZE,
        queueSize: PART_CONCURRENCY
      }).done(),
    raw: () => raw.multipartPut(key("raw"), bigSource()),
    rawReuse: () => raw.multipartPut(key("rawReuse"), bigSource(), true),
    S3StoreSigned: () =>
      Effect.runPromise(
        signedStore.put(key("S3StoreSigned"), Stream.fromIterable({ [Symbol.iterator]: bigSource }), {
          multipart: { partSize: PART_SIZE, concurrency: PART_CONCURRENCY }
        })
      ),
    rawSigned: () => raw.multipartPut(key("rawSigned"), bigSource(), true, true)
  }
  const names: ReadonlyArray<Name> = ["S3Store", "SDK", "raw", "rawReuse", "S3StoreSigned", "rawSigned"]
  const cleanup = (name: Name) => raw.remove(key(name))
  try {
    console.log(
      `upload benchmarks on RGW ${ENDPOINT}: ${BIG_MiB} MiB multipart PUT (parts of ${PART_SIZE / MiB} MiB, ` +
        `${PART_CONCURRENCY} at a time; A and C unsigned, then both signed), ${ROUNDS} interleaved rounds, medians`
    )
    for (const name of names) {
      await uploads[name]()
      await cleanup(name)
    }
    const samples = new Map<Name, Array<Sample>>(names.map((n) => [n, []]))
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(round + k) % names.length]
        samples.get(name)!.push(await measure(uploads[name]))
        await cleanup(name)
      }
    }
    const bytes = BIG_MiB * MiB
    const stat = (name: Name, f: (s: Sample) => number) => median(samples.get(name)!.map(f))
    const mbs = (name: Name) => stat(name, (s) => bytes / 1e6 / s.seconds)
    const cpu = (name: Name) => stat(name, (s) => s.cpu * (GiB / bytes))
    const fmtMb = (x: number) => `${x.toFixed(0)} MB/s`
    const fmtCpu = (x: number) => `${x.toFixed(3)} s/GiB`
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`

    // The RSS children run plain JavaScript bundled from this file: node + effect + S3Store, nothing of tsx.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-upload-"))
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
    const small = await runRssChild(bundle, 64)
    const big = await runRssChild(bundle, 16 * KiB)
    fs.rmSync(dir, { recursive: true, force: true })
    const rssRow = (label: string, r: RssReport): Row => {
      const above = r.peakMiB - r.baselineMiB
      return {
        name: `${RSS_MiB} MiB from ${label} chunks: peak RSS`,
        ours: `+${above.toFixed(0)} MiB (buffers ${r.peakBuffersMiB.toFixed(0)} MiB, ${
          ((RSS_MiB * MiB) / 1e6 / r.seconds).toFixed(0)
        } MB/s)`,
        baseline: `${r.baselineMiB.toFixed(0)} MiB`,
        ratio: "-",
        target: "< 128 MiB above",
        pass: above < 128
      }
    }
    console.log()
    printTable([
      {
        name: `${BIG_MiB} MiB multipart PUT: CPU vs raw`,
        ours: fmtCpu(cpu("S3Store")),
        baseline: fmtCpu(cpu("raw")),
        ratio: ratio(cpu("S3Store"), cpu("raw")),
        target: "<= 1.5x raw",
        pass: cpu("S3Store") <= 1.5 * cpu("raw")
      },
      {
        name: `${BIG_MiB} MiB multipart PUT: CPU vs raw, buffers reused`,
        ours: fmtCpu(cpu("S3Store")),
        baseline: fmtCpu(cpu("rawReuse")),
        ratio: ratio(cpu("S3Store"), cpu("rawReuse")),
        target: "<= 1.5x raw",
        pass: cpu("S3Store") <= 1.5 * cpu("rawReuse")
      },
      {
        name: `${BIG_MiB} MiB multipart PUT: CPU vs SDK`,
        ours: fmtCpu(cpu("S3Store")),
        baseline: fmtCpu(cpu("SDK")),
        ratio: ratio(cpu("S3Store"), cpu("SDK")),
        target: "(info)",
        pass: true
      },
      {
        name: `${BIG_MiB} MiB multipart PUT: MB/s vs raw`,
        ours: fmtMb(mbs("S3Store")),
        baseline: fmtMb(mbs("raw")),
        ratio: ratio(mbs("S3Store"), mbs("raw")),
        target: ">= 0.9x raw",
        pass: mbs("S3Store") >= 0.9 * mbs("raw")
      },
      {
        name: `${BIG_MiB} MiB multipart PUT: MB/s vs raw, buffers reused`,
        ours: fmtMb(mbs("S3Store")),
        baseline: fmtMb(mbs("rawReuse")),
        ratio: ratio(mbs("S3Store"), mbs("rawReuse")),
        target: ">= 0.9x raw",
        pass: mbs("S3Store") >= 0.9 * mbs("rawReuse")
      },
      {
        name: `${BIG_MiB} MiB multipart PUT: MB/s vs SDK`,
        ours: fmtMb(mbs("S3Store")),
        baseline: fmtMb(mbs("SDK")),
        ratio: ratio(mbs("S3Store"), mbs("SDK")),
        target: ">= 1.2x SDK",
        pass: mbs("S3Store") >= 1.2 * mbs("SDK")
      },
      {
        name: `${BIG_MiB} MiB multipart PUT, signed: CPU vs raw signed`,
        ours: fmtCpu(cpu("S3StoreSigned")),
        baseline: fmtCpu(cpu("rawSigned")),
        ratio: ratio(cpu("S3StoreSigned"), cpu("rawSigned")),
        target: "<= 1.5x raw",
        pass: cpu("S3StoreSigned") <= 1.5 * cpu("rawSigned")
      },
      {
        name: `${BIG_MiB} MiB multipart PUT, signed: MB/s vs raw signed`,
        ours: fmtMb(mbs("S3StoreSigned")),
        baseline: fmtMb(mbs("rawSigned")),
        ratio: ratio(mbs("S3StoreSigned"), mbs("rawSigned")),
        target: ">= 0.9x raw",
        pass: mbs("S3StoreSigned") >= 0.9 * mbs("rawSigned")
      },
      rssRow("64 KiB", small),
      rssRow("16 MiB", big)
    ])
    console.log(`\n(total ${((performance.now() - started) / 1000).toFixed(0)} s)`)
  } finally {
    await Promise.all(names.map((name) => cleanup(name).catch(() => undefined)))
    await raw.close()
    sdk.destroy()
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

const childIndex = process.argv.indexOf("--rss-child")
if (childIndex >= 0) {
  await rssChild(Number(process.argv[childIndex + 1]), process.argv[childIndex + 2])
} else if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === thisFile) {
  await main()
}
