// Every WebGPU kernel against the CPU backend (the definition of each op), on whatever adapter
// exists here (Mesa's llvmpipe on the build machines). Sizes include ones that are not multiples
// of the tiles, B = 1 and T = 1. Skipped, with the reason printed, where no adapter exists.
import assert from "node:assert/strict";
import type { Activation, Tensor } from "../lib/backend/backend.ts";
import { type CpuBackend, createCpuBackend } from "../lib/backend/cpu.ts";
import {
  createWebGpuBackend,
  type WebGpuBackend,
  type WebGpuTensor,
} from "../lib/backend/webgpu/mod.ts";
import { Rng } from "../lib/io/rng.ts";
import { maskedHuberLoss, ppoClippedLoss, ppoProblem } from "./helpers/composed_losses.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_kernels_test: skipped, no WebGPU adapter (navigator.gpu)");
// Both kernel families of the matmul-like ops; the other kernels are shared.
// The LSTM's per-step kernels of each family, and its sequence-long kernels.
const tiled = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend({
  kernels: "tiled",
  recurrentKernels: "step",
});
const register = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend({
  kernels: "register",
  recurrentKernels: "step",
});
const sequence = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend({
  recurrentKernels: "sequence",
});
const FAMILIES: [string, WebGpuBackend][] = [["tiled", tiled], ["register", register]];
const LSTM_FAMILIES: [string, WebGpuBackend][] = [...FAMILIES, ["sequence", sequence]];
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
if (!ignore) Deno.test.afterAll(() => LSTM_FAMILIES.forEach(([, backend]) => backend.destroy()));
const gpu = tiled;
const cpu: CpuBackend = createCpuBackend();

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore, fn });
}

function random(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.uniform() * 2 - 1) * scale;
  return out;
}

/** The same data on a WebGPU backend and the CPU. */
function pair(data: ArrayLike<number>, shape: number[], g: WebGpuBackend = gpu): [Tensor, Tensor] {
  return [g.tensor(data, shape), cpu.tensor(data, shape)];
}

/** Asserts |gpu − cpu| ≤ atol + rtol·|cpu| elementwise (equal infinities and NaN match), and equal shapes. */
async function close(
  what: string,
  g: Tensor,
  c: Tensor,
  tol: { atol: number; rtol: number },
): Promise<void> {
  assert.deepEqual(g.shape, c.shape, `${what}: shape`);
  const a = await (g as WebGpuTensor).backend.read(g);
  const b = cpu.readSync(c);
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) {
    const bound = tol.atol + tol.rtol * Math.abs(b[i]);
    const equal = a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]));
    if (!equal && !(Math.abs(a[i] - b[i]) <= bound)) {
      assert.fail(`${what}: element ${i} is ${a[i]} on WebGPU and ${b[i]} on the CPU`);
    }
  }
}

/** Asserts bit-for-bit equality (for integer-valued outputs such as actions). */
async function same(what: string, g: Tensor, c: Tensor): Promise<void> {
  assert.deepEqual(g.shape, c.shape, `${what}: shape`);
  assert.deepEqual(Array.from(await gpu.read(g)), Array.from(cpu.readSync(c)), what);
}

// matmul: float32 sums of K products; tolerance grows with K via rtol on |C| and atol.
const MATMUL_TOL = { atol: 2e-5, rtol: 2e-5 };

test("WebGpuBackend.matmul matches the CPU for every transpose, bias and activation", async () => {
  const rng = new Rng(1);
  // [m, n, k]: tiny, vec4-aligned (the register kernels' path), not tile multiples, bigger than
  // one 64x64 tile, K = 1.
  const sizes = [[1, 1, 1], [3, 5, 7], [4, 8, 12], [6, 36, 20], [65, 67, 33], [70, 132, 64], [
    128,
    64,
    1,
  ]];
  for (const [family, g] of FAMILIES) {
    for (const [m, n, k] of sizes) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          const [ga, ca] = pair(random(rng, m * k), transposeA ? [k, m] : [m, k], g);
          const [gb, cb] = pair(random(rng, k * n), transposeB ? [n, k] : [k, n], g);
          const options = { transposeA, transposeB };
          const what = `${family} matmul ${m}x${n}x${k} tA=${transposeA} tB=${transposeB}`;
          await close(what, g.matmul(ga, gb, options), cpu.matmul(ca, cb, options), MATMUL_TOL);
        }
      }
    }
    for (const activation of ["linear", "relu", "tanh", "sigmoid"] as Activation[]) {
      for (const [m, n, k] of [[33, 17, 9], [10, 12, 8]]) {
        const [ga, ca] = pair(random(rng, m * k), [m, k], g);
        const [gb, cb] = pair(random(rng, k * n), [k, n], g);
        const [gbias, cbias] = pair(random(rng, n), [n], g);
        await close(
          `${family} matmul ${m}x${n}x${k} bias ${activation}`,
          g.matmul(ga, gb, { bias: gbias, activation }),
          cpu.matmul(ca, cb, { bias: cbias, activation }),
          MATMUL_TOL,
        );
      }
    }
  }
});

test("WebGpuBackend.matmul handles K = 0 and rejects mismatched inner sizes", async () => {
  const [ga, ca] = pair([], [3, 0]);
  const [gb, cb] = pair([], [0, 2]);
  const [gbias, cbias] = pair([1, -2], [2]);
  const options = { bias: gbias, activation: "relu" as const };
  await close(
    "K = 0",
    gpu.matmul(ga, gb, options),
    cpu.matmul(ca, cb, { ...options, bias: cbias }),
    {
      atol: 0,
      rtol: 0,
    },
  );
  assert.throws(() => gpu.matmul(gpu.zeros([2, 3]), gpu.zeros([4, 2])), TypeError);
});

test("WebGpuBackend elementwise ops and activations match the CPU", async () => {
  const rng = new Rng(2);
  const tol = { atol: 1e-6, rtol: 1e-6 };
  for (const n of [1, 7, 1000]) {
    const [gx, cx] = pair(random(rng, n, 3), [n]);
    const [gy, cy] = pair(random(rng, n, 3), [n]);
    await close(`add ${n}`, gpu.add(gx, gy), cpu.add(cx, cy), tol);
    await close(`mul ${n}`, gpu.mul(gx, gy), cpu.mul(cx, cy), tol);
    await close(`scale ${n}`, gpu.scale(gx, -0.7), cpu.scale(cx, -0.7), tol);
    const [gz, cz] = pair(random(rng, n), [n]);
    gpu.axpyInPlace(gz, gx, 0.3);
    cpu.axpyInPlace(cz, cx, 0.3);
    await close(`axpy ${n}`, gz, cz, tol);
    gpu.axpyInPlace(gz, gz, 0.5); // aliased: z += 0.5·z
    cpu.axpyInPlace(cz, cz, 0.5);
    await close(`axpy aliased ${n}`, gz, cz, tol);
    for (const act of ["linear", "relu", "tanh", "sigmoid"] as Activation[]) {
      const gyAct = gpu.activate(gx, act);
      const cyAct = cpu.activate(cx, act);
      await close(`activate ${act} ${n}`, gyAct, cyAct, tol);
      await close(
        `activationGrad ${act} ${n}`,
        gpu.activationGrad(gyAct, gy, act),
        cpu.activationGrad(cyAct, cy, act),
        tol,
      );
    }
  }
  // Saturation: no NaN from tanh or sigmoid of large inputs.
  const [gbig, cbig] = pair([-200, -30, 0, 30, 200], [5]);
  for (const act of ["tanh", "sigmoid"] as Activation[]) {
    await close(`${act} saturates`, gpu.activate(gbig, act), cpu.activate(cbig, act), tol);
  }
});

// Signed zeros, NaN, infinities, and tiny and huge normal numbers (no subnormals: a GPU may
// flush them to zero).
const EDGES = [0, -0, 1, -1, 2.5, -3, NaN, Infinity, -Infinity, 1e-30, 1e30, 7];
const EDGES_Y = [0, 0, -0, 2, 2.5, 0, 1, 1, 3, -0, NaN, -Infinity];
const EXACT = { atol: 0, rtol: 0 };

test("WebGpuBackend sub, minimum, maximum, greater, greaterEqual, abs and addScalar match the CPU exactly", async () => {
  const rng = new Rng(20);
  for (const n of [1, 7, 1000, 4099]) {
    const xs = [...random(rng, n, 3), ...EDGES], ys = [...random(rng, n, 3), ...EDGES_Y];
    // Ties, so that greater and greaterEqual differ.
    for (let i = 0; i < n; i += 5) ys[i] = xs[i];
    const size = xs.length;
    const [gx, cx] = pair(xs, [size]);
    const [gy, cy] = pair(ys, [size]);
    for (const op of ["sub", "minimum", "maximum", "greater", "greaterEqual"] as const) {
      await close(`${op} ${n}`, gpu[op](gx, gy), cpu[op](cx, cy), EXACT);
    }
    await close(`abs ${n}`, gpu.abs(gx), cpu.abs(cx), EXACT);
    await close(`addScalar ${n}`, gpu.addScalar(gx, -0.25), cpu.addScalar(cx, -0.25), EXACT);
    // A scalar that float32 rounds: the GPU adds it as a float32 uniform.
    await close(`addScalar 0.1 ${n}`, gpu.addScalar(gx, 0.1), cpu.addScalar(cx, 0.1), {
      atol: 1e-7,
      rtol: 1e-7,
    });
  }
});

test("WebGpuBackend div, exp and log match the CPU; x / 0 and log(0) exactly", async () => {
  const rng = new Rng(21);
  for (const n of [1, 7, 1000, 4099]) {
    const [gx, cx] = pair(random(rng, n, 10), [n]);
    const [gy, cy] = pair(random(rng, n, 10), [n]);
    // WGSL: x / y within 2.5 ULP, exp within 3 + 2·|x| ULP, log within 3 ULP or 2⁻²¹ near 1.
    await close(`div ${n}`, gpu.div(gx, gy), cpu.div(cx, cy), { atol: 0, rtol: 4e-7 });
    await close(`exp ${n}`, gpu.exp(gx), cpu.exp(cx), { atol: 0, rtol: 4e-6 });
    const [gp, cp] = pair(random(rng, n, 50).map((v) => Math.abs(v) + 1e-3), [n]);
    await close(`log ${n}`, gpu.log(gp), cpu.log(cp), { atol: 1e-6, rtol: 1e-6 });
  }
  const [gx, cx] = pair(EDGES, [EDGES.length]);
  const [gy, cy] = pair(EDGES_Y, [EDGES.length]);
  await close("div edges", gpu.div(gx, gy), cpu.div(cx, cy), { atol: 0, rtol: 4e-7 });
  await close("exp edges", gpu.exp(gx), cpu.exp(cx), { atol: 0, rtol: 4e-6 });
  await close("log edges", gpu.log(gx), cpu.log(cx), { atol: 1e-6, rtol: 1e-6 });
  const logs = await gpu.read(gpu.log(gpu.tensor([0, -0, -1, -Infinity, NaN], [5])));
  assert.deepEqual(Array.from(logs), [-Infinity, -Infinity, NaN, NaN, NaN]);
  const quotients = await gpu.read(
    gpu.div(gpu.tensor([1, -1, 1, -1, 0, NaN], [6]), gpu.tensor([0, 0, -0, -0, 0, 0], [6])),
  );
  assert.deepEqual(Array.from(quotients), [Infinity, -Infinity, -Infinity, Infinity, NaN, NaN]);
});

test("WebGpuBackend.clamp and where match the CPU exactly (infinite bounds, NaN, 0/1/other conditions)", async () => {
  const rng = new Rng(22);
  for (const n of [1, 7, 1000]) {
    const xs = [...random(rng, n, 3), ...EDGES];
    const size = xs.length;
    const [gx, cx] = pair(xs, [size]);
    for (const [low, high] of [[-1, 1], [0.8, 1.2], [-Infinity, 0], [1, Infinity], [2, 2]]) {
      await close(
        `clamp ${n} [${low}, ${high}]`,
        gpu.clamp(gx, low, high),
        cpu.clamp(cx, low, high),
        EXACT,
      );
    }
    const kinds = [0, -0, 1, -1, 0.5, 2, NaN, Infinity, 1e-30];
    const [gc, cc] = pair(Array.from({ length: size }, (_, i) => kinds[i % kinds.length]), [size]);
    const [gy, cy] = pair([...random(rng, n, 3), ...EDGES_Y], [size]);
    await close(`where ${n}`, gpu.where(gc, gx, gy), cpu.where(cc, cx, cy), EXACT);
  }
  assert.throws(() => gpu.clamp(gpu.zeros([2]), 1, 0), RangeError);
  assert.throws(() => gpu.clamp(gpu.zeros([2]), NaN, 0), RangeError);
  const a = gpu.zeros([2, 3]), b = gpu.zeros([3, 2]);
  for (const op of ["sub", "div", "minimum", "maximum", "greater", "greaterEqual"] as const) {
    assert.throws(() => gpu[op](a, b), { name: "TypeError", message: /\[2, 3\] and \[3, 2\]/ });
  }
  assert.throws(() => gpu.where(gpu.zeros([6]), a, a), TypeError);
  assert.throws(() => gpu.where(a, a, b), TypeError);
});

test("WebGpuBackend.logSoftmaxRows matches the CPU, with large and -Infinity logits", async () => {
  const rng = new Rng(23);
  const tol = { atol: 2e-6, rtol: 2e-6 };
  for (const [rows, cols] of [[1, 1], [1, 3], [300, 4], [5, 11]]) {
    const [gl, cl] = pair(random(rng, rows * cols, 4), [rows, cols]);
    await close(`logSoftmax ${rows}x${cols}`, gpu.logSoftmaxRows(gl), cpu.logSoftmaxRows(cl), tol);
  }
  const edge = [1000, 1001, 1002, -1000, -1001, -1002, 0, -Infinity, 0, 5, -Infinity, -Infinity];
  const [ge, ce] = pair(edge, [4, 3]);
  await close("logSoftmax edges", gpu.logSoftmaxRows(ge), cpu.logSoftmaxRows(ce), tol);
  const masked = await gpu.read(gpu.logSoftmaxRows(ge));
  assert.deepEqual([masked[7], masked[9], masked[10], masked[11]], [
    -Infinity,
    0,
    -Infinity,
    -Infinity,
  ]);
});

test("WebGpuBackend compiles one pipeline per new elementwise op, whatever the size or scalars", async () => {
  const fresh = await createWebGpuBackend();
  try {
    const run = (n: number, s: number) => {
      const x = fresh.tensor(new Float32Array(n).fill(s), [1, n]);
      const outputs = [
        fresh.sub(x, x),
        fresh.div(x, x),
        fresh.minimum(x, x),
        fresh.maximum(x, x),
        fresh.greater(x, x),
        fresh.greaterEqual(x, x),
        fresh.where(x, x, x),
        fresh.exp(x),
        fresh.log(x),
        fresh.abs(x),
        fresh.clamp(x, s - 1, s + 1),
        fresh.addScalar(x, s),
        fresh.logSoftmaxRows(x),
      ];
      for (const t of [x, ...outputs]) fresh.dispose(t);
      return outputs.length;
    };
    const ops = run(5, 0.5);
    await fresh.sync();
    const compiled = fresh.stats.pipelinesCompiled;
    assert.equal(compiled, ops, "one pipeline per op");
    run(1, 2);
    run(3000, -1);
    await fresh.sync();
    assert.equal(fresh.stats.pipelinesCompiled, compiled, "no pipeline for a new size or scalar");
  } finally {
    fresh.destroy();
  }
});

test("WebGpuBackend composed masked Huber and PPO losses match the CPU and the fused huberLoss", async () => {
  const rng = new Rng(24);
  const tol = { atol: 1e-6, rtol: 1e-5 };
  for (const n of [1, 33, 1000]) {
    const [gp, cp] = pair(random(rng, n, 3), [n]);
    const [gt, ct] = pair(random(rng, n, 3), [n]);
    const ones = new Float32Array(n).fill(1);
    const g1 = gpu.tensor(ones, [n]);
    const [gm, cm] = pair(ones.map((_, i) => (i % 4 === 1 ? 0 : 1)), [n]);
    for (const delta of [0.5, 2]) {
      // With a mask of ones, the composition on the GPU is the CPU's fused loss.
      const fused = cpu.huberLoss(cp, ct, delta);
      const composed = maskedHuberLoss(gpu, gp, gt, g1, delta);
      await close(`huber ${n} delta=${delta} composed loss`, composed.loss, fused.loss, tol);
      await close(`huber ${n} delta=${delta} composed grad`, composed.grad, fused.grad, tol);
      const masked = [
        maskedHuberLoss(gpu, gp, gt, gm, delta),
        maskedHuberLoss(cpu, cp, ct, cm, delta),
      ];
      await close(`masked huber ${n} loss`, masked[0].loss, masked[1].loss, tol);
      await close(`masked huber ${n} grad`, masked[0].grad, masked[1].grad, tol);
    }
    for (const epsilon of [0.1, 0.2]) {
      const { logp, logpOld, adv } = ppoProblem(n, n, epsilon);
      const [gNew, cNew] = pair(logp, [n]);
      const [gOld, cOld] = pair(logpOld, [n]);
      const [ga, ca] = pair(adv, [n]);
      const g = ppoClippedLoss(gpu, gNew, gOld, ga, epsilon);
      const c = ppoClippedLoss(cpu, cNew, cOld, ca, epsilon);
      await close(`ppo ${n} eps=${epsilon} loss`, g.loss, c.loss, tol);
      await close(`ppo ${n} eps=${epsilon} grad`, g.grad, c.grad, tol);
    }
  }
});

test("WebGpuBackend.sum and sumRows match the CPU", async () => {
  const rng = new Rng(3);
  for (const [m, n] of [[1, 1], [1, 9], [300, 3], [17, 515], [0, 4]]) {
    const [gx, cx] = pair(random(rng, m * n), [m, n]);
    await close(`sum ${m}x${n}`, gpu.sum(gx), cpu.sum(cx), { atol: 1e-5, rtol: 1e-5 });
    await close(`sumRows ${m}x${n}`, gpu.sumRows(gx), cpu.sumRows(cx), { atol: 1e-5, rtol: 1e-5 });
  }
});

/** One LSTM problem on both backends. */
function lstmProblem(
  seed: number,
  dims: { T: number; B: number; I: number; H: number },
  maskKind: "none" | "binary" | "fractional",
  g: WebGpuBackend = gpu,
) {
  const { T, B, I, H } = dims;
  const rng = new Rng(seed);
  const both = (n: number, shape: number[], scale = 1) => pair(random(rng, n, scale), shape, g);
  const x = both(T * B * I, [T, B, I]);
  const w = both(I * 4 * H, [I, 4 * H], 0.5);
  const u = both(H * 4 * H, [H, 4 * H], 0.5);
  const b = both(4 * H, [4 * H], 0.5);
  const h0 = both(B * H, [B, H]);
  const c0 = both(B * H, [B, H]);
  let mask: [Tensor, Tensor] | undefined;
  if (maskKind !== "none") {
    const m = new Float32Array(T * B);
    for (let i = 0; i < m.length; i++) {
      m[i] = rng.uniform() < 0.3 ? 0 : maskKind === "binary" ? 1 : rng.uniform();
    }
    mask = pair(m, [T, B], g);
  }
  const dh = both(T * B * H, [T, B, H]);
  const dhLast = both(B * H, [B, H]);
  const dcLast = both(B * H, [B, H]);
  return { x, w, u, b, h0, c0, mask, dh, dhLast, dcLast };
}

// H % 4 == 0 runs the register kernels on the "register" backend; the others fall back to tiled.
const LSTM_CASES = [
  { T: 1, B: 1, I: 1, H: 1 },
  { T: 3, B: 2, I: 5, H: 4 },
  { T: 6, B: 33, I: 7, H: 17 },
  { T: 4, B: 5, I: 16, H: 40 },
  { T: 3, B: 35, I: 4, H: 68 },
  // Two sequence-kernel rows per workgroup in backward (4H·2 rows double-buffered fills 16 KiB).
  { T: 2, B: 3, I: 3, H: 130 },
];
const LSTM_TOL = { atol: 2e-5, rtol: 1e-4 };

test("WebGpuBackend.lstmForward matches the CPU, with and without masks", async () => {
  let seed = 10;
  for (const [family, gpu] of LSTM_FAMILIES) {
    for (const dims of LSTM_CASES) {
      for (const maskKind of ["none", "binary", "fractional"] as const) {
        const p = lstmProblem(seed++, dims, maskKind, gpu);
        const g = gpu.lstmForward(p.x[0], p.h0[0], p.c0[0], { w: p.w[0], u: p.u[0], b: p.b[0] }, {
          mask: p.mask?.[0],
        });
        const c = cpu.lstmForward(p.x[1], p.h0[1], p.c0[1], { w: p.w[1], u: p.u[1], b: p.b[1] }, {
          mask: p.mask?.[1],
        });
        const what = `${family} lstmForward ${JSON.stringify(dims)} mask=${maskKind}`;
        assert.ok(g.cache && c.cache);
        // Reads issued together share one round trip to the device.
        const checks = [
          close(`${what} h`, g.h, c.h, LSTM_TOL),
          close(`${what} hLast`, g.hLast, c.hLast, LSTM_TOL),
          close(`${what} cLast`, g.cLast, c.cLast, LSTM_TOL),
        ];
        for (const k of ["hPrev", "cPrev", "gates", "cTanh"] as const) {
          checks.push(close(`${what} cache.${k}`, g.cache[k], c.cache[k], LSTM_TOL));
        }
        await Promise.all(checks);
        gpu.disposeLstmCache(g.cache);
        const light = gpu.lstmForward(p.x[0], p.h0[0], p.c0[0], {
          w: p.w[0],
          u: p.u[0],
          b: p.b[0],
        }, { mask: p.mask?.[0], keepCache: false });
        assert.equal(light.cache, undefined);
        await Promise.all([
          close(`${what} keepCache=false h`, light.h, c.h, LSTM_TOL),
          close(`${what} keepCache=false cLast`, light.cLast, c.cLast, LSTM_TOL),
        ]);
      }
    }
  }
});

test("the LSTM's sequence kernels walk T steps in one dispatch each way; auto picks steps on llvmpipe", async () => {
  const dims = { T: 9, B: 5, I: 3, H: 12 };
  const dispatches = async (gpu: WebGpuBackend) => {
    const p = lstmProblem(5, dims, "binary", gpu);
    const weights = { w: p.w[0], u: p.u[0], b: p.b[0] };
    const before = gpu.stats.dispatches;
    const f = gpu.lstmForward(p.x[0], p.h0[0], p.c0[0], weights, { mask: p.mask?.[0] });
    const forward = gpu.stats.dispatches - before;
    const grads = gpu.lstmBackward(f.cache!, weights, p.dh[0]);
    await gpu.read(grads.dh0);
    return { forward, backward: gpu.stats.dispatches - before - forward };
  };
  const step = await dispatches(tiled), seq = await dispatches(sequence);
  // The tiled per-step path: T forward dispatches, T + 1 backward; the sequence path one
  // forward, and one backward after transposing U.
  assert.equal(step.forward - seq.forward, dims.T - 1);
  assert.equal(step.backward - seq.backward, dims.T - 1);
  const auto = await createWebGpuBackend();
  assert.equal(auto.recurrentKernels, adapter!.info.isFallbackAdapter ? "step" : "auto");
  auto.destroy();
});

test("WebGpuBackend.lstmForward with T = 0 returns the initial state", async () => {
  const p = lstmProblem(3, { T: 0, B: 2, I: 3, H: 2 }, "none");
  const g = gpu.lstmForward(p.x[0], p.h0[0], p.c0[0], { w: p.w[0], u: p.u[0], b: p.b[0] });
  const c = cpu.lstmForward(p.x[1], p.h0[1], p.c0[1], { w: p.w[1], u: p.u[1], b: p.b[1] });
  await close("T=0 hLast", g.hLast, c.hLast, { atol: 0, rtol: 0 });
  await close("T=0 cLast", g.cLast, c.cLast, { atol: 0, rtol: 0 });
  assert.deepEqual(g.h.shape, [0, 2, 2]);
});

test("WebGpuBackend.lstmBackward matches the CPU, with masks and final-state gradients", async () => {
  let seed = 40;
  for (const [family, gpu] of LSTM_FAMILIES) {
    for (const dims of LSTM_CASES) {
      for (const maskKind of ["none", "binary", "fractional"] as const) {
        for (const finalGrads of [false, true]) {
          const p = lstmProblem(seed++, dims, maskKind, gpu);
          const gw = { w: p.w[0], u: p.u[0], b: p.b[0] };
          const cw = { w: p.w[1], u: p.u[1], b: p.b[1] };
          const g = gpu.lstmForward(p.x[0], p.h0[0], p.c0[0], gw, { mask: p.mask?.[0] });
          const c = cpu.lstmForward(p.x[1], p.h0[1], p.c0[1], cw, { mask: p.mask?.[1] });
          assert.ok(g.cache && c.cache);
          const gg = finalGrads
            ? gpu.lstmBackward(g.cache, gw, p.dh[0], p.dhLast[0], p.dcLast[0])
            : gpu.lstmBackward(g.cache, gw, p.dh[0]);
          const cg = finalGrads
            ? cpu.lstmBackward(c.cache, cw, p.dh[1], p.dhLast[1], p.dcLast[1])
            : cpu.lstmBackward(c.cache, cw, p.dh[1]);
          const what = `${family} lstmBackward ${
            JSON.stringify(dims)
          } mask=${maskKind} final=${finalGrads}`;
          await Promise.all(
            (["dx", "dw", "du", "db", "dh0", "dc0"] as const).map((k) =>
              close(`${what} ${k}`, gg[k], cg[k], { atol: 1e-4, rtol: 1e-4 })
            ),
          );
        }
      }
    }
  }
});

test("WebGpuBackend.lstmBackward with only a final-state gradient and T = 1", async () => {
  for (const [family, gpu] of LSTM_FAMILIES) {
    const p = lstmProblem(77, { T: 1, B: 3, I: 2, H: 5 }, "binary", gpu);
    const gw = { w: p.w[0], u: p.u[0], b: p.b[0] };
    const cw = { w: p.w[1], u: p.u[1], b: p.b[1] };
    const g = gpu.lstmForward(p.x[0], p.h0[0], p.c0[0], gw, { mask: p.mask?.[0] });
    const c = cpu.lstmForward(p.x[1], p.h0[1], p.c0[1], cw, { mask: p.mask?.[1] });
    assert.ok(g.cache && c.cache);
    const zero = pair(new Float32Array(3 * 5), [1, 3, 5], gpu);
    const gg = gpu.lstmBackward(g.cache, gw, zero[0], undefined, p.dcLast[0]);
    const cg = cpu.lstmBackward(c.cache, cw, zero[1], undefined, p.dcLast[1]);
    for (const k of ["dx", "dw", "du", "db", "dh0", "dc0"] as const) {
      await close(`${family} dcLast only ${k}`, gg[k], cg[k], { atol: 1e-5, rtol: 1e-4 });
    }
  }
});

test("WebGpuBackend Q-value kernels match the CPU (argmax ties, gather, scatter, DQN target)", async () => {
  const rng = new Rng(5);
  for (const [rows, cols] of [[1, 1], [1, 4], [300, 3], [7, 9]]) {
    const q = new Float32Array(rows * cols);
    // Few distinct values, so ties are frequent: the lowest index must win.
    for (let i = 0; i < q.length; i++) q[i] = Math.floor(rng.uniform() * 3);
    const [gq, cq] = pair(q, [rows, cols]);
    await same(`argmax ${rows}x${cols}`, gpu.argmaxRows(gq), cpu.argmaxRows(cq));
    const actions = Array.from({ length: rows }, () => rng.int(cols));
    const [ga, ca] = pair(actions, [rows]);
    await same(`gather ${rows}x${cols}`, gpu.gatherRows(gq, ga), cpu.gatherRows(cq, ca));
    const [gv, cv] = pair(random(rng, rows), [rows]);
    await same(
      `scatter ${rows}x${cols}`,
      gpu.scatterRows(gv, ga, cols),
      cpu.scatterRows(cv, ca, cols),
    );
    const [gsel, csel] = pair(random(rng, rows * cols), [rows, cols]);
    const [gtgt, ctgt] = pair(random(rng, rows * cols), [rows, cols]);
    const [gr, cr] = pair(random(rng, rows), [rows]);
    const [gd, cd] = pair(actions.map((_, i) => i % 3 === 0 ? 1 : 0), [rows]);
    await close(
      `dqnTarget ${rows}x${cols}`,
      gpu.dqnTarget(gsel, gtgt, gr, gd, 0.97),
      cpu.dqnTarget(csel, ctgt, cr, cd, 0.97),
      { atol: 1e-6, rtol: 1e-6 },
    );
  }
});

test("WebGpuBackend gather and scatter give NaN for an action out of range", async () => {
  const q = gpu.tensor([1, 2, 3, 4], [2, 2]);
  const gathered = await gpu.read(gpu.gatherRows(q, gpu.tensor([1, 2], [2])));
  assert.equal(gathered[0], 2);
  assert.ok(Number.isNaN(gathered[1]));
  const scattered = await gpu.read(
    gpu.scatterRows(gpu.tensor([5, 6], [2]), gpu.tensor([0.5, 1], [2]), 2),
  );
  assert.ok(Number.isNaN(scattered[0]) && Number.isNaN(scattered[1]));
  assert.deepEqual(Array.from(scattered.subarray(2)), [0, 6]);
});

test("WebGpuBackend.epsilonGreedy draws exactly the CPU's actions (same counter-based RNG)", async () => {
  const rng = new Rng(6);
  const [rows, cols] = [257, 6];
  const [gq, cq] = pair(random(rng, rows * cols), [rows, cols]);
  const cases: [number, number, number][] = [
    [0, 1, 0],
    [1, 1, 0],
    [0.3, 12345, 7],
    [0.05, 0xffffffff, 0x7fffffff],
    [0.5, -3, 2 ** 40 + 5],
    [1, 99, 1],
  ];
  let explored = 0;
  for (const [epsilon, seed, counter] of cases) {
    const g = gpu.epsilonGreedy(gq, epsilon, seed, counter);
    const c = cpu.epsilonGreedy(cq, epsilon, seed, counter);
    await same(`epsilonGreedy eps=${epsilon} seed=${seed} counter=${counter}`, g, c);
    const greedy = cpu.readSync(cpu.argmaxRows(cq));
    const actions = cpu.readSync(c);
    explored += actions.filter((a, i) => a !== greedy[i]).length;
  }
  // The exploring cases really explored (else this test would only check argmax).
  assert.ok(explored > rows, `only ${explored} exploring rows`);
  // Many actions: all 24 bits of the draw matter for floor(u·A).
  const wide = pair(random(rng, 3 * 100000), [3, 100000]);
  for (let counter = 0; counter < 5; counter++) {
    await same(
      `epsilonGreedy A=100000 counter=${counter}`,
      gpu.epsilonGreedy(wide[0], 1, 42, counter),
      cpu.epsilonGreedy(wide[1], 1, 42, counter),
    );
  }
});

test("WebGpuBackend softmax and losses match the CPU (mean loss and gradient)", async () => {
  const rng = new Rng(7);
  const tol = { atol: 1e-6, rtol: 1e-5 };
  for (const [rows, cols] of [[1, 1], [1, 3], [300, 4], [5, 11]]) {
    const [gl, cl] = pair(random(rng, rows * cols, 4), [rows, cols]);
    await close(`softmax ${rows}x${cols}`, gpu.softmaxRows(gl), cpu.softmaxRows(cl), tol);
    const actions = Array.from({ length: rows }, () => rng.int(cols));
    const [ga, ca] = pair(actions, [rows]);
    const [gw, cw] = pair(random(rng, rows, 2), [rows]);
    for (const beta of [0, 0.01]) {
      const g = gpu.policyLoss(gl, ga, gw, beta);
      const c = cpu.policyLoss(cl, ca, cw, beta);
      await close(`policyLoss ${rows}x${cols} beta=${beta} loss`, g.loss, c.loss, tol);
      await close(`policyLoss ${rows}x${cols} beta=${beta} grad`, g.grad, c.grad, tol);
    }
  }
  for (const n of [1, 5, 2048]) {
    const [gp, cp] = pair(random(rng, n, 3), [n, 1]);
    const [gt, ct] = pair(random(rng, n, 3), [n, 1]);
    const mse = [gpu.mseLoss(gp, gt), cpu.mseLoss(cp, ct)];
    await close(`mse ${n} loss`, mse[0].loss, mse[1].loss, tol);
    await close(`mse ${n} grad`, mse[0].grad, mse[1].grad, tol);
    for (const delta of [0.5, 1, 10]) {
      const huber = [gpu.huberLoss(gp, gt, delta), cpu.huberLoss(cp, ct, delta)];
      await close(`huber ${n} delta=${delta} loss`, huber[0].loss, huber[1].loss, tol);
      await close(`huber ${n} delta=${delta} grad`, huber[0].grad, huber[1].grad, tol);
    }
  }
  assert.throws(() => gpu.huberLoss(gpu.zeros([2]), gpu.zeros([2]), 0), RangeError);
});

test("WebGpuBackend optimizers and clipping match the CPU over several steps", async () => {
  const rng = new Rng(8);
  const shapes = [[3, 5], [1], [130], [17, 4]];
  const make = () => shapes.map((s) => pair(random(rng, s.reduce((a, b) => a * b, 1)), s));
  const params = make();
  const m = shapes.map((s) => pair(new Float32Array(s.reduce((a, b) => a * b, 1)), s));
  const v = shapes.map((s) => pair(new Float32Array(s.reduce((a, b) => a * b, 1)), s));
  const tol = { atol: 1e-6, rtol: 1e-5 };
  for (let step = 1; step <= 4; step++) {
    const grads = make();
    // Alternate a clipping and a non-clipping max norm.
    const maxNorm = step % 2 === 0 ? 0.5 : 1000;
    const gNorm = gpu.clipByGlobalNorm(grads.map((g) => g[0]), maxNorm);
    const cNorm = cpu.clipByGlobalNorm(grads.map((g) => g[1]), maxNorm);
    await close(`clip norm step ${step}`, gNorm, cNorm, tol);
    for (let k = 0; k < shapes.length; k++) {
      await close(`clipped grad ${k} step ${step}`, grads[k][0], grads[k][1], tol);
    }
    const hyper = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step };
    const pick = (list: [Tensor, Tensor][], i: 0 | 1) => list.map((x) => x[i]);
    gpu.adamStep(pick(params, 0), pick(grads, 0), pick(m, 0), pick(v, 0), hyper);
    cpu.adamStep(pick(params, 1), pick(grads, 1), pick(m, 1), pick(v, 1), hyper);
  }
  for (let k = 0; k < shapes.length; k++) {
    await close(`adam param ${k}`, params[k][0], params[k][1], { atol: 1e-6, rtol: 1e-5 });
    await close(`adam m ${k}`, m[k][0], m[k][1], tol);
    await close(`adam v ${k}`, v[k][0], v[k][1], tol);
  }
  const ms = shapes.map((s) => pair(new Float32Array(s.reduce((a, b) => a * b, 1)), s));
  for (let step = 0; step < 3; step++) {
    const grads = make();
    const hyper = { lr: 0.01, rho: 0.99, epsilon: 1e-8 };
    gpu.rmspropStep(params.map((p) => p[0]), grads.map((g) => g[0]), ms.map((s) => s[0]), hyper);
    cpu.rmspropStep(params.map((p) => p[1]), grads.map((g) => g[1]), ms.map((s) => s[1]), hyper);
    gpu.sgdStep(params.map((p) => p[0]), grads.map((g) => g[0]), 0.1);
    cpu.sgdStep(params.map((p) => p[1]), grads.map((g) => g[1]), 0.1);
  }
  for (let k = 0; k < shapes.length; k++) {
    await close(`rmsprop+sgd param ${k}`, params[k][0], params[k][1], { atol: 1e-5, rtol: 1e-5 });
    await close(`rmsprop mean square ${k}`, ms[k][0], ms[k][1], tol);
  }
});
