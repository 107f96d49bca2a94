/**
 * GRU training steps and forward passes: rnnrl (cpu, webgpu) against TensorFlow.js's
 * `tf.layers.gru` (cpu, webgpu) and onnxruntime-web's `GRU` operator (wasm), in one run, on the
 * shapes of the LSTM benchmarks. Every workload is built on first use, in the untimed warm-up.
 *
 *     deno task bench bench/gru_bench.ts
 *     deno task bench --filter "rnnrl|ort" bench/gru_bench.ts   # leave the TF.js peers out
 *
 * (`--filter` matches bench names, which are the same in every file, `rnnrl cpu` and so on; the
 * file is what selects the GRU groups.)
 *
 * All of them compute the GRU with `linear_before_reset = 0`, the only form TF.js has (see
 * _workloads.ts); rnnrl's default form does one recurrent matmul per step instead of two.
 * FLOPs: forward 2·B·T·3H·(I+H), a training step about three times that.
 *
 * @module
 */

import type { Backend } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import {
  createOrtGruForward,
  createTfjsGruTrainStep,
  hasHardwareAdapter,
  hasWebGpuAdapter,
  type LstmWorkload,
} from "./peers.ts";
import {
  DEVICE_TRAIN_SHAPE,
  FORWARD_SHAPE,
  lazyBench,
  type LstmShape,
  rnnrlForward,
  rnnrlTrainStep,
  shapeName,
  TRAIN_SHAPES,
} from "./_workloads.ts";

const gpuAvailable = await hasWebGpuAdapter();
// The device workload only on a real GPU: on llvmpipe one step of it takes minutes.
const shapes = (await hasHardwareAdapter()) ? [...TRAIN_SHAPES, DEVICE_TRAIN_SHAPE] : TRAIN_SHAPES;
const backends: Backend[] = [createCpuBackend()];
if (gpuAvailable) backends.push(await createWebGpuBackend());

function peerShape(s: LstmShape): LstmWorkload {
  return { batch: s.B, steps: s.T, inputSize: s.I, hiddenSize: s.H };
}

for (const shape of shapes) {
  const gpuOnly = shape === DEVICE_TRAIN_SHAPE;
  const group = `gru_train_step ${shapeName(shape)}`;
  const n = shape.H >= 128 ? 5 : 20;
  for (const backend of backends) {
    if (gpuOnly && backend.name === "cpu") continue;
    lazyBench(
      group,
      `rnnrl ${backend.name}`,
      n,
      () => Promise.resolve(rnnrlTrainStep(backend, shape, "gru")),
    );
  }
  for (const tfBackend of gpuAvailable ? ["cpu", "webgpu"] as const : ["cpu"] as const) {
    if (gpuOnly && tfBackend === "cpu") continue;
    lazyBench(group, `tfjs ${tfBackend}`, 3, async () => {
      const peer = await createTfjsGruTrainStep(tfBackend, peerShape(shape));
      return () => peer.run();
    });
  }
}

{
  const group = `gru_forward ${shapeName(FORWARD_SHAPE)}`;
  for (const backend of backends) {
    lazyBench(
      group,
      `rnnrl ${backend.name}`,
      50,
      () => Promise.resolve(rnnrlForward(backend, FORWARD_SHAPE, "gru")),
    );
  }
  lazyBench(group, "ort wasm", 50, async () => {
    const ort = await createOrtGruForward(peerShape(FORWARD_SHAPE));
    return () => ort.run();
  });
}
