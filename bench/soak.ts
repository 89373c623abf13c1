// The soak run (`npm run bench -- soak`): 10,000 mixed operations at concurrency 32 against the RADOS Gateway through
// the fault-injecting proxy, with 5% of requests getting a fault of every kind, the dangerous ones included (answers
// of another range, a short 200 or another ETag to a resumed read). It proves nothing is lost: every object read back
// matches the SHA-256 of what was written (contents are regenerated from a seed, so any range can be checked), no
// multipart upload is left behind, sockets stay bounded and memory stays flat.
//
// Late writes: a write whose client timed out after RGW had the whole request is still applied by RGW, sometimes
// seconds later, after the writes that followed it (RGW takes up to 40 s per request when the machine is loaded). The
// key then holds an older version than the client was last told: that is the server, not a wrong read. The proxy
// reports such writes; a mismatch whose bytes are exactly a version one of them carried to that key is counted as a
// late write, and only the others fail the run.
//
// `--ops N`, `--concurrency N`, `--rate R` change the defaults.
import { Effect, Either, Stream } from "effect"
import { execFileSync } from "node:child_process"
import { fork } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as ObjectStore from "../src/ObjectStore.js"
import * as S3Store from "../src/S3Store.js"
import { repoRoot } from "../test/support/repoRoot.js"
import { s3 } from "../test/support/servers.js"

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

const MiB = 1024 * 1024
const scripts = path.join(repoRoot(import.meta.url), "scripts")

// Deterministic contents: object `seed` of `size` bytes, so a read of any range can be checked without keeping it.
const contentOf = (seed: number, size: number): Uint8Array => {
  const out = new Uint8Array(size)
  let a = seed >>> 0
  for (let i = 0; i < size; i += 4) {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), a | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    t = (t ^ (t >>> 14)) >>> 0
    out[i] = t & 255
    if (i + 1 < size) out[i + 1] = (t >>> 8) & 255
    if (i + 2 < size) out[i + 2] = (t >>> 16) & 255
    if (i + 3 < size) out[i + 3] = t >>> 24
  }
  return out
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")

/** A write the server had in full when its client gave up (reported by the proxy, see soakProxy.ts). */
interface LateWrite {
  readonly method: string
  /** The decoded request path: /bucket/prefix/key */
  readonly path: string
  readonly query: string
  readonly sha256: string | undefined
  readonly copySource: string | undefined
  readonly abandonedAt: number
  readonly status: number | undefined
  readonly answeredAt: number | undefined
}

/** What we know of a key: one version, or several when a failed write may or may not have been applied. */
interface Version {
  readonly seed: number
  readonly size: number
}
type Known = ReadonlyArray<Version | "absent">

const socketsOpen = () => {
  try {
    return fs.readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:")
      } catch {
        return false
      }
    }).length
  } catch {
    return -1
  }
}

export const main = async (): Promise<void> => {
  const OPS = arg("ops", 10_000)
  const CONCURRENCY = arg("concurrency", 32)
  const RATE = arg("rate", 0.05)
  try {
    execFileSync("bash", [path.join(scripts, "s3-rgw.sh"), "status"], { stdio: "ignore" })
  } catch {
    execFileSync("bash", [path.join(scripts, "s3-rgw.sh"), "start"], { stdio: "inherit" })
  }
  const here = path.dirname(fileURLToPath(import.meta.url))
  const child = fork(path.join(here, `soakProxy${path.extname(fileURLToPath(import.meta.url))}`), [
    s3.endpoint,
    String(RATE),
    "7",
    "4000"
  ], {
    // The parent's own flags: `--import tsx` when it runs from sources, none when compiled.
    execArgv: process.execArgv,
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  const ask = <A>(message: string) =>
    new Promise<A>((resolve) => {
      child.once("message", (m) => resolve(m as A))
      if (message !== "") child.send(message)
    })
  const proxy = {
    ...(await ask<{ endpoint: string }>("")),
    stats: () => ask<{ counts: Record<string, number>; requests: number }>("counts"),
    abandoned: () => ask<ReadonlyArray<LateWrite>>("abandoned"),
    close: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve())
        child.send("close")
      })
  }
  const base = {
    bucket: s3.bucket,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    conditionalPut: "etag-unquoted" as const
  }
  const prefix = `soak/${Date.now()}`
  const faulty: S3Store.S3Options = {
    ...base,
    endpoint: proxy.endpoint,
    prefix,
    client: { allowHttp: true, timeout: "2 seconds", connectTimeout: "1 second" },
    retry: { maxRetries: 10, initBackoff: "20 millis", maxBackoff: "500 millis", retryTimeout: "60 seconds" }
  }
  const direct: S3Store.S3Options = { ...base, endpoint: s3.endpoint, prefix, client: { allowHttp: true } }

  const keys = Array.from({ length: 400 }, (_, i) => `k/${String(i).padStart(4, "0")}`)
  const known = new Map<string, Known>()
  const busy = new Set<string>()
  // Keys some write has been started on: a listing may show them before the write reports back.
  const attempted = new Set<string>()
  let nextSeed = 1
  let mismatches = 0
  const mismatchNotes: Array<string> = []
  // Each mismatch: the key and the versions its bytes are, exactly, at the place asked for.
  const mismatched: Array<{ readonly key: string; readonly exactly: ReadonlyArray<Version>; readonly note: string }> =
    []
  // Every version a write was ever started with, by key (a copy adds the source's, resolved at the end).
  const writtenTo = new Map<string, Array<Version>>()
  const copiedFrom = new Map<string, Set<string>>()
  const wrote = (key: string, v: Version) => writtenTo.set(key, [...(writtenTo.get(key) ?? []), v])
  const opCounts: Record<string, number> = {}
  const surfaced: Record<string, number> = {}
  let rssPeak = process.memoryUsage().rss
  const rssStart = rssPeak
  const rssTrail: Array<number> = []
  let socketsPeak = socketsOpen()
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss)
    socketsPeak = Math.max(socketsPeak, socketsOpen())
  }, 100)

  const history = new Map<string, Array<string>>()
  const allVersions: Array<{ seed: number; size: number }> = []
  const note = (key: string, what: string) => {
    const h = history.get(key) ?? []
    h.push(what)
    history.set(key, h)
  }
  /** The versions whose bytes at `start` are exactly `bytes`. */
  const exactly = (bytes: Uint8Array, start: number): ReadonlyArray<Version> =>
    allVersions.filter((v) =>
      start + bytes.byteLength <= v.size &&
      Buffer.compare(Buffer.from(contentOf(v.seed, v.size).subarray(start, start + bytes.byteLength)), bytes) === 0
    )
  const whoIs = (bytes: Uint8Array, start: number) => {
    const probe = Buffer.from(bytes.subarray(0, Math.min(32, bytes.byteLength)))
    const found: Array<string> = []
    for (const v of allVersions) {
      const whole = Buffer.from(contentOf(v.seed, v.size))
      const at = whole.indexOf(probe)
      if (at !== -1) {
        const same = Buffer.compare(whole.subarray(at, at + bytes.byteLength), Buffer.from(bytes)) === 0
        found.push(`seed ${v.seed}/${v.size} at ${at} (asked ${start}) full=${same}`)
      }
    }
    // where does it first differ from each candidate
    return found.length === 0 ? "unknown content" : found.join("; ")
  }
  const mismatch = (
    note: string,
    read?: { readonly key: string; readonly bytes: Uint8Array; readonly start: number }
  ) => {
    console.log("mismatch:", note)
    mismatches++
    if (mismatchNotes.length < 10) mismatchNotes.push(note)
    if (read !== undefined) mismatched.push({ key: read.key, exactly: exactly(read.bytes, read.start), note })
  }
  const matches = (k: Known, bytes: Uint8Array, start: number, end: number | undefined): boolean =>
    k.some((v) => {
      if (v === "absent") return false
      const whole = contentOf(v.seed, v.size)
      return sha256(whole.subarray(start, end ?? v.size)) === sha256(bytes)
    })

  /**
   * What the abandoned writes the server applied can explain: a read of `key` whose bytes are exactly a version that
   * such a write carried to it, or that a copy brought from a key that holds one.
   */
  const lateWrites = (abandoned: ReadonlyArray<LateWrite>) => {
    const applied = abandoned.filter((w) => w.status !== undefined && w.status >= 200 && w.status < 300)
    const head = `/${s3.bucket}/${prefix}/`
    const keyOf = (path: string) => path.startsWith(head) ? path.slice(head.length) : undefined
    const digests = new Map<number, string>()
    const digest = (v: Version) => {
      let d = digests.get(v.seed)
      if (d === undefined) digests.set(v.seed, d = sha256(contentOf(v.seed, v.size)))
      return d
    }
    const everWritten = (key: string, seen: Set<string>): ReadonlyArray<Version> => {
      if (seen.has(key)) return []
      seen.add(key)
      return [...(writtenTo.get(key) ?? []), ...[...(copiedFrom.get(key) ?? [])].flatMap((k) => everWritten(k, seen))]
    }
    const carried = (key: string, seen: Set<string>): ReadonlyArray<Version> => {
      if (seen.has(key)) return []
      seen.add(key)
      const own = applied.filter((w) => keyOf(w.path) === key).flatMap((w): ReadonlyArray<Version> => {
        if (w.copySource !== undefined) {
          const source = keyOf(decodeURIComponent(w.copySource))
          return source === undefined ? [] : everWritten(source, new Set())
        }
        if (w.method === "PUT" && !w.query.includes("partNumber")) {
          return (writtenTo.get(key) ?? []).filter((v) => digest(v) === w.sha256)
        }
        if (w.method === "POST" && w.query.includes("uploadId")) {
          return (writtenTo.get(key) ?? []).filter((v) => v.size > 5 * MiB)
        }
        return []
      })
      // A copy made in time still brings whatever a late write left in its source.
      return [...own, ...[...(copiedFrom.get(key) ?? [])].flatMap((k) => carried(k, seen))]
    }
    return {
      abandoned: abandoned.length,
      applied: applied.length,
      explains: (key: string, versions: ReadonlyArray<Version>) => {
        const seeds = new Set(carried(key, new Set()).map((v) => v.seed))
        const found = versions.find((v) => seeds.has(v.seed))
        if (found !== undefined) {
          console.log(`late write: ${key} holds seed ${found.seed}/${found.size}, a late write's`)
        }
        return found !== undefined
      }
    }
  }

  const program = Effect.gen(function*() {
    const store = yield* S3Store.make(faulty)
    const check = yield* S3Store.make(direct)
    let rand = 12345
    const random = () => {
      rand = (Math.imul(rand, 1103515245) + 12345) >>> 0
      return rand / 4294967296
    }
    const pickKey = () => {
      for (;;) {
        const key = keys[Math.floor(random() * keys.length)]
        if (!busy.has(key)) return key
      }
    }

    const one = (i: number) =>
      Effect.suspend(() => {
        const r = random()
        const key = pickKey()
        busy.add(key)
        const k = known.get(key) ?? ["absent"]
        const present = k.filter((v): v is Version => v !== "absent")
        const settled = k.length === 1 ? k[0] : undefined
        const count = (op: string) => {
          opCounts[op] = (opCounts[op] ?? 0) + 1
        }
        const failed = (op: string) => (error: { readonly _tag: string }) =>
          Effect.sync(() => {
            surfaced[`${op}: ${error._tag}`] = (surfaced[`${op}: ${error._tag}`] ?? 0) + 1
          })
        let op: Effect.Effect<void>
        if (r < 0.3 || present.length === 0) {
          // put: small single request, or (1 in 25) a multipart stream
          const multipart = random() < 0.04
          const seed = nextSeed++
          const size = multipart ? 6 * MiB + Math.floor(random() * 4 * MiB) : 1 + Math.floor(random() * 64 * 1024)
          const data = contentOf(seed, size)
          allVersions.push({ seed, size })
          wrote(key, { seed, size })
          const payload = multipart
            ? Stream.fromIterable(
              Array.from({ length: Math.ceil(size / MiB) }, (_, j) => data.subarray(j * MiB, (j + 1) * MiB))
            )
            : data
          count(multipart ? "put multipart" : "put")
          attempted.add(key)
          op = store.put(key, payload, multipart ? { multipart: { partSize: 5 * MiB, concurrency: 2 } } : {}).pipe(
            Effect.matchEffect({
              onSuccess: () =>
                Effect.sync(() => {
                  note(key, `#${i} put ${seed}/${size}${multipart ? " mp" : ""} ok`)
                  known.set(key, [{ seed, size }])
                }),
              // A failed put may or may not have been applied.
              onFailure: (e) =>
                Effect.zipRight(
                  Effect.zipRight(
                    Effect.sync(() => note(key, `#${i} put ${seed}/${size} failed ${e._tag} ${e.message}`)),
                    failed(multipart ? "put multipart" : "put")(e)
                  ),
                  Effect.sync(() => known.set(key, [...k, { seed, size }]))
                )
            })
          )
        } else if (r < 0.55) {
          count("get")
          op = store.get(key).pipe(
            Effect.flatMap((result) => result.bytes),
            Effect.matchEffect({
              onSuccess: (bytes) =>
                Effect.sync(() => {
                  if (!matches(k, bytes, 0, undefined)) {
                    mismatch(
                      `#${i} get ${key}: ${bytes.byteLength} bytes match no version; is ${whoIs(bytes, 0)}; k=${
                        JSON.stringify(k)
                      }; history=${(history.get(key) ?? []).join(" | ")}`,
                      { key, bytes, start: 0 }
                    )
                  } else if (settled === undefined) {
                    const v = present.find((v) => matches([v], bytes, 0, undefined))
                    if (v !== undefined) known.set(key, [v])
                  }
                }),
              onFailure: (e) =>
                e._tag === "NotFound" && k.includes("absent")
                  ? Effect.sync(() => known.set(key, ["absent"]))
                  : failed("get")(e)
            })
          )
        } else if (r < 0.75) {
          count("get range")
          const v = present[0]
          const start = Math.floor(random() * v.size)
          const end = Math.min(v.size, start + 1 + Math.floor(random() * 300 * 1024))
          op = store.getRange(key, { start, end }).pipe(
            Effect.matchEffect({
              onSuccess: (bytes) =>
                Effect.sync(() => {
                  if (!matches(k, bytes, start, end)) {
                    mismatch(
                      `#${i} getRange ${key} ${start}-${end} got ${bytes.byteLength}: no version matches; is ${
                        whoIs(bytes, start)
                      }; k=${JSON.stringify(k)}; history=${(history.get(key) ?? []).join(" | ")}`,
                      { key, bytes, start }
                    )
                  }
                }),
              onFailure: failed("get range")
            })
          )
        } else if (r < 0.82) {
          count("list")
          op = store.list("k").pipe(
            Stream.runCollect,
            Effect.matchEffect({
              onSuccess: (listed) =>
                Effect.sync(() => {
                  for (const meta of listed) {
                    if (!attempted.has(meta.path)) mismatch(`list shows ${meta.path}, never written`)
                  }
                }),
              onFailure: failed("list")
            })
          )
        } else if (r < 0.92) {
          count("copy")
          const to = pickKey()
          busy.add(to)
          attempted.add(to)
          const before = known.get(to) ?? ["absent"]
          copiedFrom.set(to, new Set([...(copiedFrom.get(to) ?? []), key]))
          op = store.copy(key, to).pipe(
            Effect.matchEffect({
              onSuccess: () =>
                Effect.sync(() => {
                  note(to, `#${i} copy from ${key} ok k=${JSON.stringify(k)}`)
                  known.set(to, k)
                }),
              onFailure: (e) => Effect.zipRight(failed("copy")(e), Effect.sync(() => known.set(to, [...before, ...k])))
            }),
            Effect.ensuring(Effect.sync(() => busy.delete(to)))
          )
        } else {
          count("delete")
          op = store.delete(key).pipe(
            Effect.matchEffect({
              onSuccess: () =>
                Effect.sync(() => {
                  note(key, `#${i} delete ok`)
                  known.set(key, ["absent"])
                }),
              onFailure: (e) =>
                Effect.zipRight(failed("delete")(e), Effect.sync(() => known.set(key, [...k, "absent"])))
            })
          )
        }
        // RSS at each tenth of the run: flat memory means these do not grow with the number of operations.
        if (i % Math.max(1, Math.floor(OPS / 10)) === 0) rssTrail.push(Math.round(process.memoryUsage().rss / MiB))
        return Effect.ensuring(op, Effect.sync(() => busy.delete(key)))
      })

    const started = performance.now()
    yield* Effect.forEach(Array.from({ length: OPS }, (_, i) => i), one, { concurrency: CONCURRENCY, discard: true })
    const seconds = (performance.now() - started) / 1000
    const socketsAfter = socketsOpen()

    // Every key read back through a fault-free client must match what we know.
    let verified = 0
    yield* Effect.forEach(known, ([key, k]) =>
      check.get(key).pipe(
        Effect.flatMap((result) => result.bytes),
        Effect.either,
        Effect.map((either) => {
          verified++
          if (Either.isLeft(either)) {
            if (!(either.left._tag === "NotFound" && k.includes("absent"))) {
              mismatch(`final ${key}: ${either.left._tag}, expected ${k.length} possible version(s)`)
            }
          } else if (!matches(k, either.right, 0, undefined)) {
            mismatch(`final ${key}: ${either.right.byteLength} bytes match no version; is ${whoIs(either.right, 0)}`, {
              key,
              bytes: either.right,
              start: 0
            })
          }
        })
      ), { concurrency: 16, discard: true })
    const service = yield* Effect.provide(S3Store.S3Store, S3Store.layer(direct))
    const leftUploads = yield* service.listMultipartUploads()
    // Clean up.
    const all = yield* Stream.runCollect(check.list())
    yield* check.delete(Array.from(all, (m) => m.path))
    return { seconds, verified, leftUploads: leftUploads.length, socketsAfter }
  })

  try {
    const result = await Effect.runPromise(Effect.scoped(program))
    clearInterval(sampler)
    const { counts: faults, requests } = await proxy.stats()
    const late = lateWrites(await proxy.abandoned())
    const unexplained = mismatched.length === mismatches
      ? mismatched.filter((m) => !late.explains(m.key, m.exactly)).length
      : mismatches
    const injected = Object.values(faults).reduce((a, b) => a + b, 0)
    const failures = Object.values(surfaced).reduce((a, b) => a + b, 0)
    const rows: Array<[string, string]> = [
      ["operations", `${OPS.toLocaleString("en-US")} at concurrency ${CONCURRENCY} in ${result.seconds.toFixed(1)} s`],
      ["by kind", Object.entries(opCounts).map(([k, v]) => `${k} ${v}`).join(", ")],
      ["requests seen by the proxy", requests.toLocaleString("en-US")],
      [
        `faults injected (rate ${RATE})`,
        `${injected}: ` + Object.entries(faults).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(", ")
      ],
      ["retries (requests beyond one per attempt-free op, approx.)", String(Math.max(0, requests - OPS))],
      [
        "failures surfaced to the caller",
        `${failures}` + (failures ? `: ${Object.entries(surfaced).map(([k, v]) => `${k} ${v}`).join(", ")}` : "")
      ],
      ["objects verified at the end", String(result.verified)],
      [
        "writes RGW applied after their client gave up",
        `${late.applied} of ${late.abandoned} abandoned with the whole request sent`
      ],
      [
        "data mismatches (must be 0)",
        `${unexplained}` +
        (mismatches > unexplained ? ` (+ ${mismatches - unexplained} that are a late write's version)` : "") +
        (mismatchNotes.length ? `: ${mismatchNotes.join("; ")}` : "")
      ],
      ["multipart uploads left behind (must be 0)", String(result.leftUploads)],
      ["client sockets: peak / after", `${socketsPeak} / ${result.socketsAfter} (pool limit 64 per origin)`],
      [
        "RSS: start / peak / end",
        `${(rssStart / MiB).toFixed(0)} / ${(rssPeak / MiB).toFixed(0)} / ${
          (process.memoryUsage().rss / MiB).toFixed(0)
        } MiB`
      ],
      ["RSS at each tenth of the run", `${rssTrail.join(", ")} MiB`]
    ]
    const width = Math.max(...rows.map(([k]) => k.length))
    console.log("\nSoak: S3Store through the fault proxy against the RADOS Gateway\n")
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`)
    const pass = unexplained === 0 && result.leftUploads === 0
    console.log(
      `\n${pass ? "PASS" : "FAIL"}: ${unexplained} mismatches, ${
        mismatches - unexplained
      } late writes read back, ${result.leftUploads} uploads left behind`
    )
    if (!pass) process.exitCode = 1
  } finally {
    clearInterval(sampler)
    await proxy.close()
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()

export type _ObjectStore = ObjectStore.ObjectStore
