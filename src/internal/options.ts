// Checks of the per-call options a store cannot honour whatever the data (a part size of 0, a mode that is not one,
// a negative coalesce), run by `make` before any I/O so that every store answers them the same way: InvalidConfig.
// A store with limits of its own (S3's part sizes) declares them in its backend record.
import type { PutOptions } from "../ObjectStore.js"

/** Part sizes a store accepts for multipart uploads. */
export interface Limits {
  readonly minPartSize: number
  readonly maxPartSize: number
}

export const NO_LIMITS: Limits = { minPartSize: 1, maxPartSize: Number.MAX_SAFE_INTEGER }

/** What is wrong, as InvalidConfig's fields. */
export interface Problem {
  readonly field: string
  readonly description: string
}

const show = (u: unknown): string => typeof u === "string" ? JSON.stringify(u) : String(u)

const bytes = (n: number): string =>
  n % 1024 ** 3 === 0 ? `${n / 1024 ** 3} GiB` : n % 1024 ** 2 === 0 ? `${n / 1024 ** 2} MiB` : `${n} bytes`

const isPositiveInteger = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 1

const modeProblem = (mode: unknown): Problem | undefined => {
  if (mode === undefined || mode === "overwrite" || mode === "create") return undefined
  if (typeof mode !== "object" || mode === null) {
    return {
      field: "mode",
      description: `expected "overwrite", "create" or { eTag, version }, got ${show(mode)}`
    }
  }
  const { eTag, version } = mode as { readonly eTag?: unknown; readonly version?: unknown }
  if (eTag !== undefined && typeof eTag !== "string") {
    return { field: "mode.eTag", description: `expected a string, got ${show(eTag)}` }
  }
  if (version !== undefined && typeof version !== "string") {
    return { field: "mode.version", description: `expected a string, got ${show(version)}` }
  }
  // An update with nothing to compare would overwrite whatever is there: that is "overwrite", said by mistake.
  return eTag === undefined && version === undefined
    ? { field: "mode", description: "an update names the eTag or version it expects; neither was given" }
    : undefined
}

const multipartProblem = (multipart: unknown, limits: Limits): Problem | undefined => {
  if (multipart === undefined || typeof multipart === "boolean") return undefined
  if (typeof multipart !== "object" || multipart === null) {
    return {
      field: "multipart",
      description: `expected a boolean or { partSize, concurrency }, got ${show(multipart)}`
    }
  }
  const { concurrency, partSize } = multipart as { readonly partSize?: unknown; readonly concurrency?: unknown }
  if (
    partSize !== undefined &&
    (!isPositiveInteger(partSize) || partSize < limits.minPartSize || partSize > limits.maxPartSize)
  ) {
    const range = limits === NO_LIMITS
      ? "a positive whole number of bytes"
      : `a whole number of bytes from ${bytes(limits.minPartSize)} to ${bytes(limits.maxPartSize)}`
    return { field: "multipart.partSize", description: `must be ${range}, got ${show(partSize)}` }
  }
  if (concurrency !== undefined && !isPositiveInteger(concurrency)) {
    return { field: "multipart.concurrency", description: `must be a positive integer, got ${show(concurrency)}` }
  }
  return undefined
}

/** What is wrong with the options of a put, if anything. */
export const putProblem = (options: PutOptions, limits: Limits): Problem | undefined =>
  modeProblem(options.mode) ?? multipartProblem(options.multipart, limits)

/** What is wrong with getRanges' coalesce, if anything. */
export const coalesceProblem = (coalesce: unknown): Problem | undefined =>
  coalesce === undefined || (typeof coalesce === "number" && Number.isSafeInteger(coalesce) && coalesce >= 0)
    ? undefined
    : { field: "coalesce", description: `must be a whole number of bytes, 0 or more, got ${show(coalesce)}` }
