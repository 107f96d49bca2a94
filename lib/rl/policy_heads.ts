/**
 * The distributions an actor-critic policy can have over its actions, each a "head" that turns
 * the policy network's outputs into actions, log-probabilities and a policy-gradient loss:
 *
 * - {@linkcode CategoricalHead}: the outputs are logits over discrete actions (softmax; in a
 *   masked game the invalid actions' logits are pushed out of reach first).
 * - {@linkcode GaussianHead}: the outputs are the means of a diagonal Gaussian over a continuous
 *   action, with a state-independent log standard deviation that the head holds as a parameter.
 *   Samples are stored unclipped with their log-probabilities; the environment gets them clipped
 *   to its bounds; the greedy action is the clipped mean.
 *
 * Both losses have the form `mean(−w · log π(a|s)) − β·H(π)` with constant weights w: the
 * advantages for A2C and REINFORCE, and PPO's clipped-surrogate weights, so every on-policy
 * algorithm shares them.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";
import type { Rng } from "../io/rng.ts";
import { Parameter } from "../nn/parameter.ts";
import { type TensorScope, tensorScope } from "./_scope.ts";
import { maskedArgmax, sampleSoftmax } from "./policy.ts";

/** What a head's loss gives: the loss, its gradient with respect to the outputs, the entropy. */
export interface HeadLoss {
  /** `[1]`: `mean(−w·log π(a|s)) − β·H(π)`. */
  loss: Tensor;
  /** d(loss)/d(outputs), the shape of the outputs. */
  grad: Tensor;
  /** The mean entropy of the policy over the rows (read on the host). */
  entropy: () => Promise<number>;
}

/** A distribution over actions, parameterised by the policy network's outputs. */
export interface PolicyHead {
  /** "categorical" or "gaussian". */
  readonly kind: "categorical" | "gaussian";
  /** The outputs per row the policy network must give: the logits, or the means. */
  readonly outputSize: number;
  /** Parameters the head holds itself (the Gaussian's log standard deviation). */
  readonly parameters: readonly Parameter[];
  /**
   * Samples one action per row of host outputs `[rows, P]`, drawing from `rng`; returns the
   * actions (as floats) and their log-probabilities.
   */
  sample(
    outputs: Float32Array,
    rng: Rng,
    masks?: (Uint8Array | undefined)[],
  ): { actions: Float32Array; logProbs: Float32Array };
  /** The action the environment gets for a stored (sampled) action. */
  envAction(action: number): number;
  /** The greedy action of one row of outputs. */
  greedy(output: Float32Array, mask?: Uint8Array): number;
  /** One sampled action of one row of outputs (for acting outside training). */
  sampleOne(output: Float32Array, rng: Rng, mask?: Uint8Array): number;
  /** `[R]`: log π(a|s) of stored actions under outputs `[R, P]` (masked logits for a game). */
  logProb(outputs: Tensor, actions: Tensor): Tensor;
  /** The loss with constant weights `[R]`, its gradient, and the head's own parameter gradients. */
  loss(outputs: Tensor, actions: Tensor, weights: Tensor, entropyCoef: number): HeadLoss;
  /** Reads the head's parameters back, for acting on the host (after every update). */
  refresh(): Promise<void>;
  /** Sets the head's parameters from saved values, in the order of `parameters`. */
  restore(values: Float32Array[]): void;
}

/**
 * What the logit of an action a mask rules out becomes: far below any real logit, so its
 * probability is exactly 0 in float32, and finite, so no arithmetic on it overflows.
 */
export const MASKED_LOGIT: number = -1e9;

/** `[rows, A]`: 0 for a valid action, {@linkcode MASKED_LOGIT} for an invalid one. */
export function logitPenalty(masks: Uint8Array, rows: number, actions: number): Float32Array {
  const out = new Float32Array(rows * actions);
  for (let i = 0; i < rows * actions; i++) if (!masks[i]) out[i] = MASKED_LOGIT;
  return out;
}

/** The log of the softmax of `logits` at `action`, over the valid actions, in float64. */
function logSoftmaxAt(logits: ArrayLike<number>, action: number, mask?: Uint8Array): number {
  let max = -Infinity;
  for (let a = 0; a < logits.length; a++) if (!mask || mask[a]) max = Math.max(max, logits[a]);
  let sum = 0;
  for (let a = 0; a < logits.length; a++) {
    if (!mask || mask[a]) sum += Math.exp(logits[a] - max);
  }
  return logits[action] - max - Math.log(sum);
}

/** A softmax over `actions` discrete actions. */
export class CategoricalHead implements PolicyHead {
  /** "categorical". */
  readonly kind = "categorical" as const;
  /** The number of actions A. */
  readonly outputSize: number;
  /** None. */
  readonly parameters: readonly Parameter[] = [];
  readonly #backend: Backend;

  /** A head over `actions` actions. */
  constructor(backend: Backend, actions: number) {
    this.#backend = backend;
    this.outputSize = actions;
  }

  /** One draw per row, by inversion of the cumulative softmax over the valid actions. */
  sample(
    outputs: Float32Array,
    rng: Rng,
    masks?: (Uint8Array | undefined)[],
  ): { actions: Float32Array; logProbs: Float32Array } {
    const A = this.outputSize, rows = outputs.length / A;
    const actions = new Float32Array(rows), logProbs = new Float32Array(rows);
    for (let i = 0; i < rows; i++) {
      const row = outputs.subarray(i * A, (i + 1) * A);
      const action = sampleSoftmax(row, rng.uniform(), masks?.[i]);
      actions[i] = action;
      logProbs[i] = logSoftmaxAt(row, action, masks?.[i]);
    }
    return { actions, logProbs };
  }

  /** The action itself. */
  envAction(action: number): number {
    return action;
  }

  /** The largest logit among the valid actions (lowest index on ties). */
  greedy(output: Float32Array, mask?: Uint8Array): number {
    return maskedArgmax(output, mask);
  }

  /** A draw from the softmax over the valid actions. */
  sampleOne(output: Float32Array, rng: Rng, mask?: Uint8Array): number {
    return sampleSoftmax(output, rng.uniform(), mask);
  }

  /** log softmax(outputs)[a] for each row. */
  logProb(outputs: Tensor, actions: Tensor): Tensor {
    const backend = this.#backend;
    const all = backend.logSoftmaxRows(outputs);
    const taken = backend.gatherRows(all, actions);
    backend.dispose(all);
    return taken;
  }

  /** The fused policy-gradient loss of the logits. */
  loss(outputs: Tensor, actions: Tensor, weights: Tensor, entropyCoef: number): HeadLoss {
    const backend = this.#backend, A = this.outputSize;
    const { loss, grad } = backend.policyLoss(outputs, actions, weights, entropyCoef);
    return { loss, grad, entropy: async () => meanEntropy(await backend.read(outputs), A) };
  }

  /** Nothing to read. */
  refresh(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to restore. */
  restore(_values: Float32Array[]): void {}
}

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI);

/**
 * A diagonal Gaussian over one continuous action in `[low, high]`: mean from the network,
 * log standard deviation a parameter of its own (state-independent, as in SB3 and CleanRL).
 */
export class GaussianHead implements PolicyHead {
  /** "gaussian". */
  readonly kind = "gaussian" as const;
  /** 1: the mean. */
  readonly outputSize: number = 1;
  /** The log standard deviation, `[1]`. */
  readonly parameters: readonly Parameter[];
  /** The action's bounds. */
  readonly low: number;
  /** The action's bounds. */
  readonly high: number;
  readonly #backend: Backend;
  #logStd: number;

  /** A head for actions in `[low, high]`, its log standard deviation starting at `logStdInit`. */
  constructor(backend: Backend, bounds: readonly [number, number], logStdInit: number) {
    this.#backend = backend;
    [this.low, this.high] = bounds;
    this.#logStd = logStdInit;
    this.parameters = [new Parameter("logStd", backend.tensor([logStdInit], [1]))];
  }

  /** The log standard deviation as last read. */
  get logStd(): number {
    return this.#logStd;
  }

  /** μ + σ·ε per row, ε ~ N(0, 1); log-probabilities of the unclipped samples. */
  sample(outputs: Float32Array, rng: Rng): { actions: Float32Array; logProbs: Float32Array } {
    const rows = outputs.length, sigma = Math.exp(this.#logStd);
    const actions = new Float32Array(rows), logProbs = new Float32Array(rows);
    for (let i = 0; i < rows; i++) {
      const eps = rng.normal(0, 1);
      actions[i] = outputs[i] + sigma * eps;
      // The log-probability of the float32 action that is stored, so the ratio starts at 1.
      const z = (actions[i] - outputs[i]) / sigma;
      logProbs[i] = -0.5 * z * z - this.#logStd - HALF_LOG_TWO_PI;
    }
    return { actions, logProbs };
  }

  /** The sample clipped to the bounds. */
  envAction(action: number): number {
    return Math.min(this.high, Math.max(this.low, action));
  }

  /** The mean, clipped to the bounds. */
  greedy(output: Float32Array): number {
    return this.envAction(output[0]);
  }

  /** A draw, clipped to the bounds. */
  sampleOne(output: Float32Array, rng: Rng): number {
    return this.envAction(output[0] + Math.exp(this.#logStd) * rng.normal(0, 1));
  }

  /** `−½((a − μ)/σ)² − log σ − ½ log 2π` for each row. */
  logProb(outputs: Tensor, actions: Tensor): Tensor {
    const t = tensorScope(this.#backend);
    const logp = this.#logProb(t, outputs, actions).logp;
    t.dispose();
    return logp;
  }

  /**
   * `−mean(w·log π(a|s)) − β·H` with H = log σ + ½ log(2πe), and the gradients
   * `d/dμ = −w·(a − μ)/σ² / R` (returned) and `d/d log σ = −mean(w·(z² − 1)) − β` (set on the
   * log standard deviation). Everything is computed from the parameter on the device.
   */
  loss(outputs: Tensor, actions: Tensor, weights: Tensor, entropyCoef: number): HeadLoss {
    const backend = this.#backend, R = actions.size, t = tensorScope(backend);
    const { logp, z, square, logStd, inverseSigma } = this.#logProb(t, outputs, actions);
    t(logp);
    // H = mean over the rows of log σ + ½ log(2πe) (the same in every row).
    const entropy = t(
      backend.addScalar(t(backend.scale(t(backend.sum(logStd)), 1 / R)), 0.5 + HALF_LOG_TWO_PI),
    );
    const policyTerm = t(backend.scale(t(backend.sum(t(backend.mul(weights, logp)))), -1 / R));
    const entropyTerm = t(backend.scale(entropy, -entropyCoef));
    const loss = backend.add(policyTerm, entropyTerm);
    // d/dμ of −w·log π / R = −w·z/σ / R.
    const dMean = t(
      backend.scale(t(backend.mul(t(backend.mul(weights, z)), inverseSigma)), -1 / R),
    );
    const grad = backend.reshape(dMean, outputs.shape);
    // d/d log σ = −Σ w·(z² − 1) / R − β.
    const wzz = t(backend.mul(weights, t(backend.addScalar(square, -1))));
    const dLogStd = t(backend.scale(t(backend.sum(wzz)), -1 / R));
    this.parameters[0].setGrad(backend, backend.addScalar(dLogStd, -entropyCoef));
    t.dispose();
    return {
      loss,
      grad,
      entropy: async () =>
        (await backend.read(this.parameters[0].value))[0] + 0.5 + HALF_LOG_TWO_PI,
    };
  }

  /** log π(a|s) per row, with what the loss needs of it tracked in `t` (the log-probability is not). */
  #logProb(
    t: TensorScope,
    outputs: Tensor,
    actions: Tensor,
  ): { logp: Tensor; z: Tensor; square: Tensor; logStd: Tensor; inverseSigma: Tensor } {
    const backend = this.#backend, R = actions.size;
    // log σ broadcast to every row: ones[R, 1] · logStd[1, 1], the ones made on the device (the
    // resident loop calls this every step; an upload each time would cross to the GPU).
    const ones = t(backend.addScalar(t(backend.zeros([R, 1])), 1));
    const column = t(backend.reshape(this.parameters[0].value, [1, 1]));
    const logStd = t(backend.reshape(t(backend.matmul(ones, column)), [R]));
    const inverseSigma = t(backend.exp(t(backend.scale(logStd, -1))));
    const mean = t(backend.reshape(outputs, [R]));
    const z = t(backend.mul(t(backend.sub(actions, mean)), inverseSigma));
    const square = t(backend.mul(z, z));
    const halfSquare = t(backend.scale(square, -0.5));
    const logp = backend.addScalar(t(backend.sub(halfSquare, logStd)), -HALF_LOG_TWO_PI);
    return { logp, z, square, logStd, inverseSigma };
  }

  /** Reads the log standard deviation back, for sampling on the host. */
  async refresh(): Promise<void> {
    this.#logStd = (await this.#backend.read(this.parameters[0].value))[0];
  }

  /** Sets the log standard deviation from a saved `[1]`. */
  restore(values: Float32Array[]): void {
    this.#backend.write(this.parameters[0].value, values[0]);
    this.#logStd = values[0][0];
  }
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
