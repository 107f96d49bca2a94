/**
 * The recurrent layers' two ways through a sequence on WebGPU, in one run: "step" (a dispatch per
 * step, the LSTM's and the GRU's per-step kernels) against "sequence" (one sequence-long dispatch,
 * each workgroup carrying its rows through all T steps), and "auto", which picks one by the sizes.
 * Each iteration is one training step (forward, MSE loss, BPTT, Adam) of a recurrent layer and a
 * Dense head, as in lstm_bench.ts, in groups `recurrent_kernels CELL B=… T=… I=… H=…`: the LSTM,
 * and the GRU in rnnrl's default form ("gru-lbr", `linearBeforeReset`, the one with sequence
 * kernels).
 *
 * Shapes: a recurrent PPO minibatch (8 copies × 32 steps, H = 64), lstm_bench's small and medium
 * training shapes, and on a real GPU only the large one (on llvmpipe a step of it takes minutes).
 * WebGPU runs on whatever adapter exists: on a machine without a GPU that is llvmpipe, a software
 * rasterizer, and its figures are not GPU speed. Without an adapter there is nothing to run.
 *
 *     deno bench --allow-read --allow-env bench/recurrent_kernels_bench.ts
 *
 * @module
 */

import { createWebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import type { WebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { hasHardwareAdapter, hasWebGpuAdapter } from "./peers.ts";
import {
  DEVICE_TRAIN_SHAPE,
  lazyBench,
  type LstmShape,
  type RecurrentCell,
  rnnrlTrainStep,
  shapeName,
} from "./_workloads.ts";

const SHAPES: LstmShape[] = [
  { B: 8, T: 32, I: 4, H: 64 },
  { B: 32, T: 16, I: 4, H: 64 },
  { B: 64, T: 32, I: 32, H: 128 },
  ...(await hasHardwareAdapter()) ? [DEVICE_TRAIN_SHAPE] : [],
];

const backends: [string, WebGpuBackend][] = [];
if (await hasWebGpuAdapter()) {
  for (const recurrentKernels of ["step", "sequence", "auto"] as const) {
    backends.push([recurrentKernels, await createWebGpuBackend({ recurrentKernels })]);
  }
}
// A device still alive when the process exits can crash Mesa's teardown.
globalThis.addEventListener("unload", () => backends.forEach(([, b]) => b.destroy()));

for (const cell of ["lstm", "gru-lbr"] as RecurrentCell[]) {
  for (const shape of SHAPES) {
    const group = `recurrent_kernels ${cell} ${shapeName(shape)}`;
    for (const [name, backend] of backends) {
      lazyBench(
        group,
        `rnnrl webgpu ${cell} ${name}`,
        shape.H >= 128 ? 5 : 20,
        () => rnnrlTrainStep(backend, shape, cell),
        { baseline: name === "step" },
      );
    }
  }
}
