// Whole training steps through the layer API on WebGPU against the same steps on the CPU:
// Sequential(LSTM + Dense) with a reset mask, MSE loss, gradient clipping and Adam, several
// updates in a row. Skipped, with the reason printed, where no WebGPU adapter exists.
import assert from "node:assert/strict";
import type { Backend, Tensor } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { Rng } from "../lib/io/rng.ts";
import { Adam, clipGradients, Dense, LSTM, Sequential } from "../lib/nn/mod.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_nn_test: skipped, no WebGPU adapter (navigator.gpu)");
const families = ignore ? [] : await Promise.all(
  (["tiled", "register"] as const).map((kernels) => createWebGpuBackend({ kernels })),
);
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
Deno.test.afterAll(() => families.forEach((backend) => backend.destroy()));

const [T, B, I, H, O] = [7, 5, 3, 20, 2];
const MAX_NORM = 0.35;

/** The same batches for both backends: inputs, targets and a reset mask. */
function batches(count: number) {
  const rng = new Rng(11);
  return Array.from({ length: count }, () => {
    const x = Float32Array.from({ length: T * B * I }, () => rng.normal(0, 1));
    const y = Float32Array.from({ length: T * B * O }, () => rng.normal(0, 1));
    const mask = Float32Array.from({ length: T * B }, () => (rng.uniform() < 0.2 ? 0 : 1));
    return { x, y, mask };
  });
}

/** Trains a fresh model; returns the loss and gradient norm of every update and the parameters. */
async function train(backend: Backend, updates: number) {
  const model = new Sequential(backend, {
    inputSize: I,
    layers: [new LSTM({ units: H }), new Dense({ units: O, activation: "tanh" })],
    seed: 3,
  });
  const optimizer = new Adam({ learningRate: 0.01 });
  const losses: Tensor[] = [];
  const norms: Tensor[] = [];
  for (const { x, y, mask } of batches(updates)) {
    const xt = backend.tensor(x, [T, B, I]);
    const yt = backend.tensor(y, [T, B, O]);
    const mt = backend.tensor(mask, [T, B]);
    const { output, state } = model.forward(xt, { training: true, mask: mt });
    const { loss, grad } = backend.mseLoss(output, yt);
    const { dInput } = model.backward(grad);
    const norm = clipGradients(model, MAX_NORM);
    optimizer.step(model);
    losses.push(loss);
    norms.push(norm);
    for (const t of [xt, yt, mt, output, grad, dInput, ...state.flat()]) {
      if (t) backend.dispose(t);
    }
  }
  // Read everything at the end: the whole run is encoded without waiting on the device.
  const read = async (list: Tensor[]) =>
    (await Promise.all(list.map((t) => backend.read(t)))).map((a) => a[0]);
  return {
    losses: await read(losses),
    norms: await read(norms),
    params: await model.getParameters(),
  };
}

Deno.test({
  name: "WebGpuBackend trains Sequential(LSTM, Dense) with Adam like the CPU over several updates",
  ignore,
  fn: async () => {
    const updates = 6;
    const c = await train(createCpuBackend(), updates);
    // Some updates were clipped and some were not, so both paths of clipping ran.
    assert.ok(c.norms.some((n) => n > MAX_NORM) && c.norms.some((n) => n < MAX_NORM), `${c.norms}`);
    assert.notDeepEqual(c.losses[0], c.losses[updates - 1]);
    for (const gpu of families) {
      const readsBefore = gpu.stats.readbacks;
      const g = await train(gpu, updates);
      // Reads only for the logged scalars and the final parameters.
      assert.equal(gpu.stats.readbacks - readsBefore, 2 * updates + g.params.length);
      for (let i = 0; i < updates; i++) {
        const what = `${gpu.kernels} update ${i}`;
        assert.ok(Math.abs(g.losses[i] - c.losses[i]) <= 1e-5 + 1e-4 * c.losses[i], `${what} loss`);
        assert.ok(Math.abs(g.norms[i] - c.norms[i]) <= 1e-5 + 1e-4 * c.norms[i], `${what} norm`);
      }
      assert.equal(g.params.length, c.params.length);
      for (let k = 0; k < c.params.length; k++) {
        assert.equal(g.params[k].name, c.params[k].name);
        const a = g.params[k].data, b = c.params[k].data;
        for (let i = 0; i < b.length; i++) {
          assert.ok(
            Math.abs(a[i] - b[i]) <= 1e-4,
            `${gpu.kernels} ${c.params[k].name}[${i}]: ${a[i]} on WebGPU, ${b[i]} on the CPU`,
          );
        }
      }
    }
  },
});
