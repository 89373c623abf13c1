// Application code depends on ObjectStore only; a test swaps the real store for MemoryStore with one Layer.
// Run it with `npx tsx examples/test-layer.ts`.
import { Console, Effect, Schema } from "effect"
import { MemoryStore, ObjectStore } from "effect-obstore"

class Profile extends Schema.Class<Profile>("Profile")({ id: Schema.String, name: Schema.String }) {}

// --- application code -----------------------------------------------------------------------------------------

const saveProfile = (profile: Profile) =>
  ObjectStore.put(`profiles/${profile.id}.json`, JSON.stringify(Schema.encodeSync(Profile)(profile)), {
    attributes: { contentType: "application/json" }
  })

const loadProfile = (id: string) =>
  ObjectStore.get(`profiles/${id}.json`).pipe(
    Effect.flatMap((result) => result.text),
    Effect.flatMap(Schema.decode(Schema.parseJson(Profile))),
    // A missing profile is a normal outcome for the caller, not a failure.
    Effect.catchTag("NotFound", () => Effect.succeed(undefined))
  )

// --- the test ---------------------------------------------------------------------------------------------------

const test = Effect.gen(function*() {
  yield* saveProfile(new Profile({ id: "42", name: "Ada" }))
  const found = yield* loadProfile("42")
  const missing = yield* loadProfile("7")
  if (found?.name !== "Ada") return yield* Effect.dieMessage(`expected Ada, got ${String(found?.name)}`)
  if (missing !== undefined) return yield* Effect.dieMessage("expected no profile 7")
  yield* Console.log("profile round trip on MemoryStore: ok")
})

Effect.runPromise(test.pipe(Effect.provide(MemoryStore.layer))).catch((error) => {
  console.error(error)
  process.exit(1)
})
