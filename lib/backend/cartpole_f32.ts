/**
 * CartPole in float32 for many copies at once: the reference of the backends' `cartPoleStep` op,
 * which the WGSL kernel in `webgpu/kernels/cartpole.ts` follows operation for operation.
 *
 * Every `+`, `−`, `×` and `÷` is one float32 operation (a double rounded by `Math.fround`, which
 * is exact for these four), and sine and cosine are odd and even polynomials of θ evaluated the
 * same way, not `Math.sin`, whose float32 rounding the GPU's `sin` need not share. The equations
 * are Gymnasium's CartPole-v1 (explicit Euler by default), as in `envs/cartpole.ts`, which computes
 * them in float64.
 *
 * The state of copy i is row i of an `[N, 6]` float32 array: x, ẋ, θ, θ̇, the steps taken in the
 * episode, and the episode's number in that copy. Resets draw each of the four variables
 * uniformly in [−0.05, 0.05) from the counter-based `counterUniform(seed, episode, 4·i + k)`, so a
 * copy's episodes do not depend on when the other copies end theirs, nor on the backend.
 *
 * @module
 */

import { CARTPOLE_CONSTANTS as C } from "../envs/cartpole.ts";
import { counterUniform } from "./backend.ts";

const f = Math.fround;

/** Values per copy in the state array: x, ẋ, θ, θ̇, elapsed steps, episode number. */
export const CARTPOLE_STATE_SIZE = 6;

/**
 * The float32 constants of the dynamics, by the names the WGSL kernel gives them. Derived ones
 * (total mass, pole mass × half length) are computed in float64, as Gymnasium does, then rounded.
 */
export const CARTPOLE_F32: Readonly<Record<string, number>> = Object.freeze({
  GRAVITY: f(C.gravity),
  MASS_POLE: f(C.massPole),
  TOTAL_MASS: f(C.massPole + C.massCart),
  LENGTH: f(C.halfLength),
  POLEMASS_LENGTH: f(C.massPole * C.halfLength),
  FORCE_MAG: f(C.forceMag),
  TAU: f(C.tau),
  FOUR_THIRDS: f(4 / 3),
  THETA_THRESHOLD: f(C.thetaThreshold),
  X_THRESHOLD: f(C.xThreshold),
  RESET_LOW: f(-C.resetBound),
  RESET_SPAN: f(2 * C.resetBound),
});

/**
 * Taylor coefficients of sin θ / θ and cos θ in θ², highest degree first (sin to θ¹¹, cos to
 * θ¹²). On |θ| ≤ π/4 the truncation error is below 1e-11, far under float32's resolution; a
 * pole past 12° has ended its episode, so the dynamics never see |θ| much above 0.21.
 */
export const SIN_COEFFICIENTS: readonly number[] = Object.freeze(
  [-1 / 39916800, 1 / 362880, -1 / 5040, 1 / 120, -1 / 6].map(f),
);
/** See {@linkcode SIN_COEFFICIENTS}. */
export const COS_COEFFICIENTS: readonly number[] = Object.freeze(
  [1 / 479001600, -1 / 3628800, 1 / 40320, -1 / 720, 1 / 24, -1 / 2].map(f),
);

/** sin θ in float32 operations: θ + θ·θ²·P(θ²), Horner's scheme. */
export function sinF32(theta: number): number {
  const t2 = f(theta * theta);
  let p = SIN_COEFFICIENTS[0];
  for (let k = 1; k < SIN_COEFFICIENTS.length; k++) p = f(f(p * t2) + SIN_COEFFICIENTS[k]);
  return f(theta + f(f(theta * t2) * p));
}

/** cos θ in float32 operations: 1 + θ²·Q(θ²), Horner's scheme. */
export function cosF32(theta: number): number {
  const t2 = f(theta * theta);
  let q = COS_COEFFICIENTS[0];
  for (let k = 1; k < COS_COEFFICIENTS.length; k++) q = f(f(q * t2) + COS_COEFFICIENTS[k]);
  return f(1 + f(t2 * q));
}

/** How the copies step: the same for all of them. */
export interface CartPoleStepParams {
  /** Observe `[x, θ]` only. */
  maskVelocity: boolean;
  /** Semi-implicit Euler (velocities first) instead of Gymnasium's explicit Euler. */
  semiImplicit: boolean;
  /** Episodes are truncated after this many steps. */
  maxEpisodeSteps: number;
  /** Keys the counter-based draws of the resets. */
  seed: number;
}

/** Writes copy i's fresh state for its episode number `episode` into `state`. */
export function resetCartPoleF32(
  state: Float32Array,
  i: number,
  episode: number,
  seed: number,
): void {
  const o = CARTPOLE_STATE_SIZE * i, { RESET_LOW, RESET_SPAN } = CARTPOLE_F32;
  for (let k = 0; k < 4; k++) {
    state[o + k] = f(RESET_LOW + f(RESET_SPAN * counterUniform(seed, episode, 4 * i + k)));
  }
  state[o + 4] = 0;
  state[o + 5] = episode;
}

/** `[count, 6]`: every copy at the start of its episode 0. */
export function initialCartPoleF32(count: number, seed: number): Float32Array {
  const state = new Float32Array(CARTPOLE_STATE_SIZE * count);
  for (let i = 0; i < count; i++) resetCartPoleF32(state, i, 0, seed);
  return state;
}

/** Writes copy i's observation (4 values, or x and θ when masked) at `out[size·i]`. */
export function observeCartPoleF32(
  state: Float32Array,
  i: number,
  out: Float32Array,
  masked: boolean,
): void {
  const o = CARTPOLE_STATE_SIZE * i;
  if (masked) {
    out[2 * i] = state[o];
    out[2 * i + 1] = state[o + 2];
  } else out.set(state.subarray(o, o + 4), 4 * i);
}

/** What one step of every copy gives. */
export interface CartPoleStepArrays {
  /** `[N, size]`: after the step, the first observation of a new episode where one ended. */
  observations: Float32Array;
  /** `[N]`: 1 where the pole fell or the cart left the track on this step. */
  terminated: Float32Array;
  /** `[N]`: 1 where the episode reached its time limit on this step. */
  truncated: Float32Array;
  /** `[N, size]`: where an episode ended, the observation it ended on; elsewhere 0. */
  finalObservations: Float32Array;
}

/**
 * Steps every copy (action 0 pushes left, 1 right) in place and autoresets those that end.
 *
 * @throws {RangeError} For an action other than 0 or 1 (the WGSL kernel writes NaN instead).
 */
export function stepCartPoleF32(
  state: Float32Array,
  actions: ArrayLike<number>,
  params: CartPoleStepParams,
): CartPoleStepArrays {
  const n = actions.length, size = params.maskVelocity ? 2 : 4;
  if (state.length !== CARTPOLE_STATE_SIZE * n) {
    throw new RangeError(
      `Cannot step CartPole copies: a state of ${state.length} values for ${n} actions`,
    );
  }
  const out: CartPoleStepArrays = {
    observations: new Float32Array(n * size),
    terminated: new Float32Array(n),
    truncated: new Float32Array(n),
    finalObservations: new Float32Array(n * size),
  };
  const c = CARTPOLE_F32;
  for (let i = 0; i < n; i++) {
    const a = actions[i];
    if (a !== 0 && a !== 1) {
      throw new RangeError(`Cannot step CartPole copy ${i}: action is ${a}, expected 0 or 1`);
    }
    const o = CARTPOLE_STATE_SIZE * i;
    let x = state[o], xDot = state[o + 1], theta = state[o + 2], thetaDot = state[o + 3];
    const force = a === 1 ? c.FORCE_MAG : -c.FORCE_MAG;
    const cos = cosF32(theta), sin = sinF32(theta);
    const temp = f(
      f(force + f(f(c.POLEMASS_LENGTH * f(thetaDot * thetaDot)) * sin)) / c.TOTAL_MASS,
    );
    const thetaAcc = f(
      f(f(c.GRAVITY * sin) - f(cos * temp)) /
        f(c.LENGTH * f(c.FOUR_THIRDS - f(f(c.MASS_POLE * f(cos * cos)) / c.TOTAL_MASS))),
    );
    const xAcc = f(temp - f(f(f(c.POLEMASS_LENGTH * thetaAcc) * cos) / c.TOTAL_MASS));
    if (params.semiImplicit) {
      xDot = f(xDot + f(c.TAU * xAcc));
      x = f(x + f(c.TAU * xDot));
      thetaDot = f(thetaDot + f(c.TAU * thetaAcc));
      theta = f(theta + f(c.TAU * thetaDot));
    } else {
      x = f(x + f(c.TAU * xDot));
      xDot = f(xDot + f(c.TAU * xAcc));
      theta = f(theta + f(c.TAU * thetaDot));
      thetaDot = f(thetaDot + f(c.TAU * thetaAcc));
    }
    state[o] = x, state[o + 1] = xDot, state[o + 2] = theta, state[o + 3] = thetaDot;
    const elapsed = state[o + 4] + 1;
    state[o + 4] = elapsed;
    const terminated = x < -c.X_THRESHOLD || x > c.X_THRESHOLD ||
      theta < -c.THETA_THRESHOLD || theta > c.THETA_THRESHOLD;
    const truncated = elapsed >= params.maxEpisodeSteps;
    out.terminated[i] = terminated ? 1 : 0;
    out.truncated[i] = truncated ? 1 : 0;
    if (terminated || truncated) {
      observeCartPoleF32(state, i, out.finalObservations, params.maskVelocity);
      resetCartPoleF32(state, i, state[o + 5] + 1, params.seed);
    }
    observeCartPoleF32(state, i, out.observations, params.maskVelocity);
  }
  return out;
}
