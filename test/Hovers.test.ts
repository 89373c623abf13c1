// What an editor shows on hover: every option a user types into a store's layer, a put or a get, and every method of
// the service, has documentation. Asked of the TypeScript language service (what editors run) over the project's
// tsconfig, at the places a user's cursor would be.
import { assert, describe, it } from "@effect/vitest"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
// Not on disk: the language service reads it from memory.
const probeFile = path.join(root, "test", "hover-probe.ts")

const parsed = ts.getParsedCommandLineOfConfigFile(path.join(root, "tsconfig.json"), {}, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
    throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
  }
})
if (parsed === undefined) throw new Error("cannot read tsconfig.json")

let probe = ""
let version = 0
const service = ts.createLanguageService({
  // The probe imports the package through tsconfig's paths; the modules it reaches are loaded from there.
  getScriptFileNames: () => [probeFile],
  getScriptVersion: (file) => file === probeFile ? String(version) : "0",
  getScriptSnapshot: (file) => {
    const text = file === probeFile ? probe : ts.sys.readFile(file)
    return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text)
  },
  getCurrentDirectory: () => root,
  getCompilationSettings: () => parsed.options,
  getDefaultLibFileName: ts.getDefaultLibFilePath,
  fileExists: (file) => file === probeFile || ts.sys.fileExists(file),
  readFile: (file) => file === probeFile ? probe : ts.sys.readFile(file),
  readDirectory: ts.sys.readDirectory,
  directoryExists: ts.sys.directoryExists,
  getDirectories: ts.sys.getDirectories
})

const MARK = "/*@*/"

const setProbe = (text: string) => {
  probe = text
  version++
}

/** The quick info (signature, documentation) at every `/*@*\/` mark of the probe, by the word after the mark. */
const hovers = (text: string) => {
  setProbe(text)
  const errors = service.getSemanticDiagnostics(probeFile).concat(service.getSyntacticDiagnostics(probeFile))
  assert.deepStrictEqual(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")), [], "probe compiles")
  const found: Array<{ readonly name: string; readonly signature: string; readonly documentation: string }> = []
  let at = text.indexOf(MARK)
  while (at >= 0) {
    const start = at + MARK.length
    const name = /^\w+/.exec(text.slice(start))![0]
    const info = service.getQuickInfoAtPosition(probeFile, start)
    found.push({
      name,
      signature: info === undefined ? "" : ts.displayPartsToString(info.displayParts),
      documentation: info === undefined ? "" : ts.displayPartsToString(info.documentation).trim()
    })
    at = text.indexOf(MARK, start)
  }
  return found
}

/** The property names of an exported interface or type of a source module, as the checker sees them. */
const propertiesOf = (module: string, name: string): ReadonlyArray<string> => {
  setProbe(`import type { ${module} } from "effect-obstore"\n`)
  const program = service.getProgram()!
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(path.join(root, "src", `${module}.ts`))!
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).find((s) => s.name === name)
  assert.isDefined(exported, `${module}.${name} is exported`)
  return checker.getDeclaredTypeOfSymbol(exported!).getProperties().map((p) => p.name)
}

/** An object literal with every property marked; `null!` fits any property's type. */
const literal = (names: ReadonlyArray<string>, inner: Readonly<Record<string, string>> = {}) =>
  `{ ${names.map((n) => `${MARK}${n}: ${inner[n] ?? "null!"}`).join(", ")} }`

const assertDocumented = (found: ReturnType<typeof hovers>, expected: ReadonlyArray<string>) => {
  assert.deepStrictEqual(found.map((f) => f.name), [...expected], "every mark was probed")
  const bare = found.filter((f) => f.documentation.length === 0).map((f) => `${f.name}: ${f.signature}`)
  assert.deepStrictEqual(bare, [], "properties without documentation on hover")
}

describe("editor hovers", () => {
  it(
    "every field of S3Store.layer({ ... }), its client and retry options, has documentation",
    { timeout: 180_000 },
    () => {
      const s3 = propertiesOf("S3Store", "S3Options")
      const client = propertiesOf("ClientConfig", "ClientOptions")
      const retry = propertiesOf("RetryConfig", "RetryOptions")
      // The checks below would pass on an empty list.
      assert.includeMembers([...s3], ["bucket", "endpoint", "secretAccessKey", "conditionalPut", "client", "retry"])
      assert.includeMembers([...client], ["timeout", "allowHttp", "poolMaxConnections"])
      assert.includeMembers([...retry], ["maxRetries", "initBackoff"])
      const found = hovers(`import { S3Store } from "effect-obstore"
S3Store.layer(${literal(s3, { client: literal(client), retry: literal(retry) })})
`)
      // The nested literals come where `client` and `retry` are written.
      const order = s3.flatMap((n) => n === "client" ? [n, ...client] : n === "retry" ? [n, ...retry] : [n])
      assertDocumented(found, order)
      const bucket = found.find((f) => f.name === "bucket")!
      assert.include(bucket.documentation, "3 to 63 characters")
      assert.include(found.find((f) => f.name === "allowHttp")!.documentation, "http://")
    }
  )

  it("every field of LocalStore.layer({ ... }) has documentation", { timeout: 120_000 }, () => {
    const local = propertiesOf("LocalStore", "LocalOptions")
    assert.sameMembers([...local], ["root", "mkdir", "automaticCleanup"])
    const found = hovers(`import { LocalStore } from "effect-obstore"
LocalStore.layer(${literal(local)})
`)
    assertDocumented(found, local)
    assert.include(found[0].documentation, "directory holding the objects")
  })

  it("every method of ObjectStore.Service and of a role's tag has documentation", { timeout: 120_000 }, () => {
    const methods = propertiesOf("ObjectStore", "Accessors")
    assert.includeMembers([...methods], ["get", "put", "list", "copy", "delete"])
    const found = hovers(`import { Effect } from "effect"
import { ObjectStore } from "effect-obstore"
Effect.map(ObjectStore.ObjectStore, (store) => [${methods.map((m) => `store.${MARK}${m}`).join(", ")}])
class Archive extends ObjectStore.Tag("app/Archive")<Archive>() {}
export const statics = [${methods.map((m) => `Archive.${MARK}${m}`).join(", ")}]
`)
    assertDocumented(found, [...methods, ...methods])
    assert.include(found.find((f) => f.name === "put")!.documentation, "partial object")
  })

  it("every field of the options of put, get, copy, list and getRanges has documentation", { timeout: 120_000 }, () => {
    const put = propertiesOf("ObjectStore", "PutOptions")
    const attributes = propertiesOf("ObjectStore", "Attributes")
    const multipart = propertiesOf("ObjectStore", "MultipartOptions")
    const get = propertiesOf("ObjectStore", "GetOptions")
    const copy = propertiesOf("ObjectStore", "CopyOptions")
    const list = propertiesOf("ObjectStore", "ListOptions")
    const ranges = propertiesOf("ObjectStore", "GetRangesOptions")
    assert.includeMembers([...put], ["mode", "attributes", "tags", "multipart"])
    const found = hovers(`import { ObjectStore } from "effect-obstore"
ObjectStore.put("a", "b", ${literal(put, { attributes: literal(attributes), multipart: literal(multipart) })})
ObjectStore.get("a", ${literal(get)})
ObjectStore.copy("a", "b", ${literal(copy)})
ObjectStore.list("a", ${literal(list)})
ObjectStore.getRanges("a", [], ${literal(ranges)})
`)
    const order = [
      ...put.flatMap((n) => n === "attributes" ? [n, ...attributes] : n === "multipart" ? [n, ...multipart] : [n]),
      ...get,
      ...copy,
      ...list,
      ...ranges
    ]
    assertDocumented(found, order)
    assert.include(found.find((f) => f.name === "mode")!.documentation, "AlreadyExists")
  })

  it("a field without JSDoc is reported (the check can fail)", { timeout: 120_000 }, () => {
    const found = hovers(`const f = (options: { readonly bare?: number }) => options
f(${literal(["bare"])})
`)
    assert.strictEqual(found.length, 1)
    assert.strictEqual(found[0].documentation, "")
    assert.include(found[0].signature, "bare")
  })
})
