/**
 * LSTM training steps and forward passes: rnnrl (cpu, webgpu) against TensorFlow.js (cpu,
 * webgpu) and onnxruntime-web (wasm), in one run. Every workload is built and warmed up before
 * the benches start (TF.js webgpu on llvmpipe compiles shaders for tens of seconds).
 *
 *     deno task bench bench/lstm_bench.ts
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
  hasWebGpuAdapter,
  type LstmWorkload,
} from "./peers.ts";
import {
  FORWARD_SHAPE,
  type LstmShape,
  rnnrlForward,
  rnnrlTrainStep,
  shapeName,
  TRAIN_SHAPES,
} from "./_workloads.ts";

const gpuAvailable = await hasWebGpuAdapter();
const backends: Backend[] = [createCpuBackend()];
if (gpuAvailable) backends.push(await createWebGpuBackend());

function peerShape(s: LstmShape): LstmWorkload {
  return { batch: s.B, steps: s.T, inputSize: s.I, hiddenSize: s.H };
}

/** Registers one bench after one untimed warm-up call (which also compiles GPU pipelines). */
async function add(group: string, name: string, n: number, run: () => Promise<void>) {
  await run();
  Deno.bench({ name, group, n, warmup: 1, fn: run });
}

for (const shape of TRAIN_SHAPES) {
  const group = `lstm_train_step ${shapeName(shape)}`;
  const n = shape.H >= 128 ? 5 : 20;
  for (const backend of backends) {
    await add(group, `rnnrl ${backend.name}`, n, rnnrlTrainStep(backend, shape));
  }
  for (const tfBackend of gpuAvailable ? ["cpu", "webgpu"] as const : ["cpu"] as const) {
    const peer = await createTfjsLstmTrainStep(tfBackend, peerShape(shape));
    Deno.bench({ name: `tfjs ${tfBackend}`, group, n: 3, warmup: 1, fn: () => peer.run() });
  }
}

{
  const group = `lstm_forward ${shapeName(FORWARD_SHAPE)}`;
  for (const backend of backends) {
    await add(group, `rnnrl ${backend.name}`, 50, rnnrlForward(backend, FORWARD_SHAPE));
  }
  const ort = await createOrtLstmForward(peerShape(FORWARD_SHAPE));
  Deno.bench({ name: "ort wasm", group, n: 50, warmup: 2, fn: () => ort.run() });
}
