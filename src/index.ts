/**
 * @since 0.1.0
 */

/**
 * The service, its operations, options and results.
 *
 * @since 0.1.0
 */
export * as ObjectStore from "./ObjectStore.js"

/**
 * The typed errors.
 *
 * @since 0.1.0
 */
export * as ObjectStoreError from "./ObjectStoreError.js"

/**
 * Path rules.
 *
 * @since 0.1.0
 */
export * as ObjectPath from "./ObjectPath.js"

/**
 * An in-memory store.
 *
 * @since 0.1.0
 */
export * as MemoryStore from "./MemoryStore.js"

/**
 * A store on the local filesystem.
 *
 * @since 0.1.0
 */
export * as LocalStore from "./LocalStore.js"

/**
 * A view of a store below a prefix.
 *
 * @since 0.1.0
 */
export * as PrefixStore from "./PrefixStore.js"

/**
 * A store with a bound on requests in flight.
 *
 * @since 0.1.0
 */
export * as LimitStore from "./LimitStore.js"

/**
 * Capability profiles: a test store that refuses what a production store refuses.
 *
 * @since 0.1.0
 */
export * as Capabilities from "./Capabilities.js"

/**
 * Amazon S3 and S3-compatible servers.
 *
 * @since 0.1.0
 */
export * as S3Store from "./S3Store.js"

/**
 * Azure Blob Storage.
 *
 * @since 0.1.0
 */
export * as AzureStore from "./AzureStore.js"

/**
 * Google Cloud Storage.
 *
 * @since 0.1.0
 */
export * as GCSStore from "./GCSStore.js"

/**
 * WebDAV servers, and plain HTTP servers read-only.
 *
 * @since 0.1.0
 */
export * as HTTPStore from "./HTTPStore.js"

/**
 * Random access into an object: buffered, read-ahead, pinned to the version it opened.
 *
 * @since 0.1.0
 */
export * as ObjectReader from "./ObjectReader.js"

/**
 * Writing an object piece by piece: committed when the scope closes, aborted on failure.
 *
 * @since 0.1.0
 */
export * as ObjectWriter from "./ObjectWriter.js"

/**
 * Node and web streams out of a store, and Node writables into one.
 *
 * @since 0.1.0
 */
export * as NodeStreams from "./NodeStreams.js"

/**
 * Copying objects and prefixes between any two stores.
 *
 * @since 0.1.0
 */
export * as Transfer from "./Transfer.js"

/**
 * Presigned URLs.
 *
 * @since 0.1.0
 */
export * as Signer from "./Signer.js"

/**
 * HTTP client settings of the HTTP stores.
 *
 * @since 0.1.0
 */
export * as ClientConfig from "./ClientConfig.js"

/**
 * Retry settings of the HTTP stores.
 *
 * @since 0.1.0
 */
export * as RetryConfig from "./RetryConfig.js"
