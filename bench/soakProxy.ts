// The soak's fault proxy, in a process of its own so that the soak measures only the client's sockets and memory.
// Talks to its parent over IPC: it sends { endpoint } once listening, answers "counts" with the faults so far and
// "abandoned" with the writes whose client went away after the server had them (see faultProxy's "Late writes").
import { startFaultProxy } from "../test/support/faultProxy.js"

const [target, rate, seed, stallMs] = process.argv.slice(2)
const proxy = await startFaultProxy(target, { rate: Number(rate), seed: Number(seed), stallMs: Number(stallMs) })
process.send?.({ endpoint: proxy.endpoint })
process.on("message", (message) => {
  if (message === "counts") process.send?.({ counts: proxy.counts(), requests: proxy.requests })
  // Writes the server had in full when their client gave up (it applies them anyway, possibly after later writes).
  if (message === "abandoned") {
    process.send?.(proxy.abandoned.map((w) => ({
      method: w.method,
      path: decodeURIComponent(w.path),
      query: w.query.toString(),
      sha256: w.headers["x-amz-content-sha256"],
      copySource: w.headers["x-amz-copy-source"],
      abandonedAt: w.abandonedAt,
      status: w.status,
      answeredAt: w.answeredAt
    })))
  }
  if (message === "close") void proxy.close().then(() => process.exit(0))
})
process.on("disconnect", () => void proxy.close().then(() => process.exit(0)))
