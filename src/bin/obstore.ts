#!/usr/bin/env node
/**
 * The `obstore` command line: `obstore ls|cat|cp|rm|stat|sign <url> ...`, `obstore --help`.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { main } from "../internal/cli/main.js"

// Exits once stdout and stderr are flushed: idle keep-alive sockets and timers must not hold a finished command.
const exit = (code: number) => process.stdout.write("", () => process.stderr.write("", () => process.exit(code)))

NodeRuntime.runMain(Effect.provide(main(process.argv), NodeContext.layer), {
  disableErrorReporting: true,
  teardown: (result) => exit(result._tag === "Success" ? Number(result.value) : 1)
})
