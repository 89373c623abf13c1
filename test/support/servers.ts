// Starts the real servers the tests talk to (once per test run, from vitest's globalSetup) and says where they are.
import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { repoRoot } from "./repoRoot.js"

export interface S3Server {
  readonly endpoint: string
  readonly region: string
  readonly accessKeyId: string
  readonly secretAccessKey: string
  readonly bucket: string
}

export const s3: S3Server = {
  endpoint: "http://127.0.0.1:47480",
  region: "us-east-1",
  accessKeyId: "AKIAOBSTORETEST00000",
  secretAccessKey: "obstoreTestSecretKey00000000000000000000",
  bucket: "test-bucket"
}

/** Azurite (scripts/azurite.sh): the emulator's well-known account and key, blob service only. */
export const azurite = {
  endpoint: "http://127.0.0.1:10000/devstoreaccount1",
  account: "devstoreaccount1",
  accessKey: "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
} as const

/** The Cloud Storage emulator (scripts/gcs-emulator.sh): JSON API, no auth check, buckets created on first use. */
export const gcs = {
  endpoint: "http://127.0.0.1:47482",
  project: "demo-test"
} as const

/** rclone serve webdav (scripts/webdav.sh) over a scratch directory, ETags are content MD5s. */
export const webdav = {
  url: "http://127.0.0.1:47481/",
  root: "/tmp/effect-obstore/webdav/root"
} as const

const scripts = path.join(repoRoot(import.meta.url), "scripts")

// A first start may install packages (apt, npm), so it gets 15 minutes; status and stop get one.
const TIMEOUT_MS = { start: 15 * 60_000, stop: 60_000, status: 60_000 } as const

const run = (script: string, command: keyof typeof TIMEOUT_MS) =>
  execFileSync("bash", [path.join(scripts, script), command], {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    timeout: TIMEOUT_MS[command],
    killSignal: "SIGKILL"
  })

export const isUp = (script: string): boolean => {
  try {
    run(script, "status")
    return true
  } catch {
    return false
  }
}

/** Starts a server unless it already runs; returns whether this call started it. */
export const start = (script: string): boolean => {
  if (isUp(script)) return false
  try {
    run(script, "start")
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string }
    throw new Error(
      `could not start the test server with scripts/${script} (run "bash scripts/${script} start" by hand to see why):\n` +
        (e.stderr ?? "") + (e.stdout ?? "") + e.message
    )
  }
  return true
}

/** Stops a server; a server that will not stop is reported, not thrown: the tests' results are already in. */
export const stop = (script: string): void => {
  try {
    run(script, "stop")
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    console.error(`warning: scripts/${script} stop failed: ${e.message}\n${e.stderr ?? ""}`)
  }
}

/** S3Store options for the test RGW (plain HTTP; RGW compares If-Match on PUT against the bare ETag). */
export const rgwOptions = {
  bucket: s3.bucket,
  region: s3.region,
  endpoint: s3.endpoint,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
  client: { allowHttp: true },
  conditionalPut: "etag-unquoted"
} as const
