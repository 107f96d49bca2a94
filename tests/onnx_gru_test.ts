// onnxruntime-web's ONNX `GRU` operator, driven through OnnxGraphBuilder.gru, against a float64
// GRU written out from the operator's equations: the weight conversion, both values of
// linear_before_reset, and stepping a model with its state as explicit inputs and outputs.
import assert from "node:assert/strict";
import { maxAbsDiff } from "./helpers/mod.ts";
import { Rng } from "../lib/io/rng.ts";
import { OnnxGraphBuilder, type OnnxGruWeights, toOnnxGruWeights } from "../lib/onnx/graph.ts";
import { runOrtGru } from "../lib/onnx/ort_gru.ts";
import { createOrtSession, runOrt } from "../lib/onnx/runtime.ts";

const TOLERANCE = 1e-5;

function randomArray(rng: Rng, size: number, scale: number): Float32Array {
  return Float32Array.from({ length: size }, () => rng.uniformIn(-scale, scale));
}

function randomGru(rng: Rng, inputSize: number, hiddenSize: number): OnnxGruWeights {
  const g3 = 3 * hiddenSize;
  return {
    w: randomArray(rng, inputSize * g3, 0.6),
    u: randomArray(rng, hiddenSize * g3, 0.6),
    bw: randomArray(rng, g3, 0.5),
    bu: randomArray(rng, g3, 0.5),
  };
}

function maxAbs(a: ArrayLike<number>): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]));
  return worst;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

interface Shape {
  steps: number;
  batch: number;
  inputSize: number;
  hiddenSize: number;
}

/**
 * A float64 GRU straight from ONNX's equations, with rnnrl's layout (w [I,3H], u [H,3H], bw and
 * bu [3H], blocks z, r, h): z = σ(x·Wz + Wbz + h·Rz + Rbz), r likewise, the candidate
 * tanh(x·Wh + (r ⊙ h)·Rh + Rbh + Wbh), or with linear_before_reset
 * tanh(x·Wh + r ⊙ (h·Rh + Rbh) + Wbh), and h' = (1 − z) ⊙ h̃ + z ⊙ h. `gateOrder` names which
 * packed block is read as (z, r, h); the default [0, 1, 2] is the right one.
 */
function referenceGru(
  weights: OnnxGruWeights,
  x: Float32Array,
  h0: Float32Array,
  shape: Shape,
  linearBeforeReset: boolean,
  gateOrder: readonly number[] = [0, 1, 2],
): { h: Float64Array; hLast: Float64Array } {
  const { steps: T, batch: B, inputSize: I, hiddenSize: H } = shape;
  const G = 3 * H;
  const [bz, br, bh] = gateOrder;
  let h = Float64Array.from(h0);
  const ys = new Float64Array(T * B * H);
  // x_t·W + Wb or h·R + Rb for column `col` of row n.
  const affine = (v: ArrayLike<number>, m: Float32Array, b: Float32Array, n: number, k: number) =>
  (
    col: number,
  ) => {
    let sum = b[col];
    for (let i = 0; i < k; i++) sum += v[n * k + i] * m[i * G + col];
    return sum;
  };
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(B * H);
    const xt = x.subarray(t * B * I, (t + 1) * B * I);
    for (let n = 0; n < B; n++) {
      const xw = affine(xt, weights.w, weights.bw, n, I);
      const hu = affine(h, weights.u, weights.bu, n, H);
      const z = new Float64Array(H), r = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        z[j] = sigmoid(xw(bz * H + j) + hu(bz * H + j));
        r[j] = sigmoid(xw(br * H + j) + hu(br * H + j));
      }
      const rh = Float64Array.from({ length: H }, (_, k) => r[k] * h[n * H + k]);
      for (let j = 0; j < H; j++) {
        const col = bh * H + j;
        let candidate: number;
        if (linearBeforeReset) {
          candidate = Math.tanh(xw(col) + r[j] * hu(col));
        } else {
          let sum = xw(col) + weights.bu[col];
          for (let k = 0; k < H; k++) sum += rh[k] * weights.u[k * G + col];
          candidate = Math.tanh(sum);
        }
        next[n * H + j] = (1 - z[j]) * candidate + z[j] * h[n * H + j];
      }
    }
    h = next;
    ys.set(h, t * B * H);
  }
  return { h: ys, hLast: h };
}

const SHAPES: Shape[] = [
  { steps: 1, batch: 1, inputSize: 1, hiddenSize: 1 },
  { steps: 1, batch: 2, inputSize: 3, hiddenSize: 2 },
  { steps: 7, batch: 3, inputSize: 5, hiddenSize: 4 },
  { steps: 16, batch: 8, inputSize: 32, hiddenSize: 48 },
];

for (const shape of SHAPES) {
  const { steps: T, batch: B, inputSize: I, hiddenSize: H } = shape;
  for (const linearBeforeReset of [true, false]) {
    Deno.test(`runOrtGru matches a float64 reference GRU for T=${T} B=${B} I=${I} H=${H} linear_before_reset=${+linearBeforeReset}`, async () => {
      const rng = new Rng(2000 + T * 31 + B * 7 + I * 3 + H + (linearBeforeReset ? 1 : 0));
      const weights = randomGru(rng, I, H);
      const x = randomArray(rng, T * B * I, 1);
      const h0 = randomArray(rng, B * H, 0.9);
      const ort = await runOrtGru(weights, x, { ...shape, linearBeforeReset, h0 });
      const ref = referenceGru(weights, x, h0, shape, linearBeforeReset);
      assert.ok(maxAbsDiff(ort.h, ref.h) <= TOLERANCE, `h differs by ${maxAbsDiff(ort.h, ref.h)}`);
      assert.ok(maxAbsDiff(ort.hLast, ref.hLast) <= TOLERANCE, "final h differs");
      // The states must carry signal, or agreement would mean nothing.
      assert.ok(maxAbs(ref.h) > 0.05, `reference h is nearly zero (${maxAbs(ref.h)})`);
    });
  }
}

Deno.test("runOrtGru disagrees with a reference that reads the gates in another order or the other linear_before_reset", async () => {
  const shape = { steps: 5, batch: 2, inputSize: 3, hiddenSize: 4 };
  const rng = new Rng(9);
  const weights = randomGru(rng, shape.inputSize, shape.hiddenSize);
  const x = randomArray(rng, shape.steps * shape.batch * shape.inputSize, 1);
  const h0 = randomArray(rng, shape.batch * shape.hiddenSize, 0.9);
  for (const linearBeforeReset of [true, false]) {
    const ort = await runOrtGru(weights, x, { ...shape, linearBeforeReset, h0 });
    const right = referenceGru(weights, x, h0, shape, linearBeforeReset);
    assert.ok(maxAbsDiff(ort.h, right.h) <= TOLERANCE);
    for (const order of [[1, 0, 2], [0, 2, 1], [2, 1, 0]]) {
      const wrong = referenceGru(weights, x, h0, shape, linearBeforeReset, order);
      assert.ok(maxAbsDiff(ort.h, wrong.h) > 1e-2, `gate order ${order} is not detected`);
    }
    const other = referenceGru(weights, x, h0, shape, !linearBeforeReset);
    assert.ok(maxAbsDiff(ort.h, other.h) > 1e-3, "linear_before_reset makes no difference");
  }
});

Deno.test("runOrtGru without an initial state starts from zeros", async () => {
  const shape = { steps: 4, batch: 3, inputSize: 2, hiddenSize: 3 };
  const rng = new Rng(12);
  const weights = randomGru(rng, shape.inputSize, shape.hiddenSize);
  const x = randomArray(rng, shape.steps * shape.batch * shape.inputSize, 1);
  const zeros = new Float32Array(shape.batch * shape.hiddenSize);
  for (const linearBeforeReset of [true, false]) {
    const ort = await runOrtGru(weights, x, { ...shape, linearBeforeReset });
    const ref = referenceGru(weights, x, zeros, shape, linearBeforeReset);
    assert.ok(maxAbsDiff(ort.h, ref.h) <= TOLERANCE);
    assert.ok(maxAbsDiff(ort.hLast, ref.hLast) <= TOLERANCE);
  }
});

Deno.test("runOrtGru rejects arrays that do not match the shape", async () => {
  const weights = randomGru(new Rng(1), 2, 3);
  const shape = { steps: 2, batch: 1, inputSize: 2, hiddenSize: 3 };
  await assert.rejects(() => runOrtGru(weights, new Float32Array(3), shape), TypeError);
  await assert.rejects(
    () => runOrtGru(weights, new Float32Array(4), { ...shape, h0: new Float32Array(2) }),
    TypeError,
  );
  await assert.rejects(
    () => runOrtGru(weights, new Float32Array(4), { ...shape, hiddenSize: 4 }),
    TypeError,
  );
  await assert.rejects(() => runOrtGru(weights, new Float32Array(4), { ...shape, steps: 0 }), {
    name: "RangeError",
    message: "Cannot run ONNX GRU: steps is 0",
  });
});

Deno.test("toOnnxGruWeights transposes w and u and concatenates the biases", () => {
  const [I, H] = [2, 3];
  const rng = new Rng(4);
  const weights = randomGru(rng, I, H);
  const onnx = toOnnxGruWeights(weights, I, H);
  for (let col = 0; col < 3 * H; col++) {
    for (let i = 0; i < I; i++) assert.equal(onnx.w[col * I + i], weights.w[i * 3 * H + col]);
    for (let k = 0; k < H; k++) assert.equal(onnx.r[col * H + k], weights.u[k * 3 * H + col]);
  }
  assert.deepEqual(Array.from(onnx.b), [...weights.bw, ...weights.bu]);
  assert.throws(() => toOnnxGruWeights({ ...weights, bu: new Float32Array(2) }, I, H), {
    name: "TypeError",
    message: "Cannot convert GRU weights: bu has 2 elements, expected 9",
  });
});

Deno.test("OnnxGraphBuilder.gru steps a model with explicit state, chaining Y_h", async () => {
  // A one-step model with symbolic batch, run T times feeding its state back, must equal one
  // T-step run: this is how an exported recurrent policy is driven.
  const shape = { steps: 6, batch: 3, inputSize: 4, hiddenSize: 5 };
  const { steps: T, batch: B, inputSize: I, hiddenSize: H } = shape;
  const rng = new Rng(29);
  const weights = randomGru(rng, I, H);
  const x = randomArray(rng, T * B * I, 1);
  for (const linearBeforeReset of [true, false]) {
    const g = new OnnxGraphBuilder();
    g.addInput("x", [1, "batch", I]);
    g.addInput("h", [1, "batch", H]);
    const out = g.gru("x", {
      weights,
      inputSize: I,
      hiddenSize: H,
      linearBeforeReset,
      initialH: "h",
      yH: "h_next",
    });
    g.addOutput(out.yH, [1, "batch", H]);
    const session = await createOrtSession(g.encodeModel());
    try {
      let h = new Float32Array(B * H);
      const hs = new Float32Array(T * B * H);
      for (let t = 0; t < T; t++) {
        const result = await runOrt(session, {
          x: { data: x.slice(t * B * I, (t + 1) * B * I), dims: [1, B, I] },
          h: { data: h, dims: [1, B, H] },
        });
        assert.deepEqual(result.h_next.dims, [1, B, H]);
        h = Float32Array.from(result.h_next.data);
        hs.set(h, t * B * H);
      }
      const ref = referenceGru(weights, x, new Float32Array(B * H), shape, linearBeforeReset);
      assert.ok(
        maxAbsDiff(hs, ref.h) <= TOLERANCE,
        `stepped h differs by ${maxAbsDiff(hs, ref.h)}`,
      );
    } finally {
      await session.release();
    }
  }
});
