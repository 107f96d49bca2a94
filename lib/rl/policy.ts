/**
 * The one policy interface: everything that acts — a trained agent, an exported ONNX model, a
 * baseline — acts through it, and everything that drives a policy — training's final evaluation,
 * `deno task eval`, ONNX parity checks, the report's replay, a user's own loop — calls it.
 *
 * A policy's recurrent state is a value passed in and returned, as in CleanRL: `act` takes the
 * state an episode is in, consumes it, and returns the state after the step, which the caller
 * owns. A new episode starts from {@linkcode Policy.initialState}; the last state of an episode
 * is released with {@linkcode Policy.disposeState}. Feed-forward policies use `undefined`.
 *
 * @example
 * ```ts
 * import { actionMaskOf, CartPole, DRQN } from "@rnnrl/rnnrl";
 * const env = new CartPole({ maskVelocity: true });
 * const agent = new DRQN(env, { cellUnits: 8 });
 * let { observation } = env.reset({ seed: 1 });
 * let state = agent.initialState();
 * for (let t = 0; t < 10; t++) {
 *   const step = await agent.act(observation, state, { mask: actionMaskOf(env) });
 *   state = step.state; // the old state was consumed
 *   const result = env.step(step.action);
 *   observation = result.observation;
 *   if (result.terminated || result.truncated) break;
 * }
 * agent.disposeState(state);
 * ```
 *
 * @module
 */

import type { Rng } from "../io/rng.ts";

/** Options of {@linkcode Policy.act}. */
export interface ActOptions {
  /** The environment's action mask (1 valid, 0 invalid): the action is one of the valid ones. */
  mask?: Uint8Array;
  /** The greedy action (true, the default), or one sampled from the policy's distribution. */
  deterministic?: boolean;
  /** The random draws of a sampled action (default: a generator of the policy's own). */
  rng?: Rng;
}

/** What {@linkcode Policy.act} returns. */
export interface PolicyStep<State> {
  /** The action, in 0..actionCount − 1. */
  action: number;
  /** The state after the step; the caller owns it. */
  state: State;
}

/** Something that picks actions from observations, carrying a recurrent state of type `State`. */
export interface Policy<State = unknown> {
  /** The state an episode starts from (zeros, or undefined for a feed-forward policy). */
  initialState(): State;
  /**
   * The action on `observation` in `state`, and the state after it. `state` is consumed: the
   * policy releases it, and the caller must not use it again.
   */
  act(observation: Float32Array, state: State, options?: ActOptions): Promise<PolicyStep<State>>;
  /** Releases a state the caller owns (the last one of an episode, say). */
  disposeState(state: State): void;
}

/**
 * The index of the largest value among the valid actions (`mask` 1; all when there is no mask),
 * the lowest index on ties.
 *
 * @throws {RangeError} When the mask allows no action.
 */
export function maskedArgmax(values: ArrayLike<number>, mask?: Uint8Array): number {
  let best = -1;
  for (let a = 0; a < values.length; a++) {
    if ((!mask || mask[a]) && (best < 0 || values[a] > values[best])) best = a;
  }
  if (best < 0) throw new RangeError("Cannot act: the action mask allows no action");
  return best;
}

/**
 * A uniform draw among the valid actions (`mask` 1; all when there is no mask), given a uniform
 * number `u` in [0, 1).
 *
 * @throws {RangeError} When the mask allows no action.
 */
export function uniformValidAction(actionCount: number, u: number, mask?: Uint8Array): number {
  if (!mask) return Math.min(actionCount - 1, Math.floor(u * actionCount));
  let valid = 0;
  for (let a = 0; a < actionCount; a++) if (mask[a]) valid++;
  if (valid === 0) throw new RangeError("Cannot act: the action mask allows no action");
  let k = Math.min(valid - 1, Math.floor(u * valid));
  for (let a = 0; a < actionCount; a++) if (mask[a] && k-- === 0) return a;
  throw new RangeError("Cannot act: the action mask allows no action");
}

/**
 * Samples from the softmax of `logits` restricted to the valid actions, by inversion of the
 * cumulative distribution with a uniform number `u` in [0, 1), in float64.
 */
export function sampleSoftmax(logits: ArrayLike<number>, u: number, mask?: Uint8Array): number {
  const A = logits.length;
  let max = -Infinity;
  for (let a = 0; a < A; a++) if (!mask || mask[a]) max = Math.max(max, logits[a]);
  if (max === -Infinity) throw new RangeError("Cannot act: the action mask allows no action");
  const weights = new Float64Array(A);
  let sum = 0;
  for (let a = 0; a < A; a++) sum += weights[a] = !mask || mask[a] ? Math.exp(logits[a] - max) : 0;
  const target = u * sum;
  let cumulative = 0, last = -1;
  for (let a = 0; a < A; a++) {
    if (weights[a] === 0) continue;
    cumulative += weights[a];
    last = a;
    if (target < cumulative) return a;
  }
  return last;
}
