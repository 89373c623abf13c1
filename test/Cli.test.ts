// The `obstore` command line run as a user runs it: the binary built once (one bundled file, as `npm pack` ships
// it), a child process per command, against temp directories (file:// URLs) and the RGW bucket (s3:// URLs,
// credentials from the usual AWS_* variables).
import { build } from "esbuild"
import { execFileSync, spawnSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { s3 } from "./support/servers.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = fs.mkdtempSync(path.join(os.tmpdir(), "obstore-cli-"))
const bin = path.join(root, "bin", "obstore.mjs")
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

beforeAll(async () => {
  await build({
    entryPoints: [path.resolve(here, "../src/bin/obstore.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    outfile: bin,
    logLevel: "warning",
    // CommonJS dependencies inside an ES module bundle still call require.
    banner: {
      js:
        "import { createRequire as obstoreCreateRequire } from 'node:module'; const require = obstoreCreateRequire(import.meta.url);"
    }
  })
}, 120_000)

const env = {
  ...process.env,
  AWS_ACCESS_KEY_ID: s3.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  AWS_REGION: s3.region,
  AWS_ENDPOINT_URL: s3.endpoint,
  AWS_ALLOW_HTTP: "true",
  NO_COLOR: "1"
}

const obstore = (...args: ReadonlyArray<string>) => {
  const result = spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8" })
  return { code: result.status, stdout: result.stdout, stderr: result.stderr }
}

const file = (...parts: ReadonlyArray<string>) => `file://${path.join(root, ...parts)}`

const write = (rel: string, content: string) => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true })
  fs.writeFileSync(path.join(root, rel), content)
}

describe("obstore CLI on local directories", () => {
  it("--help lists every command, on the root and on a subcommand", { timeout: 120_000 }, () => {
    const help = obstore("--help")
    assert.strictEqual(help.code, 0)
    for (const command of ["ls", "cat", "cp", "rm", "stat", "sign"]) assert.include(help.stdout, `- ${command} `)
    const cpHelp = obstore("cp", "--help")
    assert.strictEqual(cpHelp.code, 0)
    assert.include(cpHelp.stdout, "--recursive")
  })

  it("ls, cat, stat, cp -r, rm -r with their output", { timeout: 120_000 }, () => {
    write("src/a.txt", "hello\n")
    write("src/sub/b.txt", "world\n")
    const ls = obstore("ls", file("src"))
    assert.strictEqual(ls.code, 0, ls.stderr)
    assert.match(ls.stdout, /PRE sub\/\n.* 6 a\.txt\n$/)
    assert.strictEqual(obstore("cat", file("src", "a.txt")).stdout, "hello\n")
    assert.include(obstore("stat", file("src", "a.txt")).stdout, "size: 6 (6 B)")
    const cp = obstore("cp", "-r", file("src"), file("dst"))
    assert.strictEqual(cp.code, 0, cp.stderr)
    assert.include(cp.stdout, "2 objects: 2 transferred")
    assert.strictEqual(fs.readFileSync(path.join(root, "dst/sub/b.txt"), "utf8"), "world\n")
    // One object into a directory keeps its name.
    assert.strictEqual(obstore("cp", file("src", "a.txt"), file("one") + "/").code, 0)
    assert.strictEqual(fs.readFileSync(path.join(root, "one/a.txt"), "utf8"), "hello\n")
    const rm = obstore("rm", "-r", file("dst"))
    assert.strictEqual(rm.code, 0, rm.stderr)
    assert.include(rm.stdout, "deleted 2 objects")
    assert.isFalse(fs.existsSync(path.join(root, "dst/sub/b.txt")))
  })

  it("errors are one line on stderr with an exit code by tag", { timeout: 120_000 }, () => {
    const missing = obstore("cat", file("nothing-here"))
    assert.strictEqual(missing.code, 3)
    assert.strictEqual(missing.stdout, "")
    assert.match(missing.stderr, /^obstore: NotFound: LocalStore\.get "[^"]*nothing-here": object not found\n$/)
    const unsigned = obstore("sign", file("src", "a.txt"))
    assert.strictEqual(unsigned.code, 6)
    assert.match(unsigned.stderr, /^obstore: NotSupported: .*\n$/)
    const badUrl = obstore("ls", "ftp://example.com/x")
    assert.strictEqual(badUrl.code, 2)
    assert.strictEqual(badUrl.stderr.split("\n").filter((l) => l !== "").length, 1, badUrl.stderr)
    assert.strictEqual(obstore("cp", file("src")).code, 2, "a missing argument is a usage error")
  })

  it("a progress bar on a terminal, plain lines otherwise", { timeout: 120_000 }, () => {
    write("big/data.bin", "x".repeat(3 * 1024 * 1024))
    const command = [process.execPath, bin, "cp", "-r", file("big"), file("big-copy")]
      .map((a) => `'${a}'`).join(" ")
    // script(1) runs the command in a pseudo-terminal: stderr is a TTY there.
    const tty = execFileSync("script", ["-q", "-e", "-c", command, "/dev/null"], { env, encoding: "utf8" })
    assert.match(tty, /\[#{30}\] 100% 3\.0 MiB \/ 3\.0 MiB 1\/1 objects/)
    assert.notInclude(tty, "transferred big", "no per-object lines on a terminal")
    const plain = obstore("cp", "-r", "--no-skip", file("big"), file("big-copy2"))
    assert.notInclude(plain.stderr + plain.stdout, "[#")
    assert.match(plain.stdout, /^transferred .*data\.bin -> .*data\.bin \(3145728 bytes\)$/m)
  })
})

describe("obstore CLI on S3 (RGW)", () => {
  const prefix = `cli/${randomUUID()}`
  const bucketUrl = (rel: string) => `s3://${s3.bucket}/${prefix}/${rel}`

  it("cp local -> s3, ls, cat, stat, s3 -> s3 on the server, sign, rm -r", async () => {
    write("up/x.txt", "from disk\n")
    write("up/deep/y.txt", "deeper\n")
    const up = obstore("cp", "-r", file("up"), bucketUrl("up"))
    assert.strictEqual(up.code, 0, up.stderr)
    assert.include(up.stdout, "2 objects: 2 transferred")
    const ls = obstore("ls", bucketUrl("up") + "/")
    assert.strictEqual(ls.code, 0, ls.stderr)
    assert.match(ls.stdout, /PRE deep\/\n.* 10 x\.txt\n$/)
    assert.strictEqual(obstore("cat", bucketUrl("up/deep/y.txt")).stdout, "deeper\n")
    assert.include(obstore("stat", bucketUrl("up/x.txt")).stdout, "eTag: ")
    const copy = obstore("cp", "-r", bucketUrl("up"), bucketUrl("copy"))
    assert.strictEqual(copy.code, 0, copy.stderr)
    assert.include(copy.stdout, "2 copied on the server")
    const again = obstore("cp", "-r", bucketUrl("up"), bucketUrl("copy"))
    assert.include(again.stdout, "2 skipped")
    const signed = obstore("sign", bucketUrl("copy/x.txt"), "--expires", "60")
    assert.strictEqual(signed.code, 0, signed.stderr)
    const response = await fetch(signed.stdout.trim())
    assert.strictEqual(await response.text(), "from disk\n")
    const down = obstore("cp", bucketUrl("copy/deep/y.txt"), file("down") + "/")
    assert.strictEqual(down.code, 0, down.stderr)
    assert.strictEqual(fs.readFileSync(path.join(root, "down/y.txt"), "utf8"), "deeper\n")
    const rm = obstore("rm", "-r", bucketUrl(""))
    assert.strictEqual(rm.code, 0, rm.stderr)
    assert.strictEqual(obstore("cat", bucketUrl("copy/x.txt")).code, 3)
  }, 180_000)

  it("a wrong secret is Unauthenticated, exit code 4", { timeout: 120_000 }, () => {
    const result = spawnSync(process.execPath, [bin, "ls", `s3://${s3.bucket}/`], {
      env: { ...env, AWS_SECRET_ACCESS_KEY: "wrong" },
      encoding: "utf8"
    })
    assert.strictEqual(result.status, 4, result.stderr)
    assert.match(result.stderr, /^obstore: Unauthenticated: /)
  })
})
