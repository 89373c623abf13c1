// The URL forms an S3 store is named by, as obstore and object_store read them. Pure: no store code, so FromUrl
// can check a URL before it loads S3Store.
import * as Either from "effect/Either"
import { segments, toUrl } from "../url.js"

/** What a URL says about an S3 store. Only the fields the URL fixes are present. */
export interface S3Url {
  readonly bucket: string
  readonly prefix?: string
  readonly region?: string
  readonly endpoint?: string
  readonly virtualHostedStyleRequest?: boolean
}

/** The forms, for messages. */
export const forms: ReadonlyArray<string> = [
  "s3://<bucket>[/<prefix>]",
  "s3a://<bucket>[/<prefix>]",
  "https://s3.<region>.amazonaws.com/<bucket>[/<prefix>]",
  "https://<bucket>.s3.<region>.amazonaws.com[/<prefix>]",
  "https://<account>.r2.cloudflarestorage.com/<bucket>[/<prefix>]"
]

const AMAZON_PATH_STYLE = /^s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/
const AMAZON_VIRTUAL_HOSTED = /^(.+)\.s3(?:[.-]([a-z0-9-]+))?\.amazonaws\.com$/
const R2 = /^([a-z0-9]+)\.r2\.cloudflarestorage\.com$/

const withPrefix = (url: Omit<S3Url, "prefix">, rest: ReadonlyArray<string>): S3Url =>
  rest.length === 0 ? url : { ...url, prefix: rest.join("/") }

const amazonRegion = (region: string | undefined) => region === undefined || region === "" ? undefined : region

/** Reads an S3 URL; the left is why it is not one. */
export const parse = (input: string): Either.Either<S3Url, string> => {
  const parsed = toUrl(input)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const url = parsed.right
  if (url.username !== "" || url.password !== "") {
    return Either.left("credentials do not belong in the URL: pass accessKeyId and secretAccessKey as options")
  }
  if (url.search !== "" || url.hash !== "") return Either.left("an S3 URL has no query or fragment")
  const parts = segments(url.pathname)
  if (parts === undefined) return Either.left(`malformed percent-escape in ${JSON.stringify(input)}`)
  const host = url.hostname
  if (url.protocol === "s3:" || url.protocol === "s3a:") {
    if (host === "") return Either.left(`no bucket in ${JSON.stringify(input)}: use s3://<bucket>[/<prefix>]`)
    return Either.right(withPrefix({ bucket: host }, parts))
  }
  if (url.protocol !== "https:") return Either.left(`not an S3 URL: ${JSON.stringify(input)}`)
  const r2 = R2.exec(host)
  if (r2 !== null) {
    if (parts.length === 0) return Either.left("no bucket: use https://<account>.r2.cloudflarestorage.com/<bucket>")
    // R2 takes "auto" as its one region.
    return Either.right(
      withPrefix(
        { bucket: parts[0], region: "auto", endpoint: `https://${r2[1]}.r2.cloudflarestorage.com` },
        parts.slice(1)
      )
    )
  }
  const pathStyle = AMAZON_PATH_STYLE.exec(host)
  if (pathStyle !== null) {
    if (parts.length === 0) return Either.left("no bucket: use https://s3.<region>.amazonaws.com/<bucket>")
    const region = amazonRegion(pathStyle[1])
    return Either.right(withPrefix(amazonEndpoint({ bucket: parts[0] }, region, false), parts.slice(1)))
  }
  const virtual = AMAZON_VIRTUAL_HOSTED.exec(host)
  if (virtual !== null) {
    return Either.right(withPrefix(amazonEndpoint({ bucket: virtual[1] }, amazonRegion(virtual[2]), true), parts))
  }
  return Either.left(`not an S3 URL (the host is neither AWS nor R2): ${JSON.stringify(input)}`)
}

// On AWS the URL fixes the endpoint too, so that AWS_ENDPOINT_URL in the environment cannot send it elsewhere.
const amazonEndpoint = (url: { readonly bucket: string }, region: string | undefined, virtual: boolean): S3Url => ({
  ...url,
  ...(region === undefined ? {} : { region }),
  endpoint: region === undefined ? "https://s3.amazonaws.com" : `https://s3.${region}.amazonaws.com`,
  ...(virtual ? { virtualHostedStyleRequest: true } : {})
})

/** Whether a URL names an S3 store (so FromUrl can dispatch `https:` URLs by host). */
export const claims = (url: URL): boolean =>
  url.protocol === "s3:" || url.protocol === "s3a:" ||
  (url.protocol === "https:" &&
    [R2, AMAZON_PATH_STYLE, AMAZON_VIRTUAL_HOSTED].some((host) => host.test(url.hostname)))
