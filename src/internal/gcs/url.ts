// The URL forms a GCS store is named by: `gs://<bucket>[/<prefix>]` and
// `https://storage.googleapis.com/<bucket>[/<prefix>]` (also `storage.cloud.google.com`). Pure: no store code, so
// FromUrl can check a URL before it loads GCSStore.
import * as Either from "effect/Either"
import { segments, toUrl } from "../url.js"

/** What a URL says about a GCS store. Only the fields the URL fixes are present. */
export interface GcsUrl {
  readonly bucket: string
  readonly prefix?: string
}

/** The forms, for messages. */
export const forms: ReadonlyArray<string> = [
  "gs://<bucket>[/<prefix>]",
  "https://storage.googleapis.com/<bucket>[/<prefix>]"
]

const HOSTS = new Set(["storage.googleapis.com", "storage.cloud.google.com"])

/** Whether an `https://` URL is one of Google's storage hosts (so FromUrl can dispatch on it). */
export const isGcsHttps = (input: string): boolean => {
  try {
    const url = new URL(input)
    return url.protocol === "https:" && HOSTS.has(url.hostname)
  } catch {
    return false
  }
}

/** Reads a GCS URL; the left is why it is not one. */
export const parse = (input: string): Either.Either<GcsUrl, string> => {
  const parsed = toUrl(input)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const url = parsed.right
  if (url.username !== "" || url.password !== "") {
    return Either.left("credentials do not belong in the URL: pass serviceAccountKey or bearerToken as options")
  }
  if (url.search !== "" || url.hash !== "") return Either.left("a GCS URL has no query or fragment")
  const parts = segments(url.pathname)
  if (parts === undefined) return Either.left(`malformed percent-escape in ${JSON.stringify(input)}`)
  let bucket: string
  let rest: ReadonlyArray<string>
  if (url.protocol === "gs:") {
    if (url.hostname === "") return Either.left(`no bucket in ${JSON.stringify(input)}: use gs://<bucket>[/<prefix>]`)
    bucket = url.hostname
    rest = parts
  } else if (url.protocol === "https:" && HOSTS.has(url.hostname) && url.port === "") {
    if (parts.length === 0) return Either.left("no bucket: use https://storage.googleapis.com/<bucket>[/<prefix>]")
    bucket = parts[0]
    rest = parts.slice(1)
  } else {
    return Either.left(`not a GCS URL: ${JSON.stringify(input)}; use ${forms.join(" or ")}`)
  }
  return Either.right(rest.length === 0 ? { bucket } : { bucket, prefix: rest.join("/") })
}

/** Whether a URL names a GCS store (so FromUrl can dispatch `https:` URLs by host). */
export const claims = (url: URL): boolean => url.protocol === "gs:" || isGcsHttps(url.href)
