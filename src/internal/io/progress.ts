// Progress of put, get and copy, for `onProgress` options. Only called when a caller passed a callback: the
// operations without one take their usual path untouched.
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { Backend, GetResult, Progress, PutOptions, PutPayload, PutResult } from "../../ObjectStore.js"
import type { CopyError, PutError } from "../../ObjectStoreError.js"
import { makeGetResult } from "../objectStore.js"
import * as payloads from "../payload.js"

type Report = (progress: Progress) => void

/** A put that reports progress: by the backend's acknowledged parts where it can, else by the payload handed over. */
export const put = <E>(
  backend: Backend,
  path: string,
  payload: PutPayload<E>,
  options: PutOptions,
  report: Report
): Effect.Effect<PutResult, PutError | E> => {
  const chunks = payloads.inMemory(payload)
  const known = chunks === undefined ? undefined : payloads.byteLength(chunks)
  let done = 0
  const finish = Effect.sync(() => report({ done: known ?? done, total: known ?? done }))
  if (backend.putProgress === true) {
    const onProgress: Report = (p) => {
      done = p.done
      report({ done: p.done, total: p.total ?? known })
    }
    return Effect.zipLeft(
      Effect.zipRight(
        Effect.sync(() => report({ done: 0, total: known })),
        backend.put(path, payload, { ...options, onProgress })
      ),
      finish
    )
  }
  const { onProgress: _, ...rest } = options
  const counted: PutPayload<E | never> = chunks !== undefined
    ? payload
    : (payloads.stream(payload, { store: backend.name, method: "put", path }).pipe(
      Stream.mapChunks((c) => {
        for (const chunk of c) done += chunk.byteLength
        report({ done, total: undefined })
        return c
      })
    ) as PutPayload<E>)
  return Effect.zipLeft(
    Effect.zipRight(Effect.sync(() => report({ done: 0, total: known })), backend.put(path, counted, rest)),
    finish
  )
}

/** The same result, with a body that reports the bytes read. */
export const get = (result: GetResult, report: Report): GetResult => {
  const total = result.range.end - result.range.start
  return makeGetResult({
    meta: result.meta,
    range: result.range,
    attributes: result.attributes,
    stream: Stream.suspend(() => {
      let done = 0
      return Stream.mapChunks(result.stream, (c) => {
        for (const chunk of c) done += chunk.byteLength
        report({ done, total })
        return c
      })
    })
  })
}

/** A copy that reports 0 before and the size after (asking the size first). */
export const copy = (
  backend: Backend,
  from: string,
  to: string,
  overwrite: boolean,
  report: Report
): Effect.Effect<void, CopyError> =>
  Effect.flatMap(backend.head(from), (meta) => {
    report({ done: 0, total: meta.size })
    return Effect.tap(backend.copy(from, to, { overwrite }), () => report({ done: meta.size, total: meta.size }))
  })
