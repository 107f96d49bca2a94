/**
 * The CPU backend: every op in plain TypeScript over typed arrays. It is the fallback where no
 * GPU exists and the definition every other backend is tested against.
 *
 * By default tensors are float32 like everywhere else. `createCpuBackend({ precision: "float64" })`
 * runs the very same code over Float64Array, which is what the finite-difference gradient checks
 * use: in float64 a central difference is accurate to about 1e-8, so the analytic gradients of the
 * real code paths can be checked tightly.
 *
 * One difference between the two: float32 tensors take sigmoid and tanh (in the LSTM and GRU
 * gates and in `matmul`/`activate`) from the deterministic float32 functions of `f32_math.ts`,
 * run as WebAssembly SIMD kernels where available (`cpu_activations.ts`), while float64 tensors use
 * `Math.exp` and `Math.tanh`. The backward passes read the stored activations either way.
 *
 * Float32 recurrent layers multiply every step by the same recurrent weights: those are packed
 * once per sequence (`packRhs` in `cpu_gemm.ts`), and the LSTM's loops over the steps run with the
 * whole sequence in the gemm module's WebAssembly memory (`wasm/lstm_wasm.ts`). Both give the bits
 * of the plain per-step loops, which float64 tensors (and `setRecurrentPacking(false)`) still run.
 *
 * @module
 */

import {
  type Activation,
  type AdamStep,
  type Backend,
  type CardGameStepTensors,
  type CartPoleStepTensors,
  counterBits,
  counterUniform,
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
} from "./backend.ts";
import { CARTPOLE_STATE_SIZE, type CartPoleStepParams, stepCartPoleF32 } from "./cartpole_f32.ts";
import { PENDULUM_STATE_SIZE, type PendulumStepParams, stepPendulumF32 } from "./pendulum_f32.ts";
import {
  type CardGameStepParams,
  cardObservationSize,
  cardStateSize,
  stepCardGameF32,
} from "./cards_f32.ts";
import { convDims, type ConvGeometry, poolDims, type PoolGeometry } from "./conv_geometry.ts";
import {
  activateRows,
  f32ActivationPath,
  f32UsesLibm,
  lstmCellF32,
  sigmoidInPlace,
  tanhInPlace,
} from "./cpu_activations.ts";
import {
  convPatchesAdjointInto,
  convPatchesInto,
  maxPoolBackwardInto,
  maxPoolInto,
} from "./cpu_conv.ts";
import { gemm, packRhs, sumRows } from "./cpu_gemm.ts";
import {
  type LstmWeightGradients,
  runWasmLstmBackward,
  runWasmLstmForward,
} from "./wasm/lstm_wasm.ts";
import {
  embeddingDims,
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
} from "./_checks.ts";

/** The typed arrays the CPU backend stores tensors in. */
export type FloatArray = Float32Array | Float64Array;

/** A tensor of the CPU backend: a shape over a typed array it owns. */
export class CpuTensor implements Tensor {
  /** The dimensions, outermost first. */
  readonly shape: readonly number[];
  /** The number of elements. */
  readonly size: number;
  /** The elements, row-major. */
  readonly data: FloatArray;

  /** Wraps `data` (not copied) as a tensor of `shape`. */
  constructor(data: FloatArray, shape: readonly number[]) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new TypeError(
        `Cannot make a tensor of shape ${
          formatShape(shape)
        }: it needs ${size} values, got ${data.length}`,
      );
    }
    this.shape = Object.freeze([...shape]);
    this.size = size;
    this.data = data;
  }
}

/** Options of {@linkcode createCpuBackend}. */
export interface CpuBackendOptions {
  /** Element type of every tensor: "float32" (default) or "float64" for gradient checks. */
  precision?: "float32" | "float64";
  /**
   * Count live tensors, for tests that look for leaks (default false). Every tensor the backend
   * creates (by an op, `tensor`, `zeros` or `reshape`; each reshaped view is a handle of its own)
   * counts as live until it is disposed, and remembers the op and the caller that created it:
   * see {@linkcode CpuBackend.liveTensors} and {@linkcode CpuBackend.listLiveTensors}.
   * Disposing a tensor twice, or using a disposed one, throws an Error naming where it was
   * created. This costs a stack capture per tensor; without it the backend does no bookkeeping.
   */
  debug?: boolean;
}

/** A tensor that a debug-mode CPU backend created and that has not been disposed. */
export interface LiveTensorInfo {
  /** Its shape. */
  readonly shape: readonly number[];
  /**
   * The op that created it and its first caller outside the backend, such as
   * `"matmul at lib/nn/dense.ts:111:29"`.
   */
  readonly createdBy: string;
}

/**
 * Creates the CPU backend.
 *
 * @example
 * ```ts
 * import { createCpuBackend } from "@rnnrl/rnnrl";
 * const cpu = createCpuBackend();
 * const a = cpu.tensor([1, 2, 3, 4], [2, 2]);
 * const product = await cpu.read(cpu.matmul(a, a)); // [7, 10, 15, 22]
 * if (product[3] !== 22) throw new Error("matmul is wrong");
 * ```
 */
export function createCpuBackend(options: CpuBackendOptions = {}): CpuBackend {
  return new CpuBackend(options.precision ?? "float32", { debug: options.debug });
}

/** Returns the typed array behind a CPU tensor, or throws when the tensor belongs elsewhere. */
export function cpuData(t: Tensor): FloatArray {
  if (!(t instanceof CpuTensor)) {
    throw new TypeError("Cannot use a tensor of another backend on the CPU backend");
  }
  return t.data;
}

/** σ in double precision: the float64 path (float32 tensors use `cpu_activations.ts`). */
function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/**
 * Whether `data` takes the float32 activation path of `cpu_activations.ts` (deterministic
 * float32 exp/sigmoid/tanh, WebAssembly SIMD where available) rather than `Math.exp`/`Math.tanh`
 * in double precision, which float64 tensors keep for the gradient checks.
 */
function f32Activations(data: FloatArray): data is Float32Array {
  return data instanceof Float32Array && !f32UsesLibm();
}

/** Stack frames from this file, recognised by its URL. */
const HERE = `${import.meta.url}:`;
/** The repository root, cut from file names in creation sites. */
const ROOT = new URL("../../", import.meta.url).href;

/**
 * The debug mode's record: the tensors a backend created that are still live, and where every
 * one it created came from. A tracked tensor's `data` becomes a getter that throws once the
 * tensor is disposed, so every op, `read`, `write` and `copy` (which all go through `data`)
 * refuses it; untracked tensors keep a plain field, so the normal mode pays nothing.
 */
class TensorLedger {
  readonly #live = new Set<CpuTensor>();
  readonly #sites = new WeakMap<CpuTensor, Error>();

  get count(): number {
    return this.#live.size;
  }

  track(t: CpuTensor): void {
    // The stack is formatted only if someone asks where the tensor came from.
    this.#sites.set(t, new Error("created"));
    this.#live.add(t);
    const data = t.data;
    Object.defineProperty(t, "data", {
      get: () => {
        if (!this.#live.has(t)) {
          throw new Error(`Cannot use a disposed tensor: ${this.#describe(t)}`);
        }
        return data;
      },
    });
  }

  release(t: Tensor): void {
    if (!(t instanceof CpuTensor && this.#sites.has(t))) {
      throw new TypeError(
        `Cannot dispose a tensor of shape ${formatShape(t.shape)}: this backend did not create it`,
      );
    }
    if (!this.#live.delete(t)) {
      throw new Error(`Cannot dispose a tensor twice: ${this.#describe(t)}`);
    }
  }

  list(): LiveTensorInfo[] {
    return [...this.#live].map((t) => ({ shape: t.shape, createdBy: this.#site(t) }));
  }

  #describe(t: CpuTensor): string {
    return `shape ${formatShape(t.shape)}, created by ${this.#site(t)}`;
  }

  /** "op at caller": the last frame in this file names the op, the next one its caller. */
  #site(t: CpuTensor): string {
    const frames = (this.#sites.get(t)?.stack ?? "").split("\n").slice(1)
      .map((line) => line.trim().replace(/^at /, ""));
    const outside = frames.findIndex((f, i) =>
      i > 0 && !f.includes(HERE) && frames[i - 1].includes(HERE)
    );
    if (outside < 0) return "an unknown caller";
    const op = frames[outside - 1].match(/CpuBackend\.(\w+)/)?.[1] ?? "an op";
    const caller = frames[outside].replace(/^.*\((.*)\)$/, "$1").replace(ROOT, "");
    return `${op} at ${caller}`;
  }
}

/** The CPU backend. Create it with {@linkcode createCpuBackend}. */
export class CpuBackend implements Backend {
  /** Always "cpu". */
  readonly name: "cpu" = "cpu";
  /** A description of what runs the ops. */
  readonly device: string;
  /** The element type of every tensor. */
  readonly precision: "float32" | "float64";
  /** Whether live tensors are counted (see {@linkcode CpuBackendOptions.debug}). */
  readonly debug: boolean;
  readonly #alloc: (n: number) => FloatArray;
  /** Rounds a running sum to the tensors' precision (the conv adjoint sums as the GPU does). */
  readonly #round: (v: number) => number;
  readonly #ledger: TensorLedger | undefined;
  /** See {@linkcode CpuBackend.#scratch}; grown, never shrunk. */
  #scratchArray: FloatArray = new Float32Array(0);

  /** Use {@linkcode createCpuBackend}. */
  constructor(precision: "float32" | "float64", options: { debug?: boolean } = {}) {
    this.precision = precision;
    this.debug = options.debug ?? false;
    this.device = `TypeScript on the CPU (${precision}${this.debug ? ", debug" : ""})`;
    this.#alloc = precision === "float64" ? (n) => new Float64Array(n) : (n) => new Float32Array(n);
    this.#round = precision === "float64" ? (v) => v : Math.fround;
    this.#ledger = this.debug ? new TensorLedger() : undefined;
  }

  /**
   * How many tensors this backend created that are not yet disposed (debug mode only).
   *
   * @throws {Error} When the backend was not created with `debug: true`.
   */
  get liveTensors(): number {
    return this.#requireLedger().count;
  }

  /**
   * The live tensors, oldest first, each with its shape and where it was created (debug mode
   * only): what to print when {@linkcode CpuBackend.liveTensors} is higher than expected.
   *
   * @throws {Error} When the backend was not created with `debug: true`.
   */
  listLiveTensors(): LiveTensorInfo[] {
    return this.#requireLedger().list();
  }

  #requireLedger(): TensorLedger {
    if (!this.#ledger) {
      throw new Error("Cannot count live tensors: create the CPU backend with debug: true");
    }
    return this.#ledger;
  }

  /** Every tensor the backend hands out is made here, so that debug mode sees it. */
  #wrap(data: FloatArray, shape: readonly number[]): CpuTensor {
    const t = new CpuTensor(data, shape);
    if (this.#ledger) this.#ledger.track(t);
    return t;
  }

  /**
   * A work array of n elements for one op's internal use (its contents are whatever the last
   * user left): reused across calls, so it must never be handed out or kept past the op.
   */
  #scratch(n: number): FloatArray {
    if (this.#scratchArray.length < n) this.#scratchArray = this.#alloc(n);
    return this.#scratchArray.subarray(0, n);
  }

  #new(shape: readonly number[]): CpuTensor {
    return this.#wrap(this.#alloc(shapeSize(shape)), shape);
  }

  /** Copies numbers into a new tensor. */
  tensor(data: ArrayLike<number>, shape: readonly number[]): CpuTensor {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new TypeError(
        `Cannot make a tensor of shape ${
          formatShape(shape)
        }: it needs ${size} values, got ${data.length}`,
      );
    }
    const t = this.#new(shape);
    t.data.set(data);
    return t;
  }

  /** A new zero tensor. */
  zeros(shape: readonly number[]): CpuTensor {
    return this.#new(shape);
  }

  /** Returns a float32 copy of the data. */
  read(t: Tensor): Promise<Float32Array> {
    return Promise.resolve(Float32Array.from(cpuData(t)));
  }

  /** Returns the data synchronously (a copy), for CPU-only callers. */
  readSync(t: Tensor): Float32Array {
    return Float32Array.from(cpuData(t));
  }

  /** Overwrites a tensor's contents. */
  write(t: Tensor, data: ArrayLike<number>): void {
    if (data.length !== t.size) {
      throw new TypeError(`Cannot write ${data.length} values into a tensor of ${t.size}`);
    }
    cpuData(t).set(data);
  }

  /** Copies `src` into `dst`. */
  copy(dst: Tensor, src: Tensor, offset?: number): void {
    if (offset === undefined) expectSameSize(dst, src, "copy a tensor");
    else expectCopyRange(dst, src, offset);
    cpuData(dst).set(cpuData(src), offset ?? 0);
  }

  /** A view of the same data under another shape (in debug mode, a handle counted on its own). */
  reshape(t: Tensor, shape: readonly number[]): CpuTensor {
    return this.#wrap(cpuData(t), shape);
  }

  /**
   * Nothing to release on the CPU: the garbage collector owns the memory. In debug mode the
   * handle stops counting as live, and must not be used or disposed again.
   */
  dispose(t: Tensor): void {
    if (this.#ledger) this.#ledger.release(t);
  }

  /** CPU ops finish before they return. */
  sync(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to release: the CPU backend's memory belongs to the garbage collector. */
  destroy(): void {}

  /** `act(op(A) · op(B) + bias)`. */
  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): CpuTensor {
    const { m, n, k } = matmulDims(a, b, options);
    const ad = cpuData(a), bd = cpuData(b);
    const bias = options.bias ? cpuData(options.bias) : undefined;
    const out = this.#new([m, n]);
    const c = out.data, activation = options.activation ?? "linear";
    // ReLU is applied with the bias, after the product, on the float32 path.
    const relu = activation === "relu" && c instanceof Float32Array &&
      ad instanceof Float32Array && bd instanceof Float32Array &&
      (bias === undefined || bias instanceof Float32Array);
    matmulInto(ad, bd, c, m, n, k, options.transposeA, options.transposeB, false, bias, relu);
    if (!relu) activateInPlace(c, activation);
    return out;
  }

  /** `a + b`. */
  add(a: Tensor, b: Tensor): CpuTensor {
    expectSameSize(a, b, "add tensors");
    const x = cpuData(a), y = cpuData(b);
    const out = this.#new(a.shape);
    for (let i = 0; i < out.size; i++) out.data[i] = x[i] + y[i];
    return out;
  }

  /** `a * b`. */
  mul(a: Tensor, b: Tensor): CpuTensor {
    expectSameSize(a, b, "multiply tensors");
    const x = cpuData(a), y = cpuData(b);
    const out = this.#new(a.shape);
    for (let i = 0; i < out.size; i++) out.data[i] = x[i] * y[i];
    return out;
  }

  /** `s * a`. */
  scale(a: Tensor, s: number): CpuTensor {
    const x = cpuData(a);
    const out = this.#new(a.shape);
    for (let i = 0; i < out.size; i++) out.data[i] = s * x[i];
    return out;
  }

  /** The data of two operands of the same shape, and a new tensor of that shape for the result. */
  #binary(a: Tensor, b: Tensor, what: string): [FloatArray, FloatArray, FloatArray, CpuTensor] {
    expectSameShape(a, b, what);
    const x = cpuData(a), y = cpuData(b);
    const out = this.#new(a.shape);
    return [x, y, out.data, out];
  }

  /** `a − b`. */
  sub(a: Tensor, b: Tensor): CpuTensor {
    const [x, y, o, out] = this.#binary(a, b, "subtract tensors");
    for (let i = 0; i < o.length; i++) o[i] = x[i] - y[i];
    return out;
  }

  /** `a / b`, IEEE at zero divisors. */
  div(a: Tensor, b: Tensor): CpuTensor {
    const [x, y, o, out] = this.#binary(a, b, "divide tensors");
    for (let i = 0; i < o.length; i++) o[i] = x[i] / y[i];
    return out;
  }

  /** The elementwise minimum (NaN where either is NaN). */
  minimum(a: Tensor, b: Tensor): CpuTensor {
    const [x, y, o, out] = this.#binary(a, b, "take the minimum of tensors");
    for (let i = 0; i < o.length; i++) o[i] = Math.min(x[i], y[i]);
    return out;
  }

  /** The elementwise maximum (NaN where either is NaN). */
  maximum(a: Tensor, b: Tensor): CpuTensor {
    const [x, y, o, out] = this.#binary(a, b, "take the maximum of tensors");
    for (let i = 0; i < o.length; i++) o[i] = Math.max(x[i], y[i]);
    return out;
  }

  /** 1 where `a > b`, else 0. */
  greater(a: Tensor, b: Tensor): CpuTensor {
    const [x, y, o, out] = this.#binary(a, b, "compare tensors");
    for (let i = 0; i < o.length; i++) o[i] = x[i] > y[i] ? 1 : 0;
    return out;
  }

  /** 1 where `a >= b`, else 0. */
  greaterEqual(a: Tensor, b: Tensor): CpuTensor {
    const [x, y, o, out] = this.#binary(a, b, "compare tensors");
    for (let i = 0; i < o.length; i++) o[i] = x[i] >= y[i] ? 1 : 0;
    return out;
  }

  /** `a` where `condition` is non-zero (NaN included), else `b`. */
  where(condition: Tensor, a: Tensor, b: Tensor): CpuTensor {
    expectSameShape(condition, a, "select between tensors");
    const c = cpuData(condition);
    const [x, y, o, out] = this.#binary(a, b, "select between tensors");
    for (let i = 0; i < o.length; i++) o[i] = c[i] !== 0 ? x[i] : y[i];
    return out;
  }

  /** `eˣ`. */
  exp(x: Tensor): CpuTensor {
    const d = cpuData(x);
    const out = this.#new(x.shape);
    const o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = Math.exp(d[i]);
    return out;
  }

  /** The natural logarithm, as `Math.log`. */
  log(x: Tensor): CpuTensor {
    const d = cpuData(x);
    const out = this.#new(x.shape);
    const o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = Math.log(d[i]);
    return out;
  }

  /** `|x|`. */
  abs(x: Tensor): CpuTensor {
    const d = cpuData(x);
    const out = this.#new(x.shape);
    const o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = Math.abs(d[i]);
    return out;
  }

  /** `min(max(x, low), high)`; NaN stays NaN. */
  clamp(x: Tensor, low: number, high: number): CpuTensor {
    expectBounds(low, high, "clamp a tensor");
    const d = cpuData(x);
    const out = this.#new(x.shape);
    const o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = Math.min(Math.max(d[i], low), high);
    return out;
  }

  /** `x + s`. */
  addScalar(x: Tensor, s: number): CpuTensor {
    const d = cpuData(x);
    const out = this.#new(x.shape);
    const o = out.data;
    for (let i = 0; i < o.length; i++) o[i] = d[i] + s;
    return out;
  }

  /** `y += alpha * x`, in place. */
  axpyInPlace(y: Tensor, x: Tensor, alpha: number): void {
    expectSameSize(y, x, "accumulate tensors");
    const yd = cpuData(y), xd = cpuData(x);
    for (let i = 0; i < yd.length; i++) yd[i] += alpha * xd[i];
  }

  /** Applies an activation. */
  activate(x: Tensor, activation: Activation): CpuTensor {
    const d = cpuData(x);
    const out = this.#new(x.shape);
    out.data.set(d);
    activateInPlace(out.data, activation);
    return out;
  }

  /** The gradient through an activation, from its output. */
  activationGrad(y: Tensor, dy: Tensor, activation: Activation): CpuTensor {
    expectSameSize(y, dy, "back-propagate an activation");
    const yd = cpuData(y), g = cpuData(dy);
    const out = this.#new(y.shape);
    const o = out.data;
    switch (activation) {
      case "linear":
        o.set(g);
        break;
      case "relu":
        if (o instanceof Float32Array && g instanceof Float32Array) reluGradF32(yd, g, o);
        else for (let i = 0; i < o.length; i++) o[i] = yd[i] > 0 ? g[i] : 0;
        break;
      case "tanh":
        for (let i = 0; i < o.length; i++) o[i] = g[i] * (1 - yd[i] * yd[i]);
        break;
      case "sigmoid":
        for (let i = 0; i < o.length; i++) o[i] = g[i] * yd[i] * (1 - yd[i]);
        break;
      default:
        throw new RangeError(`Cannot back-propagate activation "${activation}"`);
    }
    return out;
  }

  /** Sums a matrix over its rows. */
  sumRows(x: Tensor): CpuTensor {
    const [m, n] = matrixDims(x, "the input of sumRows");
    const d = cpuData(x);
    const out = this.#new([n]);
    sumRowsInto(d, out.data, m, n);
    return out;
  }

  /** The sum of all elements. */
  sum(x: Tensor): CpuTensor {
    const d = cpuData(x);
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i];
    return this.tensor([s], [1]);
  }

  /** Every cell's neighbourhood as a row (see {@linkcode Backend.unfoldPatches}). */
  unfoldPatches(x: Tensor, options: PatchOptions): CpuTensor {
    const { batch, channels: C, height: H, width: W, radius: r, features: F } = patchDims(
      x,
      options,
      false,
    );
    const cells = H * W, side = 2 * r + 1;
    const src = cpuData(x);
    const out = this.#new([batch * cells, F]);
    const dst = out.data;
    for (let b = 0; b < batch; b++) {
      const board = b * C * cells;
      for (let i = 0; i < cells; i++) {
        const y = Math.floor(i / W), xc = i % W;
        const row = (b * cells + i) * F;
        for (let n = 0; n < side * side; n++) {
          const yy = y + Math.floor(n / side) - r, xx = xc + (n % side) - r;
          const at = row + n * (C + 1);
          if (yy < 0 || yy >= H || xx < 0 || xx >= W) {
            dst[at + C] = 1;
            continue;
          }
          const j = board + yy * W + xx;
          for (let c = 0; c < C; c++) dst[at + c] = src[j + c * cells];
        }
      }
    }
    return out;
  }

  /** The adjoint of {@linkcode CpuBackend.unfoldPatches}, one gather per input element. */
  foldPatches(patches: Tensor, options: PatchOptions): CpuTensor {
    const { batch, channels: C, height: H, width: W, radius: r, features: F } = patchDims(
      patches,
      options,
      true,
    );
    const cells = H * W, side = 2 * r + 1;
    const src = cpuData(patches);
    const out = this.#new([batch, C * cells]);
    const dst = out.data;
    for (let b = 0; b < batch; b++) {
      for (let c = 0; c < C; c++) {
        for (let j = 0; j < cells; j++) {
          const y = Math.floor(j / W), xc = j % W;
          let total = 0;
          // Cell i = j − offset saw j as its neighbour n; offsets in the order of the patch.
          for (let n = 0; n < side * side; n++) {
            const yy = y - (Math.floor(n / side) - r), xx = xc - ((n % side) - r);
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            total += src[(b * cells + yy * W + xx) * F + n * (C + 1) + c];
          }
          dst[(b * C + c) * cells + j] = total;
        }
      }
    }
    return out;
  }

  /** A convolution's patches (see {@linkcode Backend.convPatches}). */
  convPatches(x: Tensor, geometry: ConvGeometry): CpuTensor {
    const d = convDims(x, geometry, false);
    const out = this.#new([d.batch * d.outHeight * d.outWidth, d.features]);
    convPatchesInto(cpuData(x), out.data, d);
    return out;
  }

  /** The adjoint of {@linkcode CpuBackend.convPatches}, a gather in a fixed order. */
  convPatchesAdjoint(patches: Tensor, geometry: ConvGeometry): CpuTensor {
    const d = convDims(patches, geometry, true);
    const out = this.#new([d.batch, d.height * d.width * d.channels]);
    convPatchesAdjointInto(cpuData(patches), out.data, d, this.#round);
    return out;
  }

  /** Max pooling (see {@linkcode Backend.maxPool}). */
  maxPool(x: Tensor, geometry: PoolGeometry): CpuTensor {
    const d = poolDims(x, geometry, "max-pool");
    const out = this.#new([d.batch, d.outHeight * d.outWidth * d.channels]);
    maxPoolInto(cpuData(x), out.data, d);
    return out;
  }

  /** The gradient of {@linkcode CpuBackend.maxPool} (see {@linkcode Backend.maxPoolBackward}). */
  maxPoolBackward(x: Tensor, dOutput: Tensor, geometry: PoolGeometry): CpuTensor {
    const d = poolDims(x, geometry, "back-propagate max pooling");
    expectShape(
      dOutput,
      [d.batch, d.outHeight * d.outWidth * d.channels],
      "the gradient of maxPool",
    );
    const out = this.#new(x.shape);
    maxPoolBackwardInto(cpuData(x), cpuData(dOutput), out.data, d);
    return out;
  }

  /** Looks ids up in an embedding table (see {@linkcode Backend.embeddingForward}). */
  embeddingForward(x: Tensor, table: Tensor, ids: number): CpuTensor {
    const { rows, inputs: I, passed, vocabulary: V, size: E, outputs: O } = embeddingDims(
      x,
      ids,
      { table },
    );
    const src = cpuData(x), t = cpuData(table);
    const out = this.#new([rows, O]);
    const dst = out.data;
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < ids; l++) {
        const id = checkId(src[r * I + l], V, r, l);
        dst.set(t.subarray(id * E, (id + 1) * E), r * O + l * E);
      }
      for (let k = 0; k < passed; k++) dst[r * O + ids * E + k] = src[r * I + ids + k];
    }
    return out;
  }

  /** The gradients of an embedding lookup (see {@linkcode Backend.embeddingBackward}). */
  embeddingBackward(
    x: Tensor,
    dOutput: Tensor,
    vocabulary: number,
    ids: number,
  ): EmbeddingGradients {
    const { rows, inputs: I, passed, size: E, outputs: O } = embeddingDims(x, ids, {
      dOutput,
      vocabulary,
    });
    const src = cpuData(x), g = cpuData(dOutput);
    const dTable = this.#new([vocabulary, E]), dInput = this.#new([rows, I]);
    const dt = dTable.data, di = dInput.data;
    // Row by row, id by id: each table entry sums its uses in this order, as the kernel does.
    for (let r = 0; r < rows; r++) {
      for (let l = 0; l < ids; l++) {
        const id = checkId(src[r * I + l], vocabulary, r, l);
        for (let e = 0; e < E; e++) dt[id * E + e] += g[r * O + l * E + e];
      }
      for (let k = 0; k < passed; k++) di[r * I + ids + k] = g[r * O + ids * E + k];
    }
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
    const { steps, batch, inputs, hidden } = lstmDims(x, h0, c0, weights, options.mask);
    const g4 = 4 * hidden;
    const mask = options.mask ? cpuData(options.mask) : undefined;
    const xd = cpuData(x), w = cpuData(weights.w), u = cpuData(weights.u);
    const bias = cpuData(weights.b), h0d = cpuData(h0), c0d = cpuData(c0);

    // The input projection of every step at once: one big matmul, plus the bias.
    const gates = this.#new([steps, batch, g4]);
    const z = gates.data;
    matmulInto(xd, w, z, steps * batch, g4, inputs, false, false, false, bias);

    const h = this.#new([steps, batch, hidden]);
    const hPrev = this.#new([steps, batch, hidden]);
    const cPrev = this.#new([steps, batch, hidden]);
    const cTanh = this.#new([steps, batch, hidden]);
    const cell = this.#alloc(batch * hidden);
    cell.set(c0d);
    const bh = batch * hidden;
    const inWasm = lstmForwardWasm(
      u,
      z,
      h0d,
      mask,
      hPrev.data,
      cPrev.data,
      cTanh.data,
      h.data,
      cell,
      steps,
      batch,
      hidden,
    );
    if (!inWasm) {
      const recurrent = stepRhs(u, hidden, g4, false, steps);
      try {
        for (let t = 0; t < steps; t++) {
          const hp = hPrev.data.subarray(t * bh, (t + 1) * bh);
          const cp = cPrev.data.subarray(t * bh, (t + 1) * bh);
          hp.set(t === 0 ? h0d : h.data.subarray((t - 1) * bh, t * bh));
          cp.set(cell);
          if (mask) {
            for (let b = 0; b < batch; b++) {
              const keep = mask[t * batch + b];
              if (keep === 1) continue;
              for (let j = b * hidden; j < (b + 1) * hidden; j++) {
                hp[j] *= keep;
                cp[j] *= keep;
              }
            }
          }
          const zt = z.subarray(t * batch * g4, (t + 1) * batch * g4);
          recurrent.multiply(hp, zt, batch, true);
          lstmGatesForward(
            zt,
            cp,
            cell,
            cTanh.data.subarray(t * bh, (t + 1) * bh),
            h.data.subarray(t * bh, (t + 1) * bh),
            batch,
            hidden,
          );
        }
      } finally {
        recurrent.dispose();
      }
    }
    const hLast = this.#new([batch, hidden]);
    if (steps > 0) hLast.data.set(h.data.subarray((steps - 1) * bh));
    else hLast.data.set(h0d);
    const cLast = this.#wrap(cell, [batch, hidden]);
    if (!(options.keepCache ?? true)) {
      for (const t of [hPrev, cPrev, gates, cTanh]) this.dispose(t);
      return { h, hLast, cLast };
    }
    return { h, hLast, cLast, cache: { x, hPrev, cPrev, gates, cTanh, mask: options.mask } };
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
    const bh = batch * hidden;
    expectShape(dh, [steps, batch, hidden], "the LSTM output gradient");
    if (dhLast) expectShape(dhLast, [batch, hidden], "the final hidden-state gradient");
    if (dcLast) expectShape(dcLast, [batch, hidden], "the final cell-state gradient");
    const gates = cpuData(cache.gates), cPrev = cpuData(cache.cPrev);
    const cTanh = cpuData(cache.cTanh), dH = cpuData(dh);
    const mask = cache.mask ? cpuData(cache.mask) : undefined;
    const xd = cpuData(cache.x), hPrev = cpuData(cache.hPrev);
    const w = cpuData(weights.w), u = cpuData(weights.u);

    // Scratch: every element is written below and nothing keeps it past this call.
    const dGates = this.#scratch(steps * batch * g4);
    const dhNext = this.#alloc(bh);
    const dcNext = this.#alloc(bh);
    if (dhLast) dhNext.set(cpuData(dhLast));
    if (dcLast) dcNext.set(cpuData(dcLast));
    const rows = steps * batch;
    const dw = this.#new([inputs, g4]);
    const du = this.#new([hidden, g4]);
    const db = this.#new([g4]);
    const dx = this.#new([steps, batch, inputs]);
    const grads = { x: xd, hPrev, w, inputs, dw: dw.data, du: du.data, db: db.data, dx: dx.data };
    const inWasm = lstmBackwardWasm(
      u,
      gates,
      cPrev,
      cTanh,
      dH,
      mask,
      dhNext,
      dcNext,
      dGates,
      steps,
      batch,
      hidden,
      grads,
    );
    if (inWasm === false) {
      // dg · Uᵀ at every step: Uᵀ packed once.
      const recurrent = stepRhs(u, g4, hidden, true, steps);
      try {
        for (let t = steps - 1; t >= 0; t--) {
          const dg = dGates.subarray(t * batch * g4, (t + 1) * batch * g4);
          lstmGatesBackward(
            gates.subarray(t * batch * g4, (t + 1) * batch * g4),
            cPrev.subarray(t * bh, (t + 1) * bh),
            cTanh.subarray(t * bh, (t + 1) * bh),
            dH.subarray(t * bh, (t + 1) * bh),
            dhNext,
            dcNext,
            dg,
            batch,
            hidden,
          );
          // dcNext now holds dL/d(masked c_{t−1}); the gradient into the recurrent matmul's input:
          recurrent.multiply(dg, dhNext, batch);
          if (mask) {
            for (let b = 0; b < batch; b++) {
              const keep = mask[t * batch + b];
              if (keep === 1) continue;
              for (let j = b * hidden; j < (b + 1) * hidden; j++) {
                dhNext[j] *= keep;
                dcNext[j] *= keep;
              }
            }
          }
        }
      } finally {
        recurrent.dispose();
      }
    }
    if (inWasm !== "all") {
      // Weight gradients as three large matmuls over all steps at once.
      matmulInto(xd, dGates, dw.data, inputs, g4, rows, true, false);
      matmulInto(hPrev, dGates, du.data, hidden, g4, rows, true, false);
      sumRowsInto(dGates, db.data, rows, g4);
      matmulInto(dGates, w, dx.data, rows, inputs, g4, false, true);
    }
    const dh0 = this.#wrap(dhNext, [batch, hidden]), dc0 = this.#wrap(dcNext, [batch, hidden]);
    return { dx, dw, du, db, dh0, dc0 };
  }

  /** Disposes the tensors the cache owns (not `x` or `mask`, which it borrows). */
  disposeLstmCache(cache: LstmCache): void {
    for (const t of [cache.hPrev, cache.cPrev, cache.gates, cache.cTanh]) this.dispose(t);
  }

  /**
   * Runs a GRU over a whole sequence (see {@linkcode Backend.gruForward}): the input projection
   * of every step in one matmul, then per step the recurrent matmul (two without
   * `linearBeforeReset`, as the candidate's waits for r) and the gate math.
   */
  gruForward(
    x: Tensor,
    h0: Tensor,
    weights: GruWeights,
    options: GruForwardOptions = {},
  ): GruForwardResult {
    const { steps, batch, inputs, hidden: H } = gruDims(x, h0, weights, options.mask);
    const linearBeforeReset = options.linearBeforeReset ?? true;
    const g3 = 3 * H, bh = batch * H;
    const mask = options.mask ? cpuData(options.mask) : undefined;
    const xd = cpuData(x), u = cpuData(weights.u), bu = cpuData(weights.bu), h0d = cpuData(h0);

    // The input projection of every step at once, with the input bias: [T·B, 3H].
    const gates = this.#new([steps, batch, g3]);
    const g = gates.data;
    const bw = cpuData(weights.bw);
    matmulInto(xd, cpuData(weights.w), g, steps * batch, g3, inputs, false, false, false, bw);

    const h = this.#new([steps, batch, H]);
    const hPrev = this.#new([steps, batch, H]);
    const reset = this.#new([steps, batch, H]);
    // Without linear_before_reset, [U_z U_r] and U_h multiply different inputs: kept apart.
    const uzr = linearBeforeReset ? u : columns(u, H, g3, 0, 2 * H);
    const uh = linearBeforeReset ? u : columns(u, H, g3, 2 * H, H);
    const rec = this.#alloc(batch * g3);
    // The recurrent matmuls, their weights packed once: [U_z U_r U_h]·h with linear_before_reset,
    // else [U_z U_r]·h and U_h·(r ⊙ h).
    const recZr = stepRhs(
      linearBeforeReset ? u : uzr,
      H,
      linearBeforeReset ? g3 : 2 * H,
      false,
      steps,
    );
    const recH = linearBeforeReset ? undefined : stepRhs(uh, H, H, false, steps);
    try {
      for (let t = 0; t < steps; t++) {
        const hp = hPrev.data.subarray(t * bh, (t + 1) * bh);
        hp.set(t === 0 ? h0d : h.data.subarray((t - 1) * bh, t * bh));
        if (mask) scaleRows(hp, mask.subarray(t * batch, (t + 1) * batch), H);
        const gt = g.subarray(t * batch * g3, (t + 1) * batch * g3);
        const rt = reset.data.subarray(t * bh, (t + 1) * bh);
        const ht = h.data.subarray(t * bh, (t + 1) * bh);
        if (f32Activations(gt)) {
          gruGatesF32(gt, hp, rec, bu, rt, ht, batch, H, recZr, recH);
        } else if (linearBeforeReset) {
          recZr.multiply(hp, rec, batch);
          for (let b = 0; b < batch; b++) {
            for (let j = 0; j < H; j++) {
              const gi = b * g3 + j, si = b * H + j;
              gt[gi] = sigmoid(gt[gi] + rec[gi] + bu[j]);
              gt[gi + H] = sigmoid(gt[gi + H] + rec[gi + H] + bu[H + j]);
              rt[si] = rec[gi + 2 * H] + bu[2 * H + j];
              // Read back the stored values so backward sees exactly what forward used.
              gt[gi + 2 * H] = Math.tanh(gt[gi + 2 * H] + gt[gi + H] * rt[si]);
              ht[si] = (1 - gt[gi]) * gt[gi + 2 * H] + gt[gi] * hp[si];
            }
          }
        } else {
          recZr.multiply(hp, rec, batch);
          for (let b = 0; b < batch; b++) {
            for (let j = 0; j < H; j++) {
              const gi = b * g3 + j, ri = b * 2 * H + j, si = b * H + j;
              gt[gi] = sigmoid(gt[gi] + rec[ri] + bu[j]);
              gt[gi + H] = sigmoid(gt[gi + H] + rec[ri + H] + bu[H + j]);
              rt[si] = gt[gi + H] * hp[si];
            }
          }
          recH!.multiply(rt, rec, batch);
          for (let b = 0; b < batch; b++) {
            for (let j = 0; j < H; j++) {
              const gi = b * g3 + j, si = b * H + j;
              gt[gi + 2 * H] = Math.tanh(gt[gi + 2 * H] + rec[si] + bu[2 * H + j]);
              ht[si] = (1 - gt[gi]) * gt[gi + 2 * H] + gt[gi] * hp[si];
            }
          }
        }
      }
    } finally {
      recZr.dispose();
      recH?.dispose();
    }
    const hLast = this.#new([batch, H]);
    hLast.data.set(steps > 0 ? h.data.subarray((steps - 1) * bh) : h0d);
    if (!(options.keepCache ?? true)) {
      for (const t of [hPrev, gates, reset]) this.dispose(t);
      return { h, hLast };
    }
    const cache = { x, hPrev, gates, reset, mask: options.mask, linearBeforeReset };
    return { h, hLast, cache };
  }

  /** Back-propagates through time (see {@linkcode Backend.gruBackward}). */
  gruBackward(cache: GruCache, weights: GruWeights, dh: Tensor, dhLast?: Tensor): GruGradients {
    const { steps, batch, inputs, hidden: H } = gruBackwardDims(cache, weights, dh, dhLast);
    const linearBeforeReset = cache.linearBeforeReset;
    const g3 = 3 * H, bh = batch * H, rows = steps * batch;
    const gates = cpuData(cache.gates), hPrev = cpuData(cache.hPrev);
    const reset = cpuData(cache.reset), dH = cpuData(dh);
    const mask = cache.mask ? cpuData(cache.mask) : undefined;
    const w = cpuData(weights.w), u = cpuData(weights.u);

    // dG: the gradient of the input projection's output (z, r, h̃ pre-activations), [T·B, 3H].
    // dGu: that of the recurrent side — the same for z and r; for h̃, r ⊙ dG_h with
    // linear_before_reset. Without it, the recurrent side is kept as dGzr [T·B, 2H] and
    // dGh [T·B, H], because U_h multiplies r ⊙ h rather than h.
    const dG = this.#alloc(rows * g3);
    const dGu = linearBeforeReset ? this.#alloc(rows * g3) : undefined;
    const dGzr = linearBeforeReset ? undefined : this.#alloc(rows * 2 * H);
    const dGh = linearBeforeReset ? undefined : this.#alloc(rows * H);
    const uzr = linearBeforeReset ? u : columns(u, H, g3, 0, 2 * H);
    const uh = linearBeforeReset ? u : columns(u, H, g3, 2 * H, H);
    const q = this.#alloc(bh);
    // dhNext: the gradient flowing into h_t from the steps after t (dhLast at t = T − 1).
    const dhNext = this.#alloc(bh);
    if (dhLast) dhNext.set(cpuData(dhLast));
    // The recurrent gradients (· Uᵀ, · [U_z U_r]ᵀ, · U_hᵀ), the transposes packed once.
    const backU = dGu ? stepRhs(u, g3, H, true, steps) : undefined;
    const backZr = dGu ? undefined : stepRhs(uzr, 2 * H, H, true, steps);
    const backH = dGu ? undefined : stepRhs(uh, H, H, true, steps);
    try {
      for (let t = steps - 1; t >= 0; t--) {
        const o = t * batch * g3;
        for (let b = 0; b < batch; b++) {
          for (let j = 0; j < H; j++) {
            const gi = o + b * g3 + j, si = b * H + j, hi = t * bh + si;
            const z = gates[gi], r = gates[gi + H], n = gates[gi + 2 * H], hp = hPrev[hi];
            const dhv = dH[hi] + dhNext[si];
            const dz = dhv * (hp - n) * z * (1 - z);
            const da = dhv * (1 - z) * (1 - n * n);
            dG[gi] = dz;
            dG[gi + 2 * H] = da;
            if (dGu) {
              const dr = da * reset[hi] * r * (1 - r);
              dG[gi + H] = dr;
              dGu[gi] = dz;
              dGu[gi + H] = dr;
              dGu[gi + 2 * H] = da * r;
            } else {
              dGzr![(t * batch + b) * 2 * H + j] = dz;
              dGh![hi] = da;
            }
            // Now the gradient with respect to the masked h_{t−1}, starting with its direct path.
            dhNext[si] = dhv * z;
          }
        }
        if (dGu) {
          backU!.multiply(dGu.subarray(o, o + batch * g3), dhNext, batch, true);
        } else {
          // The reset gate's gradient needs d(r ⊙ h) = dG_h · U_hᵀ first.
          backH!.multiply(dGh!.subarray(t * bh, (t + 1) * bh), q, batch);
          for (let b = 0; b < batch; b++) {
            for (let j = 0; j < H; j++) {
              const gi = o + b * g3 + j, si = b * H + j;
              const r = gates[gi + H];
              const dr = q[si] * hPrev[t * bh + si] * r * (1 - r);
              dG[gi + H] = dr;
              dGzr![(t * batch + b) * 2 * H + H + j] = dr;
              dhNext[si] += q[si] * r;
            }
          }
          const zr = dGzr!.subarray(t * batch * 2 * H, (t + 1) * batch * 2 * H);
          backZr!.multiply(zr, dhNext, batch, true);
        }
        if (mask) scaleRows(dhNext, mask.subarray(t * batch, (t + 1) * batch), H);
      }
    } finally {
      backU?.dispose();
      backZr?.dispose();
      backH?.dispose();
    }
    // Weight gradients as large matmuls over all steps at once.
    const xd = cpuData(cache.x);
    const dx = this.#new([steps, batch, inputs]);
    const dw = this.#new([inputs, g3]);
    const du = this.#new([H, g3]);
    const dbw = this.#new([g3]);
    const dbu = this.#new([g3]);
    matmulInto(xd, dG, dw.data, inputs, g3, rows, true, false);
    sumRowsInto(dG, dbw.data, rows, g3);
    matmulInto(dG, w, dx.data, rows, inputs, g3, false, true);
    if (dGu) {
      matmulInto(hPrev, dGu, du.data, H, g3, rows, true, false);
      sumRowsInto(dGu, dbu.data, rows, g3);
    } else {
      const duzr = this.#alloc(H * 2 * H), duh = this.#alloc(H * H);
      matmulInto(hPrev, dGzr!, duzr, H, 2 * H, rows, true, false);
      matmulInto(reset, dGh!, duh, H, H, rows, true, false);
      for (let k = 0; k < H; k++) {
        du.data.set(duzr.subarray(k * 2 * H, (k + 1) * 2 * H), k * g3);
        du.data.set(duh.subarray(k * H, (k + 1) * H), k * g3 + 2 * H);
      }
      // bu enters every pre-activation exactly where bw does.
      dbu.data.set(dbw.data);
    }
    return { dx, dw, du, dbw, dbu, dh0: this.#wrap(dhNext, [batch, H]) };
  }

  /** Disposes the tensors the cache owns (not `x` or `mask`, which it borrows). */
  disposeGruCache(cache: GruCache): void {
    for (const t of [cache.hPrev, cache.gates, cache.reset]) this.dispose(t);
  }

  /** Row argmax, lowest index on ties. */
  argmaxRows(q: Tensor): CpuTensor {
    const [rows, cols] = matrixDims(q, "the Q-values");
    const d = cpuData(q);
    const out = this.#new([rows]);
    for (let r = 0; r < rows; r++) out.data[r] = argmaxRow(d, r * cols, cols);
    return out;
  }

  /**
   * Epsilon-greedy actions. Row b explores when `counterUniform(seed, counter, 2b) < epsilon`,
   * and then takes action `floor(counterUniform(seed, counter, 2b + 1) · A)`.
   */
  epsilonGreedy(q: Tensor, epsilon: number, seed: number, counter: number): CpuTensor {
    const [rows, cols] = matrixDims(q, "the Q-values");
    const d = cpuData(q);
    const out = this.#new([rows]);
    for (let r = 0; r < rows; r++) {
      out.data[r] = counterUniform(seed, counter, 2 * r) < epsilon
        ? Math.min(cols - 1, Math.floor(counterUniform(seed, counter, 2 * r + 1) * cols))
        : argmaxRow(d, r * cols, cols);
    }
    return out;
  }

  /** Inversion sampling, the running sum rounded to float32 as the GPU adds. */
  sampleRows(probs: Tensor, seed: number, counter: number): CpuTensor {
    const [rows, cols] = matrixDims(probs, "the probabilities");
    const d = cpuData(probs);
    const out = this.#new([rows]);
    for (let r = 0; r < rows; r++) {
      const u = counterUniform(seed, counter, r), o = r * cols;
      let last = 0;
      for (let a = 0; a < cols; a++) if (d[o + a] > 0) last = a;
      let pick = last, total = 0;
      for (let a = 0; a < cols; a++) {
        total = Math.fround(total + d[o + a]);
        if (u < total) {
          pick = a;
          break;
        }
      }
      out.data[r] = pick;
    }
    return out;
  }

  /** Box–Muller on the counter-based hash (see the interface), in float64, rounded. */
  gaussianNoise(count: number, seed: number, counter: number): CpuTensor {
    expectCount(count, "gaussianNoise");
    const out = this.#new([count]);
    for (let i = 0; i < count; i++) {
      const u1 = (counterBits(seed, counter, 2 * i) + 1) / 16777216;
      const u2 = counterBits(seed, counter, 2 * i + 1) / 16777216;
      out.data[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return out;
  }

  /** `q[b, actions[b]]`. */
  gatherRows(q: Tensor, actions: Tensor): CpuTensor {
    const [rows, cols] = matrixDims(q, "the Q-values");
    expectShape(actions, [rows], "the actions");
    const d = cpuData(q), a = cpuData(actions);
    const out = this.#new([rows]);
    for (let r = 0; r < rows; r++) out.data[r] = d[r * cols + checkAction(a[r], cols)];
    return out;
  }

  /** Scatters `values[b]` into column `actions[b]` of a zero matrix. */
  scatterRows(values: Tensor, actions: Tensor, actionCount: number): CpuTensor {
    const rows = values.size;
    expectShape(actions, [rows], "the actions");
    const v = cpuData(values), a = cpuData(actions);
    const out = this.#new([rows, actionCount]);
    for (let r = 0; r < rows; r++) {
      out.data[r * actionCount + checkAction(a[r], actionCount)] = v[r];
    }
    return out;
  }

  /** The (double) DQN target. */
  dqnTarget(
    qSelect: Tensor,
    qTarget: Tensor,
    rewards: Tensor,
    terminated: Tensor,
    gamma: number,
  ): CpuTensor {
    const [rows, cols] = matrixDims(qSelect, "the selecting Q-values");
    expectShape(qTarget, [rows, cols], "the target Q-values");
    expectShape(rewards, [rows], "the rewards");
    expectShape(terminated, [rows], "the terminated flags");
    const sel = cpuData(qSelect), tgt = cpuData(qTarget);
    const r = cpuData(rewards), done = cpuData(terminated);
    const out = this.#new([rows]);
    for (let b = 0; b < rows; b++) {
      const best = argmaxRow(sel, b * cols, cols);
      out.data[b] = r[b] + gamma * (1 - done[b]) * tgt[b * cols + best];
    }
    return out;
  }

  /** Row softmax. */
  softmaxRows(logits: Tensor): CpuTensor {
    const [rows, cols] = matrixDims(logits, "the logits");
    const x = cpuData(logits);
    const out = this.#new([rows, cols]);
    softmaxInto(x, out.data, rows, cols);
    return out;
  }

  /** Row log-softmax, the row maximum subtracted first. */
  logSoftmaxRows(logits: Tensor): CpuTensor {
    const [rows, cols] = matrixDims(logits, "the logits");
    const x = cpuData(logits);
    const out = this.#new([rows, cols]);
    const o = out.data;
    for (let r = 0; r < rows; r++) {
      const row = r * cols;
      let max = -Infinity;
      for (let j = 0; j < cols; j++) max = Math.max(max, x[row + j]);
      let total = 0;
      for (let j = 0; j < cols; j++) total += Math.exp(x[row + j] - max);
      const logTotal = Math.log(total);
      for (let j = 0; j < cols; j++) o[row + j] = x[row + j] - max - logTotal;
    }
    return out;
  }

  /** The policy-gradient loss with an entropy bonus, and its gradient. */
  policyLoss(logits: Tensor, actions: Tensor, weights: Tensor, entropyCoef: number): LossResult {
    const [rows, cols] = matrixDims(logits, "the logits");
    expectShape(actions, [rows], "the actions");
    expectShape(weights, [rows], "the policy-gradient weights");
    const x = cpuData(logits), a = cpuData(actions), w = cpuData(weights);
    const grad = this.#new([rows, cols]);
    const p = grad.data;
    softmaxInto(x, p, rows, cols);
    let loss = 0;
    for (let r = 0; r < rows; r++) {
      const row = r * cols;
      const action = checkAction(a[r], cols);
      // H = −Σ p log p; dH/dz_j = −p_j (log p_j + H).
      let entropy = 0;
      for (let j = 0; j < cols; j++) {
        const pj = p[row + j];
        if (pj > 0) entropy -= pj * Math.log(pj);
      }
      loss += -w[r] * Math.log(Math.max(p[row + action], 1e-30)) - entropyCoef * entropy;
      for (let j = 0; j < cols; j++) {
        const pj = p[row + j];
        const logp = pj > 0 ? Math.log(pj) : 0;
        const dLogPi = (j === action ? 1 : 0) - pj;
        p[row + j] = (-w[r] * dLogPi + entropyCoef * pj * (logp + entropy)) / rows;
      }
    }
    return { loss: this.tensor([loss / rows], [1]), grad };
  }

  /** Mean squared error and its gradient. */
  mseLoss(prediction: Tensor, target: Tensor): LossResult {
    expectSameSize(prediction, target, "compute the squared error");
    const p = cpuData(prediction), t = cpuData(target);
    const grad = this.#new(prediction.shape);
    const n = p.length;
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const d = p[i] - t[i];
      loss += d * d;
      grad.data[i] = (2 * d) / n;
    }
    return { loss: this.tensor([n ? loss / n : 0], [1]), grad };
  }

  /** Mean Huber loss and its gradient. */
  huberLoss(prediction: Tensor, target: Tensor, delta: number): LossResult {
    expectSameSize(prediction, target, "compute the Huber loss");
    if (!(delta > 0)) throw new RangeError(`Cannot compute the Huber loss: delta is ${delta}`);
    const p = cpuData(prediction), t = cpuData(target);
    const grad = this.#new(prediction.shape);
    const n = p.length;
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const d = p[i] - t[i];
      const ad = Math.abs(d);
      if (ad <= delta) {
        loss += 0.5 * d * d;
        grad.data[i] = d / n;
      } else {
        loss += delta * (ad - 0.5 * delta);
        grad.data[i] = (d > 0 ? delta : -delta) / n;
      }
    }
    return { loss: this.tensor([n ? loss / n : 0], [1]), grad };
  }

  /** One fused Adam update of every parameter, in place. */
  adamStep(params: Tensor[], grads: Tensor[], m: Tensor[], v: Tensor[], step: AdamStep): void {
    const { lr, beta1, beta2, epsilon } = step;
    const correction1 = 1 - Math.pow(beta1, step.step);
    const correction2 = 1 - Math.pow(beta2, step.step);
    const stepSize = lr / correction1;
    expectLists("apply Adam", params, grads, m, v);
    for (let k = 0; k < params.length; k++) {
      const p = cpuData(params[k]), g = cpuData(grads[k]);
      const md = cpuData(m[k]), vd = cpuData(v[k]);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const mi = beta1 * md[i] + (1 - beta1) * gi;
        const vi = beta2 * vd[i] + (1 - beta2) * gi * gi;
        md[i] = mi;
        vd[i] = vi;
        p[i] -= (stepSize * mi) / (Math.sqrt(vi / correction2) + epsilon);
      }
    }
  }

  /** One RMSprop update in place. */
  rmspropStep(params: Tensor[], grads: Tensor[], meanSquare: Tensor[], step: RmspropStep): void {
    const { lr, rho, epsilon } = step;
    expectLists("apply RMSprop", params, grads, meanSquare);
    for (let k = 0; k < params.length; k++) {
      const p = cpuData(params[k]), g = cpuData(grads[k]), s = cpuData(meanSquare[k]);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const si = rho * s[i] + (1 - rho) * gi * gi;
        s[i] = si;
        p[i] -= (lr * gi) / (Math.sqrt(si) + epsilon);
      }
    }
  }

  /** `p -= lr * g`, in place. */
  sgdStep(params: Tensor[], grads: Tensor[], lr: number): void {
    expectLists("apply SGD", params, grads);
    for (let k = 0; k < params.length; k++) this.axpyInPlace(params[k], grads[k], -lr);
  }

  /** Clips gradients by their global norm; returns the norm before clipping. */
  clipByGlobalNorm(grads: Tensor[], maxNorm: number): CpuTensor {
    if (!(maxNorm > 0)) throw new RangeError(`Cannot clip gradients: maxNorm is ${maxNorm}`);
    let squares = 0;
    for (const g of grads) {
      const d = cpuData(g);
      for (let i = 0; i < d.length; i++) squares += d[i] * d[i];
    }
    const norm = Math.sqrt(squares);
    if (norm > maxNorm) {
      const factor = maxNorm / norm;
      for (const g of grads) {
        const d = cpuData(g);
        for (let i = 0; i < d.length; i++) d[i] *= factor;
      }
    }
    return this.tensor([norm], [1]);
  }

  /** Steps CartPole copies with `stepCartPoleF32`. */
  cartPoleStep(state: Tensor, actions: Tensor, params: CartPoleStepParams): CartPoleStepTensors {
    const n = actions.size, size = params.maskVelocity ? 2 : 4;
    expectShape(state, [n, CARTPOLE_STATE_SIZE], "the CartPole state");
    const out = this.#stepInFloat32(state, (s) => stepCartPoleF32(s, cpuData(actions), params));
    return {
      observations: this.#fromFloat32(out.observations, [n, size]),
      terminated: this.#fromFloat32(out.terminated, [n]),
      truncated: this.#fromFloat32(out.truncated, [n]),
      finalObservations: this.#fromFloat32(out.finalObservations, [n, size]),
    };
  }

  /** Steps Pendulum copies with `stepPendulumF32`. */
  pendulumStep(state: Tensor, torques: Tensor, params: PendulumStepParams): PendulumStepTensors {
    const n = torques.size, size = params.maskVelocity ? 2 : 3;
    expectShape(state, [n, PENDULUM_STATE_SIZE], "the Pendulum state");
    const out = this.#stepInFloat32(state, (s) => stepPendulumF32(s, cpuData(torques), params));
    return {
      observations: this.#fromFloat32(out.observations, [n, size]),
      rewards: this.#fromFloat32(out.rewards, [n]),
      truncated: this.#fromFloat32(out.truncated, [n]),
      finalObservations: this.#fromFloat32(out.finalObservations, [n, size]),
    };
  }

  /** Steps card-game copies with `stepCardGameF32`. */
  cardGameStep(state: Tensor, actions: Tensor, params: CardGameStepParams): CardGameStepTensors {
    const n = actions.size, size = cardObservationSize(params);
    expectShape(state, [n, cardStateSize(params)], `the ${params.game} state`);
    const out = this.#stepInFloat32(state, (s) => stepCardGameF32(s, cpuData(actions), params));
    return {
      observations: this.#fromFloat32(out.observations, [n, size]),
      rewards: this.#fromFloat32(out.rewards, [n]),
      terminated: this.#fromFloat32(out.terminated, [n]),
      finalObservations: this.#fromFloat32(out.finalObservations, [n, size]),
    };
  }

  /** Runs a float32 environment step on `state` in place (a float64 state goes through a copy). */
  #stepInFloat32<T>(state: Tensor, step: (state: Float32Array) => T): T {
    const data = cpuData(state);
    if (data instanceof Float32Array) return step(data);
    const single = Float32Array.from(data);
    const out = step(single);
    data.set(single);
    return out;
  }

  /** A tensor over a fresh float32 array: wrapped as it is in float32, copied in float64. */
  #fromFloat32(data: Float32Array, shape: readonly number[]): CpuTensor {
    return this.precision === "float32" ? this.#wrap(data, shape) : this.tensor(data, shape);
  }
}

/**
 * C = op(A)·op(B) (+ C), then + bias on every row and ReLU (float32 only: a float64 `relu` is an
 * error), dispatching float32 to the tuned kernel and float64 to a plain loop.
 */
function matmulInto(
  a: FloatArray,
  b: FloatArray,
  c: FloatArray,
  m: number,
  n: number,
  k: number,
  transposeA = false,
  transposeB = false,
  accumulate = false,
  bias?: FloatArray,
  relu = false,
): void {
  if (
    a instanceof Float32Array && b instanceof Float32Array && c instanceof Float32Array &&
    (bias === undefined || bias instanceof Float32Array)
  ) {
    gemm(a, b, c, m, n, k, { transposeA, transposeB, accumulate, bias, relu });
    return;
  }
  if (relu) throw new TypeError("Cannot apply ReLU in matmulInto off the float32 path");
  if (!accumulate) c.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = transposeA ? a[p * m + i] : a[i * k + p];
      if (aip === 0) continue;
      const row = i * n;
      if (transposeB) { for (let j = 0; j < n; j++) c[row + j] += aip * b[j * k + p]; }
      else for (let j = 0, bp = p * n; j < n; j++) c[row + j] += aip * b[bp + j];
    }
  }
  if (bias) addRows(c, bias, m, n);
}

/**
 * A right-hand operand op(B) `[k, n]` that the steps of one sequence all multiply by (a recurrent
 * weight matrix, or its transpose): float32 packs it once (`packRhs`), for the bits of
 * `matmulInto` at every step; float64 runs `matmulInto` itself.
 */
interface StepRhs {
  /** C[m×n] = A[m×k]·op(B) (+ C when accumulating). */
  multiply(a: FloatArray, c: FloatArray, m: number, accumulate?: boolean): void;
  /** Frees what packing took. */
  dispose(): void;
}

let packRecurrent = true;

/**
 * Turns the packing of recurrent weights on or off (on by default), for tests and benches: off,
 * every step of `lstmForward`, `lstmBackward`, `gruForward` and `gruBackward` runs a plain
 * `gemm`, as before packing existed. Both give the same bits. Not exported from the package.
 *
 * @param on Whether to pack from now on.
 * @returns Whether packing was on before.
 */
export function setRecurrentPacking(on: boolean): boolean {
  const before = packRecurrent;
  packRecurrent = on;
  return before;
}

/**
 * The {@linkcode StepRhs} for B `[k, n]` (`[n, k]` when transposeB), packed only when the
 * sequence has more than one step.
 */
function stepRhs(
  b: FloatArray,
  k: number,
  n: number,
  transposeB: boolean,
  steps: number,
): StepRhs {
  if (b instanceof Float32Array && steps > 1 && packRecurrent) {
    const packed = packRhs(b, k, n, { transposeB });
    return {
      multiply: (a, c, m, accumulate = false) => {
        if (a instanceof Float32Array && c instanceof Float32Array) {
          packed.multiply(a, c, m, { accumulate });
        } else matmulInto(a, b, c, m, n, k, false, transposeB, accumulate);
      },
      dispose: () => packed.dispose(),
    };
  }
  return {
    multiply: (a, c, m, accumulate = false) =>
      matmulInto(a, b, c, m, n, k, false, transposeB, accumulate),
    dispose: () => {},
  };
}

/**
 * The loop over the steps of `lstmForward` on the wasm path, keeping the sequence in the gemm
 * module's memory (`wasm/lstm_wasm.ts`): float32 on the wasm activation path, with packing on
 * and more than one step. Same bits as the loop.
 *
 * @returns False, having changed nothing, where it does not run.
 */
function lstmForwardWasm(
  u: FloatArray,
  z: FloatArray,
  h0: FloatArray,
  mask: FloatArray | undefined,
  hPrev: FloatArray,
  cPrev: FloatArray,
  cTanh: FloatArray,
  h: FloatArray,
  cell: FloatArray,
  steps: number,
  batch: number,
  hidden: number,
): boolean {
  const f32 = [u, z, h0, hPrev, cPrev, cTanh, h, cell].every((x) => x instanceof Float32Array);
  return f32 && packRecurrent && steps > 1 && f32ActivationPath() === "wasm" &&
    (mask === undefined || mask instanceof Float32Array) &&
    runWasmLstmForward(
      u as Float32Array,
      z as Float32Array,
      h0 as Float32Array,
      mask,
      hPrev as Float32Array,
      cPrev as Float32Array,
      cTanh as Float32Array,
      h as Float32Array,
      cell as Float32Array,
      steps,
      batch,
      hidden,
    );
}

/**
 * The recurrent half of `lstmBackward` (the loop over the steps) on the wasm path, keeping the
 * sequence in the gemm module's memory (`wasm/lstm_wasm.ts`), and then the weight gradients
 * from the gate gradients there: float32 only, with packing on and more than one step. Same bits
 * as the loop and the products after it.
 *
 * @returns "all" when `grads` holds the weight gradients, "dGates" when `dGates` holds the gate
 *   gradients for the caller's products, false (having changed nothing) where it does not run.
 */
function lstmBackwardWasm(
  u: FloatArray,
  gates: FloatArray,
  cPrev: FloatArray,
  cTanh: FloatArray,
  dH: FloatArray,
  mask: FloatArray | undefined,
  dhNext: FloatArray,
  dcNext: FloatArray,
  dGates: FloatArray,
  steps: number,
  batch: number,
  hidden: number,
  grads: Record<"x" | "hPrev" | "w" | "dw" | "du" | "db" | "dx", FloatArray> & { inputs: number },
): "all" | "dGates" | false {
  const arrays = [u, gates, cPrev, cTanh, dH, dhNext, dcNext, dGates];
  const f32 = [...arrays, grads.x, grads.hPrev, grads.w, grads.dw, grads.du, grads.db, grads.dx]
    .every((x) => x instanceof Float32Array);
  return f32 && packRecurrent && steps > 1 &&
    (mask === undefined || mask instanceof Float32Array) &&
    runWasmLstmBackward(
      u as Float32Array,
      gates as Float32Array,
      cPrev as Float32Array,
      cTanh as Float32Array,
      dH as Float32Array,
      mask,
      dhNext as Float32Array,
      dcNext as Float32Array,
      dGates as Float32Array,
      steps,
      batch,
      hidden,
      grads as LstmWeightGradients,
    );
}

/**
 * `o[i] = y[i] > 0 ? g[i] : 0` for float32 `g` and `o`, without a branch (the signs of y are
 * unpredictable): g's bits masked with all ones or all zeros.
 */
function reluGradF32(y: FloatArray, g: Float32Array, o: Float32Array): void {
  const gb = new Int32Array(g.buffer, g.byteOffset, g.length);
  const ob = new Int32Array(o.buffer, o.byteOffset, o.length);
  for (let i = 0; i < ob.length; i++) ob[i] = gb[i] & -(y[i] > 0);
}

/** Adds `bias` `[n]` to every row of `x` `[m, n]`, in place. */
function addRows(x: FloatArray, bias: FloatArray, m: number, n: number): void {
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) x[row + j] += bias[j];
  }
}

/** Multiplies row b of `x` `[B, width]` by `scale[b]`, in place. */
function scaleRows(x: FloatArray, scale: FloatArray, width: number): void {
  for (let b = 0; b < scale.length; b++) {
    const keep = scale[b];
    if (keep === 1) continue;
    for (let j = b * width; j < (b + 1) * width; j++) x[j] *= keep;
  }
}

/** A contiguous copy of columns `start .. start + width` of `x` `[rows, cols]`. */
function columns(
  x: FloatArray,
  rows: number,
  cols: number,
  start: number,
  width: number,
): FloatArray {
  const out = x instanceof Float64Array
    ? new Float64Array(rows * width)
    : new Float32Array(rows * width);
  for (let i = 0; i < rows; i++) {
    out.set(x.subarray(i * cols + start, i * cols + start + width), i * width);
  }
  return out;
}

function sumRowsInto(x: FloatArray, out: FloatArray, m: number, n: number): void {
  if (x instanceof Float32Array && out instanceof Float32Array && out.length === n) {
    sumRows(x, out, m, n);
    return;
  }
  out.fill(0);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) out[j] += x[row + j];
  }
}

function activateInPlace(x: FloatArray, activation: Activation): void {
  switch (activation) {
    case "linear":
      return;
    case "relu":
      for (let i = 0; i < x.length; i++) if (x[i] < 0) x[i] = 0;
      return;
    case "tanh":
      if (f32Activations(x)) tanhInPlace(x);
      else for (let i = 0; i < x.length; i++) x[i] = Math.tanh(x[i]);
      return;
    case "sigmoid":
      if (f32Activations(x)) sigmoidInPlace(x);
      else for (let i = 0; i < x.length; i++) x[i] = sigmoid(x[i]);
      return;
    default:
      throw new RangeError(`Cannot apply activation "${activation}"`);
  }
}

/**
 * The fused LSTM cell for one step: `z` holds the gate pre-activations [B, 4H] and is overwritten
 * with the activated gates; `cell` holds c_{t−1} masked on entry (also in `cPrev`) and c_t on exit.
 * Float32 tensors go through `lstmCellF32` (float32 arithmetic throughout); float64 tensors
 * through the double-precision loop below.
 */
function lstmGatesForward(
  z: FloatArray,
  cPrev: FloatArray,
  cell: FloatArray,
  cTanh: FloatArray,
  h: FloatArray,
  batch: number,
  hidden: number,
): void {
  if (
    f32Activations(z) && cPrev instanceof Float32Array && cell instanceof Float32Array &&
    cTanh instanceof Float32Array && h instanceof Float32Array
  ) {
    lstmCellF32(z, cPrev, cell, cTanh, h, batch, hidden);
    return;
  }
  const g4 = 4 * hidden;
  for (let b = 0; b < batch; b++) {
    const zr = b * g4;
    const sr = b * hidden;
    for (let j = 0; j < hidden; j++) {
      const i = sigmoid(z[zr + j]);
      const f = sigmoid(z[zr + hidden + j]);
      const g = Math.tanh(z[zr + 2 * hidden + j]);
      const o = sigmoid(z[zr + 3 * hidden + j]);
      z[zr + j] = i;
      z[zr + hidden + j] = f;
      z[zr + 2 * hidden + j] = g;
      z[zr + 3 * hidden + j] = o;
      const c = f * cPrev[sr + j] + i * g;
      cell[sr + j] = c;
      // Read back the stored values so backward sees exactly what forward used.
      const ct = Math.tanh(cell[sr + j]);
      cTanh[sr + j] = ct;
      h[sr + j] = o * cTanh[sr + j];
    }
  }
}

/**
 * The gate math of one GRU step on float32 tensors (the loop of `gruForward` for float64, with
 * the same formulas): the z and r pre-activations are summed and stored first, then σ is applied
 * to each row's contiguous block of 2H, then the candidate's pre-activation is summed from the
 * stored r and stored, tanh applied to its block of H, and h computed from the stored gates. With
 * `linearBeforeReset` the recurrent matmul (`rec`, [B, 3H]) is computed here; without it, `rec`
 * ([B, 2H] then [B, H]) takes `[U_z U_r]·h` and then `U_h·(r ⊙ h)`.
 */
function gruGatesF32(
  gt: Float32Array,
  hp: FloatArray,
  rec: FloatArray,
  bu: FloatArray,
  rt: FloatArray,
  ht: FloatArray,
  batch: number,
  H: number,
  recZr: StepRhs,
  recH: StepRhs | undefined,
): void {
  const g3 = 3 * H;
  const linearBeforeReset = recH === undefined;
  const rw = linearBeforeReset ? g3 : 2 * H; // row width of rec for the z and r gates
  recZr.multiply(hp, rec, batch);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < H; j++) {
      const gi = b * g3 + j, ri = b * rw + j;
      gt[gi] = gt[gi] + rec[ri] + bu[j];
      gt[gi + H] = gt[gi + H] + rec[ri + H] + bu[H + j];
    }
  }
  activateRows("sigmoid", gt, 0, batch, 2 * H, g3);
  if (linearBeforeReset) {
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < H; j++) {
        const gi = b * g3 + j, si = b * H + j;
        rt[si] = rec[gi + 2 * H] + bu[2 * H + j];
        // Read back the stored values so backward sees exactly what forward used.
        gt[gi + 2 * H] = gt[gi + 2 * H] + gt[gi + H] * rt[si];
      }
    }
  } else {
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < H; j++) rt[b * H + j] = gt[b * g3 + H + j] * hp[b * H + j];
    }
    recH.multiply(rt, rec, batch);
    for (let b = 0; b < batch; b++) {
      for (let j = 0; j < H; j++) {
        const gi = b * g3 + j;
        gt[gi + 2 * H] = gt[gi + 2 * H] + rec[b * H + j] + bu[2 * H + j];
      }
    }
  }
  activateRows("tanh", gt, 2 * H, batch, H, g3);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < H; j++) {
      const gi = b * g3 + j, si = b * H + j;
      ht[si] = (1 - gt[gi]) * gt[gi + 2 * H] + gt[gi] * hp[si];
    }
  }
}

/**
 * The fused LSTM cell backward for one step. On entry `dhNext`/`dcNext` hold the gradients flowing
 * back from step t+1 into h_t and c_t; on exit `dcNext` holds the gradient with respect to the
 * masked c_{t−1}, and `dGates` the gradient with respect to the gate pre-activations.
 */
function lstmGatesBackward(
  gates: FloatArray,
  cPrev: FloatArray,
  cTanh: FloatArray,
  dH: FloatArray,
  dhNext: FloatArray,
  dcNext: FloatArray,
  dGates: FloatArray,
  batch: number,
  hidden: number,
): void {
  const g4 = 4 * hidden;
  for (let b = 0; b < batch; b++) {
    const zr = b * g4;
    const sr = b * hidden;
    for (let j = 0; j < hidden; j++) {
      const i = gates[zr + j];
      const f = gates[zr + hidden + j];
      const g = gates[zr + 2 * hidden + j];
      const o = gates[zr + 3 * hidden + j];
      const ct = cTanh[sr + j];
      const dh = dH[sr + j] + dhNext[sr + j];
      const dc = dcNext[sr + j] + dh * o * (1 - ct * ct);
      dGates[zr + j] = dc * g * i * (1 - i);
      dGates[zr + hidden + j] = dc * cPrev[sr + j] * f * (1 - f);
      dGates[zr + 2 * hidden + j] = dc * i * (1 - g * g);
      dGates[zr + 3 * hidden + j] = dh * ct * o * (1 - o);
      dcNext[sr + j] = dc * f;
    }
  }
}

function argmaxRow(d: FloatArray, offset: number, cols: number): number {
  let best = 0;
  let bestValue = d[offset];
  for (let j = 1; j < cols; j++) {
    if (d[offset + j] > bestValue) {
      bestValue = d[offset + j];
      best = j;
    }
  }
  return best;
}

function softmaxInto(x: FloatArray, out: FloatArray, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const row = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[row + j]);
    let total = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(x[row + j] - max);
      out[row + j] = e;
      total += e;
    }
    for (let j = 0; j < cols; j++) out[row + j] /= total;
  }
}

function checkId(id: number, vocabulary: number, row: number, column: number): number {
  if (!(Number.isInteger(id) && id >= 0 && id < vocabulary)) {
    throw new RangeError(
      `Cannot look up embeddings: id ${id} (row ${row}, column ${column}) is not an integer in 0..${
        vocabulary - 1
      }`,
    );
  }
  return id;
}

function checkAction(a: number, count: number): number {
  if (!(Number.isInteger(a) && a >= 0 && a < count)) {
    throw new RangeError(`Cannot use action ${a}: expected an integer in 0..${count - 1}`);
  }
  return a;
}
