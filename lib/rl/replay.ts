/**
 * The uniform replay buffer of DQN (Mnih et al., 2015): a ring of transitions in typed arrays,
 * sampled uniformly with replacement.
 *
 * `terminated` and `truncated` are stored apart: a terminated transition ends the return (no
 * bootstrap), a truncated one (a time limit) still bootstraps from its next observation, which is
 * the true final observation of the episode, not the first of the next one.
 *
 * @module
 */

import type { Rng } from "../io/rng.ts";
import { positiveInteger } from "./_options.ts";
import { type AgentArray, findArray, type NamedArrays } from "./state.ts";

/** Options of {@linkcode ReplayBuffer}. */
export interface ReplayBufferOptions {
  /** The most transitions kept; the oldest are overwritten first. */
  capacity: number;
  /** The length of every observation. */
  observationSize: number;
}

/** One transition to store. */
export interface Transition {
  /** The observation the action was taken in. */
  observation: Float32Array;
  /** The action taken. */
  action: number;
  /** The reward received. */
  reward: number;
  /** The observation after the action (the final one when the episode ended). */
  nextObservation: Float32Array;
  /** The episode ended in a terminal state: no bootstrapping. */
  terminated: boolean;
  /** The episode was cut short (a time limit): bootstrapping still applies. */
  truncated: boolean;
  /**
   * The number of rewards folded into `reward` (an n-step transition), default 1: the bootstrap
   * from `nextObservation` is discounted by γ^steps.
   */
  steps?: number;
}

/** A sampled batch, as flat typed arrays ready to upload as tensors. */
export interface ReplayBatch {
  /** `[B, observationSize]`. */
  observations: Float32Array;
  /** `[B]`, as floats (the backend's Q-value ops take float actions). */
  actions: Float32Array;
  /** `[B]`. */
  rewards: Float32Array;
  /** `[B, observationSize]`. */
  nextObservations: Float32Array;
  /** `[B]`: 1 where the transition was terminal. */
  terminated: Float32Array;
  /** `[B]`: 1 where the episode was truncated there. */
  truncated: Float32Array;
  /** `[B]`: the number of rewards folded into each reward (1 for one-step transitions). */
  steps: Float32Array;
  /** `[B]`: the ring positions sampled. */
  indices: Int32Array;
}

/**
 * A fixed-capacity ring of transitions in typed arrays, sampled uniformly with replacement.
 *
 * @example
 * ```ts
 * import { ReplayBuffer, Rng } from "@rnnrl/rnnrl";
 * const replay = new ReplayBuffer({ capacity: 100, observationSize: 2 });
 * replay.add({
 *   observation: Float32Array.of(0, 1),
 *   action: 1,
 *   reward: 1,
 *   nextObservation: Float32Array.of(1, 2),
 *   terminated: false,
 *   truncated: true,
 * });
 * const batch = replay.sample(4, new Rng(0));
 * if (batch.truncated[0] !== 1 || batch.terminated[0] !== 0) throw new Error("kept apart");
 * ```
 */
export class ReplayBuffer {
  /** The most transitions kept. */
  readonly capacity: number;
  /** The length of every observation. */
  readonly observationSize: number;
  /** `[capacity, observationSize]`. */
  readonly observations: Float32Array;
  /** `[capacity, observationSize]`. */
  readonly nextObservations: Float32Array;
  /** `[capacity]`. */
  readonly actions: Int32Array;
  /** `[capacity]`. */
  readonly rewards: Float32Array;
  /** `[capacity]`: 1 for terminal transitions. */
  readonly terminated: Uint8Array;
  /** `[capacity]`: 1 for truncated transitions. */
  readonly truncated: Uint8Array;
  /** `[capacity]`: the rewards folded into each transition (n-step returns). */
  readonly horizons: Uint8Array;
  #size = 0;
  #position = 0;

  /** Allocates the arrays. */
  constructor(options: ReplayBufferOptions) {
    this.capacity = positiveInteger(options.capacity, "capacity");
    this.observationSize = positiveInteger(options.observationSize, "observationSize");
    const n = this.capacity, d = this.observationSize;
    this.observations = new Float32Array(n * d);
    this.nextObservations = new Float32Array(n * d);
    this.actions = new Int32Array(n);
    this.rewards = new Float32Array(n);
    this.terminated = new Uint8Array(n);
    this.truncated = new Uint8Array(n);
    this.horizons = new Uint8Array(n);
  }

  /** The number of transitions held. */
  get size(): number {
    return this.#size;
  }

  /** The ring position the next transition is written to. */
  get position(): number {
    return this.#position;
  }

  /** Stores a transition, overwriting the oldest when full. */
  add(t: Transition): void {
    const d = this.observationSize;
    if (t.observation.length !== d || t.nextObservation.length !== d) {
      throw new TypeError(
        `Cannot store a transition: observations must have ${d} values, got ${t.observation.length} and ${t.nextObservation.length}`,
      );
    }
    const i = this.#position;
    this.observations.set(t.observation, i * d);
    this.nextObservations.set(t.nextObservation, i * d);
    this.actions[i] = t.action;
    this.rewards[i] = t.reward;
    this.terminated[i] = t.terminated ? 1 : 0;
    this.truncated[i] = t.truncated ? 1 : 0;
    const steps = t.steps ?? 1;
    if (!(Number.isInteger(steps) && steps >= 1 && steps <= 255)) {
      throw new RangeError(`Cannot store a transition: steps is ${steps}, expected 1..255`);
    }
    this.horizons[i] = steps;
    this.#position = (i + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** Draws `batchSize` transitions uniformly with replacement, using `rng`. */
  sample(batchSize: number, rng: Rng): ReplayBatch {
    if (this.#size === 0) throw new RangeError("Cannot sample: the replay buffer is empty");
    positiveInteger(batchSize, "batchSize");
    const d = this.observationSize;
    const batch: ReplayBatch = {
      observations: new Float32Array(batchSize * d),
      actions: new Float32Array(batchSize),
      rewards: new Float32Array(batchSize),
      nextObservations: new Float32Array(batchSize * d),
      terminated: new Float32Array(batchSize),
      truncated: new Float32Array(batchSize),
      steps: new Float32Array(batchSize),
      indices: new Int32Array(batchSize),
    };
    for (let b = 0; b < batchSize; b++) {
      const i = rng.int(this.#size);
      batch.indices[b] = i;
      batch.observations.set(this.observations.subarray(i * d, (i + 1) * d), b * d);
      batch.nextObservations.set(this.nextObservations.subarray(i * d, (i + 1) * d), b * d);
      batch.actions[b] = this.actions[i];
      batch.rewards[b] = this.rewards[i];
      batch.terminated[b] = this.terminated[i];
      batch.truncated[b] = this.truncated[i];
      batch.steps[b] = this.horizons[i];
    }
    return batch;
  }

  /** The contents as named arrays (only the filled part) plus the counters, for checkpoints. */
  getState(prefix: string): { json: { size: number; position: number }; arrays: AgentArray[] } {
    const n = this.#size, d = this.observationSize;
    return {
      json: { size: n, position: this.#position },
      arrays: [
        { name: `${prefix}observations`, shape: [n, d], data: this.observations.slice(0, n * d) },
        {
          name: `${prefix}nextObservations`,
          shape: [n, d],
          data: this.nextObservations.slice(0, n * d),
        },
        { name: `${prefix}actions`, shape: [n], data: this.actions.slice(0, n) },
        { name: `${prefix}rewards`, shape: [n], data: this.rewards.slice(0, n) },
        { name: `${prefix}terminated`, shape: [n], data: this.terminated.slice(0, n) },
        { name: `${prefix}truncated`, shape: [n], data: this.truncated.slice(0, n) },
        { name: `${prefix}horizons`, shape: [n], data: this.horizons.slice(0, n) },
      ],
    };
  }

  /** Restores contents saved by {@linkcode ReplayBuffer.getState}. */
  setState(
    state: NamedArrays<unknown>,
    prefix: string,
    json: { size: number; position: number },
  ): void {
    const n = json.size, d = this.observationSize;
    if (!(Number.isInteger(n) && n >= 0 && n <= this.capacity)) {
      throw new RangeError(`Cannot restore the replay buffer: size ${n} exceeds ${this.capacity}`);
    }
    if (!(Number.isInteger(json.position) && json.position >= 0 && json.position < this.capacity)) {
      throw new RangeError(`Cannot restore the replay buffer: position is ${json.position}`);
    }
    const observations = findArray(state, `${prefix}observations`, Float32Array, n * d);
    const next = findArray(state, `${prefix}nextObservations`, Float32Array, n * d);
    const actions = findArray(state, `${prefix}actions`, Int32Array, n);
    const rewards = findArray(state, `${prefix}rewards`, Float32Array, n);
    const terminated = findArray(state, `${prefix}terminated`, Uint8Array, n);
    const truncated = findArray(state, `${prefix}truncated`, Uint8Array, n);
    const horizons = findArray(state, `${prefix}horizons`, Uint8Array, n);
    this.observations.fill(0).set(observations);
    this.nextObservations.fill(0).set(next);
    this.actions.fill(0).set(actions);
    this.rewards.fill(0).set(rewards);
    this.terminated.fill(0).set(terminated);
    this.truncated.fill(0).set(truncated);
    this.horizons.fill(0).set(horizons);
    this.#size = n;
    this.#position = json.position;
  }
}

/**
 * Turns one-step transitions into n-step ones (Sutton, 1988; as in Rainbow): each stored
 * transition carries `R = r_t + γ r_{t+1} + … + γ^{k−1} r_{t+k−1}` and the observation k steps
 * later, with k = n, or fewer where the episode ended first. At the end of an episode every
 * pending transition is completed with the final observation and the episode's terminated and
 * truncated flags, so a truncated episode still bootstraps (by γ^k) from its true final state.
 *
 * @example
 * ```ts
 * import { NStepAccumulator } from "./replay.ts";
 * const acc = new NStepAccumulator({ n: 2, gamma: 0.5, observationSize: 1 });
 * const step = (o: number, terminated = false) => ({
 *   observation: Float32Array.of(o), action: 0, reward: 1,
 *   nextObservation: Float32Array.of(o + 1), terminated, truncated: false,
 * });
 * if (acc.push(step(0)).length !== 0) throw new Error("waits for two rewards");
 * const [t] = acc.push(step(1));
 * if (t.reward !== 1.5 || t.steps !== 2 || t.nextObservation[0] !== 2) throw new Error("2-step");
 * if (acc.push(step(2, true)).length !== 2) throw new Error("the episode end flushes");
 * ```
 */
export class NStepAccumulator {
  /** The number of rewards per transition. */
  readonly n: number;
  /** The discount. */
  readonly gamma: number;
  /** The observation length. */
  readonly observationSize: number;
  #pending: Transition[] = [];

  /** Creates an empty accumulator. */
  constructor(options: { n: number; gamma: number; observationSize: number }) {
    this.n = positiveInteger(options.n, "n");
    if (this.n > 255) throw new RangeError(`Cannot use n ${this.n}: expected at most 255`);
    this.gamma = options.gamma;
    this.observationSize = positiveInteger(options.observationSize, "observationSize");
  }

  /** The transitions waiting for more rewards. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Drops the pending transitions (their episode was abandoned). */
  clear(): void {
    this.#pending = [];
  }

  /** Adds a one-step transition and returns the n-step transitions it completes. */
  push(t: Transition): Transition[] {
    this.#pending.push({ ...t, reward: Math.fround(t.reward), steps: 1 });
    const ended = t.terminated || t.truncated;
    // Every pending transition takes in the new reward.
    for (let i = 0; i < this.#pending.length - 1; i++) {
      const p = this.#pending[i];
      // Rounded to float32 at every step, as the replay stores it: a checkpoint keeps it exactly.
      p.reward = Math.fround(p.reward + Math.fround(Math.pow(this.gamma, p.steps!)) * t.reward);
      p.steps! += 1;
      p.nextObservation = t.nextObservation;
      p.terminated = t.terminated;
      p.truncated = t.truncated;
    }
    if (ended) {
      const out = this.#pending;
      this.#pending = [];
      return out;
    }
    if (this.#pending.length === this.n) return [this.#pending.shift()!];
    return [];
  }

  /** The pending transitions as named arrays, for checkpoints. */
  getState(prefix: string): { json: { pending: number }; arrays: AgentArray[] } {
    const m = this.#pending.length, d = this.observationSize;
    const obs = new Float32Array(m * d), next = new Float32Array(m * d);
    const actions = new Int32Array(m), rewards = new Float32Array(m);
    const flags = new Uint8Array(3 * m);
    this.#pending.forEach((p, i) => {
      obs.set(p.observation, i * d);
      next.set(p.nextObservation, i * d);
      actions[i] = p.action;
      rewards[i] = p.reward;
      flags[3 * i] = p.terminated ? 1 : 0;
      flags[3 * i + 1] = p.truncated ? 1 : 0;
      flags[3 * i + 2] = p.steps!;
    });
    return {
      json: { pending: m },
      arrays: [
        { name: `${prefix}observations`, shape: [m, d], data: obs },
        { name: `${prefix}nextObservations`, shape: [m, d], data: next },
        { name: `${prefix}actions`, shape: [m], data: actions },
        { name: `${prefix}rewards`, shape: [m], data: rewards },
        { name: `${prefix}flags`, shape: [m, 3], data: flags },
      ],
    };
  }

  /** Restores pending transitions saved by {@linkcode NStepAccumulator.getState}. */
  setState(state: NamedArrays<unknown>, prefix: string, json: { pending: number }): void {
    const m = json.pending, d = this.observationSize;
    if (!(Number.isInteger(m) && m >= 0 && m < this.n)) {
      throw new RangeError(`Cannot restore the n-step accumulator: ${m} pending transitions`);
    }
    const obs = findArray(state, `${prefix}observations`, Float32Array, m * d);
    const next = findArray(state, `${prefix}nextObservations`, Float32Array, m * d);
    const actions = findArray(state, `${prefix}actions`, Int32Array, m);
    const rewards = findArray(state, `${prefix}rewards`, Float32Array, m);
    const flags = findArray(state, `${prefix}flags`, Uint8Array, 3 * m);
    this.#pending = Array.from({ length: m }, (_, i) => ({
      observation: obs.slice(i * d, (i + 1) * d),
      nextObservation: next.slice(i * d, (i + 1) * d),
      action: actions[i],
      reward: rewards[i],
      terminated: flags[3 * i] === 1,
      truncated: flags[3 * i + 1] === 1,
      steps: flags[3 * i + 2],
    }));
  }
}
