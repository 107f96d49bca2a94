/**
 * The GRU layer: a whole time-major sequence per call, with the state carried in and out.
 *
 * @module
 */

import type { Backend, GruCache, GruWeights, Tensor } from "../backend/backend.ts";
import type { Rng } from "../io/rng.ts";
import { glorotUniform, orthogonal } from "./init.ts";
import type {
  ForwardOptions,
  Layer,
  LayerBackward,
  LayerConfig,
  LayerForward,
  LayerState,
} from "./layer.ts";
import { Parameter } from "./parameter.ts";

/** Options of {@linkcode GRU}. */
export interface GruOptions {
  /** The hidden size H. */
  units: number;
  /**
   * Where the reset gate acts, as ONNX's `linear_before_reset` (default true). True:
   * `h̃ = tanh(x·W_h + bw_h + r ⊙ (h·U_h + bu_h))`, what PyTorch's `nn.GRU` and cuDNN compute
   * and what most RL code runs (one recurrent matmul per step). False:
   * `h̃ = tanh(x·W_h + bw_h + (r ⊙ h)·U_h + bu_h)`, the GRU of Cho et al. (2014), ONNX's
   * default and TensorFlow.js's only form (two recurrent matmuls per step, one after the other).
   */
  linearBeforeReset?: boolean;
}

/**
 * A gated recurrent unit layer (Cho et al., 2014), exactly as ONNX's `GRU` operator defines it
 * (one direction, sigmoid gates, tanh candidate):
 *
 *     z = σ(x·W_z + bw_z + h·U_z + bu_z)        update gate
 *     r = σ(x·W_r + bw_r + h·U_r + bu_r)        reset gate
 *     h̃ = tanh(x·W_h + bw_h + r ⊙ (h·U_h + bu_h))   (linearBeforeReset, the default)
 *     h' = (1 − z) ⊙ h̃ + z ⊙ h
 *
 * It maps `[T, B, I]` to `[T, B, H]`; its state is `[h]`, `[B, H]`. For acting one step at a
 * time, pass `T = 1` and the state returned by the previous call. A mask `[T, B]` with 0 at step
 * t resets the carried state there, so sequences that cross episode boundaries train correctly.
 * Gates are packed (z, r, h) as ONNX packs them; the input and recurrent biases are kept apart
 * because the reset gate scales the recurrent one. Input weights start Glorot-uniform, recurrent
 * weights orthogonal, biases at 0.
 *
 * @example
 * ```ts
 * import { createCpuBackend, Dense, GRU, Sequential } from "@rnnrl/rnnrl";
 * const backend = createCpuBackend();
 * const model = new Sequential(backend, {
 *   inputSize: 2,
 *   layers: [new GRU({ units: 8 }), new Dense({ units: 1 })],
 *   seed: 3,
 * });
 * let state = model.initialState(1);
 * for (let t = 0; t < 5; t++) {
 *   const step = model.forward(backend.tensor([t, -t], [1, 1, 2]), { state });
 *   model.disposeState(state);
 *   state = step.state; // carried to the next step
 * }
 * if (state[0]?.length !== 1) throw new Error("a GRU carries one state tensor, h");
 * ```
 */
export class GRU implements Layer {
  /** GRUs carry `[h]` across steps. */
  readonly recurrent: boolean = true;
  /** The hidden size. */
  readonly units: number;
  /** Where the reset gate acts (see {@linkcode GruOptions.linearBeforeReset}). */
  readonly linearBeforeReset: boolean;
  /** The hidden state h. */
  readonly stateNames: readonly string[] = ["h"];
  /** `[units]`. */
  readonly stateSizes: readonly number[];
  #parameters: Parameter[] = [];
  #backend: Backend | null = null;
  #cache: GruCache | null = null;
  #cacheHandles: Tensor[] = [];

  /** Describes the layer; {@linkcode Sequential} builds it. */
  constructor(options: GruOptions) {
    if (!(Number.isInteger(options.units) && options.units >= 1)) {
      throw new RangeError(
        `Cannot make a GRU layer: units must be a positive integer, got ${options.units}`,
      );
    }
    const linearBeforeReset = options.linearBeforeReset ?? true;
    if (typeof linearBeforeReset !== "boolean") {
      throw new TypeError(
        `Cannot make a GRU layer: linearBeforeReset must be a boolean, got ${linearBeforeReset}`,
      );
    }
    this.units = options.units;
    this.linearBeforeReset = linearBeforeReset;
    this.stateSizes = [this.units];
  }

  /** `w` `[I, 3H]`, `u` `[H, 3H]`, `bw` `[3H]` and `bu` `[3H]`, gates (z, r, h). */
  get parameters(): readonly Parameter[] {
    return this.#parameters;
  }

  /** The serialisable description. */
  get config(): LayerConfig {
    return { type: "gru", units: this.units, linearBeforeReset: this.linearBeforeReset };
  }

  /** The weights as the backend's GRU ops take them. */
  get weights(): GruWeights {
    const [w, u, bw, bu] = this.#parameters;
    return { w: w.value, u: u.value, bw: bw.value, bu: bu.value };
  }

  /** Creates the parameters. */
  build(backend: Backend, inputSize: number, rng: Rng, prefix: string): void {
    const h = this.units;
    this.#backend = backend;
    this.#parameters = [
      new Parameter(
        `${prefix}.w`,
        backend.tensor(glorotUniform(rng, inputSize, 3 * h), [inputSize, 3 * h]),
      ),
      new Parameter(`${prefix}.u`, backend.tensor(orthogonal(rng, h, 3 * h), [h, 3 * h])),
      new Parameter(`${prefix}.bw`, backend.zeros([3 * h])),
      new Parameter(`${prefix}.bu`, backend.zeros([3 * h])),
    ];
  }

  /** A zero `[h]` for a batch. */
  initialState(batch: number): LayerState {
    return [this.#requireBuilt().zeros([batch, this.units])];
  }

  /** Runs the whole sequence. */
  forward(input: Tensor, state: LayerState | undefined, options: ForwardOptions): LayerForward {
    const backend = this.#requireBuilt();
    if (input.shape.length !== 3) {
      throw new TypeError(
        `Cannot run a GRU layer: input must be [T, B, I], got [${input.shape.join(", ")}]`,
      );
    }
    const initial = state ?? this.initialState(input.shape[1]);
    if (initial.length !== 1) {
      throw new TypeError(
        `Cannot run a GRU layer: state must be [h], got ${initial.length} tensors`,
      );
    }
    this.clearCache();
    // The cache borrows x and the mask; keep our own handles on them until backward.
    const x = options.training ? backend.reshape(input, input.shape) : input;
    const mask = options.training && options.mask
      ? backend.reshape(options.mask, options.mask.shape)
      : options.mask;
    const result = backend.gruForward(x, initial[0], this.weights, {
      mask,
      keepCache: options.training,
      linearBeforeReset: this.linearBeforeReset,
    });
    if (options.training && result.cache) {
      this.#cache = result.cache;
      this.#cacheHandles = mask ? [x, mask] : [x];
    }
    if (!state) backend.dispose(initial[0]);
    return { output: result.h, state: [result.hLast] };
  }

  /** Back-propagates through time; returns dx and the gradient of the initial `[h]`. */
  backward(dOutput: Tensor, dState?: LayerState): LayerBackward {
    const backend = this.#requireBuilt();
    if (!this.#cache) {
      throw new Error("Cannot run GRU backward: no training forward pass to back-propagate");
    }
    const grads = backend.gruBackward(this.#cache, this.weights, dOutput, dState?.[0]);
    const [w, u, bw, bu] = this.#parameters;
    w.setGrad(backend, grads.dw);
    u.setGrad(backend, grads.du);
    bw.setGrad(backend, grads.dbw);
    bu.setGrad(backend, grads.dbu);
    return { dInput: grads.dx, dState: [grads.dh0] };
  }

  /** Releases the cached activations. */
  clearCache(): void {
    if (this.#backend && this.#cache) {
      this.#backend.disposeGruCache(this.#cache);
      for (const t of this.#cacheHandles) this.#backend.dispose(t);
    }
    this.#cache = null;
    this.#cacheHandles = [];
  }

  #requireBuilt(): Backend {
    if (!this.#backend) throw new Error("Cannot use a GRU layer before it is built");
    return this.#backend;
  }
}
