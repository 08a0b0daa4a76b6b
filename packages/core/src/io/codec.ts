import { Packr } from 'msgpackr';
import { DecodeError } from '../errors/index.js';

/**
 * Every encoded value starts with these two bytes: 0xC1 is the one byte MessagePack never uses, so foreign or
 * truncated data is recognised before msgpackr tries to make sense of it; the second byte is the format version.
 */
const MAGIC = 0xc1;
const VERSION = 1;

function makePackr(): Packr {
  return new Packr({
    // Records make arrays of same-shaped objects compact; their definitions travel inline in each message,
    // so any process can decode without shared state.
    useRecords: true,
    // Keeps Map, Set, Date, Error, RegExp, typed arrays, undefined and repeated/cyclic references.
    structuredClone: true,
    int64AsType: 'bigint',
    // Decoded Buffers own their memory instead of pinning the whole source buffer.
    copyBuffers: true,
  });
}

// Decoding with records needs a packr whose state is not shared with encoding (which may save structures).
const encoder = makePackr();
const decoder = makePackr();

/** Encodes a step output or message: JSON-like values plus Date, Map, Set, Buffer/typed arrays, BigInt, undefined. */
export function encodeValue(value: unknown): Buffer {
  const body = encoder.pack(value);
  const out = Buffer.allocUnsafe(body.length + 2);
  out[0] = MAGIC;
  out[1] = VERSION;
  body.copy(out, 2);
  return out;
}

/**
 * Decodes bytes made by {@link encodeValue}. Anything else (foreign, truncated, trailing garbage, another version)
 * throws a DecodeError; decoding is a single bounded pass over the bytes and cannot hang.
 *
 * @param what names the bytes in the error message, e.g. the output ref or the file path
 */
export function decodeValue(bytes: Uint8Array, what = 'value'): unknown {
  if (bytes.length < 3 || bytes[0] !== MAGIC) {
    throw new DecodeError(`cannot decode ${what}: not a Stepwise-encoded value (${bytes.length} bytes)`);
  }
  if (bytes[1] !== VERSION) {
    throw new DecodeError(`cannot decode ${what}: unsupported encoding version ${bytes[1]} (expected ${VERSION})`);
  }
  try {
    return decoder.unpack(bytes.subarray(2));
  } catch (err) {
    // msgpackr may append a dump of the partial value to its message; keep the first sentence.
    const reason = (err as Error).message.split(/ [{[\d]/, 1)[0] ?? String(err);
    throw new DecodeError(`cannot decode ${what}: corrupt data (${reason.slice(0, 200)})`, { cause: err });
  }
}
