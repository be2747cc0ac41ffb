// MessagePack, the Connect socket's encoding (one map with string keys per binary frame):
// just enough of the format for it. Integers decode to Numbers (Segue keeps them below 2^53);
// `undefined` fields are left out, as serde leaves out absent options.

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Encodes a value (object, array, string, number, boolean, null) to a Uint8Array. */
export function encode(value) {
  const out = new Writer();
  write(out, value);
  return out.bytes();
}

/** Decodes one MessagePack value from an ArrayBuffer or Uint8Array. */
export function decode(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  const reader = new Reader(bytes);
  const value = reader.read();
  if (reader.at !== bytes.length) throw new Error('msgpack: trailing bytes');
  return value;
}

class Writer {
  constructor() {
    this.buffer = new Uint8Array(256);
    this.view = new DataView(this.buffer.buffer);
    this.length = 0;
  }
  reserve(n) {
    if (this.length + n <= this.buffer.length) return;
    const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
    bigger.set(this.buffer);
    this.buffer = bigger;
    this.view = new DataView(bigger.buffer);
  }
  u8(v) { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  u16(v) { this.reserve(2); this.view.setUint16(this.length, v); this.length += 2; }
  u32(v) { this.reserve(4); this.view.setUint32(this.length, v); this.length += 4; }
  u64(v) { this.reserve(8); this.view.setBigUint64(this.length, BigInt(v)); this.length += 8; }
  i64(v) { this.reserve(8); this.view.setBigInt64(this.length, BigInt(v)); this.length += 8; }
  f64(v) { this.reserve(8); this.view.setFloat64(this.length, v); this.length += 8; }
  raw(bytes) { this.reserve(bytes.length); this.buffer.set(bytes, this.length); this.length += bytes.length; }
  bytes() { return this.buffer.slice(0, this.length); }
}

function write(out, value) {
  if (value === null || value === undefined) {
    out.u8(0xc0);
  } else if (value === false || value === true) {
    out.u8(value ? 0xc3 : 0xc2);
  } else if (typeof value === 'number') {
    writeNumber(out, value);
  } else if (typeof value === 'string') {
    const bytes = textEncoder.encode(value);
    if (bytes.length < 32) out.u8(0xa0 | bytes.length);
    else if (bytes.length < 0x100) { out.u8(0xd9); out.u8(bytes.length); }
    else if (bytes.length < 0x10000) { out.u8(0xda); out.u16(bytes.length); }
    else { out.u8(0xdb); out.u32(bytes.length); }
    out.raw(bytes);
  } else if (Array.isArray(value)) {
    header(out, value.length, 0x90, 0xdc, 0xdd);
    for (const item of value) write(out, item);
  } else if (value instanceof Uint8Array) {
    if (value.length < 0x100) { out.u8(0xc4); out.u8(value.length); }
    else if (value.length < 0x10000) { out.u8(0xc5); out.u16(value.length); }
    else { out.u8(0xc6); out.u32(value.length); }
    out.raw(value);
  } else if (typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    header(out, entries.length, 0x80, 0xde, 0xdf);
    for (const [key, item] of entries) {
      write(out, key);
      write(out, item);
    }
  } else {
    throw new TypeError(`msgpack: cannot encode a ${typeof value}`);
  }
}

function header(out, length, fix, sixteen, thirtyTwo) {
  if (length < 16) out.u8(fix | length);
  else if (length < 0x10000) { out.u8(sixteen); out.u16(length); }
  else { out.u8(thirtyTwo); out.u32(length); }
}

function writeNumber(out, value) {
  if (!Number.isInteger(value)) { out.u8(0xcb); out.f64(value); return; }
  if (value >= 0) {
    if (value < 0x80) out.u8(value);
    else if (value < 0x100) { out.u8(0xcc); out.u8(value); }
    else if (value < 0x10000) { out.u8(0xcd); out.u16(value); }
    else if (value < 0x100000000) { out.u8(0xce); out.u32(value); }
    else { out.u8(0xcf); out.u64(value); }
  } else if (value >= -32) {
    out.u8(value & 0xff);
  } else {
    out.u8(0xd3);
    out.i64(value);
  }
}

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = 0;
  }
  take(n) {
    if (this.at + n > this.bytes.length) throw new Error('msgpack: truncated');
    const at = this.at;
    this.at += n;
    return at;
  }
  u8() { return this.view.getUint8(this.take(1)); }
  u16() { return this.view.getUint16(this.take(2)); }
  u32() { return this.view.getUint32(this.take(4)); }
  str(n) { const at = this.take(n); return textDecoder.decode(this.bytes.subarray(at, at + n)); }
  bin(n) { const at = this.take(n); return this.bytes.slice(at, at + n); }
  array(n) { const items = new Array(n); for (let i = 0; i < n; i++) items[i] = this.read(); return items; }
  map(n) {
    const object = {};
    for (let i = 0; i < n; i++) {
      const key = this.read();
      object[String(key)] = this.read();
    }
    return object;
  }
  read() {
    const byte = this.u8();
    if (byte < 0x80) return byte;
    if (byte < 0x90) return this.map(byte & 0x0f);
    if (byte < 0xa0) return this.array(byte & 0x0f);
    if (byte < 0xc0) return this.str(byte & 0x1f);
    if (byte >= 0xe0) return byte - 0x100;
    switch (byte) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.bin(this.u8());
      case 0xc5: return this.bin(this.u16());
      case 0xc6: return this.bin(this.u32());
      case 0xca: return this.view.getFloat32(this.take(4));
      case 0xcb: return this.view.getFloat64(this.take(8));
      case 0xcc: return this.u8();
      case 0xcd: return this.u16();
      case 0xce: return this.u32();
      case 0xcf: return Number(this.view.getBigUint64(this.take(8)));
      case 0xd0: return this.view.getInt8(this.take(1));
      case 0xd1: return this.view.getInt16(this.take(2));
      case 0xd2: return this.view.getInt32(this.take(4));
      case 0xd3: return Number(this.view.getBigInt64(this.take(8)));
      case 0xd9: return this.str(this.u8());
      case 0xda: return this.str(this.u16());
      case 0xdb: return this.str(this.u32());
      case 0xdc: return this.array(this.u16());
      case 0xdd: return this.array(this.u32());
      case 0xde: return this.map(this.u16());
      case 0xdf: return this.map(this.u32());
      default: throw new Error(`msgpack: unsupported type byte 0x${byte.toString(16)}`);
    }
  }
}
