// The URL forms an HTTP store is named by: any http(s) URL that no cloud claims, the server's base collection.
// Pure: no store code, so FromUrl can check a URL before it loads HTTPStore.
import * as Either from "effect/Either"
import { segments, toUrl } from "../url.js"

/** What a URL says about an HTTP store: its base URL (the store's root collection). */
export interface HttpUrl {
  readonly url: string
}

/** The forms, for messages. */
export const forms: ReadonlyArray<string> = ["https://<host>[/<path>]", "http://<host>[/<path>] (with allowHttp)"]

/** Reads an HTTP store URL; the left is why it is not one. */
export const parseUrl = (input: string): Either.Either<HttpUrl, string> => {
  const parsed = toUrl(input)
  if (Either.isLeft(parsed)) return Either.left(parsed.left)
  const url = parsed.right
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Either.left(`not an http(s) URL: ${JSON.stringify(input)}`)
  }
  if (url.username !== "" || url.password !== "") {
    return Either.left("credentials do not belong in the URL: pass them as headers (e.g. authorization)")
  }
  if (url.search !== "" || url.hash !== "") return Either.left("an HTTP store URL has no query or fragment")
  if (segments(url.pathname) === undefined) return Either.left(`malformed percent-escape in ${JSON.stringify(input)}`)
  return Either.right({ url: url.href })
}
