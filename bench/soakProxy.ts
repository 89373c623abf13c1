// The soak's fault proxy, in a process of its own so that the soak measures only the client's sockets and memory.
// Talks to its parent over IPC: it sends { endpoint } once listening, and answers "counts" with the faults so far.
import { startFaultProxy } from "../test/support/faultProxy.js"

const [target, rate, seed, stallMs] = process.argv.slice(2)
const proxy = await startFaultProxy(target, { rate: Number(rate), seed: Number(seed), stallMs: Number(stallMs) })
process.send?.({ endpoint: proxy.endpoint })
process.on("message", (message) => {
  if (message === "counts") process.send?.({ counts: proxy.counts(), requests: proxy.requests })
  if (message === "close") void proxy.close().then(() => process.exit(0))
})
process.on("disconnect", () => void proxy.close().then(() => process.exit(0)))
