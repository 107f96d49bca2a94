/**
 * The SHA-256 digest in hexadecimal, the identity rnnrl gives files (a checkpoint, a run's
 * config.json) and the checksum it seals exported models with.
 *
 * @module
 */

/**
 * The SHA-256 of some bytes (text is hashed as UTF-8), as 64 hexadecimal digits.
 *
 * @param data The bytes or text.
 * @returns The digest.
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./digest.ts";
 * const abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
 * if (await sha256Hex("abc") !== abc) throw new Error("FIPS 180-2's test vector");
 * ```
 */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : new Uint8Array(data);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
