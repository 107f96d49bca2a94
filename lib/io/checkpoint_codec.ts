/**
 * The binary checkpoint of a training run: a JSON header for everything small (step counters, RNG
 * states, the configuration hash, the metrics log length) and a list of named typed arrays for
 * everything large (parameters, optimizer moments, replay buffer contents), closed by a CRC-32.
 *
 * Layout, all integers little-endian:
 *
 * | offset | size | field                                                            |
 * | ------ | ---- | ---------------------------------------------------------------- |
 * | 0      | 8    | magic, the ASCII bytes `RNNRLCKP`                                |
 * | 8      | 4    | format version (u32), {@linkcode CHECKPOINT_VERSION}             |
 * | 12     | 4    | flags (u32), 0                                                   |
 * | 16     | 8    | length of the whole file in bytes (u64)                          |
 * | 24     | 4    | header length H in bytes (u32)                                   |
 * | 28     | 4    | array count N (u32)                                              |
 * | 32     | H    | header: a JSON object in UTF-8                                   |
 *
 * then N array records, each:
 *
 * | size | field                                                                 |
 * | ---- | --------------------------------------------------------------------- |
 * | 4    | name length L in bytes (u32, at most 1024)                            |
 * | L    | name, UTF-8                                                           |
 * | 1    | dtype tag: 1 float32, 2 int32, 3 uint8                                |
 * | 1    | rank R (at most 8)                                                    |
 * | 2    | reserved (u16), 0                                                     |
 * | 4·R  | dimensions (u32 each), outermost first                                |
 * | 8    | data length D in bytes (u64): the product of the dimensions × 4, 4, 1 |
 * | D    | the elements, row-major                                               |
 *
 * and last, 4 bytes: the CRC-32 of every byte before it (u32).
 *
 * {@linkcode decodeCheckpoint} checks every length against the bytes that remain before it reads,
 * so a damaged file of any kind raises a {@linkcode CheckpointError} with a one-line reason; it
 * never reads out of bounds, allocates more than the file holds, or loops without progress.
 *
 * @module
 */

import { crc32 } from "./crc32.ts";
import { CheckpointError } from "./errors.ts";
import { assertJsonValue, type JsonObject, type JsonValue } from "./json.ts";

export { CheckpointError };

/** The format version this build writes and reads. */
export const CHECKPOINT_VERSION = 1;

/** The eight magic bytes every checkpoint starts with. */
export const CHECKPOINT_MAGIC = "RNNRLCKP";

/** The element types a checkpoint array can have. */
export type CheckpointDtype = "float32" | "int32" | "uint8";

/** The typed arrays a checkpoint stores. */
export type CheckpointData = Float32Array | Int32Array | Uint8Array;

/** One named array of a checkpoint. */
export interface CheckpointArray {
  /** A unique, non-empty name such as "q.lstm.w" or "adam.m.q.lstm.w" (at most 1024 UTF-8 bytes). */
  name: string;
  /** The dimensions, outermost first (at most 8); their product is `data.length`. */
  shape: number[];
  /** The elements, row-major; the dtype is the array's type. */
  data: CheckpointData;
}

/**
 * A training run's saved state. The header holds any JSON object; by convention the training task
 * records `step`, `episode`, `metricsBytes` (the byte length of metrics.jsonl when the checkpoint
 * was taken, see `MetricsWriter`), `configHash`, and RNG states from `Rng.getState()`.
 */
export interface Checkpoint {
  /** Small state as a JSON object (no NaN or Infinity: JSON cannot hold them). */
  header: JsonObject;
  /** Large state as named typed arrays, in the order they are written. */
  arrays: CheckpointArray[];
}

/** Options of {@linkcode decodeCheckpoint}. */
export interface DecodeCheckpointOptions {
  /** Reject float32 arrays holding NaN or ±Infinity (default false). */
  finiteOnly?: boolean;
  /** Where the bytes came from, for error messages, e.g. a file path. */
  source?: string;
}

const FIXED_SIZE = 32;
const CRC_SIZE = 4;
const MAX_NAME_BYTES = 1024;
const MAX_RANK = 8;
const MIN_RECORD_SIZE = 4 + 1 + 1 + 2 + 8;
const MAX_SAFE_HIGH_WORD = 0x1fffff; // a u64 whose high word exceeds this is beyond 2^53
const DTYPE_TAGS: Record<CheckpointDtype, number> = { float32: 1, int32: 2, uint8: 3 };
const DTYPE_SIZES = [0, 4, 4, 1];
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Encodes a checkpoint in the format described in this module's documentation.
 *
 * @param checkpoint The state to encode.
 * @returns The file's bytes.
 * @throws {TypeError} When the header is not plain JSON or an array is not a supported typed array.
 * @throws {RangeError} When a name is empty, repeated or too long, or a shape does not fit its data.
 *
 * @example
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from "@rnnrl/rnnrl/run";
 * const bytes = encodeCheckpoint({
 *   header: { step: 1000 },
 *   arrays: [{ name: "w", shape: [2, 3], data: new Float32Array(6).fill(0.5) }],
 * });
 * const back = decodeCheckpoint(bytes);
 * if (back.header.step !== 1000 || back.arrays[0].data[5] !== 0.5) throw new Error("round trip");
 * ```
 */
export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const { header, arrays } = checkpoint;
  assertJsonValue(header, "checkpoint header");
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw new TypeError("Cannot encode checkpoint: the header must be a JSON object");
  }
  if (!Array.isArray(arrays)) {
    throw new TypeError("Cannot encode checkpoint: arrays is not an array");
  }
  const encoder = new TextEncoder();
  const headerBytes = encoder.encode(JSON.stringify(header));
  const names = new Set<string>();
  const records = arrays.map((array, i) => ({ array, ...checkArray(array, i, names, encoder) }));
  let total = FIXED_SIZE + headerBytes.length + CRC_SIZE;
  for (const { array, nameBytes } of records) {
    total += MIN_RECORD_SIZE + nameBytes.length + 4 * array.shape.length + array.data.byteLength;
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(encoder.encode(CHECKPOINT_MAGIC), 0);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, 0, true);
  setUint64(view, 16, total);
  view.setUint32(24, headerBytes.length, true);
  view.setUint32(28, records.length, true);
  bytes.set(headerBytes, FIXED_SIZE);
  let pos = FIXED_SIZE + headerBytes.length;
  for (const { array, nameBytes, dtype } of records) {
    view.setUint32(pos, nameBytes.length, true);
    bytes.set(nameBytes, pos + 4);
    pos += 4 + nameBytes.length;
    view.setUint8(pos, DTYPE_TAGS[dtype]);
    view.setUint8(pos + 1, array.shape.length);
    view.setUint16(pos + 2, 0, true);
    pos += 4;
    for (const dim of array.shape) {
      view.setUint32(pos, dim, true);
      pos += 4;
    }
    setUint64(view, pos, array.data.byteLength);
    pos += 8;
    writeElements(view, pos, array.data);
    pos += array.data.byteLength;
  }
  view.setUint32(pos, crc32(bytes.subarray(0, pos)), true);
  return bytes;
}

function checkArray(
  array: CheckpointArray,
  index: number,
  names: Set<string>,
  encoder: TextEncoder,
): { nameBytes: Uint8Array; dtype: CheckpointDtype } {
  const where = `Cannot encode checkpoint array ${index}`;
  if (array === null || typeof array !== "object") throw new TypeError(`${where}: not an object`);
  const { name, shape, data } = array;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`${where}: the name must be a non-empty string`);
  }
  const nameBytes = encoder.encode(name);
  if (nameBytes.length > MAX_NAME_BYTES) {
    throw new RangeError(`${where}: the name is ${nameBytes.length} bytes, at most 1024 allowed`);
  }
  if (names.has(name)) throw new RangeError(`${where}: the name "${name}" is used twice`);
  names.add(name);
  const dtype = dtypeOf(data);
  if (dtype === undefined) {
    throw new TypeError(
      `${where} ("${name}"): data must be a Float32Array, Int32Array or Uint8Array`,
    );
  }
  if (!Array.isArray(shape) || shape.length > MAX_RANK) {
    throw new TypeError(`${where} ("${name}"): the shape must be an array of at most 8 dimensions`);
  }
  let size = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0 || dim > 0xffffffff) {
      throw new RangeError(`${where} ("${name}"): shape [${shape}] has an invalid dimension`);
    }
    size *= dim;
  }
  if (size !== data.length) {
    throw new RangeError(
      `${where} ("${name}"): shape [${shape}] has ${size} elements, the data ${data.length}`,
    );
  }
  return { nameBytes, dtype };
}

function dtypeOf(data: unknown): CheckpointDtype | undefined {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "uint8";
  return undefined;
}

function setUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / 4294967296), true);
}

function writeElements(view: DataView, offset: number, data: CheckpointData): void {
  if (LITTLE_ENDIAN || data instanceof Uint8Array) {
    new Uint8Array(view.buffer, offset, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
  } else if (data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) view.setFloat32(offset + 4 * i, data[i], true);
  } else {
    for (let i = 0; i < data.length; i++) view.setInt32(offset + 4 * i, data[i], true);
  }
}

/**
 * Decodes a checkpoint written by {@linkcode encodeCheckpoint}. The result owns its arrays (they
 * do not share memory with `bytes`).
 *
 * @param bytes The file's bytes.
 * @param options Whether to reject non-finite floats, and where the bytes came from.
 * @returns The checkpoint.
 * @throws {CheckpointError} For every kind of damage: wrong magic, unsupported version, truncation,
 * checksum mismatch, impossible lengths or shapes, invalid UTF-8 or JSON, non-finite floats when
 * `finiteOnly` is set. Nothing else is thrown.
 *
 * @example
 * ```ts
 * import { CheckpointError, decodeCheckpoint } from "@rnnrl/rnnrl/run";
 * try {
 *   decodeCheckpoint(new TextEncoder().encode("not a checkpoint"));
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof CheckpointError)) throw error;
 * }
 * ```
 */
export function decodeCheckpoint(
  bytes: Uint8Array,
  options: DecodeCheckpointOptions = {},
): Checkpoint {
  const prefix = options.source === undefined
    ? "Cannot read checkpoint"
    : `Cannot read checkpoint ${options.source}`;
  const fail: (detail: string) => never = (detail) => {
    throw new CheckpointError(`${prefix}: ${detail}`);
  };
  if (!(bytes instanceof Uint8Array)) fail("the data is not a Uint8Array");
  const magic = new TextEncoder().encode(CHECKPOINT_MAGIC);
  for (let i = 0; i < magic.length; i++) {
    if (i >= bytes.length) fail(`only ${bytes.length} bytes, too short to be a checkpoint`);
    if (bytes[i] !== magic[i]) fail("not an rnnrl checkpoint (wrong magic bytes)");
  }
  if (bytes.length < FIXED_SIZE + CRC_SIZE) {
    fail(`truncated: only ${bytes.length} bytes, a checkpoint has at least 36`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) {
    fail(`unsupported format version ${version} (this build reads version ${CHECKPOINT_VERSION})`);
  }
  const declared = readUint64(view, 16);
  if (declared === undefined) fail("the file length field is beyond 2^53");
  if (declared > bytes.length) {
    fail(`truncated: ${bytes.length} bytes of the ${declared} the checkpoint declares`);
  }
  if (declared < bytes.length) {
    fail(
      `${bytes.length - declared} unexpected bytes after the ${declared} the checkpoint declares`,
    );
  }
  const body = bytes.length - CRC_SIZE;
  const stored = view.getUint32(body, true);
  const computed = crc32(bytes.subarray(0, body));
  if (stored !== computed) {
    fail(
      `checksum mismatch (stored ${hex(stored)}, computed ${hex(computed)}): the file is damaged`,
    );
  }
  const flags = view.getUint32(12, true);
  if (flags !== 0) fail(`unsupported flags ${hex(flags)}`);

  let pos = FIXED_SIZE;
  const need = (count: number, what: string): void => {
    if (count > body - pos) {
      fail(`${what} at byte ${pos} needs ${count} bytes, ${body - pos} remain`);
    }
  };
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const text = (length: number, what: string): string => {
    need(length, what);
    try {
      return decoder.decode(bytes.subarray(pos, pos + length));
    } catch {
      return fail(`${what} at byte ${pos} is not valid UTF-8`);
    } finally {
      pos += length;
    }
  };

  const headerLength = view.getUint32(24, true);
  const arrayCount = view.getUint32(28, true);
  const headerText = text(headerLength, "the header");
  let header: JsonObject | JsonValue[] | string | number | boolean | null = null;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    fail(`the header is not valid JSON (${firstLine(error)})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    fail("the header is not a JSON object");
  }
  if (arrayCount > (body - pos) / MIN_RECORD_SIZE) {
    fail(`${arrayCount} arrays cannot fit in the ${body - pos} bytes after the header`);
  }

  const arrays: CheckpointArray[] = [];
  const names = new Set<string>();
  for (let index = 0; index < arrayCount; index++) {
    const what = `array ${index}`;
    need(4, `the name length of ${what}`);
    const nameLength = view.getUint32(pos, true);
    pos += 4;
    if (nameLength === 0 || nameLength > MAX_NAME_BYTES) {
      fail(`the name of ${what} is ${nameLength} bytes, expected 1 to 1024`);
    }
    const name = text(nameLength, `the name of ${what}`);
    if (names.has(name)) fail(`the array name "${name}" appears twice`);
    names.add(name);
    need(4, `the dtype and rank of "${name}"`);
    const tag = view.getUint8(pos);
    const rank = view.getUint8(pos + 1);
    const reserved = view.getUint16(pos + 2, true);
    pos += 4;
    if (tag < 1 || tag > 3) fail(`array "${name}" has unknown dtype tag ${tag}`);
    if (rank > MAX_RANK) fail(`array "${name}" has rank ${rank}, at most ${MAX_RANK} allowed`);
    if (reserved !== 0) fail(`array "${name}" has nonzero reserved bits`);
    need(4 * rank + 8, `the shape of "${name}"`);
    const shape: number[] = [];
    let size = 1;
    for (let d = 0; d < rank; d++) {
      const dim = view.getUint32(pos, true);
      pos += 4;
      shape.push(dim);
      size *= dim;
    }
    const dataLength = readUint64(view, pos);
    pos += 8;
    const expected = size * DTYPE_SIZES[tag];
    if (dataLength !== expected) {
      fail(
        `array "${name}" has shape [${shape}] (${expected} bytes) but ${dataLength ?? "> 2^53"} ` +
          "bytes of data",
      );
    }
    need(expected, `the data of "${name}"`);
    const data = readElements(bytes.slice(pos, pos + expected), tag);
    pos += expected;
    if (options.finiteOnly && data instanceof Float32Array) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isFinite(data[i])) fail(`array "${name}" holds ${data[i]} at index ${i}`);
      }
    }
    arrays.push({ name, shape, data });
  }
  if (pos !== body) fail(`${body - pos} unexpected bytes after the last array`);
  return { header, arrays };
}

function readUint64(view: DataView, offset: number): number | undefined {
  const high = view.getUint32(offset + 4, true);
  if (high > MAX_SAFE_HIGH_WORD) return undefined;
  return high * 4294967296 + view.getUint32(offset, true);
}

function readElements(copy: Uint8Array, tag: number): CheckpointData {
  if (tag === 3) return copy;
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < copy.length; i += 4) copy.subarray(i, i + 4).reverse();
  }
  return tag === 1
    ? new Float32Array(copy.buffer, 0, copy.length / 4)
    : new Int32Array(copy.buffer, 0, copy.length / 4);
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0];
}

/** Options of {@linkcode getArray}: what the caller expects of the array. */
export interface GetArrayOptions {
  /** The dtype the array must have. */
  dtype?: CheckpointDtype;
  /** The shape the array must have. */
  shape?: readonly number[];
}

/**
 * Finds a checkpoint's array by name, checking its dtype and shape when asked, so that code that
 * restores state reports a damaged or mismatched checkpoint instead of loading garbage.
 *
 * @param checkpoint A decoded checkpoint.
 * @param name The array's name.
 * @param options The dtype and shape the array must have.
 * @returns The array's data.
 * @throws {CheckpointError} When there is no such array or it has another dtype or shape.
 *
 * @example
 * ```ts
 * import { getArray } from "./checkpoint_codec.ts";
 * const checkpoint = { header: {}, arrays: [{ name: "b", shape: [3], data: new Float32Array(3) }] };
 * const bias = getArray(checkpoint, "b", { dtype: "float32", shape: [3] });
 * if (bias.length !== 3) throw new Error("found");
 * ```
 */
export function getArray(
  checkpoint: Checkpoint,
  name: string,
  options: GetArrayOptions = {},
): CheckpointData {
  const array = checkpoint.arrays.find((a) => a.name === name);
  if (array === undefined) throw new CheckpointError(`Cannot restore "${name}": no such array`);
  const dtype = dtypeOf(array.data);
  if (options.dtype !== undefined && dtype !== options.dtype) {
    throw new CheckpointError(
      `Cannot restore "${name}": it is ${dtype}, expected ${options.dtype}`,
    );
  }
  const shape = options.shape;
  if (
    shape !== undefined &&
    (shape.length !== array.shape.length || shape.some((d, i) => d !== array.shape[i]))
  ) {
    throw new CheckpointError(
      `Cannot restore "${name}": its shape is [${array.shape}], expected [${shape}]`,
    );
  }
  return array.data;
}
