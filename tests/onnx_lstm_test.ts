import assert from "node:assert/strict";
import { maxAbsDiff } from "./helpers/mod.ts";
import { Rng } from "../lib/io/rng.ts";
import { OnnxGraphBuilder, type OnnxLstmWeights } from "../lib/onnx/graph.ts";
import { runOrtLstm } from "../lib/onnx/ort_lstm.ts";
import { createOrtSession, runOrt } from "../lib/onnx/runtime.ts";

const TOLERANCE = 1e-5;

function randomArray(rng: Rng, size: number, scale: number): Float32Array {
  const out = new Float32Array(size);
  for (let k = 0; k < size; k++) out[k] = rng.uniformIn(-scale, scale);
  return out;
}

function randomLstm(rng: Rng, inputSize: number, hiddenSize: number): OnnxLstmWeights {
  const g4 = 4 * hiddenSize;
  return {
    w: randomArray(rng, inputSize * g4, 0.4),
    u: randomArray(rng, hiddenSize * g4, 0.4),
    b: randomArray(rng, g4, 0.5),
  };
}

function maxAbs(a: ArrayLike<number>): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]));
  return worst;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

interface Shape {
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
}

/**
 * A float64 LSTM in rnnrl's layout, written out with plain loops: gates (i, f, g, o) packed along
 * the last axis of w [I,4H], u [H,4H], b [4H]; x is time-major [T,B,I]. `gateOrder` names which
 * packed block is used as (i, f, g, o); the default [0, 1, 2, 3] is rnnrl's layout.
 */
function referenceLstm(
  weights: OnnxLstmWeights,
  x: Float32Array,
  h0: Float32Array,
  c0: Float32Array,
  shape: Shape,
  gateOrder: readonly number[] = [0, 1, 2, 3],
): { h: Float64Array; hLast: Float64Array; cLast: Float64Array } {
  const { steps: T, batch: B, inputSize: I, hiddenSize: H } = shape;
  const G = 4 * H;
  let h = Float64Array.from(h0);
  let c = Float64Array.from(c0);
  const ys = new Float64Array(T * B * H);
  const [bi, bf, bg, bo] = gateOrder;
  for (let t = 0; t < T; t++) {
    const hNext = new Float64Array(B * H);
    const cNext = new Float64Array(B * H);
    for (let n = 0; n < B; n++) {
      const pre = new Float64Array(G);
      for (let col = 0; col < G; col++) {
        let sum = weights.b[col];
        for (let k = 0; k < I; k++) sum += x[(t * B + n) * I + k] * weights.w[k * G + col];
        for (let k = 0; k < H; k++) sum += h[n * H + k] * weights.u[k * G + col];
        pre[col] = sum;
      }
      for (let j = 0; j < H; j++) {
        const i = sigmoid(pre[bi * H + j]);
        const f = sigmoid(pre[bf * H + j]);
        const g = Math.tanh(pre[bg * H + j]);
        const o = sigmoid(pre[bo * H + j]);
        const cell = f * c[n * H + j] + i * g;
        cNext[n * H + j] = cell;
        hNext[n * H + j] = o * Math.tanh(cell);
      }
    }
    h = hNext;
    c = cNext;
    ys.set(h, t * B * H);
  }
  return { h: ys, hLast: h, cLast: c };
}

const SHAPES: Shape[] = [
  { steps: 1, batch: 1, inputSize: 1, hiddenSize: 1 },
  { steps: 1, batch: 1, inputSize: 3, hiddenSize: 2 },
  { steps: 7, batch: 3, inputSize: 5, hiddenSize: 4 },
  { steps: 16, batch: 8, inputSize: 32, hiddenSize: 64 },
];

for (const shape of SHAPES) {
  const { steps: T, batch: B, inputSize: I, hiddenSize: H } = shape;
  Deno.test(`runOrtLstm matches a float64 reference LSTM for T=${T} B=${B} I=${I} H=${H}`, async () => {
    const rng = new Rng(1000 + T * 31 + B * 7 + I * 3 + H);
    const weights = randomLstm(rng, I, H);
    const x = randomArray(rng, T * B * I, 1);
    const h0 = randomArray(rng, B * H, 0.8);
    const c0 = randomArray(rng, B * H, 1.5);
    const ort = await runOrtLstm(weights, x, { ...shape, h0, c0 });
    const ref = referenceLstm(weights, x, h0, c0, shape);
    assert.ok(maxAbsDiff(ort.h, ref.h) <= TOLERANCE, `h differs by ${maxAbsDiff(ort.h, ref.h)}`);
    assert.ok(maxAbsDiff(ort.hLast, ref.hLast) <= TOLERANCE, "final h differs");
    assert.ok(maxAbsDiff(ort.cLast, ref.cLast) <= TOLERANCE, "final c differs");
    // The states must carry signal, or agreement would mean nothing.
    assert.ok(maxAbs(ref.h) > 0.02, `reference h is nearly zero (${maxAbs(ref.h)})`);
    assert.ok(maxAbs(ref.cLast) > 0.02, `reference c is nearly zero (${maxAbs(ref.cLast)})`);
  });
}

Deno.test("runOrtLstm disagrees with a reference that reads the gates in another order", async () => {
  // Guards against a conversion that passes by symmetry: swapping any two of rnnrl's gate blocks
  // (i, f, g, o) in the reference must move the outputs well beyond the tolerance.
  const shape = { steps: 5, batch: 2, inputSize: 3, hiddenSize: 4 };
  const rng = new Rng(7);
  const weights = randomLstm(rng, shape.inputSize, shape.hiddenSize);
  const x = randomArray(rng, shape.steps * shape.batch * shape.inputSize, 1);
  const h0 = randomArray(rng, shape.batch * shape.hiddenSize, 0.8);
  const c0 = randomArray(rng, shape.batch * shape.hiddenSize, 1.5);
  const ort = await runOrtLstm(weights, x, { ...shape, h0, c0 });
  assert.ok(maxAbsDiff(ort.h, referenceLstm(weights, x, h0, c0, shape).h) <= TOLERANCE);
  const swaps = [[1, 0, 2, 3], [0, 3, 2, 1], [0, 1, 3, 2], [2, 1, 0, 3], [3, 1, 2, 0], [
    0,
    2,
    1,
    3,
  ]];
  for (const order of swaps) {
    const wrong = referenceLstm(weights, x, h0, c0, shape, order);
    assert.ok(maxAbsDiff(ort.h, wrong.h) > 1e-2, `gate order ${order} is not detected`);
  }
});

Deno.test("runOrtLstm defaults the initial state to zeros", async () => {
  const shape = { steps: 3, batch: 2, inputSize: 2, hiddenSize: 3 };
  const rng = new Rng(11);
  const weights = randomLstm(rng, shape.inputSize, shape.hiddenSize);
  const x = randomArray(rng, shape.steps * shape.batch * shape.inputSize, 1);
  const zeros = new Float32Array(shape.batch * shape.hiddenSize);
  const ort = await runOrtLstm(weights, x, shape);
  const ref = referenceLstm(weights, x, zeros, zeros, shape);
  assert.ok(maxAbsDiff(ort.h, ref.h) <= TOLERANCE);
  assert.ok(maxAbsDiff(ort.cLast, ref.cLast) <= TOLERANCE);
});

Deno.test("runOrtLstm rejects arrays that do not match the shape", async () => {
  const weights = randomLstm(new Rng(1), 2, 3);
  const shape = { steps: 2, batch: 1, inputSize: 2, hiddenSize: 3 };
  await assert.rejects(() => runOrtLstm(weights, new Float32Array(3), shape), TypeError);
  await assert.rejects(
    () => runOrtLstm(weights, new Float32Array(4), { ...shape, h0: new Float32Array(2) }),
    TypeError,
  );
  await assert.rejects(
    () => runOrtLstm(weights, new Float32Array(4), { ...shape, hiddenSize: 4 }),
    TypeError,
  );
});

Deno.test("OnnxGraphBuilder.lstm steps a model with explicit state, chaining Y_h and Y_c", async () => {
  // A one-step model with symbolic batch, run T times feeding its state back, must equal one
  // T-step run: this is how an exported recurrent policy is driven.
  const shape = { steps: 6, batch: 3, inputSize: 4, hiddenSize: 5 };
  const { steps: T, batch: B, inputSize: I, hiddenSize: H } = shape;
  const rng = new Rng(23);
  const weights = randomLstm(rng, I, H);
  const x = randomArray(rng, T * B * I, 1);
  const g = new OnnxGraphBuilder();
  g.addInput("x", [1, "batch", I]);
  g.addInput("h", [1, "batch", H]);
  g.addInput("c", [1, "batch", H]);
  const out = g.lstm("x", {
    weights,
    inputSize: I,
    hiddenSize: H,
    initialH: "h",
    initialC: "c",
    yH: "h_next",
    yC: "c_next",
  });
  g.addOutput(out.yH, [1, "batch", H]);
  g.addOutput(out.yC, [1, "batch", H]);
  const session = await createOrtSession(g.encodeModel());
  try {
    let h = new Float32Array(B * H);
    let c = new Float32Array(B * H);
    const hs = new Float32Array(T * B * H);
    for (let t = 0; t < T; t++) {
      const result = await runOrt(session, {
        x: { data: x.slice(t * B * I, (t + 1) * B * I), dims: [1, B, I] },
        h: { data: h, dims: [1, B, H] },
        c: { data: c, dims: [1, B, H] },
      });
      assert.deepEqual(result.h_next.dims, [1, B, H]);
      h = Float32Array.from(result.h_next.data);
      c = Float32Array.from(result.c_next.data);
      hs.set(h, t * B * H);
    }
    const zeros = new Float32Array(B * H);
    const ref = referenceLstm(weights, x, zeros, zeros, shape);
    assert.ok(maxAbsDiff(hs, ref.h) <= TOLERANCE, `stepped h differs by ${maxAbsDiff(hs, ref.h)}`);
    assert.ok(maxAbsDiff(c, ref.cLast) <= TOLERANCE);
  } finally {
    await session.release();
  }
});

/** A float64 dense layer: x [N, in] · w [in, out] + b, then the activation. */
function referenceDense(
  x: ArrayLike<number>,
  n: number,
  w: Float32Array,
  b: Float32Array,
  inFeatures: number,
  outFeatures: number,
  activation: (z: number) => number,
): Float64Array {
  const out = new Float64Array(n * outFeatures);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < outFeatures; j++) {
      let sum = b[j];
      for (let k = 0; k < inFeatures; k++) sum += x[r * inFeatures + k] * w[k * outFeatures + j];
      out[r * outFeatures + j] = activation(sum);
    }
  }
  return out;
}

Deno.test("OnnxGraphBuilder.gemm with relu, tanh and sigmoid matches a float64 MLP", async () => {
  const sizes = [5, 8, 6, 3];
  const activations: [(z: number) => number, "relu" | "tanh" | "sigmoid"][] = [
    [(z) => Math.max(0, z), "relu"],
    [Math.tanh, "tanh"],
    [sigmoid, "sigmoid"],
  ];
  const rng = new Rng(5);
  const layers = activations.map((_, l) => ({
    w: randomArray(rng, sizes[l] * sizes[l + 1], 0.8),
    b: randomArray(rng, sizes[l + 1], 0.3),
  }));
  const g = new OnnxGraphBuilder();
  let value = g.addInput("x", ["batch", sizes[0]]);
  layers.forEach((layer, l) => {
    const z = g.gemm(value, { ...layer, inFeatures: sizes[l], outFeatures: sizes[l + 1] });
    value = g[activations[l][1]](z);
  });
  g.addOutput(value, ["batch", sizes[3]]);
  const session = await createOrtSession(g.encodeModel());
  try {
    for (const n of [1, 4]) {
      const x = randomArray(rng, n * sizes[0], 2);
      const result = await runOrt(session, { x: { data: x, dims: [n, sizes[0]] } });
      assert.deepEqual(result[value].dims, [n, sizes[3]]);
      let ref: ArrayLike<number> = x;
      layers.forEach((layer, l) => {
        ref = referenceDense(ref, n, layer.w, layer.b, sizes[l], sizes[l + 1], activations[l][0]);
      });
      assert.ok(maxAbsDiff(result[value].data, ref) <= TOLERANCE);
    }
  } finally {
    await session.release();
  }
});

Deno.test("OnnxGraphBuilder.gemm without a bias and squeeze/unsqueeze run in ORT", async () => {
  const g = new OnnxGraphBuilder();
  g.addInput("x", [1, 2, 3]);
  const flat = g.squeeze("x", [0]);
  const y = g.gemm(flat, {
    w: new Float32Array([1, 0, 0, 1, 1, 1]),
    inFeatures: 3,
    outFeatures: 2,
  });
  g.addOutput(g.unsqueeze(y, [0], { output: "y" }), [1, 2, 2]);
  const session = await createOrtSession(g.encodeModel());
  try {
    const x = new Float32Array([1, 2, 3, -1, 0.5, 4]);
    const result = await runOrt(session, { x: { data: x, dims: [1, 2, 3] } });
    assert.deepEqual(result.y.dims, [1, 2, 2]);
    // Row 1: [1+3, 2+3]; row 2: [-1+4, 0.5+4].
    assert.deepEqual(Array.from(result.y.data), [4, 5, 3, 4.5]);
  } finally {
    await session.release();
  }
});

Deno.test("runOrt rejects missing, unknown and mis-shaped feeds", async () => {
  const g = new OnnxGraphBuilder();
  g.addInput("x", ["batch", 2]);
  g.addOutput(g.relu("x", { output: "y" }), ["batch", 2]);
  const session = await createOrtSession(g.encodeModel());
  try {
    const ok = await runOrt(session, { x: { data: new Float32Array([-1, 2]), dims: [1, 2] } });
    assert.deepEqual(Array.from(ok.y.data), [0, 2]);
    await assert.rejects(() => runOrt(session, {}), TypeError);
    await assert.rejects(
      () => runOrt(session, { x: { data: new Float32Array(3), dims: [1, 2] } }),
      TypeError,
    );
    await assert.rejects(
      () =>
        runOrt(session, {
          x: { data: new Float32Array(2), dims: [1, 2] },
          z: { data: new Float32Array(2), dims: [1, 2] },
        }),
      TypeError,
    );
  } finally {
    await session.release();
  }
  await assert.rejects(() => runOrt(session, {}), TypeError);
});

Deno.test("createOrtSession rejects bytes that are not a model", async () => {
  await assert.rejects(() => createOrtSession(new Uint8Array([1, 2, 3, 4])), /Cannot create/);
});
