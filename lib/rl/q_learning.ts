/**
 * Tabular Q-learning and SARSA (Sutton & Barto, sections 6.4 and 6.5) over any {@linkcode Env},
 * with a {@linkcode StateEncoder} that turns observations into state numbers (a
 * {@linkcode Discretizer} for continuous observations).
 *
 * The loop reads top to bottom in {@linkcode TabularQ.learn}: ε-greedy behaviour with random
 * tie-breaking, then the TD update Q(s, a) ← Q(s, a) + α(target − Q(s, a)) whose target is
 * `r` on termination, else `r + γ·max_a' Q(s', a')` (Q-learning) or `r + γ·Q(s', a')` with a'
 * the next ε-greedy action (SARSA). Truncation (a time limit) still bootstraps.
 *
 * @example
 * ```ts
 * import { CartPole } from "../envs/cartpole.ts";
 * import { cartPoleDiscretizer } from "./discretize.ts";
 * import { TabularQ } from "./q_learning.ts";
 * const env = new CartPole();
 * const agent = new TabularQ(cartPoleDiscretizer(), env.actionCount, { seed: 1 });
 * agent.learn(env, { steps: 2000 });
 * const { meanReturn } = agent.evaluate(env, { episodes: 3, seed: 100 });
 * if (!(meanReturn >= 8)) throw new Error("CartPole episodes last at least 8 steps");
 * ```
 *
 * @module
 */

import type { Env } from "../envs/env.ts";
import type { EpisodeReport, EvaluateOptions, Evaluation } from "./agent.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { argmaxRandom } from "./bandit_agents.ts";
import type { StateEncoder } from "./discretize.ts";
import { checkRamp, type LinearRamp, rampValue } from "./schedules.ts";

/** Which TD target {@linkcode TabularQ} learns with. */
export type TabularAlgorithm = "q-learning" | "sarsa";

/** Options of {@linkcode TabularQ}. */
export interface TabularQOptions {
  /** "q-learning" (off-policy, max target) or "sarsa" (on-policy target). Default "q-learning". */
  algorithm?: TabularAlgorithm;
  /** Step size α in (0, 1]. Default 0.1. */
  stepSize?: number;
  /** Discount γ in [0, 1]. Default 0.99. */
  gamma?: number;
  /** Exploration ε: a constant, or a schedule over environment steps. Default 1 → 0.05 in 10 000. */
  epsilon?: number | LinearRamp;
  /** The initial value of every Q(s, a). Default 0. */
  initialValue?: number;
  /** Seed of the agent's RNG (exploration and tie-breaking). Default 0. */
  seed?: number;
}

/** Options of {@linkcode TabularQ.learn}. */
export interface TabularLearnOptions {
  /** How many environment steps to learn from. */
  steps: number;
  /**
   * Seeds the environment at this call's first reset. Default: the agent's seed when the agent
   * has not learned yet, otherwise no reseeding (the environment's stream goes on).
   */
  seed?: number;
  /** Called after each finished episode. */
  onEpisode?: (episode: EpisodeReport) => void;
}

/** What {@linkcode TabularQ.learn} returns: the episodes it finished. */
export interface TabularLearnResult {
  /** The returns of the episodes finished in this call (an unfinished last one is dropped). */
  returns: number[];
  /** Their lengths. */
  lengths: number[];
}

/** The saved state of a {@linkcode TabularQ}: plain JSON. */
export interface TabularQState {
  /** Identifies the format. */
  kind: "tabular-q";
  /** The number of states of the encoder it was trained with. */
  stateCount: number;
  /** The number of actions. */
  actionCount: number;
  /** The resolved options. */
  options: Required<TabularQOptions>;
  /** Q(s, a) at index s·actionCount + a. */
  q: number[];
  /** Environment steps learned so far. */
  steps: number;
  /** Episodes finished so far. */
  episodes: number;
  /** The agent RNG's state. */
  rng: RngState;
}

/**
 * A Q-table over `encoder.stateCount` states and `actionCount` actions, learned by Q-learning or
 * SARSA with ε-greedy exploration.
 *
 * @example
 * ```ts
 * import { IndexEncoder } from "./discretize.ts";
 * import { TabularQ } from "./q_learning.ts";
 * const agent = new TabularQ(new IndexEncoder(2), 2, { stepSize: 0.5, gamma: 0.9 });
 * agent.update(0, 1, 1, 1, false); // Q(0, 1) += 0.5 · (1 + 0.9 · 0 − 0)
 * if (agent.value(0, 1) !== 0.5) throw new Error("one TD step");
 * if (agent.act(Float32Array.of(0)) !== 1) throw new Error("greedy");
 * ```
 */
export class TabularQ {
  /** The observation-to-state encoder. */
  readonly encoder: StateEncoder;
  /** The number of states. */
  readonly stateCount: number;
  /** The number of actions. */
  readonly actionCount: number;
  #options: Required<TabularQOptions>;
  #q: Float64Array;
  #steps = 0;
  #episodes = 0;
  #rng: Rng;

  /** Creates a table filled with `initialValue`. */
  constructor(encoder: StateEncoder, actionCount: number, options: TabularQOptions = {}) {
    if (!(Number.isInteger(encoder?.stateCount) && encoder.stateCount >= 1)) {
      throw new TypeError("Cannot create TabularQ: encoder.stateCount must be an integer ≥ 1");
    }
    if (!(Number.isInteger(actionCount) && actionCount >= 1)) {
      throw new RangeError(`Cannot create TabularQ: actionCount is ${actionCount}, expected ≥ 1`);
    }
    this.encoder = encoder;
    this.stateCount = encoder.stateCount;
    this.actionCount = actionCount;
    this.#options = resolveOptions(options);
    this.#q = new Float64Array(this.stateCount * actionCount).fill(this.#options.initialValue);
    this.#rng = new Rng(this.#options.seed);
  }

  /** The resolved options, as a copy. */
  get options(): Required<TabularQOptions> {
    return { ...this.#options };
  }

  /** Environment steps learned so far. */
  get steps(): number {
    return this.#steps;
  }

  /** The exploration rate ε at the agent's current step. */
  get epsilon(): number {
    return epsilonAt(this.#options.epsilon, this.#steps);
  }

  /** Q(state, action). */
  value(state: number, action: number): number {
    return this.#q[this.#index(state, action)];
  }

  /** A copy of the whole table, Q(s, a) at s·actionCount + a. */
  table(): Float64Array {
    return this.#q.slice();
  }

  /**
   * The greedy action for an observation (the lowest-numbered among equal values, so evaluation
   * never touches the agent's RNG); with `explore`, the ε-greedy action with random tie-breaking.
   */
  act(observation: Float32Array, options: { explore?: boolean } = {}): number {
    const state = this.encoder.encode(observation);
    return options.explore ? this.#explore(state) : this.greedyAction(state);
  }

  /** The action with the largest Q(state, ·), the lowest-numbered among equals. */
  greedyAction(state: number): number {
    const o = this.#index(state, 0);
    let best = 0;
    for (let a = 1; a < this.actionCount; a++) if (this.#q[o + a] > this.#q[o + best]) best = a;
    return best;
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
      if (this.#options.algorithm === "sarsa") {
        if (!(Number.isInteger(nextAction) && nextAction! >= 0 && nextAction! < this.actionCount)) {
          throw new RangeError(
            `Cannot update TabularQ: SARSA needs the next action, got ${nextAction}`,
          );
        }
        next = this.#q[o + nextAction!];
      } else {
        next = this.#q[o];
        for (let a = 1; a < this.actionCount; a++) if (this.#q[o + a] > next) next = this.#q[o + a];
      }
      target += this.#options.gamma * next;
    }
    const error = target - this.#q[i];
    this.#q[i] += this.#options.stepSize * error;
    return error;
  }

  /**
   * Learns from `steps` environment steps with ε-greedy behaviour, starting a new episode (a
   * reset) at the start of the call and whenever one ends.
   */
  learn(env: Env, options: TabularLearnOptions): TabularLearnResult {
    const steps = options?.steps;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new RangeError(`Cannot learn: steps is ${steps}, expected an integer ≥ 0`);
    }
    this.#checkEnv(env, "learn");
    const sarsa = this.#options.algorithm === "sarsa";
    const seed = options.seed ?? (this.#steps === 0 ? this.#options.seed : undefined);
    const result: TabularLearnResult = { returns: [], lengths: [] };
    let state = this.encoder.encode(env.reset(seed === undefined ? {} : { seed }).observation);
    let action = this.#explore(state);
    let episodeReturn = 0;
    let episodeLength = 0;
    for (let t = 0; t < steps; t++) {
      const { observation, reward, terminated, truncated } = env.step(action);
      this.#steps++;
      episodeReturn += reward;
      episodeLength++;
      const nextState = this.encoder.encode(observation);
      // SARSA commits to its next action before the update; Q-learning picks it afterwards.
      const nextAction = sarsa && !terminated ? this.#explore(nextState) : -1;
      this.update(state, action, reward, nextState, terminated, nextAction);
      if (terminated || truncated) {
        this.#episodes++;
        result.returns.push(episodeReturn);
        result.lengths.push(episodeLength);
        options.onEpisode?.({
          step: this.#steps,
          episode: this.#episodes,
          return: episodeReturn,
          length: episodeLength,
        });
        episodeReturn = 0;
        episodeLength = 0;
        if (t + 1 < steps) {
          state = this.encoder.encode(env.reset().observation);
          action = this.#explore(state);
        }
      } else {
        state = nextState;
        action = sarsa ? nextAction : this.#explore(nextState);
      }
    }
    return result;
  }

  /**
   * Plays greedy episodes without learning and summarises their returns. The environment is
   * reset with `seed` (default 0) at the first episode, so the same seed sees the same episodes.
   */
  evaluate(env: Env, options: EvaluateOptions = {}): Evaluation {
    const episodes = options.episodes ?? 100;
    const seed = options.seed ?? 0;
    const cap = options.maxEpisodeSteps ?? 100_000;
    if (!(Number.isInteger(episodes) && episodes >= 1)) {
      throw new RangeError(`Cannot evaluate: episodes is ${episodes}, expected an integer ≥ 1`);
    }
    if (!(Number.isInteger(cap) && cap >= 1)) {
      throw new RangeError(`Cannot evaluate: maxEpisodeSteps is ${cap}, expected an integer ≥ 1`);
    }
    this.#checkEnv(env, "evaluate");
    const returns: number[] = [];
    const lengths: number[] = [];
    for (let e = 0; e < episodes; e++) {
      const reset = env.reset(e === 0 ? { seed } : {});
      let observation = reset.observation;
      let total = 0;
      let length = 0;
      for (;;) {
        const step = env.step(this.act(observation));
        total += step.reward;
        length++;
        observation = step.observation;
        if (step.terminated || step.truncated || length >= cap) break;
      }
      returns.push(total);
      lengths.push(length);
    }
    const mean = returns.reduce((sum, r) => sum + r, 0) / episodes;
    const variance = returns.reduce((sum, r) => sum + (r - mean) ** 2, 0) / episodes;
    return { episodes, meanReturn: mean, stdReturn: Math.sqrt(variance), seed, returns, lengths };
  }

  /** The whole state (table, counters, RNG) as plain JSON. */
  save(): TabularQState {
    return {
      kind: "tabular-q",
      stateCount: this.stateCount,
      actionCount: this.actionCount,
      options: { ...this.#options, epsilon: copyEpsilon(this.#options.epsilon) },
      q: Array.from(this.#q),
      steps: this.#steps,
      episodes: this.#episodes,
      rng: this.#rng.getState(),
    };
  }

  /**
   * Restores a state from {@linkcode TabularQ.save}; throws a TypeError for a damaged state or
   * one whose table size differs from this agent's.
   */
  load(state: TabularQState): void {
    const s = state as Partial<TabularQState> | null;
    if (typeof s !== "object" || s === null || s.kind !== "tabular-q") {
      throw new TypeError('Cannot load TabularQ: expected a "tabular-q" state');
    }
    if (s.stateCount !== this.stateCount || s.actionCount !== this.actionCount) {
      throw new TypeError(
        `Cannot load TabularQ: the state is ${s.stateCount} × ${s.actionCount}, this agent ` +
          `${this.stateCount} × ${this.actionCount}`,
      );
    }
    const q = s.q;
    if (
      !Array.isArray(q) || q.length !== this.#q.length ||
      !q.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      throw new TypeError(`Cannot load TabularQ: q must be ${this.#q.length} finite numbers`);
    }
    for (const name of ["steps", "episodes"] as const) {
      const n = s[name];
      if (!(typeof n === "number" && Number.isInteger(n) && n >= 0)) {
        throw new TypeError(`Cannot load TabularQ: ${name} must be an integer ≥ 0`);
      }
    }
    let options: Required<TabularQOptions>;
    try {
      options = resolveOptions(s.options ?? {});
    } catch (error) {
      throw new TypeError(`Cannot load TabularQ: ${(error as Error).message}`);
    }
    const rng = new Rng();
    rng.setState(s.rng!);
    this.#options = options;
    this.#q.set(q);
    this.#steps = s.steps!;
    this.#episodes = s.episodes!;
    this.#rng = rng;
  }

  #explore(state: number): number {
    const epsilon = epsilonAt(this.#options.epsilon, this.#steps);
    if (epsilon > 0 && this.#rng.uniform() < epsilon) return this.#rng.int(this.actionCount);
    return argmaxRandom(this.#q, this.#rng, state * this.actionCount, this.actionCount);
  }

  #index(state: number, action: number): number {
    if (!(Number.isInteger(state) && state >= 0 && state < this.stateCount)) {
      throw new RangeError(
        `Cannot index Q-table: state is ${state}, expected 0..${this.stateCount - 1}`,
      );
    }
    if (!(Number.isInteger(action) && action >= 0 && action < this.actionCount)) {
      throw new RangeError(
        `Cannot index Q-table: action is ${action}, expected 0..${this.actionCount - 1}`,
      );
    }
    return state * this.actionCount + action;
  }

  #checkEnv(env: Env, what: string): void {
    if (env.actionCount !== this.actionCount) {
      throw new TypeError(
        `Cannot ${what}: the environment has ${env.actionCount} actions, the agent ${this.actionCount}`,
      );
    }
  }
}

/** The exploration rate of a constant or a ramp at a step. */
function epsilonAt(epsilon: number | LinearRamp, step: number): number {
  return typeof epsilon === "number" ? epsilon : rampValue(epsilon, step);
}

function copyEpsilon(epsilon: number | LinearRamp): number | LinearRamp {
  return typeof epsilon === "number" ? epsilon : { ...epsilon };
}

function resolveOptions(options: TabularQOptions): Required<TabularQOptions> {
  const resolved: Required<TabularQOptions> = {
    algorithm: options.algorithm ?? "q-learning",
    stepSize: options.stepSize ?? 0.1,
    gamma: options.gamma ?? 0.99,
    epsilon: copyEpsilon(options.epsilon ?? { start: 1, end: 0.05, steps: 10_000 }),
    initialValue: options.initialValue ?? 0,
    seed: options.seed ?? 0,
  };
  if (resolved.algorithm !== "q-learning" && resolved.algorithm !== "sarsa") {
    throw new RangeError(
      `Cannot create TabularQ: algorithm is ${
        JSON.stringify(resolved.algorithm)
      }, expected "q-learning" or "sarsa"`,
    );
  }
  if (!(resolved.stepSize > 0 && resolved.stepSize <= 1)) {
    throw new RangeError(
      `Cannot create TabularQ: stepSize is ${resolved.stepSize}, expected (0, 1]`,
    );
  }
  if (!(resolved.gamma >= 0 && resolved.gamma <= 1)) {
    throw new RangeError(`Cannot create TabularQ: gamma is ${resolved.gamma}, expected 0..1`);
  }
  const e = resolved.epsilon;
  const inUnit = (x: unknown) => typeof x === "number" && x >= 0 && x <= 1;
  if (typeof e !== "number") checkRamp(e, "epsilon");
  if (typeof e === "number" ? !inUnit(e) : !(inUnit(e.start) && inUnit(e.end))) {
    throw new RangeError(
      `Cannot create TabularQ: epsilon is ${
        JSON.stringify(e)
      }, expected a number in 0..1 or { start, end, steps }`,
    );
  }
  if (!Number.isFinite(resolved.initialValue)) {
    throw new RangeError(`Cannot create TabularQ: initialValue is ${resolved.initialValue}`);
  }
  if (!Number.isInteger(resolved.seed)) {
    throw new RangeError(`Cannot create TabularQ: seed is ${resolved.seed}, expected an integer`);
  }
  return resolved;
}
