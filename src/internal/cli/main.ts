// The `obstore` command: its subcommands, and a run that turns every failure into one line on stderr and an exit
// code by the error's tag (usage errors are printed by @effect/cli itself, with the help).
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { cat, cp, ls, rm, sign, stat } from "./commands.js"
import { errorLine, EXIT_CODES, exitCodeOf } from "./output.js"

export const VERSION = "0.1.0"

const codes = Object.entries(EXIT_CODES).map(([tag, code]) => `${code} ${tag}`).join(", ")

export const command = Command.make("obstore").pipe(
  Command.withDescription(
    "Objects in S3 (s3://bucket/path, credentials from AWS_* variables), local directories (file:///path) and more. " +
      `Exit codes: 0 success, ${codes}.`
  ),
  Command.withSubcommands([ls, cat, cp, rm, stat, sign])
)

const cli = Command.run(command, { name: "obstore", version: VERSION })

/** Runs the command line (`argv` as `process.argv`); succeeds with the exit code. */
export const main = (argv: ReadonlyArray<string>) =>
  cli(argv).pipe(
    Effect.as(0),
    Effect.catchAll((error) =>
      ValidationError.isValidationError(error)
        ? Effect.succeed(EXIT_CODES.ValidationError)
        : Effect.as(Console.error(errorLine(error)), exitCodeOf(error))
    )
  )
