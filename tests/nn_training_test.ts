import assert from "node:assert/strict";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";
import { Dense } from "../lib/nn/dense.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Adam, clipGradients, type Optimizer, RMSprop, SGD } from "../lib/nn/optimizers.ts";
import { Sequential } from "../lib/nn/sequential.ts";

const backend = createCpuBackend();

/** Trains a small LSTM + Dense model to echo its input from two steps back (needs memory). */
async function trainEcho(seed: number, optimizer: Optimizer, updates: number) {
  const model = new Sequential(backend, {
    inputSize: 1,
    layers: [new LSTM({ units: 16 }), new Dense({ units: 1 })],
    seed,
  });
  const rng = new Rng(seed);
  const [steps, batch] = [8, 16];
  const losses: number[] = [];
  for (let u = 0; u < updates; u++) {
    const x = new Float32Array(steps * batch);
    const y = new Float32Array(steps * batch);
    for (let i = 0; i < x.length; i++) x[i] = rng.uniform() < 0.5 ? -1 : 1;
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
  return { model, losses };
}

Deno.test("Sequential training with the same seed gives bit-identical parameters", async () => {
  const a = await trainEcho(3, new Adam({ learningRate: 0.01 }), 20);
  const b = await trainEcho(3, new Adam({ learningRate: 0.01 }), 20);
  const c = await trainEcho(4, new Adam({ learningRate: 0.01 }), 20);
  const pa = await a.model.getParameters();
  const pb = await b.model.getParameters();
  const pc = await c.model.getParameters();
  for (let i = 0; i < pa.length; i++) {
    assert.deepEqual(
      new Uint32Array(pa[i].data.buffer),
      new Uint32Array(pb[i].data.buffer),
      pa[i].name,
    );
  }
  assert.notDeepEqual(pa[0].data, pc[0].data);
});

Deno.test("LSTM learns a task that needs memory (echo two steps back)", async () => {
  const { losses } = await trainEcho(1, new Adam({ learningRate: 0.01 }), 300);
  const early = losses.slice(0, 10).reduce((s, x) => s + x, 0) / 10;
  const late = losses.slice(-10).reduce((s, x) => s + x, 0) / 10;
  // The unconditional best guess (0) has a loss of 0.75 over the 6 of 8 steps with a target.
  assert.ok(early > 0.5, `early loss ${early}`);
  assert.ok(late < 0.05, `late loss ${late}`);
});

Deno.test("RMSprop and SGD reduce a regression loss", async () => {
  for (const optimizer of [new RMSprop({ learningRate: 0.01 }), new SGD({ learningRate: 0.1 })]) {
    const model = new Sequential(backend, {
      inputSize: 2,
      layers: [new Dense({ units: 8, activation: "tanh" }), new Dense({ units: 1 })],
      seed: 5,
    });
    const x = backend.tensor([1, 0, 0, 1, 1, 1, 0, 0], [4, 2]);
    const y = backend.tensor([1, 1, 0, 0], [4, 1]);
    const lossAt = async () =>
      (await backend.read(backend.mseLoss(model.forward(x).output, y).loss))[0];
    const before = await lossAt();
    for (let i = 0; i < 500; i++) {
      const { output } = model.forward(x, { training: true });
      model.backward(backend.mseLoss(output, y).grad);
      optimizer.step(model);
    }
    const after = await lossAt();
    assert.ok(after < before * 0.2, `${optimizer.constructor.name}: ${before} -> ${after}`);
  }
});

Deno.test("Adam state round-trips so training continues identically", async () => {
  const build = () =>
    new Sequential(backend, {
      inputSize: 3,
      layers: [new Dense({ units: 4 }), new Dense({ units: 1 })],
      seed: 2,
    });
  const x = backend.tensor([0.1, -0.2, 0.3, 0.5, 0.1, -0.7], [2, 3]);
  const y = backend.tensor([1, -1], [2, 1]);
  const step = (m: Sequential, o: Adam) => {
    m.backward(backend.mseLoss(m.forward(x, { training: true }).output, y).grad);
    o.step(m);
  };
  const a = build(), oa = new Adam({ learningRate: 0.05 });
  for (let i = 0; i < 10; i++) step(a, oa);
  const b = build(), ob = new Adam({ learningRate: 0.05 });
  for (let i = 0; i < 5; i++) step(b, ob);
  const saved = { params: await b.getParameters(), optimizer: await ob.getState(b) };
  const c = build(), oc = new Adam({ learningRate: 0.05 });
  c.setParameters(saved.params);
  oc.setState(c, saved.optimizer);
  for (let i = 0; i < 5; i++) step(c, oc);
  assert.deepEqual(await c.getParameters(), await a.getParameters());
});

Deno.test("Sequential.setParameters rejects wrong shapes and NaN without changing anything", async () => {
  const model = new Sequential(backend, {
    inputSize: 2,
    layers: [new Dense({ units: 2 })],
    seed: 1,
  });
  const good = await model.getParameters();
  const wrongShape = good.map((a) => ({ ...a, shape: [a.data.length] }));
  assert.throws(() => model.setParameters(wrongShape), TypeError);
  const nan = good.map((a) => ({ ...a, data: a.data.map(() => NaN) }));
  assert.throws(() => model.setParameters(nan), /NaN/);
  assert.deepEqual(await model.getParameters(), good);
});

Deno.test("clipGradients bounds the global norm and reports the norm before clipping", async () => {
  const model = new Sequential(backend, {
    inputSize: 2,
    layers: [new Dense({ units: 2 })],
    seed: 1,
  });
  const { output } = model.forward(backend.tensor([10, 20], [1, 2]), { training: true });
  model.backward(backend.scale(output, 100));
  const squares = async () => {
    let s = 0;
    for (const p of model.parameters) for (const g of await backend.read(p.grad!)) s += g * g;
    return Math.sqrt(s);
  };
  const before = await squares();
  const reported = (await backend.read(clipGradients(model, 0.5)))[0];
  assert.ok(Math.abs(reported - before) <= 1e-4 * before);
  assert.ok(Math.abs((await squares()) - 0.5) < 1e-5);
});
