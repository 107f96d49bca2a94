/**
 * What the deep RL agents (DQN, DRQN, REINFORCE, A2C) have in common: the {@linkcode Agent}
 * contract, the progress reports of `learn`, the checkpointable {@linkcode AgentState}, greedy
 * evaluation, and small helpers for saving networks and optimizers as named arrays.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { Env } from "../envs/env.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../io/checkpoint.ts";
import type { JsonObject, JsonValue } from "../io/json.ts";
import type { Optimizer } from "../nn/optimizers.ts";
import type { RecurrentState, Sequential } from "../nn/sequential.ts";

/** The sizes an agent's networks are built for; every {@linkcode Env} is one. */
export interface EnvSpec {
  /** The length of every observation. */
  readonly observationSize: number;
  /** The number of discrete actions. */
  readonly actionCount: number;
}

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
}

/** A training progress report, as passed to `onTrain` (the metrics.jsonl "train" line). */
export interface TrainReport {
  /** The agent's total environment steps. */
  step: number;
  /** The loss of the last update (the TD loss, or the actor-critic total). */
  loss: number;
  /** The exploration rate now (value-based agents). */
  epsilon?: number;
  /** The mean Q(s, a) of the last batch (value-based agents). */
  qMean?: number;
  /** The mean policy entropy of the last update (policy-gradient agents). */
  entropy?: number;
  /** The value loss of the last update (agents with a critic). */
  valueLoss?: number;
  /** The number of gradient updates so far. */
  updates?: number;
}

/** Options of an agent's `learn`. */
export interface LearnOptions {
  /** How many environment steps to take in this call (summed over copies for vector envs). */
  steps: number;
  /** Called after each finished episode. */
  onEpisode?: (report: EpisodeReport) => void;
  /** Called every `logInterval` updates (an agent option) with the latest losses. */
  onTrain?: (report: TrainReport) => void;
}

/** Options of {@linkcode evaluateGreedy} and an agent's `evaluate`. */
export interface EvaluateOptions {
  /** The number of episodes (default 100). */
  episodes?: number;
  /** Seeds the environment at the first reset, so the same seed sees the same episodes. */
  seed?: number;
  /** A safety cap on an episode's length for environments without a time limit (default 100 000). */
  maxEpisodeSteps?: number;
}

/** The result of a greedy evaluation (the fields of eval.json). */
export interface Evaluation {
  /** The number of episodes. */
  episodes: number;
  /** The mean undiscounted return. */
  meanReturn: number;
  /** The standard deviation of the returns (population). */
  stdReturn: number;
  /** The seed the environment was reset with. */
  seed: number;
  /** Every episode's return. */
  returns: number[];
  /** Every episode's length. */
  lengths: number[];
}

/** One named typed array of an {@linkcode AgentState} (a checkpoint array). */
export interface AgentArray {
  /** A unique name such as "online.layers.0.w" or "replay.observations". */
  name: string;
  /** The dimensions, outermost first. */
  shape: number[];
  /** The elements, row-major. */
  data: Float32Array | Uint8Array | Int32Array;
}

/**
 * Everything needed to continue a training run exactly: small state as JSON (options, counters,
 * RNG states) and large state as named typed arrays (parameters, optimizer moments, replay).
 */
export interface AgentState {
  /** JSON-serialisable small state; `kind` names the agent. */
  json: JsonObject;
  /** Named typed arrays. */
  arrays: AgentArray[];
}

/** The result of an agent's `act`. */
export interface ActResult {
  /** The chosen action. */
  action: number;
  /** The recurrent state after the step (undefined for feed-forward agents); owned by the caller. */
  state: RecurrentState | undefined;
}

/**
 * An environment whose full state (including its RNG) can be saved and restored. Agents save it
 * with their own state when the environment they learn on provides these methods, so a resumed
 * run continues the very same episode; other environments start a fresh episode on resume.
 */
export interface SnapshotEnv {
  /** The environment's complete state as JSON. */
  getState(): JsonValue;
  /** Restores a state returned by {@linkcode SnapshotEnv.getState}. */
  setState(state: JsonValue): void;
}

/** The contract every deep RL agent here fulfils. */
export interface Agent {
  /** The agent's name: "dqn", "drqn", "reinforce" or "a2c". */
  readonly kind: string;
  /** True when the policy carries a recurrent state between steps. */
  readonly recurrent: boolean;
  /** Environment steps learned so far. */
  readonly steps: number;
  /** A fresh (zero) recurrent state for one episode, or undefined for feed-forward agents. */
  initialState(): RecurrentState | undefined;
  /**
   * The greedy action for one observation; `state` is borrowed and a new one returned. `mask`
   * (1 valid, 0 invalid, per action) is the environment's action mask, for agents that use it.
   */
  act(observation: Float32Array, state?: RecurrentState, mask?: Uint8Array): Promise<ActResult>;
  /** Drives `env` for `options.steps` environment steps, learning as it goes. */
  learn(env: Env, options: LearnOptions): Promise<void>;
  /** Greedy evaluation over whole episodes. */
  evaluate(env: Env, options?: EvaluateOptions): Promise<Evaluation>;
  /** Captures everything needed to continue the run exactly. */
  getState(): Promise<AgentState>;
  /** Restores a state from {@linkcode Agent.getState} (the options must match). */
  setState(state: AgentState): void;
  /** Writes {@linkcode Agent.getState} to a file in the checkpoint format. */
  save(path: string): Promise<void>;
  /** Reads a file written by {@linkcode Agent.save} and restores it. */
  load(path: string): Promise<void>;
}

/**
 * Runs greedy episodes with any policy that maps an observation and a recurrent state to an
 * action. The environment is reset with `seed` once, at the first episode.
 *
 * @param env The environment (it is reset).
 * @param act The policy, e.g. `(o, s) => agent.act(o, s)`.
 * @param initialState A fresh recurrent state per episode (or undefined).
 * @param dispose Releases a state the loop no longer needs.
 * @param options Episodes, seed and length cap.
 * @returns Mean, standard deviation and every return.
 */
export async function evaluateGreedy(
  env: Env,
  act: (observation: Float32Array, state?: RecurrentState) => Promise<ActResult>,
  initialState: () => RecurrentState | undefined,
  dispose: (state: RecurrentState) => void,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const episodes = options.episodes ?? 100;
  const seed = options.seed ?? 0;
  const cap = options.maxEpisodeSteps ?? 100_000;
  if (!(Number.isInteger(episodes) && episodes >= 1)) {
    throw new RangeError(`Cannot evaluate: episodes is ${episodes}, expected a positive integer`);
  }
  const returns: number[] = [], lengths: number[] = [];
  for (let e = 0; e < episodes; e++) {
    let { observation } = env.reset(e === 0 ? { seed } : {});
    let state = initialState();
    let total = 0, length = 0;
    for (;;) {
      const result = await act(observation, state);
      if (state) dispose(state);
      state = result.state;
      const step = env.step(result.action);
      total += step.reward;
      length++;
      observation = step.observation;
      if (step.terminated || step.truncated || length >= cap) break;
    }
    if (state) dispose(state);
    returns.push(total);
    lengths.push(length);
  }
  const mean = returns.reduce((a, b) => a + b, 0) / episodes;
  const variance = returns.reduce((a, r) => a + (r - mean) ** 2, 0) / episodes;
  return { episodes, meanReturn: mean, stdReturn: Math.sqrt(variance), seed, returns, lengths };
}

/** True when an environment offers {@linkcode SnapshotEnv}'s methods. */
export function isSnapshotEnv(env: unknown): env is SnapshotEnv {
  const e = env as Partial<SnapshotEnv>;
  return typeof e?.getState === "function" && typeof e?.setState === "function";
}

/** A model's parameters as named arrays, each name prefixed (e.g. "online."). */
export async function modelArrays(prefix: string, model: Sequential): Promise<AgentArray[]> {
  return (await model.getParameters()).map((a) => ({ ...a, name: prefix + a.name }));
}

/** An optimizer's moment buffers as named arrays, and its step count for the JSON side. */
export async function optimizerArrays(
  prefix: string,
  optimizer: Optimizer,
  model: Sequential,
): Promise<{ step: number; arrays: AgentArray[] }> {
  const s = await optimizer.getState(model);
  return { step: s.step, arrays: s.slots.map((a) => ({ ...a, name: prefix + a.name })) };
}

/** Finds a named array of a state, checking its type and size. */
export function findArray<T extends AgentArray["data"]>(
  state: AgentState,
  name: string,
  type: new (n: number) => T,
  size?: number,
): T {
  const found = state.arrays.find((a) => a.name === name);
  if (!found) throw new TypeError(`Cannot restore the agent: the state has no array "${name}"`);
  if (!(found.data instanceof type)) {
    throw new TypeError(`Cannot restore the agent: "${name}" has the wrong element type`);
  }
  if (size !== undefined && found.data.length !== size) {
    throw new TypeError(
      `Cannot restore the agent: "${name}" has ${found.data.length} values, expected ${size}`,
    );
  }
  return found.data as T;
}

/**
 * Checks that a saved state belongs to this agent: the same kind, options and environment sizes.
 *
 * @param name The agent as messages name it ("DQN", say).
 * @throws {TypeError} Naming what differs.
 */
export function checkStateHeader(
  state: AgentState,
  agent: { kind: string; options: unknown; spec: EnvSpec },
  name: string,
): void {
  const j = state.json;
  if (j.kind !== agent.kind) {
    throw new TypeError(`Cannot restore ${name} from a state of kind "${String(j.kind)}"`);
  }
  if (JSON.stringify(j.options) !== JSON.stringify(agent.options)) {
    throw new TypeError(`Cannot restore ${name}: the state was saved with other options`);
  }
  const spec = j.spec as unknown as EnvSpec | undefined;
  if (
    spec?.observationSize !== agent.spec.observationSize ||
    spec?.actionCount !== agent.spec.actionCount
  ) throw new TypeError(`Cannot restore ${name}: the state is for another environment`);
}

/** Loads the arrays named `prefix + parameter name` into a model. */
export function restoreModel(state: AgentState, prefix: string, model: Sequential): void {
  model.setParameters(model.parameters.map((p) => {
    const name = prefix + p.name;
    const data = findArray(state, name, Float32Array, p.value.size);
    // The same size is not enough: a transposed weight matrix would load without complaint.
    const saved = state.arrays.find((a) => a.name === name)!.shape;
    if (saved.length !== p.value.shape.length || saved.some((d, i) => d !== p.value.shape[i])) {
      throw new TypeError(
        `Cannot restore the agent: "${name}" has shape [${saved}], expected [${p.value.shape}]`,
      );
    }
    return { name: p.name, shape: [...p.value.shape], data };
  }));
}

/** Restores an optimizer from the arrays named `prefix + slot name` and its step count. */
export function restoreOptimizer(
  state: AgentState,
  prefix: string,
  optimizer: Optimizer,
  model: Sequential,
  step: number,
): void {
  const slots = state.arrays
    .filter((a) => a.name.startsWith(prefix))
    .map((a) => ({
      name: a.name.slice(prefix.length),
      shape: a.shape,
      data: findArray(state, a.name, Float32Array),
    }));
  optimizer.setState(model, { step, slots });
}

/** Reads a recurrent state back as one flat array per batch row: `[B, stateSize]`. */
export async function readRecurrentState(
  backend: Backend,
  state: RecurrentState,
): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for (const layer of state) for (const t of layer ?? []) parts.push(await backend.read(t));
  return interleaveRows(parts, batchOf(state));
}

/** The number of floats per batch row of a model's recurrent state. */
export function recurrentStateSize(model: Sequential): number {
  let size = 0;
  for (const layer of model.layers) if (layer.recurrent) size += 2 * layer.units;
  return size;
}

/**
 * Builds a recurrent state for `batch` rows from a flat `[batch, stateSize]` array (the inverse
 * of {@linkcode readRecurrentState}); LSTM layers take `[h, c]`.
 */
export function makeRecurrentState(
  model: Sequential,
  flat: Float32Array,
  batch: number,
): RecurrentState {
  const size = recurrentStateSize(model);
  if (flat.length !== batch * size) {
    throw new TypeError(
      `Cannot build a recurrent state: ${flat.length} values for ${batch} rows of ${size}`,
    );
  }
  const backend = model.backend;
  let offset = 0;
  return model.layers.map((layer) => {
    if (!layer.recurrent) return undefined;
    const parts: Tensor[] = [];
    for (let k = 0; k < 2; k++) {
      const data = new Float32Array(batch * layer.units);
      for (let b = 0; b < batch; b++) {
        data.set(
          flat.subarray(b * size + offset, b * size + offset + layer.units),
          b * layer.units,
        );
      }
      parts.push(backend.tensor(data, [batch, layer.units]));
      offset += layer.units;
    }
    return parts;
  });
}

function batchOf(state: RecurrentState): number {
  for (const layer of state) if (layer && layer.length) return layer[0].shape[0];
  return 0;
}

function interleaveRows(parts: Float32Array[], batch: number): Float32Array {
  if (batch === 0) return new Float32Array(0);
  const widths = parts.map((p) => p.length / batch);
  const size = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(batch * size);
  for (let b = 0; b < batch; b++) {
    let offset = b * size;
    parts.forEach((p, k) => {
      out.set(p.subarray(b * widths[k], (b + 1) * widths[k]), offset);
      offset += widths[k];
    });
  }
  return out;
}

/** Writes an agent state to `path` in the checkpoint format (atomically). */
export async function writeAgentState(path: string, state: AgentState): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint({ header: state.json, arrays: state.arrays }));
}

/** Reads an agent state written by {@linkcode writeAgentState}. */
export async function readAgentState(path: string): Promise<AgentState> {
  const checkpoint = decodeCheckpoint(await Deno.readFile(path), { source: path });
  return { json: checkpoint.header, arrays: checkpoint.arrays };
}

/** Checks that a positive integer option is one. */
export function positiveInteger(value: number, name: string): number {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new RangeError(`Cannot use ${name} ${value}: expected a positive integer`);
  }
  return value;
}

/** Checks that a number lies in [low, high]. */
export function inRange(value: number, low: number, high: number, name: string): number {
  if (!(value >= low && value <= high)) {
    throw new RangeError(`Cannot use ${name} ${value}: expected a number in [${low}, ${high}]`);
  }
  return value;
}

/** The JSON part of an {@linkcode EnvCursor}'s state. */
export interface EnvCursorJson {
  /** Whether the environment has been reset at least once. */
  started: boolean;
  /** Episodes finished. */
  episodes: number;
  /** The return of the episode in progress so far. */
  episodeReturn: number;
  /** The length of the episode in progress so far. */
  episodeLength: number;
  /** The environment's own state where it is a {@linkcode SnapshotEnv}, else null. */
  env: JsonValue;
  /** Agent-specific fields saved alongside. */
  [key: string]: JsonValue;
}

/**
 * Where a training loop stands in its (single) environment: the current observation, the episode
 * so far, the episode count, and the environment's saved state across a checkpoint. Agents keep
 * one so that consecutive `learn` calls continue one run, and a restored agent continues the very
 * episode it was saved in (when the environment is a {@linkcode SnapshotEnv}).
 */
export class EnvCursor {
  /** The observation the next action is taken in; null before the first reset. */
  observation: Float32Array | null = null;
  /** Episodes finished. */
  episodes = 0;
  /** The return of the episode in progress so far. */
  episodeReturn = 0;
  /** The length of the episode in progress so far. */
  episodeLength = 0;
  #env: Env | null = null;
  #pending: JsonValue = null;

  /**
   * Prepares `env` for the loop and returns the current observation. The first call resets it
   * with `seed`. A different environment than last time is restored to the saved state where
   * possible; otherwise it starts a fresh episode (`fresh` is then true, and an agent resets its
   * recurrent state).
   */
  begin(env: Env, seed: number): { observation: Float32Array; fresh: boolean } {
    let fresh = false;
    if (this.observation === null) {
      this.observation = env.reset({ seed }).observation;
      fresh = true;
    } else if (env !== this.#env) {
      if (this.#pending !== null && isSnapshotEnv(env)) {
        env.setState(this.#pending);
      } else {
        this.observation = env.reset({ seed: (seed + this.episodes) >>> 0 }).observation;
        this.episodeReturn = 0;
        this.episodeLength = 0;
        fresh = true;
      }
    }
    this.#pending = null;
    this.#env = env;
    return { observation: this.observation, fresh };
  }

  /**
   * Accounts for one step: adds the reward, and when the episode ended reports it, resets the
   * environment and returns true. `step` is the agent's step count after this step.
   */
  advance(
    result: { observation: Float32Array; reward: number; terminated: boolean; truncated: boolean },
    step: number,
    onEpisode?: (report: EpisodeReport) => void,
  ): boolean {
    this.episodeReturn += result.reward;
    this.episodeLength++;
    const ended = result.terminated || result.truncated;
    if (ended) {
      this.episodes++;
      onEpisode?.({
        step,
        episode: this.episodes,
        return: this.episodeReturn,
        length: this.episodeLength,
      });
      this.episodeReturn = 0;
      this.episodeLength = 0;
      this.observation = this.#env!.reset().observation;
    } else {
      this.observation = result.observation;
    }
    return ended;
  }

  /** The JSON side of the state, and the current observation as an array. */
  getState(prefix: string): { json: EnvCursorJson; arrays: AgentArray[] } {
    const env = this.#pending ??
      (this.#env && isSnapshotEnv(this.#env) ? this.#env.getState() : null);
    return {
      json: {
        started: this.observation !== null,
        episodes: this.episodes,
        episodeReturn: this.episodeReturn,
        episodeLength: this.episodeLength,
        env,
      },
      arrays: this.observation
        ? [{
          name: `${prefix}observation`,
          shape: [this.observation.length],
          data: this.observation,
        }]
        : [],
    };
  }

  /** Restores a state from {@linkcode EnvCursor.getState}; the next `begin` applies it. */
  setState(state: AgentState, prefix: string, json: EnvCursorJson, observationSize: number): void {
    if (!Number.isInteger(json.episodes) || json.episodes < 0) {
      throw new RangeError(`Cannot restore the agent: episodes is ${json.episodes}`);
    }
    this.observation = json.started
      ? findArray(state, `${prefix}observation`, Float32Array, observationSize).slice()
      : null;
    this.episodes = json.episodes;
    this.episodeReturn = json.episodeReturn;
    this.episodeLength = json.episodeLength;
    this.#pending = json.env ?? null;
    this.#env = null;
  }
}
