/**
 * The peer workloads rnnrl's benchmarks compare against, run in the same Deno process:
 * TensorFlow.js 4.22 (cpu and webgpu backends) for LSTM and GRU training steps and matmuls, and
 * onnxruntime-web (wasm, one thread) for the LSTM and GRU forward passes.
 *
 * Each `create*` function does all setup (models, data, sessions, and one warm-up run, which on
 * WebGPU includes compiling the shaders) and returns a {@linkcode PeerWorkload} whose `run()` is
 * exactly one benchmark iteration, finished on the device: TF.js training steps read the loss
 * back, matmuls read the product back.
 *
 * TF.js notes for Deno:
 * - Deno loads the packages' Node bundles, so TF.js believes it runs in Node and prints "Hi,
 *   looks like you are running TensorFlow.js in Node.js…". We call `tf.enableProdMode()`, TF.js's
 *   own production switch, which silences its warnings (and skips some debug-time checks) for the
 *   whole process.
 * - tfjs-core's Node bundle does not register the chained tensor methods (`t.flatten()`), which
 *   the default orthogonal recurrent initializer of `tf.layers.lstm` calls; it fails with
 *   "rMat.flatten is not a function". The recurrent kernel is therefore initialised with
 *   `glorotUniform`. Initial values do not change the work done per step.
 * - `tf.layers.gru` has only the reset_after = false form (it throws for true): the candidate is
 *   `tanh(x·W_h + (r ⊙ h)·U_h + b_h)`, ONNX's `linear_before_reset = 0`; its single bias is the sum
 *   of ONNX's two. Its default recurrent activation is the hard sigmoid; the GRU peer asks for the
 *   sigmoid, so that it computes what rnnrl's `GRU({ linearBeforeReset: false })` computes.
 * - The webgpu backend runs on whatever adapter Deno finds (Mesa's llvmpipe here); its first
 *   step compiles shaders for tens of seconds, which the warm-up absorbs.
 *
 * Permissions: the TF.js workloads need none; the onnxruntime-web workload needs read access to
 * its wasm binary in Deno's npm cache (`--allow-read`).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-webgpu";
import { Rng } from "../lib/io/rng.ts";
import { OnnxGraphBuilder } from "../lib/onnx/graph.ts";
import { createOrtSession } from "../lib/onnx/runtime.ts";

/** The TF.js backends the peers run on. */
export type TfjsBackendName = "cpu" | "webgpu";

/** An LSTM workload: batch B, sequence length T, input width I, hidden width H. */
export interface LstmWorkload {
  /** The batch size B. */
  batch: number;
  /** The sequence length T. */
  steps: number;
  /** The input width I. */
  inputSize: number;
  /** The hidden width H. */
  hiddenSize: number;
}

/** A prepared peer workload. */
export interface PeerWorkload {
  /** A short description of what one run does. */
  readonly description: string;
  /** One benchmark iteration; resolves once the work is done and its result is on the CPU. */
  run(): Promise<void>;
  /** Frees the models, tensors and sessions. */
  dispose(): Promise<void>;
}

/** Options shared by the peer constructors. */
export interface PeerOptions {
  /** The seed of the random inputs and weights that rnnrl draws (default 0). */
  seed?: number;
}

let prodMode = false;

/** Activates a TF.js backend (once per switch) with TF.js's warnings silenced. */
async function useTfjsBackend(backend: TfjsBackendName): Promise<void> {
  if (!prodMode) {
    tf.enableProdMode();
    prodMode = true;
  }
  if (tf.getBackend() === backend) return;
  const ok = await tf.setBackend(backend);
  await tf.ready();
  if (!ok || tf.getBackend() !== backend) {
    throw new Error(`Cannot use TF.js backend ${backend}: it failed to initialise`);
  }
}

/**
 * Whether a WebGPU adapter exists in this process, so that the webgpu peers can run.
 *
 * @returns True when `navigator.gpu.requestAdapter()` gives an adapter.
 */
export async function hasHardwareAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  try {
    const adapter = await gpu?.requestAdapter();
    return adapter !== null && adapter !== undefined && !adapter.info.isFallbackAdapter;
  } catch {
    return false;
  }
}

/** Whether WebGPU has an adapter at all (llvmpipe counts). */
export async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (gpu === undefined) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

function randomArray(rng: Rng, size: number, scale: number): Float32Array {
  const out = new Float32Array(size);
  for (let k = 0; k < size; k++) out[k] = rng.uniformIn(-scale, scale);
  return out;
}

function checkWorkload(what: string, workload: LstmWorkload): void {
  for (const [name, value] of Object.entries(workload)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Cannot set up ${what}: ${name} is ${value}`);
    }
  }
}

/**
 * A TF.js LSTM training step: `tf.layers.lstm({ units: H, returnSequences: true })` on a
 * batch-major `[B, T, I]` input, then `tf.layers.dense({ units: 1 })` applied at every step,
 * mean squared error against a fixed `[B, T, 1]` target, Adam (learning rate 1e-3). One run is
 * one `model.trainOnBatch(x, y)`, which reads the loss back.
 *
 * @param backend The TF.js backend.
 * @param workload The shape.
 * @returns The prepared workload, warmed up by one step.
 */
export function createTfjsLstmTrainStep(
  backend: TfjsBackendName,
  workload: LstmWorkload,
  options: PeerOptions = {},
): Promise<PeerWorkload> {
  return tfjsRecurrentTrainStep("LSTM", backend, workload, options, (T, I, H) =>
    tfl.layers.lstm({
      units: H,
      returnSequences: true,
      inputShape: [T, I],
      recurrentInitializer: "glorotUniform",
    }));
}

/**
 * A TF.js GRU training step, like {@linkcode createTfjsLstmTrainStep} with
 * `tf.layers.gru({ units: H, returnSequences: true, recurrentActivation: "sigmoid" })`: the
 * computation of rnnrl's `GRU({ linearBeforeReset: false })` (see the module notes).
 *
 * @param backend The TF.js backend.
 * @param workload The shape.
 * @returns The prepared workload, warmed up by one step.
 */
export function createTfjsGruTrainStep(
  backend: TfjsBackendName,
  workload: LstmWorkload,
  options: PeerOptions = {},
): Promise<PeerWorkload> {
  return tfjsRecurrentTrainStep("GRU", backend, workload, options, tfjsGruLayer);
}

/**
 * The GRU layer of {@linkcode createTfjsGruTrainStep}, for `[B, T, I]` inputs: its weights are
 * `[kernel [I, 3H], recurrent_kernel [H, 3H], bias [3H]]`, gates (z, r, h), the bias standing for
 * rnnrl's `bw + bu`.
 */
export function tfjsGruLayer(T: number, I: number, H: number): ReturnType<typeof tfl.layers.gru> {
  return tfl.layers.gru({
    units: H,
    returnSequences: true,
    inputShape: [T, I],
    recurrentActivation: "sigmoid",
    recurrentInitializer: "glorotUniform",
  });
}

/** The training step of {@linkcode createTfjsLstmTrainStep}, for the recurrent layer given. */
async function tfjsRecurrentTrainStep(
  cell: "LSTM" | "GRU",
  backend: TfjsBackendName,
  workload: LstmWorkload,
  options: PeerOptions,
  recurrent: (T: number, I: number, H: number) => Parameters<tfl.Sequential["add"]>[0],
): Promise<PeerWorkload> {
  checkWorkload(`TF.js ${cell} training step`, workload);
  const { batch: B, steps: T, inputSize: I, hiddenSize: H } = workload;
  await useTfjsBackend(backend);
  const rng = new Rng(options.seed ?? 0);
  const model = tfl.sequential();
  model.add(recurrent(T, I, H));
  model.add(tfl.layers.dense({ units: 1 }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "meanSquaredError" });
  const x = tf.tensor3d(randomArray(rng, B * T * I, 1), [B, T, I]);
  const y = tf.tensor3d(randomArray(rng, B * T, 1), [B, T, 1]);
  const step = async () => {
    await useTfjsBackend(backend);
    const loss = await model.trainOnBatch(x, y);
    if (typeof loss !== "number" || !Number.isFinite(loss)) {
      throw new Error(`Cannot run TF.js ${cell} training step: loss is ${loss}`);
    }
  };
  await step();
  return {
    description:
      `tfjs ${backend} ${cell}(${H}) + Dense(1) trainOnBatch, Adam, MSE, x [${B},${T},${I}]`,
    run: step,
    dispose: async () => {
      await useTfjsBackend(backend);
      model.dispose();
      x.dispose();
      y.dispose();
    },
  };
}

/**
 * A TF.js matmul of two fixed `[n, n]` matrices; one run is `tf.matMul(a, b)` and reading the
 * product back with `await c.data()`.
 *
 * @param backend The TF.js backend.
 * @param n The matrix size.
 * @returns The prepared workload, warmed up by one product.
 */
export async function createTfjsMatmul(
  backend: TfjsBackendName,
  n: number,
  options: PeerOptions = {},
): Promise<PeerWorkload> {
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new RangeError(`Cannot set up TF.js matmul: n is ${n}`);
  }
  await useTfjsBackend(backend);
  const rng = new Rng(options.seed ?? 0);
  const a = tf.tensor2d(randomArray(rng, n * n, 1), [n, n]);
  const b = tf.tensor2d(randomArray(rng, n * n, 1), [n, n]);
  const multiply = async () => {
    await useTfjsBackend(backend);
    const c = tf.matMul(a, b);
    try {
      await c.data();
    } finally {
      c.dispose();
    }
  };
  await multiply();
  return {
    description: `tfjs ${backend} matMul [${n},${n}]·[${n},${n}] with read-back`,
    run: multiply,
    dispose: async () => {
      await useTfjsBackend(backend);
      a.dispose();
      b.dispose();
    },
  };
}

/**
 * An onnxruntime-web LSTM forward pass (wasm, one thread): an ONNX `LSTM` node with fixed random
 * weights over a fixed time-major `[T, B, I]` input from zero initial states. One run is one
 * `session.run`, returning `Y [T,1,B,H]`, `Y_h` and `Y_c`.
 *
 * @param workload The shape.
 * @returns The prepared workload, warmed up by one run.
 */
export async function createOrtLstmForward(
  workload: LstmWorkload,
  options: PeerOptions = {},
): Promise<PeerWorkload> {
  checkWorkload("ORT LSTM forward", workload);
  const { batch: B, steps: T, inputSize: I, hiddenSize: H } = workload;
  const rng = new Rng(options.seed ?? 0);
  const scale = 1 / Math.sqrt(H);
  const weights = {
    w: randomArray(rng, I * 4 * H, scale),
    u: randomArray(rng, H * 4 * H, scale),
    b: randomArray(rng, 4 * H, scale),
  };
  const g = new OnnxGraphBuilder({ name: "lstm_forward" });
  g.addInput("x", [T, "batch", I]);
  g.addInput("h0", [1, "batch", H]);
  g.addInput("c0", [1, "batch", H]);
  const out = g.lstm("x", {
    weights,
    inputSize: I,
    hiddenSize: H,
    initialH: "h0",
    initialC: "c0",
  });
  g.addOutput(out.y, [T, 1, "batch", H]);
  g.addOutput(out.yH, [1, "batch", H]);
  g.addOutput(out.yC, [1, "batch", H]);
  const session = await createOrtSession(g.encodeModel());
  const feeds = {
    x: { data: randomArray(rng, T * B * I, 1), dims: [T, B, I] },
    h0: { data: new Float32Array(B * H), dims: [1, B, H] },
    c0: { data: new Float32Array(B * H), dims: [1, B, H] },
  };
  const forward = async () => {
    const result = await session.run(feeds);
    if (result[out.y].data.length !== T * B * H) {
      throw new Error(`Cannot run ORT LSTM forward: Y has ${result[out.y].data.length} elements`);
    }
  };
  await forward();
  return {
    description: `ort wasm LSTM(${H}) forward, x [${T},${B},${I}]`,
    run: forward,
    dispose: () => session.release(),
  };
}

/**
 * An onnxruntime-web GRU forward pass (wasm, one thread), like {@linkcode createOrtLstmForward}:
 * an ONNX `GRU` node with `linear_before_reset = 0` (the form the GRU benchmarks run) and fixed
 * random weights, over a fixed `[T, B, I]` input from a zero initial state. One run is one
 * `session.run`, returning `Y [T,1,B,H]` and `Y_h`.
 *
 * @param workload The shape.
 * @returns The prepared workload, warmed up by one run.
 */
export async function createOrtGruForward(
  workload: LstmWorkload,
  options: PeerOptions = {},
): Promise<PeerWorkload> {
  checkWorkload("ORT GRU forward", workload);
  const { batch: B, steps: T, inputSize: I, hiddenSize: H } = workload;
  const rng = new Rng(options.seed ?? 0);
  const scale = 1 / Math.sqrt(H);
  const weights = {
    w: randomArray(rng, I * 3 * H, scale),
    u: randomArray(rng, H * 3 * H, scale),
    bw: randomArray(rng, 3 * H, scale),
    bu: randomArray(rng, 3 * H, scale),
  };
  const g = new OnnxGraphBuilder({ name: "gru_forward" });
  g.addInput("x", [T, "batch", I]);
  g.addInput("h0", [1, "batch", H]);
  const out = g.gru("x", {
    weights,
    inputSize: I,
    hiddenSize: H,
    linearBeforeReset: false,
    initialH: "h0",
  });
  g.addOutput(out.y, [T, 1, "batch", H]);
  g.addOutput(out.yH, [1, "batch", H]);
  const session = await createOrtSession(g.encodeModel());
  const feeds = {
    x: { data: randomArray(rng, T * B * I, 1), dims: [T, B, I] },
    h0: { data: new Float32Array(B * H), dims: [1, B, H] },
  };
  const forward = async () => {
    const result = await session.run(feeds);
    if (result[out.y].data.length !== T * B * H) {
      throw new Error(`Cannot run ORT GRU forward: Y has ${result[out.y].data.length} elements`);
    }
  };
  await forward();
  return {
    description: `ort wasm GRU(${H}) forward (linear_before_reset 0), x [${T},${B},${I}]`,
    run: forward,
    dispose: () => session.release(),
  };
}

/** The shape of a convolutional training step: a batch of square single-channel images. */
export interface ConvWorkload {
  /** Images per step. */
  batch: number;
  /** Rows and columns of an image. */
  size: number;
  /** Filters of the first convolution; the second has twice as many. */
  filters: number;
}

/**
 * A TF.js convolutional training step: `conv2d(F, 3×3, same, relu)`, `maxPooling2d(2)`,
 * `conv2d(2F, 3×3, same, relu)`, `maxPooling2d(2)`, `flatten`, `dense(10)` on `[B, S, S, 1]`
 * images, mean squared error against fixed targets, Adam (learning rate 1e-3). One run is one
 * `model.trainOnBatch(x, y)`, which reads the loss back.
 *
 * @param backend The TF.js backend.
 * @param workload The shape.
 * @returns The prepared workload, warmed up by one step.
 */
export async function createTfjsConvTrainStep(
  backend: TfjsBackendName,
  workload: ConvWorkload,
  options: PeerOptions = {},
): Promise<PeerWorkload> {
  const { batch: B, size: S, filters: F } = workload;
  for (const [name, value] of Object.entries(workload)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Cannot set up TF.js conv training step: ${name} is ${value}`);
    }
  }
  await useTfjsBackend(backend);
  const rng = new Rng(options.seed ?? 0);
  const model = tfl.sequential();
  const conv = (filters: number, first: boolean) =>
    tfl.layers.conv2d({
      filters,
      kernelSize: 3,
      padding: "same",
      activation: "relu",
      ...(first ? { inputShape: [S, S, 1] } : {}),
    });
  model.add(conv(F, true));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(conv(2 * F, false));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 10 }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "meanSquaredError" });
  const x = tf.tensor4d(randomArray(rng, B * S * S, 1), [B, S, S, 1]);
  const y = tf.tensor2d(randomArray(rng, B * 10, 1), [B, 10]);
  const step = async () => {
    await useTfjsBackend(backend);
    const loss = await model.trainOnBatch(x, y);
    if (typeof loss !== "number" || !Number.isFinite(loss)) {
      throw new Error(`Cannot run TF.js conv training step: loss is ${loss}`);
    }
  };
  await step();
  return {
    description: `tfjs ${backend} conv2d(${F}) pool conv2d(${
      2 * F
    }) pool dense(10) trainOnBatch, Adam, MSE, x [${B},${S},${S},1]`,
    run: step,
    dispose: async () => {
      await useTfjsBackend(backend);
      model.dispose();
      x.dispose();
      y.dispose();
    },
  };
}
