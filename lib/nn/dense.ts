/**
 * A fully connected layer: `y = act(x · W + b)` over the last axis.
 *
 * @module
 */

import { type Activation, ACTIVATIONS, type Backend, type Tensor } from "../backend/backend.ts";
import type { Rng } from "../io/rng.ts";
import { glorotUniform } from "./init.ts";
import type { ForwardOptions, Layer, LayerBackward, LayerConfig, LayerForward } from "./layer.ts";
import { Parameter } from "./parameter.ts";

/** Options of {@linkcode Dense}. */
export interface DenseOptions {
  /** The output size. */
  units: number;
  /** The activation after the affine map (default "linear"). */
  activation?: Activation;
}

/**
 * A fully connected layer. Inputs of any rank are treated as rows of their last axis, so it
 * applies to `[B, I]` batches and `[T, B, I]` sequences alike. Weights start Glorot-uniform and
 * biases at zero.
 *
 * @example
 * ```ts
 * import { createCpuBackend, Dense, Sequential } from "@rnnrl/rnnrl";
 * const model = new Sequential(createCpuBackend(), {
 *   inputSize: 4,
 *   layers: [new Dense({ units: 8, activation: "relu" }), new Dense({ units: 2 })],
 *   seed: 1,
 * });
 * const { output } = model.forward(model.backend.tensor([0.1, 0.2, 0.3, 0.4], [1, 4]));
 * if (output.shape[1] !== 2) throw new Error("two Q-values expected");
 * ```
 */
export class Dense implements Layer {
  /** Dense layers carry no state. */
  readonly recurrent: boolean = false;
  /** No state. */
  readonly stateNames: readonly string[] = [];
  /** No state. */
  readonly stateSizes: readonly number[] = [];
  /** The output size. */
  readonly units: number;
  /** The activation. */
  readonly activation: Activation;
  #parameters: Parameter[] = [];
  #backend: Backend | null = null;
  #input: Tensor | null = null;
  #output: Tensor | null = null;

  /** Describes the layer; {@linkcode Sequential} builds it. */
  constructor(options: DenseOptions) {
    if (!(Number.isInteger(options.units) && options.units >= 1)) {
      throw new RangeError(
        `Cannot make a Dense layer: units must be a positive integer, got ${options.units}`,
      );
    }
    const activation = options.activation ?? "linear";
    if (!ACTIVATIONS.includes(activation)) {
      throw new RangeError(
        `Cannot make a Dense layer: activation must be one of ${
          ACTIVATIONS.join(", ")
        }, got ${activation}`,
      );
    }
    this.units = options.units;
    this.activation = activation;
  }

  /** The weight `[I, units]` and the bias `[units]`. */
  get parameters(): readonly Parameter[] {
    return this.#parameters;
  }

  /** The serialisable description. */
  get config(): LayerConfig {
    return { type: "dense", units: this.units, activation: this.activation };
  }

  /** Creates Glorot-uniform weights and a zero bias. */
  build(backend: Backend, inputSize: number, rng: Rng, prefix: string): void {
    this.#backend = backend;
    this.#parameters = [
      new Parameter(
        `${prefix}.w`,
        backend.tensor(glorotUniform(rng, inputSize, this.units), [inputSize, this.units]),
      ),
      new Parameter(`${prefix}.b`, backend.zeros([this.units])),
    ];
  }

  /** Dense layers have no state. */
  initialState(_batch: number): undefined {
    return undefined;
  }

  /** Computes `act(x · W + b)`. */
  forward(input: Tensor, _state: undefined, options: ForwardOptions): LayerForward {
    const backend = this.#requireBuilt();
    const [w, b] = this.#parameters;
    const inputSize = w.value.shape[0];
    const lead = input.shape.slice(0, -1);
    if (input.shape[input.shape.length - 1] !== inputSize) {
      throw new TypeError(
        `Cannot apply a Dense layer: expected ${inputSize} input features, got shape [${
          input.shape.join(", ")
        }]`,
      );
    }
    const rows = input.size / inputSize;
    const x2 = backend.reshape(input, [rows, inputSize]);
    const y2 = backend.matmul(x2, w.value, { bias: b.value, activation: this.activation });
    const output = backend.reshape(y2, [...lead, this.units]);
    this.clearCache();
    if (options.training) {
      // Keep our own handles on the input and output until backward.
      this.#input = x2;
      this.#output = y2;
    } else {
      backend.dispose(x2);
      backend.dispose(y2);
    }
    return { output };
  }

  /** Back-propagates: stores dW and db, returns dx. */
  backward(dOutput: Tensor): LayerBackward {
    const backend = this.#requireBuilt();
    if (!this.#input || !this.#output) {
      throw new Error("Cannot run Dense backward: no training forward pass to back-propagate");
    }
    const [w, b] = this.#parameters;
    const rows = this.#output.shape[0];
    const dy2 = backend.reshape(dOutput, [rows, this.units]);
    const dz = this.activation === "linear"
      ? dy2
      : backend.activationGrad(this.#output, dy2, this.activation);
    w.setGrad(backend, backend.matmul(this.#input, dz, { transposeA: true }));
    b.setGrad(backend, backend.sumRows(dz));
    const dx2 = backend.matmul(dz, w.value, { transposeB: true });
    if (dz !== dy2) backend.dispose(dz);
    backend.dispose(dy2);
    const dInput = backend.reshape(dx2, [...dOutput.shape.slice(0, -1), w.value.shape[0]]);
    backend.dispose(dx2);
    return { dInput };
  }

  /** Releases the cached input and output handles. */
  clearCache(): void {
    if (this.#backend) {
      if (this.#input) this.#backend.dispose(this.#input);
      if (this.#output) this.#backend.dispose(this.#output);
    }
    this.#input = null;
    this.#output = null;
  }

  #requireBuilt(): Backend {
    if (!this.#backend) throw new Error("Cannot use a Dense layer before it is built");
    return this.#backend;
  }
}
