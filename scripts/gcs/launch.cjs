// Standalone launcher for the Cloud Storage emulator that ships (as JavaScript) inside the
// npm package firebase-tools, WITHOUT `firebase emulators:start`.
// Why: `firebase emulators:start --only storage` (firebase-tools 15.x) refuses to run on Java < 21
// (Debian 12 has only openjdk-17) and must download cloud-storage-rules-runtime-*.jar (52 MB) from
// storage.googleapis.com (no network). That Java runtime only evaluates Firebase security rules for
// the Firebase SDK API (/v0/...). The GCS JSON API routes use an admin-only validator that always
// allows, so we stub the rules runtime out and start the emulator's Express app directly.
// Relies on firebase-tools internals (lib/emulator/storage/*): pin the firebase-tools version.
// Usage: bash scripts/gcs-emulator.sh start (sets FIREBASE_TOOLS_DIR, GCS_HOST, GCS_PORT, GCS_PROJECT, GCS_STATE)
const path = require("path");
const fs = require("fs");
const root = path.join(process.env.FIREBASE_TOOLS_DIR || "/tmp/obstore-test/firebase-tools", "node_modules/firebase-tools/lib/emulator");
const host = process.env.GCS_HOST || "127.0.0.1";
const port = Number(process.env.GCS_PORT || 9199);
const projectId = process.env.GCS_PROJECT || "demo-test";
const state = process.env.GCS_STATE || "/tmp/obstore-test/gcs";
fs.mkdirSync(state, { recursive: true });

const runtime = require(path.join(root, "storage/rules/runtime"));
runtime.StorageRulesRuntime.prototype.start = async function () {};
runtime.StorageRulesRuntime.prototype.stop = async function () {};
runtime.StorageRulesRuntime.prototype.loadRuleset = async function () {
  return { ruleset: undefined, issues: new runtime.StorageRulesIssues() };
};
const { StorageEmulator } = require(path.join(root, "storage/index"));
const { EmulatorRegistry } = require(path.join(root, "registry"));
// Blob temp files go to os.tmpdir()/firebase/storage/blobs -> keep them in our state dir.
StorageEmulator.prototype.getPersistenceTmpDir = () => path.join(state, "blobs");

const rulesFile = path.join(state, "storage.rules");
fs.writeFileSync(rulesFile, "rules_version = '2';\nservice firebase.storage { match /b/{bucket}/o { match /{allPaths=**} { allow read, write: if true; } } }\n");

(async () => {
  const em = new StorageEmulator({ projectId, host, port, rules: { name: rulesFile, content: fs.readFileSync(rulesFile, "utf8") }, auto_download: false });
  await EmulatorRegistry.start(em);
  console.log(`gcs emulator listening on http://${host}:${port} (project ${projectId})`);
  const stop = async () => { try { await em.stop(); } finally { process.exit(0); } };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
})().catch((e) => { console.error(e); process.exit(1); });
