// Brings up the servers the tests need before any test file runs, and stops the ones it started afterwards.
import { start, stop } from "./servers.js"

const SERVERS = ["s3-rgw.sh", "azurite.sh", "gcs-emulator.sh", "webdav.sh"]

export default function setup() {
  const started = SERVERS.filter((script) => start(script))
  return () => {
    // Leave servers a developer started by hand running; stop only ours.
    for (const script of started) stop(script)
  }
}
