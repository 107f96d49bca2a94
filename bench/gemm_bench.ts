/**
 * Matrix multiply on the CPU: `gemm` (wasm SIMD path for all these shapes), its TypeScript path,
 * and a naive triple loop, on the products an LSTM with B=64 T=32 I=32 H=128 spends its time in.
 * FLOPs per call are 2·m·n·k; divide by the time per iteration for GFLOP/s.
 *
 *     deno bench bench/gemm_bench.ts
 *
 * @module
 */

import { gemm, type GemmOptions, gemmTs } from "../lib/backend/cpu_gemm.ts";
import { Rng } from "../lib/io/rng.ts";

/** The obvious loop, float64 sums: what the CPU backend would do without a kernel. */
function naive(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  { transposeA = false, transposeB = false }: GemmOptions,
): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (transposeA ? a[p * m + i] : a[i * k + p]) *
          (transposeB ? b[j * k + p] : b[p * n + j]);
      }
      c[i * n + j] = s;
    }
  }
}

interface Shape {
  group: string;
  m: number;
  n: number;
  k: number;
  options: GemmOptions;
}

const SHAPES: Shape[] = [
  { group: "cpu gemm 1024x1024x1024", m: 1024, n: 1024, k: 1024, options: {} },
  {
    group: "cpu gemm [64,128]x[128,512] (lstm recurrent step)",
    m: 64,
    n: 512,
    k: 128,
    options: {},
  },
  {
    group: "cpu gemm [2048,32]x[32,512] (lstm input projection)",
    m: 2048,
    n: 512,
    k: 32,
    options: {},
  },
  {
    group: "cpu gemm [2048,128]ᵀx[2048,512] (lstm weight gradient)",
    m: 128,
    n: 512,
    k: 2048,
    options: { transposeA: true },
  },
  {
    group: "cpu gemm [2048,512]x[32,512]ᵀ (lstm input gradient)",
    m: 2048,
    n: 32,
    k: 512,
    options: { transposeB: true },
  },
  {
    group: "cpu gemm [64,512]x[128,512]ᵀ (lstm recurrent gradient)",
    m: 64,
    n: 128,
    k: 512,
    options: { transposeB: true },
  },
];

const rng = new Rng(0);
const random = (size: number) => Float32Array.from({ length: size }, () => rng.uniformIn(-1, 1));

for (const { group, m, n, k, options } of SHAPES) {
  const a = random(m * k), b = random(k * n), c = new Float32Array(m * n);
  const big = m * n * k > 1e8;
  Deno.bench({
    name: "rnnrl cpu",
    group,
    baseline: true,
    fn: () => gemm(a, b, c, m, n, k, options),
  });
  Deno.bench({
    name: "rnnrl cpu (typescript path)",
    group,
    n: big ? 5 : undefined,
    fn: () => gemmTs(a, b, c, m, n, k, options),
  });
  Deno.bench({
    name: "naive",
    group,
    n: big ? 2 : undefined,
    warmup: big ? 1 : undefined,
    fn: () => naive(a, b, c, m, n, k, options),
  });
}

// The operand traffic of the wasm path for the recurrent step, alone: A and B copied in, C copied
// out with TypedArray.set, into a buffer the size of the wasm memory's regions.
{
  const m = 64, n = 512, k = 128;
  const a = random(m * k), b = random(k * n), c = new Float32Array(m * n);
  const heap = new Float32Array(m * k + k * n + m * n);
  Deno.bench({
    name: "operand copies only (wasm path's memcpy traffic)",
    group: "cpu gemm [64,128]x[128,512] (lstm recurrent step)",
    fn: () => {
      heap.set(a, 0);
      heap.set(b, m * k);
      c.set(heap.subarray(m * k + k * n));
    },
  });
}
