// rnnrl's LSTM forward against onnxruntime-web's ONNX `LSTM` operator (wasm, one thread):
// an implementation nobody here wrote.
import assert from "node:assert/strict";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Sequential } from "../lib/nn/sequential.ts";
import { runOrtLstm } from "../lib/onnx/ort_lstm.ts";

const backend = createCpuBackend();

const SHAPES = [
  { steps: 1, batch: 1, inputSize: 1, hiddenSize: 1 },
  { steps: 5, batch: 3, inputSize: 4, hiddenSize: 7 },
  { steps: 12, batch: 2, inputSize: 9, hiddenSize: 16 },
  { steps: 32, batch: 8, inputSize: 32, hiddenSize: 64 },
];

for (const shape of SHAPES) {
  const { steps, batch, inputSize, hiddenSize } = shape;
  Deno.test(`LSTM forward equals onnxruntime-web's LSTM operator (T=${steps} B=${batch} I=${inputSize} H=${hiddenSize})`, async () => {
    const rng = new Rng(steps * 1000 + hiddenSize);
    const model = new Sequential(backend, {
      inputSize,
      layers: [new LSTM({ units: hiddenSize })],
      seed: steps,
    });
    // Random weights at a scale that drives the gates well away from their linear region.
    const weights = await model.getParameters();
    for (const p of weights) for (let i = 0; i < p.data.length; i++) p.data[i] = rng.normal(0, 0.6);
    model.setParameters(weights);
    const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const x = random(steps * batch * inputSize);
    const h0 = random(batch * hiddenSize);
    const c0 = random(batch * hiddenSize);

    const ours = model.forward(backend.tensor(x, [steps, batch, inputSize]), {
      state: [[backend.tensor(h0, [batch, hiddenSize]), backend.tensor(c0, [batch, hiddenSize])]],
    });
    const [w, u, b] = weights;
    const theirs = await runOrtLstm({ w: w.data, u: u.data, b: b.data }, x, { ...shape, h0, c0 });

    const compare = (name: string, actual: Float32Array, expected: Float32Array) => {
      assert.equal(actual.length, expected.length);
      let worst = 0;
      for (let i = 0; i < actual.length; i++) {
        worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
      }
      assert.ok(worst <= 1e-5, `${name}: max abs difference ${worst}`);
    };
    compare("h", await backend.read(ours.output), theirs.h);
    compare("hLast", await backend.read(ours.state[0]![0]), theirs.hLast);
    compare("cLast", await backend.read(ours.state[0]![1]), theirs.cLast);
  });
}
