// Finite-difference checks of every analytic gradient, run on the CPU backend in float64 so
// that central differences are accurate to about 1e-9 and the tolerances can be tight.
import assert from "node:assert/strict";
import { type CpuBackend, cpuData, createCpuBackend } from "../lib/backend/cpu.ts";
import type { Activation, Tensor } from "../lib/backend/backend.ts";
import { Rng } from "../lib/io/rng.ts";
import { Dense } from "../lib/nn/dense.ts";
import { GRU } from "../lib/nn/gru.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Sequential } from "../lib/nn/sequential.ts";

const backend: CpuBackend = createCpuBackend({ precision: "float64" });
const EPSILON = 1e-6;

function random(rng: Rng, shape: number[], scale = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return backend.tensor(Array.from({ length: n }, () => rng.normal(0, scale)), shape);
}

/** Compares analytic gradient `analytic` of `loss()` with central differences in `wrt`. */
function checkGradient(name: string, wrt: Tensor, analytic: Tensor, loss: () => number): void {
  const x = cpuData(wrt);
  const g = cpuData(analytic);
  assert.equal(g.length, x.length, `${name}: gradient size`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + EPSILON;
    const up = loss();
    x[i] = saved - EPSILON;
    const down = loss();
    x[i] = saved;
    const numeric = (up - down) / (2 * EPSILON);
    const error = Math.abs(numeric - g[i]) / (1e-7 + Math.abs(numeric) + Math.abs(g[i]));
    worst = Math.max(worst, Math.abs(numeric - g[i]) > 1e-8 ? error : 0);
  }
  assert.ok(worst < 1e-5, `${name}: worst relative error ${worst}`);
}

/** A fixed random linear functional of a tensor, so every output gets a distinct weight. */
function projector(rng: Rng, shape: number[]): { weights: Tensor; apply: (t: Tensor) => number } {
  const weights = random(rng, shape);
  return {
    weights,
    apply: (t) => {
      const d = cpuData(t), w = cpuData(weights);
      let s = 0;
      for (let i = 0; i < d.length; i++) s += d[i] * w[i];
      return s;
    },
  };
}

for (const activation of ["linear", "relu", "tanh", "sigmoid"] as Activation[]) {
  Deno.test(`Dense backward matches finite differences (${activation})`, () => {
    const rng = new Rng(11);
    const model = new Sequential(backend, {
      inputSize: 5,
      layers: [new Dense({ units: 4, activation }), new Dense({ units: 3, activation })],
      seed: 2,
    });
    const x = random(rng, [6, 5]);
    const proj = projector(rng, [6, 3]);
    const loss = () => proj.apply(model.forward(x).output);
    model.forward(x, { training: true });
    const { dInput } = model.backward(proj.weights);
    checkGradient("dx", x, dInput, loss);
    for (const p of model.parameters) checkGradient(p.name, p.value, p.grad!, loss);
  });
}

Deno.test("LSTM backward matches finite differences over 6 steps with carried and masked state", () => {
  const rng = new Rng(5);
  const [steps, batch, inputs, hidden] = [6, 3, 4, 5];
  const model = new Sequential(backend, {
    inputSize: inputs,
    layers: [new LSTM({ units: hidden })],
    seed: 9,
  });
  // Perturb the bias away from its initial pattern so every gate is exercised.
  cpuData(model.parameters[2].value).set(cpuData(random(rng, [4 * hidden], 0.5)));
  const x = random(rng, [steps, batch, inputs]);
  const h0 = random(rng, [batch, hidden], 0.5);
  const c0 = random(rng, [batch, hidden], 0.5);
  // Batch row 1 starts a new episode at step 3; row 2 at step 0 (ignores its initial state).
  const maskValues = new Array(steps * batch).fill(1);
  maskValues[3 * batch + 1] = 0;
  maskValues[0 * batch + 2] = 0;
  const mask = backend.tensor(maskValues, [steps, batch]);
  const onOutput = projector(rng, [steps, batch, hidden]);
  const onH = projector(rng, [batch, hidden]);
  const onC = projector(rng, [batch, hidden]);
  const loss = () => {
    const r = model.forward(x, { state: [[h0, c0]], mask });
    const [hLast, cLast] = r.state[0]!;
    return onOutput.apply(r.output) + onH.apply(hLast) + onC.apply(cLast);
  };
  model.forward(x, { state: [[h0, c0]], mask, training: true });
  const { dInput, dState } = model.backward(onOutput.weights, [[onH.weights, onC.weights]]);
  checkGradient("dx", x, dInput, loss);
  checkGradient("dh0", h0, dState[0]![0], loss);
  checkGradient("dc0", c0, dState[0]![1], loss);
  for (const p of model.parameters) checkGradient(p.name, p.value, p.grad!, loss);
  // Row 2 was reset at step 0: its initial state cannot matter.
  const dh0 = cpuData(dState[0]![0]);
  for (let j = 0; j < hidden; j++) assert.ok(dh0[2 * hidden + j] === 0);
});

for (const linearBeforeReset of [true, false]) {
  Deno.test(`GRU backward matches finite differences over 7 steps with carried and masked state (linearBeforeReset ${linearBeforeReset})`, () => {
    const rng = new Rng(linearBeforeReset ? 15 : 16);
    const [steps, batch, inputs, hidden] = [7, 3, 4, 5];
    const model = new Sequential(backend, {
      inputSize: inputs,
      layers: [new GRU({ units: hidden, linearBeforeReset })],
      seed: 10,
    });
    // Random biases (they start at 0), so that bw and bu both matter and differ.
    for (const p of model.parameters.slice(2)) {
      cpuData(p.value).set(cpuData(random(rng, [3 * hidden], 0.5)));
    }
    const x = random(rng, [steps, batch, inputs]);
    const h0 = random(rng, [batch, hidden], 0.7);
    // Row 1 starts a new episode at step 3, row 2 at step 0 (its initial state cannot matter);
    // row 0 carries half its state into step 5 (masks multiply).
    const maskValues = new Array(steps * batch).fill(1);
    maskValues[3 * batch + 1] = 0;
    maskValues[0 * batch + 2] = 0;
    maskValues[5 * batch + 0] = 0.5;
    const mask = backend.tensor(maskValues, [steps, batch]);
    const onOutput = projector(rng, [steps, batch, hidden]);
    const onH = projector(rng, [batch, hidden]);
    const loss = () => {
      const r = model.forward(x, { state: [[h0]], mask });
      return onOutput.apply(r.output) + onH.apply(r.state[0]![0]);
    };
    model.forward(x, { state: [[h0]], mask, training: true });
    const { dInput, dState } = model.backward(onOutput.weights, [[onH.weights]]);
    checkGradient("dx", x, dInput, loss);
    checkGradient("dh0", h0, dState[0]![0], loss);
    for (const p of model.parameters) checkGradient(p.name, p.value, p.grad!, loss);
    const dh0 = cpuData(dState[0]![0]);
    for (let j = 0; j < hidden; j++) assert.ok(dh0[2 * hidden + j] === 0, "row 2 was reset");
    assert.ok(dh0.slice(0, 2 * hidden).some((v) => Math.abs(v) > 1e-3), "rows 0 and 1 carry");
  });

  Deno.test(`Sequential GRU + GRU + Dense backward matches finite differences under an MSE loss (linearBeforeReset ${linearBeforeReset})`, () => {
    const rng = new Rng(linearBeforeReset ? 17 : 18);
    const model = new Sequential(backend, {
      inputSize: 3,
      layers: [
        new GRU({ units: 4, linearBeforeReset }),
        new GRU({ units: 3, linearBeforeReset }),
        new Dense({ units: 2, activation: "tanh" }),
      ],
      seed: 4,
    });
    const x = random(rng, [6, 2, 3]);
    const target = random(rng, [6, 2, 2]);
    const mask = backend.tensor([1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1], [6, 2]);
    const loss = () => cpuData(backend.mseLoss(model.forward(x, { mask }).output, target).loss)[0];
    const { output } = model.forward(x, { training: true, mask });
    const { grad } = backend.mseLoss(output, target);
    const { dInput } = model.backward(grad);
    checkGradient("dx", x, dInput, loss);
    for (const p of model.parameters) checkGradient(p.name, p.value, p.grad!, loss);
  });
}

Deno.test("Sequential LSTM + Dense backward matches finite differences under an MSE loss", () => {
  const rng = new Rng(8);
  const model = new Sequential(backend, {
    inputSize: 3,
    layers: [new LSTM({ units: 4 }), new Dense({ units: 2, activation: "tanh" })],
    seed: 4,
  });
  const x = random(rng, [5, 2, 3]);
  const target = random(rng, [5, 2, 2]);
  const loss = () => cpuData(backend.mseLoss(model.forward(x).output, target).loss)[0];
  const { output } = model.forward(x, { training: true });
  const { grad } = backend.mseLoss(output, target);
  const { dInput } = model.backward(grad);
  checkGradient("dx", x, dInput, loss);
  for (const p of model.parameters) checkGradient(p.name, p.value, p.grad!, loss);
});

Deno.test("mseLoss and huberLoss gradients match finite differences", () => {
  const rng = new Rng(3);
  const prediction = random(rng, [20], 2);
  const target = random(rng, [20], 2);
  const mse = backend.mseLoss(prediction, target);
  checkGradient(
    "mse",
    prediction,
    mse.grad,
    () => cpuData(backend.mseLoss(prediction, target).loss)[0],
  );
  const huber = backend.huberLoss(prediction, target, 1);
  checkGradient(
    "huber",
    prediction,
    huber.grad,
    () => cpuData(backend.huberLoss(prediction, target, 1).loss)[0],
  );
  // Both regimes of the Huber loss were exercised.
  const p = cpuData(prediction), t = cpuData(target);
  let inside = 0;
  for (let i = 0; i < p.length; i++) if (Math.abs(p[i] - t[i]) <= 1) inside++;
  assert.ok(inside > 0 && inside < 20);
});

Deno.test("policyLoss gradient matches finite differences, entropy bonus included", () => {
  const rng = new Rng(21);
  const logits = random(rng, [4, 3]);
  const actions = backend.tensor([0, 2, 1, 2], [4]);
  const advantages = random(rng, [4]);
  const loss = () => cpuData(backend.policyLoss(logits, actions, advantages, 0.05).loss)[0];
  checkGradient("policy", logits, backend.policyLoss(logits, actions, advantages, 0.05).grad, loss);
});
