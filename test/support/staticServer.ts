/**
 * A plain static HTTP server for tests and benchmarks: Node's own `http` serving the files of a directory, with just
 * what a read-only client needs (RFC 9110): GET and HEAD, a single byte range (`a-b`, `a-`, `-n`, 416 past the end),
 * a strong ETag (the content's MD5) and Last-Modified, and the four conditional headers. Every other method is
 * answered 405 with `Allow: GET, HEAD`, as a server without WebDAV does.
 *
 * ```ts
 * const server = yield* StaticServer.scoped(dir) // closed with the scope
 * server.url // "http://127.0.0.1:PORT/"
 * server.requests // [{ method, path }] seen so far
 * ```
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"

export interface StaticServer {
  readonly url: string
  readonly requests: ReadonlyArray<{ readonly method: string; readonly path: string }>
  readonly close: () => Promise<void>
}

const eTagOf = (file: string) => `"${createHash("md5").update(fs.readFileSync(file)).digest("hex")}"`

const tags = (value: string) => value.split(",").map((t) => t.trim().replace(/^W\//, ""))

/** The status a conditional request gets before any range applies (RFC 9110 13.2.2), or undefined to go on. */
const precondition = (req: http.IncomingMessage, eTag: string, modified: Date): number | undefined => {
  const seconds = Math.floor(modified.getTime() / 1000)
  const ifMatch = req.headers["if-match"]
  if (ifMatch !== undefined) {
    if (ifMatch.trim() !== "*" && !tags(ifMatch).includes(eTag)) return 412
  } else if (req.headers["if-unmodified-since"] !== undefined) {
    const since = Date.parse(req.headers["if-unmodified-since"])
    if (!Number.isNaN(since) && seconds > Math.floor(since / 1000)) return 412
  }
  const ifNoneMatch = req.headers["if-none-match"]
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() === "*" || tags(ifNoneMatch).includes(eTag)) return 304
  } else if (req.headers["if-modified-since"] !== undefined) {
    const since = Date.parse(req.headers["if-modified-since"])
    if (!Number.isNaN(since) && seconds <= Math.floor(since / 1000)) return 304
  }
  return undefined
}

/** A single range of a `size`-byte file as [start, end] inclusive; "unsatisfiable"; or undefined (whole file). */
const rangeOf = (value: string | undefined, size: number): readonly [number, number] | "unsatisfiable" | undefined => {
  const match = value === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(value.trim())
  if (match === null || (match[1] === "" && match[2] === "")) return undefined
  if (match[1] === "") {
    const suffix = Number(match[2])
    return suffix === 0 || size === 0 ? "unsatisfiable" : [Math.max(0, size - suffix), size - 1]
  }
  const start = Number(match[1])
  if (start >= size) return "unsatisfiable"
  return [start, match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1)]
}

const serve = (root: string, req: http.IncomingMessage, res: http.ServerResponse) => {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("Method Not Allowed")
    return
  }
  let file: string
  try {
    file = path.join(root, ...new URL(req.url ?? "/", "http://x").pathname.split("/").map(decodeURIComponent))
  } catch {
    res.writeHead(400).end()
    return
  }
  const stat = file.startsWith(root) && fs.existsSync(file) ? fs.statSync(file) : undefined
  if (stat === undefined || !stat.isFile()) {
    res.writeHead(404, { "content-type": "text/plain" }).end("Not Found")
    return
  }
  const eTag = eTagOf(file)
  const headers = { etag: eTag, "last-modified": stat.mtime.toUTCString(), "accept-ranges": "bytes" }
  const status = precondition(req, eTag, stat.mtime)
  if (status !== undefined) {
    res.writeHead(status, headers).end()
    return
  }
  const range = rangeOf(req.headers.range, stat.size)
  if (range === "unsatisfiable") {
    res.writeHead(416, { ...headers, "content-range": `bytes */${stat.size}` }).end()
    return
  }
  const [start, end] = range ?? [0, stat.size - 1]
  const length = stat.size === 0 ? 0 : end - start + 1
  res.writeHead(range === undefined ? 200 : 206, {
    ...headers,
    "content-length": String(length),
    "content-type": "application/octet-stream",
    ...(range === undefined ? {} : { "content-range": `bytes ${start}-${end}/${stat.size}` })
  })
  if (req.method === "HEAD" || length === 0) res.end()
  else fs.createReadStream(file, { start, end }).pipe(res)
}

/** Starts a server on 127.0.0.1 (port 0) serving the files below `root`. */
export const startStaticServer = async (root: string): Promise<StaticServer> => {
  const requests: Array<{ method: string; path: string }> = []
  const resolved = path.resolve(root)
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", path: req.url ?? "" })
    // Drain any request body (a PUT to a server without WebDAV) so the connection stays usable.
    req.resume()
    req.on("end", () => serve(resolved, req, res))
  })
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

export const StaticServer = {
  /** A server for the scope's lifetime. */
  scoped: (root: string): Effect.Effect<StaticServer, never, Scope.Scope> =>
    Effect.acquireRelease(Effect.promise(() => startStaticServer(root)), (server) => Effect.promise(server.close))
}
