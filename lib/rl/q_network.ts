/**
 * What the Q-learning agents (DQN, DRQN) share below the loop: the Q-network with its optional
 * dueling head, and ε-greedy acting among the actions a mask allows.
 *
 * @module
 */

import { counterUniform, type Tensor } from "../backend/backend.ts";
import type { Sequential } from "../nn/sequential.ts";
import { maskedArgmax, uniformValidAction } from "./policy.ts";

/**
 * The dueling aggregation as a constant matrix: the network's last layer has A + 1 outputs
 * `[V, A_0 … A_{A−1}]` and `Q = out · M` with `Q_j = V + A_j − mean_k A_k`. Being linear, its
 * backward is `dOut = dQ · Mᵀ`, so it runs on any backend as one small matmul.
 */
export function duelingMatrix(actionCount: number): Float32Array {
  const m = new Float32Array((actionCount + 1) * actionCount);
  for (let j = 0; j < actionCount; j++) {
    m[j] = 1;
    for (let k = 0; k < actionCount; k++) {
      m[(1 + k) * actionCount + j] = (k === j ? 1 : 0) - 1 / actionCount;
    }
  }
  return m;
}

/**
 * A Q-network: a {@linkcode Sequential} model plus, for a dueling head, the aggregation matrix.
 * Inputs are `[B, I]` (an MLP) or `[T, B, I]` (a recurrent network).
 */
export class QNetwork {
  /** The layers. */
  readonly model: Sequential;
  /** The number of actions. */
  readonly actionCount: number;
  #dueling: Tensor | null;

  /** Wraps a model whose last layer has A outputs, or A + 1 for a dueling head. */
  constructor(model: Sequential, actionCount: number, dueling: boolean) {
    this.model = model;
    this.actionCount = actionCount;
    this.#dueling = dueling
      ? model.backend.tensor(duelingMatrix(actionCount), [actionCount + 1, actionCount])
      : null;
  }

  /** Q-values `[rows, A]` for inputs of any leading shape; the state is threaded through. */
  forward(
    x: Tensor,
    options: Parameters<Sequential["forward"]>[1] = {},
  ): { q: Tensor; state: ReturnType<Sequential["forward"]>["state"] } {
    const backend = this.model.backend;
    const { output, state } = this.model.forward(x, options);
    const rows = output.size / output.shape[output.shape.length - 1];
    const flat = backend.reshape(output, [rows, output.shape[output.shape.length - 1]]);
    backend.dispose(output);
    if (!this.#dueling) return { q: flat, state };
    const q = backend.matmul(flat, this.#dueling);
    backend.dispose(flat);
    return { q, state };
  }

  /** Back-propagates `dQ` (`[rows, A]`, borrowed) through the last training forward pass. */
  backward(dQ: Tensor, outputShape: readonly number[]): void {
    const backend = this.model.backend;
    const dFlat = this.#dueling ? backend.matmul(dQ, this.#dueling, { transposeB: true }) : dQ;
    const dOut = backend.reshape(dFlat, outputShape);
    const { dInput, dState } = this.model.backward(dOut);
    backend.dispose(dInput);
    this.model.disposeState(dState);
    backend.dispose(dOut);
    if (dFlat !== dQ) backend.dispose(dFlat);
  }

  /** Moves the parameters towards `source`'s: a hard copy for τ = 1, else Polyak averaging. */
  updateFrom(source: QNetwork, tau: number): void {
    if (tau === 1) this.model.copyParametersFrom(source.model);
    else this.model.polyakUpdateFrom(source.model, tau);
  }

  /** Releases the dueling matrix (the model's parameters stay with the model). */
  dispose(): void {
    if (this.#dueling) this.model.backend.dispose(this.#dueling);
    this.#dueling = null;
  }
}

/**
 * What a Q-learning target adds to the Q-value of an action the next state's mask rules out, so
 * that its max never picks one: a large finite number rather than −∞, which WGSL does not
 * promise to keep.
 */
export const MASKED_Q: number = -1e30;

/**
 * `[rows, A]`: 0 for a valid action, {@linkcode MASKED_Q} for an invalid one (none in a row with no
 * valid action, whose target does not bootstrap anyway).
 */
export function maskPenalty(masks: Uint8Array, rows: number, actions: number): Float32Array {
  const out = new Float32Array(rows * actions);
  for (let b = 0; b < rows; b++) {
    const row = masks.subarray(b * actions, (b + 1) * actions);
    if (!row.some((m) => m !== 0)) continue;
    for (let a = 0; a < actions; a++) if (!row[a]) out[b * actions + a] = MASKED_Q;
  }
  return out;
}

/**
 * ε-greedy among the actions `mask` allows, with the counter-based draws that the backends'
 * `epsilonGreedy` kernel uses: it explores when lane 0 of `(seed, counter)` is below ε, taking the
 * valid action lane 1 picks uniformly; otherwise the largest Q among the valid actions. The
 * Q-values are asked for only when they are needed.
 */
export async function maskedEpsilonGreedy(
  qValues: () => Promise<Float32Array>,
  mask: Uint8Array,
  epsilon: number,
  seed: number,
  counter: number,
): Promise<number> {
  if (epsilon > 0 && counterUniform(seed, counter, 0) < epsilon) {
    return uniformValidAction(mask.length, counterUniform(seed, counter, 1), mask);
  }
  return maskedArgmax(await qValues(), mask);
}
