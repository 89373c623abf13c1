// The URL forms an Azure store is named by, as obstore and object_store read them. Pure: no store code, so FromUrl
// can check a URL before it loads AzureStore. Data Lake (dfs) URLs name the same container, reached over the Blob API.
import * as Either from "effect/Either"
import { segments, toUrl } from "../url.js"

/** What a URL says about an Azure store. Only the fields the URL fixes are present. */
export interface AzureUrl {
  readonly container: string
  readonly account?: string
  readonly prefix?: string
  readonly endpoint?: string
  readonly useEmulator?: boolean
  readonly useFabricEndpoint?: boolean
}

/** The forms, for messages. */
export const forms: ReadonlyArray<string> = [
  "az://<container>[/<prefix>]",
  "azure://<container>[/<prefix>]",
  "adl://<container>[/<prefix>]",
  "abfs[s]://<container>[/<prefix>]",
  "abfs[s]://<container>@<account>.dfs.core.windows.net[/<prefix>]",
  "https://<account>.blob.core.windows.net/<container>[/<prefix>]",
  "https://<account>.dfs.core.windows.net/<container>[/<prefix>]",
  "https://<account>.blob.fabric.microsoft.com/<container>[/<prefix>]",
  "http://127.0.0.1:10000/<account>/<container>[/<prefix>] (Azurite)"
]

const ACCOUNT_HOST = /^([a-z0-9]{3,24})\.(blob|dfs)\.(core\.windows\.net|fabric\.microsoft\.com)$/
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"])

const withPrefix = (url: Omit<AzureUrl, "prefix">, rest: ReadonlyArray<string>): AzureUrl =>
  rest.length === 0 ? url : { ...url, prefix: rest.join("/") }

/** `<account>.(blob|dfs).core.windows.net` (or fabric): the account and whether it is Fabric's. */
const accountOf = (host: string) => {
  const match = ACCOUNT_HOST.exec(host)
  return match === null ? undefined : { account: match[1], fabric: match[3] === "fabric.microsoft.com" }
}

const https = (url: URL, parts: ReadonlyArray<string>, input: string): Either.Either<AzureUrl, string> => {
  const found = accountOf(url.hostname)
  if (found === undefined) {
    return Either.left(`not an Azure URL (the host is not an Azure storage account): ${JSON.stringify(input)}`)
  }
  if (parts.length === 0) return Either.left(`no container: use https://${url.hostname}/<container>[/<prefix>]`)
  return Either.right(withPrefix({
    container: parts[0],
    account: found.account,
    ...(found.fabric ? { useFabricEndpoint: true } : {})
  }, parts.slice(1)))
}

const emulator = (url: URL, parts: ReadonlyArray<string>): Either.Either<AzureUrl, string> => {
  if (parts.length < 2) return Either.left(`an emulator URL is http://${url.host}/<account>/<container>[/<prefix>]`)
  return Either.right(withPrefix({
    container: parts[1],
    account: parts[0],
    endpoint: `${url.protocol}//${url.host}/${encodeURIComponent(parts[0])}`,
    useEmulator: true
  }, parts.slice(2)))
}

/** Reads an Azure URL; the left is why it is not one. */
export const parse = (input: string): Either.Either<AzureUrl, string> => {
  const parsed = toUrl(input)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const url = parsed.right
  if (url.password !== "" || (url.username !== "" && url.protocol !== "abfs:" && url.protocol !== "abfss:")) {
    return Either.left("credentials do not belong in the URL: pass accessKey or sasToken as options")
  }
  if (url.search !== "" || url.hash !== "") {
    return Either.left("an Azure URL has no query or fragment (a SAS token goes in the sasToken option)")
  }
  const parts = segments(url.pathname)
  if (parts === undefined) return Either.left(`malformed percent-escape in ${JSON.stringify(input)}`)
  switch (url.protocol) {
    case "az:":
    case "azure:":
    case "adl:": {
      if (url.hostname === "") {
        return Either.left(`no container in ${JSON.stringify(input)}: use ${url.protocol}//<container>[/<prefix>]`)
      }
      return Either.right(withPrefix({ container: url.hostname }, parts))
    }
    case "abfs:":
    case "abfss:": {
      if (url.username === "") {
        if (url.hostname === "") return Either.left(`no container in ${JSON.stringify(input)}`)
        return Either.right(withPrefix({ container: url.hostname }, parts))
      }
      const found = accountOf(url.hostname)
      if (found === undefined) {
        return Either.left(`expected <container>@<account>.dfs.core.windows.net in ${JSON.stringify(input)}`)
      }
      return Either.right(withPrefix({
        container: decodeURIComponent(url.username),
        account: found.account,
        ...(found.fabric ? { useFabricEndpoint: true } : {})
      }, parts))
    }
    case "https:":
      return https(url, parts, input)
    case "http:":
      if (LOOPBACK.has(url.hostname)) return emulator(url, parts)
      return Either.left(`plain http is only for the emulator on loopback: ${JSON.stringify(input)}`)
    default:
      return Either.left(`not an Azure URL: ${JSON.stringify(input)}`)
  }
}

const SCHEMES = new Set(["az:", "azure:", "adl:", "abfs:", "abfss:"])

/**
 * Whether a URL names an Azure store (so FromUrl can dispatch `http(s):` URLs): an Azure scheme, an account host, or
 * plain http on loopback whose first segment is the emulator's well-known account (any other loopback URL is left to
 * HTTPStore).
 */
export const claims = (url: URL): boolean =>
  SCHEMES.has(url.protocol) ||
  (url.protocol === "https:" && accountOf(url.hostname) !== undefined) ||
  (url.protocol === "http:" && LOOPBACK.has(url.hostname) && url.pathname.split("/")[1] === "devstoreaccount1")
