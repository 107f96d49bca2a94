/**
 * Pendulum in float32 for many copies at once: the reference of the backends' `pendulumStep` op,
 * which the WGSL kernel in `webgpu/kernels/pendulum.ts` follows operation for operation, in the
 * manner of `cartpole_f32.ts`: every operation rounded to float32, sine and cosine from
 * polynomials, resets from `counterUniform`.
 *
 * The equations are Gymnasium's Pendulum-v1 (as `envs/pendulum.ts` computes them in float64), with
 * one change that does not alter the motion: the stored angle is wrapped into [−π, π] after each
 * step, so that the polynomials see a bounded angle. The cost's `angle_normalize(θ)` is then θ.
 *
 * The state of copy i is row i of an `[N, 4]` float32 array: θ, θ̇, the steps taken in the episode
 * and the episode's number in that copy. A reset draws θ uniformly in [−π, π) and θ̇ in [−1, 1)
 * from `counterUniform(seed, episode, 2·i + k)`.
 *
 * @module
 */

import { PENDULUM_CONSTANTS as P } from "../envs/pendulum.ts";
import { counterUniform } from "./backend.ts";

const f = Math.fround;

/** Values per copy in the state array: θ, θ̇, elapsed steps, episode number. */
export const PENDULUM_STATE_SIZE = 4;

/** The float32 constants of the dynamics, by the names the WGSL kernel gives them. */
export const PENDULUM_F32: Readonly<Record<string, number>> = Object.freeze({
  MAX_SPEED: f(P.maxSpeed),
  MAX_TORQUE: f(P.maxTorque),
  DT: f(P.dt),
  GRAVITY_TERM: f((3 * P.g) / (2 * P.l)),
  TORQUE_TERM: f(3 / (P.m * P.l * P.l)),
  PI: f(Math.PI),
  HALF_PI: f(Math.PI / 2),
  TWO_PI: f(2 * Math.PI),
  SPEED_COST: f(0.1),
  TORQUE_COST: f(0.001),
});

/** Taylor coefficients of sin a / a in a², highest degree first (to a¹⁵). */
export const PENDULUM_SIN_COEFFICIENTS: readonly number[] = Object.freeze(
  [
    -1 / 1307674368000,
    1 / 6227020800,
    -1 / 39916800,
    1 / 362880,
    -1 / 5040,
    1 / 120,
    -1 / 6,
  ].map(f),
);
/** Taylor coefficients of cos a in a², highest degree first (to a¹⁶). */
export const PENDULUM_COS_COEFFICIENTS: readonly number[] = Object.freeze(
  [
    1 / 20922789888000,
    -1 / 87178291200,
    1 / 479001600,
    -1 / 3628800,
    1 / 40320,
    -1 / 720,
    1 / 24,
    -1 / 2,
  ].map(f),
);

function horner(coefficients: readonly number[], a2: number): number {
  let p = coefficients[0];
  for (let k = 1; k < coefficients.length; k++) p = f(f(p * a2) + coefficients[k]);
  return p;
}

/**
 * [cos θ, sin θ] in float32 operations for |θ| ≤ π + 0.5: |θ| past π/2 is folded to π − |θ|
 * (cosine changes sign), then polynomials of degree 16 and 15, whose truncation error on
 * [0, π/2] is below 1e-11.
 */
export function cosSinF32(theta: number): [number, number] {
  const c = PENDULUM_F32;
  let a = Math.abs(theta), cosSign = 1;
  if (a > c.HALF_PI) {
    a = f(c.PI - a);
    cosSign = -1;
  }
  const a2 = f(a * a);
  const sin = f(a + f(f(a * a2) * horner(PENDULUM_SIN_COEFFICIENTS, a2)));
  const cos = f(1 + f(a2 * horner(PENDULUM_COS_COEFFICIENTS, a2)));
  return [cosSign * cos, theta < 0 ? -sin : sin];
}

/** How the copies step. */
export interface PendulumStepParams {
  /** Observe `[cos θ, sin θ]` only, as "pendulum-masked". */
  maskVelocity: boolean;
  /** Episodes are truncated after this many steps. */
  maxEpisodeSteps: number;
  /** Keys the counter-based draws of the resets. */
  seed: number;
}

/** Writes copy i's fresh state for its episode number `episode` into `state`. */
export function resetPendulumF32(
  state: Float32Array,
  i: number,
  episode: number,
  seed: number,
): void {
  const o = PENDULUM_STATE_SIZE * i, c = PENDULUM_F32;
  state[o] = f(f(-c.PI) + f(c.TWO_PI * counterUniform(seed, episode, 2 * i)));
  state[o + 1] = f(-1 + f(2 * counterUniform(seed, episode, 2 * i + 1)));
  state[o + 2] = 0;
  state[o + 3] = episode;
}

/** `[count, 4]`: every copy at the start of its episode 0. */
export function initialPendulumF32(count: number, seed: number): Float32Array {
  const state = new Float32Array(PENDULUM_STATE_SIZE * count);
  for (let i = 0; i < count; i++) resetPendulumF32(state, i, 0, seed);
  return state;
}

/** Writes copy i's observation (cos θ, sin θ and, unless masked, θ̇) at `out[size·i]`. */
export function observePendulumF32(
  state: Float32Array,
  i: number,
  out: Float32Array,
  masked: boolean,
): void {
  const o = PENDULUM_STATE_SIZE * i, size = masked ? 2 : 3;
  const [cos, sin] = cosSinF32(state[o]);
  out[size * i] = cos;
  out[size * i + 1] = sin;
  if (!masked) out[size * i + 2] = state[o + 1];
}

/** What one step of every copy gives. */
export interface PendulumStepArrays {
  /** `[N, size]`: after the step, the first observation of a new episode where one ended. */
  observations: Float32Array;
  /** `[N]`: −(θ² + 0.1·θ̇² + 0.001·u²) of the state before the step. */
  rewards: Float32Array;
  /** `[N]`: 1 where the episode reached its time limit on this step (Pendulum never terminates). */
  truncated: Float32Array;
  /** `[N, size]`: where an episode ended, the observation it ended on; elsewhere 0. */
  finalObservations: Float32Array;
}

/**
 * Steps every copy with its torque (clipped to ±2; the caller maps discrete actions to torques)
 * in place and autoresets those that reach the time limit.
 *
 * @throws {RangeError} For a torque that is not a finite number (the WGSL kernel writes NaN).
 */
export function stepPendulumF32(
  state: Float32Array,
  torques: ArrayLike<number>,
  params: PendulumStepParams,
): PendulumStepArrays {
  const n = torques.length, size = params.maskVelocity ? 2 : 3, c = PENDULUM_F32;
  if (state.length !== PENDULUM_STATE_SIZE * n) {
    throw new RangeError(
      `Cannot step Pendulum copies: a state of ${state.length} values for ${n} torques`,
    );
  }
  const out: PendulumStepArrays = {
    observations: new Float32Array(n * size),
    rewards: new Float32Array(n),
    truncated: new Float32Array(n),
    finalObservations: new Float32Array(n * size),
  };
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(torques[i])) {
      throw new RangeError(`Cannot step Pendulum copy ${i}: torque is ${torques[i]}`);
    }
    const o = PENDULUM_STATE_SIZE * i;
    const theta = state[o], thetaDot = state[o + 1];
    const u = Math.min(c.MAX_TORQUE, Math.max(-c.MAX_TORQUE, f(torques[i])));
    const costs = f(
      f(f(theta * theta) + f(c.SPEED_COST * f(thetaDot * thetaDot))) + f(c.TORQUE_COST * f(u * u)),
    );
    const sin = cosSinF32(theta)[1];
    const acceleration = f(f(c.GRAVITY_TERM * sin) + f(c.TORQUE_TERM * u));
    let newThetaDot = f(thetaDot + f(acceleration * c.DT));
    newThetaDot = Math.min(c.MAX_SPEED, Math.max(-c.MAX_SPEED, newThetaDot));
    let newTheta = f(theta + f(newThetaDot * c.DT));
    if (newTheta > c.PI) newTheta = f(newTheta - c.TWO_PI);
    else if (newTheta < -c.PI) newTheta = f(newTheta + c.TWO_PI);
    state[o] = newTheta;
    state[o + 1] = newThetaDot;
    const elapsed = state[o + 2] + 1;
    state[o + 2] = elapsed;
    out.rewards[i] = -costs;
    const truncated = elapsed >= params.maxEpisodeSteps;
    out.truncated[i] = truncated ? 1 : 0;
    if (truncated) {
      observePendulumF32(state, i, out.finalObservations, params.maskVelocity);
      resetPendulumF32(state, i, state[o + 3] + 1, params.seed);
    }
    observePendulumF32(state, i, out.observations, params.maskVelocity);
  }
  return out;
}
