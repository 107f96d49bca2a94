/**
 * The WebGPU backend: every op of {@linkcode Backend} as WGSL compute kernels. Tensors live in
 * pooled GPU buffers; ops only encode commands, which are submitted in batches, and data comes
 * back to the CPU only through {@linkcode WebGpuBackend.read}. The CPU backend (cpu.ts) defines
 * what every op computes; the kernels in kernels/ match it to float32 rounding.
 *
 * @module
 */

import {
  type Activation,
  ACTIVATIONS,
  type AdamStep,
  type Backend,
  type CardGameStepTensors,
  type CartPoleStepTensors,
  type EmbeddingGradients,
  formatShape,
  type GruCache,
  type GruForwardOptions,
  type GruForwardResult,
  type GruGradients,
  type GruWeights,
  type LossResult,
  type LstmCache,
  type LstmForwardResult,
  type LstmGradients,
  type LstmWeights,
  type MatmulOptions,
  patchDims,
  type PatchOptions,
  type PendulumStepTensors,
  type RmspropStep,
  shapeSize,
  type Tensor,
} from "../backend.ts";
import {
  embeddingDims,
  expectActivation,
  expectBounds,
  expectCopyRange,
  expectCount,
  expectLists,
  expectSameShape,
  expectSameSize,
  expectShape,
  gruBackwardDims,
  gruDims,
  lstmDims,
  matmulDims,
  matrixDims,
} from "../_checks.ts";
import { CARTPOLE_STATE_SIZE, type CartPoleStepParams } from "../cartpole_f32.ts";
import { convDims, type ConvGeometry, poolDims, type PoolGeometry } from "../conv_geometry.ts";
import { encodeCartPoleStep } from "./kernels/cartpole.ts";
import { PENDULUM_STATE_SIZE, type PendulumStepParams } from "../pendulum_f32.ts";
import { encodePendulumStep } from "./kernels/pendulum.ts";
import { type CardGameStepParams, cardObservationSize, cardStateSize } from "../cards_f32.ts";
import { encodeCardGameStep } from "./kernels/cards.ts";
import { BufferPool, pooledSize } from "./buffer_pool.ts";
import { envFlag, requestGpuDevice } from "./device.ts";
import { PipelineCache } from "./pipeline_cache.ts";
import { CommandRecorder } from "./recorder.ts";
import { type ElementwiseOp, encodeElementwise } from "./kernels/elementwise.ts";
import { encodeElementLoss, encodePolicyLoss, encodeSoftmax } from "./kernels/losses.ts";
import {
  encodeGruBackward,
  encodeGruForward,
  type GruDims,
  gruRecurrentScratch,
} from "./kernels/gru.ts";
import {
  encodeLstmBackward,
  encodeLstmForward,
  type LstmDims,
  lstmUsesRegisterKernels,
  lstmUsesSequenceKernels,
} from "./kernels/lstm.ts";
import { encodeEmbeddingBackward, encodeEmbeddingForward } from "./kernels/embedding.ts";
import { encodeMatmul } from "./kernels/matmul.ts";
import type { RecurrentKernels } from "./kernels/kernel.ts";
import { encodeFoldPatches, encodeUnfoldPatches } from "./kernels/patches.ts";
import {
  encodeConvPatches,
  encodeConvPatchesAdjoint,
  encodeMaxPool,
  encodeMaxPoolBackward,
} from "./kernels/conv.ts";
import { encodeAdam, encodeRmsprop, type OptimizerSlot } from "./kernels/optimizers.ts";
import {
  encodeArgmax,
  encodeDqnTarget,
  encodeEpsilonGreedy,
  encodeGather,
  encodeGaussianNoise,
  encodeSample,
  encodeScatter,
} from "./kernels/qvalues.ts";
import { encodeClipByGlobalNorm, encodeSum, encodeSumRows } from "./kernels/reduce.ts";

/**
 * The usage of every tensor's buffer. A function, not a constant: `GPUBufferUsage` exists only
 * where WebGPU does, and importing the library must work everywhere (a browser without WebGPU,
 * Node).
 */
function tensorUsage(): GPUBufferUsageFlags {
  return GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
}

/** A GPU buffer shared by a tensor and its reshaped views, released with the last of them. */
interface Storage {
  buffer: GPUBuffer;
  refs: number;
}

/** A float32 tensor of the WebGPU backend, held in a GPU buffer. */
export class WebGpuTensor implements Tensor {
  /** The dimensions, outermost first. */
  readonly shape: readonly number[];
  /** The number of elements. */
  readonly size: number;
  /** The backend that owns the buffer. */
  readonly backend: WebGpuBackend;
  #storage: Storage | undefined;

  /** Wraps `buffer` (at least `4·size` bytes); use the backend's ops to create tensors. */
  constructor(backend: WebGpuBackend, buffer: GPUBuffer, shape: readonly number[]) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.#storage = { buffer, refs: 1 };
  }

  /** Whether the tensor has been disposed. */
  get disposed(): boolean {
    return this.#storage === undefined;
  }

  /** The GPU buffer; throws once the tensor is disposed. */
  get buffer(): GPUBuffer {
    if (!this.#storage) {
      throw new TypeError(`Cannot use a disposed tensor of shape ${formatShape(this.shape)}`);
    }
    return this.#storage.buffer;
  }

  /** A new handle on the same buffer under another shape of the same size. */
  view(shape: readonly number[]): WebGpuTensor {
    const storage = this.#storage;
    if (!storage) {
      throw new TypeError(`Cannot reshape a disposed tensor of shape ${formatShape(this.shape)}`);
    }
    const t = new WebGpuTensor(this.backend, storage.buffer, shape);
    if (t.size !== this.size) {
      throw new TypeError(
        `Cannot reshape ${formatShape(this.shape)} to ${formatShape(shape)}: sizes differ`,
      );
    }
    storage.refs++;
    t.#storage = storage;
    return t;
  }

  /**
   * Drops this handle (the tensor counts as disposed) and returns the buffer when it was the
   * last handle on it; undefined otherwise, or when it was already disposed.
   */
  detach(): GPUBuffer | undefined {
    const storage = this.#storage;
    this.#storage = undefined;
    if (!storage) return undefined;
    return --storage.refs === 0 ? storage.buffer : undefined;
  }
}

/** Options of {@linkcode createWebGpuBackend}. */
export interface WebGpuBackendOptions {
  /** Which adapter to ask for (default "high-performance"). */
  powerPreference?: "low-power" | "high-performance";
  /** Print each newly compiled kernel's WGSL to stderr (default: `RNNRL_PRINT_WGSL=1`). */
  printWgsl?: boolean;
  /** Submit once this many dispatches are pending (default 1024). */
  maxDispatchesPerSubmit?: number;
  /**
   * The matmul-like kernels: "tiled" (workgroup-memory tiles, for real GPUs), "register"
   * (register blocks without workgroup memory, for CPU implementations of WebGPU) or "auto"
   * (default: "register" where the adapter runs on the CPU, such as llvmpipe, else "tiled").
   */
  kernels?: "auto" | "tiled" | "register";
  /**
   * How the LSTM and GRU walk a sequence: "step" (a dispatch or two per step), "sequence" (one
   * sequence-long dispatch, where the hidden size fits its workgroup memory) or "auto" (default:
   * "step" where the adapter runs on the CPU, else the sequence kernels where the sizes favour
   * them, see `prefersSequenceKernels`).
   */
  recurrentKernels?: RecurrentKernels;
}

/** Counters of a {@linkcode WebGpuBackend}. */
export interface WebGpuStats {
  /** Buffers mapped back to the CPU (`read` calls with data). */
  readbacks: number;
  /** `queue.submit` calls. */
  submits: number;
  /** Compute dispatches encoded. */
  dispatches: number;
  /** Distinct shaders compiled into pipelines. */
  pipelinesCompiled: number;
  /** Buffers created. */
  buffersAllocated: number;
  /** Buffer requests served from the pool. */
  buffersReused: number;
  /** Bytes of all buffers created. */
  bytesAllocated: number;
}

/**
 * Creates the WebGPU backend: requests the adapter (high-performance) and the device once.
 *
 * @throws {Error} "Cannot use the WebGPU backend: no adapter found (...)" where no adapter exists.
 *
 * @example
 * ```ts
 * import { createWebGpuBackend, isWebGpuAvailable } from "@rnnrl/rnnrl";
 * if (await isWebGpuAvailable()) {
 *   const gpu = await createWebGpuBackend();
 *   const a = gpu.tensor([1, 2, 3, 4], [2, 2]);
 *   const product = await gpu.read(gpu.matmul(a, a)); // [7, 10, 15, 22]
 *   if (product[3] !== 22) throw new Error("matmul is wrong");
 *   gpu.destroy();
 * }
 * ```
 */
export async function createWebGpuBackend(
  options: WebGpuBackendOptions = {},
): Promise<WebGpuBackend> {
  const { device, description, cpuEmulated } = await requestGpuDevice(options);
  const kernels = options.kernels ?? "auto";
  const strategy = kernels === "auto" ? (cpuEmulated ? "register" : "tiled") : kernels;
  // On an adapter that runs on the CPU the per-step kernels won at every size measured.
  const recurrent = options.recurrentKernels ?? "auto";
  const recurrentKernels = recurrent === "auto" && cpuEmulated ? "step" : recurrent;
  return new WebGpuBackend(device, description, {
    ...options,
    kernels: strategy,
    recurrentKernels,
  });
}

/** The WebGPU backend. Create it with {@linkcode createWebGpuBackend}. */
export class WebGpuBackend implements Backend {
  /** Always "webgpu". */
  readonly name: "webgpu" = "webgpu";
  /** The adapter's description. */
  readonly device: string;
  /** The GPU device every tensor lives on. */
  readonly gpu: GPUDevice;
  /** The family of matmul-like kernels in use (see {@linkcode WebGpuBackendOptions.kernels}). */
  readonly kernels: "tiled" | "register";
  /** How the recurrent layers walk a sequence (see {@linkcode WebGpuBackendOptions.recurrentKernels}). */
  readonly recurrentKernels: RecurrentKernels;
  readonly #pool: BufferPool;
  readonly #pipelines: PipelineCache;
  readonly #recorder: CommandRecorder;
  readonly #maxBinding: number;
  #lost: string | undefined;
  #error: string | undefined;

  /** Use {@linkcode createWebGpuBackend}; `options.kernels` "auto" counts as "tiled" here. */
  constructor(device: GPUDevice, description: string, options: WebGpuBackendOptions = {}) {
    this.gpu = device;
    this.device = description;
    this.#pool = new BufferPool(device);
    this.#pipelines = new PipelineCache(device, {
      printWgsl: options.printWgsl ?? envFlag("RNNRL_PRINT_WGSL"),
    });
    this.kernels = options.kernels === "register" ? "register" : "tiled";
    this.recurrentKernels = options.recurrentKernels ?? "auto";
    this.#recorder = new CommandRecorder(device, this.#pipelines, this.#pool, {
      maxDispatchesPerSubmit: options.maxDispatchesPerSubmit,
      strategy: this.kernels,
      recurrent: this.recurrentKernels,
    });
    this.#maxBinding = device.limits.maxStorageBufferBindingSize;
    device.lost.then((info) => {
      this.#lost = info.message || info.reason || "unknown reason";
    });
    device.addEventListener("uncapturederror", (event) => {
      this.#error ??= (event as GPUUncapturedErrorEvent).error.message;
    });
  }

  /** Counters: readbacks, submits, dispatches, compiled pipelines, buffer allocations. */
  get stats(): WebGpuStats {
    const pool = this.#pool.stats;
    const rec = this.#recorder.stats;
    return {
      readbacks: rec.readbacks,
      submits: rec.submits,
      dispatches: rec.dispatches,
      pipelinesCompiled: this.#pipelines.compiled,
      buffersAllocated: pool.buffersAllocated,
      buffersReused: pool.buffersReused,
      bytesAllocated: pool.bytesAllocated,
    };
  }

  /** Throws when the device is lost or reported an error. */
  #check(): void {
    if (this.#lost !== undefined) throw new Error(`WebGPU device lost: ${this.#lost}`);
    if (this.#error !== undefined) {
      const message = this.#error;
      this.#error = undefined;
      throw new Error(`WebGPU error: ${message}`);
    }
  }

  #buf(t: Tensor): GPUBuffer {
    if (!(t instanceof WebGpuTensor) || t.backend !== this) {
      throw new TypeError("Cannot use a tensor of another backend on the WebGPU backend");
    }
    return t.buffer;
  }

  #new(shape: readonly number[], label: string): WebGpuTensor {
    this.#check();
    const bytes = shapeSize(shape) * 4;
    if (pooledSize(bytes) > this.#maxBinding) {
      throw new RangeError(
        `Cannot allocate a tensor of shape ${formatShape(shape)}: ${bytes} bytes exceed the ` +
          `device's storage binding limit of ${this.#maxBinding}`,
      );
    }
    const buffer = this.#pool.acquire(bytes, tensorUsage(), `${label} ${formatShape(shape)}`);
    return new WebGpuTensor(this, buffer, shape);
  }

  /** Copies numbers into a new tensor. */
  tensor(data: ArrayLike<number>, shape: readonly number[]): WebGpuTensor {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new TypeError(
        `Cannot make a tensor of shape ${
          formatShape(shape)
        }: it needs ${size} values, got ${data.length}`,
      );
    }
    const t = this.#new(shape, "tensor");
    if (size > 0) {
      const values = data instanceof Float32Array ? data : Float32Array.from(data);
      this.gpu.queue.writeBuffer(
        t.buffer,
        0,
        values.buffer as ArrayBuffer,
        values.byteOffset,
        size * 4,
      );
    }
    return t;
  }

  /** A new zero tensor. */
  zeros(shape: readonly number[]): WebGpuTensor {
    const t = this.#new(shape, "zeros");
    this.#recorder.clear(t.buffer, 0, t.buffer.size);
    return t;
  }

  /** Submits pending work and reads the tensor back (one readback, counted in `stats`). */
  async read(t: Tensor): Promise<Float32Array> {
    this.#check();
    const data = await this.#recorder.readBack(this.#buf(t), t.size * 4);
    this.#check();
    return data;
  }

  /** Overwrites a tensor's contents; queued work that reads it is submitted first. */
  write(t: Tensor, data: ArrayLike<number>): void {
    this.#check();
    const buffer = this.#buf(t);
    if (data.length !== t.size) {
      throw new TypeError(`Cannot write ${data.length} values into a tensor of ${t.size}`);
    }
    if (t.size === 0) return;
    // queue.writeBuffer runs before any unsubmitted command, so those must go first.
    if (this.#recorder.isPending(buffer)) this.#recorder.flush();
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    this.gpu.queue.writeBuffer(
      buffer,
      0,
      values.buffer as ArrayBuffer,
      values.byteOffset,
      t.size * 4,
    );
  }

  /** Copies `src` into `dst`. */
  copy(dst: Tensor, src: Tensor, offset?: number): void {
    this.#check();
    if (offset === undefined) expectSameSize(dst, src, "copy a tensor");
    else expectCopyRange(dst, src, offset);
    const d = this.#buf(dst), s = this.#buf(src);
    if (d !== s || offset) this.#recorder.copy(s, 0, d, 4 * (offset ?? 0), src.size * 4);
  }

  /** The same buffer under a new shape of equal size (reference-counted, no copy). */
  reshape(t: Tensor, shape: readonly number[]): WebGpuTensor {
    this.#buf(t);
    return (t as WebGpuTensor).view(shape);
  }

  /**
   * Drops a handle; the buffer goes back to the pool with the last handle on it (once queued work
   * that uses it is submitted).
   */
  dispose(t: Tensor): void {
    if (!(t instanceof WebGpuTensor) || t.backend !== this) {
      throw new TypeError("Cannot dispose a tensor of another backend on the WebGPU backend");
    }
    const buffer = t.detach();
    if (buffer) this.#recorder.release(buffer);
  }

  /** Submits pending work and waits until the GPU has finished it. */
  async sync(): Promise<void> {
    this.#check();
    this.#recorder.flush();
    await this.gpu.queue.onSubmittedWorkDone();
    this.#check();
  }

  /** Submits pending work now without waiting for it. */
  flush(): void {
    this.#recorder.flush();
  }

  /** Submits pending work, frees pooled buffers and destroys the device. */
  destroy(): void {
    this.#recorder.flush();
    this.#pool.trim();
    this.gpu.destroy();
  }

  /** `act(op(A) · op(B) + bias)` with the tiled matmul kernel. */
  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): WebGpuTensor {
    const { m, n, k } = matmulDims(a, b, options);
    const activation = options.activation ?? "linear";
    const ab = this.#buf(a), bb = this.#buf(b);
    const bias = options.bias ? this.#buf(options.bias) : undefined;
    const out = this.#new([m, n], "matmul");
    encodeMatmul(this.#recorder, ab, bb, out.buffer, bias, {
      m,
      n,
      k,
      transposeA: options.transposeA ?? false,
      transposeB: options.transposeB ?? false,
      activation,
    });
    return out;
  }

  /** `add` and `mul` check sizes only (as on the CPU); the newer binary ops check shapes. */
  #binary(op: ElementwiseOp, a: Tensor, b: Tensor, what: string, sameShape = true): WebGpuTensor {
    if (sameShape) expectSameShape(a, b, what);
    else expectSameSize(a, b, what);
    const x = this.#buf(a), y = this.#buf(b);
    const out = this.#new(a.shape, op);
    encodeElementwise(this.#recorder, op, a.size, out.buffer, [x, y]);
    return out;
  }

  #unary(op: ElementwiseOp, a: Tensor, s = 0, t = 0): WebGpuTensor {
    const x = this.#buf(a);
    const out = this.#new(a.shape, op);
    encodeElementwise(this.#recorder, op, a.size, out.buffer, [x], s, t);
    return out;
  }

  /** `a + b`. */
  add(a: Tensor, b: Tensor): WebGpuTensor {
    return this.#binary("add", a, b, "add tensors", false);
  }

  /** `a * b`. */
  mul(a: Tensor, b: Tensor): WebGpuTensor {
    return this.#binary("mul", a, b, "multiply tensors", false);
  }

  /** `s * a`. */
  scale(a: Tensor, s: number): WebGpuTensor {
    return this.#unary("scale", a, s);
  }

  /** `a − b`. */
  sub(a: Tensor, b: Tensor): WebGpuTensor {
    return this.#binary("sub", a, b, "subtract tensors");
  }

  /** `a / b`, with the IEEE answer at zero divisors (which WGSL leaves undefined). */
  div(a: Tensor, b: Tensor): WebGpuTensor {
    return this.#binary("div", a, b, "divide tensors");
  }

  /** The elementwise minimum (NaN where either is NaN). */
  minimum(a: Tensor, b: Tensor): WebGpuTensor {
    return this.#binary("minimum", a, b, "take the minimum of tensors");
  }

  /** The elementwise maximum (NaN where either is NaN). */
  maximum(a: Tensor, b: Tensor): WebGpuTensor {
    return this.#binary("maximum", a, b, "take the maximum of tensors");
  }

  /** 1 where `a > b`, else 0. */
  greater(a: Tensor, b: Tensor): WebGpuTensor {
    return this.#binary("greater", a, b, "compare tensors");
  }

  /** 1 where `a >= b`, else 0. */
  greaterEqual(a: Tensor, b: Tensor): WebGpuTensor {
    return this.#binary("greater_equal", a, b, "compare tensors");
  }

  /** `a` where `condition` is non-zero (NaN included), else `b`. */
  where(condition: Tensor, a: Tensor, b: Tensor): WebGpuTensor {
    expectSameShape(condition, a, "select between tensors");
    expectSameShape(a, b, "select between tensors");
    const buffers = [this.#buf(condition), this.#buf(a), this.#buf(b)];
    const out = this.#new(a.shape, "where");
    encodeElementwise(this.#recorder, "where", a.size, out.buffer, buffers);
    return out;
  }

  /** `eˣ`. */
  exp(x: Tensor): WebGpuTensor {
    return this.#unary("exp", x);
  }

  /** The natural logarithm: −Infinity at 0, NaN below (pinned, as WGSL leaves them undefined). */
  log(x: Tensor): WebGpuTensor {
    return this.#unary("log", x);
  }

  /** `|x|`. */
  abs(x: Tensor): WebGpuTensor {
    return this.#unary("abs", x);
  }

  /** `min(max(x, low), high)`; NaN stays NaN. */
  clamp(x: Tensor, low: number, high: number): WebGpuTensor {
    expectBounds(low, high, "clamp a tensor");
    return this.#unary("clamp", x, low, high);
  }

  /** `x + s`. */
  addScalar(x: Tensor, s: number): WebGpuTensor {
    return this.#unary("add_scalar", x, s);
  }

  /** `y += alpha * x`, in place. */
  axpyInPlace(y: Tensor, x: Tensor, alpha: number): void {
    expectSameSize(y, x, "accumulate tensors");
    const yb = this.#buf(y);
    let xb = this.#buf(x);
    // A buffer cannot be bound for reading and writing in one dispatch: read from a copy.
    const alias = xb === yb ? this.#new(x.shape, "axpy copy") : undefined;
    if (alias) {
      this.#recorder.copy(xb, 0, alias.buffer, 0, x.size * 4);
      xb = alias.buffer;
    }
    this.#check();
    encodeElementwise(this.#recorder, "axpy", y.size, yb, [xb], alpha);
    if (alias) this.dispose(alias);
  }

  /** Applies an activation. */
  activate(x: Tensor, activation: Activation): WebGpuTensor {
    expectActivation(activation);
    const xb = this.#buf(x);
    const out = this.#new(x.shape, activation);
    encodeElementwise(this.#recorder, `act_${activation}`, x.size, out.buffer, [xb]);
    return out;
  }

  /** The gradient through an activation, from its output `y` and the upstream `dy`. */
  activationGrad(y: Tensor, dy: Tensor, activation: Activation): WebGpuTensor {
    expectSameSize(y, dy, "back-propagate an activation");
    if (!ACTIVATIONS.includes(activation)) {
      throw new RangeError(`Cannot back-propagate activation "${activation}"`);
    }
    const yb = this.#buf(y), gb = this.#buf(dy);
    const out = this.#new(y.shape, `${activation} grad`);
    encodeElementwise(this.#recorder, `grad_${activation}`, y.size, out.buffer, [yb, gb]);
    return out;
  }

  /** Sums a matrix over its rows. */
  sumRows(x: Tensor): WebGpuTensor {
    const [m, n] = matrixDims(x, "the input of sumRows");
    const xb = this.#buf(x);
    const out = this.#new([n], "sumRows");
    encodeSumRows(this.#recorder, xb, out.buffer, m, n);
    return out;
  }

  /** The sum of all elements, as a `[1]` tensor that stays on the GPU. */
  sum(x: Tensor): WebGpuTensor {
    const xb = this.#buf(x);
    const out = this.#new([1], "sum");
    encodeSum(this.#recorder, xb, out.buffer, x.size);
    return out;
  }

  /** Every cell's neighbourhood as a row (see {@linkcode Backend.unfoldPatches}). */
  unfoldPatches(x: Tensor, options: PatchOptions): WebGpuTensor {
    const dims = patchDims(x, options, false);
    const xb = this.#buf(x);
    const out = this.#new([dims.batch * dims.height * dims.width, dims.features], "unfold");
    encodeUnfoldPatches(this.#recorder, xb, out.buffer, dims);
    return out;
  }

  /** The adjoint of {@linkcode WebGpuBackend.unfoldPatches}, as a deterministic gather. */
  foldPatches(patches: Tensor, options: PatchOptions): WebGpuTensor {
    const dims = patchDims(patches, options, true);
    const pb = this.#buf(patches);
    const out = this.#new([dims.batch, dims.channels * dims.height * dims.width], "fold");
    encodeFoldPatches(this.#recorder, pb, out.buffer, dims);
    return out;
  }

  /** A convolution's patches (see {@linkcode Backend.convPatches}). */
  convPatches(x: Tensor, geometry: ConvGeometry): WebGpuTensor {
    const d = convDims(x, geometry, false);
    const xb = this.#buf(x);
    const out = this.#new([d.batch * d.outHeight * d.outWidth, d.features], "convPatches");
    encodeConvPatches(this.#recorder, xb, out.buffer, d);
    return out;
  }

  /** The adjoint of {@linkcode WebGpuBackend.convPatches}, as a deterministic gather. */
  convPatchesAdjoint(patches: Tensor, geometry: ConvGeometry): WebGpuTensor {
    const d = convDims(patches, geometry, true);
    const pb = this.#buf(patches);
    const out = this.#new([d.batch, d.height * d.width * d.channels], "convPatchesAdjoint");
    encodeConvPatchesAdjoint(this.#recorder, pb, out.buffer, d);
    return out;
  }

  /** Max pooling (see {@linkcode Backend.maxPool}). */
  maxPool(x: Tensor, geometry: PoolGeometry): WebGpuTensor {
    const d = poolDims(x, geometry, "max-pool");
    const xb = this.#buf(x);
    const out = this.#new([d.batch, d.outHeight * d.outWidth * d.channels], "maxPool");
    encodeMaxPool(this.#recorder, xb, out.buffer, d);
    return out;
  }

  /** The gradient of {@linkcode WebGpuBackend.maxPool} (see {@linkcode Backend.maxPoolBackward}). */
  maxPoolBackward(x: Tensor, dOutput: Tensor, geometry: PoolGeometry): WebGpuTensor {
    const d = poolDims(x, geometry, "back-propagate max pooling");
    expectShape(
      dOutput,
      [d.batch, d.outHeight * d.outWidth * d.channels],
      "the gradient of maxPool",
    );
    const xb = this.#buf(x), db = this.#buf(dOutput);
    const out = this.#new([...x.shape], "maxPoolBackward");
    encodeMaxPoolBackward(this.#recorder, xb, db, out.buffer, d);
    return out;
  }

  /** Looks ids up in an embedding table (see {@linkcode Backend.embeddingForward}); NaN for a bad id. */
  embeddingForward(x: Tensor, table: Tensor, ids: number): WebGpuTensor {
    const dims = embeddingDims(x, ids, { table });
    const xb = this.#buf(x), tb = this.#buf(table);
    const out = this.#new([dims.rows, dims.outputs], "embedding");
    encodeEmbeddingForward(this.#recorder, xb, tb, out.buffer, dims);
    return out;
  }

  /**
   * The gradients of an embedding lookup (see {@linkcode Backend.embeddingBackward}): the table's
   * as a deterministic gather, one invocation per table element summing its ids' uses in order.
   */
  embeddingBackward(
    x: Tensor,
    dOutput: Tensor,
    vocabulary: number,
    ids: number,
  ): EmbeddingGradients {
    const dims = embeddingDims(x, ids, { dOutput, vocabulary });
    const xb = this.#buf(x), gb = this.#buf(dOutput);
    const dTable = this.#new([dims.vocabulary, dims.size], "embedding dTable");
    const dInput = this.#new([dims.rows, dims.inputs], "embedding dInput");
    encodeEmbeddingBackward(this.#recorder, {
      x: xb,
      dOutput: gb,
      dTable: dTable.buffer,
      dInput: dInput.buffer,
    }, dims);
    return { dTable, dInput };
  }

  /** Runs an LSTM over a whole sequence (see {@linkcode Backend.lstmForward}). */
  lstmForward(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    weights: LstmWeights,
    options: { mask?: Tensor; keepCache?: boolean } = {},
  ): LstmForwardResult {
    const { steps, batch, inputs: features, hidden } = lstmDims(x, h0, c0, weights, options.mask);
    const g4 = 4 * hidden;
    const inputs = {
      x: this.#buf(x),
      w: this.#buf(weights.w),
      u: this.#buf(weights.u),
      b: this.#buf(weights.b),
      h0: this.#buf(h0),
      c0: this.#buf(c0),
      mask: options.mask ? this.#buf(options.mask) : undefined,
    };
    const keep = options.keepCache ?? true;
    const seq = [steps, batch, hidden];
    const gates = this.#new([steps, batch, g4], "lstm gates");
    const h = this.#new(seq, "lstm h");
    const cache = keep
      ? {
        hPrev: this.#new(seq, "lstm hPrev"),
        cPrev: this.#new(seq, "lstm cPrev"),
        cTanh: this.#new(seq, "lstm cTanh"),
      }
      : undefined;
    const state = this.#new([2, batch, hidden], "lstm state");
    const hLast = this.#new([batch, hidden], "lstm hLast");
    const cLast = this.#new([batch, hidden], "lstm cLast");
    encodeLstmForward(this.#recorder, {
      ...inputs,
      gates: gates.buffer,
      h: h.buffer,
      cache: cache
        ? { hPrev: cache.hPrev.buffer, cPrev: cache.cPrev.buffer, cTanh: cache.cTanh.buffer }
        : undefined,
      state: state.buffer,
      hLast: hLast.buffer,
      cLast: cLast.buffer,
    }, { steps, batch, inputs: features, hidden });
    this.dispose(state);
    if (!cache) {
      this.dispose(gates);
      return { h, hLast, cLast };
    }
    return { h, hLast, cLast, cache: { x, ...cache, gates, mask: options.mask } };
  }

  /** Back-propagates through time (see {@linkcode Backend.lstmBackward}). */
  lstmBackward(
    cache: LstmCache,
    weights: LstmWeights,
    dh: Tensor,
    dhLast?: Tensor,
    dcLast?: Tensor,
  ): LstmGradients {
    const [steps, batch, inputs] = cache.x.shape;
    const hidden = weights.u.shape[0];
    const g4 = 4 * hidden;
    const dims: LstmDims = { steps, batch, inputs, hidden };
    expectShape(dh, [steps, batch, hidden], "the LSTM output gradient");
    expectShape(weights.w, [inputs, g4], "the LSTM input weights");
    expectShape(weights.u, [hidden, g4], "the LSTM recurrent weights");
    expectShape(cache.gates, [steps, batch, g4], "the LSTM cache");
    if (dhLast) expectShape(dhLast, [batch, hidden], "the final hidden-state gradient");
    if (dcLast) expectShape(dcLast, [batch, hidden], "the final cell-state gradient");
    const io = {
      x: this.#buf(cache.x),
      w: this.#buf(weights.w),
      u: this.#buf(weights.u),
      hPrev: this.#buf(cache.hPrev),
      cPrev: this.#buf(cache.cPrev),
      gates: this.#buf(cache.gates),
      cTanh: this.#buf(cache.cTanh),
      mask: cache.mask ? this.#buf(cache.mask) : undefined,
      dh: this.#buf(dh),
      dhLast: dhLast ? this.#buf(dhLast) : undefined,
      dcLast: dcLast ? this.#buf(dcLast) : undefined,
    };
    const dGates = this.#new([steps, batch, g4], "lstm dGates");
    const state = this.#new([2, batch, hidden], "lstm dState");
    const uT = lstmUsesRegisterKernels(this.#recorder) ||
        lstmUsesSequenceKernels(this.#recorder, dims)
      ? this.#new([g4, hidden], "lstm uT")
      : undefined;
    const grads = {
      dx: this.#new([steps, batch, inputs], "lstm dx"),
      dw: this.#new([inputs, g4], "lstm dw"),
      du: this.#new([hidden, g4], "lstm du"),
      db: this.#new([g4], "lstm db"),
      dh0: this.#new([batch, hidden], "lstm dh0"),
      dc0: this.#new([batch, hidden], "lstm dc0"),
    };
    encodeLstmBackward(this.#recorder, {
      ...io,
      dGates: dGates.buffer,
      state: state.buffer,
      uT: uT?.buffer,
      dx: grads.dx.buffer,
      dw: grads.dw.buffer,
      du: grads.du.buffer,
      db: grads.db.buffer,
      dh0: grads.dh0.buffer,
      dc0: grads.dc0.buffer,
    }, dims);
    this.dispose(dGates);
    this.dispose(state);
    if (uT) this.dispose(uT);
    return grads;
  }

  /** Disposes the tensors an LSTM cache owns (not `x` or `mask`, which it borrows). */
  disposeLstmCache(cache: LstmCache): void {
    for (const t of [cache.hPrev, cache.cPrev, cache.gates, cache.cTanh]) this.dispose(t);
  }

  /** Runs a GRU over a whole sequence (see {@linkcode Backend.gruForward}). */
  gruForward(
    x: Tensor,
    h0: Tensor,
    weights: GruWeights,
    options: GruForwardOptions = {},
  ): GruForwardResult {
    const { steps, batch, inputs, hidden } = gruDims(x, h0, weights, options.mask);
    const linearBeforeReset = options.linearBeforeReset ?? true;
    const keep = options.keepCache ?? true;
    const io = {
      x: this.#buf(x),
      w: this.#buf(weights.w),
      u: this.#buf(weights.u),
      bw: this.#buf(weights.bw),
      bu: this.#buf(weights.bu),
      h0: this.#buf(h0),
      mask: options.mask ? this.#buf(options.mask) : undefined,
    };
    const seq = [steps, batch, hidden];
    const gates = this.#new([steps, batch, 3 * hidden], "gru gates");
    const h = this.#new(seq, "gru h");
    const hLast = this.#new([batch, hidden], "gru hLast");
    // Without the cache, the form without linear_before_reset still needs one step's worth.
    const stored = keep || !linearBeforeReset;
    const perStep = keep ? seq : [batch, hidden];
    const hPrev = stored ? this.#new(perStep, "gru hPrev") : undefined;
    const reset = stored ? this.#new(perStep, "gru reset") : undefined;
    encodeGruForward(
      this.#recorder,
      {
        ...io,
        gates: gates.buffer,
        h: h.buffer,
        hPrev: hPrev?.buffer,
        reset: reset?.buffer,
        cache: keep,
        hLast: hLast.buffer,
      },
      { steps, batch, inputs, hidden },
      linearBeforeReset,
    );
    if (!keep) {
      for (const t of [gates, hPrev, reset]) if (t) this.dispose(t);
      return { h, hLast };
    }
    const cache = {
      x,
      hPrev: hPrev!,
      gates,
      reset: reset!,
      mask: options.mask,
      linearBeforeReset,
    };
    return { h, hLast, cache };
  }

  /** Back-propagates through time (see {@linkcode Backend.gruBackward}). */
  gruBackward(cache: GruCache, weights: GruWeights, dh: Tensor, dhLast?: Tensor): GruGradients {
    const dims: GruDims = gruBackwardDims(cache, weights, dh, dhLast);
    const { steps, batch, inputs, hidden } = dims;
    const g3 = 3 * hidden;
    const linearBeforeReset = cache.linearBeforeReset;
    const scratch = {
      dGates: this.#new([steps, batch, g3], "gru dGates"),
      state: this.#new([batch, hidden], "gru dState"),
      uT: this.#new([g3, hidden], "gru uT"),
      recurrent: gruRecurrentScratch(dims, linearBeforeReset).map((shape) =>
        this.#new(shape, "gru dRecurrent")
      ),
    };
    const grads = {
      dx: this.#new([steps, batch, inputs], "gru dx"),
      dw: this.#new([inputs, g3], "gru dw"),
      du: this.#new([hidden, g3], "gru du"),
      dbw: this.#new([g3], "gru dbw"),
      dbu: this.#new([g3], "gru dbu"),
      dh0: this.#new([batch, hidden], "gru dh0"),
    };
    encodeGruBackward(
      this.#recorder,
      {
        x: this.#buf(cache.x),
        w: this.#buf(weights.w),
        u: this.#buf(weights.u),
        hPrev: this.#buf(cache.hPrev),
        gates: this.#buf(cache.gates),
        reset: this.#buf(cache.reset),
        mask: cache.mask ? this.#buf(cache.mask) : undefined,
        dh: this.#buf(dh),
        dhLast: dhLast ? this.#buf(dhLast) : undefined,
        dGates: scratch.dGates.buffer,
        state: scratch.state.buffer,
        uT: scratch.uT.buffer,
        recurrent: scratch.recurrent.map((t) => t.buffer),
        dx: grads.dx.buffer,
        dw: grads.dw.buffer,
        du: grads.du.buffer,
        dbw: grads.dbw.buffer,
        dbu: grads.dbu.buffer,
        dh0: grads.dh0.buffer,
      },
      dims,
      linearBeforeReset,
    );
    for (const t of [scratch.dGates, scratch.state, scratch.uT, ...scratch.recurrent]) {
      this.dispose(t);
    }
    return grads;
  }

  /** Disposes the tensors a GRU cache owns (not `x` or `mask`, which it borrows). */
  disposeGruCache(cache: GruCache): void {
    for (const t of [cache.hPrev, cache.gates, cache.reset]) this.dispose(t);
  }

  /** Row argmax, lowest index on ties. */
  argmaxRows(q: Tensor): WebGpuTensor {
    const [rows, cols] = matrixDims(q, "the Q-values");
    const qb = this.#buf(q);
    const out = this.#new([rows], "argmax");
    encodeArgmax(this.#recorder, qb, out.buffer, rows, cols);
    return out;
  }

  /**
   * Epsilon-greedy actions with the counter-based RNG; the same draws as the CPU backend
   * (row b explores when `counterUniform(seed, counter, 2b) < epsilon`).
   */
  epsilonGreedy(q: Tensor, epsilon: number, seed: number, counter: number): WebGpuTensor {
    const [rows, cols] = matrixDims(q, "the Q-values");
    const qb = this.#buf(q);
    const out = this.#new([rows], "epsilon-greedy");
    encodeEpsilonGreedy(this.#recorder, qb, out.buffer, rows, cols, epsilon, seed, counter);
    return out;
  }

  /** Inversion sampling (see the interface), one invocation per row. */
  sampleRows(probs: Tensor, seed: number, counter: number): WebGpuTensor {
    const [rows, cols] = matrixDims(probs, "the probabilities");
    const out = this.#new([rows], "sampled actions");
    encodeSample(this.#recorder, this.#buf(probs), out.buffer, rows, cols, seed, counter);
    return out;
  }

  /** Box–Muller on the counter-based hash (see the interface), one invocation per draw. */
  gaussianNoise(count: number, seed: number, counter: number): WebGpuTensor {
    expectCount(count, "gaussianNoise");
    const out = this.#new([count], "gaussian noise");
    encodeGaussianNoise(this.#recorder, out.buffer, count, seed, counter);
    return out;
  }

  /** `q[b, actions[b]]` (NaN where an action is not an integer in range). */
  gatherRows(q: Tensor, actions: Tensor): WebGpuTensor {
    const [rows, cols] = matrixDims(q, "the Q-values");
    expectShape(actions, [rows], "the actions");
    const qb = this.#buf(q), ab = this.#buf(actions);
    const out = this.#new([rows], "gather");
    encodeGather(this.#recorder, qb, ab, out.buffer, rows, cols);
    return out;
  }

  /** Scatters `values[b]` into column `actions[b]` of a zero matrix (NaN rows for bad actions). */
  scatterRows(values: Tensor, actions: Tensor, actionCount: number): WebGpuTensor {
    const rows = values.size;
    expectShape(actions, [rows], "the actions");
    const vb = this.#buf(values), ab = this.#buf(actions);
    const out = this.#new([rows, actionCount], "scatter");
    encodeScatter(this.#recorder, vb, ab, out.buffer, rows, actionCount);
    return out;
  }

  /** The (double) DQN target; `terminated` stops bootstrapping, truncation does not. */
  dqnTarget(
    qSelect: Tensor,
    qTarget: Tensor,
    rewards: Tensor,
    terminated: Tensor,
    gamma: number,
  ): WebGpuTensor {
    const [rows, cols] = matrixDims(qSelect, "the selecting Q-values");
    expectShape(qTarget, [rows, cols], "the target Q-values");
    expectShape(rewards, [rows], "the rewards");
    expectShape(terminated, [rows], "the terminated flags");
    const buffers = {
      qSelect: this.#buf(qSelect),
      qTarget: this.#buf(qTarget),
      rewards: this.#buf(rewards),
      terminated: this.#buf(terminated),
    };
    const out = this.#new([rows], "dqn target");
    encodeDqnTarget(this.#recorder, { ...buffers, out: out.buffer }, rows, cols, gamma);
    return out;
  }

  /** Row softmax. */
  softmaxRows(logits: Tensor): WebGpuTensor {
    return this.#softmax(logits, false);
  }

  /** Row log-softmax, the row maximum subtracted first. */
  logSoftmaxRows(logits: Tensor): WebGpuTensor {
    return this.#softmax(logits, true);
  }

  #softmax(logits: Tensor, log: boolean): WebGpuTensor {
    const [rows, cols] = matrixDims(logits, "the logits");
    const lb = this.#buf(logits);
    const out = this.#new([rows, cols], log ? "log-softmax" : "softmax");
    encodeSoftmax(this.#recorder, lb, out.buffer, rows, cols, log);
    return out;
  }

  /** The policy-gradient loss with an entropy bonus, and its gradient. */
  policyLoss(logits: Tensor, actions: Tensor, weights: Tensor, entropyCoef: number): LossResult {
    const [rows, cols] = matrixDims(logits, "the logits");
    expectShape(actions, [rows], "the actions");
    expectShape(weights, [rows], "the policy-gradient weights");
    const buffers = {
      logits: this.#buf(logits),
      actions: this.#buf(actions),
      weights: this.#buf(weights),
    };
    const grad = this.#new([rows, cols], "policy grad");
    const loss = this.#new([1], "policy loss");
    encodePolicyLoss(
      this.#recorder,
      { ...buffers, grad: grad.buffer, loss: loss.buffer },
      rows,
      cols,
      entropyCoef,
    );
    return { loss, grad };
  }

  /** Mean squared error and its gradient. */
  mseLoss(prediction: Tensor, target: Tensor): LossResult {
    expectSameSize(prediction, target, "compute the squared error");
    return this.#elementLoss("mse", prediction, target, 0);
  }

  /** Mean Huber loss and its gradient. */
  huberLoss(prediction: Tensor, target: Tensor, delta: number): LossResult {
    expectSameSize(prediction, target, "compute the Huber loss");
    if (!(delta > 0)) throw new RangeError(`Cannot compute the Huber loss: delta is ${delta}`);
    return this.#elementLoss("huber", prediction, target, delta);
  }

  #elementLoss(
    kind: "mse" | "huber",
    prediction: Tensor,
    target: Tensor,
    delta: number,
  ): LossResult {
    const pred = this.#buf(prediction), tgt = this.#buf(target);
    const grad = this.#new(prediction.shape, `${kind} grad`);
    const loss = this.#new([1], `${kind} loss`);
    encodeElementLoss(
      this.#recorder,
      kind,
      { pred, tgt, grad: grad.buffer, loss: loss.buffer },
      prediction.size,
      delta,
    );
    return { loss, grad };
  }

  /** One fused Adam update of every parameter, in place (one dispatch per parameter). */
  adamStep(params: Tensor[], grads: Tensor[], m: Tensor[], v: Tensor[], step: AdamStep): void {
    expectLists("apply Adam", params, grads, m, v);
    this.#check();
    const slots: OptimizerSlot[] = params.map((p, k) => ({
      size: p.size,
      param: this.#buf(p),
      grad: this.#buf(grads[k]),
      m: this.#buf(m[k]),
      v: this.#buf(v[k]),
    }));
    encodeAdam(this.#recorder, slots, step);
  }

  /** One RMSprop update in place. */
  rmspropStep(params: Tensor[], grads: Tensor[], meanSquare: Tensor[], step: RmspropStep): void {
    expectLists("apply RMSprop", params, grads, meanSquare);
    this.#check();
    const slots: OptimizerSlot[] = params.map((p, k) => ({
      size: p.size,
      param: this.#buf(p),
      grad: this.#buf(grads[k]),
      m: this.#buf(meanSquare[k]),
    }));
    encodeRmsprop(this.#recorder, slots, step);
  }

  /** `p -= lr * g`, in place. */
  sgdStep(params: Tensor[], grads: Tensor[], lr: number): void {
    expectLists("apply SGD", params, grads);
    for (let k = 0; k < params.length; k++) this.axpyInPlace(params[k], grads[k], -lr);
  }

  /** Clips gradients by their global norm in place; returns the norm before clipping (on the GPU). */
  clipByGlobalNorm(grads: Tensor[], maxNorm: number): WebGpuTensor {
    if (!(maxNorm > 0)) throw new RangeError(`Cannot clip gradients: maxNorm is ${maxNorm}`);
    const list = grads.map((g) => ({ buffer: this.#buf(g), size: g.size }));
    const norm = this.zeros([1]);
    encodeClipByGlobalNorm(this.#recorder, list, norm.buffer, maxNorm);
    return norm;
  }

  /** Steps CartPole copies in one dispatch (NaN state for an action other than 0 or 1). */
  cartPoleStep(state: Tensor, actions: Tensor, params: CartPoleStepParams): CartPoleStepTensors {
    const n = actions.size, size = params.maskVelocity ? 2 : 4;
    expectShape(state, [n, CARTPOLE_STATE_SIZE], "the CartPole state");
    const out = {
      observations: this.#new([n, size], "cartpole observations"),
      terminated: this.#new([n], "cartpole terminated"),
      truncated: this.#new([n], "cartpole truncated"),
      finalObservations: this.#new([n, size], "cartpole final observations"),
    };
    encodeCartPoleStep(
      this.#recorder,
      {
        state: this.#buf(state),
        actions: this.#buf(actions),
        observations: out.observations.buffer,
        terminated: out.terminated.buffer,
        truncated: out.truncated.buffer,
        finalObservations: out.finalObservations.buffer,
      },
      n,
      params,
    );
    return out;
  }

  /** Steps Pendulum copies in one dispatch (NaN state for a torque that is not finite). */
  pendulumStep(state: Tensor, torques: Tensor, params: PendulumStepParams): PendulumStepTensors {
    const n = torques.size, size = params.maskVelocity ? 2 : 3;
    expectShape(state, [n, PENDULUM_STATE_SIZE], "the Pendulum state");
    const out = {
      observations: this.#new([n, size], "pendulum observations"),
      rewards: this.#new([n], "pendulum rewards"),
      truncated: this.#new([n], "pendulum truncated"),
      finalObservations: this.#new([n, size], "pendulum final observations"),
    };
    const buffers = {
      state: this.#buf(state),
      torques: this.#buf(torques),
      observations: out.observations.buffer,
      rewards: out.rewards.buffer,
      truncated: out.truncated.buffer,
      finalObservations: out.finalObservations.buffer,
    };
    encodePendulumStep(this.#recorder, buffers, n, params);
    return out;
  }

  /** Steps card-game copies in one dispatch (NaN reward for an action that is not the game's). */
  cardGameStep(state: Tensor, actions: Tensor, params: CardGameStepParams): CardGameStepTensors {
    const n = actions.size, size = cardObservationSize(params);
    expectShape(state, [n, cardStateSize(params)], `the ${params.game} state`);
    const out = {
      observations: this.#new([n, size], "card observations"),
      rewards: this.#new([n], "card rewards"),
      terminated: this.#new([n], "card terminated"),
      finalObservations: this.#new([n, size], "card final observations"),
    };
    const buffers = {
      state: this.#buf(state),
      actions: this.#buf(actions),
      observations: out.observations.buffer,
      rewards: out.rewards.buffer,
      terminated: out.terminated.buffer,
      finalObservations: out.finalObservations.buffer,
    };
    encodeCardGameStep(this.#recorder, buffers, n, params);
    return out;
  }
}
