// What the command line prints: one readable line per error with an exit code by the error's tag, sizes, and
// the progress of `cp` (a bar redrawn in place on a terminal, plain lines otherwise).
import type { TransferProgress } from "../../Transfer.js"

/** Exit codes by error tag: scripts can tell a missing object from a refused credential. */
export const EXIT_CODES: Readonly<Record<string, number>> = {
  StoreError: 1,
  PayloadError: 1,
  ValidationError: 2,
  InvalidConfig: 2,
  InvalidPath: 2,
  InvalidRange: 2,
  ConfigError: 2,
  NotFound: 3,
  PermissionDenied: 4,
  Unauthenticated: 4,
  AlreadyExists: 5,
  PreconditionFailed: 5,
  NotModified: 5,
  NotSupported: 6
}

export const exitCodeOf = (error: unknown): number => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : undefined
  return (tag === undefined ? undefined : EXIT_CODES[tag]) ?? 1
}

/** The error as one line: its message without line breaks, prefixed by its tag. */
export const errorLine = (error: unknown): string => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : "Error"
  const message = error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
    ? String((error as { message: unknown }).message)
    : String(error)
  return `obstore: ${tag}: ${message.replace(/\s*\n\s*/g, " ").trim() || tag}`
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"]

export const human = (bytes: number): string => {
  let n = bytes
  let unit = 0
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${n.toFixed(1)} ${UNITS[unit]}`
}

const BAR_WIDTH = 30
const REDRAW_MS = 100

/** A progress bar on a terminal stream, redrawn at most every 100 ms and finished with a newline. */
export const progressBar = (out: NodeJS.WriteStream) => {
  let last = 0
  let drawn = false
  const draw = (p: TransferProgress) => {
    const total = p.total ?? 0
    const ratio = total === 0 ? 1 : Math.min(1, p.done / total)
    const filled = Math.round(ratio * BAR_WIDTH)
    const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled)
    const line = `[${bar}] ${(ratio * 100).toFixed(0).padStart(3)}% ${human(p.done)} / ${human(total)}` +
      ` ${p.objects}/${p.totalObjects} objects`
    out.write(`\r${line}\x1b[K`)
    drawn = true
  }
  return {
    update: (p: TransferProgress) => {
      const now = Date.now()
      if (now - last < REDRAW_MS && p.objects < p.totalObjects) return
      last = now
      draw(p)
    },
    finish: (p: TransferProgress | undefined) => {
      if (p !== undefined) draw(p)
      if (drawn) out.write("\n")
    }
  }
}
