/**
 * LSTM training steps and forward passes: rnnrl (cpu, webgpu) against TensorFlow.js (cpu,
 * webgpu) and onnxruntime-web (wasm), in one run. Every workload is built and warmed up before
 * the benches start (TF.js webgpu on llvmpipe compiles shaders for tens of seconds).
 *
 *     deno task bench bench/lstm_bench.ts
 *     deno task bench --filter "rnnrl|ort" bench/lstm_bench.ts   # leave the TF.js peers out
 *
 * FLOPs: forward 2·B·T·4H·(I+H), a training step about three times that (see _workloads.ts).
 *
 * @module
 */

import type { Backend } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import {
  createOrtLstmForward,
  createTfjsLstmTrainStep,
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
  const group = `lstm_train_step ${shapeName(shape)}`;
  const n = shape.H >= 128 ? 5 : 20;
  for (const backend of backends) {
    if (gpuOnly && backend.name === "cpu") continue;
    lazyBench(
      group,
      `rnnrl ${backend.name}`,
      n,
      () => Promise.resolve(rnnrlTrainStep(backend, shape)),
    );
  }
  for (const tfBackend of gpuAvailable ? ["cpu", "webgpu"] as const : ["cpu"] as const) {
    if (gpuOnly && tfBackend === "cpu") continue;
    lazyBench(group, `tfjs ${tfBackend}`, 3, async () => {
      const peer = await createTfjsLstmTrainStep(tfBackend, peerShape(shape));
      return () => peer.run();
    });
  }
}

{
  const group = `lstm_forward ${shapeName(FORWARD_SHAPE)}`;
  for (const backend of backends) {
    lazyBench(
      group,
      `rnnrl ${backend.name}`,
      50,
      () => Promise.resolve(rnnrlForward(backend, FORWARD_SHAPE)),
    );
  }
  lazyBench(group, "ort wasm", 50, async () => {
    const ort = await createOrtLstmForward(peerShape(FORWARD_SHAPE));
    return () => ort.run();
  });
}
