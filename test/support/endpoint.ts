// A real HTTP server on loopback that plays an endpoint (STS, IMDS, a container credentials endpoint, ...): every
// request is recorded with its body, and answered by the test's handler. Closed with its scope.
import { Effect } from "effect"
import * as Http from "node:http"

export interface Recorded {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

export interface Endpoint {
  readonly url: string
  readonly port: number
  readonly requests: Array<Recorded>
}

export type Handler = (req: Recorded, res: Http.ServerResponse) => void

export const startEndpoint = (handler: Handler) =>
  Effect.acquireRelease(
    Effect.async<{ readonly endpoint: Endpoint; readonly server: Http.Server }>((resume) => {
      const requests: Array<Recorded> = []
      const server = Http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const recorded: Recorded = {
            method: req.method ?? "",
            url: req.url ?? "",
            headers: req.headers,
            body: Buffer.concat(chunks).toString("utf8")
          }
          requests.push(recorded)
          handler(recorded, res)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ endpoint: { url: `http://127.0.0.1:${port}`, port, requests }, server }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ endpoint }) => endpoint))
