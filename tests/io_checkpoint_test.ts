import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/io/atomic_write.ts";
import {
  type Checkpoint,
  CHECKPOINT_FILE,
  decodeCheckpoint,
  encodeCheckpoint,
  getArray,
  hasCheckpoint,
  loadCheckpoint,
  PREVIOUS_CHECKPOINT_FILE,
  saveCheckpoint,
} from "../lib/io/checkpoint.ts";
import { crc32 } from "../lib/io/crc32.ts";
import { CheckpointError } from "../lib/io/errors.ts";
import { Rng } from "../lib/io/rng.ts";

// ---------------------------------------------------------------------------------------------
// Helpers: an independent reading of the documented layout.

/** Bit-at-a-time CRC-32 (no tables), to check the table-driven one against. */
function slowCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface RawRecord {
  name: Uint8Array;
  tag: number;
  rank?: number;
  reserved?: number;
  dims: number[];
  dataLength?: number;
  data: Uint8Array;
}

interface RawFile {
  magic?: string;
  version?: number;
  flags?: number;
  totalLength?: number;
  header: Uint8Array;
  headerLength?: number;
  count?: number;
  records: RawRecord[];
  fixCrc?: boolean;
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Builds a file from its parts as the module documentation describes; any field can lie. */
function craft(file: RawFile): Uint8Array {
  const parts: number[] = [];
  const u8 = (v: number) => parts.push(v & 0xff);
  const u16 = (v: number) => [0, 8].forEach((s) => u8(v >>> s));
  const u32 = (v: number) => [0, 8, 16, 24].forEach((s) => u8(v >>> s));
  const u64 = (v: number) => {
    u32(v % 4294967296);
    u32(Math.floor(v / 4294967296));
  };
  const bytes = (b: Uint8Array) => b.forEach(u8);
  bytes(utf8(file.magic ?? "RNNRLCKP"));
  u32(file.version ?? 1);
  u32(file.flags ?? 0);
  const totalAt = parts.length;
  u64(0);
  u32(file.headerLength ?? file.header.length);
  u32(file.count ?? file.records.length);
  bytes(file.header);
  for (const r of file.records) {
    u32(r.name.length);
    bytes(r.name);
    u8(r.tag);
    u8(r.rank ?? r.dims.length);
    u16(r.reserved ?? 0);
    r.dims.forEach(u32);
    u64(r.dataLength ?? r.data.length);
    bytes(r.data);
  }
  const out = new Uint8Array(parts.length + 4);
  out.set(parts);
  const view = new DataView(out.buffer);
  const total = file.totalLength ?? out.length;
  view.setUint32(totalAt, total % 4294967296, true);
  view.setUint32(totalAt + 4, Math.floor(total / 4294967296), true);
  view.setUint32(parts.length, slowCrc32(out.subarray(0, parts.length)), true);
  return out;
}

/** Rewrites the trailing CRC so that structural checks, not the checksum, must catch a change. */
function fixCrc(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 4) return bytes;
  const end = bytes.length - 4;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(end, crc32(bytes.subarray(0, end)), true);
  return bytes;
}

interface Field {
  name: string;
  offset: number;
  size: number;
}

/** Locates every integer field of a valid file, and its header and data regions. */
function layout(bytes: Uint8Array): { fields: Field[]; regions: Field[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const fields: Field[] = [
    { name: "version", offset: 8, size: 4 },
    { name: "flags", offset: 12, size: 4 },
    { name: "total length", offset: 16, size: 8 },
    { name: "header length", offset: 24, size: 4 },
    { name: "array count", offset: 28, size: 4 },
  ];
  const headerLength = view.getUint32(24, true);
  const regions: Field[] = [{ name: "header", offset: 32, size: headerLength }];
  let pos = 32 + headerLength;
  for (let i = 0; i < view.getUint32(28, true); i++) {
    const nameLength = view.getUint32(pos, true);
    fields.push({ name: `name length ${i}`, offset: pos, size: 4 });
    regions.push({ name: `name ${i}`, offset: pos + 4, size: nameLength });
    pos += 4 + nameLength;
    const rank = view.getUint8(pos + 1);
    fields.push({ name: `dtype ${i}`, offset: pos, size: 1 });
    fields.push({ name: `rank ${i}`, offset: pos + 1, size: 1 });
    fields.push({ name: `reserved ${i}`, offset: pos + 2, size: 2 });
    pos += 4;
    for (let d = 0; d < rank; d++) {
      fields.push({ name: `dim ${i}.${d}`, offset: pos + 4 * d, size: 4 });
    }
    pos += 4 * rank;
    const dataLength = view.getUint32(pos, true);
    fields.push({ name: `data length ${i}`, offset: pos, size: 8 });
    pos += 8;
    regions.push({ name: `data ${i}`, offset: pos, size: dataLength });
    pos += dataLength;
  }
  assert.equal(pos, bytes.length - 4, "the layout walk ends at the CRC");
  return { fields, regions };
}

function sample(): Checkpoint {
  const rng = new Rng(7);
  const w = new Float32Array(24).map(() => rng.normal());
  return {
    header: {
      step: 12345,
      episode: 67,
      metricsBytes: 98765,
      configHash: "ab".repeat(32),
      rng: rng.getState() as unknown as Checkpoint["header"],
      nested: { list: [1, "two", null, true, { deep: -0.5 }], empty: {} },
      unicode: "ε-greedy → Q(s,a) ✓",
    },
    arrays: [
      { name: "q.lstm.w", shape: [4, 6], data: w },
      {
        name: "replay.actions",
        shape: [10],
        data: Int32Array.from({ length: 10 }, (_, i) => i - 5),
      },
      {
        name: "replay.done",
        shape: [2, 5],
        data: Uint8Array.from({ length: 10 }, (_, i) => i % 2),
      },
      { name: "scalar", shape: [], data: new Float32Array([Math.PI]) },
      { name: "empty", shape: [0, 3], data: new Float32Array(0) },
      { name: "größe", shape: [1, 1, 1], data: new Float32Array([-0]) },
    ],
  };
}

function assertCheckpointError(fn: () => unknown, pattern?: RegExp): CheckpointError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CheckpointError, `expected CheckpointError, got ${error}`);
    assert.ok(!error.message.includes("\n"), `one line: ${error.message}`);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  assert.fail("expected a CheckpointError");
}

// ---------------------------------------------------------------------------------------------

Deno.test("crc32 matches the standard check value and a bit-at-a-time reference", () => {
  assert.equal(crc32(utf8("123456789")), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  const rng = new Rng(1);
  for (const length of [1, 7, 8, 9, 15, 16, 17, 100, 1031]) {
    const bytes = Uint8Array.from({ length }, () => rng.int(256));
    assert.equal(crc32(bytes), slowCrc32(bytes), `length ${length}`);
    const cut = rng.int(length + 1);
    assert.equal(crc32(bytes.subarray(cut), crc32(bytes.subarray(0, cut))), slowCrc32(bytes));
  }
});

Deno.test("encodeCheckpoint round-trips header and arrays of every dtype", () => {
  const original = sample();
  const bytes = encodeCheckpoint(original);
  const decoded = decodeCheckpoint(bytes);
  assert.deepStrictEqual(decoded, original);
  assert.ok(Object.is(decoded.arrays[5].data[0], -0), "negative zero survives");
  // The decoded arrays own their memory.
  bytes.fill(0);
  assert.deepStrictEqual(decoded, original);
});

Deno.test("encodeCheckpoint writes exactly the documented layout", () => {
  const data = new Float32Array([1.5, -2, 3.25, 0]);
  const bytes = encodeCheckpoint({
    header: { step: 3 },
    arrays: [
      { name: "w", shape: [2, 2], data },
      { name: "n", shape: [3], data: new Uint8Array([1, 2, 3]) },
    ],
  });
  const expected = craft({
    header: utf8('{"step":3}'),
    records: [
      { name: utf8("w"), tag: 1, dims: [2, 2], data: new Uint8Array(data.buffer) },
      { name: utf8("n"), tag: 3, dims: [3], data: new Uint8Array([1, 2, 3]) },
    ],
  });
  assert.deepStrictEqual(bytes, expected);
});

Deno.test("encodeCheckpoint reads typed arrays that are views into larger buffers", () => {
  const big = new Float32Array([9, 9, 1, 2, 3, 9]);
  const view = big.subarray(2, 5);
  const decoded = decodeCheckpoint(
    encodeCheckpoint({ header: {}, arrays: [{ name: "v", shape: [3], data: view }] }),
  );
  assert.deepStrictEqual(decoded.arrays[0].data, new Float32Array([1, 2, 3]));
});

Deno.test("encodeCheckpoint rejects state that would not round-trip", () => {
  const f = new Float32Array(2);
  const cases: [Checkpoint, typeof TypeError | typeof RangeError, RegExp][] = [
    [{ header: { loss: NaN }, arrays: [] }, TypeError, /header\.loss is NaN/],
    [{ header: { when: new Date() } as never, arrays: [] }, TypeError, /Date/],
    [{ header: { x: undefined } as never, arrays: [] }, TypeError, /undefined/],
    [{ header: [1] as never, arrays: [] }, TypeError, /JSON object/],
    [{ header: {}, arrays: [{ name: "", shape: [2], data: f }] }, TypeError, /non-empty/],
    [
      {
        header: {},
        arrays: [{ name: "a", shape: [2], data: f }, { name: "a", shape: [2], data: f }],
      },
      RangeError,
      /used twice/,
    ],
    [{ header: {}, arrays: [{ name: "a", shape: [3], data: f }] }, RangeError, /3 elements/],
    [{ header: {}, arrays: [{ name: "a", shape: [2.5], data: f }] }, RangeError, /dimension/],
    [{ header: {}, arrays: [{ name: "a".repeat(1025), shape: [2], data: f }] }, RangeError, /1025/],
    [
      { header: {}, arrays: [{ name: "a", shape: [2], data: new Float64Array(2) as never }] },
      TypeError,
      /Float32Array/,
    ],
    [{ header: {}, arrays: [{ name: "a", shape: new Array(9).fill(1), data: f }] }, TypeError, /8/],
  ];
  for (const [checkpoint, type, pattern] of cases) {
    assert.throws(() => encodeCheckpoint(checkpoint), (error: Error) => {
      assert.ok(error instanceof type, `${error}`);
      assert.match(error.message, pattern);
      return true;
    });
  }
});

Deno.test("decodeCheckpoint names each kind of damage in a CheckpointError", () => {
  const good = encodeCheckpoint(sample());
  const f4 = new Uint8Array(new Float32Array([1, 2]).buffer);
  const rec = (overrides: Partial<RawRecord> = {}): RawRecord => ({
    name: utf8("w"),
    tag: 1,
    dims: [2],
    data: f4,
    ...overrides,
  });
  const header = utf8("{}");
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(0), /only 0 bytes/],
    ["short prefix of the magic", utf8("RNN"), /too short/],
    ["wrong magic", utf8("PK\x03\x04 definitely not ours, but long enough to be"), /wrong magic/],
    ["magic only", utf8("RNNRLCKP"), /truncated/],
    ["version 2", craft({ version: 2, header, records: [] }), /unsupported format version 2/],
    ["version 0", craft({ version: 0, header, records: [] }), /version 0/],
    ["truncated by one byte", good.subarray(0, good.length - 1), /truncated/],
    ["truncated to half", good.subarray(0, good.length >> 1), /truncated/],
    ["trailing bytes", Uint8Array.from([...good, 0, 0]), /2 unexpected bytes/],
    ["flipped data bit", flip(good, good.length - 10), /checksum mismatch/],
    ["flipped CRC bit", flip(good, good.length - 1), /checksum mismatch/],
    ["total length beyond 2^53", craft({ totalLength: 2 ** 60, header, records: [] }), /2\^53/],
    ["flags", craft({ flags: 1, header, records: [] }), /unsupported flags/],
    [
      "header beyond the file",
      craft({ headerLength: 0xffffffff, header, records: [] }),
      /header.*needs/,
    ],
    ["header not JSON", craft({ header: utf8("{step:1}"), records: [] }), /not valid JSON/],
    [
      "header is JSON but an array",
      craft({ header: utf8("[1,2]"), records: [] }),
      /not a JSON object/,
    ],
    ["header is null", craft({ header: utf8("null"), records: [] }), /not a JSON object/],
    [
      "header not UTF-8",
      craft({ header: new Uint8Array([0x7b, 0xff, 0x7d]), records: [] }),
      /UTF-8/,
    ],
    ["absurd array count", craft({ count: 1e9, header, records: [] }), /cannot fit/],
    ["one array too many", craft({ count: 2, header, records: [rec()] }), /needs|cannot fit/],
    ["one array too few", craft({ count: 0, header, records: [rec()] }), /unexpected bytes/],
    ["empty name", craft({ header, records: [rec({ name: new Uint8Array(0) })] }), /0 bytes/],
    [
      "huge name",
      craft({ header, records: [rec({ name: new Uint8Array(5000).fill(97) })] }),
      /5000/,
    ],
    [
      "name not UTF-8",
      craft({ header, records: [rec({ name: new Uint8Array([0xc3]) })] }),
      /UTF-8/,
    ],
    ["duplicate names", craft({ header, records: [rec(), rec()] }), /appears twice/],
    ["dtype tag 0", craft({ header, records: [rec({ tag: 0 })] }), /dtype tag 0/],
    ["dtype tag 4", craft({ header, records: [rec({ tag: 4 })] }), /dtype tag 4/],
    ["rank 9", craft({ header, records: [rec({ rank: 9 })] }), /rank 9/],
    ["reserved bits", craft({ header, records: [rec({ reserved: 1 })] }), /reserved/],
    ["shape larger than data", craft({ header, records: [rec({ dims: [3] })] }), /shape \[3\]/],
    ["shape smaller than data", craft({ header, records: [rec({ dims: [1] })] }), /shape \[1\]/],
    ["dtype size mismatch", craft({ header, records: [rec({ tag: 3 })] }), /2 bytes\) but 8/],
    [
      "absurd shape",
      craft({ header, records: [rec({ dims: [0xffffffff, 0xffffffff], dataLength: 8 })] }),
      /shape/,
    ],
    [
      "data length beyond 2^53",
      craft({ header, records: [rec({ dataLength: 2 ** 62 })] }),
      /2\^53/,
    ],
    [
      "data beyond the file",
      craft({ header, records: [rec({ dims: [1000], dataLength: 4000 })] }),
      /needs 4000 bytes/,
    ],
  ];
  for (const [what, bytes, pattern] of cases) {
    const error = assertCheckpointError(() => decodeCheckpoint(bytes), pattern);
    assert.match(error.message, /^Cannot read checkpoint: /, what);
  }
  // The crafted reference file itself is fine, so the cases above fail for their stated reason.
  assert.equal(decodeCheckpoint(craft({ header, records: [rec()] })).arrays[0].data.length, 2);
  assertCheckpointError(() => decodeCheckpoint("nope" as never), /not a Uint8Array/);
  assertCheckpointError(
    () => decodeCheckpoint(good.subarray(0, 40), { source: "a/b.bin" }),
    /b\.bin/,
  );
});

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] ^= 0x10;
  return copy;
}

Deno.test("decodeCheckpoint with finiteOnly rejects NaN and Infinity in float arrays", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const bytes = encodeCheckpoint({
      header: {},
      arrays: [
        { name: "ok", shape: [2], data: new Int32Array([1, 2]) },
        { name: "w", shape: [3], data: new Float32Array([0, bad, 1]) },
      ],
    });
    assert.ok(Object.is(decodeCheckpoint(bytes).arrays[1].data[1], bad), "allowed by default");
    assertCheckpointError(
      () => decodeCheckpoint(bytes, { finiteOnly: true }),
      new RegExp(`"w" holds ${bad} at index 1`),
    );
  }
});

Deno.test("decodeCheckpoint fuzz: 1,500 mutated files decode or throw CheckpointError", () => {
  const rng = new Rng(20240611);
  const original = sample();
  const good = encodeCheckpoint(original);
  const { fields, regions } = layout(good);
  const interesting = [0, 1, 2, 3, 4, 7, 8, 9, 255, 256, 1024, 1025, 0x7fffffff, 0xffffffff];
  // Per class: changed files accepted, changed files rejected, no-op mutations.
  const outcome: Record<string, { ok: number; error: number; same: number }> = {};
  let unchanged = 0;

  for (let trial = 0; trial < 1500; trial++) {
    let bytes = good.slice();
    let kind: string;
    let fixed = false;
    switch (trial % 8) {
      case 0: // truncation at a random length
        kind = "truncate";
        bytes = bytes.slice(0, rng.int(bytes.length));
        break;
      case 1: // a few random bytes changed, checksum left stale
      case 2: { // the same with the checksum recomputed, so the parser must judge the change
        fixed = trial % 8 === 2;
        kind = fixed ? "bytes+crc" : "bytes";
        for (let n = 1 + rng.int(4); n > 0; n--) bytes[rng.int(bytes.length)] = rng.int(256);
        break;
      }
      case 3:
      case 4: { // a structural field set to an interesting or random value
        fixed = trial % 8 === 4;
        kind = fixed ? "field+crc" : "field";
        const field = fields[rng.int(fields.length)];
        const pick = rng.uniform();
        const old = readField(bytes, field);
        const value = pick < 0.5
          ? interesting[rng.int(interesting.length)]
          : pick < 0.8
          ? Math.max(0, old + rng.int(9) - 4)
          : rng.nextUint32();
        writeField(bytes, field, value);
        break;
      }
      case 5: { // bytes inside the header JSON, a name or the data changed, checksum recomputed
        fixed = true;
        kind = "region+crc";
        const nonEmpty = regions.filter((r) => r.size > 0);
        const region = nonEmpty[rng.int(nonEmpty.length)];
        const at = region.offset + rng.int(region.size);
        bytes[at] = rng.uniform() < 0.5 ? rng.int(256) : '{}[]":,0 ae\\'.charCodeAt(rng.int(12));
        break;
      }
      case 6: { // bytes inserted or deleted somewhere, checksum sometimes recomputed
        fixed = rng.uniform() < 0.5;
        kind = "splice";
        const at = rng.int(bytes.length);
        const insert = Uint8Array.from({ length: rng.int(9) }, () => rng.int(256));
        const cut = rng.int(9);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...insert, ...bytes.subarray(at + cut)]);
        break;
      }
      default: { // random garbage, often behind a valid magic and version
        kind = "garbage";
        const length = rng.int(200);
        bytes = Uint8Array.from({ length }, () => rng.int(256));
        if (rng.uniform() < 0.7) bytes = Uint8Array.from([...good.subarray(0, 12), ...bytes]);
        fixed = rng.uniform() < 0.5;
      }
    }
    if (fixed) fixCrc(bytes);
    const same = bytes.length === good.length && bytes.every((b, i) => b === good[i]);
    if (same) unchanged++;
    const tally = (outcome[kind] ??= { ok: 0, error: 0, same: 0 });
    let decoded: Checkpoint;
    try {
      decoded = decodeCheckpoint(bytes, { finiteOnly: rng.uniform() < 0.5 });
    } catch (error) {
      if (!(error instanceof CheckpointError)) {
        throw new Error(`trial ${trial} (${kind}) threw ${error}`, { cause: error });
      }
      assert.ok(!error.message.includes("\n"), error.message);
      assert.ok(!same, `trial ${trial}: the unchanged file was rejected: ${error.message}`);
      tally.error++;
      continue;
    }
    if (same) {
      tally.same++;
      assert.deepStrictEqual(decoded, original);
    } else {
      tally.ok++;
      // CRC-32 catches every change of up to 32 consecutive bits; anything accepted had its CRC fixed.
      assert.ok(fixed, `trial ${trial} (${kind}): a change passed the checksum`);
      // What decodes is what the bytes say: encoding it again gives the same bytes, up to the
      // formatting of the header JSON (a changed byte there can leave valid, non-canonical JSON).
      for (const array of decoded.arrays) {
        assert.equal(array.data.length, array.shape.reduce((a, b) => a * b, 1));
      }
      const again = encodeCheckpoint(decoded);
      const headerLength = new DataView(bytes.buffer).getUint32(24, true);
      const headerText = new TextDecoder().decode(bytes.subarray(32, 32 + headerLength));
      if (JSON.stringify(JSON.parse(headerText)) === headerText) {
        assert.deepStrictEqual(again, bytes, `trial ${trial} (${kind})`);
      } else {
        assert.deepStrictEqual(decodeCheckpoint(again), decoded);
      }
    }
  }
  // Every class ran, structural damage was rejected, and accepted data changes were seen too.
  for (const kind of ["truncate", "bytes", "field", "garbage"]) {
    assert.equal(outcome[kind].ok, 0, `${kind}: ${JSON.stringify(outcome[kind])}`);
    assert.ok(outcome[kind].error > 100, kind);
  }
  for (const kind of ["bytes+crc", "field+crc", "region+crc", "splice"]) {
    assert.ok(outcome[kind].error > 20, `${kind}: ${JSON.stringify(outcome[kind])}`);
  }
  assert.ok(outcome["region+crc"].ok > 20, JSON.stringify(outcome["region+crc"]));
  assert.ok(unchanged < 100, `mostly real mutations (${unchanged} no-ops)`);
});

function readField(bytes: Uint8Array, field: Field): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  if (field.size === 1) return view.getUint8(field.offset);
  if (field.size === 2) return view.getUint16(field.offset, true);
  return view.getUint32(field.offset, true);
}

function writeField(bytes: Uint8Array, field: Field, value: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  if (field.size === 1) view.setUint8(field.offset, value & 0xff);
  else if (field.size === 2) view.setUint16(field.offset, value & 0xffff, true);
  else view.setUint32(field.offset, value >>> 0, true); // low word of 8-byte fields too
}

Deno.test("getArray checks presence, dtype and shape", () => {
  const checkpoint = sample();
  assert.equal(getArray(checkpoint, "q.lstm.w", { dtype: "float32", shape: [4, 6] }).length, 24);
  assert.ok(getArray(checkpoint, "replay.actions") instanceof Int32Array);
  assertCheckpointError(() => getArray(checkpoint, "missing"), /"missing": no such array/);
  assertCheckpointError(() => getArray(checkpoint, "replay.done", { dtype: "int32" }), /uint8/);
  assertCheckpointError(() => getArray(checkpoint, "q.lstm.w", { shape: [6, 4] }), /\[4,6\]/);
  assertCheckpointError(() => getArray(checkpoint, "q.lstm.w", { shape: [4, 6, 1] }), /expected/);
});

Deno.test("writeFileAtomic replaces a file and leaves no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "state.bin");
    for (let i = 0; i < 5; i++) await writeFileAtomic(path, new Uint8Array(1000).fill(i));
    await writeFileAtomic(join(dir, "note.txt"), "héllo\n");
    assert.deepStrictEqual(await Deno.readFile(path), new Uint8Array(1000).fill(4));
    assert.equal(await Deno.readTextFile(join(dir, "note.txt")), "héllo\n");
    assert.deepStrictEqual(await listDir(dir), ["note.txt", "state.bin"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic cleans up after a failed rename and keeps what was there", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const target = join(dir, "busy");
    await Deno.mkdir(target);
    await Deno.writeTextFile(join(target, "keep"), "x");
    await assert.rejects(writeFileAtomic(target, "data"));
    assert.deepStrictEqual(await listDir(dir), ["busy"]);
    assert.equal(await Deno.readTextFile(join(target, "keep")), "x");
    await assert.rejects(
      writeFileAtomic(join(dir, "no", "such", "dir"), "data"),
      Deno.errors.NotFound,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("saveCheckpoint keeps the previous checkpoint and loadCheckpoint reads either", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await hasCheckpoint(dir), false);
    await saveCheckpoint(dir, { header: { step: 1 }, arrays: [] });
    assert.deepStrictEqual(await listDir(dir), [CHECKPOINT_FILE]);
    await saveCheckpoint(dir, { header: { step: 2 }, arrays: [] });
    await saveCheckpoint(dir, { header: { step: 3 }, arrays: [] });
    assert.equal(await hasCheckpoint(dir), true);
    assert.deepStrictEqual((await loadCheckpoint(dir)).header, { step: 3 });
    assert.deepStrictEqual((await loadCheckpoint(dir, { previous: true })).header, { step: 2 });
    assert.deepStrictEqual(await listDir(dir), [CHECKPOINT_FILE, PREVIOUS_CHECKPOINT_FILE]);

    // keepPrevious: false leaves the older previous checkpoint alone.
    await saveCheckpoint(dir, { header: { step: 4 }, arrays: [] }, { keepPrevious: false });
    assert.deepStrictEqual((await loadCheckpoint(dir, { previous: true })).header, { step: 2 });

    // A temporary file left by a killed save is removed by the next one.
    await Deno.writeTextFile(join(dir, `.${CHECKPOINT_FILE}.tmp-99999-dead`), "torn");
    await saveCheckpoint(dir, { header: { step: 5 }, arrays: [] });
    assert.deepStrictEqual(await listDir(dir), [CHECKPOINT_FILE, PREVIOUS_CHECKPOINT_FILE]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCheckpoint reports a missing or damaged file with its path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(loadCheckpoint(dir), (error: Error) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /checkpoint\.bin does not exist/);
      return true;
    });
    await Deno.writeFile(join(dir, CHECKPOINT_FILE), encodeCheckpoint(sample()).subarray(0, 100));
    await assert.rejects(loadCheckpoint(dir), (error: Error) => {
      assert.ok(error instanceof CheckpointError);
      assert.ok(error.message.startsWith(`Cannot read checkpoint ${join(dir, CHECKPOINT_FILE)}: `));
      return true;
    });
    await Deno.mkdir(join(dir, "sub", CHECKPOINT_FILE), { recursive: true });
    await assert.rejects(loadCheckpoint(join(dir, "sub")), CheckpointError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const canRun = (await Deno.permissions.query({ name: "run" })).state === "granted";

Deno.test({
  name: "saveCheckpoint leaves a whole checkpoint when the writer is killed with SIGKILL",
  ignore: !canRun || Deno.build.os === "windows",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const module = new URL("../lib/io/checkpoint.ts", import.meta.url).href;
      const script = join(dir, "writer.ts");
      await Deno.writeTextFile(
        script,
        `import { saveCheckpoint } from "${module}";
const dir = Deno.args[0];
for (let i = 1; ; i++) {
  const data = new Float32Array(250_000).fill(i);
  await saveCheckpoint(dir, { header: { i }, arrays: [{ name: "x", shape: [data.length], data }] });
  console.log(i);
}
`,
      );
      const runDir = join(dir, "run");
      await Deno.mkdir(runDir);
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--no-config", "--allow-read", "--allow-write", script, runDir],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      let last = 0;
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (last < 4) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
        const lines = text.trim().split("\n");
        last = Number(lines[lines.length - 1]);
      }
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
      assert.ok(last >= 4, `the writer saved ${last} checkpoints before it was killed`);
      for (const previous of [false, true]) {
        const checkpoint = await loadCheckpoint(runDir, { previous });
        const i = checkpoint.header.i as number;
        assert.ok(i >= last - 1, `checkpoint ${i} is recent (last printed ${last})`);
        assert.ok(checkpoint.arrays[0].data.every((x) => x === i), "arrays match their header");
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
