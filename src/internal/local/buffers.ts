// The chunk size of LocalStore's data path and the buffers it reads into.

/** Bytes per read, and the size writes are gathered to. */
export const CHUNK_SIZE = 1024 * 1024

/** An own, uninitialised buffer (never a slice of Node's shared pool) viewed as a plain Uint8Array. */
export const allocate = (size: number): Uint8Array => {
  const buffer = Buffer.allocUnsafeSlow(size)
  return new Uint8Array(buffer.buffer, buffer.byteOffset, size)
}
