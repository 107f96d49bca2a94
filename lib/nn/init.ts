/**
 * Weight initialisers, all driven by a seeded {@linkcode Rng} so that a seed fixes the network.
 *
 * @module
 */

import type { Rng } from "../io/rng.ts";

/**
 * Glorot (Xavier) uniform: U(−l, l) with l = sqrt(6 / (fanIn + fanOut)), for a `[fanIn, fanOut]`
 * matrix (Glorot and Bengio, 2010).
 */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const out = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < out.length; i++) out[i] = rng.uniformIn(-limit, limit);
  return out;
}

/**
 * A random `[rows, cols]` matrix with orthonormal rows (when rows ≤ cols) or columns (otherwise),
 * times `gain` (Saxe et al., 2014): Gram–Schmidt, applied twice for stability, on Gaussian vectors.
 */
export function orthogonal(rng: Rng, rows: number, cols: number, gain: number = 1): Float32Array {
  // Orthonormalise the shorter side: `count` vectors of length `length`.
  const count = Math.min(rows, cols);
  const length = Math.max(rows, cols);
  const vectors: Float64Array[] = [];
  for (let v = 0; v < count; v++) {
    const x = new Float64Array(length);
    for (let i = 0; i < length; i++) x[i] = rng.normal();
    for (let pass = 0; pass < 2; pass++) {
      for (const q of vectors) {
        let dot = 0;
        for (let i = 0; i < length; i++) dot += q[i] * x[i];
        for (let i = 0; i < length; i++) x[i] -= dot * q[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < length; i++) norm += x[i] * x[i];
    norm = Math.sqrt(norm);
    for (let i = 0; i < length; i++) x[i] /= norm;
    vectors.push(x);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out[r * cols + c] = gain * (rows <= cols ? vectors[r][c] : vectors[c][r]);
    }
  }
  return out;
}
