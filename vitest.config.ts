import * as path from "node:path"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    alias: [
      { find: /^effect-obstore$/, replacement: path.resolve(__dirname, "src/index.ts") },
      { find: /^effect-obstore\/(.*)$/, replacement: path.resolve(__dirname, "src/$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
