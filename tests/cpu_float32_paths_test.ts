/**
 * The float32 CPU backend's fast paths against the plain loops they replace, bit for bit:
 * `matmul` with a bias and ReLU (applied in the gemm module), `sumRows` (a wasm column sum) and
 * the ReLU gradient (a branch-free mask).
 */

import assert from "node:assert/strict";
import { cpuData, CpuTensor, createCpuBackend } from "../lib/backend/cpu.ts";
import { gemm } from "../lib/backend/cpu_gemm.ts";
import { Rng } from "../lib/io/rng.ts";

const cpu = createCpuBackend();

function random(rng: Rng, size: number): Float32Array {
  const x = Float32Array.from({ length: size }, () => rng.uniformIn(-1, 1));
  // Values whose sign or class a careless fast path would change.
  const specials = [-0, 0, Number.NaN, Infinity, -Infinity, 1e-42, -1e-42];
  for (let i = 0; i < size; i += 13) x[i] = specials[(i / 13) % specials.length];
  return x;
}

function assertSameValues(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

Deno.test("float32 matmul with a bias and an activation gives the bits of the plain loops", () => {
  const rng = new Rng(1);
  for (const [m, n, k] of [[256, 64, 64], [256, 2, 64], [8, 1, 64], [7, 19, 5], [3, 4, 0]]) {
    for (const activation of ["linear", "relu", "tanh", "sigmoid"] as const) {
      for (const transposeB of [false, true]) {
        const a = random(rng, m * k), b = random(rng, k * n), bias = random(rng, n);
        // The loops the CPU backend ran before: product, then bias, then the activation.
        const expected = new Float32Array(m * n);
        gemm(a, b, expected, m, n, k, { transposeB });
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expected[i * n + j] += bias[j];
        if (activation === "relu") {
          for (let e = 0; e < m * n; e++) if (expected[e] < 0) expected[e] = 0;
        }
        const x = cpu.tensor(a, [m, k]), w = cpu.tensor(b, transposeB ? [n, k] : [k, n]);
        const bt = cpu.tensor(bias, [n]);
        const out = cpu.matmul(x, w, { bias: bt, activation, transposeB });
        if (activation === "linear" || activation === "relu") {
          assertSameValues(cpuData(out) as Float32Array, expected, `${m}×${n}×${k} ${activation}`);
        } else {
          // tanh and sigmoid run after the bias, on the activation module.
          const pre = cpu.tensor(expected, [m, n]);
          const act = cpu.activate(pre, activation);
          assertSameValues(cpuData(out) as Float32Array, cpuData(act) as Float32Array, activation);
        }
      }
    }
  }
});

Deno.test("float32 sumRows gives the bits of the row-order loop", () => {
  const rng = new Rng(2);
  for (const [m, n] of [[256, 256], [256, 64], [256, 1], [3, 5], [0, 4], [1030, 3]]) {
    const x = random(rng, m * n);
    const expected = new Float32Array(n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) expected[j] += x[i * n + j];
    const out = cpu.sumRows(cpu.tensor(x, [m, n]));
    assertSameValues(cpuData(out) as Float32Array, expected, `${m}×${n}`);
  }
});

Deno.test("float32 ReLU gradient gives the bits of y > 0 ? dy : 0", () => {
  const rng = new Rng(3);
  for (const size of [1, 7, 16384]) {
    const y = random(rng, size), dy = random(rng, size);
    const expected = Float32Array.from(y, (v, i) => v > 0 ? dy[i] : 0);
    const out = cpu.activationGrad(cpu.tensor(y, [size]), cpu.tensor(dy, [size]), "relu");
    assertSameValues(cpuData(out) as Float32Array, expected, `size ${size}`);
    // A gradient that is a view at an offset into a larger buffer.
    const big = new Float32Array(size + 3);
    big.set(dy, 3);
    const dyView = new CpuTensor(big.subarray(3), [size]);
    const view = cpu.activationGrad(cpu.tensor(y, [size]), dyView, "relu");
    assertSameValues(cpuData(view) as Float32Array, expected, `offset view, size ${size}`);
  }
});
