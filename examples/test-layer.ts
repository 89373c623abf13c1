// Application code depends on ObjectStore only; a test swaps the real store for MemoryStore with one Layer, and
// with a capability profile the test store refuses what the production store would refuse.
// Run it with `npx tsx examples/test-layer.ts`.
import { Console, Effect, Layer, Schema } from "effect"
import { Capabilities, MemoryStore, ObjectStore } from "effect-obstore"

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
})

// --- the same test, refusing what production refuses -------------------------------------------------------------

// MemoryStore accepts everything, so a test on it can pass where production fails. `Capabilities.layer(profile)`
// makes the test store refuse what the production store refuses, with the same `NotSupported` error, before
// anything is written.
const testStoreLike = (profile: Capabilities.Capabilities) =>
  Capabilities.layer(profile).pipe(Layer.provide(MemoryStore.layer))

// Deployed on S3 (here a Ceph RADOS Gateway), the test passes: S3 stores the content type.
const onS3 = test.pipe(
  Effect.provide(testStoreLike(Capabilities.s3Rgw)),
  Effect.zipRight(Console.log("profile round trip with the S3 (RADOS Gateway) profile: ok"))
)

// Deployed on a LocalStore, it does not: `saveProfile` sends a content type, and a filesystem has no place for it.
const onLocalStore = test.pipe(
  Effect.provide(testStoreLike(Capabilities.localStore)),
  Effect.flip,
  Effect.flatMap((error) =>
    error._tag === "NotSupported"
      ? Console.log(`the same test with the LocalStore profile fails, as production would: ${error.message}`)
      : Effect.dieMessage(`expected NotSupported, got ${error._tag}`)
  )
)

Effect.runPromise(
  Effect.all([
    test.pipe(Effect.provide(MemoryStore.layer), Effect.zipRight(Console.log("profile round trip on MemoryStore: ok"))),
    onS3,
    onLocalStore
  ], { discard: true })
).catch((error) => {
  console.error(error)
  process.exit(1)
})
