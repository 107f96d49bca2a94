/**
 * Tabular Q-learning and SARSA (Sutton & Barto, sections 6.4 and 6.5): {@linkcode TabularQ}, the
 * table and its TD update, and {@linkcode TabularAgent}, the agent that `deno task train --algo
 * q-learning` and `--algo sarsa` train.
 *
 * The update is Q(s, a) ← Q(s, a) + α(target − Q(s, a)) with the target `r` on termination, else
 * `r + γ·max_a' Q(s', a')` (Q-learning) or `r + γ·Q(s', a')` with a' the next ε-greedy action
 * (SARSA). Exploration is ε-greedy, or with `exploration: "boltzmann"` a draw from the softmax of
 * Q(s, ·) / τ. Truncation (a time limit) still bootstraps. Observations become state numbers through
 * a {@linkcode StateEncoder}: CartPole's {@linkcode Discretizer}, or for environments whose
 * observation is already a state number, an {@linkcode IndexEncoder} (the `states` option).
 *
 * @module
 */

import { actionMaskOf, type EnvSpec } from "../envs/env.ts";
import type { JsonObject } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { inRange, integerSeed, positiveInteger, resolveOptions } from "./_options.ts";
import { type AgentPolicyState, BaseAgent, type LearnSession } from "./agent.ts";
import { argmaxRandom } from "./bandits.ts";
import {
  BOLTZMANN_DEFAULTS,
  boltzmannAction,
  type BoltzmannOptions,
  checkBoltzmannOptions,
  finalTemperature,
  temperatureAt,
} from "./boltzmann.ts";
import { cartPoleDiscretizer, Discretizer, IndexEncoder, type StateEncoder } from "./discretize.ts";
import { EnvCursor } from "./env_cursor.ts";
import { requireDiscrete, singleEnv, type TrainingEnv } from "./env_input.ts";
import { type ActOptions, maskedArgmax, type PolicyStep, uniformValidAction } from "./policy.ts";
import { checkRamp, type LinearRamp, rampValue } from "./schedules.ts";
import { type AgentState, findArray, type NamedArrays } from "./state.ts";

/** Which TD target a table learns with. */
export type TabularAlgorithm = "q-learning" | "sarsa";

/** Options of {@linkcode TabularQ}. */
export interface TabularQOptions {
  /** "q-learning" (max target) or "sarsa" (the next action's value). */
  algorithm: TabularAlgorithm;
  /** Step size α in (0, 1]. */
  stepSize: number;
  /** Discount γ in [0, 1]. */
  gamma: number;
  /** The initial value of every Q(s, a). */
  initialValue: number;
}

/**
 * A Q-table over `stateCount` states and `actionCount` actions with the TD update of Q-learning
 * or SARSA, in float64.
 *
 * @example
 * ```ts
 * import { TabularQ } from "@rnnrl/rnnrl";
 * const table = new TabularQ(2, 2, { algorithm: "q-learning", stepSize: 0.5, gamma: 0.9, initialValue: 0 });
 * table.update(0, 1, 1, 1, false); // Q(0, 1) += 0.5 · (1 + 0.9 · 0 − 0)
 * if (table.value(0, 1) !== 0.5) throw new Error("one TD step");
 * if (table.greedyAction(0) !== 1) throw new Error("greedy");
 * ```
 */
export class TabularQ {
  /** The number of states. */
  readonly stateCount: number;
  /** The number of actions. */
  readonly actionCount: number;
  /** The algorithm, step size, discount and initial value. */
  readonly options: Readonly<TabularQOptions>;
  #q: Float64Array;

  /** A table filled with `initialValue`. */
  constructor(stateCount: number, actionCount: number, options: TabularQOptions) {
    this.stateCount = positiveInteger(stateCount, "stateCount");
    this.actionCount = positiveInteger(actionCount, "actionCount");
    this.options = { ...options };
    this.#q = new Float64Array(stateCount * actionCount).fill(options.initialValue);
  }

  /** Q(state, action). */
  value(state: number, action: number): number {
    return this.#q[this.#index(state, action)];
  }

  /** A copy of the whole table, Q(s, a) at s·actionCount + a. */
  table(): Float64Array {
    return this.#q.slice();
  }

  /** Replaces the whole table (a copy of `values`, in the layout of {@linkcode TabularQ.table}). */
  setTable(values: Float64Array): void {
    if (values.length !== this.#q.length || !values.every(Number.isFinite)) {
      throw new TypeError(`Cannot set the Q-table: expected ${this.#q.length} finite values`);
    }
    this.#q.set(values);
  }

  /** The values of every action in a state, as a view. */
  row(state: number): Float64Array {
    const o = this.#index(state, 0);
    return this.#q.subarray(o, o + this.actionCount);
  }

  /** The action with the largest Q(state, ·), the lowest-numbered among equals. */
  greedyAction(state: number): number {
    return maskedArgmax(this.row(state));
  }

  /**
   * One TD update of Q(state, action) towards `reward` plus, unless `terminated`, γ times the
   * value of `nextState`: max over actions (Q-learning) or Q(nextState, nextAction) (SARSA, which
   * then needs `nextAction`). Returns the TD error.
   */
  update(
    state: number,
    action: number,
    reward: number,
    nextState: number,
    terminated: boolean,
    nextAction?: number,
  ): number {
    const i = this.#index(state, action);
    let target = reward;
    if (!terminated) {
      const o = this.#index(nextState, 0);
      let next: number;
      if (this.options.algorithm === "sarsa") {
        if (!(Number.isInteger(nextAction) && nextAction! >= 0 && nextAction! < this.actionCount)) {
          throw new RangeError(
            `Cannot update the Q-table: SARSA needs the next action, got ${nextAction}`,
          );
        }
        next = this.#q[o + nextAction!];
      } else {
        next = this.#q[o];
        for (let a = 1; a < this.actionCount; a++) if (this.#q[o + a] > next) next = this.#q[o + a];
      }
      target += this.options.gamma * next;
    }
    const error = target - this.#q[i];
    this.#q[i] += this.options.stepSize * error;
    return error;
  }

  #index(state: number, action: number): number {
    if (!(Number.isInteger(state) && state >= 0 && state < this.stateCount)) {
      throw new RangeError(
        `Cannot index the Q-table: state is ${state}, expected 0..${this.stateCount - 1}`,
      );
    }
    if (!(Number.isInteger(action) && action >= 0 && action < this.actionCount)) {
      throw new RangeError(
        `Cannot index the Q-table: action is ${action}, expected 0..${this.actionCount - 1}`,
      );
    }
    return state * this.actionCount + action;
  }
}

/** Options of {@linkcode TabularAgent}, with their defaults. */
export interface TabularAgentOptions extends TabularQOptions, BoltzmannOptions {
  /**
   * Exploration ε (with `exploration: "epsilon"`): a constant, or a ramp over environment steps.
   * Default 1 → 0.05 in 10 000.
   */
  epsilon: number | LinearRamp;
  /**
   * Bins per observation dimension of CartPole's discretiser; default [1, 6, 6, 12] on cartpole,
   * [3, 12] when masked. Ignored (null) with `states`.
   */
  bins: number[] | null;
  /**
   * For an environment whose observation's first value is already the state number: how many
   * states there are. Null (the default) discretises CartPole's observation instead.
   */
  states: number | null;
  /** Report the mean squared TD error through `onUpdate` every this many steps. Default 1000. */
  logInterval: number;
  /** Seeds exploration and the training episodes. Default 0. */
  seed: number;
}

/** The defaults of {@linkcode TabularAgent}. */
export const TABULAR_DEFAULTS: Readonly<TabularAgentOptions> = Object.freeze({
  algorithm: "q-learning",
  stepSize: 0.1,
  gamma: 0.99,
  epsilon: { start: 1, end: 0.05, steps: 10_000 },
  ...BOLTZMANN_DEFAULTS,
  initialValue: 0,
  bins: null,
  states: null,
  logInterval: 1000,
  seed: 0,
});

/**
 * Resolves and checks tabular options; `learningRate` is accepted as another name for the step
 * size.
 *
 * @throws {TypeError} For an option the agent does not have.
 * @throws {RangeError} For a value out of range.
 */
export function resolveTabularOptions(
  options: Partial<TabularAgentOptions> & { learningRate?: number } = {},
): TabularAgentOptions {
  const given = { ...options };
  const algorithm = given.algorithm ?? "q-learning";
  if (given.learningRate !== undefined) {
    if (given.stepSize !== undefined && given.stepSize !== given.learningRate) {
      throw new RangeError(
        `Cannot use ${algorithm} with stepSize ${given.stepSize} and learningRate ` +
          `${given.learningRate}: they name the same step size`,
      );
    }
    given.stepSize = given.learningRate;
  }
  delete given.learningRate;
  const o = resolveOptions(algorithm, TABULAR_DEFAULTS, given);
  if (o.algorithm !== "q-learning" && o.algorithm !== "sarsa") {
    throw new RangeError(
      `Cannot use algorithm ${JSON.stringify(o.algorithm)}: expected "q-learning" or "sarsa"`,
    );
  }
  if (!(o.stepSize > 0 && o.stepSize <= 1)) {
    throw new RangeError(`Cannot use stepSize ${o.stepSize}: expected a number in (0, 1]`);
  }
  inRange(o.gamma, 0, 1, "gamma");
  if (typeof o.epsilon === "number") inRange(o.epsilon, 0, 1, "epsilon");
  else {
    o.epsilon = checkRamp(o.epsilon, "epsilon");
    inRange(o.epsilon.start, 0, 1, "epsilon.start");
    inRange(o.epsilon.end, 0, 1, "epsilon.end");
  }
  checkBoltzmannOptions(o);
  if (!Number.isFinite(o.initialValue)) {
    throw new RangeError(`Cannot use initialValue ${o.initialValue}: expected a finite number`);
  }
  if (o.states !== null) positiveInteger(o.states, "states");
  if (o.bins !== null) o.bins = o.bins.map((b) => positiveInteger(b, "a bin count"));
  positiveInteger(o.logInterval, "logInterval");
  integerSeed(o.seed);
  return o;
}

/**
 * The state encoder a tabular agent uses on an environment: an {@linkcode IndexEncoder} with the
 * `states` option, else CartPole's discretiser, full or masked.
 *
 * @throws {RangeError} For an environment whose observations have no encoder here.
 *
 * @example
 * ```ts
 * import { tabularEncoder } from "./q_learning.ts";
 * const grid = tabularEncoder({ id: "cartpole", observationSize: 4, actionCount: 2 }, {
 *   algorithm: "sarsa", bins: null, states: null,
 * });
 * if (grid.stateCount !== 432) throw new Error("1 × 6 × 6 × 12 states");
 * ```
 */
export function tabularEncoder(
  env: EnvSpec,
  options: Pick<TabularAgentOptions, "algorithm" | "bins" | "states">,
): StateEncoder {
  if (options.states !== null) return new IndexEncoder(options.states);
  const bins = options.bins ?? undefined;
  if (env.id === "cartpole" && env.observationSize === 4) return cartPoleDiscretizer({ bins });
  if (env.id === "cartpole-masked" && env.observationSize === 2) {
    return cartPoleDiscretizer({ bins, maskVelocity: true });
  }
  throw new RangeError(
    `Cannot train ${options.algorithm} on ${env.id ?? "this environment"}: tabular algorithms ` +
      "discretise cartpole and cartpole-masked, or take the state number from the observation " +
      "with the states option",
  );
}

/**
 * Q-learning or SARSA as an agent: ε-greedy behaviour with random tie-breaking, the TD update of
 * {@linkcode TabularQ}, and a greedy policy that takes the lowest-numbered of equal actions (so
 * evaluation never draws random numbers); with an action mask, both act among the valid actions.
 * Every episode is reset with the next seed of the agent's own stream, so a restored agent
 * replays the episode in progress into a fresh environment and continues it exactly.
 *
 * @example
 * ```ts
 * import { CartPole, TabularAgent } from "@rnnrl/rnnrl";
 * const env = new CartPole();
 * const agent = new TabularAgent(env, { epsilon: 0.1, seed: 2 });
 * const returns: number[] = [];
 * await agent.learn(env, { steps: 2000, onEpisode: (e) => void returns.push(e.return) });
 * if (returns.length === 0) throw new Error("some episodes end within 2000 steps");
 * ```
 */
export class TabularAgent extends BaseAgent<TabularAgentOptions> {
  /** The defaults, which fill in options that a state saved before they existed lacks. */
  protected override optionDefaults(): object {
    return TABULAR_DEFAULTS;
  }

  /** A table has no recurrent state. */
  readonly recurrent: boolean = false;
  /** The Q-table. */
  readonly table: TabularQ;
  /** Observations to state numbers. */
  readonly encoder: StateEncoder;
  #rng: Rng; // exploration and tie-breaking
  #cursor: EnvCursor;
  #action = -1; // the action chosen for the next step (SARSA's commitment), or −1
  #tdSum = 0; // squared TD errors since the last report
  #tdCount = 0;

  /**
   * Builds the table for an environment.
   *
   * @throws {RangeError} For an environment without an encoder or an option out of range.
   * @throws {TypeError} For an option the agent does not have.
   */
  constructor(env: EnvSpec, options: Partial<TabularAgentOptions> = {}) {
    const o = resolveTabularOptions(options);
    requireDiscrete(env, o.algorithm);
    const encoder = tabularEncoder(env, o);
    if (encoder instanceof Discretizer) o.bins = [...encoder.options.bins];
    super(o.algorithm, o.algorithm, {
      id: env.id,
      observationSize: positiveInteger(env.observationSize, "observationSize"),
      actionCount: positiveInteger(env.actionCount, "actionCount"),
    }, o);
    this.encoder = encoder;
    this.table = new TabularQ(encoder.stateCount, env.actionCount, o);
    const root = new Rng(o.seed);
    this.#rng = root.fork();
    this.#cursor = new EnvCursor({ seed: root.nextUint32(), reseed: "every" });
  }

  /** The exploration rate at the current step. */
  get epsilon(): number {
    const epsilon = this.options.epsilon;
    return typeof epsilon === "number" ? epsilon : rampValue(epsilon, this.stepCount);
  }

  /** Boltzmann exploration's temperature at the current step. */
  get temperature(): number {
    return temperatureAt(this.options.temperature, this.stepCount);
  }

  /** A table has no recurrent state. */
  initialState(): undefined {
    return undefined;
  }

  /** Nothing to release. */
  disposeState(_state: AgentPolicyState): void {}

  /**
   * The greedy action: the largest Q(s, ·) among the valid actions, the lowest-numbered among
   * equals; with `deterministic: false`, ε-greedy at the schedule's final ε, or with Boltzmann
   * exploration a draw from the softmax of Q / τ at the final temperature.
   */
  act(
    observation: Float32Array,
    _state: AgentPolicyState,
    options: ActOptions = {},
  ): Promise<PolicyStep<undefined>> {
    const state = this.encoder.encode(observation);
    if (options.deterministic === false && this.options.exploration === "boltzmann") {
      const rng = options.rng ?? this.#rng;
      const tau = finalTemperature(this.options.temperature);
      const action = boltzmannAction(
        this.table.row(state),
        tau,
        this.options.qClip,
        rng.uniform(),
        options.mask,
      );
      return Promise.resolve({ action, state: undefined });
    }
    if (options.deterministic === false) {
      const rng = options.rng ?? this.#rng;
      const e = this.options.epsilon;
      if (rng.uniform() < (typeof e === "number" ? e : e.end)) {
        const action = uniformValidAction(this.spec.actionCount, rng.uniform(), options.mask);
        return Promise.resolve({ action, state: undefined });
      }
    }
    return Promise.resolve({
      action: maskedArgmax(this.table.row(state), options.mask),
      state: undefined,
    });
  }

  /**
   * The loop: ε-greedy behaviour, the TD update every step, and every `logInterval` steps the mean
   * squared TD error since the last report as the `loss`, with the exploration rate.
   */
  protected async collect(input: TrainingEnv, until: number, session: LearnSession): Promise<void> {
    const env = singleEnv(input, this.kind);
    this.checkEnv(env);
    const sarsa = this.options.algorithm === "sarsa";
    const { observation } = this.#cursor.begin(env);
    let state = this.encoder.encode(observation);
    while (this.stepCount < until && !session.stopped) {
      if (this.#action < 0) this.#action = this.#explore(state, actionMaskOf(env));
      const action = this.#action;
      const { result, ended } = this.#cursor.step(action);
      this.stepCount++;
      const nextState = this.encoder.encode(result.observation);
      // SARSA commits to its next action before the update; Q-learning picks it afterwards.
      const nextAction = sarsa && !result.terminated
        ? this.#explore(nextState, actionMaskOf(env))
        : -1;
      const error = this.table.update(
        state,
        action,
        result.reward,
        nextState,
        result.terminated,
        nextAction,
      );
      this.#tdSum += error * error;
      this.#tdCount++;
      this.updateCount++;
      if (this.stepCount % this.options.logInterval === 0) {
        const loss = this.#tdSum / this.#tdCount;
        this.#tdSum = 0;
        this.#tdCount = 0;
        const rate = this.options.exploration === "boltzmann"
          ? { temperature: this.temperature }
          : { epsilon: this.epsilon };
        await session.update({ step: this.stepCount, loss, ...rate });
      }
      if (ended) {
        this.episodeCount++;
        await session.episode({ step: this.stepCount, episode: this.episodeCount, ...ended });
        state = this.encoder.encode(this.#cursor.next());
        this.#action = -1;
      } else {
        state = nextState;
        this.#action = nextAction;
      }
      await session.afterSteps();
    }
  }

  /**
   * The table as the little-endian bytes of its float64 values (array "q"), the episode so far
   * ("env.*"), counters and the RNG.
   */
  protected saveState(): Promise<NamedArrays<JsonObject>> {
    const cursor = this.#cursor.getState("env.");
    return Promise.resolve({
      json: {
        action: this.#action,
        tdSum: this.#tdSum,
        tdCount: this.#tdCount,
        rng: this.#rng.getState() as unknown as JsonObject,
        env: cursor.json,
      },
      arrays: [
        {
          name: "q",
          shape: [this.table.stateCount, this.table.actionCount, 8],
          data: float64Bytes(this.table.table()),
        },
        ...cursor.arrays,
      ],
    });
  }

  /** Restores what {@linkcode TabularAgent.saveState} saved. */
  protected restoreState(state: AgentState): void {
    const j = state.json;
    const bytes = findArray(
      state,
      "q",
      Uint8Array,
      this.table.stateCount * this.table.actionCount * 8,
    );
    if (!(Number.isInteger(j.tdCount) && (j.tdCount as number) >= 0)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: tdCount is not a count`);
    }
    const action = j.action as number;
    if (!(Number.isInteger(action) && action >= -1 && action < this.spec.actionCount)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: the next action is ${action}`);
    }
    if (!Number.isFinite(j.tdSum)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: tdSum is ${j.tdSum}`);
    }
    this.table.setTable(float64FromBytes(bytes));
    this.#cursor.setState({ json: j.env ?? null, arrays: state.arrays }, "env.");
    this.#rng.setState(j.rng as unknown as RngState);
    this.#tdCount = j.tdCount as number;
    this.#tdSum = j.tdSum as number;
    this.#action = action;
  }

  /**
   * The ε-greedy action in a state among the valid ones, ties broken at random; or with Boltzmann
   * exploration, one drawn from the softmax of Q(s, ·) / τ among them (one uniform draw).
   */
  #explore(state: number, mask: Uint8Array | undefined): number {
    if (this.options.exploration === "boltzmann") {
      const u = this.#rng.uniform();
      return boltzmannAction(this.table.row(state), this.temperature, this.options.qClip, u, mask);
    }
    const epsilon = this.epsilon, A = this.spec.actionCount;
    if (epsilon > 0 && this.#rng.uniform() < epsilon) {
      return mask ? uniformValidAction(A, this.#rng.uniform(), mask) : this.#rng.int(A);
    }
    const values = Float64Array.from(this.table.row(state));
    if (mask) { for (let a = 0; a < A; a++) if (!mask[a]) values[a] = -Infinity; }
    return argmaxRandom(values, this.#rng);
  }
}

function float64Bytes(values: Float64Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(8 * i, values[i], true);
  return bytes;
}

function float64FromBytes(bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float64Array(bytes.length / 8);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat64(8 * i, true);
  return values;
}
