// What every store's URL parser needs: a URL object or why there is none, and its path as decoded segments.
import * as Either from "effect/Either"

/** The URL, or a message saying the input is not one. */
export const toUrl = (input: string): Either.Either<URL, string> => {
  try {
    return Either.right(new URL(input))
  } catch {
    return Either.left(`not a URL: ${JSON.stringify(input)}`)
  }
}

/** The path of a URL as segments, percent-decoded; undefined when an escape is malformed. */
export const segments = (pathname: string): ReadonlyArray<string> | undefined => {
  try {
    return pathname.split("/").filter((s) => s !== "").map(decodeURIComponent)
  } catch {
    return undefined
  }
}
