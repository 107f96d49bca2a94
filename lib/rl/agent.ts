/**
 * What every agent shares, written once: the {@linkcode Agent} contract (learn, act through the
 * {@linkcode Policy} interface, evaluate, save to and load from bytes), the reports `learn` gives its callbacks,
 * periodic evaluation, and {@linkcode BaseAgent}, which holds the resolved options, the
 * environment's sizes, the step, episode and update counters and the saved-state header with its
 * checks.
 *
 * The training loops build on it: {@linkcode OffPolicyAgent} (DQN, DRQN) and
 * {@linkcode OnPolicyAgent} (A2C, REINFORCE); the tabular and bandit agents write their own small
 * loops on the same base.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { type EnvCore, type EnvSpec, specOf } from "../envs/env.ts";
import type { TrainingEnv } from "./env_input.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../io/checkpoint_codec.ts";
import type { JsonObject } from "../io/json.ts";
import type { RecurrentState, Sequential } from "../nn/sequential.ts";
import { optionDifference } from "./_options.ts";
import { evaluate, type EvaluationOptions, type EvaluationResult } from "./evaluation.ts";
import type { ActOptions, Policy, PolicyStep } from "./policy.ts";
import type { AgentState, NamedArrays } from "./state.ts";

/** The recurrent state an agent's policy carries: the networks' state, or undefined. */
export type AgentPolicyState = RecurrentState | undefined;

/** One finished training episode, as passed to `onEpisode` (the metrics.jsonl "episode" line). */
export interface EpisodeReport {
  /** The agent's total environment steps when the episode ended. */
  step: number;
  /** The agent's episode counter, from 1. */
  episode: number;
  /** The undiscounted sum of rewards. */
  return: number;
  /** The number of steps. */
  length: number;
  /** The episode's regret, where the environment reports one (a contextual bandit's). */
  regret?: number;
}

/**
 * Training statistics, as passed to `onUpdate` every `logInterval` updates (the metrics.jsonl
 * "train" line): the loss and what the algorithm measures (the exploration rate and mean Q of a
 * value-based agent, the entropy and value loss of an actor-critic).
 */
export interface TrainReport {
  /** The agent's total environment steps. */
  step: number;
  /**
   * The loss of the last update (the TD loss, or the actor-critic total); absent where there is
   * none (a bandit's learning rule).
   */
  loss?: number;
  /** The number of gradient updates so far. */
  updates?: number;
  /** Any other statistic, by its fixed name (epsilon, qMean, entropy, valueLoss, …). */
  [statistic: string]: number | undefined;
}

/** A periodic evaluation during training, as passed to `onEvaluation` (the "eval" line). */
export interface EvaluationReport extends EvaluationResult {
  /** The agent's total environment steps when it was evaluated. */
  step: number;
}

/**
 * What a callback returns: `false` (or a promise of it) stops training after the step or update
 * in progress; anything else lets it go on.
 */
export type CallbackResult = unknown;

/** Evaluate every so many steps during training. */
export interface PeriodicEvaluation {
  /** The environment to evaluate on (not the one trained on). */
  env: EnvCore<unknown>;
  /** Evaluate each time the step count passes a multiple of this. */
  every: number;
  /** Episodes per evaluation (default 10). */
  episodes?: number;
  /** Seeds the environment before each evaluation, so every one sees the same episodes (default 0). */
  seed?: number;
  /** Greedy (default) or sampled actions. */
  deterministic?: boolean;
}

/** Options of {@linkcode Agent.learn}. */
export interface LearnOptions {
  /**
   * How many environment steps to take in this call (summed over copies for vector training; an
   * agent that steps N copies at once takes whole vector steps, so it may take up to N − 1 more).
   */
  steps: number;
  /** Called after each finished episode. */
  onEpisode?: (report: EpisodeReport) => CallbackResult;
  /** Called every `logInterval` updates (an agent option) with the latest statistics. */
  onUpdate?: (report: TrainReport) => CallbackResult;
  /** Called after each periodic evaluation. */
  onEvaluation?: (report: EvaluationReport) => CallbackResult;
  /** Evaluate the policy every so many steps. */
  evaluation?: PeriodicEvaluation;
}

/** What {@linkcode Agent.learn} returns. */
export interface LearnResult {
  /** Environment steps taken in this call. */
  steps: number;
  /** True when a callback stopped training before `steps` were taken. */
  stopped: boolean;
}

/** The contract every agent fulfils; all of them are {@linkcode BaseAgent}s. */
export interface Agent extends Policy<AgentPolicyState> {
  /** The agent's name: "dqn", "drqn", "a2c", "reinforce", "q-learning", "ucb", … */
  readonly kind: string;
  /** True when the policy carries a recurrent state between steps. */
  readonly recurrent: boolean;
  /** The resolved options. */
  readonly options: Readonly<object>;
  /** The sizes the agent is built for. */
  readonly spec: EnvSpec;
  /** Environment steps learned so far. */
  readonly steps: number;
  /** Episodes finished while learning. */
  readonly episodes: number;
  /** Updates made so far. */
  readonly updates: number;
  /**
   * Drives `env` for `options.steps` environment steps, learning as it goes. Agents that step N
   * copies take the N environments (or a vector environment), or one that they copy.
   */
  learn(env: TrainingEnv, options: LearnOptions): Promise<LearnResult>;
  /** Evaluates the policy over whole episodes (greedy by default). */
  evaluate(env: EnvCore<unknown>, options?: EvaluationOptions): Promise<EvaluationResult>;
  /** The network whose output's argmax is the greedy action (for ONNX export), if there is one. */
  policyNetwork(): Sequential | undefined;
  /** Captures everything needed to continue the run exactly. */
  getState(): Promise<AgentState>;
  /** Restores a state from {@linkcode Agent.getState}; its options and sizes must match. */
  setState(state: AgentState): void;
  /**
   * Encodes {@linkcode Agent.getState} in the checkpoint format (the bytes of a file that
   * `saveAgent` of `@rnnrl/rnnrl/run` writes, or of a download or an IndexedDB entry).
   */
  save(): Promise<Uint8Array>;
}

/** A class of agents: built for an environment's sizes from options, on a backend. */
export type AgentClass<A extends BaseAgent<object>> = new (
  spec: EnvSpec,
  options: never,
  backend?: Backend,
) => A;

/**
 * Decodes an agent state from the bytes of {@linkcode BaseAgent.save}.
 *
 * @param bytes The encoded state.
 * @param source Where the bytes came from, for error messages (a file path, say).
 * @throws {CheckpointError} When the bytes are not a whole, undamaged checkpoint.
 */
export function agentStateFromBytes(bytes: Uint8Array, source?: string): AgentState {
  const checkpoint = decodeCheckpoint(bytes, { source });
  return { json: checkpoint.header, arrays: checkpoint.arrays };
}

/**
 * What every agent repeats: the options, the environment's sizes, the counters, the policy's
 * state handling, evaluation, and saving and restoring with the checks of a saved state's kind,
 * options and sizes. A subclass writes its loop (`collect`), its policy (`act`) and its own part
 * of the saved state (`saveState` / `restoreState`).
 */
export abstract class BaseAgent<Options extends object> implements Agent {
  /** The agent's name, as the saved state and the command line spell it. */
  readonly kind: string;
  /** The resolved options. */
  readonly options: Readonly<Options>;
  /** The sizes the agent is built for. */
  readonly spec: EnvSpec;
  /** True when the policy carries a recurrent state. */
  abstract readonly recurrent: boolean;
  /** Environment steps so far; the loops advance it. */
  protected stepCount = 0;
  /** Episodes finished so far. */
  protected episodeCount = 0;
  /** Updates made so far. */
  protected updateCount = 0;
  readonly #name: string;

  /**
   * Holds what every agent has; the subclass builds its networks after this.
   *
   * @param kind The agent's name in saved states.
   * @param name The agent as messages name it ("DQN").
   * @param spec The environment's sizes (and anything else the agent is built for).
   * @param options The resolved, checked options.
   */
  protected constructor(kind: string, name: string, spec: EnvSpec, options: Options) {
    this.kind = kind;
    this.#name = name;
    this.spec = spec;
    this.options = options;
  }

  /** Environment steps learned so far. */
  get steps(): number {
    return this.stepCount;
  }

  /** Episodes finished while learning. */
  get episodes(): number {
    return this.episodeCount;
  }

  /** Updates made so far. */
  get updates(): number {
    return this.updateCount;
  }

  /** A fresh recurrent state for one episode (undefined for a feed-forward policy). */
  abstract initialState(): AgentPolicyState;

  /** The action on one observation; see {@linkcode Policy.act}. */
  abstract act(
    observation: Float32Array,
    state: AgentPolicyState,
    options?: ActOptions,
  ): Promise<PolicyStep<AgentPolicyState>>;

  /** Releases a recurrent state. */
  abstract disposeState(state: AgentPolicyState): void;

  /** The network whose output's argmax is the greedy action; none by default. */
  policyNetwork(): Sequential | undefined {
    return undefined;
  }

  /**
   * Drives `env` for `options.steps` environment steps, learning as it goes; consecutive calls
   * continue one run. Callbacks can stop it early, and `options.evaluation` evaluates the policy
   * every so many steps.
   */
  async learn(env: TrainingEnv, options: LearnOptions): Promise<LearnResult> {
    const steps = options.steps;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new RangeError(`Cannot learn: steps is ${steps}, expected an integer >= 0`);
    }
    const evaluation = options.evaluation;
    if (evaluation) {
      if (!(Number.isInteger(evaluation.every) && evaluation.every >= 1)) {
        throw new RangeError(
          `Cannot evaluate every ${evaluation.every} steps: expected a positive integer`,
        );
      }
      this.checkEnv(evaluation.env);
    }
    const session = new LearnSession(this, options);
    const start = this.stepCount;
    await this.collect(env, start + steps, session);
    return { steps: this.stepCount - start, stopped: session.stopped };
  }

  /**
   * The training loop: steps `env` until the step count reaches `until` or `session.stopped`,
   * reporting through `session` (episodes, updates, and `afterSteps` after each step).
   */
  protected abstract collect(env: TrainingEnv, until: number, session: LearnSession): Promise<void>;

  /** Evaluates the policy over whole episodes: greedy by default, with the action masks. */
  evaluate(env: EnvCore<unknown>, options: EvaluationOptions = {}): Promise<EvaluationResult> {
    this.checkEnv(env);
    return evaluate(env, this, options);
  }

  /** Everything needed to continue the run exactly: the header, and the agent's own state. */
  async getState(): Promise<AgentState> {
    const own = await this.saveState();
    return {
      json: {
        kind: this.kind,
        options: JSON.parse(JSON.stringify(this.options)) as JsonObject,
        spec: { ...this.spec } as unknown as JsonObject,
        steps: this.stepCount,
        episodes: this.episodeCount,
        updates: this.updateCount,
        ...own.json,
      },
      arrays: own.arrays,
    };
  }

  /**
   * Restores a state from {@linkcode BaseAgent.getState}.
   *
   * @throws {TypeError} Naming what does not fit: the kind, the first option that differs, the
   * environment's sizes, or a damaged part.
   */
  setState(state: AgentState): void {
    const j = state.json, name = this.#name;
    if (j.kind !== this.kind) {
      throw new TypeError(`Cannot restore ${name} from a state of kind "${String(j.kind)}"`);
    }
    // An option the state does not mention was added after it was saved: it had its default.
    const saved = { ...this.optionDefaults(), ...(j.options as JsonObject) };
    const difference = optionDifference(saved, JSON.parse(JSON.stringify(this.options)));
    if (difference) {
      throw new TypeError(`Cannot restore ${name}: the state was saved with ${difference}`);
    }
    const spec = j.spec as unknown as EnvSpec | undefined;
    if (
      spec?.observationSize !== this.spec.observationSize ||
      spec?.actionCount !== this.spec.actionCount
    ) {
      throw new TypeError(
        `Cannot restore ${name}: the state is for ${spec?.observationSize} observations and ` +
          `${spec?.actionCount} actions, not ${this.spec.observationSize} and ${this.spec.actionCount}`,
      );
    }
    for (const key of ["steps", "episodes", "updates"]) {
      if (!(Number.isInteger(j[key]) && (j[key] as number) >= 0)) {
        throw new TypeError(`Cannot restore ${name}: ${key} is not a count`);
      }
    }
    this.restoreState(state);
    this.stepCount = j.steps as number;
    this.episodeCount = j.episodes as number;
    this.updateCount = j.updates as number;
  }

  /**
   * The full state in the checkpoint format; {@linkcode BaseAgent.load} reads it back.
   *
   * @example
   * ```ts
   * import { CartPole, DQN } from "@rnnrl/rnnrl";
   * const agent = new DQN(new CartPole(), { hiddenSizes: [8], seed: 4 });
   * await agent.learn(new CartPole({ seed: 1 }), { steps: 300 });
   * const bytes = await agent.save(); // for a file, a download, IndexedDB, …
   * const copy = DQN.load(bytes);
   * if (copy.steps !== 300) throw new Error("the copy continues where the agent stopped");
   * ```
   */
  async save(): Promise<Uint8Array> {
    const state = await this.getState();
    return encodeCheckpoint({ header: state.json, arrays: state.arrays });
  }

  /**
   * Builds an agent of this class from a saved state; its options and sizes come from the state.
   *
   * @example
   * ```ts
   * import { CartPole, DQN } from "@rnnrl/rnnrl";
   * const agent = new DQN(new CartPole(), { hiddenSizes: [8], seed: 4 });
   * const copy = DQN.fromState(await agent.getState());
   * if (copy.options.seed !== 4) throw new Error("the options come with the state");
   * ```
   */
  static fromState<A extends BaseAgent<object>>(
    this: AgentClass<A>,
    state: AgentState,
    backend?: Backend,
  ): A {
    return restoreAgent(this, state, backend);
  }

  /**
   * Builds an agent of this class from the bytes of {@linkcode BaseAgent.save}; its options and
   * sizes come from them.
   *
   * @throws {CheckpointError} When the bytes are damaged.
   * @throws {TypeError} When they hold another kind of agent, or a damaged part of one.
   *
   * @example
   * ```ts
   * import { A2C, CartPole, createCpuBackend } from "@rnnrl/rnnrl";
   * const env = new CartPole({ seed: 1, maskVelocity: true });
   * const agent = new A2C(env, { cellUnits: 8, seed: 2 });
   * await agent.learn(env, { steps: 128 });
   * const copy = A2C.load(await agent.save(), createCpuBackend());
   * if (copy.steps !== 128 || copy.options.cellUnits !== 8) throw new Error("the same LSTM agent");
   * ```
   */
  static load<A extends BaseAgent<object>>(
    this: AgentClass<A>,
    bytes: Uint8Array,
    backend?: Backend,
  ): A {
    return restoreAgent(this, agentStateFromBytes(bytes), backend);
  }

  /**
   * The defaults of the agent's options, which fill in the options a saved state predates (none
   * by default: every option must then be in the state).
   */
  protected optionDefaults(): object {
    return {};
  }

  /** The agent's own part of the saved state (the header is the base's). */
  protected abstract saveState(): Promise<NamedArrays<JsonObject>>;

  /** Restores what {@linkcode BaseAgent.saveState} saved (the header is already checked). */
  protected abstract restoreState(state: AgentState): void;

  /** Checks that an environment has the sizes (and kind of action) the agent was built for. */
  protected checkEnv(env: EnvCore<unknown> | EnvSpec): void {
    const spec = specOf(env);
    const describe = (s: EnvSpec) =>
      `${s.observationSize} observations and ` +
      (s.actionBounds ? `a continuous action` : `${s.actionCount} actions`);
    if (
      spec.observationSize !== this.spec.observationSize ||
      spec.actionCount !== this.spec.actionCount ||
      Boolean(spec.actionBounds) !== Boolean(this.spec.actionBounds)
    ) {
      throw new TypeError(
        `Cannot use an environment with ${describe(spec)}: the ${this.#name} was built for ${
          describe(this.spec)
        }`,
      );
    }
  }

  /** Checks that an observation has the agent's observation size. */
  protected checkObservation(observation: Float32Array): void {
    if (observation.length !== this.spec.observationSize) {
      throw new TypeError(
        `Cannot act: the observation has ${observation.length} values, expected ${this.spec.observationSize}`,
      );
    }
  }
}

/** An agent of class `type` built from a saved state's options and sizes, then restored. */
function restoreAgent<A extends BaseAgent<object>>(
  type: AgentClass<A>,
  state: AgentState,
  backend?: Backend,
): A {
  const agent = new type(
    state.json.spec as unknown as EnvSpec,
    state.json.options as never,
    backend,
  );
  agent.setState(state);
  return agent;
}

/**
 * One `learn` call's reporting: it numbers episodes, hands reports to the callbacks, runs the
 * periodic evaluations when they are due, and remembers when a callback asked to stop.
 */
export class LearnSession {
  /** True once a callback returned false. */
  stopped = false;
  readonly #agent: BaseAgent<object>;
  readonly #options: LearnOptions;
  #evaluatedAt: number;

  /** A session for one `learn` call of `agent`. */
  constructor(agent: BaseAgent<object>, options: LearnOptions) {
    this.#agent = agent;
    this.#options = options;
    this.#evaluatedAt = agent.steps;
  }

  /** Reports a finished episode. */
  async episode(report: EpisodeReport): Promise<void> {
    if (this.#options.onEpisode) this.#note(await this.#options.onEpisode(report));
  }

  /** True when training statistics are due after `updates` updates (every `logInterval`). */
  wantsStats(updates: number, logInterval: number): boolean {
    return this.#options.onUpdate !== undefined && updates % logInterval === 0;
  }

  /** Reports training statistics. */
  async update(report: TrainReport): Promise<void> {
    if (this.#options.onUpdate) this.#note(await this.#options.onUpdate(report));
  }

  /** Runs a periodic evaluation when the step count has passed a multiple of its interval. */
  async afterSteps(): Promise<void> {
    const evaluation = this.#options.evaluation;
    if (!evaluation) return;
    const steps = this.#agent.steps;
    const due =
      Math.floor(steps / evaluation.every) > Math.floor(this.#evaluatedAt / evaluation.every);
    this.#evaluatedAt = steps;
    if (!due) return;
    const result = await this.#agent.evaluate(evaluation.env, {
      episodes: evaluation.episodes ?? 10,
      seed: evaluation.seed ?? 0,
      deterministic: evaluation.deterministic,
    });
    if (this.#options.onEvaluation) {
      this.#note(await this.#options.onEvaluation({ step: steps, ...result }));
    }
  }

  #note(result: unknown): void {
    if (result === false) this.stopped = true;
  }
}
