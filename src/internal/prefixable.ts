// A service that can be seen through a prefix, for `PrefixStore.layer`: a store's own service (S3Store's tag) holds
// paths and a signer of its own, so the layer asks it for a prefixed copy instead of handing the unprefixed one on.
import type * as Effect from "effect/Effect"
import type { InvalidPath } from "../ObjectStoreError.js"

export const PrefixableId: unique symbol = Symbol.for("effect-obstore/Prefixable")

export interface Prefixable {
  /** The same service with every path below `root` (a checked, normalised prefix). */
  readonly [PrefixableId]: (root: string) => Effect.Effect<unknown, InvalidPath>
}

export const isPrefixable = (u: unknown): u is Prefixable => typeof u === "object" && u !== null && PrefixableId in u
