/**
 * Optimizers (Adam, RMSprop, SGD) and gradient clipping, each one fused backend op per update.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { NamedArray, Parameter, Trainable } from "./parameter.ts";

/** What an optimizer saves in a checkpoint. */
export interface OptimizerState {
  /** The number of updates made so far. */
  step: number;
  /** The per-parameter buffers (moments), named `<parameter>.<slot>`. */
  slots: NamedArray[];
}

/** An optimizer: updates a model's parameters in place from their gradients. */
export interface Optimizer {
  /** The number of updates made so far. */
  readonly iterations: number;
  /** Applies one update to every parameter that has a gradient. */
  step(model: Trainable): void;
  /** Reads the optimizer's buffers for a checkpoint. */
  getState(model: Trainable): Promise<OptimizerState>;
  /** Restores buffers saved by {@linkcode Optimizer.getState}. */
  setState(model: Trainable, state: OptimizerState): void;
}

function gradientsOf(model: Trainable): { params: Tensor[]; grads: Tensor[]; index: number[] } {
  const params: Tensor[] = [], grads: Tensor[] = [], index: number[] = [];
  model.parameters.forEach((p, i) => {
    if (p.grad) {
      params.push(p.value);
      grads.push(p.grad);
      index.push(i);
    }
  });
  return { params, grads, index };
}

/**
 * The base of the optimizers here: keeps per-parameter buffers ("slots", such as Adam's moments),
 * created as zeros on the first step, and the update count. Subclasses supply one fused update.
 */
export abstract class SlottedOptimizer implements Optimizer {
  #iterations = 0;
  #slots: Tensor[][] | null = null;
  #slotNames: string[];

  /** `slotNames` names the buffers each parameter gets, e.g. `["m", "v"]`. */
  constructor(slotNames: string[]) {
    this.#slotNames = slotNames;
  }

  /** The number of updates made so far. */
  get iterations(): number {
    return this.#iterations;
  }

  /** Applies one update to every parameter that has a gradient. */
  step(model: Trainable): void {
    const slots = this.#ensureSlots(model);
    const { params, grads, index } = gradientsOf(model);
    this.#iterations++;
    this.apply(
      model.backend,
      params,
      grads,
      this.#slotNames.map((_, s) => index.map((i) => slots[s][i])),
      this.#iterations,
    );
  }

  /** The fused update: `slots[s][k]` is buffer s of the k-th parameter with a gradient. */
  protected abstract apply(
    backend: Backend,
    params: Tensor[],
    grads: Tensor[],
    slots: Tensor[][],
    iteration: number,
  ): void;

  /** Reads the buffers for a checkpoint. */
  async getState(model: Trainable): Promise<OptimizerState> {
    const slots = this.#ensureSlots(model);
    const out: NamedArray[] = [];
    for (let s = 0; s < slots.length; s++) {
      for (let i = 0; i < slots[s].length; i++) {
        const p: Parameter = model.parameters[i];
        out.push({
          name: `${p.name}.${this.#slotNames[s]}`,
          shape: [...p.value.shape],
          data: await model.backend.read(slots[s][i]),
        });
      }
    }
    return { step: this.#iterations, slots: out };
  }

  /** Restores buffers saved by {@linkcode SlottedOptimizer.getState}, after checking them all. */
  setState(model: Trainable, state: OptimizerState): void {
    const slots = this.#ensureSlots(model);
    const expected = slots.length * model.parameters.length;
    if (!Number.isInteger(state.step) || state.step < 0) {
      throw new RangeError(`Cannot restore the optimizer: step is ${state.step}`);
    }
    if (state.slots.length !== expected) {
      throw new TypeError(
        `Cannot restore the optimizer: expected ${expected} buffers, got ${state.slots.length}`,
      );
    }
    let k = 0;
    for (let s = 0; s < slots.length; s++) {
      for (let i = 0; i < slots[s].length; i++, k++) {
        const a = state.slots[k];
        const name = `${model.parameters[i].name}.${this.#slotNames[s]}`;
        if (a.name !== name || a.data.length !== slots[s][i].size) {
          throw new TypeError(`Cannot restore the optimizer: expected ${name}, got ${a.name}`);
        }
      }
    }
    k = 0;
    for (let s = 0; s < slots.length; s++) {
      for (let i = 0; i < slots[s].length; i++, k++) {
        model.backend.write(slots[s][i], state.slots[k].data);
      }
    }
    this.#iterations = state.step;
  }

  #ensureSlots(model: Trainable): Tensor[][] {
    if (!this.#slots) {
      this.#slots = this.#slotNames.map(() =>
        model.parameters.map((p) => model.backend.zeros(p.value.shape))
      );
    }
    return this.#slots;
  }
}

/** Options of {@linkcode Adam}. */
export interface AdamOptions {
  /** Step size (default 0.001). */
  learningRate?: number;
  /** Decay of the first-moment average (default 0.9). */
  beta1?: number;
  /** Decay of the second-moment average (default 0.999). */
  beta2?: number;
  /** Added to the denominator for stability (default 1e-8). */
  epsilon?: number;
}

/**
 * Adam (Kingma and Ba, 2015) with bias correction, one fused backend op for all parameters.
 *
 * @example
 * ```ts
 * import { Adam } from "@rnnrl/rnnrl";
 * const optimizer = new Adam({ learningRate: 3e-4 });
 * if (optimizer.iterations !== 0) throw new Error("no step yet");
 * ```
 */
export class Adam extends SlottedOptimizer {
  /** The resolved options. */
  readonly options: Required<AdamOptions>;

  /** Creates the optimizer; its moment buffers appear on the first step. */
  constructor(options: AdamOptions = {}) {
    super(["m", "v"]);
    this.options = {
      learningRate: positive(options.learningRate ?? 1e-3, "learningRate"),
      beta1: unitInterval(options.beta1 ?? 0.9, "beta1"),
      beta2: unitInterval(options.beta2 ?? 0.999, "beta2"),
      epsilon: positive(options.epsilon ?? 1e-8, "epsilon"),
    };
  }

  /** One fused Adam update. */
  protected apply(
    backend: Backend,
    params: Tensor[],
    grads: Tensor[],
    slots: Tensor[][],
    step: number,
  ): void {
    const o = this.options;
    backend.adamStep(params, grads, slots[0], slots[1], {
      lr: o.learningRate,
      beta1: o.beta1,
      beta2: o.beta2,
      epsilon: o.epsilon,
      step,
    });
  }
}

/** Options of {@linkcode RMSprop}. */
export interface RmspropOptions {
  /** Step size (default 0.001). */
  learningRate?: number;
  /** Decay of the mean square (default 0.99). */
  rho?: number;
  /** Added to the root of the mean square (default 1e-8). */
  epsilon?: number;
}

/** RMSprop (Tieleman and Hinton, 2012) in PyTorch's form, without momentum. */
export class RMSprop extends SlottedOptimizer {
  /** The resolved options. */
  readonly options: Required<RmspropOptions>;

  /** Creates the optimizer. */
  constructor(options: RmspropOptions = {}) {
    super(["meanSquare"]);
    this.options = {
      learningRate: positive(options.learningRate ?? 1e-3, "learningRate"),
      rho: unitInterval(options.rho ?? 0.99, "rho"),
      epsilon: positive(options.epsilon ?? 1e-8, "epsilon"),
    };
  }

  /** One fused RMSprop update. */
  protected apply(backend: Backend, params: Tensor[], grads: Tensor[], slots: Tensor[][]): void {
    const o = this.options;
    backend.rmspropStep(params, grads, slots[0], {
      lr: o.learningRate,
      rho: o.rho,
      epsilon: o.epsilon,
    });
  }
}

/** Options of {@linkcode SGD}. */
export interface SgdOptions {
  /** Step size (default 0.01). */
  learningRate?: number;
}

/** Plain stochastic gradient descent: `θ ← θ − lr·g`. */
export class SGD extends SlottedOptimizer {
  /** The resolved options. */
  readonly options: Required<SgdOptions>;

  /** Creates the optimizer. */
  constructor(options: SgdOptions = {}) {
    super([]);
    this.options = { learningRate: positive(options.learningRate ?? 0.01, "learningRate") };
  }

  /** One SGD update. */
  protected apply(backend: Backend, params: Tensor[], grads: Tensor[]): void {
    backend.sgdStep(params, grads, this.options.learningRate);
  }
}

/**
 * Scales every gradient of a model so that their global L2 norm is at most `maxNorm`
 * (Pascanu et al., 2013). Returns the norm before clipping as a `[1]` tensor.
 */
export function clipGradients(model: Trainable, maxNorm: number): Tensor {
  return model.backend.clipByGlobalNorm(gradientsOf(model).grads, maxNorm);
}

function positive(x: number, name: string): number {
  if (!(x > 0 && Number.isFinite(x))) {
    throw new RangeError(`Cannot use ${name} ${x}: expected a positive number`);
  }
  return x;
}

function unitInterval(x: number, name: string): number {
  if (!(x >= 0 && x < 1)) {
    throw new RangeError(`Cannot use ${name} ${x}: expected a number in [0, 1)`);
  }
  return x;
}
