/**
 * CRC-32 (the IEEE 802.3 / zlib / PNG checksum: reflected polynomial 0xEDB88320, initial value
 * and final XOR 0xFFFFFFFF), table-driven, eight bytes per step ("slicing-by-8").
 *
 * @module
 */

/** Eight 256-entry tables: TABLES[k][b] is the CRC of byte b followed by k zero bytes. */
const TABLES: Uint32Array[] = buildTables();

function buildTables(): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    tables[0][b] = c >>> 0;
  }
  for (let b = 0; b < 256; b++) {
    let c = tables[0][b];
    for (let t = 1; t < 8; t++) {
      c = tables[0][c & 0xff] ^ (c >>> 8);
      tables[t][b] = c >>> 0;
    }
  }
  return tables;
}

/**
 * Computes the CRC-32 of `bytes`. Pass a previous result as `crc` to continue a checksum over
 * data that arrives in pieces.
 *
 * @param bytes The data.
 * @param crc The CRC-32 of the data before `bytes` (0 for none).
 * @returns The CRC-32 as an unsigned 32-bit integer.
 *
 * @example
 * ```ts
 * import { crc32 } from "./crc32.ts";
 * const check = crc32(new TextEncoder().encode("123456789"));
 * if (check !== 0xcbf43926) throw new Error("the standard check value");
 * ```
 */
export function crc32(bytes: Uint8Array, crc: number = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const end8 = bytes.length - (bytes.length % 8);
  for (; i < end8; i += 8) {
    const lo =
      (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>>
      0;
    c = t7[lo & 0xff] ^ t6[(lo >>> 8) & 0xff] ^ t5[(lo >>> 16) & 0xff] ^ t4[lo >>> 24] ^
      t3[bytes[i + 4]] ^ t2[bytes[i + 5]] ^ t1[bytes[i + 6]] ^ t0[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
