// The URL form a LocalStore is named by: `file:///absolute/dir`. Pure: no store code, so FromUrl can check a URL
// before it loads LocalStore.
import * as Either from "effect/Either"
import { fileURLToPath } from "node:url"

/** The form, for messages. */
export const forms: ReadonlyArray<string> = ["file:///<absolute directory>"]

/**
 * Reads a `file:` URL into the root directory it names; the left is why it names none. Only the absolute form with
 * an empty host is taken: `file:dir` and `file://dir` would otherwise silently become `/dir`.
 */
export const parse = (input: string): Either.Either<{ readonly root: string }, string> => {
  if (!/^file:\/\/\//i.test(input)) {
    return Either.left(
      `${JSON.stringify(input)} is not an absolute file URL: use file:///<absolute directory> (three slashes)`
    )
  }
  let url: URL
  try {
    url = new URL(input)
  } catch {
    return Either.left(`not a URL: ${JSON.stringify(input)}`)
  }
  if (url.search !== "" || url.hash !== "") return Either.left("a file URL has no query or fragment")
  try {
    return Either.right({ root: fileURLToPath(url) })
  } catch (error) {
    return Either.left(`${JSON.stringify(input)} names no directory: ${(error as Error).message}`)
  }
}
