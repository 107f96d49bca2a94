// rnnrl's GRU forward against onnxruntime-web's ONNX `GRU` operator (wasm, one thread), an
// implementation nobody here wrote: the layer alone through runOrtGru, and whole models through
// exportOnnx and OnnxPolicy, GRU and LSTM layers mixed.
import assert from "node:assert/strict";
import { maxAbsDiff } from "./helpers/mod.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";
import { Dense } from "../lib/nn/dense.ts";
import { GRU } from "../lib/nn/gru.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { type RecurrentState, Sequential } from "../lib/nn/sequential.ts";
import { exportOnnx, ONNX_METADATA_KEYS } from "../lib/onnx/export.ts";
import { decodeOnnxModel } from "../lib/onnx/onnx_proto.ts";
import { runOrtGru } from "../lib/onnx/ort_gru.ts";
import { OnnxPolicy, type OnnxPolicyState } from "../lib/onnx/policy.ts";

const backend = createCpuBackend();
const TOLERANCE = 1e-5;

/** Replaces every parameter (biases included) with N(0, std) values. */
async function randomize(model: Sequential, rng: Rng, std: number): Promise<void> {
  const params = await model.getParameters();
  for (const p of params) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal(0, std);
  model.setParameters(params);
}

function random(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function assertClose(what: string, actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const diff = maxAbsDiff(actual, expected);
  assert.ok(diff <= TOLERANCE, `${what}: max abs difference ${diff}`);
  return diff;
}

const SHAPES = [
  { steps: 1, batch: 1, inputSize: 1, hiddenSize: 1 },
  { steps: 5, batch: 3, inputSize: 4, hiddenSize: 7 },
  { steps: 12, batch: 2, inputSize: 9, hiddenSize: 16 },
  { steps: 32, batch: 8, inputSize: 32, hiddenSize: 64 },
];

for (const shape of SHAPES) {
  const { steps, batch, inputSize, hiddenSize } = shape;
  for (const linearBeforeReset of [true, false]) {
    for (const withState of [true, false]) {
      Deno.test(
        `GRU forward equals onnxruntime-web's GRU operator (T=${steps} B=${batch} I=${inputSize} H=${hiddenSize} linear_before_reset=${+linearBeforeReset}, ${
          withState ? "with" : "without"
        } an initial state)`,
        async () => {
          const rng = new Rng(steps * 1000 + hiddenSize * 2 + (linearBeforeReset ? 1 : 0));
          const model = new Sequential(backend, {
            inputSize,
            layers: [new GRU({ units: hiddenSize, linearBeforeReset })],
            seed: steps,
          });
          // Random weights at a scale that drives the gates well away from their linear region but
          // keeps the recurrence from being chaotic (std·√H ≤ 2.4): beyond it, float32 rounding
          // grows step over step, in onnxruntime-web as in rnnrl (both drift from float64 by 1e-3
          // at T=32, H=64, std 0.6).
          await randomize(model, rng, Math.min(0.6, 2.4 / Math.sqrt(hiddenSize)));
          const [w, u, bw, bu] = await model.getParameters();
          const x = random(rng, steps * batch * inputSize);
          const h0 = withState ? random(rng, batch * hiddenSize) : undefined;
          const ours = model.forward(backend.tensor(x, [steps, batch, inputSize]), {
            state: h0 ? [[backend.tensor(h0, [batch, hiddenSize])]] : undefined,
          });
          const theirs = await runOrtGru(
            { w: w.data, u: u.data, bw: bw.data, bu: bu.data },
            x,
            { ...shape, linearBeforeReset, h0 },
          );
          assertClose("h", await backend.read(ours.output), theirs.h);
          assertClose("hLast", await backend.read(ours.state[0]![0]), theirs.hLast);
        },
      );
    }
  }
}

/** Runs rnnrl's forward pass from a plain-array state; returns the output and the final state. */
async function native(
  model: Sequential,
  x: Float32Array,
  shape: number[],
  state: OnnxPolicyState,
): Promise<{ output: Float32Array; state: OnnxPolicyState }> {
  const batch = shape[1];
  let k = 0;
  const start: RecurrentState = model.layers.map((layer) => {
    if (!layer.recurrent) return undefined;
    const parts = state[k++];
    return layer.stateSizes.map((width, p) => backend.tensor(parts[p], [batch, width]));
  });
  const result = model.forward(backend.tensor(x, shape), { state: start });
  const out: OnnxPolicyState = [];
  for (const s of result.state) if (s) out.push(await Promise.all(s.map((t) => backend.read(t))));
  return { output: await backend.read(result.output), state: out };
}

Deno.test("exportOnnx writes a GRU as ONNX's GRU node, with linear_before_reset and its state h_in_0 / h_out_0", async () => {
  for (const linearBeforeReset of [true, false]) {
    const model = new Sequential(backend, {
      inputSize: 3,
      layers: [new GRU({ units: 5, linearBeforeReset }), new Dense({ units: 2 })],
      seed: 2,
    });
    const bytes = await exportOnnx(model);
    const graph = decodeOnnxModel(bytes).graph!;
    const gru = graph.node!.find((n) => n.opType === "GRU")!;
    const attribute = gru.attribute!.find((a) => a.name === "linear_before_reset")!;
    assert.equal(Number(attribute.i), linearBeforeReset ? 1 : 0);
    assert.deepEqual(graph.input!.map((v) => v.name), ["observation", "h_in_0"]);
    assert.deepEqual(graph.output!.map((v) => v.name), ["output", "h_out_0"]);
    const config = JSON.parse(
      decodeOnnxModel(bytes).metadataProps!.find((p) => p.key === ONNX_METADATA_KEYS.config)!
        .value!,
    );
    assert.deepEqual(config.layers[0], { type: "gru", units: 5, linearBeforeReset });
    const policy = await OnnxPolicy.load(bytes);
    try {
      assert.deepEqual(policy.stateLayers, [{ parts: ["h"], size: 5 }]);
    } finally {
      await policy.release();
    }
  }
});

Deno.test("A model mixing LSTM and GRU layers exports with the right state names and runs in onnxruntime-web like rnnrl", async () => {
  const rng = new Rng(31);
  const model = new Sequential(backend, {
    inputSize: 4,
    layers: [
      new Dense({ units: 6, activation: "tanh" }),
      new GRU({ units: 5 }),
      new LSTM({ units: 3 }),
      new GRU({ units: 4, linearBeforeReset: false }),
      new Dense({ units: 2 }),
    ],
    seed: 5,
  });
  await randomize(model, rng, 0.5);
  const bytes = await exportOnnx(model);
  const graph = decodeOnnxModel(bytes).graph!;
  assert.deepEqual(graph.input!.map((v) => v.name), [
    "observation",
    "h_in_0",
    "h_in_1",
    "c_in_1",
    "h_in_2",
  ]);
  assert.deepEqual(graph.output!.map((v) => v.name), [
    "output",
    "h_out_0",
    "h_out_1",
    "c_out_1",
    "h_out_2",
  ]);
  assert.deepEqual(graph.node!.filter((n) => /GRU|LSTM/.test(n.opType!)).map((n) => n.opType), [
    "GRU",
    "LSTM",
    "GRU",
  ]);
  const policy = await OnnxPolicy.load(bytes);
  try {
    assert.deepEqual(policy.stateLayers, [
      { parts: ["h"], size: 5 },
      { parts: ["h", "c"], size: 3 },
      { parts: ["h"], size: 4 },
    ]);
    // A whole sequence from a random state, then one step at a time from the state it returns.
    const [T, B] = [6, 3];
    const start = policy.stateLayers.map((l) => l.parts.map(() => random(rng, B * l.size)));
    const x = random(rng, T * B * 4);
    const ort = await policy.run(x, [T, B, 4], start);
    const ours = await native(model, x, [T, B, 4], start);
    let worst = assertClose("output", ort.output, ours.output);
    ort.state.forEach((layer, k) =>
      layer.forEach((part, p) => {
        worst = Math.max(worst, assertClose(`state ${k}.${p}`, part, ours.state[k][p]));
      })
    );
    let ortState = ort.state, ourState = ours.state;
    for (let t = 0; t < 4; t++) {
      const obs = random(rng, B * 4);
      const a = await policy.run(obs, [1, B, 4], ortState);
      const b = await native(model, obs, [1, B, 4], ourState);
      worst = Math.max(worst, assertClose(`step ${t} output`, a.output, b.output));
      ortState = a.state;
      ourState = b.state;
    }
    assert.ok(worst > 0, "the comparison compares something");
  } finally {
    await policy.release();
  }
});
