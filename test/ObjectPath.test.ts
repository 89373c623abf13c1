import { assert, describe, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import * as ObjectPath from "effect-obstore/ObjectPath"
import * as fc from "fast-check"

const ok = (input: string): string => {
  const result = ObjectPath.parse(input)
  if (Either.isLeft(result)) return assert.fail(`${JSON.stringify(input)} was rejected: ${result.left.message}`)
  return result.right
}

const okPrefix = (input: string | undefined): string => {
  const result = ObjectPath.parsePrefix(input)
  if (Either.isLeft(result)) return assert.fail(`prefix ${JSON.stringify(input)} was rejected: ${result.left.message}`)
  return result.right
}

/** The accepted path, or null: plain values, because deep equality does not tell Option.none from Option.some. */
const accepted = (result: Either.Either<string, unknown>): string | null => Either.isRight(result) ? result.right : null

const rejected = (result: Either.Either<string, unknown>, input: string): void =>
  assert.isTrue(Either.isLeft(result), `${JSON.stringify(input)} was accepted`)

// ---------------------------------------------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------------------------------------------

const CONTROL = /[\u0000-\u001f\u007f]/

/** One valid segment: printable unicode and the characters URLs care about, never "/", ".", "..". */
const segment: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(
    fc.constantFrom(" ", "%", "+", "#", "?", "&", "=", ".", "-", "\\", "ü", "😀", "文", "\u0080", "\u00a0"),
    fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }),
    fc.string({ unit: "grapheme", minLength: 1, maxLength: 1 })
  ),
  minLength: 1,
  maxLength: 6
}).filter((s) => !s.includes("/") && s !== "." && s !== ".." && !CONTROL.test(s))

const segmentsArb = fc.array(segment, { minLength: 1, maxLength: 5 })
const validPath = segmentsArb.map((segments) => segments.join("/"))
/** A valid prefix: possibly empty. */
const validPrefix = fc.array(segment, { maxLength: 4 }).map((segments) => segments.join("/"))
const invalidSegment = fc.constantFrom("", ".", "..")
const control = fc.integer({ min: 0, max: 0x20 }).map((n) => String.fromCharCode(n === 0x20 ? 0x7f : n))

/** A lone surrogate: a high one, a low one, or a pair in the wrong order (a low one then a high one). */
const loneSurrogate = fc.oneof(
  fc.integer({ min: 0xd800, max: 0xdbff }).map((n) => String.fromCharCode(n)),
  fc.integer({ min: 0xdc00, max: 0xdfff }).map((n) => String.fromCharCode(n))
)

/** Whether a string has a UTF-8 form (what a filesystem and a URL need). */
const wellFormed = (s: string): boolean => {
  try {
    encodeURIComponent(s)
    return Buffer.from(s, "utf8").toString("utf8") === s
  } catch {
    return false
  }
}

const runs = { numRuns: 300 }

describe("ObjectPath", () => {
  describe("parse", () => {
    it("accepts valid paths unchanged", () => {
      for (const path of ["a", "a/b", "a/b/c.txt", "a b/c%20d", "ünïcödé/😀.txt", "a.b", "..a", "a..", "...", "-"]) {
        assert.strictEqual(ok(path), path)
      }
    })

    it("strips one leading and one trailing \"/\"", () => {
      assert.strictEqual(ok("/a/b"), "a/b")
      assert.strictEqual(ok("a/b/"), "a/b")
      assert.strictEqual(ok("/a/b/"), "a/b")
      assert.strictEqual(ok("/a/"), "a")
    })

    it("rejects the empty path, empty, \".\" and \"..\" segments and control characters", () => {
      const bad = [
        "",
        "/",
        "//",
        "//a",
        "a//",
        "a//b",
        "/a//b/",
        ".",
        "..",
        "./a",
        "a/.",
        "a/./b",
        "a/../b",
        "../a",
        "a/..",
        "/./",
        "a\u0000b",
        "a\u0001",
        "\u001f",
        "a\nb",
        "a\tb",
        "a\rb",
        "a\u007fb"
      ]
      for (const input of bad) rejected(ObjectPath.parse(input), input)
    })

    it("accepts characters next to the forbidden ranges", () => {
      assert.strictEqual(ok("a\u0020b"), "a b")
      assert.strictEqual(ok("a\u007eb"), "a~b")
      assert.strictEqual(ok("a\u0080b"), "a\u0080b")
    })

    it("fails with an InvalidPath naming the input, the context and the rule", () => {
      const result = ObjectPath.parse("a//b", { store: "TestStore", method: "get" })
      if (Either.isRight(result)) return assert.fail("accepted")
      const error = result.left
      assert.strictEqual(error._tag, "InvalidPath")
      assert.strictEqual(error.store, "TestStore")
      assert.strictEqual(error.method, "get")
      assert.strictEqual(error.path, "a//b")
      assert.include(error.message, "\"a//b\"")
      assert.include(error.message, "TestStore.get")
      assert.isString(error.description)
    })

    it("property: a valid path parses to itself, with or without one leading and one trailing \"/\"", () =>
      fc.assert(
        fc.property(validPath, fc.boolean(), fc.boolean(), (path, lead, trail) => {
          assert.strictEqual(ok(`${lead ? "/" : ""}${path}${trail ? "/" : ""}`), path)
        }),
        runs
      ))

    it("property: an empty, \".\" or \"..\" segment anywhere is rejected", () =>
      fc.assert(
        fc.property(segmentsArb, fc.nat(), invalidSegment, (segments, at, bad) => {
          const parts = [...segments]
          parts.splice(at % (parts.length + 1), 0, bad)
          const input = parts.join("/")
          // A "" at either end is a leading or trailing "/", which is stripped; one more makes it empty.
          const path = bad === "" ? `/${input}/` : input
          rejected(ObjectPath.parse(path), path)
        }),
        runs
      ))

    it("property: a control character anywhere is rejected", () =>
      fc.assert(
        fc.property(validPath, fc.nat(), control, (path, at, c) => {
          const i = at % (path.length + 1)
          const input = path.slice(0, i) + c + path.slice(i)
          rejected(ObjectPath.parse(input), input)
          rejected(ObjectPath.parsePrefix(input), input)
        }),
        runs
      ))

    it("rejects lone surrogates (no UTF-8 form) and accepts surrogate pairs", () => {
      for (const input of ["s\uD800", "\uDC00", "a/\uD800b", "\uDE00\uD83D", "a\uD83D/\uDE00", "😀\uDE00"]) {
        const result = ObjectPath.parse(input)
        rejected(result, input)
        if (Either.isLeft(result)) {
          assert.strictEqual(result.left._tag, "InvalidPath")
          assert.include(result.left.message, "well-formed")
        }
        rejected(ObjectPath.parsePrefix(input), input)
        assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(ObjectPath.ObjectPath)(input)), input)
      }
      // "s\uD800" and "s\uFFFD" would otherwise name one file on disk.
      assert.strictEqual(ok("s\uFFFD"), "s\uFFFD")
      assert.strictEqual(ok("\uD83D\uDE00"), "😀")
    })

    it("property: a lone surrogate anywhere is rejected", () =>
      fc.assert(
        fc.property(validPath, fc.nat(), loneSurrogate, (path, at, c) => {
          const i = at % (path.length + 1)
          const input = path.slice(0, i) + c + path.slice(i)
          rejected(ObjectPath.parse(input), input)
          rejected(ObjectPath.parsePrefix(input), input)
        }),
        runs
      ))

    it("property: whatever it accepts has a UTF-8 form, so no two accepted keys name one file", () =>
      fc.assert(
        fc.property(
          fc.string({
            unit: fc.constantFrom("a", "/", "\uD800", "\uDC00", "\uD83D", "\uDE00", "\uFFFD"),
            maxLength: 8
          }),
          (input) => {
            const result = ObjectPath.parse(input)
            if (Either.isRight(result)) assert.isTrue(wellFormed(result.right), JSON.stringify(input))
            else if (wellFormed(input) && !input.split("/").includes("")) {
              assert.fail(
                `${JSON.stringify(input)} was rejected`
              )
            }
          }
        ),
        { numRuns: 1000 }
      ))

    it("property: whatever it accepts follows the rules and parses to itself again", () =>
      fc.assert(
        fc.property(fc.string({ unit: fc.constantFrom("a", "/", ".", "\u0000", "ü"), maxLength: 12 }), (input) => {
          const result = ObjectPath.parse(input)
          if (Either.isLeft(result)) return
          const path = result.right
          assert.notStrictEqual(path, "")
          assert.isFalse(CONTROL.test(path))
          for (const s of path.split("/")) assert.notInclude(["", ".", ".."], s, `segment of ${JSON.stringify(path)}`)
          assert.strictEqual(ok(path), path)
        }),
        { numRuns: 2000 }
      ))
  })

  describe("parsePrefix", () => {
    it("allows the empty prefix", () => {
      assert.strictEqual(okPrefix(undefined), "")
      assert.strictEqual(okPrefix(""), "")
      assert.strictEqual(okPrefix("/"), "")
    })

    it("normalises like parse", () => {
      assert.strictEqual(okPrefix("a/b/"), "a/b")
      assert.strictEqual(okPrefix("/a"), "a")
    })

    it("rejects what parse rejects, except emptiness", () => {
      for (const input of ["a//b", ".", "..", "a/./b", "a/..", "a\u0000", "//a"]) {
        rejected(ObjectPath.parsePrefix(input), input)
      }
    })

    it("property: agrees with parse on every non-empty prefix", () =>
      fc.assert(
        fc.property(fc.string({ unit: fc.constantFrom("a", "/", ".", "\u0007"), maxLength: 8 }), (input) => {
          const path = ObjectPath.parse(input)
          const prefix = ObjectPath.parsePrefix(input)
          if (Either.isRight(prefix) && prefix.right === "") return
          assert.strictEqual(accepted(path), accepted(prefix), JSON.stringify(input))
        }),
        { numRuns: 1000 }
      ))
  })

  describe("join", () => {
    it("joins with \"/\" and skips empty parts", () => {
      assert.strictEqual(ObjectPath.join("a", "b/c"), "a/b/c")
      assert.strictEqual(ObjectPath.join("", "a", "", "b"), "a/b")
      assert.strictEqual(ObjectPath.join("a"), "a")
      assert.strictEqual(ObjectPath.join(), "")
      assert.strictEqual(ObjectPath.join("", ""), "")
    })

    it("property: the segments of a join are the segments of its parts", () =>
      fc.assert(
        fc.property(fc.array(validPrefix, { maxLength: 4 }), (parts) => {
          const joined = ObjectPath.join(...parts)
          assert.deepStrictEqual(ObjectPath.segments(joined), parts.flatMap((p) => ObjectPath.segments(p)))
          if (joined !== "") assert.strictEqual(ok(joined), joined)
        }),
        runs
      ))
  })

  describe("isUnder and relative", () => {
    it("match whole segments", () => {
      assert.isTrue(ObjectPath.isUnder("a/b", "a"))
      assert.isTrue(ObjectPath.isUnder("a/b/c", "a"))
      assert.isTrue(ObjectPath.isUnder("a/b/c", "a/b"))
      assert.isFalse(ObjectPath.isUnder("ab/c", "a"))
      assert.isFalse(ObjectPath.isUnder("ab", "a"))
      assert.isFalse(ObjectPath.isUnder("a/bc", "a/b"))
      assert.isFalse(ObjectPath.isUnder("b/a", "a"))
    })

    it("a path is not under itself; everything is under the empty prefix", () => {
      assert.isFalse(ObjectPath.isUnder("a", "a"))
      assert.isFalse(ObjectPath.isUnder("a/b", "a/b"))
      assert.isTrue(ObjectPath.isUnder("a", ""))
      assert.isTrue(ObjectPath.isUnder("a/b", ""))
    })

    it("relative gives the part below the prefix", () => {
      assert.strictEqual(ObjectPath.relative("a/b/c", "a"), "b/c")
      assert.strictEqual(ObjectPath.relative("a/b/c", "a/b"), "c")
      assert.strictEqual(ObjectPath.relative("a/b", ""), "a/b")
    })

    it("property: isUnder(path, prefix) iff the prefix's segments are a strict prefix of the path's", () =>
      fc.assert(
        fc.property(validPath, validPrefix, (path, prefix) => {
          const p = ObjectPath.segments(path)
          const q = ObjectPath.segments(prefix)
          const expected = q.length < p.length && q.every((s, i) => s === p[i])
          assert.strictEqual(ObjectPath.isUnder(path, prefix), expected)
        }),
        runs
      ))

    it("property: a join is under its prefix and relative undoes it", () =>
      fc.assert(
        fc.property(validPrefix, validPath, (prefix, rest) => {
          const path = ObjectPath.join(prefix, rest)
          assert.isTrue(ObjectPath.isUnder(path, prefix))
          assert.strictEqual(ObjectPath.relative(path, prefix), rest)
          assert.isFalse(ObjectPath.isUnder(path, path))
        }),
        runs
      ))

    it("property: a sibling sharing a string prefix is not under it", () =>
      fc.assert(
        fc.property(validPath, segment, (prefix, more) => {
          assert.isFalse(ObjectPath.isUnder(`${prefix}${more}`, prefix))
          assert.isFalse(ObjectPath.isUnder(`${prefix}${more}/x`, prefix))
        }),
        runs
      ))
  })

  describe("segments, filename and extension", () => {
    it("segments", () => {
      assert.deepStrictEqual(ObjectPath.segments(""), [])
      assert.deepStrictEqual(ObjectPath.segments("a"), ["a"])
      assert.deepStrictEqual(ObjectPath.segments("a/b/c"), ["a", "b", "c"])
    })

    it("filename is the last segment", () => {
      assert.strictEqual(ObjectPath.filename("a/b/c.txt"), "c.txt")
      assert.strictEqual(ObjectPath.filename("c.txt"), "c.txt")
      assert.strictEqual(ObjectPath.filename("dir.d/file"), "file")
    })

    it("extension is what follows the last dot of the filename", () => {
      assert.strictEqual(ObjectPath.extension("a/b.txt"), "txt")
      assert.strictEqual(ObjectPath.extension("a/b.tar.gz"), "gz")
      assert.strictEqual(ObjectPath.extension("b.TXT"), "TXT")
      assert.strictEqual(ObjectPath.extension("a.b/c"), undefined)
      assert.strictEqual(ObjectPath.extension("a/b"), undefined)
      assert.strictEqual(ObjectPath.extension("a/.bashrc"), undefined)
      assert.strictEqual(ObjectPath.extension("a/b."), undefined)
    })

    it("property: filename and extension of a joined path", () =>
      fc.assert(
        fc.property(
          validPrefix,
          segment.filter((s) => !s.startsWith(".")),
          segment.filter((s) => !s.includes(".")),
          (dir, base, ext) => {
            const name = `${base}.${ext}`
            const path = ObjectPath.join(dir, name)
            assert.strictEqual(ObjectPath.filename(path), name)
            assert.strictEqual(ObjectPath.extension(path), ext)
            assert.strictEqual(ObjectPath.filename(ObjectPath.join(dir, base)), base)
          }
        ),
        runs
      ))
  })

  describe("the ObjectPath schema", () => {
    it("decodes and normalises valid paths", () => {
      assert.strictEqual(Schema.decodeUnknownSync(ObjectPath.ObjectPath)("/a/b/"), "a/b")
      assert.strictEqual(Schema.decodeUnknownSync(ObjectPath.ObjectPath)("a/😀"), "a/😀")
    })

    it("rejects invalid paths", () => {
      for (const input of ["", "/", "a//b", "a/../b", "a\u0000", 42]) {
        assert.isTrue(Either.isLeft(Schema.decodeUnknownEither(ObjectPath.ObjectPath)(input)), JSON.stringify(input))
      }
    })

    it("property: agrees with parse", () =>
      fc.assert(
        fc.property(fc.string({ unit: fc.constantFrom("a", "/", ".", "\u0000"), maxLength: 8 }), (input) => {
          const decoded = Schema.decodeUnknownEither(ObjectPath.ObjectPath)(input)
          assert.strictEqual(accepted(decoded), accepted(ObjectPath.parse(input)), JSON.stringify(input))
        }),
        { numRuns: 1000 }
      ))
  })
})
