/**
 * Single-precision matrix multiply over `Float32Array`, row-major: the hot loop of the CPU
 * backend.
 *
 * Two implementations give the same bits: a WebAssembly SIMD kernel (assembled at first use by
 * `wasm/gemm_wasm.ts`) for everything but tiny products, and a register-blocked TypeScript kernel,
 * which is the fallback where WebAssembly is unavailable and the reference the tests hold the
 * wasm kernel to. Both fix one summation order: each element of C starts from +0 (or its old
 * value when accumulating) and adds the float32 products `a[i,p]·b[p,j]` for p = 0, 1, …, k−1,
 * rounding to float32 after every operation. So a result depends only on the values of its row of
 * op(A) and column of op(B): the same inputs give the same bits on every call, whatever the batch
 * size, path or blocking.
 *
 * {@linkcode packRhs} packs a right-hand operand once for many products with it (the recurrent
 * weights of an LSTM or GRU, multiplied by every step's state): the same bits as {@linkcode gemm}
 * with that operand, without copying and packing it again on every call.
 *
 * @module
 */

import {
  addBiasRows,
  packWasmB,
  releaseWasmB,
  runWasmGemm,
  runWasmGemmPacked,
  runWasmSumRows,
  WASM_MAX_BYTES,
  wasmGemmAvailable,
  wasmGemmBytes,
  type WasmPackedB,
} from "./wasm/gemm_wasm.ts";

/** Options of {@linkcode gemm}. */
export interface GemmOptions {
  /** Use Aᵀ: A is stored `[k, m]` instead of `[m, k]`. */
  transposeA?: boolean;
  /** Use Bᵀ: B is stored `[n, k]` instead of `[k, n]`. */
  transposeB?: boolean;
  /** Add the product to C instead of overwriting it. */
  accumulate?: boolean;
  /**
   * Add `bias[j]` to column j of every row once the product is complete (`C[i, j] + bias[j]`,
   * rounded to float32, as a TypeScript loop over float32 arrays gives).
   */
  bias?: Float32Array;
  /** Then set every element below zero to +0 (−0 and NaN stay), as `x < 0 ? 0 : x`. */
  relu?: boolean;
}

/**
 * Products with fewer multiply-adds than this run in TypeScript: below it, the wasm path's fixed
 * costs (calls, copies, packing) outweigh its faster kernel.
 */
const WASM_MIN_MACS = 512;

/**
 * C[m×n] = op(A)·op(B) (+ C when accumulate). A is [m,k] (or [k,m] when transposeA), B is [k,n]
 * (or [n,k] when transposeB), C is [m,n]; all dense row-major, may be subarray views.
 *
 * Only the first m·k, k·n and m·n elements of A, B and C are used. C may overlap A or B: both are
 * read in full before C is written. With k = 0 the product is zero (C is zeroed, or left as it is
 * when accumulating). The result is deterministic; see the module doc for the summation order.
 * A `bias` and `relu` are applied to the finished sums, element by element.
 *
 * @example Multiply a 2×3 matrix by a 3×2 matrix
 * ```ts
 * import { gemm } from "./cpu_gemm.ts";
 *
 * const a = new Float32Array([1, 2, 3, 4, 5, 6]);
 * const b = new Float32Array([1, 0, 0, 1, 1, 1]);
 * const c = new Float32Array(4);
 * gemm(a, b, c, 2, 2, 3);
 * if (c.join() !== "4,5,10,11") throw new Error("unexpected product");
 * ```
 *
 * @param a The left operand, `[m, k]` or `[k, m]`.
 * @param b The right operand, `[k, n]` or `[n, k]`.
 * @param c The output `[m, n]`, written in place.
 * @param m The rows of op(A) and of C.
 * @param n The columns of op(B) and of C.
 * @param k The columns of op(A) and rows of op(B).
 * @param options Transpose flags and accumulation.
 * @throws {RangeError} When a size is not a non-negative integer or an array is too short.
 */
export function gemm(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  options: GemmOptions = {},
): void {
  validate(a, b, c, m, n, k, options.bias);
  multiply(a, b, c, m, n, k, options, gemmUsesWasm(m, n, k) ? "auto" : "ts");
}

/**
 * Whether {@linkcode gemm} runs these sizes on the WebAssembly path (true where it is available
 * and the product is neither tiny nor too large for its memory). The choice depends on the sizes
 * only, and both paths give the same bits, so it never changes a result.
 *
 * @param m The rows of C.
 * @param n The columns of C.
 * @param k The inner size.
 * @returns True for the wasm path, false for the TypeScript path.
 */
export function gemmUsesWasm(m: number, n: number, k: number): boolean {
  return m * n * k >= WASM_MIN_MACS && wasmGemmBytes(m, n, k) <= WASM_MAX_BYTES &&
    wasmGemmAvailable();
}

/**
 * {@linkcode gemm} on the TypeScript path only, whatever the sizes: the fallback and reference.
 *
 * @param a The left operand, `[m, k]` or `[k, m]`.
 * @param b The right operand, `[k, n]` or `[n, k]`.
 * @param c The output `[m, n]`, written in place.
 * @param m The rows of op(A) and of C.
 * @param n The columns of op(B) and of C.
 * @param k The columns of op(A) and rows of op(B).
 * @param options Transpose flags and accumulation.
 * @throws {RangeError} When a size is not a non-negative integer or an array is too short.
 */
export function gemmTs(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  options: GemmOptions = {},
): void {
  validate(a, b, c, m, n, k, options.bias);
  multiply(a, b, c, m, n, k, options, "ts");
}

/**
 * {@linkcode gemm} on the WebAssembly SIMD path only, whatever the sizes.
 *
 * @param a The left operand, `[m, k]` or `[k, m]`.
 * @param b The right operand, `[k, n]` or `[n, k]`.
 * @param c The output `[m, n]`, written in place.
 * @param m The rows of op(A) and of C.
 * @param n The columns of op(B) and of C.
 * @param k The columns of op(A) and rows of op(B).
 * @param options Transpose flags and accumulation.
 * @throws {RangeError} When a size is not a non-negative integer, an array is too short, or the
 *   operands do not fit the wasm memory.
 * @throws {TypeError} Where WebAssembly SIMD is unavailable.
 */
export function gemmWasm(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  options: GemmOptions = {},
): void {
  validate(a, b, c, m, n, k, options.bias);
  if (!wasmGemmAvailable()) {
    throw new TypeError("Cannot multiply matrices in wasm: WebAssembly SIMD is unavailable");
  }
  if (wasmGemmBytes(m, n, k) > WASM_MAX_BYTES) {
    throw new RangeError(
      `Cannot multiply matrices in wasm: ${m}×${k} by ${k}×${n} needs more than ${WASM_MAX_BYTES} bytes`,
    );
  }
  multiply(a, b, c, m, n, k, options, "wasm");
}

/** Options of {@linkcode PackedRhs.multiply}. */
export interface PackedGemmOptions {
  /** Use Aᵀ: A is stored `[k, m]` instead of `[m, k]`. */
  transposeA?: boolean;
  /** Add the product to C instead of overwriting it. */
  accumulate?: boolean;
}

/**
 * A right-hand operand op(B) `[k, n]` of {@linkcode gemm}, packed once by {@linkcode packRhs} for
 * many products `C = op(A)·op(B) (+ C)`: on the wasm path its panels stay in the module's memory
 * until {@linkcode PackedRhs.dispose}, so a product copies and packs only A. Every product gives
 * exactly the bits of `gemm` with the values B had when it was packed.
 */
export class PackedRhs {
  /** Rows of op(B): the inner size of every product. */
  readonly k: number;
  /** Columns of op(B) and of C. */
  readonly n: number;
  /** B as it was packed (a copy): used where the wasm path cannot run. */
  readonly #copy: Float32Array;
  readonly #transposeB: boolean;
  #wasm: WasmPackedB | null;
  #disposed = false;

  /** Use {@linkcode packRhs}. */
  constructor(b: Float32Array, k: number, n: number, transposeB: boolean) {
    this.k = k;
    this.n = n;
    this.#copy = b.slice(0, k * n);
    this.#transposeB = transposeB;
    const fits = k > 0 && n > 0 && wasmGemmBytes(1, n, k) + 4 * k * n <= WASM_MAX_BYTES;
    this.#wasm = fits && wasmGemmAvailable() ? packWasmB(b, k, n, transposeB) : null;
  }

  /**
   * C[m×n] = op(A)·op(B) (+ C when accumulating), with A `[m, k]` (or `[k, m]` when
   * transposeA): the bits of `gemm(a, b, c, m, n, k, …)`. C may overlap A.
   *
   * @param a The left operand, `[m, k]` or `[k, m]`.
   * @param c The output `[m, n]`, written in place.
   * @param m The rows of op(A) and of C.
   * @param options Transpose flag of A and accumulation.
   * @throws {RangeError} When m is not a size or an array is too short.
   * @throws {Error} After {@linkcode PackedRhs.dispose}.
   */
  multiply(a: Float32Array, c: Float32Array, m: number, options: PackedGemmOptions = {}): void {
    if (this.#disposed) throw new Error("Cannot multiply by a packed matrix after disposing it");
    const { k, n } = this;
    validate(a, this.#copy, c, m, n, k);
    const transposeA = options.transposeA ?? false, accumulate = options.accumulate ?? false;
    if (
      m > 0 && this.#wasm !== null &&
      runWasmGemmPacked(a, this.#wasm, c, m, transposeA, accumulate)
    ) return;
    const gemmOptions = { transposeA, transposeB: this.#transposeB, accumulate };
    multiply(a, this.#copy, c, m, n, k, gemmOptions, gemmUsesWasm(m, n, k) ? "auto" : "ts");
  }

  /** Frees the packed panels; the operand cannot be used afterwards. Safe to call twice. */
  dispose(): void {
    this.#disposed = true;
    if (this.#wasm !== null) releaseWasmB(this.#wasm);
    this.#wasm = null;
  }

  /** {@linkcode PackedRhs.dispose}, for `using` declarations. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Packs op(B) `[k, n]` (B stored `[n, k]` when transposeB) for many products with it; see
 * {@linkcode PackedRhs}. Dispose of it when done: on the wasm path it holds memory until then.
 *
 * @example Multiply two left operands by one packed right operand
 * ```ts
 * import { gemm, packRhs } from "./cpu_gemm.ts";
 *
 * const b = new Float32Array([1, 0, 0, 1, 1, 1]); // [3, 2]
 * const packed = packRhs(b, 3, 2);
 * const c = new Float32Array(4), d = new Float32Array(4);
 * try {
 *   packed.multiply(new Float32Array([1, 2, 3, 4, 5, 6]), c, 2);
 *   packed.multiply(new Float32Array([1, 1, 1, 0, 0, 0]), d, 2);
 * } finally {
 *   packed.dispose();
 * }
 * if (c.join() !== "4,5,10,11" || d.join() !== "2,2,0,0") throw new Error("unexpected product");
 * ```
 *
 * @param b The right operand, `[k, n]` or `[n, k]`.
 * @param k The rows of op(B).
 * @param n The columns of op(B).
 * @param options Whether B is stored transposed.
 * @returns The packed operand.
 * @throws {RangeError} When a size is not a non-negative integer or B is too short.
 */
export function packRhs(
  b: Float32Array,
  k: number,
  n: number,
  options: { transposeB?: boolean } = {},
): PackedRhs {
  validate(new Float32Array(0), b, new Float32Array(0), 0, n, k);
  return new PackedRhs(b, k, n, options.transposeB ?? false);
}

function validate(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  bias?: Float32Array,
): void {
  for (const [label, size] of [["m", m], ["n", n], ["k", k]] as const) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Cannot multiply matrices: ${label} is ${size}, not a size`);
    }
  }
  for (const [label, array, need] of [["A", a, m * k], ["B", b, k * n], ["C", c, m * n]] as const) {
    if (array.length < need) {
      throw new RangeError(
        `Cannot multiply matrices: ${label} has ${array.length} elements, needs ${need} for m=${m} n=${n} k=${k}`,
      );
    }
  }
  if (bias && bias.length < n) {
    throw new RangeError(
      `Cannot multiply matrices: the bias has ${bias.length} elements, needs ${n}`,
    );
  }
}

/**
 * Runs one validated product: "ts" on the TypeScript path, "wasm" on the wasm path (an error if
 * its memory cannot grow enough), "auto" on the wasm path falling back to TypeScript.
 */
function multiply(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  options: GemmOptions,
  path: "ts" | "wasm" | "auto",
): void {
  const transposeA = options.transposeA ?? false, transposeB = options.transposeB ?? false;
  const accumulate = options.accumulate ?? false;
  const bias = options.bias, relu = options.relu ?? false;
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (!accumulate) c.fill(0, 0, m * n);
    addBiasRows(c, m, n, bias, relu);
    return;
  }
  if (
    path !== "ts" &&
    runWasmGemm(a, b, c, m, n, k, transposeA, transposeB, accumulate, bias, relu)
  ) return;
  if (path === "wasm") {
    throw new RangeError(
      `Cannot multiply matrices in wasm: memory cannot grow to ${wasmGemmBytes(m, n, k)} bytes`,
    );
  }
  gemmTypeScript(a, b, c, m, n, k, transposeA, transposeB, accumulate);
  addBiasRows(c, m, n, bias, relu);
}

/** Sums below which {@linkcode sumRows} stays in TypeScript (the copy costs more than the sum). */
const WASM_MIN_SUM = 1024;

/**
 * `out[j] = Σ_i x[i, j]` for x `[m, n]`: each column summed from +0 in row order, every sum
 * rounded to float32 — the bits of `out.fill(0)` then `out[j] += x[i·n + j]` for i = 0..m−1, on
 * the wasm path where it runs and for large enough sums.
 *
 * @param x The matrix, `[m, n]` row-major (only its first m·n elements are read).
 * @param out The sums, `[n]`, written in place.
 * @param m The rows of x.
 * @param n The columns of x.
 * @throws {RangeError} When a size is not a size or an array is too short.
 */
export function sumRows(x: Float32Array, out: Float32Array, m: number, n: number): void {
  for (const [label, size] of [["m", m], ["n", n]] as const) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`Cannot sum rows: ${label} is ${size}, not a size`);
    }
  }
  if (x.length < m * n || out.length < n) {
    throw new RangeError(
      `Cannot sum rows: x has ${x.length} elements and out ${out.length}, need ${m * n} and ${n}`,
    );
  }
  if (m * n >= WASM_MIN_SUM && wasmGemmAvailable() && runWasmSumRows(x, out, m, n)) return;
  sumRowsTs(x, out, m, n);
}

/** {@linkcode sumRows} in TypeScript only: the fallback and reference. */
export function sumRowsTs(x: Float32Array, out: Float32Array, m: number, n: number): void {
  out.fill(0, 0, n);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) out[j] += x[row + j];
  }
}

// ---------------------------------------------------------------------------------------------
// TypeScript path: A and B are packed into zero-padded panels of 4 rows of op(A) and 4 columns of
// op(B) (so the inner loop is unit-stride whatever the transposes), then each 4×4 tile of C is
// accumulated in 16 locals. `Math.fround` after each multiply and add makes the float64 arithmetic
// of JavaScript give exactly the float32 results of the wasm kernel.

/** Reusable packing buffers of the TypeScript path (grown, never shrunk). */
const scratch: { a: Float32Array; b: Float32Array } = {
  a: new Float32Array(0),
  b: new Float32Array(0),
};

function grow(buffer: Float32Array, size: number): Float32Array {
  return buffer.length >= size ? buffer : new Float32Array(Math.max(size, buffer.length * 2));
}

/**
 * Packs op(X) lines into panels of 4: `out[(t·depth + p)·4 + l] = x[(4t + l)·lineStride +
 * p·depthStride]`, zero for lines past `lines`.
 */
function packPanels(
  x: Float32Array,
  out: Float32Array,
  lines: number,
  depth: number,
  lineStride: number,
  depthStride: number,
): void {
  let o = 0;
  for (let l0 = 0; l0 < lines; l0 += 4) {
    const full = l0 + 4 <= lines;
    const s0 = l0 * lineStride;
    for (let p = 0, s = s0; p < depth; p++, s += depthStride, o += 4) {
      if (full) {
        out[o] = x[s];
        out[o + 1] = x[s + lineStride];
        out[o + 2] = x[s + 2 * lineStride];
        out[o + 3] = x[s + 3 * lineStride];
      } else {
        for (let l = 0; l < 4; l++) out[o + l] = l0 + l < lines ? x[s + l * lineStride] : 0;
      }
    }
  }
}

function gemmTypeScript(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
  accumulate: boolean,
): void {
  const mp = Math.ceil(m / 4) * 4, np = Math.ceil(n / 4) * 4;
  const pa = scratch.a = grow(scratch.a, mp * k);
  const pb = scratch.b = grow(scratch.b, np * k);
  packPanels(a, pa, m, k, transposeA ? 1 : k, transposeA ? m : 1);
  packPanels(b, pb, n, k, transposeB ? k : 1, transposeB ? 1 : n);
  for (let j0 = 0; j0 < n; j0 += 4) {
    for (let i0 = 0; i0 < m; i0 += 4) {
      if (i0 + 4 <= m && j0 + 4 <= n) {
        tile(pa, pb, i0 * k, j0 * k, k, c, i0 * n + j0, n, accumulate);
      } else edgeTile(pa, pb, c, m, n, k, i0, j0, accumulate);
    }
  }
}

/**
 * A tile cut by the edge of C, one row at a time: four columns (the padding multiplies zeros)
 * in the same order as a full tile, storing the columns that exist.
 */
function edgeTile(
  pa: Float32Array,
  pb: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  i0: number,
  j0: number,
  accumulate: boolean,
): void {
  const f = Math.fround;
  const cols = Math.min(4, n - j0);
  for (let i = i0; i < Math.min(i0 + 4, m); i++) {
    const o = i * n + j0;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    if (accumulate) {
      s0 = c[o];
      if (cols > 1) s1 = c[o + 1];
      if (cols > 2) s2 = c[o + 2];
      if (cols > 3) s3 = c[o + 3];
    }
    for (let p = 0, qa = i0 * k + i - i0, qb = j0 * k; p < k; p++, qa += 4, qb += 4) {
      const x = pa[qa];
      s0 = f(s0 + f(x * pb[qb])), s1 = f(s1 + f(x * pb[qb + 1]));
      s2 = f(s2 + f(x * pb[qb + 2])), s3 = f(s3 + f(x * pb[qb + 3]));
    }
    c[o] = s0;
    if (cols > 1) c[o + 1] = s1;
    if (cols > 2) c[o + 2] = s2;
    if (cols > 3) c[o + 3] = s3;
  }
}

/**
 * One 4×4 tile: `out[o + i·ld + j] (+)= Σ_p pa[qa + 4p + i]·pb[qb + 4p + j]` in float32 steps,
 * starting from the tile's old values when `load`, else from zero.
 */
function tile(
  pa: Float32Array,
  pb: Float32Array,
  qa: number,
  qb: number,
  k: number,
  out: Float32Array,
  o: number,
  ld: number,
  load: boolean,
): void {
  const f = Math.fround;
  const o0 = o, o1 = o0 + ld, o2 = o1 + ld, o3 = o2 + ld;
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  if (load) {
    c00 = out[o0], c01 = out[o0 + 1], c02 = out[o0 + 2], c03 = out[o0 + 3];
    c10 = out[o1], c11 = out[o1 + 1], c12 = out[o1 + 2], c13 = out[o1 + 3];
    c20 = out[o2], c21 = out[o2 + 1], c22 = out[o2 + 2], c23 = out[o2 + 3];
    c30 = out[o3], c31 = out[o3 + 1], c32 = out[o3 + 2], c33 = out[o3 + 3];
  }
  for (let p = 0; p < k; p++, qa += 4, qb += 4) {
    const a0 = pa[qa], a1 = pa[qa + 1], a2 = pa[qa + 2], a3 = pa[qa + 3];
    const b0 = pb[qb], b1 = pb[qb + 1], b2 = pb[qb + 2], b3 = pb[qb + 3];
    c00 = f(c00 + f(a0 * b0)), c01 = f(c01 + f(a0 * b1));
    c02 = f(c02 + f(a0 * b2)), c03 = f(c03 + f(a0 * b3));
    c10 = f(c10 + f(a1 * b0)), c11 = f(c11 + f(a1 * b1));
    c12 = f(c12 + f(a1 * b2)), c13 = f(c13 + f(a1 * b3));
    c20 = f(c20 + f(a2 * b0)), c21 = f(c21 + f(a2 * b1));
    c22 = f(c22 + f(a2 * b2)), c23 = f(c23 + f(a2 * b3));
    c30 = f(c30 + f(a3 * b0)), c31 = f(c31 + f(a3 * b1));
    c32 = f(c32 + f(a3 * b2)), c33 = f(c33 + f(a3 * b3));
  }
  out[o0] = c00, out[o0 + 1] = c01, out[o0 + 2] = c02, out[o0 + 3] = c03;
  out[o1] = c10, out[o1 + 1] = c11, out[o1 + 2] = c12, out[o1 + 3] = c13;
  out[o2] = c20, out[o2 + 1] = c21, out[o2 + 2] = c22, out[o2 + 3] = c23;
  out[o3] = c30, out[o3 + 1] = c31, out[o3 + 2] = c32, out[o3 + 3] = c33;
}
