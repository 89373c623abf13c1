// The raw floor's multipart upload, shared by the S3 and upload benchmarks: what a hand-written client does (cut the
// stream into parts, at most `concurrency` in flight, complete with the part ETags), over the caller's signed
// request function.
import { query } from "./rawSigV4.js"

/** What the upload reads of an answer (an undici response has it). */
export interface RawAnswer {
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: { text(): Promise<string>; dump(): Promise<unknown> }
}

/** Sends one signed request for the object being uploaded; fails on an error status. */
export type RawRequest = (method: "POST" | "PUT", q: string, body?: Uint8Array | string) => Promise<RawAnswer>

export interface RawMultipartOptions {
  readonly partSize: number
  readonly concurrency: number
  /** Use a part's buffer again once its upload is done (no fresh pages per part). */
  readonly reuse?: boolean
}

export const rawMultipartPut = async (
  request: RawRequest,
  source: Iterable<Uint8Array>,
  { concurrency, partSize, reuse = false }: RawMultipartOptions
): Promise<void> => {
  const free: Array<Uint8Array<ArrayBuffer>> = []
  const init = await (await request("POST", query([["uploads", ""]]))).body.text()
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init)?.[1]
  if (uploadId === undefined) throw new Error(`no UploadId in ${init}`)
  const eTags: Array<string> = []
  const inFlight = new Set<Promise<void>>()
  const upload = (part: Uint8Array<ArrayBuffer>, number: number) => {
    const done = request("PUT", query([["partNumber", String(number)], ["uploadId", uploadId]]), part)
      .then(async (response) => {
        eTags[number - 1] = String(response.headers.etag)
        await response.body.dump()
        if (reuse && part.byteLength === partSize) free.push(part)
      }).finally(() => inFlight.delete(done))
    inFlight.add(done)
  }
  let part = new Uint8Array(partSize)
  let filled = 0
  let number = 0
  for (const chunk of source) {
    let at = 0
    while (at < chunk.byteLength) {
      const n = Math.min(chunk.byteLength - at, partSize - filled)
      part.set(chunk.subarray(at, at + n), filled)
      filled += n
      at += n
      if (filled === partSize) {
        while (inFlight.size >= concurrency) await Promise.race(inFlight)
        upload(part, ++number)
        part = free.pop() ?? new Uint8Array(partSize)
        filled = 0
      }
    }
  }
  if (filled > 0 || number === 0) upload(part.subarray(0, filled), ++number)
  await Promise.all(inFlight)
  const complete = "<CompleteMultipartUpload>" +
    eTags.map((eTag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${eTag}</ETag></Part>`).join("") +
    "</CompleteMultipartUpload>"
  const text = await (await request("POST", query([["uploadId", uploadId]]), complete)).body.text()
  if (text.includes("<Error>")) throw new Error(`CompleteMultipartUpload failed: ${text}`)
}
