/**
 * A checksum inside an exported model, so that a damaged `.onnx` file is refused instead of
 * played. ONNX has no checksum of its own; rnnrl appends one last `metadata_props` entry,
 * `rnnrl.sha256`, holding the SHA-256 of every byte before it.
 *
 * That works because protobuf messages concatenate: the bytes of a model followed by the bytes of
 * a model that holds only one metadata entry decode as the first model with that entry appended.
 * So the sealed file is the unsealed encoding, then the entry; to check it, encode the entry it
 * names again, find exactly those bytes at the end, and hash what comes before. Any flipped,
 * missing or added byte changes the digest or the entry.
 *
 * @module
 */

import { sha256Hex } from "../io/digest.ts";
import { decodeOnnxModel, encodeOnnxModel, type OnnxModel } from "./onnx_proto.ts";

/** The metadata key of the checksum. */
export const ONNX_SEAL_KEY = "rnnrl.sha256";

/**
 * Appends the checksum entry to an encoded model.
 *
 * @param bytes An encoded model without the entry.
 * @returns The sealed model.
 *
 * @example
 * ```ts
 * import { encodeOnnxModel } from "./onnx_proto.ts";
 * import { checkOnnxSeal, sealOnnxModel } from "./seal.ts";
 * const sealed = await sealOnnxModel(encodeOnnxModel({ irVersion: 8, producerName: "rnnrl" }));
 * if (await checkOnnxSeal(sealed) !== "intact") throw new Error("sealed");
 * sealed[sealed.length - 1] ^= 1; // a bit of the digest itself
 * if (await checkOnnxSeal(sealed) !== "damaged") throw new Error("a flipped bit shows");
 * ```
 */
export async function sealOnnxModel(bytes: Uint8Array): Promise<Uint8Array> {
  const trailer = sealEntry(await sha256Hex(bytes));
  const out = new Uint8Array(bytes.length + trailer.length);
  out.set(bytes);
  out.set(trailer, bytes.length);
  return out;
}

/**
 * Checks an encoded model's checksum.
 *
 * @param bytes The file's contents.
 * @param model The model decoded from them, when the caller has it already.
 * @returns "intact", "damaged" (the checksum does not match its bytes), or "unsealed" (no
 * checksum: a model that rnnrl did not write, or one it wrote before it sealed them).
 * @throws {TypeError} When the bytes are not an ONNX model at all.
 */
export async function checkOnnxSeal(
  bytes: Uint8Array,
  model: OnnxModel = decodeOnnxModel(bytes),
): Promise<"intact" | "damaged" | "unsealed"> {
  const entries = model.metadataProps ?? [];
  const seals = entries.filter((entry) => entry.key === ONNX_SEAL_KEY);
  if (seals.length === 0) return "unsealed";
  const last = entries[entries.length - 1];
  if (seals.length > 1 || last.key !== ONNX_SEAL_KEY || !/^[0-9a-f]{64}$/.test(last.value ?? "")) {
    return "damaged";
  }
  const trailer = sealEntry(last.value!);
  const body = bytes.length - trailer.length;
  if (body < 0) return "damaged";
  for (let i = 0; i < trailer.length; i++) if (bytes[body + i] !== trailer[i]) return "damaged";
  return await sha256Hex(bytes.subarray(0, body)) === last.value ? "intact" : "damaged";
}

/** The bytes of a model holding only the checksum entry: what a sealed file ends with. */
function sealEntry(digest: string): Uint8Array {
  return encodeOnnxModel({ metadataProps: [{ key: ONNX_SEAL_KEY, value: digest }] });
}
