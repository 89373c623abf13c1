import { Effect, Stream, Option } from "effect"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as ObjectStore from "../src/ObjectStore.ts"
import * as LocalStore from "../src/LocalStore.ts"
const file = "/tmp/lsb/big"
const store = await Effect.runPromise(Effect.provide(ObjectStore.ObjectStore, LocalStore.layer({ root: "/tmp/lsb" })))
const raw = () => new Promise((res, rej) => { let n=0; fs.createReadStream(file, {highWaterMark: 1<<20}).on("data", c => n+=c.length).on("end", () => res(n)).on("error", rej) })
const fh = async () => { const h = await fsp.open(file, "r"); let pos = 0; while (true) { const b = Buffer.allocUnsafeSlow(1<<20); const { bytesRead } = await h.read(b, 0, b.length, pos); if (!bytesRead) break; pos += bytesRead }; await h.close(); return pos }
const effLoop = () => Effect.runPromise(Effect.gen(function*() { const h = yield* Effect.promise(() => fsp.open(file, "r")); let pos = 0; while (true) { const b = Buffer.allocUnsafeSlow(1<<20); const { bytesRead } = yield* Effect.tryPromise(() => h.read(b, 0, b.length, pos)); if (!bytesRead) break; pos += bytesRead }; yield* Effect.promise(() => h.close()); return pos }))
const effStream = () => Effect.runPromise(Effect.gen(function*() { const h = yield* Effect.promise(() => fsp.open(file, "r")); const s = Stream.unfoldEffect(0, (pos) => pos >= 256*2**20 ? Effect.succeed(Option.none()) : Effect.map(Effect.tryPromise(() => { const b = Buffer.allocUnsafeSlow(1<<20); return h.read(b, 0, b.length, pos) }), (r) => Option.some([r.buffer, pos + r.bytesRead] as const))); const n = yield* Stream.runFold(s, 0, (n, c) => n + c.length); yield* Effect.promise(() => h.close()); return n }))
const ours = () => Effect.runPromise(Effect.flatMap(store.get("big"), (r) => Stream.runFold(r.stream, 0, (n, c) => n + c.byteLength)))
const res: Record<string, number[]> = {}
for (let r=0;r<6;r++) for (const [n,f] of [["raw",raw],["fh",fh],["effLoop",effLoop],["effStream",effStream],["ours",ours]] as const) { const t=performance.now(); await f(); (res[n] ??= []).push(256/((performance.now()-t)/1000)) }
for (const [k, v] of Object.entries(res)) console.log(k, v.sort((a,b)=>a-b)[3].toFixed(0), "MiB/s median-ish", v.map(x=>x.toFixed(0)).join(" "))
