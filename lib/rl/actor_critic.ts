/**
 * The actor-critic networks of the on-policy agents, and their loss. The actor (an optional
 * frozen normalisation layer → LSTM (or none) → Dense ReLU layers → logits) and the critic (its
 * own copy of that trunk → one value) are separate networks, so the actor alone is the exported
 * policy; each has its own optimizer and gradient clipping.
 *
 * With `normalizeObservations`, both networks start with a linear layer that the optimizer never
 * moves and every update sets to `(x − mean) / std` of the observations seen so far (the running
 * statistics, {@linkcode RunningMoments}, are part of the checkpoint), so the exported actor
 * takes raw observations. In a masked game the logits of invalid actions are pushed to
 * {@linkcode MASKED_LOGIT}, so the policy is a softmax over the valid actions only.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { EnvSpec } from "../envs/env.ts";
import type { JsonObject, JsonValue } from "../io/json.ts";
import { Dense } from "../nn/dense.ts";
import type { Layer } from "../nn/layer.ts";
import { LSTM } from "../nn/lstm.ts";
import { Sequential } from "../nn/sequential.ts";

/** The recurrent cell of a policy's trunk: an LSTM, or none (a feed-forward policy). */
export type PolicyCell = "lstm" | "none";

/** The cells {@linkcode PolicyCell} allows, for validation and help text. */
export const POLICY_CELLS: readonly PolicyCell[] = ["lstm", "none"];

/** The shape of the actor and critic networks. */
export interface ActorCriticShape {
  /** The recurrent cell of each network ("none" for a feed-forward policy). */
  cell: PolicyCell;
  /** The hidden size of each network's recurrent cell. */
  lstmUnits: number;
  /** Sizes of the Dense ReLU layers between the cell and the output layer. */
  hiddenSizes: number[];
  /** Standardise observations with their running mean and standard deviation (a frozen layer). */
  normalizeObservations: boolean;
}

/**
 * What the logits of an action a mask rules out become: far below any real logit, so its
 * probability is exactly 0 in float32, and finite, so no arithmetic on it overflows.
 */
export const MASKED_LOGIT: number = -1e9;

/** `[rows, A]`: 0 for a valid action, {@linkcode MASKED_LOGIT} for an invalid one. */
export function logitPenalty(masks: Uint8Array, rows: number, actions: number): Float32Array {
  const out = new Float32Array(rows * actions);
  for (let i = 0; i < rows * actions; i++) if (!masks[i]) out[i] = MASKED_LOGIT;
  return out;
}

/** The actor and the critic, built for an environment's sizes. */
export class ActorCritic {
  /** The policy: observation sequence `[T, B, I]` → logits `[T, B, A]`. */
  readonly actor: Sequential;
  /** The baseline: observation sequence `[T, B, I]` → values `[T, B, 1]`. */
  readonly critic: Sequential;
  /** The running observation statistics, when observations are normalised. */
  readonly observationStats: RunningMoments | null;
  readonly #backend: Backend;

  /** Builds both networks, the actor from `seeds.actor` and the critic from `seeds.critic`. */
  constructor(
    backend: Backend,
    spec: EnvSpec,
    shape: ActorCriticShape,
    seeds: { actor: number; critic: number },
  ) {
    this.#backend = backend;
    const I = spec.observationSize;
    const build = (outputs: number, seed: number) =>
      new Sequential(backend, {
        inputSize: I,
        layers: [
          ...(shape.normalizeObservations ? [new Dense({ units: I })] : []),
          ...(shape.cell === "lstm" ? [new LSTM({ units: shape.lstmUnits }) as Layer] : []),
          ...shape.hiddenSizes.map((units) => new Dense({ units, activation: "relu" })),
          new Dense({ units: outputs }),
        ],
        seed,
      });
    this.actor = build(spec.actionCount, seeds.actor);
    this.critic = build(1, seeds.critic);
    this.observationStats = shape.normalizeObservations ? new RunningMoments(I) : null;
    this.writeNormalization();
  }

  /** Sets the normalization layers to `(x − mean) / std` of the observations seen so far. */
  writeNormalization(): void {
    const stats = this.observationStats;
    if (!stats) return;
    const I = this.actor.inputSize;
    const { scale, shift } = stats.affine();
    const w = new Float32Array(I * I), b = new Float32Array(I);
    for (let i = 0; i < I; i++) {
      w[i * I + i] = scale[i];
      b[i] = shift[i];
    }
    for (const model of [this.actor, this.critic]) {
      const [weight, bias] = model.layers[0].parameters;
      this.#backend.write(weight.value, w);
      this.#backend.write(bias.value, b);
    }
  }

  /** Drops the gradients of the normalization layers, so the optimizers leave them alone. */
  freezeNormalization(): void {
    if (!this.observationStats) return;
    for (const p of [...this.actor.layers[0].parameters, ...this.critic.layers[0].parameters]) {
      if (p.grad) this.#backend.dispose(p.grad);
      p.grad = null;
    }
  }

  /** Adds observations `[rows, I]` to the running statistics and refreshes the layers. */
  observe(observations: Float32Array): void {
    if (!this.observationStats) return;
    this.observationStats.add(observations);
    this.writeNormalization();
  }
}

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
  /** `[T, N, A]` the action masks of a masked game (1 valid), or null: π is over valid actions. */
  actionMasks?: Uint8Array | null;
}

/** The losses of {@linkcode actorCriticLoss}, owned by the caller. */
export interface ActorCriticLoss {
  /** `[1]`: `mean(−Â·log π(a|s) − β·H(π))`. */
  policyLoss: Tensor;
  /** `[1]`: `mean((V(s) − R)²)` (before the value coefficient). */
  valueLoss: Tensor;
  /** `[T·N, A]`: the logits (masked), for statistics such as the entropy. */
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
 * import { actorCriticLoss, createCpuBackend, Dense, LSTM, Sequential } from "@rnnrl/rnnrl";
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
    const start = model.stateFromRows(flat, N);
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
    if (batch.actionMasks) {
      const penalty = backend.tensor(logitPenalty(batch.actionMasks, rows, A), [rows, A]);
      const masked = backend.add(logits, penalty);
      backend.dispose(penalty);
      backend.dispose(logits);
      logits = masked;
    }
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

/** The mean entropy of the softmax of each row of `[rows, A]` logits, in float64. */
export function meanEntropy(logits: Float32Array, A: number): number {
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
 * Running mean and variance per feature (Chan et al.'s parallel update), in float64.
 *
 * @example
 * ```ts
 * import { RunningMoments } from "@rnnrl/rnnrl";
 * const stats = new RunningMoments(1);
 * stats.add(Float32Array.of(1, 3));
 * const { scale, shift } = stats.affine();
 * if (Math.abs(3 * scale[0] + shift[0] - 1) > 1e-6) throw new Error("(3 − 2) / 1 = 1");
 * ```
 */
export class RunningMoments {
  #count = 0;
  #mean: number[];
  #m2: number[];

  /** Statistics of `size` features, before any data. */
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

  /** The statistics as JSON (for checkpoints). */
  toJson(): JsonObject {
    return { count: this.#count, mean: [...this.#mean], m2: [...this.#m2] };
  }

  /** Restores statistics saved by {@linkcode RunningMoments.toJson}. */
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
