// What S3Store, AzureStore and GCSStore do alike around their own `make`: build on either transport from a decoded
// config, and provide the store, its signer and the cloud's own service from one scoped value.
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import type { ClientConfig } from "../../ClientConfig.js"
import * as ObjectStore from "../../ObjectStore.js"
import * as Signer from "../../Signer.js"
import * as PlatformTransport from "../http/platform.js"
import type { Transport } from "../http/transport.js"
import * as Undici from "../http/undici.js"

/** What a cloud's `make` builds: the store, its signer and the cloud's own service. */
export interface Built<S> {
  readonly store: ObjectStore.ObjectStore.Service
  readonly signer: Signer.Signer.Service
  readonly service: S
}

/** A cloud's constructor on undici (the default) and on the `HttpClient` in context. */
export const builders = <O, D, S, E1, E2>(
  decode: (options: O) => Effect.Effect<D, E1>,
  clientOf: (decoded: D) => ClientConfig,
  build: (decoded: D, transport: Transport) => Effect.Effect<Built<S>, E2, Scope.Scope>
) => ({
  undici: (options: O): Effect.Effect<Built<S>, E1 | E2, Scope.Scope> =>
    Effect.flatMap(decode(options), (d) => Effect.flatMap(Undici.make(clientOf(d)), (t) => build(d, t))),
  platform: (options: O): Effect.Effect<Built<S>, E1 | E2, Scope.Scope | HttpClient.HttpClient> =>
    Effect.flatMap(decode(options), (d) => Effect.flatMap(PlatformTransport.make(clientOf(d)), (t) => build(d, t)))
})

/** Provides `ObjectStore`, `Signer` and the cloud's tag from one build, closed with the layer's scope. */
export const layerFrom = <I, S, E, R>(
  tag: Context.Tag<I, S>,
  full: Effect.Effect<Built<S>, E, R>
): Layer.Layer<ObjectStore.ObjectStore | Signer.Signer | I, E, Exclude<R, Scope.Scope>> =>
  Layer.scopedContext(
    Effect.map(full, ({ service, signer, store }) =>
      Context.make(ObjectStore.ObjectStore, store).pipe(Context.add(Signer.Signer, signer), Context.add(tag, service)))
  )
