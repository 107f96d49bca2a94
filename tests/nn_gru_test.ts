// The GRU layer through the Sequential API on the CPU: it learns a task that needs memory, single
// steps with the state passed in and returned equal one pass over the sequence, a reset mask
// equals starting afresh, the state round-trips through flat rows, fromConfig rebuilds it, and
// bad options and inputs are refused.
import assert from "node:assert/strict";
import { maxAbsDiff } from "./helpers/mod.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";
import { Dense } from "../lib/nn/dense.ts";
import { GRU } from "../lib/nn/gru.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Adam, clipGradients } from "../lib/nn/optimizers.ts";
import { Sequential } from "../lib/nn/sequential.ts";

const backend = createCpuBackend();

function random(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

for (const linearBeforeReset of [true, false]) {
  Deno.test(`GRU learns a task that needs memory (echo two steps back, linearBeforeReset ${linearBeforeReset})`, async () => {
    const model = new Sequential(backend, {
      inputSize: 1,
      layers: [new GRU({ units: 16, linearBeforeReset }), new Dense({ units: 1 })],
      seed: 1,
    });
    const optimizer = new Adam({ learningRate: 0.01 });
    const rng = new Rng(1);
    const [steps, batch] = [8, 16];
    const losses: number[] = [];
    for (let update = 0; update < 300; update++) {
      const x = Float32Array.from({ length: steps * batch }, () => rng.uniform() < 0.5 ? -1 : 1);
      const y = new Float32Array(steps * batch);
      for (let t = 2; t < steps; t++) {
        for (let b = 0; b < batch; b++) y[t * batch + b] = x[(t - 2) * batch + b];
      }
      const { output } = model.forward(backend.tensor(x, [steps, batch, 1]), { training: true });
      const { loss, grad } = backend.mseLoss(output, backend.tensor(y, [steps, batch, 1]));
      model.backward(grad);
      clipGradients(model, 1);
      optimizer.step(model);
      losses.push((await backend.read(loss))[0]);
    }
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    const early = mean(losses.slice(0, 10)), late = mean(losses.slice(-10));
    // The unconditional best guess (0) has a loss of 0.75 over the 6 of 8 steps with a target.
    assert.ok(early > 0.5, `early loss ${early}`);
    assert.ok(late < 0.05, `late loss ${late}`);
  });
}

Deno.test("GRU single steps with the state passed in and returned equal one pass over the sequence", async () => {
  for (const linearBeforeReset of [true, false]) {
    const rng = new Rng(2);
    const [T, B, I] = [6, 3, 4];
    const model = new Sequential(backend, {
      inputSize: I,
      layers: [new GRU({ units: 5, linearBeforeReset }), new Dense({ units: 2 })],
      seed: 2,
    });
    const x = random(rng, T * B * I);
    const whole = model.forward(backend.tensor(x, [T, B, I]));
    const expected = await backend.read(whole.output);
    let state = model.initialState(B);
    for (let t = 0; t < T; t++) {
      const step = model.forward(
        backend.tensor(x.subarray(t * B * I, (t + 1) * B * I), [1, B, I]),
        {
          state,
        },
      );
      const out = await backend.read(step.output);
      assert.ok(maxAbsDiff(out, expected.subarray(t * B * 2, (t + 1) * B * 2)) < 1e-6, `step ${t}`);
      state = step.state;
    }
    assert.ok(
      maxAbsDiff(await backend.read(state[0]![0]), await backend.read(whole.state[0]![0])) < 1e-6,
    );
  }
});

Deno.test("GRU mask 0 at step t resets the carried state: the same as a fresh start there", async () => {
  const rng = new Rng(3);
  const [T, B, I, H] = [5, 2, 3, 4];
  const model = new Sequential(backend, { inputSize: I, layers: [new GRU({ units: H })], seed: 3 });
  const x = random(rng, T * B * I);
  const h0 = backend.tensor(random(rng, B * H), [B, H]);
  const mask = backend.tensor([1, 1, 1, 1, 1, 0, 1, 1, 1, 1], [T, B]); // row 1 resets at t = 2
  const masked = await backend.read(
    model.forward(backend.tensor(x, [T, B, I]), { state: [[h0]], mask }).output,
  );
  const tail = x.slice(2 * B * I);
  const fresh = await backend.read(model.forward(backend.tensor(tail, [T - 2, B, I])).output);
  for (let t = 2; t < T; t++) {
    const a = masked.subarray((t * B + 1) * H, (t * B + 2) * H);
    const b = fresh.subarray(((t - 2) * B + 1) * H, ((t - 2) * B + 2) * H);
    assert.ok(maxAbsDiff(a, b) < 1e-6, `row 1 at step ${t}`);
  }
  // Row 0 never reset: it still depends on h0.
  const unmasked = await backend.read(
    model.forward(backend.tensor(x, [T, B, I]), { state: [[backend.zeros([B, H])]], mask }).output,
  );
  assert.ok(maxAbsDiff(masked.subarray(0, H), unmasked.subarray(0, H)) > 1e-3);
});

Deno.test("Sequential with GRU layers round-trips its state through readState and stateFromRows", async () => {
  const rng = new Rng(4);
  const model = new Sequential(backend, {
    inputSize: 3,
    layers: [
      new GRU({ units: 4 }),
      new LSTM({ units: 2 }),
      new GRU({ units: 3, linearBeforeReset: false }),
    ],
    seed: 4,
  });
  assert.equal(model.stateSize, 4 + 2 + 2 + 3);
  const B = 2;
  const first = model.forward(backend.tensor(random(rng, 3 * B * 3), [3, B, 3]));
  const rows = await model.readState(first.state);
  assert.equal(rows.length, B * model.stateSize);
  const rebuilt = model.stateFromRows(rows, B);
  assert.deepEqual(rebuilt.map((s) => s?.map((t) => t.shape)), [[[B, 4]], [[B, 2], [B, 2]], [[
    B,
    3,
  ]]]);
  assert.deepEqual(await model.readState(rebuilt), rows);
  // Row b of the flat layout: the first GRU's h, the LSTM's h and c, the second GRU's h.
  const gruH = await backend.read(first.state[2]![0]);
  assert.deepEqual(rows.subarray(model.stateSize - 3, model.stateSize), gruH.subarray(0, 3));
  // Continuing from the rebuilt state is continuing from the original one.
  const x = backend.tensor(random(rng, 2 * B * 3), [2, B, 3]);
  const a = await backend.read(model.forward(x, { state: first.state }).output);
  const b = await backend.read(model.forward(x, { state: rebuilt }).output);
  assert.deepEqual(a, b);
  assert.throws(() => model.stateFromRows(rows.subarray(1), B), TypeError);
});

Deno.test("Sequential.fromConfig rebuilds a GRU with its linearBeforeReset", async () => {
  const rng = new Rng(5);
  for (const linearBeforeReset of [true, false]) {
    const model = new Sequential(backend, {
      inputSize: 2,
      layers: [new GRU({ units: 3, linearBeforeReset }), new Dense({ units: 1 })],
      seed: 5,
    });
    assert.deepEqual(model.config.layers[0], { type: "gru", units: 3, linearBeforeReset });
    const copy = Sequential.fromConfig(backend, JSON.parse(JSON.stringify(model.config)), 9);
    assert.equal((copy.layers[0] as GRU).linearBeforeReset, linearBeforeReset);
    assert.deepEqual(
      copy.parameters.map((p) => [p.name, p.value.shape]),
      model.parameters.map((p) => [p.name, p.value.shape]),
    );
    copy.setParameters(await model.getParameters());
    const x = backend.tensor(random(rng, 4 * 2 * 2), [4, 2, 2]);
    assert.deepEqual(
      await backend.read(copy.forward(x).output),
      await backend.read(model.forward(x).output),
    );
  }
});

Deno.test("GRU starts with Glorot input weights, orthogonal recurrent weights and zero biases", async () => {
  const model = new Sequential(backend, { inputSize: 6, layers: [new GRU({ units: 4 })], seed: 6 });
  const [w, u, bw, bu] = await model.getParameters();
  assert.deepEqual([w.name, u.name, bw.name, bu.name], [
    "layers.0.w",
    "layers.0.u",
    "layers.0.bw",
    "layers.0.bu",
  ]);
  assert.deepEqual([w.shape, u.shape, bw.shape, bu.shape], [[6, 12], [4, 12], [12], [12]]);
  const limit = Math.sqrt(6 / (6 + 12));
  assert.ok(w.data.every((v) => Math.abs(v) <= limit) && w.data.some((v) => v !== 0));
  // u [4, 12] has orthonormal rows.
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      let dot = 0;
      for (let c = 0; c < 12; c++) dot += u.data[i * 12 + c] * u.data[j * 12 + c];
      assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-5, `u rows ${i}, ${j}: ${dot}`);
    }
  }
  assert.ok(bw.data.every((v) => v === 0) && bu.data.every((v) => v === 0));
});

Deno.test("GRU refuses bad options, inputs and states with clear errors", () => {
  assert.throws(() => new GRU({ units: 0 }), {
    name: "RangeError",
    message: "Cannot make a GRU layer: units must be a positive integer, got 0",
  });
  assert.throws(
    () => new GRU({ units: 2, linearBeforeReset: 1 as unknown as boolean }),
    {
      name: "TypeError",
      message: "Cannot make a GRU layer: linearBeforeReset must be a boolean, got 1",
    },
  );
  const layer = new GRU({ units: 2 });
  assert.throws(() => layer.initialState(1), /before it is built/);
  const model = new Sequential(backend, { inputSize: 3, layers: [layer], seed: 1 });
  assert.throws(() => layer.backward(backend.zeros([1, 1, 2])), /no training forward pass/);
  assert.throws(() => model.forward(backend.zeros([2, 3])), {
    name: "TypeError",
    message: "Cannot run a GRU layer: input must be [T, B, I], got [2, 3]",
  });
  const x = backend.zeros([1, 1, 3]);
  assert.throws(
    () => model.forward(x, { state: [[backend.zeros([1, 2]), backend.zeros([1, 2])]] }),
    { name: "TypeError", message: "Cannot run a GRU layer: state must be [h], got 2 tensors" },
  );
  assert.throws(() => model.forward(x, { state: [[backend.zeros([1, 3])]] }), {
    name: "TypeError",
    message: "Cannot use the initial hidden state: expected shape [1, 2], got [1, 3]",
  });
  assert.throws(() => model.forward(x, { mask: backend.zeros([1, 2]) }), {
    name: "TypeError",
    message: "Cannot use the GRU mask: expected shape [1, 1], got [1, 2]",
  });
});

Deno.test("GRU stays finite where its gates saturate, forward and backward", async () => {
  for (const linearBeforeReset of [true, false]) {
    const model = new Sequential(backend, {
      inputSize: 2,
      layers: [new GRU({ units: 3, linearBeforeReset })],
      seed: 7,
    });
    const params = await model.getParameters();
    for (const p of params) p.data.forEach((_, i) => (p.data[i] = i % 2 ? 60 : -60));
    model.setParameters(params);
    const x = backend.tensor([100, -100, -100, 100, 1e4, 1e4, -1e4, 0], [2, 2, 2]);
    const { output } = model.forward(x, { training: true });
    const h = await backend.read(output);
    assert.ok(h.every((v) => Number.isFinite(v) && Math.abs(v) <= 1), `h: ${h}`);
    const { dInput } = model.backward(backend.tensor(new Float32Array(12).fill(1), [2, 2, 3]));
    for (const t of [dInput, ...model.parameters.map((p) => p.grad!)]) {
      assert.ok((await backend.read(t)).every(Number.isFinite), "finite gradients");
    }
  }
});
