/**
 * Policy-gradient agents with LSTM policies: {@linkcode REINFORCE} (Williams, 1992) with a learned
 * value baseline, and {@linkcode A2C}, the synchronous advantage actor-critic (Mnih et al., 2016)
 * over N copies of the environment with generalized advantage estimation (Schulman et al., 2016).
 *
 * Both share everything but when a rollout ends: the rollout (a time-major `[T, N]` sequence of
 * observations, actions, rewards, terminated/truncated flags, values and reset masks), the
 * returns and advantages ({@linkcode computeAdvantages}), and the loss. A2C ends a rollout every
 * `rolloutSteps` steps of its N environments and bootstraps from the critic; REINFORCE ends it
 * once `episodesPerUpdate` whole episodes of its one environment are in, and uses λ = 1, so its
 * advantages are the Monte Carlo returns-to-go minus the baseline.
 *
 * The actor (LSTM → Dense ReLU layers → logits) and the critic (its own LSTM → … → one value)
 * are separate networks, so the actor alone is the exported policy; each has its own optimizer
 * and gradient clipping. With `normalizeObservations`, both start with a linear layer that the
 * optimizer never moves and every update sets to `(x − mean) / std` of the observations seen so
 * far (the running statistics are part of the checkpoint), so the exported actor takes raw
 * observations. `rewardScale` multiplies the rewards the agent learns from (not those it reports). Recurrent state is a value
 * carried from step to step and reset by masking with 1 − done; an update replays the whole
 * rollout as one sequence from the state stored at its start, with the same masks, and
 * back-propagates through all of it.
 *
 * Environment copies: `learn(env)` uses `env` as copy 0 and builds the others with
 * {@linkcode copyEnv} (CartPole, or any environment with a `clone()` method); `learn([e0, e1, …])`
 * takes the N environments as given. Copy i is reset with the agent's environment seed + i once,
 * then continues its own RNG. Each copy autoresets on the step its episode ends, as
 * {@linkcode VectorEnv} does; the copies are stepped one at a time so that `learn` can stop after
 * any number of steps (even inside a vector step) and continue exactly where it stopped.
 *
 * @example
 * ```ts
 * import { CartPole } from "../envs/cartpole.ts";
 * import { A2C } from "./policy_gradient.ts";
 * const env = new CartPole({ maskVelocity: true });
 * const agent = new A2C(env, { envs: 4, rolloutSteps: 8, lstmUnits: 16, hiddenSizes: [], seed: 1 });
 * await agent.learn(env, { steps: 256 });
 * const { meanReturn } = await agent.evaluate(env, { episodes: 2, seed: 7 });
 * if (!(meanReturn >= 8)) throw new Error("CartPole episodes last at least 8 steps");
 * ```
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import { createCpuBackend } from "../backend/cpu.ts";
import { CartPole } from "../envs/cartpole.ts";
import type { Env } from "../envs/env.ts";
import type { VectorEnv } from "../envs/vector.ts";
import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { Dense } from "../nn/dense.ts";
import { LSTM } from "../nn/lstm.ts";
import { Adam, type Optimizer, RMSprop } from "../nn/optimizers.ts";
import { type RecurrentState, Sequential } from "../nn/sequential.ts";
import {
  type ActResult,
  type Agent,
  type AgentArray,
  type AgentState,
  checkStateHeader,
  type EnvSpec,
  evaluateGreedy,
  type EvaluateOptions,
  type Evaluation,
  findArray,
  inRange,
  isSnapshotEnv,
  type LearnOptions,
  makeRecurrentState,
  modelArrays,
  optimizerArrays,
  positiveInteger,
  readAgentState,
  readRecurrentState,
  recurrentStateSize,
  restoreModel,
  restoreOptimizer,
  writeAgentState,
} from "./agent.ts";
import {
  checkLearningRate,
  learningRateAt,
  type LinearRamp,
  setLearningRate,
} from "./schedules.ts";

// ---------------------------------------------------------------------------------------------
// Options

/** The options REINFORCE and A2C share: the networks, the optimizer and the loss. */
export interface PolicyGradientOptions {
  /** The hidden size of each network's LSTM (the actor's and the critic's). */
  lstmUnits: number;
  /** Sizes of the Dense ReLU layers between each LSTM and its output layer. */
  hiddenSizes: number[];
  /** The optimizer. */
  optimizer: "adam" | "rmsprop";
  /** The step size: a constant, or a linear ramp over environment steps. */
  learningRate: number | LinearRamp;
  /** The discount factor γ. */
  gamma: number;
  /** Rewards are multiplied by this for learning (keeps the critic's targets near 1). */
  rewardScale: number;
  /** The weight β of the entropy bonus. */
  entropyCoef: number;
  /** The weight of the critic's squared error in the total loss. */
  valueCoef: number;
  /** Clip the global L2 norm of each network's gradients (the actor's, the critic's) to this. */
  maxGradNorm: number;
  /** Scale each rollout's advantages to mean 0 and standard deviation 1. */
  normalizeAdvantages: boolean;
  /**
   * Standardise observations with their running mean and standard deviation, as a first
   * (frozen, linear) layer of both networks that every update refreshes from the statistics.
   */
  normalizeObservations: boolean;
  /** Report through `onTrain` every this many updates. */
  logInterval: number;
  /** Seeds the networks, the action sampling and the environments' first resets. */
  seed: number;
}

/** Options of {@linkcode A2C}. */
export interface A2cOptions extends PolicyGradientOptions {
  /** The number of environment copies N stepped together. */
  envs: number;
  /** Steps per copy in a rollout (n): an update every n·N environment steps. */
  rolloutSteps: number;
  /** The λ of generalized advantage estimation (1: n-step returns, 0: one-step TD). */
  gaeLambda: number;
}

/** Options of {@linkcode REINFORCE}. */
export interface ReinforceOptions extends PolicyGradientOptions {
  /** Whole episodes per update. */
  episodesPerUpdate: number;
}

const SHARED_DEFAULTS: Readonly<PolicyGradientOptions> = {
  lstmUnits: 64,
  hiddenSizes: [64],
  optimizer: "adam",
  learningRate: 1e-3,
  gamma: 0.99,
  rewardScale: 1,
  entropyCoef: 0.001,
  valueCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantages: true,
  normalizeObservations: true,
  logInterval: 100,
  seed: 0,
};

/**
 * A2C's defaults: 8 copies, 16-step rollouts, GAE with λ = 0.98, Adam, standardised
 * observations and advantages, LSTMs of 64 units, each followed by a 64-unit ReLU layer.
 */
export const A2C_DEFAULTS: Readonly<A2cOptions> = Object.freeze({
  ...SHARED_DEFAULTS,
  envs: 8,
  rolloutSteps: 16,
  gaeLambda: 0.98,
});

/** REINFORCE's defaults: one episode per update, otherwise as A2C's. */
export const REINFORCE_DEFAULTS: Readonly<ReinforceOptions> = Object.freeze({
  ...SHARED_DEFAULTS,
  maxGradNorm: 1,
  episodesPerUpdate: 1,
});

/**
 * Tuned A2C settings by task name. The CartPole ones are for 100 000 environment steps (the
 * learning rate falls linearly to 0 over them), with rewards scaled by 0.01 so the critic's
 * targets stay near 1.
 * "cartpole-masked" (velocities hidden) standardises the advantages; full-observation
 * "cartpole" learns more steadily without.
 * "minesweeper-memory" (POPGym's MineSweeper, medium board, with the clicked cell observed) runs
 * 3 000 000 steps (the learning rate falls to 0 over them), 16 copies with short 8-step rollouts
 * (many updates), larger LSTM and ReLU layers of 128 units, unscaled rewards (they are already
 * fractions of 1) and a small entropy bonus: at 0.01 the policy stayed uniform over the 36 cells.
 */
export const a2cPresets: Record<string, Partial<A2cOptions>> = {
  "minesweeper-memory": {
    envs: 16,
    rolloutSteps: 8,
    lstmUnits: 128,
    hiddenSizes: [128],
    learningRate: { start: 3e-3, end: 0, steps: 3_000_000 },
    gamma: 0.99,
    gaeLambda: 0.95,
    rewardScale: 1,
    entropyCoef: 0.001,
    valueCoef: 0.5,
    maxGradNorm: 0.5,
    normalizeAdvantages: true,
    normalizeObservations: false,
  },
  "cartpole-masked": {
    envs: 8,
    rolloutSteps: 16,
    lstmUnits: 64,
    hiddenSizes: [64],
    learningRate: { start: 1.5e-3, end: 0, steps: 100_000 },
    gamma: 0.99,
    gaeLambda: 0.98,
    rewardScale: 0.01,
    entropyCoef: 0.001,
    valueCoef: 0.5,
    maxGradNorm: 0.5,
    normalizeAdvantages: true,
    normalizeObservations: true,
  },
  cartpole: {
    envs: 8,
    rolloutSteps: 16,
    lstmUnits: 64,
    hiddenSizes: [64],
    learningRate: { start: 2e-3, end: 0, steps: 100_000 },
    gamma: 0.99,
    gaeLambda: 0.98,
    rewardScale: 0.01,
    entropyCoef: 0.001,
    valueCoef: 0.5,
    maxGradNorm: 0.5,
    normalizeAdvantages: false,
    normalizeObservations: true,
  },
};

const REINFORCE_CARTPOLE: Partial<ReinforceOptions> = {
  episodesPerUpdate: 1,
  lstmUnits: 64,
  hiddenSizes: [64],
  learningRate: 1e-3,
  gamma: 0.99,
  rewardScale: 0.01,
  entropyCoef: 0,
  valueCoef: 0.5,
  maxGradNorm: 1,
  normalizeAdvantages: true,
  normalizeObservations: true,
};

/**
 * Tuned REINFORCE settings by task name: one episode per update, rewards scaled by 0.01; the
 * same settings learn "cartpole" and "cartpole-masked".
 */
export const reinforcePresets: Record<string, Partial<ReinforceOptions>> = {
  cartpole: REINFORCE_CARTPOLE,
  "cartpole-masked": REINFORCE_CARTPOLE,
};

function resolveShared<T extends PolicyGradientOptions>(
  name: string,
  defaults: Readonly<T>,
  options: Partial<T>,
): T {
  for (const key of Object.keys(options)) {
    if (!(key in defaults)) {
      throw new RangeError(`Cannot use option ${key}: ${name} has no such option`);
    }
  }
  const o: T = { ...defaults, ...options };
  o.lstmUnits = positiveInteger(o.lstmUnits, "lstmUnits");
  if (!Array.isArray(o.hiddenSizes)) throw new TypeError("Cannot use hiddenSizes: not an array");
  o.hiddenSizes = o.hiddenSizes.map((h) => positiveInteger(h, "a hidden size"));
  if (o.optimizer !== "adam" && o.optimizer !== "rmsprop") {
    throw new RangeError(`Cannot use optimizer ${o.optimizer}: expected "adam" or "rmsprop"`);
  }
  o.learningRate = checkLearningRate(o.learningRate);
  inRange(o.gamma, 0, 1, "gamma");
  inRange(o.rewardScale, Number.MIN_VALUE, Infinity, "rewardScale");
  inRange(o.entropyCoef, 0, Infinity, "entropyCoef");
  inRange(o.valueCoef, 0, Infinity, "valueCoef");
  inRange(o.maxGradNorm, Number.MIN_VALUE, Infinity, "maxGradNorm");
  o.normalizeAdvantages = Boolean(o.normalizeAdvantages);
  o.normalizeObservations = Boolean(o.normalizeObservations);
  positiveInteger(o.logInterval, "logInterval");
  if (!Number.isInteger(o.seed)) throw new RangeError(`Cannot use seed ${o.seed}: not an integer`);
  return o;
}

/** Resolves A2C options against {@linkcode A2C_DEFAULTS} and checks every field. */
export function resolveA2cOptions(options: Partial<A2cOptions> = {}): A2cOptions {
  const o = resolveShared("A2C", A2C_DEFAULTS, options);
  positiveInteger(o.envs, "envs");
  positiveInteger(o.rolloutSteps, "rolloutSteps");
  inRange(o.gaeLambda, 0, 1, "gaeLambda");
  return o;
}

/** Resolves REINFORCE options against {@linkcode REINFORCE_DEFAULTS} and checks every field. */
export function resolveReinforceOptions(
  options: Partial<ReinforceOptions> = {},
): ReinforceOptions {
  const o = resolveShared("REINFORCE", REINFORCE_DEFAULTS, options);
  positiveInteger(o.episodesPerUpdate, "episodesPerUpdate");
  return o;
}

// ---------------------------------------------------------------------------------------------
// Returns and advantages

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
 * import { computeAdvantages } from "./policy_gradient.ts";
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

// ---------------------------------------------------------------------------------------------
// Environment copies

/**
 * A fresh copy of an environment with the same settings (its RNG is reseeded by the agent):
 * CartPole is rebuilt from its public options; any other environment must offer `clone()`.
 *
 * @throws {TypeError} When the environment cannot be copied; pass the copies to `learn` instead.
 */
export function copyEnv(env: Env): Env {
  if (env instanceof CartPole) {
    return new CartPole({
      maskVelocity: env.maskVelocity,
      integrator: env.integrator,
      maxEpisodeSteps: env.maxEpisodeSteps,
    });
  }
  const clone = (env as { clone?: () => Env }).clone;
  if (typeof clone === "function") return clone.call(env);
  throw new TypeError(
    `Cannot copy environment "${env.id}": it has no clone() method; pass an array of environments to learn()`,
  );
}

// ---------------------------------------------------------------------------------------------
// The rollout buffer

/** The rollout: per step t and env i, what the update needs. Grows by doubling. */
class Rollout {
  readonly envs: number;
  readonly observationSize: number;
  capacity = 0;
  observations = new Float32Array(0); // [T, N, I]
  actions = new Float32Array(0); // [T, N]
  rewards = new Float32Array(0);
  terminated = new Uint8Array(0);
  truncated = new Uint8Array(0);
  values = new Float32Array(0); // V(s_t) when acting
  finalValues = new Float32Array(0); // V(final observation) where truncated
  masks = new Float32Array(0); // 0 where an episode starts at step t

  constructor(envs: number, observationSize: number, capacity: number) {
    this.envs = envs;
    this.observationSize = observationSize;
    this.reserve(capacity);
  }

  /** Makes room for `rows` steps, keeping what is stored. */
  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = Math.max(rows, 2 * this.capacity);
    const N = this.envs, I = this.observationSize;
    const grow = <A extends Float32Array | Uint8Array>(a: A, width: number): A => {
      const b = new (a.constructor as new (n: number) => A)(capacity * width);
      b.set(a);
      return b;
    };
    this.observations = grow(this.observations, N * I);
    this.actions = grow(this.actions, N);
    this.rewards = grow(this.rewards, N);
    this.terminated = grow(this.terminated, N);
    this.truncated = grow(this.truncated, N);
    this.values = grow(this.values, N);
    this.finalValues = grow(this.finalValues, N);
    this.masks = grow(this.masks, N);
    this.capacity = capacity;
  }

  /** The first `rows` steps as named arrays. */
  toArrays(prefix: string, rows: number): AgentArray[] {
    const N = this.envs, I = this.observationSize;
    const part = <A extends Float32Array | Uint8Array>(name: string, a: A, width: number[]) => ({
      name: prefix + name,
      shape: [rows, ...width],
      data: a.slice(0, rows * width.reduce((x, y) => x * y, 1)),
    });
    return [
      part("observations", this.observations, [N, I]),
      part("actions", this.actions, [N]),
      part("rewards", this.rewards, [N]),
      part("terminated", this.terminated, [N]),
      part("truncated", this.truncated, [N]),
      part("values", this.values, [N]),
      part("finalValues", this.finalValues, [N]),
      part("masks", this.masks, [N]),
    ];
  }

  /** Restores `rows` steps saved by {@linkcode Rollout.toArrays}. */
  fromArrays(state: AgentState, prefix: string, rows: number): void {
    this.reserve(rows);
    const N = this.envs, I = this.observationSize;
    this.observations.set(findArray(state, prefix + "observations", Float32Array, rows * N * I));
    this.actions.set(findArray(state, prefix + "actions", Float32Array, rows * N));
    this.rewards.set(findArray(state, prefix + "rewards", Float32Array, rows * N));
    this.terminated.set(findArray(state, prefix + "terminated", Uint8Array, rows * N));
    this.truncated.set(findArray(state, prefix + "truncated", Uint8Array, rows * N));
    this.values.set(findArray(state, prefix + "values", Float32Array, rows * N));
    this.finalValues.set(findArray(state, prefix + "finalValues", Float32Array, rows * N));
    this.masks.set(findArray(state, prefix + "masks", Float32Array, rows * N));
  }
}

// ---------------------------------------------------------------------------------------------
// The loss

/** A rollout as an update replays it: every array time-major, `[T, N, …]`. */
export interface ActorCriticBatch {
  /** The number of steps T. */
  steps: number;
  /** The number of environments N. */
  envs: number;
  /** `[T, N, I]` the observations acted on. */
  observations: Float32Array;
  /** `[T, N]` 0 where an episode starts at step t (the LSTM state is reset before it). */
  masks: Float32Array;
  /** `[T, N]` the actions taken. */
  actions: Float32Array;
  /** `[T, N]` the policy-gradient weights (the advantages, normalised or not). */
  advantages: Float32Array;
  /** `[T, N]` the critic's targets. */
  returns: Float32Array;
  /** `[N, S]` the actor's recurrent state at the rollout's start (flat rows). */
  actorState: Float32Array;
  /** `[N, S]` the critic's recurrent state at the rollout's start. */
  criticState: Float32Array;
}

/** The losses of {@linkcode actorCriticLoss}, owned by the caller. */
export interface ActorCriticLoss {
  /** `[1]`: `mean(−Â·log π(a|s) − β·H(π))`. */
  policyLoss: Tensor;
  /** `[1]`: `mean((V(s) − R)²)` (before the value coefficient). */
  valueLoss: Tensor;
  /** `[T·N, A]`: the logits, for statistics such as the entropy. */
  logits: Tensor;
}

/**
 * The actor-critic loss of a rollout and its gradients: each network replays the rollout as one
 * `[T, N]` sequence from its state at the start, reset where `masks` is 0, and back-propagates
 * through all of it. The total is `policyLoss + valueCoef·valueLoss`; the gradients of every
 * parameter are left on the parameters (nothing is clipped or stepped).
 *
 * @example
 * ```ts
 * import { createCpuBackend } from "../backend/cpu.ts";
 * import { Dense } from "../nn/dense.ts";
 * import { LSTM } from "../nn/lstm.ts";
 * import { Sequential } from "../nn/sequential.ts";
 * import { actorCriticLoss } from "./policy_gradient.ts";
 * const backend = createCpuBackend();
 * const net = (units: number) =>
 *   new Sequential(backend, { inputSize: 1, layers: [new LSTM({ units: 4 }), new Dense({ units })] });
 * const actor = net(2), critic = net(1);
 * const loss = actorCriticLoss(actor, critic, {
 *   steps: 2, envs: 1, observations: Float32Array.of(0.5, -0.5), masks: Float32Array.of(0, 1),
 *   actions: Float32Array.of(1, 0), advantages: Float32Array.of(1, -1),
 *   returns: Float32Array.of(1, 0), actorState: new Float32Array(8), criticState: new Float32Array(8),
 * }, { entropyCoef: 0, valueCoef: 0.5 });
 * if (!actor.parameters.every((p) => p.grad)) throw new Error("every parameter has a gradient");
 * ```
 */
export function actorCriticLoss(
  actor: Sequential,
  critic: Sequential,
  batch: ActorCriticBatch,
  coefficients: { entropyCoef: number; valueCoef: number },
): ActorCriticLoss {
  const backend = actor.backend;
  const { steps: T, envs: N } = batch, rows = T * N;
  const I = actor.inputSize, A = actor.outputSize;
  const x = backend.tensor(batch.observations, [T, N, I]);
  const mask = backend.tensor(batch.masks, [T, N]);
  const actions = backend.tensor(batch.actions, [rows]);
  const weights = backend.tensor(batch.advantages, [rows]);
  const targets = backend.tensor(batch.returns, [T, N, 1]);
  const replay = (model: Sequential, flat: Float32Array, loss: (out: Tensor) => Tensor) => {
    const start = makeRecurrentState(model, flat, N);
    const { output, state } = model.forward(x, { state: start, mask, training: true });
    const dOutput = loss(output);
    const { dInput, dState } = model.backward(dOutput);
    model.clearCache();
    backend.dispose(dInput);
    model.disposeState(dState);
    model.disposeState(start);
    model.disposeState(state);
    backend.dispose(dOutput);
    backend.dispose(output);
  };

  let policyLoss: Tensor | null = null, logits: Tensor | null = null;
  replay(actor, batch.actorState, (output) => {
    logits = backend.reshape(output, [rows, A]);
    const policy = backend.policyLoss(logits, actions, weights, coefficients.entropyCoef);
    policyLoss = policy.loss;
    const dLogits = backend.reshape(policy.grad, [T, N, A]);
    backend.dispose(policy.grad);
    return dLogits;
  });
  let valueLoss: Tensor | null = null;
  replay(critic, batch.criticState, (output) => {
    const value = backend.mseLoss(output, targets);
    valueLoss = value.loss;
    const dValues = backend.scale(value.grad, coefficients.valueCoef);
    backend.dispose(value.grad);
    return dValues;
  });
  for (const t of [x, mask, actions, weights, targets]) backend.dispose(t);
  return { policyLoss: policyLoss!, valueLoss: valueLoss!, logits: logits! };
}

// ---------------------------------------------------------------------------------------------
// The agent

/** When a rollout ends and how its advantages are computed; what tells A2C and REINFORCE apart. */
interface RolloutRule {
  /** Environment copies. */
  envs: number;
  /** End the rollout after this many steps per copy (A2C)... */
  rolloutSteps: number | null;
  /** ...or once this many episodes have ended in it (REINFORCE). */
  episodesPerUpdate: number | null;
  /** GAE's λ. */
  lambda: number;
}

/** The statistics of one update. */
interface UpdateStats {
  loss: number;
  entropy: number;
  valueLoss: number;
}

/**
 * What {@linkcode A2C} and {@linkcode REINFORCE} share: the actor and critic networks, the
 * rollout over N environment copies, the update, greedy acting, evaluation and checkpoints.
 */
export abstract class PolicyGradientAgent implements Agent {
  /** "a2c" or "reinforce". */
  abstract readonly kind: string;
  /** The policy carries an LSTM state. */
  readonly recurrent: boolean = true;
  /** The sizes the networks are built for. */
  readonly spec: EnvSpec;
  /** The backend holding the networks. */
  readonly backend: Backend;
  /** The policy: observation sequence `[T, B, I]` → logits `[T, B, A]`. */
  readonly actor: Sequential;
  /** The baseline: observation sequence `[T, B, I]` → values `[T, B, 1]`. */
  readonly critic: Sequential;
  readonly #shared: PolicyGradientOptions;
  readonly #rule: RolloutRule;
  readonly #actorOptimizer: Optimizer;
  readonly #criticOptimizer: Optimizer;
  readonly #rng: Rng; // action sampling
  readonly #envSeed: number;
  readonly #rollout: Rollout;
  #steps = 0;
  #episodes = 0;
  #updates = 0;
  // Where the loop stands.
  #started = false;
  #envs: Env[] | null = null;
  #pendingEnvStates: JsonValue | null = null;
  #observations: Float32Array; // [N, I]: the observation each copy acts on next
  #masks: Float32Array; // [N]: 0 where that observation starts an episode
  #actorState: RecurrentState; // after the last acting step
  #criticState: RecurrentState;
  #startActorState: Float32Array; // [N, S] at the rollout's start
  #startCriticState: Float32Array;
  #t = 0; // complete steps in the rollout
  #cursor = 0; // copies stepped in the current vector step
  #rolloutEpisodes = 0; // episodes ended in the rollout
  #finalObservations: Float32Array; // [N, I] of this vector step's truncated episodes
  #episodeReturns: number[];
  #episodeLengths: number[];
  #observationStats: RunningMoments | null;

  /** Builds the networks; `rule` says when rollouts end. */
  protected constructor(
    spec: EnvSpec,
    options: PolicyGradientOptions,
    rule: RolloutRule,
    backend?: Backend,
  ) {
    this.#shared = options;
    this.#rule = rule;
    this.spec = {
      observationSize: positiveInteger(spec.observationSize, "observationSize"),
      actionCount: positiveInteger(spec.actionCount, "actionCount"),
    };
    this.backend = backend ?? createCpuBackend();
    const root = new Rng(options.seed);
    const actorSeed = root.nextUint32(), criticSeed = root.nextUint32();
    this.#envSeed = root.nextUint32();
    this.#rng = root.fork();
    const I = this.spec.observationSize;
    const build = (outputs: number, seed: number) =>
      new Sequential(this.backend, {
        inputSize: I,
        layers: [
          ...(options.normalizeObservations ? [new Dense({ units: I })] : []),
          new LSTM({ units: options.lstmUnits }),
          ...options.hiddenSizes.map((units) => new Dense({ units, activation: "relu" })),
          new Dense({ units: outputs }),
        ],
        seed,
      });
    this.actor = build(this.spec.actionCount, actorSeed);
    this.critic = build(1, criticSeed);
    this.#observationStats = options.normalizeObservations ? new RunningMoments(I) : null;
    this.#writeNormalization();
    const makeOptimizer = (): Optimizer => {
      const learningRate = learningRateAt(options.learningRate, 0);
      return options.optimizer === "adam"
        ? new Adam({ learningRate })
        : new RMSprop({ learningRate, rho: 0.99, epsilon: 1e-5 });
    };
    this.#actorOptimizer = makeOptimizer();
    this.#criticOptimizer = makeOptimizer();
    const N = rule.envs;
    this.#rollout = new Rollout(N, I, rule.rolloutSteps ?? 1024);
    this.#observations = new Float32Array(N * I);
    this.#masks = new Float32Array(N);
    this.#finalObservations = new Float32Array(N * I);
    this.#actorState = this.actor.initialState(N);
    this.#criticState = this.critic.initialState(N);
    this.#startActorState = new Float32Array(N * recurrentStateSize(this.actor));
    this.#startCriticState = new Float32Array(N * recurrentStateSize(this.critic));
    this.#episodeReturns = new Array(N).fill(0);
    this.#episodeLengths = new Array(N).fill(0);
  }

  /** Environment steps learned so far (summed over the copies). */
  get steps(): number {
    return this.#steps;
  }

  /** Episodes finished while learning (all copies). */
  get episodes(): number {
    return this.#episodes;
  }

  /** Gradient updates so far. */
  get updates(): number {
    return this.#updates;
  }

  /** A zero LSTM state for one episode of greedy acting. */
  initialState(): RecurrentState {
    return this.actor.initialState(1);
  }

  /** The actor: its output is exactly the logits, so its argmax is the greedy action. */
  policyNetwork(): Sequential {
    return this.actor;
  }

  /** The greedy action (the argmax of the logits, lowest index on ties), carrying the state. */
  async act(observation: Float32Array, state?: RecurrentState): Promise<ActResult> {
    const I = this.spec.observationSize, A = this.spec.actionCount;
    if (observation.length !== I) {
      throw new TypeError(
        `Cannot act: the observation has ${observation.length} values, expected ${I}`,
      );
    }
    const x = this.backend.tensor(observation, [1, 1, I]);
    const { output, state: next } = this.actor.forward(x, { state });
    const logits = this.backend.reshape(output, [1, A]);
    const chosen = this.backend.argmaxRows(logits);
    const action = (await this.backend.read(chosen))[0];
    for (const t of [x, output, logits, chosen]) this.backend.dispose(t);
    return { action, state: next };
  }

  /**
   * Drives the environment copies for `options.steps` steps (summed over copies), sampling
   * actions from the policy, and updates the networks whenever a rollout is complete. Calls
   * continue one run: `learn(k)` then `learn(m)` does exactly what `learn(k + m)` does.
   *
   * @param env One environment (copied to make the others), all N of them, or a
   * {@linkcode VectorEnv} of N (its environments are stepped directly, one at a time).
   */
  async learn(env: Env | readonly Env[] | VectorEnv, options: LearnOptions): Promise<void> {
    const steps = options.steps;
    if (!(Number.isInteger(steps) && steps >= 0)) {
      throw new RangeError(`Cannot learn: steps is ${steps}, expected an integer >= 0`);
    }
    const envs = this.#begin(env);
    const N = this.#rule.envs, I = this.spec.observationSize;
    const rollout = this.#rollout;
    for (let taken = 0; taken < steps; taken++) {
      if (this.#cursor === 0) await this.#beginVectorStep();
      const i = this.#cursor, k = this.#t * N + i;
      const result = envs[i].step(rollout.actions[k]);
      rollout.rewards[k] = result.reward;
      rollout.terminated[k] = result.terminated ? 1 : 0;
      rollout.truncated[k] = result.truncated ? 1 : 0;
      this.#steps++;
      this.#episodeReturns[i] += result.reward;
      this.#episodeLengths[i]++;
      if (result.terminated || result.truncated) {
        this.#episodes++;
        this.#rolloutEpisodes++;
        options.onEpisode?.({
          step: this.#steps,
          episode: this.#episodes,
          return: this.#episodeReturns[i],
          length: this.#episodeLengths[i],
        });
        this.#episodeReturns[i] = 0;
        this.#episodeLengths[i] = 0;
        this.#finalObservations.set(result.observation, i * I);
        this.#observations.set(envs[i].reset().observation, i * I);
        this.#masks[i] = 0;
      } else {
        this.#observations.set(result.observation, i * I);
        this.#masks[i] = 1;
      }
      this.#cursor++;
      if (this.#cursor === N) await this.#endVectorStep(options);
    }
  }

  /** Greedy evaluation: `episodes` episodes (default 100), the environment reset with `seed`. */
  evaluate(env: Env, options: EvaluateOptions = {}): Promise<Evaluation> {
    this.#checkEnv(env);
    return evaluateGreedy(
      env,
      (o, s) => this.act(o, s),
      () => this.initialState(),
      (s) => this.actor.disposeState(s),
      options,
    );
  }

  /**
   * The actions of the vector step about to be taken: one forward pass of each network over the
   * N current observations (masked where an episode starts), actions sampled from the softmax.
   */
  async #beginVectorStep(): Promise<void> {
    const N = this.#rule.envs, I = this.spec.observationSize, A = this.spec.actionCount;
    const rollout = this.#rollout, t = this.#t, backend = this.backend;
    if (t === 0) {
      this.#startActorState = await readRecurrentState(backend, this.#actorState);
      this.#startCriticState = await readRecurrentState(backend, this.#criticState);
      this.#rolloutEpisodes = 0;
    }
    rollout.reserve(t + 1);
    rollout.observations.set(this.#observations, t * N * I);
    rollout.masks.set(this.#masks, t * N);
    const x = backend.tensor(this.#observations, [1, N, I]);
    const mask = backend.tensor(this.#masks, [1, N]);
    const actor = this.actor.forward(x, { state: this.#actorState, mask });
    const critic = this.critic.forward(x, { state: this.#criticState, mask });
    this.actor.disposeState(this.#actorState);
    this.critic.disposeState(this.#criticState);
    this.#actorState = actor.state;
    this.#criticState = critic.state;
    const logits = await backend.read(actor.output);
    rollout.values.set(await backend.read(critic.output), t * N);
    for (const tensor of [x, mask, actor.output, critic.output]) backend.dispose(tensor);
    const probabilities = new Float64Array(A);
    for (let i = 0; i < N; i++) {
      let max = -Infinity, sum = 0;
      for (let a = 0; a < A; a++) max = Math.max(max, logits[i * A + a]);
      for (let a = 0; a < A; a++) sum += probabilities[a] = Math.exp(logits[i * A + a] - max);
      const u = this.#rng.uniform() * sum;
      let action = A - 1, cumulative = 0;
      for (let a = 0; a < A; a++) {
        cumulative += probabilities[a];
        if (u < cumulative) {
          action = a;
          break;
        }
      }
      rollout.actions[t * N + i] = action;
    }
  }

  /**
   * Completes a vector step: the critic values the final observations of truncated episodes
   * (from its state after the step, before the reset), and a full rollout is learned from.
   */
  async #endVectorStep(options: LearnOptions): Promise<void> {
    const N = this.#rule.envs, rollout = this.#rollout, t = this.#t;
    const k = t * N;
    let bootstrap = false;
    for (let i = 0; i < N; i++) {
      rollout.finalValues[k + i] = 0;
      if (rollout.truncated[k + i] && !rollout.terminated[k + i]) bootstrap = true;
    }
    if (bootstrap) {
      const values = await this.#values(this.#finalObservations, null);
      for (let i = 0; i < N; i++) {
        if (rollout.truncated[k + i] && !rollout.terminated[k + i]) {
          rollout.finalValues[k + i] = values[i];
        }
      }
    }
    this.#cursor = 0;
    this.#t++;
    const rule = this.#rule;
    const full = rule.rolloutSteps !== null
      ? this.#t >= rule.rolloutSteps
      : this.#rolloutEpisodes >= rule.episodesPerUpdate! && this.#masks.every((m) => m === 0);
    if (!full) return;
    const report = (this.#updates + 1) % this.#shared.logInterval === 0 && options.onTrain;
    const stats = await this.#update(Boolean(report));
    this.#t = 0;
    if (report && stats) {
      options.onTrain!({ step: this.#steps, updates: this.#updates, ...stats });
    }
  }

  /** V of N observations `[N, I]` from the critic's current state (masked, or not). */
  async #values(observations: Float32Array, masks: Float32Array | null): Promise<Float32Array> {
    const N = this.#rule.envs, I = this.spec.observationSize, backend = this.backend;
    const x = backend.tensor(observations, [1, N, I]);
    const mask = masks ? backend.tensor(masks, [1, N]) : undefined;
    const { output, state } = this.critic.forward(x, { state: this.#criticState, mask });
    const values = await backend.read(output);
    this.critic.disposeState(state);
    for (const tensor of [x, mask, output]) if (tensor) backend.dispose(tensor);
    return values;
  }

  /**
   * One update from the rollout: GAE(λ) advantages and returns, then both networks replay the
   * rollout as one `[T, N]` sequence from their states at its start, with its reset masks; the
   * loss is `mean(−Â·log π(a|s) − β·H(π)) + c_v·mean((V(s) − R)²)`; each network's
   * gradients are clipped by their global norm and each network takes an optimizer step.
   */
  async #update(read: boolean): Promise<UpdateStats | null> {
    const o = this.#shared, backend = this.backend, rollout = this.#rollout;
    const T = this.#t, N = this.#rule.envs, I = this.spec.observationSize;
    const A = this.spec.actionCount, rows = T * N;
    const lastValues = await this.#values(this.#observations, this.#masks);
    const { advantages, returns } = computeAdvantages({
      steps: T,
      envs: N,
      rewards: rollout.rewards.subarray(0, rows).map((r) => r * o.rewardScale),
      values: rollout.values,
      terminated: rollout.terminated,
      truncated: rollout.truncated,
      finalValues: rollout.finalValues,
      lastValues,
    }, { gamma: o.gamma, lambda: this.#rule.lambda });
    const weights = o.normalizeAdvantages ? normalizeAdvantages(advantages) : advantages;

    const rate = learningRateAt(o.learningRate, this.#steps);
    setLearningRate(this.#actorOptimizer, rate);
    setLearningRate(this.#criticOptimizer, rate);
    const loss = actorCriticLoss(this.actor, this.critic, {
      steps: T,
      envs: N,
      observations: rollout.observations.subarray(0, rows * I),
      masks: rollout.masks.subarray(0, rows),
      actions: rollout.actions.subarray(0, rows),
      advantages: weights,
      returns,
      actorState: this.#startActorState,
      criticState: this.#startCriticState,
    }, o);
    if (this.#observationStats) {
      // The normalization layers are not trained: without a gradient the optimizer skips them.
      for (const p of [...this.actor.layers[0].parameters, ...this.critic.layers[0].parameters]) {
        if (p.grad) backend.dispose(p.grad);
        p.grad = null;
      }
    }
    const gradsOf = (m: Sequential) => m.parameters.flatMap((p) => p.grad ? [p.grad] : []);
    backend.dispose(backend.clipByGlobalNorm(gradsOf(this.actor), o.maxGradNorm));
    backend.dispose(backend.clipByGlobalNorm(gradsOf(this.critic), o.maxGradNorm));
    this.#actorOptimizer.step(this.actor);
    this.#criticOptimizer.step(this.critic);
    this.#updates++;
    if (this.#observationStats) {
      this.#observationStats.add(rollout.observations.subarray(0, rows * I));
      this.#writeNormalization();
    }

    let stats: UpdateStats | null = null;
    if (read) {
      const policyLoss = (await backend.read(loss.policyLoss))[0];
      const valueLoss = (await backend.read(loss.valueLoss))[0];
      stats = {
        loss: policyLoss + o.valueCoef * valueLoss,
        entropy: meanEntropy(await backend.read(loss.logits), A),
        valueLoss,
      };
    }
    for (const t of [loss.policyLoss, loss.valueLoss, loss.logits]) backend.dispose(t);
    return stats;
  }

  /** Sets the normalization layers to `(x − mean) / std` of the observations seen so far. */
  #writeNormalization(): void {
    const stats = this.#observationStats;
    if (!stats) return;
    const I = this.spec.observationSize;
    const { scale, shift } = stats.affine();
    const w = new Float32Array(I * I), b = new Float32Array(I);
    for (let i = 0; i < I; i++) {
      w[i * I + i] = scale[i];
      b[i] = shift[i];
    }
    for (const model of [this.actor, this.critic]) {
      const [weight, bias] = model.layers[0].parameters;
      this.backend.write(weight.value, w);
      this.backend.write(bias.value, b);
    }
  }

  /**
   * The environment copies to step: on the first call they are reset with the environment seed
   * (copy i with seed + i); a restored agent puts them back in their saved states, or, where
   * they cannot be restored, starts fresh episodes and drops the unfinished rollout.
   */
  #begin(env: Env | readonly Env[] | VectorEnv): Env[] {
    const N = this.#rule.envs, I = this.spec.observationSize;
    const given = Array.isArray(env)
      ? [...env as readonly Env[]]
      : "envs" in env && Array.isArray(env.envs)
      ? [...(env as VectorEnv).envs]
      : null;
    if (given && given.length !== N) {
      throw new RangeError(
        `Cannot learn on ${given.length} environments: the agent steps ${N} copies`,
      );
    }
    if (
      this.#envs &&
      (given ? given.every((e, i) => e === this.#envs![i]) : env === this.#envs[0])
    ) return this.#envs;
    const envs = given ?? [env as Env];
    while (envs.length < N) envs.push(copyEnv(envs[0]));
    envs.forEach((e) => this.#checkEnv(e));

    const saved = this.#pendingEnvStates;
    const restorable = this.#started && Array.isArray(saved) && saved.length === N &&
      envs.every(isSnapshotEnv);
    if (restorable) {
      envs.forEach((e, i) => (e as unknown as { setState(s: JsonValue): void }).setState(saved[i]));
    } else {
      const seed = this.#envSeed + (this.#started ? N * (this.#episodes + 1) : 0);
      envs.forEach((e, i) =>
        this.#observations.set(e.reset({ seed: (seed + i) >>> 0 }).observation, i * I)
      );
      this.#masks.fill(0);
      this.#t = 0;
      this.#cursor = 0;
      this.#episodeReturns.fill(0);
      this.#episodeLengths.fill(0);
      this.#started = true;
    }
    this.#pendingEnvStates = null;
    this.#envs = envs;
    return envs;
  }

  /** Everything needed to continue the run exactly (see {@linkcode AgentState}). */
  async getState(): Promise<AgentState> {
    const actorOptimizer = await optimizerArrays(
      "actorOptimizer.",
      this.#actorOptimizer,
      this.actor,
    );
    const criticOptimizer = await optimizerArrays(
      "criticOptimizer.",
      this.#criticOptimizer,
      this.critic,
    );
    const envs = this.#envs && this.#envs.every(isSnapshotEnv)
      ? this.#envs.map((e) => (e as unknown as { getState(): JsonValue }).getState())
      : null;
    const rows = this.#t + (this.#cursor > 0 ? 1 : 0);
    const N = this.#rule.envs, I = this.spec.observationSize;
    const arrays: AgentArray[] = [
      ...await modelArrays("actor.", this.actor),
      ...await modelArrays("critic.", this.critic),
      ...actorOptimizer.arrays,
      ...criticOptimizer.arrays,
    ];
    if (this.#started) {
      const actorSize = recurrentStateSize(this.actor),
        criticSize = recurrentStateSize(this.critic);
      arrays.push(
        { name: "observations", shape: [N, I], data: this.#observations.slice() },
        { name: "masks", shape: [N], data: this.#masks.slice() },
        {
          name: "actorState",
          shape: [N, actorSize],
          data: await readRecurrentState(this.backend, this.#actorState),
        },
        {
          name: "criticState",
          shape: [N, criticSize],
          data: await readRecurrentState(this.backend, this.#criticState),
        },
      );
      if (rows > 0) {
        arrays.push(
          { name: "startActorState", shape: [N, actorSize], data: this.#startActorState.slice() },
          {
            name: "startCriticState",
            shape: [N, criticSize],
            data: this.#startCriticState.slice(),
          },
          { name: "finalObservations", shape: [N, I], data: this.#finalObservations.slice() },
          ...this.#rollout.toArrays("rollout.", rows),
        );
      }
    }
    const json: JsonObject = {
      kind: this.kind,
      options: this.#shared as unknown as JsonObject,
      spec: { ...this.spec },
      steps: this.#steps,
      episodes: this.#episodes,
      updates: this.#updates,
      actorOptimizerStep: actorOptimizer.step,
      criticOptimizerStep: criticOptimizer.step,
      rng: this.#rng.getState() as unknown as JsonObject,
      started: this.#started,
      t: this.#t,
      cursor: this.#cursor,
      rolloutEpisodes: this.#rolloutEpisodes,
      observationStats: this.#observationStats?.toJson() ?? null,
      episodeReturns: [...this.#episodeReturns],
      episodeLengths: [...this.#episodeLengths],
      envs: this.#pendingEnvStates ?? envs,
    };
    return { json, arrays };
  }

  /** Restores a state from {@linkcode PolicyGradientAgent.getState}; options and sizes must match. */
  setState(state: AgentState): void {
    const j = state.json, name = this.kind.toUpperCase();
    checkStateHeader(state, { kind: this.kind, options: this.#shared, spec: this.spec }, name);
    const N = this.#rule.envs, I = this.spec.observationSize;
    const t = j.t as number, cursor = j.cursor as number;
    if (!(Number.isInteger(t) && t >= 0 && Number.isInteger(cursor) && cursor >= 0 && cursor < N)) {
      throw new TypeError(`Cannot restore ${name}: the rollout position is malformed`);
    }
    const returns = j.episodeReturns as number[], lengths = j.episodeLengths as number[];
    if (!Array.isArray(returns) || returns.length !== N || !Array.isArray(lengths)) {
      throw new TypeError(`Cannot restore ${name}: the episode counters are malformed`);
    }
    restoreModel(state, "actor.", this.actor);
    restoreModel(state, "critic.", this.critic);
    restoreOptimizer(
      state,
      "actorOptimizer.",
      this.#actorOptimizer,
      this.actor,
      j.actorOptimizerStep as number,
    );
    restoreOptimizer(
      state,
      "criticOptimizer.",
      this.#criticOptimizer,
      this.critic,
      j.criticOptimizerStep as number,
    );
    this.#rng.setState(j.rng as unknown as RngState);
    this.#steps = j.steps as number;
    this.#episodes = j.episodes as number;
    this.#updates = j.updates as number;
    this.#started = Boolean(j.started);
    this.#t = t;
    this.#cursor = cursor;
    this.#rolloutEpisodes = j.rolloutEpisodes as number;
    this.#observationStats?.fromJson(j.observationStats);
    this.#episodeReturns = [...returns];
    this.#episodeLengths = [...lengths];
    this.actor.disposeState(this.#actorState);
    this.critic.disposeState(this.#criticState);
    const actorSize = recurrentStateSize(this.actor), criticSize = recurrentStateSize(this.critic);
    if (this.#started) {
      this.#observations.set(findArray(state, "observations", Float32Array, N * I));
      this.#masks.set(findArray(state, "masks", Float32Array, N));
      const actorState = findArray(state, "actorState", Float32Array, N * actorSize);
      const criticState = findArray(state, "criticState", Float32Array, N * criticSize);
      this.#actorState = makeRecurrentState(this.actor, actorState, N);
      this.#criticState = makeRecurrentState(this.critic, criticState, N);
    } else {
      this.#actorState = this.actor.initialState(N);
      this.#criticState = this.critic.initialState(N);
    }
    const rows = t + (cursor > 0 ? 1 : 0);
    if (this.#started && rows > 0) {
      this.#startActorState = findArray(state, "startActorState", Float32Array, N * actorSize)
        .slice();
      this.#startCriticState = findArray(state, "startCriticState", Float32Array, N * criticSize)
        .slice();
      this.#finalObservations.set(findArray(state, "finalObservations", Float32Array, N * I));
      this.#rollout.fromArrays(state, "rollout.", rows);
    }
    this.#pendingEnvStates = j.envs ?? null;
    this.#envs = null;
  }

  /** Writes the full state to a checkpoint file. */
  async save(path: string): Promise<void> {
    await writeAgentState(path, await this.getState());
  }

  /** Restores the full state from a file written by {@linkcode PolicyGradientAgent.save}. */
  async load(path: string): Promise<void> {
    this.setState(await readAgentState(path));
  }

  #checkEnv(env: EnvSpec): void {
    if (
      env.observationSize !== this.spec.observationSize || env.actionCount !== this.spec.actionCount
    ) {
      throw new TypeError(
        `Cannot use an environment with ${env.observationSize} observations and ${env.actionCount} actions: the agent was built for ${this.spec.observationSize} and ${this.spec.actionCount}`,
      );
    }
  }
}

/** The mean entropy of the softmax of each row of `[rows, A]` logits, in float64. */
function meanEntropy(logits: Float32Array, A: number): number {
  const rows = logits.length / A;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let max = -Infinity, sum = 0, weighted = 0;
    for (let a = 0; a < A; a++) max = Math.max(max, logits[r * A + a]);
    for (let a = 0; a < A; a++) {
      const z = logits[r * A + a] - max, e = Math.exp(z);
      sum += e;
      weighted += e * z;
    }
    total += Math.log(sum) - weighted / sum;
  }
  return rows ? total / rows : 0;
}

/**
 * A2C with LSTM actor and critic over `envs` environment copies: rollouts of `rolloutSteps`
 * steps per copy, GAE(λ) advantages bootstrapped from the critic at the rollout's end and
 * wherever an episode was truncated (never where it terminated), an entropy bonus, a weighted
 * value loss, global gradient clipping and Adam (or RMSprop).
 *
 * @example
 * ```ts
 * import { A2C, a2cPresets } from "./policy_gradient.ts";
 * const agent = new A2C({ observationSize: 2, actionCount: 2 }, {
 *   ...a2cPresets["cartpole-masked"],
 *   seed: 3,
 * });
 * let state = agent.initialState();
 * const step = await agent.act(Float32Array.of(0, 0.01), state);
 * agent.actor.disposeState(state);
 * state = step.state!;
 * if (step.action !== 0 && step.action !== 1) throw new Error("one of two actions");
 * ```
 */
export class A2C extends PolicyGradientAgent {
  /** "a2c". */
  readonly kind: string = "a2c";
  /** The resolved options. */
  readonly options: Readonly<A2cOptions>;

  /** Builds the networks for an environment's sizes. */
  constructor(env: EnvSpec, options: Partial<A2cOptions> = {}, backend?: Backend) {
    const o = resolveA2cOptions(options);
    super(env, o, {
      envs: o.envs,
      rolloutSteps: o.rolloutSteps,
      episodesPerUpdate: null,
      lambda: o.gaeLambda,
    }, backend);
    this.options = o;
  }

  /** Builds an agent from a saved state (its options and sizes come from the state). */
  static fromState(state: AgentState, backend?: Backend): A2C {
    const agent = new A2C(
      state.json.spec as unknown as EnvSpec,
      state.json.options as unknown as A2cOptions,
      backend,
    );
    agent.setState(state);
    return agent;
  }
}

/**
 * REINFORCE with an LSTM policy and a learned value baseline (an LSTM critic): after every
 * `episodesPerUpdate` whole episodes, the policy follows `∇log π(a_t|s_t)·(G_t − V(s_t))` with
 * the returns-to-go G_t (bootstrapped from V only where the time limit cut an episode short),
 * and the critic regresses on G_t. The episodes of a batch are one sequence whose LSTM state is
 * reset at each episode's start.
 *
 * @example
 * ```ts
 * import { REINFORCE } from "./policy_gradient.ts";
 * const agent = new REINFORCE({ observationSize: 4, actionCount: 2 }, { lstmUnits: 8, seed: 1 });
 * const { action } = await agent.act(Float32Array.of(0, 0, 0.01, 0));
 * if (action !== 0 && action !== 1) throw new Error("one of two actions");
 * ```
 */
export class REINFORCE extends PolicyGradientAgent {
  /** "reinforce". */
  readonly kind: string = "reinforce";
  /** The resolved options. */
  readonly options: Readonly<ReinforceOptions>;

  /** Builds the networks for an environment's sizes. */
  constructor(env: EnvSpec, options: Partial<ReinforceOptions> = {}, backend?: Backend) {
    const o = resolveReinforceOptions(options);
    super(env, o, {
      envs: 1,
      rolloutSteps: null,
      episodesPerUpdate: o.episodesPerUpdate,
      lambda: 1,
    }, backend);
    this.options = o;
  }

  /** Builds an agent from a saved state (its options and sizes come from the state). */
  static fromState(state: AgentState, backend?: Backend): REINFORCE {
    const agent = new REINFORCE(
      state.json.spec as unknown as EnvSpec,
      state.json.options as unknown as ReinforceOptions,
      backend,
    );
    agent.setState(state);
    return agent;
  }
}

/** Running mean and variance per feature (Chan et al.'s parallel update), in float64. */
class RunningMoments {
  #count = 0;
  #mean: number[];
  #m2: number[];

  constructor(size: number) {
    this.#mean = new Array(size).fill(0);
    this.#m2 = new Array(size).fill(0);
  }

  /** Adds rows of `[rows, size]` values. */
  add(rows: Float32Array): void {
    const size = this.#mean.length, n = rows.length / size;
    if (n === 0) return;
    for (let j = 0; j < size; j++) {
      let mean = 0, m2 = 0;
      for (let r = 0; r < n; r++) mean += rows[r * size + j];
      mean /= n;
      for (let r = 0; r < n; r++) m2 += (rows[r * size + j] - mean) ** 2;
      const total = this.#count + n, delta = mean - this.#mean[j];
      this.#mean[j] += delta * n / total;
      this.#m2[j] += m2 + delta * delta * this.#count * n / total;
    }
    this.#count += n;
  }

  /** `scale` and `shift` with `x · scale + shift = (x − mean) / std` (identity before any data). */
  affine(): { scale: number[]; shift: number[] } {
    if (this.#count === 0) {
      return { scale: this.#mean.map(() => 1), shift: this.#mean.map(() => 0) };
    }
    const scale = this.#m2.map((m2) => 1 / Math.sqrt(m2 / this.#count + 1e-8));
    return { scale, shift: this.#mean.map((m, j) => -m * scale[j]) };
  }

  toJson(): JsonObject {
    return { count: this.#count, mean: [...this.#mean], m2: [...this.#m2] };
  }

  fromJson(json: JsonValue | undefined): void {
    const j = json as { count?: unknown; mean?: unknown; m2?: unknown } | null;
    const size = this.#mean.length;
    const ok = (a: unknown) =>
      Array.isArray(a) && a.length === size && a.every((v) => typeof v === "number");
    if (!j || !Number.isInteger(j.count) || !ok(j.mean) || !ok(j.m2)) {
      throw new TypeError("Cannot restore the observation statistics: they are malformed");
    }
    this.#count = j.count as number;
    this.#mean = [...j.mean as number[]];
    this.#m2 = [...j.m2 as number[]];
  }
}
