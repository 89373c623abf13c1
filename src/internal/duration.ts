// A Schema for configuration durations: accepts what `Duration.decode` accepts (a Duration, milliseconds as a
// number, or a string such as "30 seconds") and decodes to a Duration.
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

export const DurationInput: Schema.Schema<Duration.Duration, Duration.DurationInput> = Schema.transformOrFail(
  Schema.Union(Schema.DurationFromSelf, Schema.Number, Schema.String, Schema.BigIntFromSelf),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) =>
      // Duration.decode would clamp a negative number to zero; a negative duration is a mistake to report.
      (typeof input === "number" || typeof input === "bigint") && input < 0
        ? ParseResult.fail(new ParseResult.Type(ast, input, `expected a non-negative duration, got ${input}`))
        : Option.match(Duration.decodeUnknown(input), {
          onNone: () =>
            ParseResult.fail(
              new ParseResult.Type(
                ast,
                input,
                `expected a duration such as "30 seconds" or milliseconds, got ${JSON.stringify(String(input))}`
              )
            ),
          onSome: (d) =>
            Duration.isFinite(d) && Duration.toMillis(d) >= 0
              ? ParseResult.succeed(d)
              : ParseResult.fail(new ParseResult.Type(ast, input, "expected a finite, non-negative duration"))
        }),
    encode: ParseResult.succeed
  }
) as unknown as Schema.Schema<Duration.Duration, Duration.DurationInput>

/** A duration that must be more than zero (timeouts: zero would fail every request). */
export const PositiveDuration: Schema.Schema<Duration.Duration, Duration.DurationInput> = DurationInput.pipe(
  Schema.filter((d) => Duration.toMillis(d) > 0 || "expected a duration greater than zero")
) as unknown as Schema.Schema<Duration.Duration, Duration.DurationInput>
