/**
 * Tabular Q-learning and SARSA as an {@linkcode Agent}: what `deno task train --algo q-learning`
 * and `--algo sarsa` train. {@linkcode TabularAgent} keeps its Q-values in a {@linkcode TabularQ}
 * over a discretised observation and runs its own resumable loop, so that `learn` continues one
 * run across calls and a checkpoint restores it exactly.
 *
 * Also here: {@linkcode EpisodeCursor}, which keeps an agent's place in an episode across calls
 * and across a save and restore. It resets every episode with a seed of its own stream and
 * records the episode's actions, so a restored agent replays them into a fresh environment and
 * continues the very same episode, bit for bit, in any environment that is deterministic given
 * its reset seed and the actions (every environment here).
 *
 * @example
 * ```ts
 * import { CartPole } from "../envs/cartpole.ts";
 * import { TabularAgent } from "./tabular_agent.ts";
 * const env = new CartPole();
 * const agent = new TabularAgent(env, { algorithm: "sarsa", seed: 1 });
 * await agent.learn(env, { steps: 1000 });
 * const copy = new TabularAgent(env, { algorithm: "sarsa", seed: 1 });
 * copy.setState(await agent.getState());
 * if (copy.steps !== 1000) throw new Error("the copy is where the agent was");
 * ```
 *
 * @module
 */

import type { Env, StepResult } from "../envs/env.ts";
import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import {
  type ActResult,
  type Agent,
  type AgentArray,
  type AgentState,
  type EnvSpec,
  evaluateGreedy,
  type EvaluateOptions,
  type Evaluation,
  findArray,
  type LearnOptions,
  positiveInteger,
  readAgentState,
  writeAgentState,
} from "./agent.ts";
import { argmaxRandom } from "./bandit_agents.ts";
import { cartPoleDiscretizer, type Discretizer } from "./discretize.ts";
import { type TabularAlgorithm, TabularQ, type TabularQState } from "./q_learning.ts";
import { type LinearRamp, rampValue } from "./schedules.ts";

// ---------------------------------------------------------------------------------------------
// Episode cursor

/** The JSON side of an {@linkcode EpisodeCursor}'s state (its actions go in arrays). */
export interface EpisodeCursorJson extends JsonObject {
  /** The stream that draws each episode's reset seed. */
  seeds: JsonObject;
  /** The current episode's reset seed. */
  seed: number;
  /** Whether the first episode has started. */
  started: boolean;
  /** The sum of the current episode's rewards so far. */
  episodeReturn: number;
}

/**
 * An agent's place in the current episode: the observation to act on, the return and length so
 * far, and the actions that led there. Each episode is reset with the next seed of the cursor's
 * own stream; in an environment other than the one it last stepped (a fresh one after a restore),
 * the cursor resets with the episode's seed and replays the recorded actions, and checks that it
 * arrives at the saved observation and return.
 *
 * @example
 * ```ts
 * import { CartPole } from "../envs/cartpole.ts";
 * import { EpisodeCursor } from "./tabular_agent.ts";
 * const cursor = new EpisodeCursor(7);
 * cursor.observe(new CartPole());
 * for (const action of [0, 1, 1]) cursor.step(action);
 * const saved = cursor.getState("episode.");
 * const copy = new EpisodeCursor(0);
 * copy.setState(saved, "episode.");
 * const observation = copy.observe(new CartPole()); // replays the three steps
 * if (copy.episodeLength !== 3 || observation.join() !== cursor.observation.join()) {
 *   throw new Error("the same place in the same episode");
 * }
 * ```
 */
export class EpisodeCursor {
  #seeds: Rng;
  #seed = 0;
  #started = false;
  #actions: number[] = [];
  #return = 0;
  #observation: Float32Array = new Float32Array(0);
  #env: Env | null = null;

  /** Creates a cursor whose episodes are reset with seeds drawn from `seed`'s stream. */
  constructor(seed: number) {
    this.#seeds = new Rng(seed);
  }

  /** The sum of the current episode's rewards so far. */
  get episodeReturn(): number {
    return this.#return;
  }

  /** The number of steps taken in the current episode. */
  get episodeLength(): number {
    return this.#actions.length;
  }

  /** The observation to act on (borrowed). */
  get observation(): Float32Array {
    return this.#observation;
  }

  /**
   * Makes `env` the environment to step and returns the observation to act on. The first call
   * starts the first episode; an environment other than the last one is put where the episode
   * stands by replaying it.
   *
   * @throws {TypeError} When the replay does not arrive at the saved observation and return.
   */
  observe(env: Env): Float32Array {
    if (!this.#started) this.#start(env);
    else if (env !== this.#env) this.#replay(env);
    this.#env = env;
    return this.#observation;
  }

  /** Takes `action` in the environment of the last {@linkcode EpisodeCursor.observe}. */
  step(action: number): StepResult<unknown> {
    if (this.#env === null) throw new TypeError("Cannot step the episode: call observe(env) first");
    const result = this.#env.step(action);
    this.#actions.push(action);
    this.#return += result.reward;
    this.#observation = result.observation;
    return result;
  }

  /** Starts the next episode (after one ended) and returns its first observation. */
  next(): Float32Array {
    if (this.#env === null) throw new TypeError("Cannot start an episode: call observe(env) first");
    this.#start(this.#env);
    return this.#observation;
  }

  /** The cursor's state: JSON, and the episode's actions and observation as `prefix`-named arrays. */
  getState(prefix: string): { json: EpisodeCursorJson; arrays: AgentArray[] } {
    return {
      json: {
        seeds: this.#seeds.getState() as unknown as JsonObject,
        seed: this.#seed,
        started: this.#started,
        episodeReturn: this.#return,
      },
      arrays: [
        {
          name: prefix + "actions",
          shape: [this.#actions.length],
          data: Int32Array.from(this.#actions),
        },
        {
          name: prefix + "observation",
          shape: [this.#observation.length],
          data: this.#observation.slice(),
        },
      ],
    };
  }

  /**
   * Restores a state from {@linkcode EpisodeCursor.getState}; the next
   * {@linkcode EpisodeCursor.observe} replays the episode.
   */
  setState(saved: { json: JsonValue; arrays: AgentArray[] }, prefix: string): void {
    const j = saved.json as Partial<EpisodeCursorJson> | null;
    if (
      typeof j !== "object" || j === null || typeof j.started !== "boolean" ||
      !Number.isInteger(j.seed) || !Number.isFinite(j.episodeReturn)
    ) throw new TypeError("Cannot restore the episode: the state is damaged");
    const seeds = new Rng();
    seeds.setState(j.seeds as unknown as RngState);
    this.#seeds = seeds;
    this.#seed = j.seed!;
    this.#started = j.started;
    this.#return = j.episodeReturn!;
    const state: AgentState = { json: {}, arrays: saved.arrays };
    this.#actions = Array.from(findArray(state, prefix + "actions", Int32Array));
    this.#observation = findArray(state, prefix + "observation", Float32Array).slice();
    this.#env = null;
  }

  #start(env: Env): void {
    this.#seed = this.#seeds.nextUint32();
    this.#observation = env.reset({ seed: this.#seed }).observation;
    this.#actions = [];
    this.#return = 0;
    this.#started = true;
  }

  #replay(env: Env): void {
    let observation = env.reset({ seed: this.#seed }).observation;
    let total = 0, ended = false;
    for (const action of this.#actions) {
      if (ended) break;
      const result = env.step(action);
      total += result.reward;
      observation = result.observation;
      ended = result.terminated || result.truncated;
    }
    const same = !ended && total === this.#return &&
      observation.length === this.#observation.length &&
      observation.every((x, i) => Object.is(x, this.#observation[i]));
    if (!same) {
      throw new TypeError(
        `Cannot restore the episode: replaying its ${this.#actions.length} actions does not ` +
          "arrive where it was saved (is it another environment?)",
      );
    }
    this.#observation = observation;
  }
}

// ---------------------------------------------------------------------------------------------
// Tabular agent

/** Options of {@linkcode TabularAgent}, with their defaults. */
export interface TabularAgentOptions {
  /** "q-learning" (max target) or "sarsa" (on-policy target). Default "q-learning". */
  algorithm: TabularAlgorithm;
  /** Step size α in (0, 1] (`learningRate` is accepted as another name). Default 0.1. */
  stepSize: number;
  /** The discount γ in [0, 1]. Default 0.99. */
  gamma: number;
  /** Exploration ε: a constant, or a ramp over environment steps. Default 1 → 0.05 in 10 000. */
  epsilon: number | LinearRamp;
  /** Every Q(s, a) at the start. Default 0. */
  initialValue: number;
  /** Bins per observation dimension; default [1, 6, 6, 12] on cartpole, [3, 12] when masked. */
  bins: number[];
  /** Report the mean squared TD error through `onTrain` every this many steps. Default 1000. */
  logInterval: number;
  /** Seeds exploration and the training episodes. Default 0. */
  seed: number;
}

/** The sizes and the name of the environment a {@linkcode TabularAgent} is built for. */
export interface TabularEnvSpec extends EnvSpec {
  /** The environment's name: "cartpole" or "cartpole-masked". */
  readonly id: string;
}

const TABULAR_OPTION_NAMES = [
  "algorithm",
  "stepSize",
  "learningRate",
  "gamma",
  "epsilon",
  "initialValue",
  "bins",
  "logInterval",
  "seed",
];

/**
 * The discretiser a tabular agent uses on an environment: CartPole's, full or masked.
 *
 * @param env The environment (its `id` decides).
 * @param algorithm The algorithm's name, for the error message.
 * @param bins Bins per observation dimension (default: {@linkcode cartPoleDiscretizer}'s).
 * @returns A new discretiser.
 * @throws {RangeError} For an environment whose observations have no discretiser here.
 *
 * @example
 * ```ts
 * import { tabularEncoder } from "./tabular_agent.ts";
 * const grid = tabularEncoder({ id: "cartpole", observationSize: 4, actionCount: 2 }, "sarsa");
 * if (grid.stateCount !== 432) throw new Error("1 × 6 × 6 × 12 states");
 * ```
 */
export function tabularEncoder(
  env: TabularEnvSpec,
  algorithm: string,
  bins?: number[],
): Discretizer {
  if (env.id === "cartpole" && env.observationSize === 4) return cartPoleDiscretizer({ bins });
  if (env.id === "cartpole-masked" && env.observationSize === 2) {
    return cartPoleDiscretizer({ bins, maskVelocity: true });
  }
  throw new RangeError(
    `Cannot train ${algorithm} on ${env.id ?? "this environment"}: tabular algorithms play ` +
      "cartpole and cartpole-masked only, whose observations are discretised into a table",
  );
}

/**
 * Q-learning or SARSA on a discretised CartPole, as an {@linkcode Agent}: ε-greedy behaviour with
 * random tie-breaking, the TD update of {@linkcode TabularQ.update}, and a greedy policy that
 * takes the lowest-numbered of equal actions (so evaluation never draws random numbers). The loop
 * is {@linkcode TabularQ.learn}'s, made resumable: its place in the episode, the SARSA action it
 * has committed to and every counter live in the agent, so consecutive `learn` calls make one
 * run, whatever the chunks, and {@linkcode TabularAgent.getState} captures all of it.
 *
 * @example
 * ```ts
 * import { CartPole } from "../envs/cartpole.ts";
 * import { TabularAgent } from "./tabular_agent.ts";
 * const env = new CartPole();
 * const agent = new TabularAgent(env, { epsilon: 0.1, seed: 2 });
 * const returns: number[] = [];
 * await agent.learn(env, { steps: 2000, onEpisode: (e) => returns.push(e.return) });
 * if (returns.length === 0) throw new Error("some episodes end within 2000 steps");
 * ```
 */
export class TabularAgent implements Agent {
  /** "q-learning" or "sarsa". */
  readonly kind: string;
  /** A table has no recurrent state. */
  readonly recurrent: boolean = false;
  /** The resolved options. */
  readonly options: Readonly<TabularAgentOptions>;
  /** The environment the agent is built for. */
  readonly spec: TabularEnvSpec;
  /** The Q-table and its discretiser. */
  readonly table: TabularQ;
  #rng: Rng; // exploration and tie-breaking
  #cursor: EpisodeCursor;
  #values: Float64Array;
  #steps = 0;
  #episodes = 0;
  #action = -1; // the action chosen for the next step (SARSA's commitment), or −1
  #tdSum = 0; // squared TD errors since the last report
  #tdCount = 0;

  /**
   * Builds the table for an environment.
   *
   * @throws {RangeError} For an environment without a discretiser or an option out of range.
   * @throws {TypeError} For an option the agent does not have.
   */
  constructor(env: TabularEnvSpec, options: Partial<TabularAgentOptions> = {}) {
    const given = { ...options } as Partial<TabularAgentOptions> & { learningRate?: number };
    const algorithm = given.algorithm ?? "q-learning";
    for (const key of Object.keys(given)) {
      if (!TABULAR_OPTION_NAMES.includes(key)) {
        throw new TypeError(
          `Cannot use option ${key} with ${algorithm}: its options are ${
            TABULAR_OPTION_NAMES.join(", ")
          }`,
        );
      }
    }
    if (given.learningRate !== undefined) {
      if (given.stepSize !== undefined && given.stepSize !== given.learningRate) {
        throw new RangeError(
          `Cannot use ${algorithm} with stepSize ${given.stepSize} and learningRate ` +
            `${given.learningRate}: they name the same step size`,
        );
      }
      given.stepSize = given.learningRate;
    }
    const encoder = tabularEncoder(env, algorithm, given.bins);
    this.table = new TabularQ(encoder, positiveInteger(env.actionCount, "actionCount"), {
      algorithm,
      stepSize: given.stepSize,
      gamma: given.gamma,
      epsilon: given.epsilon,
      initialValue: given.initialValue,
      seed: given.seed,
    });
    const resolved = this.table.options;
    this.options = {
      ...resolved,
      bins: encoder.options.bins,
      logInterval: positiveInteger(given.logInterval ?? 1000, "logInterval"),
    };
    this.kind = resolved.algorithm;
    this.spec = { id: env.id, observationSize: env.observationSize, actionCount: env.actionCount };
    const root = new Rng(resolved.seed);
    this.#rng = root.fork();
    this.#cursor = new EpisodeCursor(root.nextUint32());
    this.#values = new Float64Array(env.actionCount);
  }

  /** Environment steps learned so far. */
  get steps(): number {
    return this.#steps;
  }

  /** Episodes finished while learning. */
  get episodes(): number {
    return this.#episodes;
  }

  /** The exploration rate at the current step. */
  get epsilon(): number {
    const epsilon = this.options.epsilon;
    return typeof epsilon === "number" ? epsilon : rampValue(epsilon, this.#steps);
  }

  /** A table has no recurrent state. */
  initialState(): undefined {
    return undefined;
  }

  /** The greedy action: the largest Q(s, ·), the lowest-numbered among equals. */
  act(observation: Float32Array): Promise<ActResult> {
    return Promise.resolve({ action: this.table.act(observation), state: undefined });
  }

  /**
   * Learns from `options.steps` environment steps, continuing where the last call (or the
   * restored state) stopped. Every `logInterval` steps `onTrain` gets the mean squared TD error
   * since the last report as `loss`, and the exploration rate.
   */
  learn(env: Env, options: LearnOptions): Promise<void> {
    const steps = options.steps;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new RangeError(`Cannot learn: steps is ${steps}, expected an integer >= 0`);
    }
    this.#checkEnv(env);
    const sarsa = this.options.algorithm === "sarsa";
    const encoder = this.table.encoder;
    let state = encoder.encode(this.#cursor.observe(env));
    for (let i = 0; i < steps; i++) {
      if (this.#action < 0) this.#action = this.#explore(state);
      const action = this.#action;
      const { observation, reward, terminated, truncated } = this.#cursor.step(action);
      this.#steps++;
      const nextState = encoder.encode(observation);
      // SARSA commits to its next action before the update; Q-learning picks it afterwards.
      const nextAction = sarsa && !terminated ? this.#explore(nextState) : -1;
      const error = this.table.update(state, action, reward, nextState, terminated, nextAction);
      this.#tdSum += error * error;
      this.#tdCount++;
      if (this.#steps % this.options.logInterval === 0) {
        const loss = this.#tdSum / this.#tdCount;
        this.#tdSum = 0;
        this.#tdCount = 0;
        options.onTrain?.({ step: this.#steps, loss, epsilon: this.epsilon });
      }
      if (terminated || truncated) {
        this.#episodes++;
        options.onEpisode?.({
          step: this.#steps,
          episode: this.#episodes,
          return: this.#cursor.episodeReturn,
          length: this.#cursor.episodeLength,
        });
        state = encoder.encode(this.#cursor.next());
        this.#action = -1;
      } else {
        state = nextState;
        this.#action = nextAction;
      }
    }
    return Promise.resolve();
  }

  /** Greedy evaluation: `episodes` episodes (default 100), the environment reset with `seed`. */
  evaluate(env: Env, options: EvaluateOptions = {}): Promise<Evaluation> {
    this.#checkEnv(env);
    return evaluateGreedy(env, (o) => this.act(o), () => undefined, () => {}, options);
  }

  /**
   * Everything needed to continue the run exactly: the table as the little-endian bytes of its
   * float64 values (array "q"), the episode so far ("episode.*"), counters and RNG states.
   */
  getState(): Promise<AgentState> {
    const cursor = this.#cursor.getState("episode.");
    const json: JsonObject = {
      kind: this.kind,
      options: this.options as unknown as JsonObject,
      spec: { ...this.spec },
      steps: this.#steps,
      episodes: this.#episodes,
      action: this.#action,
      tdSum: this.#tdSum,
      tdCount: this.#tdCount,
      rng: this.#rng.getState() as unknown as JsonObject,
      cursor: cursor.json,
    };
    const q = this.table.table();
    return Promise.resolve({
      json,
      arrays: [
        {
          name: "q",
          shape: [this.table.stateCount, this.table.actionCount, 8],
          data: float64Bytes(q),
        },
        ...cursor.arrays,
      ],
    });
  }

  /** Restores a state from {@linkcode TabularAgent.getState}; the options must match. */
  setState(state: AgentState): void {
    const j = state.json;
    if (j.kind !== this.kind) {
      throw new TypeError(
        `Cannot restore the ${this.kind} agent from a state of kind "${String(j.kind)}"`,
      );
    }
    if (JSON.stringify(j.options) !== JSON.stringify(this.options)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: the state has other options`);
    }
    if (JSON.stringify(j.spec) !== JSON.stringify(this.spec)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: the state is for another env`);
    }
    const bytes = findArray(
      state,
      "q",
      Uint8Array,
      this.table.stateCount * this.table.actionCount * 8,
    );
    for (const key of ["steps", "episodes", "tdCount"]) {
      if (!(Number.isInteger(j[key]) && (j[key] as number) >= 0)) {
        throw new TypeError(`Cannot restore the ${this.kind} agent: ${key} is not a count`);
      }
    }
    const action = j.action as number;
    if (!(Number.isInteger(action) && action >= -1 && action < this.spec.actionCount)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: the next action is ${action}`);
    }
    if (!Number.isFinite(j.tdSum)) {
      throw new TypeError(`Cannot restore the ${this.kind} agent: tdSum is ${j.tdSum}`);
    }
    const table: TabularQState = { ...this.table.save(), q: Array.from(float64FromBytes(bytes)) };
    this.table.load(table);
    this.#cursor.setState({ json: j.cursor, arrays: state.arrays }, "episode.");
    this.#rng.setState(j.rng as unknown as RngState);
    this.#steps = j.steps as number;
    this.#episodes = j.episodes as number;
    this.#tdCount = j.tdCount as number;
    this.#tdSum = j.tdSum as number;
    this.#action = action;
  }

  /** Writes the full state to a checkpoint file. */
  async save(path: string): Promise<void> {
    await writeAgentState(path, await this.getState());
  }

  /** Restores the full state from a file written by {@linkcode TabularAgent.save}. */
  async load(path: string): Promise<void> {
    this.setState(await readAgentState(path));
  }

  /** The ε-greedy action in a state, ties broken at random (TabularQ's exploration). */
  #explore(state: number): number {
    const epsilon = this.epsilon;
    if (epsilon > 0 && this.#rng.uniform() < epsilon) return this.#rng.int(this.spec.actionCount);
    for (let a = 0; a < this.#values.length; a++) this.#values[a] = this.table.value(state, a);
    return argmaxRandom(this.#values, this.#rng);
  }

  #checkEnv(env: EnvSpec): void {
    if (
      env.observationSize !== this.spec.observationSize || env.actionCount !== this.spec.actionCount
    ) {
      throw new TypeError(
        `Cannot use an environment with ${env.observationSize} observations and ${env.actionCount} actions: the ${this.kind} agent was built for ${this.spec.observationSize} and ${this.spec.actionCount}`,
      );
    }
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
