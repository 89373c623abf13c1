// Blob Batch (https://learn.microsoft.com/rest/api/storageservices/blob-batch): up to 256 Delete Blob sub-requests
// in one multipart/mixed POST, each authorized like a request of its own; the answer holds one HTTP response per
// sub-request, in order, and a missing blob is fine.
import * as Effect from "effect/Effect"
import { randomUUID } from "node:crypto"
import { StoreError } from "../../ObjectStoreError.js"
import * as Errors from "../cloud/errors.js"
import { mapFailure } from "../cloud/failure.js"
import { Retryable } from "../http/retry.js"
import { header } from "../http/transport.js"
import type { Azure } from "./client.js"
import { errorDialect, malformed, STORE } from "./client.js"

export const BATCH_SIZE = 256
const encoder = new TextEncoder()

/** The multipart body of a batch of deletes. */
const batchBody = (azure: Azure, boundary: string, paths: ReadonlyArray<string>) =>
  Effect.map(
    Effect.forEach(paths, (path) => azure.client.prepare({ method: "DELETE", path: azure.client.pathOf(path) }, {})),
    (prepared) => {
      let body = ""
      prepared.forEach(({ headers, query }, index) => {
        const target = azure.client.pathOf(paths[index]) + (query === "" ? "" : `?${query}`)
        body += `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n` +
          `Content-ID: ${index}\r\n\r\nDELETE ${target} HTTP/1.1\r\n`
        for (const name in headers) body += `${name}: ${headers[name]}\r\n`
        body += "Content-Length: 0\r\n\r\n"
      })
      return encoder.encode(body + `--${boundary}--\r\n`)
    }
  )

interface SubResponse {
  readonly status: number
  readonly code: string | undefined
}

/** The sub-responses of a batch answer, in order; undefined when the body cannot be read. */
export const parseBatchResponse = (text: string, boundary: string): ReadonlyArray<SubResponse> | undefined => {
  const parts = text.split(`--${boundary}`).slice(1)
  const responses: Array<SubResponse> = []
  for (const part of parts) {
    if (part.startsWith("--")) break
    const status = /HTTP\/1\.1 (\d{3})/.exec(part)
    if (status === null) return undefined
    const code = /\r?\nx-ms-error-code:\s*([^\r\n]+)/i.exec(part)
    responses.push({ status: Number(status[1]), code: code?.[1].trim() })
  }
  return responses
}

/** One batch of deletes; every failure but a missing blob is reported, naming the paths. */
export const deleteBatch = (azure: Azure, paths: ReadonlyArray<string>) => {
  const ctx = { store: STORE, method: "delete" }
  const boundary = `batch_${randomUUID()}`
  return Effect.flatMap(batchBody(azure, boundary, paths), (body) =>
    mapFailure(
      azure.client.execute(
        {
          method: "POST",
          path: azure.client.pathOf(undefined),
          query: [["restype", "container"], ["comp", "batch"]],
          headers: {
            "content-type": `multipart/mixed; boundary=${boundary}`,
            "content-length": String(body.byteLength)
          },
          body,
          idempotent: true
        },
        ctx,
        (response) =>
          Effect.flatMap(response.body.text, (text): Effect.Effect<void, StoreError | Retryable> => {
            const answer = /boundary=("?)([^";]+)\1/.exec(header(response.headers, "content-type") ?? "")?.[2]
            const subs = answer === undefined ? undefined : parseBatchResponse(text, answer)
            if (subs === undefined || subs.length !== paths.length) {
              return Effect.fail(
                new Retryable(
                  malformed(ctx, `Blob Batch answered ${subs?.length ?? "no"} parts for ${paths.length} deletes`)
                )
              )
            }
            const failed = subs
              .map((sub, i) => ({ ...sub, path: paths[i] }))
              .filter((sub) => sub.status >= 300 && !(sub.status === 404 && sub.code !== "ContainerNotFound"))
            if (failed.length === 0) return Effect.void
            const listed = failed.slice(0, 10).map((f) => `"${f.path}" (HTTP ${f.status}${f.code ? ` ${f.code}` : ""})`)
            return Effect.fail(
              new StoreError({
                ...ctx,
                path: failed[0].path,
                description: `${failed.length} of ${paths.length} deletes failed: ${listed.join(", ")}${
                  failed.length > 10 ? ", ..." : ""
                }`,
                cause: failed
              })
            )
          })
      ),
      (failure) => Errors.toError(errorDialect, ctx, failure)
    ))
}
