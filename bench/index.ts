// `npm run bench -- <name>`: runs one benchmark (or all with no name) and prints its table.
const benches: Record<string, () => Promise<unknown>> = {
  local: () => import("./local.js").then((m) => m.main()),
  s3: () => import("./s3.js").then((m) => m.main()),
  http: () => import("./http.js").then((m) => m.main()),
  azure: () => import("./azure.js").then((m) => m.main()),
  gcs: () => import("./gcs.js").then((m) => m.main()),
  upload: () => import("./upload.js").then((m) => m.main()),
  soak: () => import("./soak.js").then((m) => m.main()),
  transfer: () => import("./transfer.js").then((m) => m.main())
}

// Words are benchmark names; flags and their values (`--ops 500`, `--only s3->local`) are for the benchmarks.
const VALUE_FLAGS = new Set(["--only"])
const names = process.argv.slice(2).filter((a, i, all) =>
  !a.startsWith("-") &&
  !(i > 0 && all[i - 1].startsWith("--") && (!Number.isNaN(Number(a)) || VALUE_FLAGS.has(all[i - 1])))
)
const selected = names.length === 0 ? Object.keys(benches) : names
for (const name of selected) {
  const run = benches[name]
  if (run === undefined) {
    console.error(`unknown benchmark "${name}"; available: ${Object.keys(benches).join(", ")}`)
    process.exit(2)
  }
  await run()
}
