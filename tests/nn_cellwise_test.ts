// Cellwise: analytic gradients of parameters and input against central differences in float64,
// translation invariance (a shifted board shifts the scores), the config round trip through
// Sequential.fromConfig, the argument checks, and the ONNX export run in onnxruntime-web.
import assert from "node:assert/strict";
import type { Tensor } from "../lib/backend/backend.ts";
import { cpuData, createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";
import { Cellwise } from "../lib/nn/cellwise.ts";
import { Dense } from "../lib/nn/dense.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Sequential } from "../lib/nn/sequential.ts";
import { exportOnnx } from "../lib/onnx/export.ts";
import { OnnxPolicy } from "../lib/onnx/policy.ts";

const backend = createCpuBackend({ precision: "float64" });
const H = 1e-6;

function normal(rng: Rng, shape: number[], std = 1): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return backend.tensor(Array.from({ length: n }, () => rng.normal(0, std)), shape);
}

/** The weighted sum `Σ w·t`: a scalar loss whose gradient with respect to `t` is `w`. */
function weighted(t: Tensor, w: Tensor): number {
  const a = cpuData(t), b = cpuData(w);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Asserts that `analytic` is the gradient of `loss` with respect to `wrt`, element by element. */
function checkGradient(name: string, wrt: Tensor, analytic: Tensor, loss: () => number): void {
  const x = cpuData(wrt), g = cpuData(analytic);
  assert.equal(g.length, x.length, `${name}: gradient size`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + H;
    const up = loss();
    x[i] = saved - H;
    const down = loss();
    x[i] = saved;
    const numeric = (up - down) / (2 * H);
    const diff = Math.abs(numeric - g[i]);
    if (diff > 1e-8) worst = Math.max(worst, diff / (Math.abs(numeric) + Math.abs(g[i])));
  }
  assert.ok(worst < 1e-5, `${name}: worst relative error ${worst}`);
}

for (
  const [height, width, radius, hidden, activation] of [
    [3, 4, 1, [5], "tanh"],
    [4, 3, 2, [4, 3], "relu"],
    [2, 5, 0, [], "linear"],
  ] as const
) {
  Deno.test(
    `Cellwise backward matches finite differences (${height}×${width} r=${radius} hidden [${hidden}] ${activation})`,
    () => {
      const rng = new Rng(height * 10 + radius);
      const channels = 3, batch = 2;
      const model = new Sequential(backend, {
        inputSize: channels * height * width,
        layers: [new Cellwise({ height, width, radius, hidden: [...hidden], activation })],
        seed: 5,
      });
      // Non-zero biases so that every unit's bias gradient is exercised.
      for (const p of model.parameters) {
        cpuData(p.value).set(cpuData(normal(rng, [p.value.size], 0.5)));
      }
      const x = normal(rng, [batch, channels * height * width]);
      const w = normal(rng, [batch, height * width]);
      const loss = () => weighted(model.forward(x).output, w);
      const { output } = model.forward(x, { training: true });
      assert.deepEqual(output.shape, [batch, height * width]);
      const { dInput } = model.backward(w);
      checkGradient("dx", x, dInput, loss);
      assert.equal(model.parameters.length, 2 * (hidden.length + 1));
      for (const p of model.parameters) checkGradient(p.name, p.value, p.grad!, loss);
    },
  );
}

Deno.test("Cellwise backward through a Dense layer after it matches finite differences", () => {
  const rng = new Rng(21);
  const model = new Sequential(backend, {
    inputSize: 2 * 3 * 3,
    layers: [
      new Cellwise({ height: 3, width: 3, radius: 1, hidden: [4] }),
      new Dense({ units: 2 }),
    ],
    seed: 3,
  });
  const x = normal(rng, [3, 18]);
  const w = normal(rng, [3, 2]);
  const loss = () => weighted(model.forward(x).output, w);
  model.forward(x, { training: true });
  const { dInput } = model.backward(w);
  checkGradient("dx", x, dInput, loss);
  for (const p of model.parameters) checkGradient(p.name, p.value, p.grad!, loss);
});

Deno.test("Cellwise scores are translation invariant away from the edges", async () => {
  // One channel on a 1×8 strip, radius 1: a pattern moved by one cell moves the scores with it
  // wherever neither patch sees the edge.
  const cpu = createCpuBackend();
  const model = new Sequential(cpu, {
    inputSize: 8,
    layers: [new Cellwise({ height: 1, width: 8, radius: 1, hidden: [6] })],
    seed: 2,
  });
  const board = [0, 0.5, -1, 2, 0.25, 0, 0, 0];
  const shifted = [0, 0, 0.5, -1, 2, 0.25, 0, 0];
  const a = await cpu.read(model.forward(cpu.tensor(board, [1, 8])).output);
  const b = await cpu.read(model.forward(cpu.tensor(shifted, [1, 8])).output);
  for (let i = 1; i < 6; i++) assert.equal(b[i + 1], a[i], `cell ${i}`);
  // The outside flag makes the edge cell differ from an interior cell with the same values.
  const zeros = await cpu.read(model.forward(cpu.zeros([1, 8])).output);
  assert.notEqual(zeros[0], zeros[3]);
  assert.equal(zeros[2], zeros[3]);
});

Deno.test("Cellwise survives Sequential.fromConfig with the same outputs", async () => {
  const cpu = createCpuBackend();
  const model = new Sequential(cpu, {
    inputSize: 10 * 4 * 5,
    layers: [new Cellwise({ height: 4, width: 5, radius: 2, hidden: [8, 4], activation: "tanh" })],
    seed: 9,
  });
  assert.deepEqual(model.config.layers[0], {
    type: "cellwise",
    height: 4,
    width: 5,
    radius: 2,
    hidden: [8, 4],
    activation: "tanh",
  });
  const copy = Sequential.fromConfig(cpu, JSON.parse(JSON.stringify(model.config)));
  copy.setParameters(await model.getParameters());
  const rng = new Rng(4);
  const x = cpu.tensor(Array.from({ length: 2 * 200 }, () => rng.normal(0, 1)), [2, 200]);
  assert.deepEqual(
    Array.from(await cpu.read(copy.forward(x).output)),
    Array.from(await cpu.read(model.forward(x).output)),
  );
  // The first shared layer sees a 5×5 patch of 10 channels plus the outside flag.
  assert.deepEqual(model.parameters[0].value.shape, [25 * 11, 8]);
});

Deno.test("Cellwise rejects bad options and inputs that are not whole channels", () => {
  assert.throws(() => new Cellwise({ height: 0, width: 3, radius: 1 }), RangeError);
  assert.throws(() => new Cellwise({ height: 3, width: 3, radius: -1 }), RangeError);
  assert.throws(() => new Cellwise({ height: 3, width: 3, radius: 1.5 }), RangeError);
  assert.throws(() => new Cellwise({ height: 3, width: 3, radius: 1, hidden: [0] }), RangeError);
  assert.throws(
    () =>
      new Sequential(backend, {
        inputSize: 10,
        layers: [new Cellwise({ height: 3, width: 3, radius: 1 })],
      }),
    RangeError,
  );
  const model = new Sequential(backend, {
    inputSize: 18,
    layers: [new Cellwise({ height: 3, width: 3, radius: 1 })],
  });
  assert.throws(() => model.forward(backend.zeros([1, 27])), TypeError);
  assert.throws(() => model.backward(backend.zeros([1, 9])), Error);
});

Deno.test("exportOnnx runs a Cellwise model in onnxruntime-web like the CPU backend", async () => {
  const cpu = createCpuBackend();
  const rng = new Rng(17);
  for (
    const [height, width, radius, hidden, activation, after] of [
      [9, 9, 2, [16, 8], "relu", false],
      [3, 5, 1, [4], "tanh", true],
      [4, 2, 0, [], "relu", false],
    ] as const
  ) {
    const channels = 3;
    const inputSize = channels * height * width;
    const model = new Sequential(cpu, {
      inputSize,
      layers: [
        new Cellwise({ height, width, radius, hidden: [...hidden], activation }),
        ...(after ? [new Dense({ units: 2 })] : []),
      ],
      seed: 6,
    });
    // Random biases too, so a misplaced bias or outside flag shows.
    const params = await model.getParameters();
    for (const p of params) p.data.set(p.data.map(() => rng.normal(0, 0.5)));
    model.setParameters(params);
    const policy = await OnnxPolicy.load(await exportOnnx(model));
    try {
      for (const batch of [1, 4]) {
        const x = Float32Array.from({ length: batch * inputSize }, () => rng.normal(0, 1));
        const ours = await cpu.read(model.forward(cpu.tensor(x, [batch, inputSize])).output);
        const theirs = await policy.run(x, [batch, inputSize]);
        assert.deepEqual(theirs.shape, [batch, model.outputSize]);
        let worst = 0;
        for (let i = 0; i < ours.length; i++) {
          worst = Math.max(worst, Math.abs(ours[i] - theirs.output[i]));
        }
        assert.ok(worst <= 1e-4, `${height}×${width} r=${radius}: max difference ${worst}`);
      }
    } finally {
      await policy.release();
    }
  }
});

Deno.test("exportOnnx rejects a Cellwise layer in a recurrent model", async () => {
  const model = new Sequential(createCpuBackend(), {
    inputSize: 8,
    layers: [new Cellwise({ height: 2, width: 2, radius: 1 }), new LSTM({ units: 3 })],
  });
  await assert.rejects(exportOnnx(model), TypeError);
});

Deno.test("Cellwise forwardPatches on chosen cells gives the board forward's values and gradients", () => {
  const rng = new Rng(31);
  const [height, width, radius, channels, batch] = [4, 5, 2, 3, 3];
  const inputSize = channels * height * width;
  const layer = new Cellwise({ height, width, radius, hidden: [6, 4], activation: "tanh" });
  const model = new Sequential(backend, { inputSize, layers: [layer], seed: 8 });
  for (const p of model.parameters) cpuData(p.value).set(cpuData(normal(rng, [p.value.size], 0.5)));
  // Float32 values, so that the float32 patches of patchesAt hold them exactly.
  const x = backend.tensor(cpuData(normal(rng, [batch, inputSize])).map(Math.fround), [
    batch,
    inputSize,
  ]);
  const cells = [0, 13, 19]; // a corner, an interior cell, the opposite corner
  const weights = [0.7, -1.3, 2.1];

  // patchesAt picks the same rows as unfoldPatches.
  const all = cpuData(backend.unfoldPatches(x, layer));
  const picked = layer.patchesAt(cpuData(x), cells);
  const F = layer.patchSize;
  cells.forEach((cell, b) => {
    const row = all.subarray((b * height * width + cell) * F, (b * height * width + cell + 1) * F);
    assert.deepEqual(Array.from(picked.subarray(b * F, (b + 1) * F)), Array.from(row));
  });

  // The board path with a one-hot output gradient...
  const { output } = model.forward(x, { training: true });
  const dBoard = new Float64Array(batch * height * width);
  cells.forEach((cell, b) => (dBoard[b * height * width + cell] = weights[b]));
  model.backward(backend.tensor(dBoard, [batch, height * width]));
  const boardGrads = model.parameters.map((p) => Array.from(cpuData(p.grad!)));
  const boardValues = cells.map((cell, b) => cpuData(output)[b * height * width + cell]);
  model.clearCache();

  // ...and the patch path give the same values and parameter gradients.
  const q = layer.forwardPatches(backend.tensor(picked, [batch, F]), { training: true });
  assert.deepEqual(q.shape, [batch, 1]);
  cpuData(q).forEach((v, b) => assert.ok(Math.abs(v - boardValues[b]) < 1e-6, `value ${b}`));
  const dPatches = layer.backwardPatches(backend.tensor(weights, [batch, 1]));
  assert.deepEqual(dPatches.shape, [batch, F]);
  model.parameters.forEach((p, k) => {
    const g = cpuData(p.grad!);
    g.forEach((v, i) =>
      assert.ok(
        Math.abs(v - boardGrads[k][i]) < 1e-6,
        `${p.name}[${i}]: ${v} vs ${boardGrads[k][i]}`,
      )
    );
  });
  assert.throws(() => layer.backward(backend.zeros([batch, height * width])), Error);
  assert.throws(() => layer.patchesAt(cpuData(x), [0, 20, 1]), RangeError);
  assert.throws(() => layer.patchesAt(cpuData(x), [0, 1]), TypeError);
});
