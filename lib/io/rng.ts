/**
 * A small, fast, seedable pseudo-random number generator.
 *
 * The algorithm is xoshiro128** (Blackman and Vigna, 2018): 128 bits of state, period 2^128 − 1,
 * 32-bit outputs, passes BigCrush. The state is seeded from one 32-bit integer by SplitMix32 so
 * that nearby seeds give unrelated streams. Everything is integer arithmetic on 32-bit lanes, so a
 * seed gives the same stream on every machine, and the whole state (including the spare Gaussian)
 * can be saved and restored for bit-exact resumption.
 *
 * @module
 */

/** The complete state of an {@linkcode Rng}, as plain numbers that survive JSON. */
export interface RngState {
  /** The four 32-bit words of xoshiro128** state (unsigned). */
  words: [number, number, number, number];
  /** The second Gaussian of the last Box–Muller pair, or null when none is pending. */
  spareNormal: number | null;
}

const TWO_POW_MINUS_32 = 1 / 4294967296;

/** Advances a SplitMix32 state and returns its next output; used only for seeding. */
function splitMix32(state: Uint32Array): number {
  state[0] = (state[0] + 0x9e3779b9) >>> 0;
  let z = state[0];
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seeded xoshiro128** generator with uniform, integer, Gaussian and Beta/Gamma draws.
 *
 * @example
 * ```ts
 * import { Rng } from "@rnnrl/rnnrl";
 * const rng = new Rng(42);
 * const u = rng.uniform(); // in [0, 1)
 * const k = rng.int(10); // in 0..9
 * const again = new Rng(42).uniform();
 * if (u !== again) throw new Error("same seed, same stream");
 * ```
 */
export class Rng {
  #s = new Uint32Array(4);
  #spareNormal: number | null = null;

  /** Creates a generator from a 32-bit integer seed (other numbers are truncated to 32 bits). */
  constructor(seed: number = 0) {
    if (!Number.isFinite(seed)) throw new RangeError(`Cannot seed Rng: seed is ${seed}`);
    const mix = new Uint32Array([seed >>> 0]);
    for (let i = 0; i < 4; i++) this.#s[i] = splitMix32(mix);
    // xoshiro must not start from the all-zero state.
    if ((this.#s[0] | this.#s[1] | this.#s[2] | this.#s[3]) === 0) this.#s[0] = 1;
  }

  /** Returns the next raw 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Returns a uniform float in [0, 1) with 32 bits of randomness. */
  uniform(): number {
    return this.nextUint32() * TWO_POW_MINUS_32;
  }

  /** Returns a uniform float in [low, high). */
  uniformIn(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** Returns a uniform integer in [0, n) without modulo bias (Lemire's rejection method). */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) {
      throw new RangeError(`Cannot draw an integer below ${n}: expected an integer in 1..2^32`);
    }
    if (n === 4294967296) return this.nextUint32();
    // Reject the top partial block so every residue is equally likely.
    const limit = 4294967296 - (4294967296 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Returns a standard normal draw (Box–Muller; the pair's second value is kept for the next call). */
  normal(mean: number = 0, std: number = 1): number {
    if (this.#spareNormal !== null) {
      const z = this.#spareNormal;
      this.#spareNormal = null;
      return mean + std * z;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * v;
    this.#spareNormal = radius * Math.sin(angle);
    return mean + std * radius * Math.cos(angle);
  }

  /** Returns a Gamma(shape, 1) draw (Marsaglia and Tsang, 2000; shape < 1 by the boost u^(1/shape)). */
  gamma(shape: number): number {
    if (!(shape > 0)) {
      throw new RangeError(`Cannot draw from Gamma: shape is ${shape}, expected > 0`);
    }
    if (shape < 1) {
      let u = this.uniform();
      while (u === 0) u = this.uniform();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Returns a Beta(alpha, beta) draw as a ratio of Gamma draws. */
  beta(alpha: number, beta: number): number {
    const x = this.gamma(alpha);
    const y = this.gamma(beta);
    return x / (x + y);
  }

  /** Shuffles an array in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** Returns a new generator seeded from this one's stream, for an independent sub-stream. */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }

  /** Returns a copy of the full state, for checkpoints. */
  getState(): RngState {
    const s = this.#s;
    return { words: [s[0], s[1], s[2], s[3]], spareNormal: this.#spareNormal };
  }

  /** Restores a state returned by {@linkcode Rng.getState}. */
  setState(state: RngState): void {
    const words = state?.words;
    if (!Array.isArray(words) || words.length !== 4 || !words.every(isUint32)) {
      throw new TypeError("Cannot restore Rng state: expected four unsigned 32-bit words");
    }
    if ((words[0] | words[1] | words[2] | words[3]) === 0) {
      throw new RangeError("Cannot restore Rng state: the all-zero state is invalid");
    }
    const spare = state.spareNormal;
    if (spare !== null && typeof spare !== "number") {
      throw new TypeError("Cannot restore Rng state: spareNormal must be a number or null");
    }
    this.#s.set(words);
    this.#spareNormal = spare;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function isUint32(x: unknown): boolean {
  return typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
}
