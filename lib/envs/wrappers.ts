/**
 * Wrappers that change an environment's action space.
 *
 * @module
 */

import type { JsonValue } from "../io/json.ts";
import type { Env, ResetOptions, ResetResult, StepResult } from "./env.ts";
import type { ContinuousEnv } from "./env.ts";

/** Options of {@linkcode DiscreteActions}. */
export interface DiscreteActionsOptions {
  /** The number of discrete actions n (default 5; at least 2). */
  count?: number;
  /** The smallest action (default the environment's `actionLow`). */
  low?: number;
  /** The largest action (default the environment's `actionHigh`). */
  high?: number;
}

/**
 * Turns a one-dimensional continuous action range into n evenly spaced discrete actions:
 * action i applies `low + i · (high − low) / (n − 1)`, so 0 is `low` and n − 1 is `high`.
 *
 * @example
 * ```ts
 * import { DiscreteActions, Pendulum } from "@rnnrl/rnnrl";
 * const env = new DiscreteActions(new Pendulum(), { count: 5 }); // torques −2, −1, 0, 1, 2
 * env.reset({ seed: 0 });
 * env.step(4); // full torque counter-clockwise
 * if (env.actionCount !== 5 || env.actionValue(1) !== -1) throw new Error("even spacing");
 * ```
 */
export class DiscreteActions<Info = Record<string, unknown>> implements Env<Info> {
  /** The wrapped environment's id. */
  readonly id: string;
  /** The wrapped environment's observation size. */
  readonly observationSize: number;
  /** n. */
  readonly actionCount: number;
  /** The wrapped environment. */
  readonly env: ContinuousEnv<Info>;
  /** The continuous value of each discrete action, ascending. */
  readonly values: Float64Array;

  /** Wraps `env`; see {@linkcode DiscreteActionsOptions}. */
  constructor(env: ContinuousEnv<Info>, options: DiscreteActionsOptions = {}) {
    const count = options.count ?? 5;
    const low = options.low ?? env.actionLow;
    const high = options.high ?? env.actionHigh;
    if (!(Number.isInteger(count) && count >= 2)) {
      throw new RangeError(
        `Cannot discretise actions: count is ${count}, expected an integer >= 2`,
      );
    }
    if (!(Number.isFinite(low) && Number.isFinite(high) && low < high)) {
      throw new RangeError(
        `Cannot discretise actions: the range is [${low}, ${high}], expected finite low < high`,
      );
    }
    this.env = env;
    this.id = env.id;
    this.observationSize = env.observationSize;
    this.actionCount = count;
    this.values = new Float64Array(count);
    for (let i = 0; i < count; i++) this.values[i] = low + (i * (high - low)) / (count - 1);
    // Pin the ends exactly (the formula already gives them, but rounding must not move them).
    this.values[count - 1] = high;
  }

  /**
   * A new wrapper with the same actions around a clone of the wrapped environment (for vector
   * training).
   *
   * @throws {TypeError} When the wrapped environment has no `clone()`.
   */
  clone(): DiscreteActions<Info> {
    if (typeof this.env.clone !== "function") {
      throw new TypeError(`Cannot clone DiscreteActions: "${this.env.id}" has no clone() method`);
    }
    const values = this.values;
    return new DiscreteActions(this.env.clone(), {
      count: values.length,
      low: values[0],
      high: values[values.length - 1],
    });
  }

  /**
   * The wrapped environment's snapshot (the wrapper itself has no state).
   *
   * @throws {TypeError} When the wrapped environment cannot snapshot.
   */
  getState(): JsonValue {
    return this.#snapshots("save").getState();
  }

  /**
   * Restores the wrapped environment from {@linkcode DiscreteActions.getState}.
   *
   * @throws {TypeError} When the wrapped environment cannot snapshot, or the state is malformed.
   */
  setState(state: JsonValue): void {
    this.#snapshots("restore").setState(state);
  }

  /** The continuous action that discrete `action` stands for. */
  actionValue(action: number): number {
    if (!(Number.isInteger(action) && action >= 0 && action < this.actionCount)) {
      throw new RangeError(
        `Cannot map action ${action}: expected an integer in 0..${this.actionCount - 1}`,
      );
    }
    return this.values[action];
  }

  /** Resets the wrapped environment. */
  reset(options?: ResetOptions): ResetResult<Info> {
    return this.env.reset(options);
  }

  /** Steps the wrapped environment with the continuous value of `action`. */
  step(action: number): StepResult<Info> {
    return this.env.step(this.actionValue(action));
  }

  #snapshots(verb: string): Required<Pick<ContinuousEnv<Info>, "getState" | "setState">> {
    const { env } = this;
    if (typeof env.getState !== "function" || typeof env.setState !== "function") {
      throw new TypeError(
        `Cannot ${verb} DiscreteActions: "${env.id}" has no getState() and setState() methods`,
      );
    }
    return env as Required<Pick<ContinuousEnv<Info>, "getState" | "setState">>;
  }
}
