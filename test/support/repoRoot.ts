// The repository's root, found by walking up from a module to the nearest package.json: the benchmarks and their
// helpers run both from their TypeScript sources (tsx, vitest) and compiled to plain JavaScript under `.bench/`
// (`npm run bench`), so a fixed number of `..` would point at the wrong directory in one of the two.
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

export const repoRoot = (moduleUrl: string): string => {
  let dir = path.dirname(fileURLToPath(moduleUrl))
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(moduleUrl)}`)
    dir = up
  }
  return dir
}
