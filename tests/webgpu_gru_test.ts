// The GRU's WGSL kernels against the CPU backend (the definition of each op), on whatever adapter
// exists here (Mesa's llvmpipe on the build machines): forward and backward with and without
// masks and linear_before_reset, sizes that are and are not multiples of 4 (the scalar and vec4
// kernels), B = 1, T = 1 and T = 0, and whole training steps through the layer API. Skipped, with
// the reason printed, where no adapter exists.
import assert from "node:assert/strict";
import type { Backend, GruWeights, Tensor } from "../lib/backend/backend.ts";
import { type CpuBackend, createCpuBackend } from "../lib/backend/cpu.ts";
import {
  createWebGpuBackend,
  type WebGpuBackend,
  type WebGpuTensor,
} from "../lib/backend/webgpu/mod.ts";
import { Rng } from "../lib/io/rng.ts";
import { Adam, clipGradients, Dense, GRU, Sequential } from "../lib/nn/mod.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_gru_test: skipped, no WebGPU adapter (navigator.gpu)");
// Both kernel families on the per-step kernels (shared; the large matmuls are not), and the
// sequence-long kernels (linear_before_reset only; the other form keeps its steps there too).
const FAMILIES: [string, WebGpuBackend][] = ignore ? [] : [
  ...await Promise.all(
    (["tiled", "register"] as const).map(async (kernels) =>
      [kernels, await createWebGpuBackend({ kernels, recurrentKernels: "step" })] as [
        string,
        WebGpuBackend,
      ]
    ),
  ),
  ["sequence", await createWebGpuBackend({ recurrentKernels: "sequence" })],
];
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
Deno.test.afterAll(() => FAMILIES.forEach(([, backend]) => backend.destroy()));
const cpu: CpuBackend = createCpuBackend();

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore, fn });
}

/** Asserts |gpu − cpu| ≤ atol + rtol·|cpu| elementwise, and equal shapes; returns the worst. */
async function close(
  what: string,
  g: Tensor,
  c: Tensor,
  tol: { atol: number; rtol: number },
): Promise<number> {
  assert.deepEqual(g.shape, c.shape, `${what}: shape`);
  const a = await (g as WebGpuTensor).backend.read(g);
  const b = cpu.readSync(c);
  assert.equal(a.length, b.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - b[i]);
    if (!(diff <= tol.atol + tol.rtol * Math.abs(b[i]))) {
      assert.fail(`${what}: element ${i} is ${a[i]} on WebGPU and ${b[i]} on the CPU`);
    }
    worst = Math.max(worst, diff);
  }
  return worst;
}

type Dims = { T: number; B: number; I: number; H: number };

/** One GRU problem on both backends: [WebGPU tensor, CPU tensor] for everything. */
function gruProblem(
  seed: number,
  dims: Dims,
  maskKind: "none" | "binary" | "fractional",
  gpu: WebGpuBackend,
) {
  const { T, B, I, H } = dims;
  const rng = new Rng(seed);
  const both = (n: number, shape: number[], scale = 1): [Tensor, Tensor] => {
    const data = Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
    return [gpu.tensor(data, shape), cpu.tensor(data, shape)];
  };
  const x = both(T * B * I, [T, B, I]);
  const w = both(I * 3 * H, [I, 3 * H], 0.6);
  const u = both(H * 3 * H, [H, 3 * H], 0.6);
  const bw = both(3 * H, [3 * H], 0.5);
  const bu = both(3 * H, [3 * H], 0.5);
  const h0 = both(B * H, [B, H]);
  let mask: [Tensor, Tensor] | undefined;
  if (maskKind !== "none") {
    const m = Float32Array.from(
      { length: T * B },
      () => rng.uniform() < 0.3 ? 0 : maskKind === "binary" ? 1 : rng.uniform(),
    );
    mask = [gpu.tensor(m, [T, B]), cpu.tensor(m, [T, B])];
  }
  const weights = (i: 0 | 1): GruWeights => ({ w: w[i], u: u[i], bw: bw[i], bu: bu[i] });
  return {
    x,
    h0,
    mask,
    weights,
    dh: both(T * B * H, [T, B, H]),
    dhLast: both(B * H, [B, H]),
  };
}

// H % 4 == 0 runs the vec4 kernels, the others the scalar ones; B past one workgroup's rows.
const CASES: Dims[] = [
  { T: 1, B: 1, I: 1, H: 1 },
  { T: 3, B: 2, I: 5, H: 4 },
  { T: 6, B: 33, I: 7, H: 17 },
  { T: 4, B: 5, I: 16, H: 40 },
  // More units than a sequence workgroup's 64 invocations; two rows a workgroup in backward.
  { T: 2, B: 3, I: 3, H: 130 },
];
const TOL = { atol: 2e-5, rtol: 1e-4 };
const GRAD_TOL = { atol: 1e-4, rtol: 1e-4 };

test("WebGpuBackend.gruForward matches the CPU, with and without masks and linear_before_reset", async () => {
  let seed = 100, worst = 0;
  for (const [family, gpu] of FAMILIES) {
    for (const dims of CASES) {
      for (const linearBeforeReset of [true, false]) {
        for (const maskKind of ["none", "binary", "fractional"] as const) {
          const p = gruProblem(seed++, dims, maskKind, gpu);
          const options = (i: 0 | 1) => ({ mask: p.mask?.[i], linearBeforeReset });
          const g = gpu.gruForward(p.x[0], p.h0[0], p.weights(0), options(0));
          const c = cpu.gruForward(p.x[1], p.h0[1], p.weights(1), options(1));
          const what = `${family} gruForward ${JSON.stringify(dims)} lbr=${+linearBeforeReset} ` +
            `mask=${maskKind}`;
          assert.ok(g.cache && c.cache);
          assert.equal(g.cache.linearBeforeReset, linearBeforeReset);
          // Reads issued together share one round trip to the device.
          const checks = [
            close(`${what} h`, g.h, c.h, TOL),
            close(`${what} hLast`, g.hLast, c.hLast, TOL),
          ];
          for (const k of ["hPrev", "gates", "reset"] as const) {
            checks.push(close(`${what} cache.${k}`, g.cache[k], c.cache[k], TOL));
          }
          worst = Math.max(worst, ...await Promise.all(checks));
          gpu.disposeGruCache(g.cache);
          const light = gpu.gruForward(p.x[0], p.h0[0], p.weights(0), {
            ...options(0),
            keepCache: false,
          });
          assert.equal(light.cache, undefined);
          await Promise.all([
            close(`${what} keepCache=false h`, light.h, c.h, TOL),
            close(`${what} keepCache=false hLast`, light.hLast, c.hLast, TOL),
          ]);
        }
      }
    }
  }
  console.log(`gruForward: worst |WebGPU − CPU| ${worst.toExponential(2)}`);
});

test("WebGpuBackend.gruForward with T = 0 returns the initial state", async () => {
  for (const linearBeforeReset of [true, false]) {
    const gpu = FAMILIES[0][1];
    const p = gruProblem(3, { T: 0, B: 2, I: 3, H: 2 }, "none", gpu);
    const g = gpu.gruForward(p.x[0], p.h0[0], p.weights(0), { linearBeforeReset });
    const c = cpu.gruForward(p.x[1], p.h0[1], p.weights(1), { linearBeforeReset });
    await close("T=0 hLast", g.hLast, c.hLast, { atol: 0, rtol: 0 });
    assert.deepEqual(g.h.shape, [0, 2, 2]);
    const grads = gpu.gruBackward(g.cache!, p.weights(0), p.dh[0], p.dhLast[0]);
    await close("T=0 dh0", grads.dh0, p.dhLast[1], { atol: 0, rtol: 0 });
    assert.ok((await gpu.read(grads.du)).every((v) => v === 0), "no step, no gradient");
  }
});

test("WebGpuBackend.gruBackward matches the CPU, with masks, linear_before_reset and final-state gradients", async () => {
  let seed = 200, worst = 0;
  for (const [family, gpu] of FAMILIES) {
    for (const dims of CASES) {
      for (const linearBeforeReset of [true, false]) {
        for (const maskKind of ["none", "binary", "fractional"] as const) {
          for (const finalGrad of [false, true]) {
            const p = gruProblem(seed++, dims, maskKind, gpu);
            const options = (i: 0 | 1) => ({ mask: p.mask?.[i], linearBeforeReset });
            const g = gpu.gruForward(p.x[0], p.h0[0], p.weights(0), options(0));
            const c = cpu.gruForward(p.x[1], p.h0[1], p.weights(1), options(1));
            const gg = gpu.gruBackward(
              g.cache!,
              p.weights(0),
              p.dh[0],
              finalGrad ? p.dhLast[0] : undefined,
            );
            const cg = cpu.gruBackward(
              c.cache!,
              p.weights(1),
              p.dh[1],
              finalGrad ? p.dhLast[1] : undefined,
            );
            const what =
              `${family} gruBackward ${JSON.stringify(dims)} lbr=${+linearBeforeReset} ` +
              `mask=${maskKind} final=${finalGrad}`;
            const diffs = await Promise.all(
              (["dx", "dw", "du", "dbw", "dbu", "dh0"] as const).map((k) =>
                close(`${what} ${k}`, gg[k], cg[k], GRAD_TOL)
              ),
            );
            worst = Math.max(worst, ...diffs);
          }
        }
      }
    }
  }
  console.log(`gruBackward: worst |WebGPU − CPU| ${worst.toExponential(2)}`);
});

test("WebGpuBackend.gruBackward with only a final-state gradient and T = 1", async () => {
  for (const [family, gpu] of FAMILIES.slice(1)) {
    for (const linearBeforeReset of [true, false]) {
      const p = gruProblem(77, { T: 1, B: 3, I: 2, H: 5 }, "binary", gpu);
      const options = (i: 0 | 1) => ({ mask: p.mask?.[i], linearBeforeReset });
      const g = gpu.gruForward(p.x[0], p.h0[0], p.weights(0), options(0));
      const c = cpu.gruForward(p.x[1], p.h0[1], p.weights(1), options(1));
      const zero = [gpu.zeros([1, 3, 5]), cpu.zeros([1, 3, 5])];
      const gg = gpu.gruBackward(g.cache!, p.weights(0), zero[0], p.dhLast[0]);
      const cg = cpu.gruBackward(c.cache!, p.weights(1), zero[1], p.dhLast[1]);
      for (const k of ["dx", "dw", "du", "dbw", "dbu", "dh0"] as const) {
        await close(`${family} dhLast only lbr=${+linearBeforeReset} ${k}`, gg[k], cg[k], GRAD_TOL);
      }
    }
  }
});

test("the GRU's sequence kernels walk T steps in one dispatch each way (linear_before_reset)", async () => {
  const dims = { T: 7, B: 6, I: 3, H: 9 };
  const dispatches = async (gpu: WebGpuBackend, linearBeforeReset: boolean) => {
    const p = gruProblem(8, dims, "binary", gpu);
    const before = gpu.stats.dispatches;
    const f = gpu.gruForward(p.x[0], p.h0[0], p.weights(0), {
      mask: p.mask?.[0],
      linearBeforeReset,
    });
    const forward = gpu.stats.dispatches - before;
    const grads = gpu.gruBackward(f.cache!, p.weights(0), p.dh[0]);
    await gpu.read(grads.dh0);
    return { forward, backward: gpu.stats.dispatches - before - forward };
  };
  const [step, sequence] = [FAMILIES[1][1], FAMILIES[2][1]];
  const a = await dispatches(step, true), b = await dispatches(sequence, true);
  // Per step: T forward dispatches and T + 1 backward; the sequence path one of each.
  assert.equal(a.forward - b.forward, dims.T - 1);
  assert.equal(a.backward - b.backward, dims.T);
  // Without linear_before_reset both run the two-dispatch steps.
  assert.deepEqual(await dispatches(sequence, false), await dispatches(step, false));
});

test("WebGpuBackend GRU kernels stay finite and match the CPU where the gates saturate", async () => {
  const [, gpu] = FAMILIES[1];
  for (const linearBeforeReset of [true, false]) {
    const p = gruProblem(9, { T: 3, B: 3, I: 4, H: 8 }, "binary", gpu);
    // Weights of ±60 and inputs of ±1e4 push every pre-activation far beyond float32's exp range.
    const big = (i: 0 | 1) => {
      const w = p.weights(i), b = i === 0 ? gpu : cpu;
      const scaled = (t: Tensor, s: number) => b.scale(t, s);
      return { w: scaled(w.w, 100), u: scaled(w.u, 100), bw: scaled(w.bw, 100), bu: w.bu };
    };
    const x = [gpu.scale(p.x[0], 1e4), cpu.scale(p.x[1], 1e4)];
    const options = (i: 0 | 1) => ({ mask: p.mask?.[i], linearBeforeReset });
    const g = gpu.gruForward(x[0], p.h0[0], big(0), options(0));
    const c = cpu.gruForward(x[1], p.h0[1], big(1), options(1));
    await close(`saturated lbr=${+linearBeforeReset} h`, g.h, c.h, TOL);
    const gg = gpu.gruBackward(g.cache!, big(0), p.dh[0], p.dhLast[0]);
    const cg = cpu.gruBackward(c.cache!, big(1), p.dh[1], p.dhLast[1]);
    for (const k of ["dx", "dw", "du", "dbw", "dbu", "dh0"] as const) {
      const values = await gpu.read(gg[k]);
      assert.ok(values.every(Number.isFinite), `saturated ${k} is finite`);
      // Gradients through saturated gates are 0 or tiny; their relative error is not meaningful.
      await close(`saturated lbr=${+linearBeforeReset} ${k}`, gg[k], cg[k], {
        atol: 1e-2,
        rtol: 1e-3,
      });
    }
  }
});

test("WebGpuBackend compiles the GRU's kernels once per variant, whatever the sizes", async () => {
  const fresh = await createWebGpuBackend({ kernels: "register" });
  try {
    const run = (dims: Dims) => {
      for (const linearBeforeReset of [true, false]) {
        const p = gruProblem(5, dims, "binary", fresh);
        const f = fresh.gruForward(p.x[0], p.h0[0], p.weights(0), {
          mask: p.mask![0],
          linearBeforeReset,
        });
        const grads = fresh.gruBackward(f.cache!, p.weights(0), p.dh[0], p.dhLast[0]);
        fresh.disposeGruCache(f.cache!);
        for (const t of [f.h, f.hLast, ...Object.values(grads)]) fresh.dispose(t);
      }
    };
    run({ T: 3, B: 2, I: 3, H: 8 });
    await fresh.sync();
    const compiled = fresh.stats.pipelinesCompiled;
    run({ T: 5, B: 9, I: 6, H: 12 });
    await fresh.sync();
    assert.equal(fresh.stats.pipelinesCompiled, compiled, "no pipeline for new sizes");
  } finally {
    fresh.destroy();
  }
});

const [T, B, I, H, O] = [7, 5, 3, 20, 2];
const MAX_NORM = 0.35;

/** Trains a fresh Sequential(GRU, Dense); returns each update's loss and norm, and the parameters. */
async function train(backend: Backend, linearBeforeReset: boolean, updates: number) {
  const model = new Sequential(backend, {
    inputSize: I,
    layers: [new GRU({ units: H, linearBeforeReset }), new Dense({ units: O, activation: "tanh" })],
    seed: 3,
  });
  const optimizer = new Adam({ learningRate: 0.01 });
  const rng = new Rng(11);
  const losses: Tensor[] = [], norms: Tensor[] = [];
  for (let update = 0; update < updates; update++) {
    const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal(0, 1));
    const xt = backend.tensor(random(T * B * I), [T, B, I]);
    const yt = backend.tensor(random(T * B * O), [T, B, O]);
    const mt = backend.tensor(Array.from({ length: T * B }, () => rng.uniform() < 0.2 ? 0 : 1), [
      T,
      B,
    ]);
    const { output, state } = model.forward(xt, { training: true, mask: mt });
    const { loss, grad } = backend.mseLoss(output, yt);
    const { dInput, dState } = model.backward(grad);
    norms.push(clipGradients(model, MAX_NORM));
    optimizer.step(model);
    losses.push(loss);
    for (const t of [xt, yt, mt, output, grad, dInput]) backend.dispose(t);
    model.disposeState(state);
    model.disposeState(dState);
  }
  const read = async (list: Tensor[]) =>
    (await Promise.all(list.map((t) => backend.read(t)))).map((a) => a[0]);
  return {
    losses: await read(losses),
    norms: await read(norms),
    params: await model.getParameters(),
  };
}

test("WebGpuBackend trains Sequential(GRU, Dense) with Adam like the CPU over several updates", async () => {
  const updates = 5;
  for (const linearBeforeReset of [true, false]) {
    const c = await train(cpu, linearBeforeReset, updates);
    assert.ok(c.norms.some((n) => n > MAX_NORM), `some updates were clipped: ${c.norms}`);
    for (const [family, gpu] of FAMILIES) {
      const g = await train(gpu, linearBeforeReset, updates);
      for (let i = 0; i < updates; i++) {
        const what = `${family} lbr=${+linearBeforeReset} update ${i}`;
        assert.ok(Math.abs(g.losses[i] - c.losses[i]) <= 1e-5 + 1e-4 * c.losses[i], `${what} loss`);
        assert.ok(Math.abs(g.norms[i] - c.norms[i]) <= 1e-5 + 1e-4 * c.norms[i], `${what} norm`);
      }
      for (let k = 0; k < c.params.length; k++) {
        assert.equal(g.params[k].name, c.params[k].name);
        const a = g.params[k].data, b = c.params[k].data;
        for (let i = 0; i < b.length; i++) {
          assert.ok(
            Math.abs(a[i] - b[i]) <= 1e-4,
            `${family} ${c.params[k].name}[${i}]: ${a[i]} on WebGPU, ${b[i]} on the CPU`,
          );
        }
      }
    }
  }
});
