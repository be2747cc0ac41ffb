// MessagePack, the Connect socket's encoding (one map with string keys per binary frame), by
// @msgpack/msgpack 3.1.3 (ISC licence, web/msgpack.LICENSE): its UMD build, web/msgpack.min.js,
// is loaded as a classic script before the modules and leaves `MessagePack` on the window.
// Integers decode to Numbers (Segue keeps them below 2^53); `undefined` fields are left out, as
// serde leaves out absent options.

const { MessagePack } = globalThis;

/** Encodes a value (object, array, string, number, boolean, null) to a Uint8Array. */
export function encode(value) {
  return MessagePack.encode(value, { ignoreUndefined: true });
}

/** Decodes one MessagePack value from an ArrayBuffer or Uint8Array. */
export function decode(buffer) {
  return MessagePack.decode(buffer);
}
