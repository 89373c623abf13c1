// A small client for credential and metadata endpoints (EC2 IMDS, the ECS container endpoint and STS today; the GCE
// metadata server next): one request, a bounded text body, a timeout. It does not go through the store's transport:
// these are rare requests to other hosts, with their own timeouts.
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { Agent, request as undiciRequest } from "undici"

/** The endpoint could not be asked (refused, timed out, too large an answer). `reason` holds no body. */
export class MetadataError extends Data.TaggedError("MetadataError")<{
  readonly reason: string
  readonly cause?: unknown
}> {}

export interface MetadataResponse {
  readonly status: number
  readonly body: string
}

export interface MetadataRequest {
  readonly method: "GET" | "PUT" | "POST"
  readonly headers?: Record<string, string>
  readonly body?: string
}

// Our own dispatcher: a proxy the user installed globally must not see requests to link-local metadata endpoints.
// Connections are closed after each request (these requests are rare), so nothing lingers to keep a process alive.
let dispatcher: Agent | undefined
const getDispatcher = (): Agent => (dispatcher ??= new Agent())

/** The longest body read: credential and token documents are a few KiB. */
export const MAX_BODY = 256 * 1024

export const errorCode = (u: unknown): string | undefined => {
  if (typeof u === "object" && u !== null && "code" in u && typeof u.code === "string") return u.code
  return undefined
}

/** Sends one request and reads its body as text. */
export const request = (
  url: string,
  init: MetadataRequest,
  timeout: Duration.Duration
): Effect.Effect<MetadataResponse, MetadataError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await undiciRequest(url, {
        method: init.method,
        ...(init.headers === undefined ? {} : { headers: init.headers }),
        ...(init.body === undefined ? {} : { body: init.body }),
        signal,
        dispatcher: getDispatcher(),
        reset: true
      })
      const declared = response.headers["content-length"]
      if (typeof declared === "string" && Number(declared) > MAX_BODY) {
        await response.body.dump()
        return { status: response.statusCode, body: "", tooLarge: true }
      }
      const body = await response.body.text()
      return { status: response.statusCode, body, tooLarge: body.length > MAX_BODY }
    },
    catch: (cause) => {
      const code = errorCode(cause)
      const message = cause instanceof Error ? cause.message : String(cause)
      return new MetadataError({ reason: code === undefined ? message : `${code}: ${message}`, cause })
    }
  }).pipe(
    Effect.flatMap((r) =>
      r.tooLarge
        ? Effect.fail(new MetadataError({ reason: `response body larger than ${MAX_BODY} bytes` }))
        : Effect.succeed({ status: r.status, body: r.body })
    ),
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new MetadataError({ reason: `no answer within ${Duration.format(timeout)}` })
    })
  )
