/**
 * The LSTM layer: a whole time-major sequence per call, with the state carried in and out.
 *
 * @module
 */

import type { Backend, LstmCache, LstmWeights, Tensor } from "../backend/backend.ts";
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

/** Options of {@linkcode LSTM}. */
export interface LstmOptions {
  /** The hidden size H. */
  units: number;
}

/**
 * A long short-term memory layer (Hochreiter and Schmidhuber, 1997, with forget gates).
 *
 * It maps `[T, B, I]` to `[T, B, H]`; its state is `[h, c]`, each `[B, H]`. For acting one step at
 * a time, pass `T = 1` and the state returned by the previous call. A mask `[T, B]` with 0 at step
 * t resets the carried state there, so sequences that cross episode boundaries train correctly.
 * Input weights start Glorot-uniform, recurrent weights orthogonal, and the bias at 0 except the
 * forget gate's at 1 (Jozefowicz et al., 2015). Gates are packed (i, f, g, o).
 *
 * @example
 * ```ts
 * import { createCpuBackend, LSTM, Sequential } from "@rnnrl/rnnrl";
 * const backend = createCpuBackend();
 * const model = new Sequential(backend, { inputSize: 2, layers: [new LSTM({ units: 8 })], seed: 3 });
 * let state = model.initialState(1);
 * for (let t = 0; t < 5; t++) {
 *   const step = model.forward(backend.tensor([t, -t], [1, 1, 2]), { state });
 *   state = step.state; // carried to the next step
 * }
 * ```
 */
export class LSTM implements Layer {
  /** LSTMs carry `[h, c]` across steps. */
  readonly recurrent: boolean = true;
  /** The hidden size. */
  readonly units: number;
  /** The hidden state h and the cell state c. */
  readonly stateNames: readonly string[] = ["h", "c"];
  /** `[units, units]`. */
  readonly stateSizes: readonly number[];
  #parameters: Parameter[] = [];
  #backend: Backend | null = null;
  #cache: LstmCache | null = null;
  #cacheHandles: Tensor[] = [];

  /** Describes the layer; {@linkcode Sequential} builds it. */
  constructor(options: LstmOptions) {
    if (!(Number.isInteger(options.units) && options.units >= 1)) {
      throw new RangeError(
        `Cannot make an LSTM layer: units must be a positive integer, got ${options.units}`,
      );
    }
    this.units = options.units;
    this.stateSizes = [this.units, this.units];
  }

  /** `w` `[I, 4H]`, `u` `[H, 4H]` and `b` `[4H]`, gates (i, f, g, o). */
  get parameters(): readonly Parameter[] {
    return this.#parameters;
  }

  /** The serialisable description. */
  get config(): LayerConfig {
    return { type: "lstm", units: this.units };
  }

  /** The weights as the backend's LSTM ops take them. */
  get weights(): LstmWeights {
    const [w, u, b] = this.#parameters;
    return { w: w.value, u: u.value, b: b.value };
  }

  /** Creates the parameters. */
  build(backend: Backend, inputSize: number, rng: Rng, prefix: string): void {
    const h = this.units;
    const bias = new Float32Array(4 * h);
    bias.fill(1, h, 2 * h); // forget gate
    this.#backend = backend;
    this.#parameters = [
      new Parameter(
        `${prefix}.w`,
        backend.tensor(glorotUniform(rng, inputSize, 4 * h), [inputSize, 4 * h]),
      ),
      new Parameter(`${prefix}.u`, backend.tensor(orthogonal(rng, h, 4 * h), [h, 4 * h])),
      new Parameter(`${prefix}.b`, backend.tensor(bias, [4 * h])),
    ];
  }

  /** Zero `[h, c]` for a batch. */
  initialState(batch: number): LayerState {
    const backend = this.#requireBuilt();
    return [backend.zeros([batch, this.units]), backend.zeros([batch, this.units])];
  }

  /** Runs the whole sequence. */
  forward(input: Tensor, state: LayerState | undefined, options: ForwardOptions): LayerForward {
    const backend = this.#requireBuilt();
    if (input.shape.length !== 3) {
      throw new TypeError(
        `Cannot run an LSTM layer: input must be [T, B, I], got [${input.shape.join(", ")}]`,
      );
    }
    const batch = input.shape[1];
    const initial = state ?? this.initialState(batch);
    if (initial.length !== 2) {
      throw new TypeError(
        `Cannot run an LSTM layer: state must be [h, c], got ${initial.length} tensors`,
      );
    }
    this.clearCache();
    // The cache borrows x and the mask; keep our own handles on them until backward.
    const x = options.training ? backend.reshape(input, input.shape) : input;
    const mask = options.training && options.mask
      ? backend.reshape(options.mask, options.mask.shape)
      : options.mask;
    const result = backend.lstmForward(x, initial[0], initial[1], this.weights, {
      mask,
      keepCache: options.training,
    });
    if (options.training && result.cache) {
      this.#cache = result.cache;
      this.#cacheHandles = mask ? [x, mask] : [x];
    }
    if (!state) initial.forEach((t) => backend.dispose(t));
    return { output: result.h, state: [result.hLast, result.cLast] };
  }

  /** Back-propagates through time; returns dx and the gradient of the initial `[h, c]`. */
  backward(dOutput: Tensor, dState?: LayerState): LayerBackward {
    const backend = this.#requireBuilt();
    if (!this.#cache) {
      throw new Error("Cannot run LSTM backward: no training forward pass to back-propagate");
    }
    const grads = backend.lstmBackward(
      this.#cache,
      this.weights,
      dOutput,
      dState?.[0],
      dState?.[1],
    );
    const [w, u, b] = this.#parameters;
    w.setGrad(backend, grads.dw);
    u.setGrad(backend, grads.du);
    b.setGrad(backend, grads.db);
    return { dInput: grads.dx, dState: [grads.dh0, grads.dc0] };
  }

  /** Releases the cached activations. */
  clearCache(): void {
    if (this.#backend && this.#cache) {
      this.#backend.disposeLstmCache(this.#cache);
      for (const t of this.#cacheHandles) this.#backend.dispose(t);
    }
    this.#cache = null;
    this.#cacheHandles = [];
  }

  #requireBuilt(): Backend {
    if (!this.#backend) throw new Error("Cannot use an LSTM layer before it is built");
    return this.#backend;
  }
}
