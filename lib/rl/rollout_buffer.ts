/**
 * The rollout buffer of the on-policy agents (A2C, REINFORCE, PPO): a time-major `[T, N]` record
 * of what N environment copies saw and did over T steps — observations, actions and their
 * log-probabilities, rewards, the terminated and truncated flags kept apart, the critic's values,
 * the episode-start masks and, in masked games, the action masks — with the recurrent states the
 * networks had at its first step, so that an update replays the rollout as sequences from them (as
 * sb3-contrib's recurrent rollout buffer does). Also here: the returns and advantages of a
 * finished rollout ({@linkcode computeAdvantages}, generalized advantage estimation).
 *
 * @module
 */

import { type AgentArray, findArray, type NamedArrays } from "./state.ts";

type Field =
  | "observations"
  | "actions"
  | "logProbs"
  | "rewards"
  | "terminated"
  | "truncated"
  | "values"
  | "finalValues"
  | "episodeStarts";

/** Each per-step array: its element type and how many values a step of one copy has. */
const FIELDS: readonly { name: Field; type: "f32" | "u8"; width: "one" | "observation" }[] = [
  { name: "observations", type: "f32", width: "observation" },
  { name: "actions", type: "f32", width: "one" },
  { name: "logProbs", type: "f32", width: "one" },
  { name: "rewards", type: "f32", width: "one" },
  { name: "terminated", type: "u8", width: "one" },
  { name: "truncated", type: "u8", width: "one" },
  { name: "values", type: "f32", width: "one" },
  { name: "finalValues", type: "f32", width: "one" },
  { name: "episodeStarts", type: "f32", width: "one" },
];

/**
 * A growing, time-major rollout of `envs` copies: row t holds step t of every copy.
 *
 * @example
 * ```ts
 * import { RolloutBuffer } from "@rnnrl/rnnrl";
 * const rollout = new RolloutBuffer({ envs: 2, observationSize: 3 });
 * rollout.reserve(1);
 * rollout.rewards.set([1, 0.5], 0);
 * rollout.steps = 1;
 * if (rollout.toArrays("rollout.").length !== 9) throw new Error("9 fields, no start state yet");
 * ```
 */
export class RolloutBuffer {
  /** The number of environment copies N. */
  readonly envs: number;
  /** The length of every observation. */
  readonly observationSize: number;
  /** Rows (steps) stored. */
  steps = 0;
  /** Rows the arrays have room for. */
  capacity = 0;
  /** `[T, N, I]` the observations acted on. */
  observations: Float32Array = new Float32Array(0);
  /** `[T, N]` the actions taken (as floats, as the backend's ops take them; unclipped samples). */
  actions: Float32Array = new Float32Array(0);
  /** `[T, N]` log π(a|s) of each action when it was taken. */
  logProbs: Float32Array = new Float32Array(0);
  /** `[T, N]` the rewards (unscaled). */
  rewards: Float32Array = new Float32Array(0);
  /** `[T, N]` 1 where the episode terminated on step t. */
  terminated: Uint8Array = new Uint8Array(0);
  /** `[T, N]` 1 where the episode was cut short on step t. */
  truncated: Uint8Array = new Uint8Array(0);
  /** `[T, N]` the critic's V(s_t) when acting. */
  values: Float32Array = new Float32Array(0);
  /** `[T, N]` V(final observation) where the episode was truncated on step t. */
  finalValues: Float32Array = new Float32Array(0);
  /** `[T, N]` 0 where an episode starts at step t (the recurrent state is reset before it). */
  episodeStarts: Float32Array = new Float32Array(0);
  /** `[T, N, A]` the action masks of a masked game (1 valid), or null. */
  actionMasks: Uint8Array | null = null;
  /** `[N, S]` per network: its recurrent state at the first step (the actor's, the critic's). */
  startStates: Float32Array[] = [];
  #actionCount = 0;

  /** An empty buffer for `envs` copies. */
  constructor(options: { envs: number; observationSize: number; capacity?: number }) {
    this.envs = options.envs;
    this.observationSize = options.observationSize;
    this.reserve(options.capacity ?? 0);
  }

  /** Makes room for `rows` steps, keeping what is stored (doubling, to grow in few steps). */
  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = Math.max(rows, 2 * this.capacity);
    const grow = <A extends Float32Array | Uint8Array>(a: A, width: number): A => {
      const b = new (a.constructor as new (n: number) => A)(capacity * width);
      b.set(a);
      return b;
    };
    const fields = this.#fields();
    for (const f of FIELDS) fields[f.name] = grow(fields[f.name], this.#width(f.width));
    if (this.actionMasks) this.actionMasks = grow(this.actionMasks, this.envs * this.#actionCount);
    this.capacity = capacity;
  }

  /** Starts keeping action masks of `actionCount` values (earlier rows allow every action). */
  useActionMasks(actionCount: number): void {
    if (this.actionMasks) return;
    this.#actionCount = actionCount;
    this.actionMasks = new Uint8Array(this.capacity * this.envs * actionCount).fill(1);
  }

  /** Empties the buffer (the arrays are kept for the next rollout). */
  clear(): void {
    this.steps = 0;
  }

  /** The stored rows as named arrays, with the start states (for checkpoints). */
  toArrays(prefix: string): AgentArray[] {
    const rows = this.steps, N = this.envs;
    const arrays: AgentArray[] = FIELDS.map((f) => {
      const width = this.#width(f.width);
      return {
        name: prefix + f.name,
        shape: f.width === "one" ? [rows, N] : [rows, N, this.observationSize],
        data: this[f.name].slice(0, rows * width),
      };
    });
    if (this.actionMasks) {
      const A = this.#actionCount;
      arrays.push({
        name: prefix + "actionMasks",
        shape: [rows, N, A],
        data: this.actionMasks.slice(0, rows * N * A),
      });
    }
    // The start states belong to the steps recorded; with none, they are read afresh at step 0.
    if (rows > 0) {
      this.startStates.forEach((state, k) =>
        arrays.push({ name: `${prefix}startState.${k}`, shape: [N, state.length / N], data: state })
      );
    }
    return arrays;
  }

  /** Restores `rows` steps (and `networks` start states) saved by {@linkcode RolloutBuffer.toArrays}. */
  fromArrays(state: NamedArrays<unknown>, prefix: string, rows: number, networks: number): void {
    this.reserve(rows);
    const fields = this.#fields();
    for (const f of FIELDS) {
      const size = rows * this.#width(f.width), name = prefix + f.name;
      fields[f.name].set(
        f.type === "f32"
          ? findArray(state, name, Float32Array, size)
          : findArray(state, name, Uint8Array, size),
      );
    }
    const masks = state.arrays.find((a) => a.name === prefix + "actionMasks");
    this.actionMasks = null;
    if (masks) {
      this.useActionMasks(masks.shape[2]);
      this.actionMasks!.set(
        findArray(state, prefix + "actionMasks", Uint8Array, rows * this.envs * masks.shape[2]),
      );
    }
    this.startStates = rows === 0 ? [] : Array.from(
      { length: networks },
      (_, k) => findArray(state, `${prefix}startState.${k}`, Float32Array).slice(),
    );
    this.steps = rows;
  }

  /** The per-step arrays by name (a view of this buffer's own fields). */
  #fields(): Record<Field, Float32Array | Uint8Array> {
    return this as unknown as Record<Field, Float32Array | Uint8Array>;
  }

  #width(width: "one" | "observation"): number {
    return width === "one" ? this.envs : this.envs * this.observationSize;
  }
}

/** A finished rollout of N environments over T steps, every array time-major `[T, N]`. */
export interface RolloutData {
  /** The number of steps T. */
  steps: number;
  /** The number of environments N. */
  envs: number;
  /** `[T, N]` rewards. */
  rewards: ArrayLike<number>;
  /** `[T, N]` the critic's V(s_t). */
  values: ArrayLike<number>;
  /** `[T, N]` 1 where the episode terminated on step t: nothing follows, no bootstrap. */
  terminated: ArrayLike<number>;
  /** `[T, N]` 1 where the episode was cut short on step t: bootstrap from `finalValues`. */
  truncated: ArrayLike<number>;
  /** `[T, N]` V(final observation) where `truncated` (and not `terminated`); read nowhere else. */
  finalValues: ArrayLike<number>;
  /** `[N]` V(s_T): the value of each environment's observation after the rollout. */
  lastValues: ArrayLike<number>;
}

/** Returns and advantages of every step of a rollout, `[T, N]`. */
export interface RolloutTargets {
  /** The GAE(λ) advantages Â_t. */
  advantages: Float32Array;
  /** The critic's targets: Â_t + V(s_t), the λ-returns. */
  returns: Float32Array;
}

/**
 * Generalized advantage estimation: with `δ_t = r_t + γ·V_next − V(s_t)`, `Â_t = δ_t + γλ·Â_{t+1}`,
 * where V_next is 0 after a terminated step, V(final observation) after a truncated one,
 * V(s_T) after the rollout's last step and V(s_{t+1}) otherwise; the chain `Â_{t+1}` is cut
 * wherever an episode ended. λ = 1 gives the (bootstrapped) returns-to-go minus V, as in
 * REINFORCE with a baseline; λ = 0 gives one-step TD errors. Computed in float64.
 *
 * @example
 * ```ts
 * import { computeAdvantages } from "./rollout_buffer.ts";
 * const { returns } = computeAdvantages({
 *   steps: 3, envs: 1, rewards: [1, 1, 1], values: [0, 0, 0], terminated: [0, 0, 1],
 *   truncated: [0, 0, 0], finalValues: [0, 0, 0], lastValues: [5],
 * }, { gamma: 0.5, lambda: 1 });
 * if (returns[0] !== 1.75) throw new Error("1 + 0.5 + 0.25, no bootstrap after termination");
 * ```
 */
export function computeAdvantages(
  rollout: RolloutData,
  options: { gamma: number; lambda: number },
): RolloutTargets {
  const { steps: T, envs: N } = rollout;
  const size = T * N;
  for (
    const key of ["rewards", "values", "terminated", "truncated", "finalValues"] as const
  ) {
    if (rollout[key].length < size) {
      throw new TypeError(
        `Cannot compute advantages: ${key} has ${rollout[key].length} values, expected ${size}`,
      );
    }
  }
  if (rollout.lastValues.length !== N) {
    throw new TypeError(
      `Cannot compute advantages: lastValues has ${rollout.lastValues.length} values, expected ${N}`,
    );
  }
  const { gamma, lambda } = options;
  const advantages = new Float32Array(size), returns = new Float32Array(size);
  for (let i = 0; i < N; i++) {
    let nextAdvantage = 0;
    for (let t = T - 1; t >= 0; t--) {
      const k = t * N + i;
      let nextValue: number, carry: number;
      if (rollout.terminated[k]) {
        nextValue = 0;
        carry = 0;
      } else if (rollout.truncated[k]) {
        nextValue = rollout.finalValues[k];
        carry = 0;
      } else {
        nextValue = t === T - 1 ? rollout.lastValues[i] : rollout.values[k + N];
        carry = t === T - 1 ? 0 : 1;
      }
      const value = rollout.values[k];
      const delta = rollout.rewards[k] + gamma * nextValue - value;
      nextAdvantage = delta + gamma * lambda * carry * nextAdvantage;
      advantages[k] = nextAdvantage;
      returns[k] = nextAdvantage + value;
    }
  }
  return { advantages, returns };
}

/** Scales values to mean 0 and standard deviation 1 (population, plus 1e-8), in float64. */
export function normalizeAdvantages(values: Float32Array): Float32Array {
  const n = values.length;
  if (n === 0) return new Float32Array(0);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (values[i] - mean) ** 2;
  const std = Math.sqrt(variance / n) + 1e-8;
  return values.map((v) => (v - mean) / std);
}
