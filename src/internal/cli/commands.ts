// The subcommands of `obstore`, each a small function over the stores its URLs name.
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as ObjectPath from "../../ObjectPath.js"
import type { ObjectMeta } from "../../ObjectStore.js"
import { NotSupported } from "../../ObjectStoreError.js"
import * as Transfer from "../../Transfer.js"
import * as NodeStreams from "../io/nodeStreams.js"
import { DEFAULT_CONCURRENCY } from "../io/transfer.js"
import { open } from "./location.js"
import { human, progressBar } from "./output.js"

const url = Args.text({ name: "url" })
const recursive = Options.boolean("recursive").pipe(
  Options.withAlias("r"),
  Options.withDescription("every object under the path (a prefix)")
)

const line = (meta: ObjectMeta, name: string) =>
  `${meta.lastModified.toISOString()} ${String(meta.size).padStart(12)} ${name}`

export const ls = Command.make("ls", { url, recursive }, ({ recursive, url }) =>
  Effect.scoped(Effect.gen(function*() {
    const at = yield* open(url)
    if (recursive) {
      yield* Stream.runForEach(at.store.list(at.path), (meta) => Console.log(line(meta, meta.path)))
      return
    }
    const listing = yield* at.store.listWithDelimiter(at.path)
    if (listing.objects.length === 0 && listing.commonPrefixes.length === 0 && at.path !== "") {
      // Not a directory: the object itself, as `ls file` does.
      const meta = yield* at.store.head(at.path)
      return yield* Console.log(line(meta, meta.path))
    }
    for (const prefix of listing.commonPrefixes) {
      yield* Console.log(`${"PRE".padStart(37)} ${ObjectPath.relative(prefix, at.path)}/`)
    }
    for (const meta of listing.objects) yield* Console.log(line(meta, ObjectPath.relative(meta.path, at.path)))
  }))).pipe(Command.withDescription("List the objects and directories under a URL (all of them with -r)."))

export const cat = Command.make("cat", { url }, ({ url }) =>
  Effect.scoped(Effect.gen(function*() {
    const at = yield* open(url)
    const result = yield* at.store.get(at.path)
    yield* NodeStreams.writeTo(result, process.stdout, { end: false })
  }))).pipe(Command.withDescription("Write an object's bytes to standard output."))

export const stat = Command.make("stat", { url }, ({ url }) =>
  Effect.scoped(Effect.gen(function*() {
    const at = yield* open(url)
    const result = yield* at.store.get(at.path, { head: true })
    const { meta, attributes } = result
    const rows: Array<[string, string | undefined]> = [
      ["path", meta.path],
      ["size", `${meta.size} (${human(meta.size)})`],
      ["lastModified", meta.lastModified.toISOString()],
      ["eTag", meta.eTag],
      ["version", meta.version],
      ["contentType", attributes.contentType],
      ["contentEncoding", attributes.contentEncoding],
      ["cacheControl", attributes.cacheControl],
      ["storageClass", attributes.storageClass]
    ]
    for (const [key, value] of rows) if (value !== undefined) yield* Console.log(`${key}: ${value}`)
    for (const [key, value] of Object.entries(attributes.metadata ?? {})) {
      yield* Console.log(`metadata.${key}: ${value}`)
    }
  }))).pipe(Command.withDescription("Print an object's metadata and attributes."))

export const rm = Command.make("rm", { url, recursive }, ({ recursive, url }) =>
  Effect.scoped(Effect.gen(function*() {
    const at = yield* open(url)
    if (!recursive) {
      yield* at.store.head(at.path)
      yield* at.store.delete(at.path)
      return yield* Console.log(`deleted ${url}`)
    }
    const paths = Chunk.toReadonlyArray(yield* Stream.runCollect(Stream.map(at.store.list(at.path), (m) => m.path)))
    yield* at.store.delete(paths)
    yield* Console.log(`deleted ${paths.length} objects under ${url}`)
  }))).pipe(Command.withDescription("Delete an object (every object under a prefix with -r)."))

const method = Options.choice("method", ["GET", "PUT", "HEAD", "DELETE"]).pipe(
  Options.withDefault("GET" as const),
  Options.withDescription("the HTTP method the URL grants")
)
const expires = Options.integer("expires").pipe(
  Options.withDefault(3600),
  Options.withDescription("seconds the URL is valid")
)

export const sign = Command.make(
  "sign",
  { url, method, expires },
  ({ expires, method, url }) =>
    Effect.scoped(Effect.gen(function*() {
      const at = yield* open(url)
      if (at.s3 === undefined) {
        return yield* Effect.fail(
          new NotSupported({ store: at.store.name, method: "sign", path: at.path, description: "only S3 URLs sign" })
        )
      }
      const signed = yield* at.s3.signer.sign(method, at.path, `${expires} seconds`)
      yield* Console.log(signed.toString())
    }))
).pipe(Command.withDescription("Print a presigned HTTPS URL for an object of an S3 store."))

const concurrency = Options.integer("concurrency").pipe(
  Options.withAlias("j"),
  Options.withDefault(DEFAULT_CONCURRENCY),
  Options.withDescription("objects copied at once")
)
const quiet = Options.boolean("quiet").pipe(Options.withAlias("q"), Options.withDescription("print only the summary"))
const noSkip = Options.boolean("no-skip").pipe(
  Options.withDescription("copy objects that are already identical at the destination too")
)

export const cp = Command.make(
  "cp",
  {
    source: Args.text({ name: "source" }),
    target: Args.text({ name: "target" }),
    recursive,
    concurrency,
    quiet,
    noSkip
  },
  (args) =>
    Effect.scoped(Effect.gen(function*() {
      const from = yield* open(args.source)
      const to = yield* open(args.target)
      // A single object into a directory keeps its name, as `cp file dir/` does.
      const target = !args.recursive && (to.directory || to.path === "")
        ? ObjectPath.join(to.path, ObjectPath.filename(from.path))
        : to.path
      const tty = process.stderr.isTTY === true && !args.quiet
      const bar = tty ? progressBar(process.stderr) : undefined
      let last: Transfer.TransferProgress | undefined
      const summary = yield* Transfer.transfer(
        { store: from.s3 ?? from.store, path: from.path },
        { store: to.s3 ?? to.store, path: target },
        {
          recursive: args.recursive,
          concurrency: args.concurrency,
          skipIdentical: !args.noSkip,
          onProgress: bar === undefined ? undefined : (p) => {
            last = p
            bar.update(p)
          },
          onObject: tty || args.quiet ? undefined : (item) => {
            process.stdout.write(`${item.action} ${item.from} -> ${item.to} (${item.size} bytes)\n`)
          }
        }
      )
      bar?.finish(last)
      yield* Console.log(
        `${summary.objects} objects: ${summary.transferred} transferred, ${summary.copied} copied on the server, ` +
          `${summary.skipped} skipped; ${human(summary.bytes)}`
      )
    }))
).pipe(Command.withDescription("Copy an object (every object under a prefix with -r) from any URL to any URL."))
