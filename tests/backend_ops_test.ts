// The elementwise building blocks on the CPU backend (their definition), in float32 and float64:
// values at the edges (NaN, ±0, ±Infinity), the errors for mismatched shapes and bad bounds, and
// two losses composed from them: a masked Huber loss against the fused huberLoss, and PPO's
// clipped surrogate whose composed gradient is checked against central finite differences.
import assert from "node:assert/strict";
import type { Tensor } from "../lib/backend/backend.ts";
import { type CpuBackend, cpuData, createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";
import { maskedHuberLoss, ppoClippedLoss, ppoProblem } from "./helpers/composed_losses.ts";

const BACKENDS: CpuBackend[] = [
  createCpuBackend(),
  createCpuBackend({ precision: "float64" }),
  createCpuBackend({ debug: true }),
];
const f64 = BACKENDS[1];

/** Every value of `t` as JS numbers. */
function values(t: Tensor): number[] {
  return Array.from(cpuData(t));
}

/** `x` as the backend stores it (rounded to float32 unless it runs in float64). */
function stored(cpu: CpuBackend, x: number[]): number[] {
  return cpu.precision === "float64" ? x : x.map(Math.fround);
}

// Edge values: signed zeros, NaN, infinities, a tiny and a huge normal number.
const X = [0, -0, 1, -1, 2.5, -3, NaN, Infinity, -Infinity, 1e-30, 1e30, 7];
const Y = [0, 0, -0, 2, 2.5, 0, 1, 1, 3, -0, NaN, -Infinity];

Deno.test("CpuBackend binary ops compute sub, div, minimum, maximum, greater and greaterEqual", () => {
  for (const cpu of BACKENDS) {
    const x = cpu.tensor(X, [3, 4]), y = cpu.tensor(Y, [3, 4]);
    const xs = stored(cpu, X), ys = stored(cpu, Y);
    const expect = (f: (a: number, b: number) => number) =>
      stored(cpu, xs.map((a, i) => f(a, ys[i])));
    const cases: [string, Tensor, number[]][] = [
      ["sub", cpu.sub(x, y), expect((a, b) => a - b)],
      ["div", cpu.div(x, y), expect((a, b) => a / b)],
      ["minimum", cpu.minimum(x, y), expect(Math.min)],
      ["maximum", cpu.maximum(x, y), expect(Math.max)],
      ["greater", cpu.greater(x, y), expect((a, b) => a > b ? 1 : 0)],
      ["greaterEqual", cpu.greaterEqual(x, y), expect((a, b) => a >= b ? 1 : 0)],
    ];
    for (const [op, result, expected] of cases) {
      assert.deepEqual(result.shape, [3, 4], `${cpu.device} ${op} shape`);
      assert.deepEqual(values(result), expected, `${cpu.device} ${op}`);
      cpu.dispose(result);
    }
    // The IEEE answers spelled out: x / ±0, 0 / 0, NaN in min and max, NaN compares false.
    const d = values(cpu.div(cpu.tensor([1, -1, 1, 0], [4]), cpu.tensor([0, 0, -0, 0], [4])));
    assert.deepEqual(d, [Infinity, -Infinity, -Infinity, NaN]);
    assert.deepEqual(values(cpu.minimum(cpu.tensor([NaN, 1], [2]), cpu.tensor([1, NaN], [2]))), [
      NaN,
      NaN,
    ]);
    assert.deepEqual(values(cpu.greaterEqual(cpu.tensor([NaN], [1]), cpu.tensor([NaN], [1]))), [0]);
  }
});

Deno.test("CpuBackend unary ops compute exp, log, abs and addScalar, log(0) = -Infinity", () => {
  for (const cpu of BACKENDS) {
    const x = cpu.tensor(X, [12]);
    const xs = stored(cpu, X);
    assert.deepEqual(values(cpu.exp(x)), stored(cpu, xs.map(Math.exp)), `${cpu.device} exp`);
    assert.deepEqual(values(cpu.log(x)), stored(cpu, xs.map(Math.log)), `${cpu.device} log`);
    assert.deepEqual(values(cpu.abs(x)), stored(cpu, xs.map(Math.abs)), `${cpu.device} abs`);
    assert.deepEqual(
      values(cpu.addScalar(x, 0.5)),
      stored(cpu, xs.map((v) => v + 0.5)),
      `${cpu.device} addScalar`,
    );
    assert.deepEqual(values(cpu.log(cpu.tensor([0, -0, -1, Infinity, 1], [5]))), [
      -Infinity,
      -Infinity,
      NaN,
      Infinity,
      0,
    ]);
    assert.deepEqual(values(cpu.exp(cpu.tensor([-Infinity, 0], [2]))), [0, 1]);
  }
});

Deno.test("CpuBackend keeps float64 precision through the new ops", () => {
  const tiny = 1e-12;
  for (const cpu of BACKENDS) {
    const a = cpu.tensor([1 + tiny], [1]), one = cpu.tensor([1], [1]);
    const expected = cpu.precision === "float64" ? 1 + tiny - 1 : 0;
    assert.equal(values(cpu.sub(a, one))[0], expected, `${cpu.device} sub`);
    assert.equal(values(cpu.addScalar(one, tiny))[0], stored(cpu, [1 + tiny])[0]);
    assert.equal(values(cpu.log(a))[0], stored(cpu, [Math.log(stored(cpu, [1 + tiny])[0])])[0]);
  }
  assert.ok(values(f64.exp(f64.tensor([1e-10], [1])))[0] - 1 > 0.99e-10);
});

Deno.test("CpuBackend binary ops reject operands of different shapes, naming both", () => {
  for (const cpu of BACKENDS) {
    const a = cpu.zeros([2, 3]), b = cpu.zeros([3, 2]);
    for (const op of ["sub", "div", "minimum", "maximum", "greater", "greaterEqual"] as const) {
      assert.throws(() => cpu[op](a, b), { name: "TypeError", message: /\[2, 3\] and \[3, 2\]/ });
    }
    const c = cpu.zeros([6]);
    assert.throws(() => cpu.where(c, a, a), { name: "TypeError", message: /\[6\] and \[2, 3\]/ });
    assert.throws(() => cpu.where(a, a, b), {
      name: "TypeError",
      message: /\[2, 3\] and \[3, 2\]/,
    });
    assert.throws(() => cpu.logSoftmaxRows(c), TypeError);
  }
});

Deno.test("CpuBackend.clamp takes infinite bounds and rejects low > high or NaN bounds", () => {
  for (const cpu of BACKENDS) {
    const x = cpu.tensor(X, [12]);
    const xs = stored(cpu, X);
    const clamp = (low: number, high: number) =>
      stored(cpu, xs.map((v) => Math.min(Math.max(v, low), high)));
    assert.deepEqual(values(cpu.clamp(x, -1, 2)), clamp(-1, 2));
    assert.deepEqual(values(cpu.clamp(x, -Infinity, 0)), clamp(-Infinity, 0));
    assert.deepEqual(values(cpu.clamp(x, 1, Infinity)), clamp(1, Infinity));
    assert.deepEqual(values(cpu.clamp(x, -Infinity, Infinity)), xs, "no bound changes nothing");
    assert.deepEqual(values(cpu.clamp(x, 3, 3)).filter((v) => v !== 3), [NaN], "NaN stays NaN");
    for (const [low, high] of [[2, 1], [NaN, 1], [0, NaN], [Infinity, -Infinity]]) {
      assert.throws(() => cpu.clamp(x, low, high), {
        name: "RangeError",
        message: /Cannot clamp a tensor: bounds are/,
      });
    }
  }
});

Deno.test("CpuBackend.where picks a where the condition is non-zero (NaN included), else b", () => {
  for (const cpu of BACKENDS) {
    const condition = cpu.tensor([0, -0, 1, -2, 0.5, NaN, Infinity, 1e-30], [8]);
    const a = cpu.tensor([1, 2, 3, 4, 5, 6, 7, 8], [8]);
    const b = cpu.tensor([-1, -2, -3, -4, -5, NaN, -7, -8], [8]);
    assert.deepEqual(values(cpu.where(condition, a, b)), [-1, -2, 3, 4, 5, 6, 7, 8]);
    // What is not picked does not leak: NaN and Infinity in the branch not taken.
    const wild = cpu.tensor([NaN, Infinity, -Infinity, NaN, 0, 0, 0, 0], [8]);
    const zero = cpu.zeros([8]);
    assert.deepEqual(values(cpu.where(zero, wild, a)), values(a));
  }
});

Deno.test("CpuBackend.logSoftmaxRows is stable for large logits and keeps -Infinity logits", () => {
  for (const cpu of BACKENDS) {
    const rng = new Rng(1);
    const logits = Array.from({ length: 5 * 7 }, () => rng.normal(0, 3));
    const x = cpu.tensor(logits, [5, 7]);
    const fromSoftmax = values(cpu.softmaxRows(x)).map(Math.log);
    const tol = cpu.precision === "float64" ? 1e-12 : 2e-6;
    values(cpu.logSoftmaxRows(x)).forEach((v, i) => {
      assert.ok(Math.abs(v - fromSoftmax[i]) <= tol, `${cpu.device} element ${i}`);
    });
    // exp(1000) overflows; the row maximum is subtracted first.
    const big = values(
      cpu.logSoftmaxRows(cpu.tensor([1000, 1001, 1002, -1000, -1001, -1002], [2, 3])),
    );
    const reference = [-2.40760596444438, -1.40760596444438, -0.40760596444438];
    [...reference, ...reference.toReversed()].forEach((r, i) => {
      assert.ok(Math.abs(big[i] - r) <= (cpu.precision === "float64" ? 1e-12 : 1e-6), `big ${i}`);
    });
    const masked = values(cpu.logSoftmaxRows(cpu.tensor([0, -Infinity, 0], [1, 3])));
    assert.deepEqual(masked, stored(cpu, [-Math.LN2, -Infinity, -Math.LN2]));
    assert.deepEqual(cpu.logSoftmaxRows(cpu.zeros([0, 3])).shape, [0, 3]);
  }
});

/** Plain-number Huber, the reference of the fused and composed losses. */
function huber(d: number, delta: number): number {
  return Math.abs(d) <= delta ? 0.5 * d * d : delta * (Math.abs(d) - 0.5 * delta);
}

Deno.test("maskedHuberLoss composed from ops equals huberLoss with a mask of ones, and ignores masked rows", () => {
  const rng = new Rng(2);
  const n = 40;
  const p = Array.from({ length: n }, () => rng.normal(0, 3));
  const t = Array.from({ length: n }, () => rng.normal(0, 3));
  const keep = Array.from({ length: n }, (_, i) => i % 3 === 0 ? 0 : 1);
  for (const cpu of BACKENDS) {
    const tol = cpu.precision === "float64" ? 1e-12 : 1e-6;
    const near = (a: number[], b: number[], what: string) =>
      a.forEach((v, i) =>
        assert.ok(Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])), `${cpu.device} ${what} ${i}`)
      );
    const pred = cpu.tensor(p, [n]), target = cpu.tensor(t, [n]);
    for (const delta of [0.5, 1, 100]) {
      const fused = cpu.huberLoss(pred, target, delta);
      const composed = maskedHuberLoss(
        cpu,
        pred,
        target,
        cpu.tensor(keep.map(() => 1), [n]),
        delta,
      );
      near(values(composed.loss), values(fused.loss), `delta=${delta} loss`);
      near(values(composed.grad), values(fused.grad), `delta=${delta} grad`);
    }
    // Masked rows hold NaN and huge predictions: nothing of them reaches loss or gradient.
    const wild = p.map((v, i) => keep[i] ? v : i % 2 ? NaN : 1e30);
    const masked = maskedHuberLoss(cpu, cpu.tensor(wild, [n]), target, cpu.tensor(keep, [n]), 1);
    const ps = stored(cpu, p), ts = stored(cpu, t);
    const kept = ps.map((v, i) => keep[i] ? huber(v - ts[i], 1) : 0);
    near(values(masked.loss), [kept.reduce((a, b) => a + b, 0) / n], "masked loss");
    const slope = ps.map((v, i) => keep[i] ? Math.min(Math.max(v - ts[i], -1), 1) / n : 0);
    near(values(masked.grad), slope, "masked grad");
  }
});

/** The PPO clipped surrogate in plain numbers. */
function ppoReference(logp: number[], logpOld: number[], adv: number[], eps: number): number {
  let total = 0;
  logp.forEach((l, i) => {
    const r = Math.exp(l - logpOld[i]);
    total += Math.min(r * adv[i], Math.min(Math.max(r, 1 - eps), 1 + eps) * adv[i]);
  });
  return -total / logp.length;
}

Deno.test("ppoClippedLoss composed from ops matches its reference and central differences (float64)", () => {
  const eps = 0.2, n = 24, h = 1e-6;
  const { logp, logpOld, adv } = ppoProblem(3, n, eps);
  const ratios = logp.map((l, i) => Math.exp(l - logpOld[i]));
  assert.ok(ratios.some((r) => r < 1 - eps) && ratios.some((r) => r > 1 + eps), "clipping");
  assert.ok(ratios.some((r) => r > 1 - eps && r < 1 + eps), "no clipping");
  const old = f64.tensor(logpOld, [n]), advantages = f64.tensor(adv, [n]);
  const lossAt = (l: number[]) => {
    const { loss, grad } = ppoClippedLoss(f64, f64.tensor(l, [n]), old, advantages, eps);
    f64.dispose(grad);
    return values(loss)[0];
  };
  const { loss, grad } = ppoClippedLoss(f64, f64.tensor(logp, [n]), old, advantages, eps);
  assert.ok(Math.abs(values(loss)[0] - ppoReference(logp, logpOld, adv, eps)) < 1e-14);
  const analytic = values(grad);
  let zeros = 0;
  for (let i = 0; i < n; i++) {
    const up = logp.with(i, logp[i] + h), down = logp.with(i, logp[i] - h);
    const numeric = (lossAt(up) - lossAt(down)) / (2 * h);
    assert.ok(
      Math.abs(numeric - analytic[i]) < 1e-9,
      `d/dlogp[${i}]: ${numeric} vs ${analytic[i]}`,
    );
    if (analytic[i] === 0) zeros++;
  }
  // Some terms were clipped where the clipped one is the minimum: no gradient through them.
  assert.ok(zeros > 0 && zeros < n, `${zeros} zero gradients`);
});

Deno.test("ppoClippedLoss composed in float32 stays close to the float64 one", () => {
  const { logp, logpOld, adv } = ppoProblem(4, 50, 0.1);
  const [f32] = BACKENDS;
  const run = (cpu: CpuBackend) =>
    ppoClippedLoss(
      cpu,
      cpu.tensor(logp, [50]),
      cpu.tensor(logpOld, [50]),
      cpu.tensor(adv, [50]),
      0.1,
    );
  const a = run(f32), b = run(f64);
  assert.ok(Math.abs(values(a.loss)[0] - values(b.loss)[0]) < 1e-6);
  values(a.grad).forEach((g, i) => assert.ok(Math.abs(g - values(b.grad)[i]) < 1e-6, `grad ${i}`));
});

Deno.test("maskedHuberLoss and ppoClippedLoss dispose every intermediate (debug counter)", () => {
  const cpu = createCpuBackend({ debug: true });
  const x = cpu.tensor([0.1, -2, 3], [3]), y = cpu.tensor([0, 0, 1], [3]);
  const mask = cpu.tensor([1, 0, 1], [3]);
  const before = cpu.liveTensors;
  for (const loss of [maskedHuberLoss, ppoClippedLoss]) {
    const result = loss(cpu, x, y, mask, 0.5);
    assert.equal(cpu.liveTensors, before + 2, JSON.stringify(cpu.listLiveTensors()));
    cpu.dispose(result.loss);
    cpu.dispose(result.grad);
  }
  assert.equal(cpu.liveTensors, before);
});
