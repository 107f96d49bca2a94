/**
 * An embedding layer: integer ids → learned vectors, over the last axis.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { Rng } from "../io/rng.ts";
import type { ForwardOptions, Layer, LayerBackward, LayerConfig, LayerForward } from "./layer.ts";
import { Parameter } from "./parameter.ts";

/** Options of {@linkcode Embedding}. */
export interface EmbeddingOptions {
  /** The number of ids V: every id is a whole number in `0..V−1`. */
  vocabulary: number;
  /** The size E of each id's vector. */
  size: number;
  /**
   * How many leading input entries are ids (default: all of them). The entries after them are
   * features that pass through unchanged, after the ids' vectors: an observation of item ids
   * followed by their click flags feeds one Embedding.
   */
  ids?: number;
}

/**
 * A lookup table of V learned vectors of size E. Its input's last axis holds L ids as float
 * whole numbers (the first L entries; the rest pass through), and its output's last axis the L
 * vectors concatenated in the ids' order, then the passed-through entries: `[.., I]` →
 * `[.., L·E + I − L]`, for batches `[B, I]` and sequences `[T, B, I]` alike, so it can come first
 * in a {@linkcode Sequential} before Dense, LSTM or GRU layers. The table starts N(0, 1), as
 * PyTorch's `nn.Embedding` does. The backward pass gives the table the sum of its rows' uses
 * (a deterministic scatter-add on every backend) and the ids no gradient. An id outside
 * `0..V−1`, or not whole, is a RangeError on the CPU backend (the vocabulary check) and NaN on
 * WebGPU.
 *
 * @example
 * ```ts
 * import { createCpuBackend, Dense, Embedding, LSTM, Sequential } from "@rnnrl/rnnrl";
 * const model = new Sequential(createCpuBackend(), {
 *   inputSize: 6, // three item ids, then three click flags
 *   layers: [new Embedding({ vocabulary: 11, size: 4, ids: 3 }), new LSTM({ units: 8 }), new Dense({ units: 10 })],
 *   seed: 1,
 * });
 * if (model.layers[0].units !== 3 * 4 + 3) throw new Error("three vectors and three flags");
 * const x = model.backend.tensor([3, 0, 10, 1, 0, 1], [1, 1, 6]); // T = 1, B = 1
 * const { output, state } = model.forward(x);
 * if (output.shape[2] !== 10) throw new Error("ten outputs");
 * model.disposeState(state);
 * ```
 */
export class Embedding implements Layer {
  /** Embeddings carry no state. */
  readonly recurrent: boolean = false;
  /** No state. */
  readonly stateNames: readonly string[] = [];
  /** No state. */
  readonly stateSizes: readonly number[] = [];
  /** The vocabulary V. */
  readonly vocabulary: number;
  /** The vector size E. */
  readonly size: number;
  #ids: number | undefined;
  #inputSize = 0;
  #parameters: Parameter[] = [];
  #backend: Backend | null = null;
  #input: Tensor | null = null;

  /** Describes the layer; {@linkcode Sequential} builds it. */
  constructor(options: EmbeddingOptions) {
    for (const key of ["vocabulary", "size"] as const) {
      const value = options[key];
      if (!(Number.isSafeInteger(value) && value >= 1)) {
        throw new RangeError(
          `Cannot make an Embedding layer: ${key} must be a positive integer, got ${value}`,
        );
      }
    }
    if (options.ids !== undefined && !(Number.isSafeInteger(options.ids) && options.ids >= 1)) {
      throw new RangeError(
        `Cannot make an Embedding layer: ids must be a positive integer, got ${options.ids}`,
      );
    }
    this.vocabulary = options.vocabulary;
    this.size = options.size;
    this.#ids = options.ids;
  }

  /** The number of leading input entries that are ids (all of them until built, if not given). */
  get ids(): number {
    return this.#ids ?? this.#inputSize;
  }

  /** The output size, `ids·size + inputSize − ids`; valid after {@linkcode Embedding.build}. */
  get units(): number {
    return this.ids * this.size + this.#inputSize - this.ids;
  }

  /** The table `[vocabulary, size]`. */
  get parameters(): readonly Parameter[] {
    return this.#parameters;
  }

  /** The serialisable description. */
  get config(): LayerConfig {
    return { type: "embedding", vocabulary: this.vocabulary, size: this.size, ids: this.ids };
  }

  /** Creates the table, N(0, 1). */
  build(backend: Backend, inputSize: number, rng: Rng, prefix: string): void {
    const ids = this.#ids ?? inputSize;
    if (ids > inputSize) {
      throw new RangeError(
        `Cannot build an Embedding layer: ${ids} ids, but the input has ${inputSize} entries`,
      );
    }
    this.#backend = backend;
    this.#inputSize = inputSize;
    this.#ids = ids;
    const table = new Float32Array(this.vocabulary * this.size);
    for (let i = 0; i < table.length; i++) table[i] = rng.normal();
    this.#parameters = [
      new Parameter(`${prefix}.table`, backend.tensor(table, [this.vocabulary, this.size])),
    ];
  }

  /** Embeddings have no state. */
  initialState(_batch: number): undefined {
    return undefined;
  }

  /** Looks the ids up and appends the passed-through entries. */
  forward(input: Tensor, _state: undefined, options: ForwardOptions): LayerForward {
    const backend = this.#requireBuilt();
    const inputSize = this.#inputSize;
    if (input.shape[input.shape.length - 1] !== inputSize) {
      throw new TypeError(
        `Cannot apply an Embedding layer: expected ${inputSize} input entries, got shape [${
          input.shape.join(", ")
        }]`,
      );
    }
    const rows = input.size / inputSize;
    const x2 = backend.reshape(input, [rows, inputSize]);
    const y2 = backend.embeddingForward(x2, this.#parameters[0].value, this.ids);
    const output = backend.reshape(y2, [...input.shape.slice(0, -1), this.units]);
    backend.dispose(y2);
    this.clearCache();
    if (options.training) this.#input = x2; // the ids, for the scatter-add of backward
    else backend.dispose(x2);
    return { output };
  }

  /** Back-propagates: stores the table's gradient, returns the input's (0 at the ids). */
  backward(dOutput: Tensor): LayerBackward {
    const backend = this.#requireBuilt();
    if (!this.#input) {
      throw new Error("Cannot run Embedding backward: no training forward pass to back-propagate");
    }
    const rows = this.#input.shape[0];
    const dy2 = backend.reshape(dOutput, [rows, this.units]);
    const { dTable, dInput } = backend.embeddingBackward(
      this.#input,
      dy2,
      this.vocabulary,
      this.ids,
    );
    backend.dispose(dy2);
    this.#parameters[0].setGrad(backend, dTable);
    const shaped = backend.reshape(dInput, [...dOutput.shape.slice(0, -1), this.#inputSize]);
    backend.dispose(dInput);
    return { dInput: shaped };
  }

  /** Releases the cached input handle. */
  clearCache(): void {
    if (this.#backend && this.#input) this.#backend.dispose(this.#input);
    this.#input = null;
  }

  #requireBuilt(): Backend {
    if (!this.#backend) throw new Error("Cannot use an Embedding layer before it is built");
    return this.#backend;
  }
}
