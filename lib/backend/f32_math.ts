/**
 * Deterministic single-precision `exp`, `sigmoid` and `tanh`: the scalar TypeScript reference of
 * the CPU backend's float32 activations. Every `+`, `−`, `×` and `÷` below is an IEEE float32
 * operation: computed in double precision and rounded by `Math.fround`, which gives exactly the
 * float32 result because a double carries more than twice float32's 24 significand bits plus two
 * (53 ≥ 2·24 + 2). So these functions give the same bits as the WebAssembly SIMD kernels in
 * `wasm/activation_wasm.ts`, which run the same steps in the same order on `f32x4` lanes (no fused
 * multiply-add anywhere), and the same bits on every machine.
 *
 * The algorithms are those of Cephes' `expf` and `tanhf` (S. L. Moshier), with their published
 * polynomial coefficients; the code is written afresh. Measured against `Math.exp`/`Math.tanh`
 * in float64 (see `tests/backend_f32_math_test.ts`): `expF32` is within 1 float32 ulp on
 * [−87, 88], `sigmoidF32` and `tanhF32` within 1e-7 absolute.
 *
 * @module
 */

const f = Math.fround;

/** log2(e), rounded to float32. */
export const LOG2E_F32: number = f(1.44269504088896341);
/** The high part of ln 2 (exact in few bits, so k·C1 is exact for |k| < 2^15). */
export const LN2_HI_F32: number = f(0.693359375);
/** The low part of ln 2, with its sign: ln 2 ≈ LN2_HI + LN2_LO. */
export const LN2_LO_F32: number = f(-2.12194440e-4);
/** The lower clamp of `expF32`'s argument (exp(−87) is still a normal float32). */
export const EXP_MIN_F32 = -87;
/** The upper clamp of `expF32`'s argument (exp(88) is still finite in float32). */
export const EXP_MAX_F32 = 88;

/** Coefficients of exp(r) ≈ 1 + r + r²·P(r) on |r| ≤ ln2/2, highest degree first. */
export const EXP_P_F32: readonly number[] = Object.freeze([
  f(1.9875691500e-4),
  f(1.3981999507e-3),
  f(8.3334519073e-3),
  f(4.1665795894e-2),
  f(1.6666665459e-1),
  f(5.0000001201e-1),
]);

/** Coefficients of tanh(a) ≈ a + a·z·Q(z), z = a², on |a| < 0.625, highest degree first. */
export const TANH_Q_F32: readonly number[] = Object.freeze([
  f(-5.70498872745e-3),
  f(2.06390887954e-2),
  f(-5.37397155531e-2),
  f(1.33314422036e-1),
  f(-3.33332819422e-1),
]);

/** Below this |x|, `tanhF32` uses its polynomial; from it on, 1 − 2/(e^{2|x|} + 1). */
export const TANH_SMALL_F32 = 0.625;

/** 2^k for k = −126 … 127, exact (all normal float32 values). */
const POW2: Float64Array = (() => {
  const t = new Float64Array(254);
  for (let k = -126; k <= 127; k++) t[k + 126] = 2 ** k;
  return t;
})();

const [P0, P1, P2, P3, P4, P5] = EXP_P_F32;
const [Q0, Q1, Q2, Q3, Q4] = TANH_Q_F32;

/**
 * Rounds to the nearest integer, ties to even (like `f32x4.nearest` and `roundevenf`); keeps the
 * sign of zero (−0.3 → −0) and passes NaN through.
 */
export function roundHalfEven(v: number): number {
  const r = Math.round(v); // ties toward +∞; −0 for v in [−0.5, 0)
  // A tie rounded up to an odd integer goes down instead (r − 1 is even and exact).
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * e^x in float32 arithmetic. The argument is rounded to float32 and clamped to [−87, 88], so the
 * result is always a normal float32 (about 1.6e−38 at least, 1.65e38 at most); NaN gives NaN.
 *
 * @example
 * ```ts
 * import { expF32 } from "./f32_math.ts";
 * if (expF32(0) !== 1) throw new Error("exp(0) should be exactly 1");
 * ```
 *
 * @param x The exponent.
 * @returns e^x, a float32 value.
 */
export function expF32(x: number): number {
  // Math.max/Math.min propagate NaN, like f32x4.max/min.
  const xc = Math.min(Math.max(f(x), EXP_MIN_F32), EXP_MAX_F32);
  if (xc !== xc) return NaN;
  const kf = roundHalfEven(f(xc * LOG2E_F32)); // in [−126, 127]
  // r = x − k·ln 2 in two parts (k·C1 is exact).
  const r = f(f(xc - f(kf * LN2_HI_F32)) - f(kf * LN2_LO_F32));
  const z = f(r * r);
  let p = f(f(P0 * r) + P1);
  p = f(f(p * r) + P2);
  p = f(f(p * r) + P3);
  p = f(f(p * r) + P4);
  p = f(f(p * r) + P5);
  p = f(f(f(p * z) + r) + 1);
  return f(p * POW2[kf + 126]);
}

/**
 * The logistic function 1 / (1 + e^−x) in float32 arithmetic (see {@linkcode expF32}).
 *
 * @param x The argument.
 * @returns σ(x), a float32 value in (0, 1].
 */
export function sigmoidF32(x: number): number {
  return f(1 / f(1 + expF32(-f(x))));
}

/**
 * tanh(x) in float32 arithmetic: a polynomial for |x| < 0.625, else 1 − 2/(e^{2|x|} + 1); odd
 * (tanh(−0) = −0), NaN gives NaN.
 *
 * @param x The argument.
 * @returns tanh(x), a float32 value in [−1, 1].
 */
export function tanhF32(x: number): number {
  const xf = f(x);
  const a = Math.abs(xf);
  let y: number;
  if (a < TANH_SMALL_F32) {
    const z = f(a * a);
    let q = f(f(Q0 * z) + Q1);
    q = f(f(q * z) + Q2);
    q = f(f(q * z) + Q3);
    q = f(f(q * z) + Q4);
    y = f(f(f(q * z) * a) + a);
  } else {
    y = f(1 - f(2 / f(expF32(f(2 * a)) + 1)));
  }
  // y ≥ 0 (or NaN): give it the sign of x, −0 included.
  return xf < 0 || (xf === 0 && 1 / xf < 0) ? -y : y;
}

/**
 * Applies {@linkcode sigmoidF32} to `x[start .. end)`, in place.
 *
 * @param x The values.
 * @param start The first index.
 * @param end One past the last index.
 */
export function sigmoidF32InPlace(x: Float32Array, start = 0, end: number = x.length): void {
  for (let i = start; i < end; i++) x[i] = sigmoidF32(x[i]);
}

/**
 * Applies {@linkcode tanhF32} to `x[start .. end)`, in place.
 *
 * @param x The values.
 * @param start The first index.
 * @param end One past the last index.
 */
export function tanhF32InPlace(x: Float32Array, start = 0, end: number = x.length): void {
  for (let i = start; i < end; i++) x[i] = tanhF32(x[i]);
}
