/**
 * Schedules: values that change with the step count, such as the exploration rate ε of DQN or a
 * decaying learning rate.
 *
 * @module
 */

import type { Optimizer } from "../nn/optimizers.ts";

/** A value that moves linearly from `start` to `end` over `steps` steps, then stays at `end`. */
export interface LinearRamp {
  /** The value at step 0. */
  start: number;
  /** The value from step `steps` on. */
  end: number;
  /** The length of the ramp in steps (0 means `end` from the start). */
  steps: number;
}

/**
 * The value of a linear ramp at a step (CleanRL's `linear_schedule`, SB3's exploration schedule).
 *
 * @param ramp The start, end and length.
 * @param step The step count, from 0.
 * @returns `start + (end − start) · min(1, step / steps)`.
 *
 * @example
 * ```ts
 * import { rampValue } from "./schedules.ts";
 * const epsilon = { start: 1, end: 0.05, steps: 1000 };
 * if (rampValue(epsilon, 0) !== 1) throw new Error("starts at 1");
 * if (rampValue(epsilon, 500) !== 0.525) throw new Error("halfway");
 * if (rampValue(epsilon, 5000) !== 0.05) throw new Error("then stays at the end");
 * ```
 */
export function rampValue(ramp: LinearRamp, step: number): number {
  if (!(ramp.steps >= 0)) {
    throw new RangeError(`Cannot evaluate a ramp: its length is ${ramp.steps}, expected >= 0`);
  }
  if (ramp.steps === 0 || step >= ramp.steps) return ramp.end;
  return ramp.start + (ramp.end - ramp.start) * (Math.max(0, step) / ramp.steps);
}

/** The learning rate at a step, for options that take a constant or a ramp. */
export function learningRateAt(rate: number | LinearRamp, step: number): number {
  return typeof rate === "number" ? rate : rampValue(rate, step);
}

/** Checks a learning rate option (a positive number, or a ramp of positive numbers). */
export function checkLearningRate(rate: number | LinearRamp): number | LinearRamp {
  const ok = (x: number) => x > 0 && Number.isFinite(x);
  if (typeof rate === "number") {
    if (!ok(rate)) throw new RangeError(`Cannot use learning rate ${rate}: expected > 0`);
    return rate;
  }
  const ramp = checkRamp(rate, "the learning rate");
  if (!ok(ramp.start) || !(ramp.end >= 0)) {
    throw new RangeError(
      `Cannot use a learning rate ramp from ${ramp.start} to ${ramp.end}: expected start > 0, end >= 0`,
    );
  }
  return ramp;
}

/**
 * Sets the step size of an optimizer from the layer API (Adam, RMSprop, SGD), whose resolved
 * options hold it. Used by learning-rate schedules; a rate of 0 is clamped to 1e-12.
 */
export function setLearningRate(optimizer: Optimizer, rate: number): void {
  const options = (optimizer as unknown as { options?: { learningRate: number } }).options;
  if (!options || typeof options.learningRate !== "number") {
    throw new TypeError("Cannot set the learning rate: the optimizer has no learningRate option");
  }
  options.learningRate = Math.max(rate, 1e-12);
}

/** Checks a ramp's fields and returns it. */
export function checkRamp(ramp: LinearRamp, name: string): LinearRamp {
  const ok = Number.isFinite(ramp?.start) && Number.isFinite(ramp?.end) &&
    Number.isInteger(ramp?.steps) && ramp.steps >= 0;
  if (!ok) {
    throw new RangeError(
      `Cannot use ${name}: expected { start, end, steps } with finite values and steps >= 0`,
    );
  }
  return { start: ramp.start, end: ramp.end, steps: ramp.steps };
}
