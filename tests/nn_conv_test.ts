// Conv2D, MaxPool2D and their backend ops on the CPU: the patch layout and pooling on hand-made
// images, gradients against float64 central differences (channels-first and channels-last
// inputs, "same" and "valid" padding, pooling with a remainder, a GRU after the convolution),
// forward parity with onnxruntime-web's Conv and MaxPool (a bare Conv graph, and exported
// models feed-forward and recurrent), and a round trip through a configuration and a checkpoint.
import assert from "node:assert/strict";
import { cpuData, createCpuBackend } from "../lib/backend/cpu.ts";
import type { Tensor } from "../lib/backend/backend.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../lib/io/checkpoint.ts";
import { Rng } from "../lib/io/rng.ts";
import { Conv2D, MaxPool2D } from "../lib/nn/conv2d.ts";
import { Dense } from "../lib/nn/dense.ts";
import { GRU } from "../lib/nn/gru.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { type RecurrentState, Sequential } from "../lib/nn/sequential.ts";
import { exportOnnx } from "../lib/onnx/export.ts";
import { intsAttribute, OnnxGraphBuilder } from "../lib/onnx/graph.ts";
import { OnnxPolicy } from "../lib/onnx/policy.ts";
import { createOrtSession, runOrt } from "../lib/onnx/runtime.ts";
import { maxAbsDiff } from "./helpers/mod.ts";

const cpu = createCpuBackend();
const f64 = createCpuBackend({ precision: "float64" });

function normals(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

Deno.test("convPatches lays out each output pixel's kernel window, zeros in the padding", async () => {
  // A 2×2 image with two channels, channels-last: pixel i has channels (i + 1, 10·(i + 1)).
  const x = cpu.tensor([1, 10, 2, 20, 3, 30, 4, 40], [1, 8]);
  const geometry = { height: 2, width: 2, channels: 2, kernel: 2, padding: 1 };
  const patches = cpu.convPatches(x, geometry);
  assert.deepEqual(patches.shape, [9, 8]); // a 3×3 output, 2·2·2 features
  const rows = await cpu.read(patches);
  const row = (r: number) => Array.from(rows.subarray(r * 8, r * 8 + 8));
  // Output (0, 0) covers input rows −1..0, columns −1..0: only pixel (0, 0) is inside.
  assert.deepEqual(row(0), [0, 0, 0, 0, 0, 0, 1, 10]);
  // Output (1, 1) covers the whole image.
  assert.deepEqual(row(4), [1, 10, 2, 20, 3, 30, 4, 40]);
  // Output (2, 1) covers rows 1..2, columns 0..1: the bottom row, then padding.
  assert.deepEqual(row(7), [3, 30, 4, 40, 0, 0, 0, 0]);
  // The same image channels-first gives the same patches.
  const chw = cpu.tensor([1, 2, 3, 4, 10, 20, 30, 40], [1, 8]);
  const same = await cpu.read(cpu.convPatches(chw, { ...geometry, channelsFirst: true }));
  assert.deepEqual(Array.from(same), Array.from(rows));
});

Deno.test("convPatchesAdjoint is the adjoint of convPatches: <P x, y> = <x, Pᵀ y>", () => {
  const rng = new Rng(2);
  for (const channelsFirst of [false, true]) {
    const geometry = { height: 5, width: 4, channels: 3, kernel: 3, padding: 1, channelsFirst };
    const x = f64.tensor(normals(rng, 2 * 60), [2, 60]);
    const p = f64.convPatches(x, geometry);
    const y = f64.tensor(normals(rng, p.size), p.shape);
    const back = f64.convPatchesAdjoint(y, geometry);
    assert.deepEqual(back.shape, [2, 60]);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += a[i] * b[i];
      return s;
    };
    // cpuData: the float64 values themselves (read gives float32).
    const left = dot(cpuData(p), cpuData(y));
    const right = dot(cpuData(x), cpuData(back));
    assert.ok(Math.abs(left - right) < 1e-9 * Math.abs(left), `${left} vs ${right}`);
  }
});

Deno.test("maxPool takes each window's maximum, drops a remainder, and routes the gradient to the first maximum", async () => {
  // A 3×3 image, one channel; its 2×2 window is the top-left block, the last row and column drop.
  const x = cpu.tensor([1, 5, 0, 5, 2, 9, 7, 8, 3], [1, 9]);
  const geometry = { height: 3, width: 3, channels: 1, size: 2 };
  assert.deepEqual(Array.from(await cpu.read(cpu.maxPool(x, geometry))), [5]);
  const dx = cpu.maxPoolBackward(x, cpu.tensor([1.5], [1, 1]), geometry);
  assert.deepEqual(Array.from(await cpu.read(dx)), [0, 1.5, 0, 0, 0, 0, 0, 0, 0]);
  // Two channels are pooled independently.
  const two = cpu.tensor([1, -1, 2, -2, 3, -3, 4, -4], [1, 8]);
  const pooled = cpu.maxPool(two, { height: 2, width: 2, channels: 2, size: 2 });
  assert.deepEqual(Array.from(await cpu.read(pooled)), [4, -1]);
});

Deno.test("convolution and pooling ops refuse a geometry or a tensor that does not fit", () => {
  const x = cpu.zeros([1, 16]);
  assert.throws(
    () => cpu.convPatches(x, { height: 4, width: 4, channels: 1, kernel: 3, padding: 3 }),
    /^RangeError: Cannot take convolution patches: padding is 3, expected an integer in 0\.\.2$/,
  );
  assert.throws(
    () => cpu.convPatches(x, { height: 2, width: 2, channels: 1, kernel: 3, padding: 0 }),
    /a 3×3 kernel with padding 0 does not fit a 2×2 image/,
  );
  assert.throws(
    () => cpu.convPatches(x, { height: 4, width: 4, channels: 2, kernel: 3, padding: 1 }),
    /^TypeError: Cannot take convolution patches: expected shape \[B, 32\], got \[1, 16\]$/,
  );
  assert.throws(
    () => cpu.maxPool(x, { height: 4, width: 4, channels: 1, size: 5 }),
    /^RangeError: Cannot max-pool: a 5×5 window does not fit a 4×4 image$/,
  );
  assert.throws(
    () => cpu.maxPoolBackward(x, cpu.zeros([1, 3]), { height: 4, width: 4, channels: 1, size: 2 }),
    /^TypeError: .*the gradient of maxPool/,
  );
});

Deno.test("Conv2D and MaxPool2D: sizes passed down a stack, parameters, and clear errors", () => {
  const model = new Sequential(cpu, {
    inputSize: 2 * 6 * 5,
    layers: [
      new Conv2D({
        filters: 4,
        kernelSize: 3,
        height: 6,
        width: 5,
        inputLayout: "channels-first",
        activation: "relu",
      }),
      new MaxPool2D({ size: 2 }),
      new Conv2D({ filters: 3, kernelSize: 2, padding: "valid" }),
      new Dense({ units: 2 }),
    ],
    seed: 1,
  });
  const [conv, pool, conv2] = model.layers as [Conv2D, MaxPool2D, Conv2D];
  assert.deepEqual(conv.outputImage, { height: 6, width: 5, channels: 4 });
  assert.deepEqual(pool.outputImage, { height: 3, width: 2, channels: 4 });
  assert.deepEqual(conv2.outputImage, { height: 2, width: 1, channels: 3 });
  assert.equal(conv2.units, 6);
  assert.deepEqual(model.parameters.map((p) => [p.name, p.value.shape.join("×")]), [
    ["layers.0.w", "18×4"],
    ["layers.0.b", "4"],
    ["layers.2.w", "16×3"],
    ["layers.2.b", "3"],
    ["layers.3.w", "6×2"],
    ["layers.3.b", "2"],
  ]);
  assert.throws(
    () =>
      new Sequential(cpu, { inputSize: 9, layers: [new Conv2D({ filters: 1, kernelSize: 3 })] }),
    /^RangeError: Cannot build a Conv2D layer: give its height and width \(no convolution or pooling comes before it\)$/,
  );
  assert.throws(
    () =>
      new Sequential(cpu, {
        inputSize: 10,
        layers: [new MaxPool2D({ height: 3, width: 3 })],
      }),
    /10 inputs are not a whole number of channels of a 3×3 image/,
  );
  assert.throws(
    () => new Conv2D({ filters: 2, kernelSize: 2 }),
    /"same" padding needs an odd kernel, got 2/,
  );
  assert.throws(() => new Conv2D({ filters: 0, kernelSize: 3 }), /filters is 0/);
});

/** Central differences of `loss` in every element of `wrt` against `analytic`. */
function checkGradient(name: string, wrt: Tensor, analytic: Tensor, loss: () => number): void {
  const x = cpuData(wrt), g = cpuData(analytic), h = 1e-6;
  assert.equal(g.length, x.length, `${name}: gradient size`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = loss();
    x[i] = saved - h;
    const down = loss();
    x[i] = saved;
    const numeric = (up - down) / (2 * h);
    const error = Math.abs(numeric - g[i]) / (1e-7 + Math.abs(numeric) + Math.abs(g[i]));
    worst = Math.max(worst, Math.abs(numeric - g[i]) > 1e-8 ? error : 0);
  }
  assert.ok(worst < 1e-6, `${name}: worst relative error ${worst}`);
}

/** Checks every parameter's and the input's gradient of `Σ w·output` by central differences. */
function checkModelGradients(model: Sequential, x: Tensor, rng: Rng): void {
  const { output: probe, state: probeState } = model.forward(x);
  model.disposeState(probeState);
  const weights = f64.tensor(normals(rng, probe.size), probe.shape);
  const loss = () => {
    const { output, state } = model.forward(x);
    model.disposeState(state);
    const d = cpuData(output), w = cpuData(weights);
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i] * w[i];
    return s;
  };
  const { state } = model.forward(x, { training: true });
  model.disposeState(state);
  const { dInput, dState } = model.backward(weights);
  model.disposeState(dState);
  for (const p of model.parameters) checkGradient(p.name, p.value, p.grad!, loss);
  checkGradient("the input", x, dInput, loss);
}

Deno.test("Conv2D and MaxPool2D gradients match float64 finite differences", () => {
  const rng = new Rng(3);
  // Channels-first input, "same" then "valid" convolutions, a pooling with a remainder row.
  const model = new Sequential(f64, {
    inputSize: 2 * 7 * 6,
    layers: [
      new Conv2D({
        filters: 3,
        kernelSize: 3,
        height: 7,
        width: 6,
        inputLayout: "channels-first",
        activation: "tanh",
      }),
      new MaxPool2D({ size: 2 }),
      new Conv2D({ filters: 2, kernelSize: 2, padding: "valid", activation: "sigmoid" }),
      new Dense({ units: 3, activation: "tanh" }),
    ],
    seed: 4,
  });
  checkModelGradients(model, f64.tensor(normals(rng, 3 * 84), [3, 84]), rng);
  // Channels-last input and a 5×5 kernel, as the first layer, linear.
  const wide = new Sequential(f64, {
    inputSize: 6 * 5 * 2,
    layers: [
      new Conv2D({ filters: 2, kernelSize: 5, height: 6, width: 5 }),
      new Dense({ units: 2 }),
    ],
    seed: 5,
  });
  checkModelGradients(wide, f64.tensor(normals(rng, 2 * 60), [2, 60]), rng);
});

Deno.test("a Conv2D before a GRU trains on sequences: gradients match float64 finite differences", () => {
  const rng = new Rng(6);
  const model = new Sequential(f64, {
    inputSize: 5 * 5,
    layers: [
      new Conv2D({ filters: 2, kernelSize: 3, height: 5, width: 5, activation: "tanh" }),
      new MaxPool2D({ size: 2 }),
      new GRU({ units: 4 }),
      new Dense({ units: 2 }),
    ],
    seed: 7,
  });
  checkModelGradients(model, f64.tensor(normals(rng, 4 * 2 * 25), [4, 2, 25]), rng);
});

Deno.test("convPatches times the weights equals onnxruntime-web's Conv of the same image", async () => {
  const rng = new Rng(8);
  const [batch, c, h, w, f, k, p] = [2, 3, 6, 5, 4, 3, 1];
  const image = normals(rng, batch * c * h * w); // NCHW, as ONNX takes it
  const onnxWeight = normals(rng, f * c * k * k); // [F, C, k, k]
  const bias = normals(rng, f);
  const g = new OnnxGraphBuilder({ name: "conv" });
  g.addInput("x", [batch, c, h, w]);
  const wName = g.addInitializer("w", onnxWeight, [f, c, k, k]);
  const bName = g.addInitializer("b", bias, [f]);
  const y = g.addNode("Conv", ["x", wName, bName], ["y"], {
    attributes: [
      intsAttribute("kernel_shape", [k, k]),
      intsAttribute("pads", [p, p, p, p]),
      intsAttribute("strides", [1, 1]),
    ],
  })[0];
  g.addOutput(y, [batch, f, h, w]);
  const session = await createOrtSession(g.encodeModel());
  try {
    const theirs = (await runOrt(session, { x: { data: image, dims: [batch, c, h, w] } })).y;
    // Ours: channels-first patches times the [k²·C, F] weight (rows in dy, dx, c order).
    const ours = new Float32Array(f * c * k * k);
    for (let o = 0; o < f; o++) {
      for (let ch = 0; ch < c; ch++) {
        for (let dy = 0; dy < k; dy++) {
          for (let dx = 0; dx < k; dx++) {
            ours[((dy * k + dx) * c + ch) * f + o] = onnxWeight[((o * c + ch) * k + dy) * k + dx];
          }
        }
      }
    }
    const patches = cpu.convPatches(cpu.tensor(image, [batch, c * h * w]), {
      height: h,
      width: w,
      channels: c,
      kernel: k,
      padding: p,
      channelsFirst: true,
    });
    const out = await cpu.read(
      cpu.matmul(patches, cpu.tensor(ours, [k * k * c, f]), { bias: cpu.tensor(bias, [f]) }),
    );
    // Ours is channels-last [B, H, W, F]; ONNX's is [B, F, H, W].
    const nchw = new Float32Array(out.length);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < h * w; i++) {
        for (let o = 0; o < f; o++) nchw[(b * f + o) * h * w + i] = out[(b * h * w + i) * f + o];
      }
    }
    assert.ok(maxAbsDiff(theirs.data as Float32Array, nchw) <= 1e-5, "Conv");
  } finally {
    await session.release();
  }
});

/** rnnrl's forward of a model from zero state, read back. */
async function native(model: Sequential, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const { output, state } = model.forward(cpu.tensor(x, shape));
  model.disposeState(state as RecurrentState);
  const out = await cpu.read(output);
  cpu.dispose(output);
  return out;
}

Deno.test("exportOnnx models with Conv2D and MaxPool2D (feed-forward, and before an LSTM) match the native forward", async () => {
  const rng = new Rng(9);
  const cases: [string, () => Sequential, boolean][] = [
    ["Conv2D (channels-first) → MaxPool2D → Conv2D → Dense", () =>
      new Sequential(cpu, {
        inputSize: 3 * 8 * 7,
        layers: [
          new Conv2D({
            filters: 5,
            kernelSize: 3,
            height: 8,
            width: 7,
            inputLayout: "channels-first",
            activation: "relu",
          }),
          new MaxPool2D({ size: 2 }),
          new Conv2D({ filters: 4, kernelSize: 2, padding: "valid", activation: "tanh" }),
          new Dense({ units: 3 }),
        ],
        seed: 1,
      }), false],
    ["Conv2D (channels-last) last", () =>
      new Sequential(cpu, {
        inputSize: 5 * 5 * 2,
        layers: [new Conv2D({ filters: 1, kernelSize: 3, height: 5, width: 5 })],
        seed: 2,
      }), false],
    ["Conv2D → MaxPool2D → LSTM → Dense", () =>
      new Sequential(cpu, {
        inputSize: 6 * 6,
        layers: [
          new Conv2D({ filters: 3, kernelSize: 3, height: 6, width: 6, activation: "relu" }),
          new MaxPool2D({ size: 2 }),
          new LSTM({ units: 5 }),
          new Dense({ units: 2 }),
        ],
        seed: 3,
      }), true],
  ];
  for (const [name, build, recurrent] of cases) {
    const model = build();
    const policy = await OnnxPolicy.load(await exportOnnx(model));
    try {
      for (const lead of recurrent ? [[4, 3], [1, 1]] : [[4], [1]]) {
        const rows = lead.reduce((a, b) => a * b, 1);
        const x = normals(rng, rows * model.inputSize);
        const shape = [...lead, model.inputSize];
        const ours = await native(model, x, shape);
        const theirs = await policy.run(
          x,
          shape,
          recurrent ? policy.initialState(lead[1]) : undefined,
        );
        assert.equal(theirs.output.length, ours.length, name);
        assert.ok(
          maxAbsDiff(theirs.output, ours) <= 1e-5,
          `${name} [${shape}]: ${maxAbsDiff(theirs.output, ours)}`,
        );
      }
    } finally {
      await policy.release();
    }
  }
});

Deno.test("a Conv2D model survives its configuration and a checkpoint file, bit for bit", async () => {
  const rng = new Rng(10);
  const model = new Sequential(cpu, {
    inputSize: 2 * 5 * 4,
    layers: [
      new Conv2D({
        filters: 3,
        kernelSize: 3,
        height: 5,
        width: 4,
        inputLayout: "channels-first",
        activation: "relu",
      }),
      new MaxPool2D({ size: 2 }),
      new Dense({ units: 2 }),
    ],
    seed: 9,
  });
  const bytes = encodeCheckpoint({
    header: { config: model.config as unknown as Record<string, never> },
    arrays: await model.getParameters(),
  });
  const decoded = decodeCheckpoint(bytes);
  const copy = Sequential.fromConfig(cpu, decoded.header.config as never, 123);
  copy.setParameters(decoded.arrays.map((a) => ({ ...a, data: a.data as Float32Array })));
  assert.deepEqual(copy.config, model.config);
  const x = normals(rng, 3 * 40);
  assert.deepEqual(
    Array.from(await native(copy, x, [3, 40])),
    Array.from(await native(model, x, [3, 40])),
  );
});
