/**
 * Reading the environments' saved states back (internal): every check of a snapshot throws the
 * same one-line TypeError, "Cannot restore NAME: the saved state is malformed", and reads into
 * fresh values, so that an environment assigns nothing until the whole snapshot has passed.
 *
 * @module
 */

import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng } from "../io/rng.ts";

/** An RNG's state as JSON. */
export function rngJson(rng: Rng): JsonObject {
  const { words, spareNormal } = rng.getState();
  return { words, spareNormal };
}

/** Reads the fields of one saved state; each reader throws the environment's TypeError. */
export class SavedState {
  readonly #name: string;
  readonly #fields: Record<string, unknown>;

  /** Checks that `saved` is a plain JSON object. */
  constructor(name: string, saved: JsonValue) {
    this.#name = name;
    if (typeof saved !== "object" || saved === null || Array.isArray(saved)) this.fail();
    this.#fields = saved as Record<string, unknown>;
  }

  /** Throws the environment's TypeError. */
  fail(): never {
    throw new TypeError(`Cannot restore ${this.#name}: the saved state is malformed`);
  }

  /** Throws unless `condition` holds. */
  check(condition: boolean): void {
    if (!condition) this.fail();
  }

  /** A boolean. */
  flag(key: string): boolean {
    const v = this.#fields[key];
    if (typeof v !== "boolean") this.fail();
    return v;
  }

  /** An integer in 0..max. */
  count(key: string, max: number): number {
    const v = this.#fields[key];
    if (!isIntegerIn(v, 0, max)) this.fail();
    return v;
  }

  /** An integer in 0..max, or null. */
  countOrNull(key: string, max: number): number | null {
    return this.#fields[key] === null ? null : this.count(key, max);
  }

  /** A finite number in [low, high]. */
  number(key: string, low = -Infinity, high = Infinity): number {
    const v = this.#fields[key];
    if (!(typeof v === "number" && Number.isFinite(v) && v >= low && v <= high)) this.fail();
    return v;
  }

  /** `length` finite numbers, each in [low, high]. */
  numbers(key: string, length: number, low = -Infinity, high = Infinity): number[] {
    const v = this.#fields[key];
    if (!Array.isArray(v) || v.length !== length) this.fail();
    for (const x of v) {
      if (!(typeof x === "number" && Number.isFinite(x) && x >= low && x <= high)) this.fail();
    }
    return v.slice();
  }

  /** `length` integers, each in 0..max. */
  integers(key: string, length: number, max: number): number[] {
    const v = this.numbers(key, length, 0, max);
    if (!v.every(Number.isInteger)) this.fail();
    return v;
  }

  /** `length` zeros and ones. */
  bits(key: string, length: number): Uint8Array {
    return Uint8Array.from(this.integers(key, length, 1));
  }

  /** A fresh generator in the saved RNG state (four unsigned 32-bit words, not all zero). */
  rng(key = "rng"): Rng {
    const v = this.#fields[key];
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail();
    const { words, spareNormal } = v as Record<string, unknown>;
    if (!Array.isArray(words) || words.length !== 4) this.fail();
    if (!words.every((w) => isIntegerIn(w, 0, 0xffffffff)) || words.every((w) => w === 0)) {
      this.fail();
    }
    if (
      !(spareNormal === null || (typeof spareNormal === "number" && Number.isFinite(spareNormal)))
    ) {
      this.fail();
    }
    const rng = new Rng(0);
    rng.setState({ words: [words[0], words[1], words[2], words[3]], spareNormal });
    return rng;
  }
}

function isIntegerIn(v: unknown, low: number, high: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= low && v <= high;
}
