/**
 * The benchmark workloads, shared by every bench file so that rnnrl and its peers run exactly
 * the same shapes. An LSTM (or GRU) training step is: the recurrent layer over [T, B, I] with
 * returnSequences, a Dense layer of 1 unit on every step, mean squared error against a fixed
 * target, one Adam update.
 *
 * The GRU workloads run rnnrl's GRU with `linearBeforeReset: false`, because that is the GRU
 * TF.js computes (`tf.layers.gru` has reset_after = false and refuses true): the candidate is
 * `tanh(x·W_h + (r ⊙ h)·U_h + b_h)`, two recurrent matmuls per step. rnnrl's default form (one
 * recurrent matmul per step) does less work and is not what the peers run.
 */

import type { Backend } from "../lib/backend/backend.ts";
import { Rng } from "../lib/io/rng.ts";
import { Dense } from "../lib/nn/dense.ts";
import { GRU } from "../lib/nn/gru.ts";
import type { Layer } from "../lib/nn/layer.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Adam } from "../lib/nn/optimizers.ts";
import { Sequential } from "../lib/nn/sequential.ts";

/** An LSTM workload: batch, steps, input and hidden sizes. */
export interface LstmShape {
  B: number;
  T: number;
  I: number;
  H: number;
}

/** The training-step workloads of DESIGN.md and the issues. */
export const TRAIN_SHAPES: LstmShape[] = [
  { B: 64, T: 32, I: 32, H: 128 },
  { B: 32, T: 16, I: 4, H: 64 },
];

/**
 * The training-step workload of the device benchmark (bench/gpu.sh): run on a hardware adapter
 * only and by the WebGPU backends only (a CPU step of it takes minutes).
 */
export const DEVICE_TRAIN_SHAPE: LstmShape = { B: 256, T: 64, I: 128, H: 512 };

/** The forward-only workload compared with onnxruntime-web. */
export const FORWARD_SHAPE: LstmShape = { B: 64, T: 32, I: 32, H: 128 };

/** Formats a shape the way bench group names spell it. */
export function shapeName(s: LstmShape): string {
  return `B=${s.B} T=${s.T} I=${s.I} H=${s.H}`;
}

/** FLOPs of an LSTM forward: 2·B·T·4H·(I+H) (DESIGN.md); training is about three times that. */
export function lstmForwardFlops(s: LstmShape): number {
  return 2 * s.B * s.T * 4 * s.H * (s.I + s.H);
}

/** FLOPs of a GRU forward: 2·B·T·3H·(I+H), three gates where an LSTM has four. */
export function gruForwardFlops(s: LstmShape): number {
  return 2 * s.B * s.T * 3 * s.H * (s.I + s.H);
}

/**
 * The recurrent cells the workloads run: "gru" is the GRU in the form TF.js computes,
 * "gru-lbr" rnnrl's default GRU (`linearBeforeReset`, what the policies use).
 */
export type RecurrentCell = "lstm" | "gru" | "gru-lbr";

/** The recurrent layer of a workload. */
function recurrentLayer(cell: RecurrentCell, units: number): Layer {
  if (cell === "lstm") return new LSTM({ units });
  return new GRU({ units, linearBeforeReset: cell === "gru-lbr" });
}

/** Seeded random float32 data. */
export function randomData(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal(0, 1));
}

/** Builds an rnnrl training step for a workload; each call runs forward, backward and Adam. */
export function rnnrlTrainStep(
  backend: Backend,
  s: LstmShape,
  cell: RecurrentCell = "lstm",
): () => Promise<void> {
  const model = new Sequential(backend, {
    inputSize: s.I,
    layers: [recurrentLayer(cell, s.H), new Dense({ units: 1 })],
    seed: 1,
  });
  const optimizer = new Adam({ learningRate: 1e-3 });
  const x = backend.tensor(randomData(s.T * s.B * s.I, 2), [s.T, s.B, s.I]);
  const y = backend.tensor(randomData(s.T * s.B, 3), [s.T, s.B, 1]);
  return async () => {
    const { output, state } = model.forward(x, { training: true });
    const { loss, grad } = backend.mseLoss(output, y);
    const { dInput, dState } = model.backward(grad);
    optimizer.step(model);
    await backend.read(loss); // waits for the whole step
    for (const t of [output, loss, grad, dInput]) backend.dispose(t);
    model.disposeState(state);
    model.disposeState(dState);
  };
}

/** Builds an rnnrl LSTM (or GRU) forward (no cache kept) for a workload. */
export function rnnrlForward(
  backend: Backend,
  s: LstmShape,
  cell: RecurrentCell = "lstm",
): () => Promise<void> {
  const model = new Sequential(backend, {
    inputSize: s.I,
    layers: [recurrentLayer(cell, s.H)],
    seed: 1,
  });
  const x = backend.tensor(randomData(s.T * s.B * s.I, 2), [s.T, s.B, s.I]);
  return async () => {
    const { output, state } = model.forward(x);
    await backend.read(state[0]![0]);
    backend.dispose(output);
    model.disposeState(state);
  };
}

/**
 * Registers a bench whose workload is built on first use, inside the untimed warm-up call, so
 * that `deno bench --filter` skips the set-up of every bench it leaves out (TF.js webgpu compiles
 * shaders for minutes on llvmpipe). `build` may return its workload directly or as a promise.
 */
export function lazyBench(
  group: string,
  name: string,
  n: number,
  build: () => (() => Promise<void>) | Promise<() => Promise<void>>,
  options: { baseline?: boolean } = {},
): void {
  let run: (() => Promise<void>) | undefined;
  Deno.bench({
    name,
    group,
    n,
    warmup: 1,
    ...options,
    fn: async () => {
      run ??= await build();
      await run();
    },
  });
}
