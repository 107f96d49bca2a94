/**
 * Proximal policy optimisation (Schulman et al., 2017) with feed-forward or recurrent policies,
 * as CleanRL's `ppo.py` / `ppo_atari_lstm.py` and sb3-contrib's `RecurrentPPO` do it: rollouts of
 * `rolloutSteps` steps of N environment copies, GAE(λ), then `epochs` passes over the rollout in
 * `minibatches` minibatches, each step of which maximises the clipped surrogate
 * `min(ρ·Â, clip(ρ, 1 − ε, 1 + ε)·Â)` with ρ = π(a|s)/π_old(a|s), plus an entropy bonus, minus
 * the value loss (optionally clipped around the old values), with advantages normalised per
 * minibatch, gradients clipped by their global norm, and an optional stop when the approximate
 * KL divergence passes 1.5 × `targetKl` (SB3's rule). Learning rate and clip range can follow
 * linear schedules.
 *
 * Recurrent policies learn from minibatches of whole environment copies: each copy's part of the
 * rollout is one sequence, replayed from the state stored at its start with its reset masks.
 * Feed-forward policies learn from minibatches of single steps drawn across the rollout.
 *
 * The policy gradient is the head's with constant weights `w = Â·ρ` where the unclipped term is
 * the minimum and 0 elsewhere (where the clipped term is the minimum, its gradient is 0), so
 * discrete and continuous (Gaussian) policies share it; everything is composed from the backend's
 * elementwise ops.
 *
 * @example
 * ```ts
 * import { CartPole, PPO } from "@rnnrl/rnnrl";
 * const env = new CartPole();
 * const agent = new PPO(env, { cell: "none", envs: 4, rolloutSteps: 32, epochs: 2, seed: 1 });
 * await agent.learn(env, { steps: 512 });
 * if (agent.updates !== 4) throw new Error("an update every 128 steps");
 * ```
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { EnvCore, EnvSpec } from "../envs/env.ts";
import { inRange, positiveInteger, resolveOptions } from "./_options.ts";
import {
  checkOnPolicyOptions,
  ON_POLICY_DEFAULTS,
  OnPolicyAgent,
  type OnPolicyOptions,
  type OnPolicyStats,
  RolloutSlice,
} from "./on_policy.ts";
import { tensorScope } from "./_scope.ts";
import type { PolicyHead } from "./policy_heads.ts";
import { normalizeAdvantages } from "./rollout_buffer.ts";
import { checkRamp, type LinearRamp, rampValue } from "./schedules.ts";

/** Options of {@linkcode PPO}. */
export interface PpoOptions extends OnPolicyOptions {
  /** The number of environment copies N stepped together. */
  envs: number;
  /** Steps per copy in a rollout: an update every `rolloutSteps`·N environment steps. */
  rolloutSteps: number;
  /** The λ of generalized advantage estimation. */
  gaeLambda: number;
  /** Passes over each rollout. */
  epochs: number;
  /** Minibatches per pass (recurrent policies: whole copies, so it must divide `envs`). */
  minibatches: number;
  /** The clip range ε of the probability ratio: a constant, or a linear ramp over steps. */
  clipRange: number | LinearRamp;
  /** Clip the values to this distance from the old ones in the value loss, or null for none. */
  clipRangeValue: number | null;
  /** Stop an update's passes once the approximate KL passes 1.5 × this, or null for never. */
  targetKl: number | null;
}

/**
 * PPO's defaults, CleanRL's where they apply: 8 copies, 128-step rollouts, 4 passes of 4
 * minibatches, ε = 0.2, GAE λ = 0.95, an entropy bonus of 0.01, advantages normalised per
 * minibatch, Adam at 2.5·10⁻⁴, gradients clipped at 0.5; an LSTM of 64 units and a 64-unit
 * ReLU layer in each network.
 */
export const PPO_DEFAULTS: Readonly<PpoOptions> = Object.freeze({
  ...ON_POLICY_DEFAULTS,
  learningRate: 2.5e-4,
  entropyCoef: 0.01,
  envs: 8,
  rolloutSteps: 128,
  gaeLambda: 0.95,
  epochs: 4,
  minibatches: 4,
  clipRange: 0.2,
  clipRangeValue: null,
  targetKl: null,
});

/**
 * Resolves PPO options against {@linkcode PPO_DEFAULTS} and checks every field.
 *
 * @throws {TypeError} For an option PPO does not have (naming the nearest one) or a wrong type.
 * @throws {RangeError} For a value out of range.
 */
export function resolvePpoOptions(options: Partial<PpoOptions> = {}): PpoOptions {
  const o = resolveOptions("PPO", PPO_DEFAULTS, options);
  checkOnPolicyOptions(o);
  positiveInteger(o.envs, "envs");
  positiveInteger(o.rolloutSteps, "rolloutSteps");
  inRange(o.gaeLambda, 0, 1, "gaeLambda");
  positiveInteger(o.epochs, "epochs");
  positiveInteger(o.minibatches, "minibatches");
  if (typeof o.clipRange === "number") inRange(o.clipRange, Number.MIN_VALUE, 10, "clipRange");
  else o.clipRange = checkRamp(o.clipRange, "clipRange");
  if (o.clipRangeValue !== null) {
    inRange(o.clipRangeValue, Number.MIN_VALUE, Infinity, "clipRangeValue");
  }
  if (o.targetKl !== null) inRange(o.targetKl, Number.MIN_VALUE, Infinity, "targetKl");
  if (o.cell !== "none" && o.envs % o.minibatches !== 0) {
    throw new RangeError(
      `Cannot use minibatches ${o.minibatches} with envs ${o.envs}: a recurrent policy's ` +
        "minibatches are whole copies, so minibatches must divide envs",
    );
  }
  if (o.cell === "none" && o.minibatches > o.envs * o.rolloutSteps) {
    throw new RangeError(
      `Cannot use minibatches ${o.minibatches}: a rollout has only ${
        o.envs * o.rolloutSteps
      } steps`,
    );
  }
  return o;
}

/** What one update measured, summed over its minibatches. */
interface UpdateSums {
  minibatches: number;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  clipFraction: number;
  approxKl: number;
}

/**
 * PPO over `envs` copies of an environment, discrete (a softmax over the valid actions) or
 * continuous (a Gaussian over one action in the environment's bounds).
 *
 * @example
 * ```ts
 * import { Pendulum, PPO } from "@rnnrl/rnnrl";
 * const env = new Pendulum({ maskVelocity: true }); // a continuous torque, velocity hidden
 * const agent = new PPO(env, { cell: "lstm", envs: 2, rolloutSteps: 16, minibatches: 2 });
 * await agent.learn(env, { steps: 64 });
 * const { action } = await agent.act(Float32Array.of(1, 0), agent.initialState());
 * if (!(action >= -2 && action <= 2)) throw new Error("a torque in the bounds");
 * ```
 */
export class PPO extends OnPolicyAgent<PpoOptions> {
  /** The defaults, which fill in options that a state saved before they existed lacks. */
  protected override optionDefaults(): object {
    return PPO_DEFAULTS;
  }

  /** Builds the networks for an environment's sizes (and its action bounds, if continuous). */
  constructor(
    env: EnvSpec | EnvCore<unknown>,
    options: Partial<PpoOptions> = {},
    backend?: Backend,
  ) {
    const o = resolvePpoOptions(options);
    super("ppo", "PPO", env, o, o.envs, backend);
  }

  /** A rollout is `rolloutSteps` vector steps. */
  protected rolloutComplete(): boolean {
    return this.rollout.steps >= this.options.rolloutSteps;
  }

  /** The passes over the rollout (see the module documentation). */
  protected async update(read: boolean): Promise<OnPolicyStats | null> {
    const o = this.options, backend = this.backend, rollout = this.rollout;
    const { advantages, returns } = await this.advantages(o.gaeLambda);
    const epsilon = typeof o.clipRange === "number"
      ? o.clipRange
      : Math.max(rampValue(o.clipRange, this.stepCount), 1e-8);
    this.setLearningRate();
    const sums: UpdateSums = {
      minibatches: 0,
      policyLoss: 0,
      valueLoss: 0,
      entropy: 0,
      clipFraction: 0,
      approxKl: 0,
    };
    const watchKl = o.targetKl !== null;
    let stopped = false;
    for (let epoch = 0; epoch < o.epochs && !stopped; epoch++) {
      for (const slice of this.#minibatches()) {
        const kl = await this.#minibatchLoss(slice, advantages, returns, epsilon, read, sums);
        slice.dispose();
        if (watchKl && kl > 1.5 * o.targetKl!) {
          // SB3's rule: this minibatch's gradients are not applied, and the update ends.
          for (const t of this.networks.trainables) {
            for (const p of t.parameters) {
              if (p.grad) backend.dispose(p.grad);
              p.grad = null;
            }
          }
          stopped = true;
          break;
        }
        await this.stepOptimizers();
      }
    }
    if (!read) return null;
    const n = Math.max(sums.minibatches, 1);
    const policyLoss = sums.policyLoss / n, valueLoss = sums.valueLoss / n;
    return {
      loss: policyLoss - o.entropyCoef * sums.entropy / n + o.valueCoef * valueLoss,
      policyLoss,
      valueLoss,
      entropy: sums.entropy / n,
      approxKl: sums.approxKl / n,
      clipFraction: sums.clipFraction / n,
      explainedVariance: explainedVariance(
        rollout.values.subarray(0, this.rolloutRows),
        returns,
      ),
      clipRange: epsilon,
    };
  }

  /** This pass's minibatches: shuffled whole copies (recurrent) or shuffled steps. */
  *#minibatches(): Generator<RolloutSlice> {
    const o = this.options, rng = this.updateRng, rollout = this.rollout;
    if (this.recurrent) {
      const order = shuffled(this.envCount, rng);
      const size = this.envCount / o.minibatches;
      for (let m = 0; m < o.minibatches; m++) {
        const columns = Array.from(order.subarray(m * size, (m + 1) * size));
        yield RolloutSlice.columns(this.backend, rollout, columns, rollout.steps);
      }
      return;
    }
    const rows = this.rolloutRows, order = shuffled(rows, rng);
    for (let m = 0; m < o.minibatches; m++) {
      const from = Math.floor((m * rows) / o.minibatches);
      const to = Math.floor(((m + 1) * rows) / o.minibatches);
      yield RolloutSlice.steps(
        this.backend,
        rollout,
        order.slice(from, to),
        this.networks.models.length,
      );
    }
  }

  /**
   * The loss of one minibatch (gradients left on the parameters), its statistics added to
   * `sums`; returns the approximate KL divergence of the new policy from the old (read only when
   * it is needed).
   */
  async #minibatchLoss(
    slice: RolloutSlice,
    advantages: Float32Array,
    returns: Float32Array,
    epsilon: number,
    read: boolean,
    sums: UpdateSums,
  ): Promise<number> {
    const o = this.options, backend = this.backend, head = this.networks.head;
    let weights = slice.gather(advantages);
    if (o.normalizeAdvantages) weights = normalizeAdvantages(weights);
    const A = slice.rowTensor(weights);
    const oldLogProbs = slice.tensor(this.rollout.logProbs);
    const target = slice.tensor(returns);
    const oldValues = slice.tensor(this.rollout.values);
    let surrogate: PpoSurrogate | null = null;
    const ppoWeights = (logits: Tensor): Tensor => {
      surrogate = ppoSurrogate(backend, head, logits, slice.actions, oldLogProbs, A, epsilon);
      return surrogate.weights;
    };
    const valueLoss = o.clipRangeValue === null
      ? undefined
      : (values: Tensor) => clippedValueLoss(backend, values, oldValues, target, o.clipRangeValue!);
    const stats = await this.replayLoss(slice, ppoWeights, target, read, valueLoss);
    const { loss, clipFraction, approxKl } = surrogate! as PpoSurrogate;
    let kl = 0;
    if (read || o.targetKl !== null) kl = (await backend.read(approxKl))[0];
    if (read && stats) {
      sums.minibatches++;
      sums.policyLoss += (await backend.read(loss))[0];
      sums.valueLoss += stats.valueLoss;
      sums.entropy += stats.entropy;
      sums.clipFraction += (await backend.read(clipFraction))[0];
      sums.approxKl += kl;
    }
    for (const t of [loss, clipFraction, approxKl]) {
      backend.dispose(t);
    }
    return kl;
  }
}

/** PPO's clipped surrogate of a minibatch, as {@linkcode ppoSurrogate} composes it. */
export interface PpoSurrogate {
  /** `[R]`: the constant policy-gradient weights `Â·ρ` where the unclipped term is the minimum. */
  weights: Tensor;
  /** `[1]`: `−mean(min(ρ·Â, clip(ρ, 1 − ε, 1 + ε)·Â))`. */
  loss: Tensor;
  /** `[1]`: the fraction of rows with `|ρ − 1| > ε`. */
  clipFraction: Tensor;
  /** `[1]`: the approximate KL divergence `mean(ρ − 1 − log ρ)`. */
  approxKl: Tensor;
}

/**
 * PPO's clipped surrogate, composed from the backend's elementwise ops: with
 * ρ = exp(log π(a|s) − log π_old(a|s)), the loss `−mean(min(ρ·Â, clip(ρ, 1 − ε, 1 + ε)·Â))`, and
 * the weights whose policy-gradient loss `mean(−w·log π(a|s))` has the same gradient: `w = Â·ρ`
 * where the unclipped term is the minimum and 0 where the clipped one is (it is flat there).
 * The caller owns every tensor returned.
 */
export function ppoSurrogate(
  backend: Backend,
  head: PolicyHead,
  outputs: Tensor,
  actions: Tensor,
  oldLogProbs: Tensor,
  advantages: Tensor,
  epsilon: number,
): PpoSurrogate {
  const t = tensorScope(backend), rows = actions.size;
  const logRatio = t(backend.sub(t(head.logProb(outputs, actions)), oldLogProbs));
  const ratio = t(backend.exp(logRatio));
  const unclipped = t(backend.mul(ratio, advantages));
  const bounded = t(backend.clamp(ratio, 1 - epsilon, 1 + epsilon));
  const clippedTerm = t(backend.mul(bounded, advantages));
  const minimum = t(backend.minimum(unclipped, clippedTerm));
  const loss = backend.scale(t(backend.sum(minimum)), -1 / rows);
  const weights = backend.mul(unclipped, t(backend.greaterEqual(clippedTerm, unclipped)));
  const offset = t(backend.addScalar(ratio, -1));
  const clipFraction = fractionAbove(backend, t(backend.abs(offset)), epsilon);
  const approxKl = backend.scale(t(backend.sum(t(backend.sub(offset, logRatio)))), 1 / rows);
  t.dispose();
  return { weights, loss, clipFraction, approxKl };
}

/** `[1]`: the fraction of `values` above `threshold`. */
function fractionAbove(backend: Backend, values: Tensor, threshold: number): Tensor {
  const t = tensorScope(backend);
  const above = t(
    backend.greater(t(backend.addScalar(values, -threshold)), t(backend.zeros(values.shape))),
  );
  const fraction = backend.scale(t(backend.sum(above)), 1 / values.size);
  t.dispose();
  return fraction;
}

/**
 * PPO's clipped value loss `mean(max((V − R)², (V_c − R)²))` with
 * `V_c = V_old + clip(V − V_old, −ε, ε)`, and its gradient with respect to V: through the larger
 * term, and through V_c only where the clip does not bind.
 */
export function clippedValueLoss(
  backend: Backend,
  values: Tensor,
  oldValues: Tensor,
  returns: Tensor,
  epsilon: number,
): { loss: Tensor; grad: Tensor } {
  const t = tensorScope(backend), n = values.size;
  const change = t(backend.sub(values, oldValues));
  const boundedChange = t(backend.clamp(change, -epsilon, epsilon));
  const error = t(backend.sub(values, returns));
  const clippedError = t(backend.sub(t(backend.add(oldValues, boundedChange)), returns));
  const square = t(backend.mul(error, error));
  const clippedSquare = t(backend.mul(clippedError, clippedError));
  const loss = backend.scale(t(backend.sum(t(backend.maximum(square, clippedSquare)))), 1 / n);
  // d/dV: 2(V − R)/n where the unclipped term is the larger, 2(V_c − R)/n where the clip is open.
  const binds = t(
    backend.greater(t(backend.abs(t(backend.sub(change, boundedChange)))), t(backend.zeros([n]))),
  );
  const open = t(backend.addScalar(t(backend.scale(binds, -1)), 1));
  const picked = t(
    backend.where(
      t(backend.greaterEqual(square, clippedSquare)),
      error,
      t(backend.mul(clippedError, open)),
    ),
  );
  const grad = backend.scale(picked, 2 / n);
  t.dispose();
  return { loss, grad };
}

/** 1 − Var(R − V)/Var(R): how much of the returns' variance the values explain. */
export function explainedVariance(values: ArrayLike<number>, returns: ArrayLike<number>): number {
  const n = returns.length;
  let meanR = 0, meanD = 0;
  for (let i = 0; i < n; i++) {
    meanR += returns[i];
    meanD += returns[i] - values[i];
  }
  meanR /= n;
  meanD /= n;
  let varR = 0, varD = 0;
  for (let i = 0; i < n; i++) {
    varR += (returns[i] - meanR) ** 2;
    varD += (returns[i] - values[i] - meanD) ** 2;
  }
  return varR === 0 ? 0 : 1 - varD / varR;
}

/** A random permutation of 0..n − 1 (Fisher–Yates): the order of a pass's minibatches. */
export function shuffled(n: number, rng: { int(n: number): number }): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
