// Decoding of store configs: unknown keys are errors (a typo must not silently fall back to a default), and a
// failure becomes an InvalidConfig that names the offending field.
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { InvalidConfig } from "../ObjectStoreError.js"

// Schema's words for a nested object given as something else mean nothing to a user.
const plain = (message: string): string =>
  message.replace(/^Expected (?:Struct|\{[^]*\}) \(Encoded side\), actual /, "expected an object, got ")

export const decode = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  store: string
): Effect.Effect<A, InvalidConfig> =>
  Either.match(Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "first" })(input), {
    onLeft: (error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      const field = issue === undefined || issue.path.length === 0 ? undefined : issue.path.map(String).join(".")
      return Effect.fail(
        new InvalidConfig({
          store,
          method: "make",
          ...(field === undefined ? {} : { field }),
          description: plain(issue?.message ?? "invalid configuration")
        })
      )
    },
    onRight: Effect.succeed
  })
