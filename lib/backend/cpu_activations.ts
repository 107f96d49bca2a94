/**
 * The CPU backend's float32 activations: sigmoid and tanh over arrays and strided rows, and the
 * fused LSTM cell step, each on the WebAssembly SIMD path (`wasm/activation_wasm.ts`) where it
 * can run and on the scalar TypeScript path (`f32_math.ts`) elsewhere. Both paths give the same
 * bits, so which one runs never changes a result.
 *
 * {@linkcode setF32ActivationPath} is a switch for tests and benches only (not exported from
 * the package): it can force the TypeScript path, or route float32 tensors through the old
 * `Math.exp`/`Math.tanh` code that float64 tensors use.
 *
 * @module
 */

import { sigmoidF32, tanhF32 } from "./f32_math.ts";
import { wasmActivations } from "./wasm/activation_wasm.ts";

/**
 * How the CPU backend computes float32 activations: "wasm" (the default; the TypeScript path
 * where WebAssembly SIMD is unavailable), "ts" (the scalar TypeScript functions of
 * `f32_math.ts`, same bits) or "libm" (`Math.exp`/`Math.tanh` in double precision, as float64
 * tensors do: different bits).
 */
export type F32ActivationPath = "wasm" | "ts" | "libm";

let requested: F32ActivationPath = "wasm";

/**
 * Chooses the float32 activation path, for tests and benches.
 *
 * @param path The path to use from now on.
 * @returns The path requested before.
 */
export function setF32ActivationPath(path: F32ActivationPath): F32ActivationPath {
  const before = requested;
  requested = path;
  return before;
}

/** The path float32 activations take now: "wasm" only where the module compiled. */
export function f32ActivationPath(): F32ActivationPath {
  if (requested === "wasm" && wasmActivations() === null) return "ts";
  return requested;
}

/** Whether float32 tensors use the old double-precision `Math.exp`/`Math.tanh` code. */
export function f32UsesLibm(): boolean {
  return requested === "libm";
}

/** The wasm module when the "wasm" path is chosen and available, else null. */
function wasm() {
  return requested === "wasm" ? wasmActivations() : null;
}

/** σ applied to all of `x`, in place. */
export function sigmoidInPlace(x: Float32Array): void {
  if (wasm()?.map("sigmoid", x)) return;
  for (let i = 0; i < x.length; i++) x[i] = sigmoidF32(x[i]);
}

/** tanh applied to all of `x`, in place. */
export function tanhInPlace(x: Float32Array): void {
  if (wasm()?.map("tanh", x)) return;
  for (let i = 0; i < x.length; i++) x[i] = tanhF32(x[i]);
}

/**
 * σ or tanh applied in place to `rows` rows of `width` floats of `x`, row r starting at
 * `offset + r·stride`; nothing else in `x` changes.
 */
export function activateRows(
  kind: "sigmoid" | "tanh",
  x: Float32Array,
  offset: number,
  rows: number,
  width: number,
  stride: number,
): void {
  if (width >= 4 && wasm()?.rows(kind, x, offset, rows, width, stride)) return;
  const fn = kind === "sigmoid" ? sigmoidF32 : tanhF32;
  for (let r = 0; r < rows; r++) {
    const start = offset + r * stride;
    for (let i = start; i < start + width; i++) x[i] = fn(x[i]);
  }
}

/**
 * The fused LSTM cell for one step in float32: `z` `[B, 4H]` holds the gate pre-activations
 * (i, f, g, o) and is overwritten with σ(i), σ(f), tanh(g), σ(o); then per element
 * `c = f·cPrev + i·g` (both products and the sum rounded to float32), `cell = c`,
 * `cTanh = tanh(c)`, `h = o·cTanh`. All arrays have exactly their `[B, 4H]` or `[B, H]` lengths.
 */
export function lstmCellF32(
  z: Float32Array,
  cPrev: Float32Array,
  cell: Float32Array,
  cTanh: Float32Array,
  h: Float32Array,
  batch: number,
  hidden: number,
): void {
  if (hidden % 4 === 0 && wasm()?.lstmCell(z, cPrev, cell, cTanh, h, batch, hidden)) return;
  lstmCellTs(z, cPrev, cell, cTanh, h, batch, hidden);
}

/** {@linkcode lstmCellF32} on the TypeScript path, whatever the sizes: the reference. */
export function lstmCellTs(
  z: Float32Array,
  cPrev: Float32Array,
  cell: Float32Array,
  cTanh: Float32Array,
  h: Float32Array,
  batch: number,
  hidden: number,
): void {
  const g4 = 4 * hidden;
  const f = Math.fround;
  for (let b = 0; b < batch; b++) {
    const zr = b * g4;
    const sr = b * hidden;
    for (let j = 0; j < hidden; j++) {
      const ig = sigmoidF32(z[zr + j]);
      const fg = sigmoidF32(z[zr + hidden + j]);
      const gg = tanhF32(z[zr + 2 * hidden + j]);
      const og = sigmoidF32(z[zr + 3 * hidden + j]);
      z[zr + j] = ig;
      z[zr + hidden + j] = fg;
      z[zr + 2 * hidden + j] = gg;
      z[zr + 3 * hidden + j] = og;
      const c = f(f(fg * cPrev[sr + j]) + f(ig * gg));
      cell[sr + j] = c;
      const ct = tanhF32(c);
      cTanh[sr + j] = ct;
      h[sr + j] = f(og * ct);
    }
  }
}
