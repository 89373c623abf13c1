// The transport over any @effect/platform HttpClient the user provides: custom TLS, proxies, other runtimes.
import * as Headers from "@effect/platform/Headers"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { ClientConfig } from "../../ClientConfig.js"
import type { Request, Response, Transport } from "./transport.js"
import { TransportError } from "./transport.js"

// The platform's errors hold the request, and with it the Authorization header: keep only what they say, so no
// printed error, log line or span carries a credential.
const fail = (sent: boolean, what: string) => (cause: unknown) => {
  const error = cause as { _tag?: unknown; message?: unknown; reason?: unknown; cause?: { message?: unknown } } | null
  const inner = typeof error?.cause?.message === "string" ? error.cause.message : undefined
  const message = inner ?? (typeof error?.message === "string" ? error.message : String(cause))
  const kind = error?._tag === "TimeoutException" ? "timeout" : "other"
  return new TransportError(kind, `${what}: ${message}`, { reason: error?._tag ?? error?.reason, message }, sent)
}

const SECRET_HEADERS = ["authorization", "x-amz-security-token", "cookie", "set-cookie", "x-api-key", "x-goog-api-key"]

export const make = (config: ClientConfig): Effect.Effect<Transport, never, HttpClient.HttpClient> =>
  Effect.map(HttpClient.HttpClient, (platformClient): Transport => {
    // Each operation has a span of its own already; the platform's per-request span would record request headers.
    const client = HttpClient.withTracerDisabledWhen(platformClient, () => true)
    const defaults = { ...config.defaultHeaders, "user-agent": config.userAgent }
    const send = (request: Request) => {
      // The body's content type must be the request's own: the platform client sends the body's, and a signed
      // request breaks if it differs from the signed header.
      const contentType = request.headers["content-type"] ?? "application/octet-stream"
      const body = request.body === undefined
        ? HttpBody.empty
        : typeof request.body === "string"
        ? HttpBody.text(request.body, contentType)
        : request.body instanceof Uint8Array
        ? HttpBody.uint8Array(request.body, contentType)
        : HttpBody.stream(Stream.fromAsyncIterable(request.body, (e) => e), contentType)
      const httpRequest = HttpClientRequest.make(request.method as "GET")(request.origin + request.path).pipe(
        HttpClientRequest.setHeaders({ ...defaults, ...request.headers }),
        HttpClientRequest.setBody(body)
      )
      const what = `${request.method} ${request.path}`
      return client.execute(httpRequest).pipe(
        Effect.locally(Headers.currentRedactedNames, SECRET_HEADERS),
        Effect.timeout(Duration.sum(config.timeout, config.connectTimeout)),
        Effect.mapError(fail(true, what)),
        Effect.map((response): Response => ({
          status: response.status,
          headers: response.headers,
          body: {
            // A body read whole is bounded as a whole (a trickling server cannot hold it), a stream per chunk by
            // the platform client's own settings.
            bytes: Effect.map(
              Effect.mapError(Effect.timeout(response.arrayBuffer, config.timeout), fail(true, what)),
              (b) => new Uint8Array(b)
            ),
            text: Effect.mapError(Effect.timeout(response.text, config.timeout), fail(true, what)),
            stream: Stream.mapError(response.stream, fail(true, what)),
            discard: Effect.ignore(Stream.runDrain(response.stream))
          }
        }))
      )
    }
    return { send }
  })
