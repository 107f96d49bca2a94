/**
 * Boltzmann (softmax) exploration over Q-values, for the Q-learners (DQN, DRQN, tabular
 * Q-learning and SARSA): the action is drawn from `softmax(clip(Q / τ, low, high))` among the
 * valid actions, so that actions with close values are tried about equally and clearly worse ones
 * rarely, where ε-greedy explores every action alike. The clip is Keras-RL's `BoltzmannQPolicy`'s
 * (it clips `Q / τ` to [−500, 500] by default), which keeps `exp` finite at small temperatures. The
 * temperature τ is a constant or a linear ramp over environment steps; evaluation stays greedy.
 *
 * @module
 */

import { sampleSoftmax } from "./policy.ts";
import { checkRamp, type LinearRamp, rampValue } from "./schedules.ts";

/** How a Q-learner explores: ε-greedy, or sampling from the softmax of Q / τ. */
export type Exploration = "epsilon" | "boltzmann";

/** The explorations {@linkcode Exploration} allows, for validation and help text. */
export const EXPLORATIONS: readonly Exploration[] = ["epsilon", "boltzmann"];

/** The options of Boltzmann exploration, as every Q-learner names them. */
export interface BoltzmannOptions {
  /** "epsilon" (ε-greedy, the default) or "boltzmann" (softmax of Q / τ). */
  exploration: Exploration;
  /** Boltzmann exploration's temperature τ: a constant, or a linear ramp over environment steps. */
  temperature: number | LinearRamp;
  /** `[low, high]`: Q / τ is clipped to these before the softmax (Keras-RL's [−500, 500]). */
  qClip: [number, number];
}

/** The defaults: ε-greedy; for Boltzmann, τ = 1 and Keras-RL's clip. */
export const BOLTZMANN_DEFAULTS: Readonly<BoltzmannOptions> = Object.freeze({
  exploration: "epsilon",
  temperature: 1,
  qClip: [-500, 500] as [number, number],
});

/**
 * Checks (and normalises in place: copies of the ramp and the clip) the exploration options.
 *
 * @throws {RangeError} For an unknown exploration, a temperature that is not positive and finite,
 * or a clip that is not two finite numbers with low < high.
 */
export function checkBoltzmannOptions(o: BoltzmannOptions): void {
  if (!EXPLORATIONS.includes(o.exploration)) {
    throw new RangeError(
      `Cannot use exploration ${JSON.stringify(o.exploration)}: expected "epsilon" or "boltzmann"`,
    );
  }
  if (typeof o.temperature === "number") positiveFinite(o.temperature, "temperature");
  else {
    o.temperature = checkRamp(o.temperature, "temperature");
    positiveFinite(o.temperature.start, "temperature.start");
    positiveFinite(o.temperature.end, "temperature.end");
  }
  const clip = o.qClip;
  if (
    !Array.isArray(clip) || clip.length !== 2 || !clip.every(Number.isFinite) ||
    !(clip[0] < clip[1])
  ) {
    throw new RangeError(
      `Cannot use qClip ${JSON.stringify(clip)}: expected [low, high], finite, with low < high`,
    );
  }
  o.qClip = [clip[0], clip[1]];
}

/** The temperature at a step. */
export function temperatureAt(temperature: number | LinearRamp, step: number): number {
  return typeof temperature === "number" ? temperature : rampValue(temperature, step);
}

/** The final temperature (a ramp's end), that of sampled acting after training. */
export function finalTemperature(temperature: number | LinearRamp): number {
  return typeof temperature === "number" ? temperature : temperature.end;
}

/** `clip(Q / τ, low, high)` per action, in float64: the logits of the Boltzmann distribution. */
export function boltzmannLogits(
  q: ArrayLike<number>,
  temperature: number,
  qClip: readonly [number, number],
): Float64Array {
  const out = new Float64Array(q.length);
  for (let a = 0; a < q.length; a++) {
    out[a] = Math.min(qClip[1], Math.max(qClip[0], q[a] / temperature));
  }
  return out;
}

/**
 * The Boltzmann distribution over the valid actions (`mask` 1; all when there is no mask):
 * `softmax(clip(Q / τ))`, 0 for an invalid action.
 *
 * @example
 * ```ts
 * import { boltzmannProbabilities } from "./boltzmann.ts";
 * const p = boltzmannProbabilities([1, 1, 5], 1, [-500, 500], Uint8Array.of(1, 1, 0));
 * if (p[0] !== 0.5 || p[2] !== 0) throw new Error("the masked action gets nothing");
 * ```
 */
export function boltzmannProbabilities(
  q: ArrayLike<number>,
  temperature: number,
  qClip: readonly [number, number],
  mask?: Uint8Array,
): Float64Array {
  const logits = boltzmannLogits(q, temperature, qClip);
  let max = -Infinity;
  for (let a = 0; a < logits.length; a++) if (!mask || mask[a]) max = Math.max(max, logits[a]);
  if (max === -Infinity) throw new RangeError("Cannot act: the action mask allows no action");
  let sum = 0;
  for (let a = 0; a < logits.length; a++) {
    sum += logits[a] = !mask || mask[a] ? Math.exp(logits[a] - max) : 0;
  }
  return logits.map((w) => w / sum);
}

/**
 * An action drawn from the Boltzmann distribution with a uniform number `u` in [0, 1), by
 * inversion of its cumulative distribution ({@linkcode sampleSoftmax}).
 *
 * @throws {RangeError} When the mask allows no action.
 */
export function boltzmannAction(
  q: ArrayLike<number>,
  temperature: number,
  qClip: readonly [number, number],
  u: number,
  mask?: Uint8Array,
): number {
  return sampleSoftmax(boltzmannLogits(q, temperature, qClip), u, mask);
}

function positiveFinite(value: number, name: string): void {
  if (!(typeof value === "number" && value > 0 && Number.isFinite(value))) {
    throw new RangeError(`Cannot use ${name} ${value}: expected a positive finite number`);
  }
}
