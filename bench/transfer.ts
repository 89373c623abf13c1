// Transfers, readers and `obstore cp` on the local Ceph RADOS Gateway, side by side with the AWS SDK doing the same
// job. Run with `npm run bench -- transfer` (sizes: `--size-mib 1024 --reader-mib 256 --files 1000` for the rows of
// issue 13; the defaults are smaller while the machine is shared; `--rounds 3` for medians, `--only s3->local` for the pairs whose name has that). Each row runs in a child
// process of its own that imports only the client its row uses (ours or the AWS SDK), so its peak RSS (sampled every
// 20 ms) is that client's; "job's own" is the peak less the RSS the child had when the job started (node and the
// modules imported).
//
//   transfer S3 -> Local   Transfer.transfer of one object vs GetObject piped into fs.createWriteStream
//   transfer Local -> S3   Transfer.transfer vs @aws-sdk/lib-storage Upload of fs.createReadStream (8 MiB x 4)
//   reader                 random 64 KiB reads over one object: ObjectReader (1 MiB buffers, 8 kept) vs getRange per read
//   cp many                N small files Local -> S3 at concurrency 8: Transfer (what `obstore cp -r` runs) vs an
//                          SDK PutObject loop at the same concurrency
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { fileURLToPath } from "node:url"
import type * as S3Store from "../src/S3Store.js"

// Each side's modules, imported by the rows that use them only.
const ours = async () => {
  const [{ Effect, Chunk, Stream }, LocalStore, ObjectReader, S3Store, Transfer] = await Promise.all([
    import("effect"),
    import("../src/LocalStore.js"),
    import("../src/ObjectReader.js"),
    import("../src/S3Store.js"),
    import("../src/Transfer.js")
  ])
  return { Effect, Chunk, Stream, LocalStore, ObjectReader, S3Store, Transfer }
}
const aws = async () => {
  const [{ GetObjectCommand, PutObjectCommand, S3Client }, { Upload }] = await Promise.all([
    import("@aws-sdk/client-s3"),
    import("@aws-sdk/lib-storage")
  ])
  return { GetObjectCommand, PutObjectCommand, S3Client, Upload }
}

const MiB = 1024 * 1024
const BUCKET = "test-bucket"
const options: S3Store.S3Options = {
  bucket: BUCKET,
  region: "us-east-1",
  endpoint: "http://127.0.0.1:47480",
  accessKeyId: "AKIAOBSTORETEST00000",
  secretAccessKey: "obstoreTestSecretKey00000000000000000000",
  client: { allowHttp: true },
  unsignedPayload: true
}
const sdk = (S3Client: Awaited<ReturnType<typeof aws>>["S3Client"]) =>
  new S3Client({
    endpoint: "http://127.0.0.1:47480",
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: options.accessKeyId!, secretAccessKey: options.secretAccessKey! },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED"
  })

const flag = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`)
  return at === -1 ? fallback : Number(process.argv[at + 1])
}

interface Result {
  readonly seconds: number
  readonly peakRss: number
  /** RSS when the job started, everything imported: tsx's loader and the modules, the same for every row. */
  readonly baseRss: number
  readonly extra?: Record<string, number>
}

// --- child side: one job, its time and peak RSS on stdout as JSON -------------------------------------------------

const jobs: Record<string, (dir: string) => Promise<Record<string, number> | void>> = {
  "obstore s3->local": async (dir) => {
    const { Effect, LocalStore, S3Store, Transfer } = await ours()
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const s3 = yield* S3Store.make(options)
      const local = yield* LocalStore.make({ root: dir })
      yield* Transfer.transfer({ store: s3, path: "bench-transfer/big.bin" }, { store: local, path: "down.bin" })
    })))
  },
  "sdk s3->local": async (dir) => {
    const { GetObjectCommand, S3Client } = await aws()
    const client = sdk(S3Client)
    const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "bench-transfer/big.bin" }))
    await pipeline(out.Body as Readable, fs.createWriteStream(path.join(dir, "down-sdk.bin")))
    client.destroy()
  },
  "obstore local->s3": async (dir) => {
    const { Effect, LocalStore, S3Store, Transfer } = await ours()
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const s3 = yield* S3Store.make(options)
      const local = yield* LocalStore.make({ root: dir })
      yield* Transfer.transfer({ store: local, path: "big.bin" }, { store: s3, path: "bench-transfer/up.bin" }, {
        multipart: { partSize: 8 * MiB, concurrency: 4 }
      })
    })))
  },
  "sdk local->s3": async (dir) => {
    const { S3Client, Upload } = await aws()
    const client = sdk(S3Client)
    await new Upload({
      client,
      params: {
        Bucket: BUCKET,
        Key: "bench-transfer/up-sdk.bin",
        Body: fs.createReadStream(path.join(dir, "big.bin"))
      },
      partSize: 8 * MiB,
      queueSize: 4
    }).done()
    client.destroy()
  },
  "obstore reader": () => reads(true),
  "getRange per read": () => reads(false),
  "obstore cp many": async (dir) => {
    const { Effect, LocalStore, S3Store, Transfer } = await ours()
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const s3 = yield* S3Store.make(options)
      const local = yield* LocalStore.make({ root: dir })
      yield* Transfer.transfer({ store: local, path: "many" }, { store: s3, path: "bench-transfer/many" }, {
        recursive: true,
        concurrency: 8,
        skipIdentical: false
      })
    })))
  },
  "sdk loop many": async (dir) => {
    const { PutObjectCommand, S3Client } = await aws()
    const client = sdk(S3Client)
    const names = fs.readdirSync(path.join(dir, "many"))
    let next = 0
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++]
        const body = await fs.promises.readFile(path.join(dir, "many", name))
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `bench-transfer/many-sdk/${name}`, Body: body }))
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    client.destroy()
  }
}

const READS = 300
const READ_SIZE = 64 * 1024

// Random 64 KiB reads at offsets drawn from a fixed sequence, through a reader or one getRange each.
const reads = async (viaReader: boolean) => {
  const { Effect, ObjectReader, S3Store } = await ours()
  return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const s3 = yield* S3Store.make(options)
    const size = (yield* s3.head("bench-transfer/reader.bin")).size
    let x = 12345
    const offsets = Array.from({ length: READS }, () => {
      x = (x * 1103515245 + 12345) % 2 ** 31
      // Reads cluster like a columnar file's: offsets within a 4 MiB window that moves through the object.
      const window = Math.floor((x % 16) / 16 * (size / (4 * MiB))) * 4 * MiB
      return Math.min(size - READ_SIZE, window + (x % (4 * MiB)))
    })
    if (!viaReader) {
      for (const offset of offsets) yield* s3.getRange("bench-transfer/reader.bin", { offset, length: READ_SIZE })
      return { requestsPerRead: 1 }
    }
    const reader = yield* ObjectReader.open(s3, "bench-transfer/reader.bin", {
      bufferSize: MiB,
      prefetch: 0,
      buffers: 8
    })
    for (const offset of offsets) yield* reader.readRange(offset, offset + READ_SIZE)
    return { requestsPerRead: reader.requests() / READS }
  })))
}

const child = async (job: string, dir: string) => {
  // The row's modules are loaded before the baseline is taken.
  await (job.startsWith("obstore") || job.startsWith("getRange") ? ours() : aws())
  const baseRss = process.memoryUsage().rss
  let peak = baseRss
  const timer = setInterval(() => peak = Math.max(peak, process.memoryUsage().rss), 20)
  const start = performance.now()
  const extra = await jobs[job](dir)
  const seconds = (performance.now() - start) / 1000
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage().rss)
  process.stdout.write(JSON.stringify({ seconds, peakRss: peak, baseRss, extra: extra ?? undefined }) + "\n")
  process.exit(0)
}

// --- parent side ------------------------------------------------------------------------------------------------

const self = fileURLToPath(import.meta.url)

const run = (job: string, dir: string): Result => {
  const out = spawnSync(process.execPath, [...process.execArgv, self, "--child", job, dir], { encoding: "utf8" })
  if (out.status !== 0) throw new Error(`${job} failed: ${out.stderr}`)
  return JSON.parse(out.stdout.trim().split("\n").at(-1)!) as Result
}

const setup = async (dir: string, sizeMiB: number, readerMiB: number, files: number) => {
  const { Effect, LocalStore, S3Store, Transfer } = await ours()
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const chunk = new Uint8Array(MiB).map((_, i) => (i * 31) & 255)
    const fd = fs.openSync(path.join(dir, "big.bin"), "w")
    for (let i = 0; i < sizeMiB; i++) fs.writeSync(fd, chunk)
    fs.closeSync(fd)
    fs.mkdirSync(path.join(dir, "many"))
    for (let i = 0; i < files; i++) fs.writeFileSync(path.join(dir, "many", `f${i}.txt`), `file ${i}\n`.repeat(20))
    const s3 = yield* S3Store.make(options)
    const local = yield* LocalStore.make({ root: dir })
    yield* Transfer.transfer({ store: local, path: "big.bin" }, { store: s3, path: "bench-transfer/big.bin" })
    yield* s3.put("bench-transfer/reader.bin", new Uint8Array(readerMiB * MiB).fill(7))
  })))
}

const cleanup = async () => {
  const { Chunk, Effect, S3Store, Stream } = await ours()
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const s3 = yield* S3Store.make(options)
    const all = yield* Stream.runCollect(s3.list("bench-transfer"))
    yield* s3.delete(Chunk.toReadonlyArray(all).map((m) => m.path))
  })))
}

const median = (xs: ReadonlyArray<number>) => {
  const sorted = [...xs].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const mb = (bytes: number) => (bytes / MiB).toFixed(0)

export const main = async () => {
  const sizeMiB = flag("size-mib", 64)
  const readerMiB = flag("reader-mib", 32)
  const files = flag("files", 200)
  const rounds = flag("rounds", 1)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-bench-transfer-"))
  try {
    await setup(dir, sizeMiB, readerMiB, files)
    console.log(`transfer bench: ${sizeMiB} MiB object, ${readerMiB} MiB reader object, ${files} small files`)
    console.log(`${rounds} round(s), the two sides of a pair alternating first; medians`)
    console.log("row                    | seconds | MB/s or ops/s | peak RSS MiB | job's own MiB | notes")
    const row = (job: string, work: number, unit: string) => {
      const r = run(job, dir)
      const rate = work / r.seconds
      const notes = r.extra === undefined
        ? ""
        : Object.entries(r.extra).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(" ")
      console.log(
        `${job.padEnd(22)} | ${r.seconds.toFixed(2).padStart(7)} | ${rate.toFixed(1).padStart(8)} ${
          unit.padEnd(4)
        } | ` +
          `${mb(r.peakRss).padStart(12)} | ${mb(r.peakRss - r.baseRss).padStart(13)} | ${notes}`
      )
      return { rate, peakRss: r.peakRss }
    }
    const pairs = [
      { a: "obstore s3->local", b: "sdk s3->local", work: (sizeMiB * MiB) / 1e6, unit: "MB/s", target: 1, rss: true },
      { a: "obstore local->s3", b: "sdk local->s3", work: (sizeMiB * MiB) / 1e6, unit: "MB/s", target: 1, rss: true },
      { a: "obstore reader", b: "getRange per read", work: READS, unit: "rd/s", target: undefined, rss: false },
      { a: "obstore cp many", b: "sdk loop many", work: files, unit: "f/s", target: undefined, rss: false }
    ]
    const summary: Array<string> = []
    const only = process.argv.indexOf("--only")
    for (const pair of pairs) {
      if (only !== -1 && !pair.a.includes(process.argv[only + 1])) continue
      const as: Array<{ rate: number; peakRss: number }> = []
      const bs: Array<{ rate: number; peakRss: number }> = []
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? [pair.a, pair.b] : [pair.b, pair.a]
        for (const job of order) {
          const r = row(job, pair.work, pair.unit)
          if (job === pair.a) as.push(r)
          else bs.push(r)
        }
      }
      const a = median(as.map((r) => r.rate))
      const ratio = a / median(bs.map((r) => r.rate))
      const peak = Math.max(...as.map((r) => r.peakRss))
      const theirs = Math.max(...bs.map((r) => r.peakRss))
      const verdict = pair.target === undefined ? "info" : ratio >= pair.target ? "PASS" : "MISS"
      summary.push(
        `${pair.a.padEnd(18)} vs ${pair.b.padEnd(18)} ${ratio.toFixed(2)}x  ` +
          (pair.target === undefined ? "(no target)" : `target >= ${pair.target.toFixed(1)}x: ${verdict}`) +
          (pair.rss
            ? `; peak RSS ${mb(peak)} MiB (target < 128 MiB: ${peak < 128 * MiB ? "PASS" : "MISS"}; ${pair.b} ${
              mb(theirs)
            } MiB)`
            : "")
      )
    }
    console.log("\nratios (obstore / baseline, medians of the rates)")
    for (const line of summary) console.log(line)
  } finally {
    await cleanup().catch(() => undefined)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const childAt = process.argv.indexOf("--child")
if (childAt !== -1) await child(process.argv[childAt + 1], process.argv[childAt + 2])
else if (process.argv[1] === self) await main()
