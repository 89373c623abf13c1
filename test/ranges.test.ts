import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as ranges from "effect-obstore/internal/ranges"
import type { ByteRange, ResolvedRange } from "effect-obstore/ObjectStore"
import * as fc from "fast-check"

const resolved = (range: ByteRange, size: number): ResolvedRange | string => {
  const result = ranges.resolve(range, size)
  return Either.isRight(result) ? result.right : `Left: ${result.left}`
}

/** What a range means, written independently of the module: the byte indices it selects from `size` bytes. */
const expectedSlice = (range: ByteRange, size: number): readonly [number, number] => {
  if ("suffix" in range) return [Math.max(0, size - range.suffix), size]
  if ("offset" in range) {
    return [range.offset, range.length === undefined ? size : Math.min(size, range.offset + range.length)]
  }
  return [range.start, Math.min(size, range.end)]
}

const startOf = (range: ByteRange, size: number): number => "suffix" in range ? 0 : expectedSlice(range, size)[0]

// ---------------------------------------------------------------------------------------------------------------
// arbitraries
// ---------------------------------------------------------------------------------------------------------------

const count = fc.nat({ max: 300 })
const positive = fc.integer({ min: 1, max: 300 })
const validRange: fc.Arbitrary<ByteRange> = fc.oneof(
  fc.tuple(count, positive).map(([start, length]) => ({ start, end: start + length })),
  count.map((offset) => ({ offset })),
  fc.tuple(count, positive).map(([offset, length]) => ({ offset, length })),
  positive.map((suffix) => ({ suffix }))
)
const bounded: fc.Arbitrary<ranges.Bounded> = fc.tuple(fc.nat({ max: 1000 }), fc.integer({ min: 1, max: 120 })).map((
  [start, length]
) => ({ start, end: start + length }))
const runs = { numRuns: 500 }

describe("ranges", () => {
  describe("problem", () => {
    it("accepts well-formed ranges", () => {
      const good: ReadonlyArray<ByteRange> = [
        { start: 0, end: 1 },
        { start: 5, end: 200 },
        { offset: 0 },
        { offset: 90 },
        { offset: 10, length: 5 },
        { suffix: 10 },
        { start: 0, end: Number.MAX_SAFE_INTEGER }
      ]
      for (const range of good) assert.isUndefined(ranges.problem(range), JSON.stringify(range))
    })

    it("rejects malformed ranges with a reason", () => {
      const bad: ReadonlyArray<ByteRange> = [
        { start: 5, end: 5 },
        { start: 5, end: 2 },
        { start: -1, end: 3 },
        { start: 1.5, end: 3 },
        { start: 0, end: 2.5 },
        { start: Number.NaN, end: 3 },
        { start: 0, end: Number.POSITIVE_INFINITY },
        { start: 0, end: Number.MAX_SAFE_INTEGER + 2 },
        { suffix: -1 },
        { suffix: 0 },
        { suffix: 1.5 },
        { suffix: Number.NaN },
        { offset: -1 },
        { offset: 0.5 },
        { offset: 0, length: 0 },
        { offset: 0, length: -1 },
        { offset: 0, length: 1.5 }
      ]
      for (const range of bad) assert.isString(ranges.problem(range), JSON.stringify(range))
    })

    it("rejects values of the wrong type from untyped callers", () => {
      const bad = [{ start: "0", end: 5 }, { offset: null }, { suffix: "10" }] as unknown as ReadonlyArray<ByteRange>
      for (const range of bad) assert.isString(ranges.problem(range), JSON.stringify(range))
    })

    it("property: a range of non-negative integers with end > start is well formed", () =>
      fc.assert(fc.property(validRange, (range) => assert.isUndefined(ranges.problem(range))), runs))
  })

  describe("resolve", () => {
    it("resolves against a 100-byte object", () => {
      assert.deepStrictEqual(resolved({ start: 0, end: 5 }, 100), { start: 0, end: 5 })
      assert.deepStrictEqual(resolved({ offset: 90 }, 100), { start: 90, end: 100 })
      assert.deepStrictEqual(resolved({ offset: 10, length: 5 }, 100), { start: 10, end: 15 })
      assert.deepStrictEqual(resolved({ suffix: 10 }, 100), { start: 90, end: 100 })
      assert.deepStrictEqual(resolved({ suffix: 1000 }, 100), { start: 0, end: 100 })
      assert.deepStrictEqual(resolved({ start: 95, end: 200 }, 100), { start: 95, end: 100 })
      assert.deepStrictEqual(resolved({ offset: 95, length: 50 }, 100), { start: 95, end: 100 })
      assert.deepStrictEqual(resolved({ start: 99, end: 100 }, 100), { start: 99, end: 100 })
    })

    it("fails when the range starts at or past the end", () => {
      for (const range of [{ start: 100, end: 110 }, { offset: 100 }, { offset: 150, length: 1 }]) {
        const result = ranges.resolve(range, 100)
        assert.isTrue(Either.isLeft(result), JSON.stringify(range))
      }
    })

    it("fails for a bounded or offset range of an empty object", () => {
      assert.isTrue(Either.isLeft(ranges.resolve({ start: 0, end: 1 }, 0)))
      assert.isTrue(Either.isLeft(ranges.resolve({ offset: 0 }, 0)))
    })

    it("property: the resolved range lies within the object and selects what the range means", () =>
      fc.assert(
        fc.property(validRange, fc.nat({ max: 400 }), (range, size) => {
          // A suffix of an empty object is left out: see the conformance suite's empty-object tests.
          if ("suffix" in range && size === 0) return
          const result = ranges.resolve(range, size)
          const start = startOf(range, size)
          if (!("suffix" in range) && start >= size) {
            assert.isTrue(Either.isLeft(result), "unsatisfiable")
            return
          }
          if (Either.isLeft(result)) return assert.fail(result.left)
          const [from, to] = expectedSlice(range, size)
          assert.deepStrictEqual(result.right, { start: from, end: to })
          assert.isAtLeast(result.right.start, 0)
          assert.isAtMost(result.right.start, result.right.end)
          assert.isAtMost(result.right.end, size)
        }),
        runs
      ))
  })

  describe("bounds", () => {
    it("gives the absolute start and exclusive end", () => {
      assert.deepStrictEqual(ranges.bounds({ start: 3, end: 7 }), { start: 3, end: 7 })
      assert.deepStrictEqual(ranges.bounds({ offset: 3, length: 4 }), { start: 3, end: 7 })
      assert.deepStrictEqual(ranges.bounds({ offset: 3 }), { start: 3, end: undefined })
      assert.strictEqual(ranges.bounds({ suffix: 3 }).end, undefined)
    })
  })

  describe("coalesce", () => {
    it("merges overlapping, adjacent and near ranges, keeping each input's owner", () => {
      const input = [{ start: 50, end: 60 }, { start: 0, end: 10 }, { start: 5, end: 15 }, { start: 15, end: 20 }]
      const { merged, owner } = ranges.coalesce(input, 0)
      assert.deepStrictEqual(merged, [{ start: 0, end: 20 }, { start: 50, end: 60 }])
      assert.deepStrictEqual(owner, [1, 0, 0, 0])
    })

    it("keeps ranges apart when the gap is larger than coalesce, merges them when it is not", () => {
      const input = [{ start: 0, end: 10 }, { start: 15, end: 20 }]
      assert.deepStrictEqual(ranges.coalesce(input, 4).merged, input)
      assert.deepStrictEqual(ranges.coalesce(input, 5).merged, [{ start: 0, end: 20 }])
    })

    it("a range inside another leaves the outer one as it is", () => {
      const { merged, owner } = ranges.coalesce([{ start: 0, end: 100 }, { start: 10, end: 20 }], 0)
      assert.deepStrictEqual(merged, [{ start: 0, end: 100 }])
      assert.deepStrictEqual(owner, [0, 0])
    })

    it("no ranges give nothing", () => {
      assert.deepStrictEqual(ranges.coalesce([], 1024), { merged: [], owner: [] })
    })

    it("does not modify its input", () => {
      const input = [{ start: 10, end: 20 }, { start: 0, end: 15 }]
      ranges.coalesce(input, 0)
      assert.deepStrictEqual(input, [{ start: 10, end: 20 }, { start: 0, end: 15 }])
    })

    const property = (
      check: (input: ReadonlyArray<ranges.Bounded>, gap: number, result: ReturnType<typeof ranges.coalesce>) => void
    ) =>
      fc.assert(
        fc.property(fc.array(bounded, { maxLength: 20 }), fc.nat({ max: 200 }), (input, gap) =>
          check(input, gap, ranges.coalesce(input, gap))),
        runs
      )

    it("property: every input range lies inside its merged range", () =>
      property((input, _gap, { merged, owner }) => {
        assert.strictEqual(owner.length, input.length)
        input.forEach((r, i) => {
          const m = merged[owner[i]]
          assert.isDefined(m, `owner of range ${i}`)
          assert.isTrue(m.start <= r.start && r.end <= m.end, `${JSON.stringify(r)} in ${JSON.stringify(m)}`)
        })
      }))

    it("property: merged ranges are sorted, disjoint and further apart than coalesce", () =>
      property((_input, gap, { merged }) => {
        for (let k = 0; k + 1 < merged.length; k++) {
          assert.isAbove(merged[k + 1].start - merged[k].end, gap, JSON.stringify(merged))
        }
      }))

    it("property: merged ranges are tight: each spans exactly the ranges it holds", () =>
      property((input, _gap, { merged, owner }) => {
        merged.forEach((m, k) => {
          const held = input.filter((_, i) => owner[i] === k)
          assert.isNotEmpty(held, `merged range ${k} holds a range`)
          assert.strictEqual(m.start, Math.min(...held.map((r) => r.start)))
          assert.strictEqual(m.end, Math.max(...held.map((r) => r.end)))
        })
      }))

    it("property: slicing the merged data gives the same bytes as slicing the whole data", () =>
      fc.assert(
        fc.property(
          fc.array(bounded, { maxLength: 20 }),
          fc.nat({ max: 200 }),
          fc.uint8Array({ minLength: 1200, maxLength: 1200 }),
          (input, gap, data) => {
            const { merged, owner } = ranges.coalesce(input, gap)
            const fetched = merged.map((m) => data.slice(m.start, m.end))
            input.forEach((r, i) => {
              const m = merged[owner[i]]
              const slice = fetched[owner[i]].subarray(r.start - m.start, r.end - m.start)
              assert.deepStrictEqual(Array.from(slice), Array.from(data.slice(r.start, r.end)))
            })
          }
        ),
        { numRuns: 200 }
      ))

    it("property: with coalesce 0, ranges that neither overlap nor touch stay apart", () =>
      fc.assert(
        fc.property(fc.uniqueArray(fc.nat({ max: 100 }), { maxLength: 20 }), (starts) => {
          // Unit ranges two bytes apart: none of them touch.
          const input = starts.map((s) => ({ start: s * 2, end: s * 2 + 1 }))
          assert.strictEqual(ranges.coalesce(input, 0).merged.length, input.length)
        }),
        runs
      ))
  })
})
