// The benchmarks compare like with like: TF.js's GRU peer, given rnnrl's weights, computes what
// rnnrl's GRU({ linearBeforeReset: false }) computes (and not the default form).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import { maxAbsDiff } from "./helpers/mod.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";
import { GRU } from "../lib/nn/gru.ts";
import { Sequential } from "../lib/nn/sequential.ts";
import { tfjsGruLayer } from "../bench/peers.ts";

Deno.test("tfjsGruLayer computes rnnrl's GRU with linearBeforeReset false, the benchmarks' workload", async () => {
  tf.enableProdMode();
  await tf.setBackend("cpu");
  const [B, T, I, H] = [3, 6, 4, 5];
  const rng = new Rng(1);
  const random = (n: number) => Float32Array.from({ length: n }, () => rng.normal(0, 0.5));
  const [w, u, bw, bu, x] = [I * 3 * H, H * 3 * H, 3 * H, 3 * H, T * B * I].map(random);
  const backend = createCpuBackend();
  const rnnrl = async (linearBeforeReset: boolean) => {
    const model = new Sequential(backend, {
      inputSize: I,
      layers: [new GRU({ units: H, linearBeforeReset })],
    });
    model.setParameters([
      { name: "layers.0.w", shape: [I, 3 * H], data: w },
      { name: "layers.0.u", shape: [H, 3 * H], data: u },
      { name: "layers.0.bw", shape: [3 * H], data: bw },
      { name: "layers.0.bu", shape: [3 * H], data: bu },
    ]);
    return await backend.read(model.forward(backend.tensor(x, [T, B, I])).output);
  };
  const layer = tfjsGruLayer(T, I, H);
  const model = tfl.sequential();
  model.add(layer);
  layer.setWeights([
    tf.tensor2d(w, [I, 3 * H]),
    tf.tensor2d(u, [H, 3 * H]),
    tf.tensor1d(bw.map((v, i) => v + bu[i])),
  ]);
  // TF.js is batch-major: [B, T, I] in, [B, T, H] out.
  const batchMajor = (a: Float32Array, width: number) =>
    Float32Array.from({ length: a.length }, (_, k) => {
      const b = Math.floor(k / (T * width)), t = Math.floor(k / width) % T, j = k % width;
      return a[(t * B + b) * width + j];
    });
  const y = model.predict(tf.tensor3d(batchMajor(x, I), [B, T, I])) as tf.Tensor;
  const theirs = Float32Array.from(await y.data());
  assert.ok(maxAbsDiff(theirs, batchMajor(await rnnrl(false), H)) < 1e-6);
  assert.ok(maxAbsDiff(theirs, batchMajor(await rnnrl(true), H)) > 1e-2, "the forms differ");
  model.dispose();
});
