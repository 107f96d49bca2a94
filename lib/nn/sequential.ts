/**
 * `Sequential`: layers applied one after another, with recurrent state threaded through.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import { Rng } from "../io/rng.ts";
import { Cellwise } from "./cellwise.ts";
import { Conv2D, MaxPool2D } from "./conv2d.ts";
import { Dense } from "./dense.ts";
import { Embedding } from "./embedding.ts";
import { GRU } from "./gru.ts";
import type { ImageShape, Layer, LayerConfig, LayerState } from "./layer.ts";
import { LSTM } from "./lstm.ts";
import { type NamedArray, type Parameter, readParameters, writeParameters } from "./parameter.ts";

/** The recurrent state of a whole model: one entry per layer, undefined for stateless layers. */
export type RecurrentState = (LayerState | undefined)[];

/** Options of {@linkcode Sequential}. */
export interface SequentialOptions {
  /** The size of the input's last axis. */
  inputSize: number;
  /** The layers, first to last. */
  layers: Layer[];
  /** Seed of the initial weights (default 0). */
  seed?: number;
}

/** Options of {@linkcode Sequential.forward}. */
export interface SequentialForwardOptions {
  /** The state to start from (default zeros); borrowed, not disposed. */
  state?: RecurrentState;
  /** `[T, B]` reset mask for recurrent layers: 0 resets the state before step t. */
  mask?: Tensor;
  /** Keep what backward needs (default false). */
  training?: boolean;
}

/** The result of {@linkcode Sequential.forward}. */
export interface SequentialForward {
  /** The last layer's output (owned by the caller). */
  output: Tensor;
  /** The final state (owned by the caller). */
  state: RecurrentState;
}

/** The serialisable description of a {@linkcode Sequential} model. */
export interface SequentialConfig {
  /** The size of the input's last axis. */
  inputSize: number;
  /** Each layer's description. */
  layers: LayerConfig[];
}

/**
 * A stack of layers. Feed-forward models take `[B, I]`; models with a recurrent layer take
 * time-major sequences `[T, B, I]` (Dense layers apply at every step). The state is a value
 * passed in and returned, never kept inside the model, so one model can serve many episodes.
 *
 * @example
 * ```ts
 * import { Adam, createCpuBackend, Dense, LSTM, Sequential } from "@rnnrl/rnnrl";
 * const backend = createCpuBackend();
 * const model = new Sequential(backend, {
 *   inputSize: 3,
 *   layers: [new LSTM({ units: 16 }), new Dense({ units: 1 })],
 *   seed: 7,
 * });
 * const optimizer = new Adam({ learningRate: 0.01 });
 * const x = backend.tensor(new Float32Array(5 * 2 * 3).fill(0.5), [5, 2, 3]); // T=5, B=2
 * const target = backend.zeros([5, 2, 1]);
 * const { output } = model.forward(x, { training: true });
 * const { loss, grad } = backend.mseLoss(output, target);
 * model.backward(grad);
 * optimizer.step(model);
 * console.log("loss", (await backend.read(loss))[0]);
 * ```
 */
export class Sequential {
  /** The backend holding the parameters. */
  readonly backend: Backend;
  /** The layers, first to last. */
  readonly layers: readonly Layer[];
  /** The size of the input's last axis. */
  readonly inputSize: number;
  /** The size of the output's last axis. */
  readonly outputSize: number;

  /** Builds every layer, drawing initial weights from a generator seeded with `seed`. */
  constructor(backend: Backend, options: SequentialOptions) {
    if (!(Number.isInteger(options.inputSize) && options.inputSize >= 1)) {
      throw new RangeError(
        `Cannot build a model: inputSize must be a positive integer, got ${options.inputSize}`,
      );
    }
    if (options.layers.length === 0) throw new RangeError("Cannot build a model: it has no layers");
    this.backend = backend;
    this.layers = [...options.layers];
    this.inputSize = options.inputSize;
    const rng = new Rng(options.seed ?? 0);
    let size = options.inputSize;
    let image: ImageShape | undefined;
    this.layers.forEach((layer, i) => {
      layer.build(backend, size, rng, `layers.${i}`, image);
      size = layer.units;
      image = layer.outputImage;
    });
    this.outputSize = size;
  }

  /** Rebuilds a model from its description (weights are freshly initialised; load them after). */
  static fromConfig(backend: Backend, config: SequentialConfig, seed: number = 0): Sequential {
    const layers = config.layers.map((c): Layer => {
      switch (c.type) {
        case "dense":
          return new Dense({ units: c.units, activation: c.activation as Dense["activation"] });
        case "lstm":
          return new LSTM({ units: c.units });
        case "gru":
          return new GRU({ units: c.units, linearBeforeReset: c.linearBeforeReset });
        case "embedding":
          return new Embedding({ vocabulary: c.vocabulary, size: c.size, ids: c.ids });
        case "conv2d":
          return new Conv2D({
            filters: c.filters,
            kernelSize: c.kernelSize,
            padding: c.padding,
            activation: c.activation as Conv2D["activation"],
            height: c.height,
            width: c.width,
            inputLayout: c.inputLayout,
          });
        case "maxpool2d":
          return new MaxPool2D({ size: c.size, height: c.height, width: c.width });
        case "cellwise":
          return new Cellwise({
            height: c.height,
            width: c.width,
            radius: c.radius,
            hidden: c.hidden,
            activation: c.activation as Cellwise["activation"],
          });
        default:
          throw new TypeError(`Cannot build a layer of type ${(c as { type: string }).type}`);
      }
    });
    return new Sequential(backend, { inputSize: config.inputSize, layers, seed });
  }

  /** The serialisable description. */
  get config(): SequentialConfig {
    return { inputSize: this.inputSize, layers: this.layers.map((l) => l.config) };
  }

  /** True when some layer carries state (inputs are then `[T, B, I]`). */
  get recurrent(): boolean {
    return this.layers.some((l) => l.recurrent);
  }

  /** Every trainable parameter, layer by layer. */
  get parameters(): readonly Parameter[] {
    return this.layers.flatMap((l) => l.parameters);
  }

  /** A zero state for a batch. */
  initialState(batch: number): RecurrentState {
    return this.layers.map((l) => l.initialState(batch));
  }

  /** The floats of recurrent state per batch row: every state tensor of every layer, in order. */
  get stateSize(): number {
    let size = 0;
    for (const layer of this.layers) for (const width of layer.stateSizes) size += width;
    return size;
  }

  /**
   * Reads a state back as one flat row per batch entry, `[B, stateSize]`: for each row, every
   * layer's state tensors in order (the inverse of {@linkcode Sequential.stateFromRows}).
   */
  async readState(state: RecurrentState): Promise<Float32Array> {
    const parts: Float32Array[] = [];
    let batch = 0;
    for (const layer of state) {
      for (const t of layer ?? []) {
        parts.push(await this.backend.read(t));
        batch = t.shape[0];
      }
    }
    const size = this.stateSize, out = new Float32Array(batch * size);
    let offset = 0;
    for (const part of parts) {
      const width = part.length / batch;
      for (let b = 0; b < batch; b++) {
        out.set(part.subarray(b * width, (b + 1) * width), b * size + offset);
      }
      offset += width;
    }
    return out;
  }

  /**
   * Builds a state for `batch` rows from flat `[batch, stateSize]` rows, as
   * {@linkcode Sequential.readState} gives them. The caller owns the tensors.
   *
   * @throws {TypeError} When `rows` does not hold `batch · stateSize` values.
   */
  stateFromRows(rows: Float32Array, batch: number): RecurrentState {
    const size = this.stateSize;
    if (rows.length !== batch * size) {
      throw new TypeError(
        `Cannot build a recurrent state: ${rows.length} values for ${batch} rows of ${size}`,
      );
    }
    let offset = 0;
    return this.layers.map((layer) => {
      if (layer.stateSizes.length === 0) return undefined;
      return layer.stateSizes.map((width) => {
        const data = new Float32Array(batch * width);
        for (let b = 0; b < batch; b++) {
          data.set(rows.subarray(b * size + offset, b * size + offset + width), b * width);
        }
        offset += width;
        return this.backend.tensor(data, [batch, width]);
      });
    });
  }

  /** Runs every layer. */
  forward(input: Tensor, options: SequentialForwardOptions = {}): SequentialForward {
    const training = options.training ?? false;
    const state: RecurrentState = [];
    let x = input;
    this.layers.forEach((layer, i) => {
      const result = layer.forward(x, options.state?.[i], { training, mask: options.mask });
      // Layers keep their own handles on what they cache, so intermediates can go now.
      if (x !== input) this.backend.dispose(x);
      x = result.output;
      state.push(result.state);
    });
    return { output: x, state };
  }

  /**
   * Back-propagates the last training forward pass from `dOutput` (borrowed), storing every
   * parameter's gradient. Returns the gradient with respect to the input and the initial state.
   */
  backward(dOutput: Tensor, dState?: RecurrentState): { dInput: Tensor; dState: RecurrentState } {
    const dStates: RecurrentState = new Array(this.layers.length);
    let d = dOutput;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const result = this.layers[i].backward(d, dState?.[i]);
      if (d !== dOutput) this.backend.dispose(d);
      d = result.dInput;
      dStates[i] = result.dState;
    }
    return { dInput: d, dState: dStates };
  }

  /** Reads every parameter back as named arrays. */
  getParameters(): Promise<NamedArray[]> {
    return readParameters(this.parameters, this.backend);
  }

  /** Loads named arrays (checked for names, shapes and finite values) into the parameters. */
  setParameters(arrays: readonly NamedArray[]): void {
    writeParameters(this.parameters, this.backend, arrays);
  }

  /** Copies every parameter from a model of the same shape (a hard target-network update). */
  copyParametersFrom(source: Sequential): void {
    this.#checkSameShape(source);
    this.parameters.forEach((p, i) => this.backend.copy(p.value, source.parameters[i].value));
  }

  /** Polyak averaging: `θ ← τ·θ_source + (1 − τ)·θ`. */
  polyakUpdateFrom(source: Sequential, tau: number): void {
    this.#checkSameShape(source);
    if (!(tau >= 0 && tau <= 1)) {
      throw new RangeError(`Cannot average parameters: tau is ${tau}, expected 0..1`);
    }
    this.parameters.forEach((p, i) => {
      const decayed = this.backend.scale(p.value, 1 - tau);
      this.backend.axpyInPlace(decayed, source.parameters[i].value, tau);
      this.backend.copy(p.value, decayed);
      this.backend.dispose(decayed);
    });
  }

  /** Releases what the last training forward kept. */
  clearCache(): void {
    for (const l of this.layers) l.clearCache();
  }

  /** Releases a state returned by {@linkcode Sequential.forward} or {@linkcode Sequential.initialState}. */
  disposeState(state: RecurrentState): void {
    for (const s of state) s?.forEach((t) => this.backend.dispose(t));
  }

  #checkSameShape(source: Sequential): void {
    const a = this.parameters, b = source.parameters;
    if (a.length !== b.length || a.some((p, i) => p.value.size !== b[i].value.size)) {
      throw new TypeError("Cannot copy parameters: the models have different shapes");
    }
  }
}
