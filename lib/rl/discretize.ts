/**
 * State encoders for tabular agents: they turn an observation into a state index in
 * 0..stateCount − 1. {@linkcode Discretizer} cuts each observation dimension into equal bins over
 * a clipping range; {@linkcode IndexEncoder} reads environments whose observation already is a
 * state number.
 *
 * @example
 * ```ts
 * import { Discretizer } from "@rnnrl/rnnrl";
 * const grid = new Discretizer({ bins: [2, 3], low: [0, 0], high: [1, 3] });
 * if (grid.stateCount !== 6) throw new Error("2 × 3 states");
 * if (grid.encode(Float32Array.of(0.9, 2.5)) !== 5) throw new Error("last bin of each");
 * ```
 *
 * @module
 */

/** Maps observations to state indices for tabular agents. */
export interface StateEncoder {
  /** The number of states; `encode` returns 0..stateCount − 1. */
  readonly stateCount: number;
  /** The state index of an observation. */
  encode(observation: Float32Array): number;
}

/** Options of {@linkcode Discretizer}. */
export interface DiscretizerOptions {
  /** Bins per observation dimension (integers ≥ 1; 1 ignores the dimension). */
  bins: number[];
  /** Lower edge of the first bin per dimension; smaller values fall in the first bin. */
  low: number[];
  /** Upper edge of the last bin per dimension; larger values fall in the last bin. */
  high: number[];
}

/**
 * Equal-width binning of each observation dimension over [low, high], values outside clipped to
 * the edge bins, combined in mixed radix (the last dimension varies fastest).
 *
 * @example
 * ```ts
 * import { Discretizer } from "@rnnrl/rnnrl";
 * const d = new Discretizer({ bins: [4], low: [-1], high: [1] });
 * const bins = [-5, -0.6, 0, 0.49, 7].map((x) => d.encode(Float32Array.of(x)));
 * if (bins.join() !== "0,0,2,2,3") throw new Error(bins.join());
 * ```
 */
export class Discretizer implements StateEncoder {
  /** The number of states: the product of the bins. */
  readonly stateCount: number;
  /** The length of the observations this discretiser reads. */
  readonly observationSize: number;
  #bins: number[];
  #low: number[];
  #high: number[];
  #strides: number[];

  /** Creates a discretiser; throws a RangeError for bad bins or ranges. */
  constructor(options: DiscretizerOptions) {
    const { bins, low, high } = options ?? {};
    if (!Array.isArray(bins) || !Array.isArray(low) || !Array.isArray(high)) {
      throw new TypeError("Cannot create Discretizer: bins, low and high must be arrays");
    }
    if (bins.length === 0 || low.length !== bins.length || high.length !== bins.length) {
      throw new RangeError(
        `Cannot create Discretizer: bins, low and high have lengths ${bins.length}, ${low.length}` +
          ` and ${high.length}, expected the same non-zero length`,
      );
    }
    for (let d = 0; d < bins.length; d++) {
      if (!(Number.isInteger(bins[d]) && bins[d] >= 1)) {
        throw new RangeError(`Cannot create Discretizer: bins[${d}] is ${bins[d]}, expected ≥ 1`);
      }
      if (!(Number.isFinite(low[d]) && Number.isFinite(high[d]) && low[d] < high[d])) {
        throw new RangeError(
          `Cannot create Discretizer: range ${d} is [${low[d]}, ${high[d]}], expected low < high`,
        );
      }
    }
    this.#bins = [...bins];
    this.#low = [...low];
    this.#high = [...high];
    this.#strides = new Array(bins.length);
    let stride = 1;
    for (let d = bins.length - 1; d >= 0; d--) {
      this.#strides[d] = stride;
      stride *= bins[d];
    }
    if (!Number.isSafeInteger(stride)) {
      throw new RangeError(`Cannot create Discretizer: ${stride} states are too many`);
    }
    this.stateCount = stride;
    this.observationSize = bins.length;
  }

  /** The options this discretiser was made with, as copies (for saving alongside a Q-table). */
  get options(): DiscretizerOptions {
    return { bins: [...this.#bins], low: [...this.#low], high: [...this.#high] };
  }

  /** The bin of `value` in dimension `dimension`. */
  binOf(dimension: number, value: number): number {
    const bins = this.#bins[dimension];
    if (bins === 1) return 0;
    if (Number.isNaN(value)) {
      throw new RangeError(`Cannot discretize observation: dimension ${dimension} is NaN`);
    }
    const low = this.#low[dimension];
    const bin = Math.floor(((value - low) / (this.#high[dimension] - low)) * bins);
    return bin < 0 ? 0 : bin >= bins ? bins - 1 : bin;
  }

  /** The state index of an observation; throws a RangeError for a wrong length or NaN. */
  encode(observation: Float32Array): number {
    if (observation.length !== this.observationSize) {
      throw new RangeError(
        `Cannot discretize observation: length is ${observation.length}, expected ${this.observationSize}`,
      );
    }
    let index = 0;
    for (let d = 0; d < this.observationSize; d++) {
      index += this.binOf(d, observation[d]) * this.#strides[d];
    }
    return index;
  }
}

/**
 * The encoder of environments whose observation is a state number: it reads `observation[0]`,
 * which must be an integer in 0..stateCount − 1.
 *
 * @example
 * ```ts
 * import { IndexEncoder } from "./discretize.ts";
 * if (new IndexEncoder(5).encode(Float32Array.of(3)) !== 3) throw new Error("state 3");
 * ```
 */
export class IndexEncoder implements StateEncoder {
  /** The number of states. */
  readonly stateCount: number;

  /** Creates an encoder for `stateCount` states. */
  constructor(stateCount: number) {
    if (!(Number.isInteger(stateCount) && stateCount >= 1)) {
      throw new RangeError(`Cannot create IndexEncoder: stateCount is ${stateCount}, expected ≥ 1`);
    }
    this.stateCount = stateCount;
  }

  /** Returns `observation[0]`; throws a RangeError when it is not a valid state number. */
  encode(observation: Float32Array): number {
    const s = observation[0];
    if (!(Number.isInteger(s) && s >= 0 && s < this.stateCount)) {
      throw new RangeError(
        `Cannot encode observation: state ${s} is not an integer in 0..${this.stateCount - 1}`,
      );
    }
    return s;
  }
}

/** Options of {@linkcode cartPoleDiscretizer}. */
export interface CartPoleDiscretizerOptions {
  /** Bins for x, ẋ, θ, θ̇ (or x, θ with `maskVelocity`). Default [1, 6, 6, 12] (or [3, 12]). */
  bins?: number[];
  /** Discretise the masked observation `[x, θ]` instead of the full one. Default false. */
  maskVelocity?: boolean;
}

/**
 * A {@linkcode Discretizer} for CartPole's observation over its useful ranges: x in ±2.4 (the
 * termination bounds), ẋ in ±2, θ in ±12° (0.2095 rad, the termination bound) and θ̇ in ±2 rad/s.
 * The default bins ignore x; Q-learning with them reaches the 500-step limit on CartPole-v1 (see
 * tests/rl_tabular_test.ts).
 *
 * @param options Bins and which observation.
 * @returns A new discretiser.
 *
 * @example
 * ```ts
 * import { cartPoleDiscretizer } from "@rnnrl/rnnrl";
 * if (cartPoleDiscretizer().stateCount !== 6 * 6 * 12) throw new Error("432 states");
 * ```
 */
export function cartPoleDiscretizer(options: CartPoleDiscretizerOptions = {}): Discretizer {
  const theta = (12 * 2 * Math.PI) / 360;
  if (options.maskVelocity) {
    return new Discretizer({
      bins: options.bins ?? [3, 12],
      low: [-2.4, -theta],
      high: [2.4, theta],
    });
  }
  return new Discretizer({
    bins: options.bins ?? [1, 6, 6, 12],
    low: [-2.4, -2, -theta, -2],
    high: [2.4, 2, theta, 2],
  });
}
