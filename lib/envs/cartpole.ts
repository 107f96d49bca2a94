/**
 * Gymnasium's CartPole-v1, exactly, as a scalar environment ({@linkcode CartPole}) and as a batch
 * of N copies stepped over typed arrays ({@linkcode BatchedCartPole}).
 *
 * Both compute in float64 with the same operations in the same order as Gymnasium's
 * `CartPoleEnv.step` and cast the observation to float32, so the two agree bit for bit with each
 * other; they agree with Gymnasium itself up to the last bit of the runtime's `Math.sin` and
 * `Math.cos`, which may differ from NumPy's by one ulp.
 *
 * @module
 */

import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng } from "../io/rng.ts";
import { rngJson, SavedState } from "./_snapshot.ts";
import type { Env, EnvFrame, ResetOptions, ResetResult, StepResult } from "./env.ts";

/** Gymnasium CartPole-v1's physical constants and thresholds. */
export const CARTPOLE_CONSTANTS: {
  readonly gravity: number;
  readonly massCart: number;
  readonly massPole: number;
  readonly halfLength: number;
  readonly forceMag: number;
  readonly tau: number;
  readonly thetaThreshold: number;
  readonly xThreshold: number;
  readonly resetBound: number;
} = {
  gravity: 9.8,
  massCart: 1.0,
  massPole: 0.1,
  halfLength: 0.5,
  forceMag: 10.0,
  tau: 0.02,
  thetaThreshold: (12 * 2 * Math.PI) / 360,
  xThreshold: 2.4,
  resetBound: 0.05,
};

const GRAVITY = CARTPOLE_CONSTANTS.gravity;
const MASS_POLE = CARTPOLE_CONSTANTS.massPole;
const TOTAL_MASS = CARTPOLE_CONSTANTS.massPole + CARTPOLE_CONSTANTS.massCart;
const LENGTH = CARTPOLE_CONSTANTS.halfLength;
const POLEMASS_LENGTH = CARTPOLE_CONSTANTS.massPole * CARTPOLE_CONSTANTS.halfLength;
const FORCE_MAG = CARTPOLE_CONSTANTS.forceMag;
const TAU = CARTPOLE_CONSTANTS.tau;
const THETA_THRESHOLD = CARTPOLE_CONSTANTS.thetaThreshold;
const X_THRESHOLD = CARTPOLE_CONSTANTS.xThreshold;
const RESET_BOUND = CARTPOLE_CONSTANTS.resetBound;

/** How CartPole advances its state: Gymnasium's "euler" (default) or "semi-implicit-euler". */
export type CartPoleIntegrator = "euler" | "semi-implicit-euler";

/** CartPole's state `[x, xDot, theta, thetaDot]` in float64. */
export type CartPoleState = [number, number, number, number];

/** Options of {@linkcode CartPole} and {@linkcode BatchedCartPole}. */
export interface CartPoleOptions {
  /** Observe `[x, theta]` only (default false: `[x, xDot, theta, thetaDot]`). */
  maskVelocity?: boolean;
  /** The integrator (default "euler", as in Gymnasium). */
  integrator?: CartPoleIntegrator;
  /** Episodes are truncated after this many steps (default 500, CartPole-v1's time limit). */
  maxEpisodeSteps?: number;
  /** The seed of the environment's RNG (default 0); `reset({ seed })` reseeds it. */
  seed?: number;
}

/** CartPole's info: it has nothing to add. */
export type CartPoleInfo = Record<string, never>;

interface ResolvedOptions {
  maskVelocity: boolean;
  semiImplicit: boolean;
  maxEpisodeSteps: number;
  seed: number;
}

function resolveOptions(name: string, options: CartPoleOptions): ResolvedOptions {
  const integrator = options.integrator ?? "euler";
  if (integrator !== "euler" && integrator !== "semi-implicit-euler") {
    throw new RangeError(
      `Cannot create ${name}: integrator is "${integrator}", expected "euler" or "semi-implicit-euler"`,
    );
  }
  const maxEpisodeSteps = options.maxEpisodeSteps ?? 500;
  if (!(Number.isInteger(maxEpisodeSteps) && maxEpisodeSteps >= 1)) {
    throw new RangeError(
      `Cannot create ${name}: maxEpisodeSteps is ${maxEpisodeSteps}, expected a positive integer`,
    );
  }
  return {
    maskVelocity: options.maskVelocity ?? false,
    semiImplicit: integrator === "semi-implicit-euler",
    maxEpisodeSteps,
    seed: options.seed ?? 0,
  };
}

/**
 * Advances the CartPole state stored at `s[o..o+3]` by one step under `force`, in place, given
 * `cos θ` and `sin θ` of the current angle. The arithmetic is Gymnasium's, operation for operation.
 * (The batch computes the trigonometry in a pass of its own: a loop free of other live values
 * around the `Math.sin`/`Math.cos` calls runs markedly faster.)
 */
function advance(
  s: Float64Array,
  o: number,
  force: number,
  semiImplicit: boolean,
  cosTheta: number,
  sinTheta: number,
): void {
  let x = s[o];
  let xDot = s[o + 1];
  let theta = s[o + 2];
  let thetaDot = s[o + 3];
  const temp = (force + POLEMASS_LENGTH * (thetaDot * thetaDot) * sinTheta) / TOTAL_MASS;
  const thetaAcc = (GRAVITY * sinTheta - cosTheta * temp) /
    (LENGTH * (4.0 / 3.0 - (MASS_POLE * (cosTheta * cosTheta)) / TOTAL_MASS));
  const xAcc = temp - (POLEMASS_LENGTH * thetaAcc * cosTheta) / TOTAL_MASS;
  if (semiImplicit) {
    xDot = xDot + TAU * xAcc;
    x = x + TAU * xDot;
    thetaDot = thetaDot + TAU * thetaAcc;
    theta = theta + TAU * thetaDot;
  } else {
    x = x + TAU * xDot;
    xDot = xDot + TAU * xAcc;
    theta = theta + TAU * thetaDot;
    thetaDot = thetaDot + TAU * thetaAcc;
  }
  s[o] = x;
  s[o + 1] = xDot;
  s[o + 2] = theta;
  s[o + 3] = thetaDot;
}

function isTerminal(x: number, theta: number): boolean {
  return x < -X_THRESHOLD || x > X_THRESHOLD || theta < -THETA_THRESHOLD ||
    theta > THETA_THRESHOLD;
}

/** True when every action is 0 or 1; a branch-free scan for the common typed-array case. */
function allBinary(actions: ArrayLike<number>): boolean {
  if (actions instanceof Uint8Array || actions instanceof Int32Array) {
    let bits = 0;
    for (let i = 0; i < actions.length; i++) bits |= actions[i];
    return (bits & ~1) === 0;
  }
  for (let i = 0; i < actions.length; i++) {
    const a = actions[i];
    if (a !== 0 && a !== 1) return false;
  }
  return true;
}

function forceOf(name: string, action: number): number {
  if (action === 1) return FORCE_MAG;
  if (action === 0) return -FORCE_MAG;
  throw new RangeError(`Cannot step ${name}: action is ${action}, expected 0 or 1`);
}

/**
 * Gymnasium's CartPole-v1: push the cart left (action 0) or right (action 1) to keep the pole up.
 *
 * - Dynamics: gravity 9.8, cart mass 1.0, pole mass 0.1, half-length 0.5, force 10, tau 0.02,
 *   Euler integration (or `integrator: "semi-implicit-euler"`), all in float64.
 * - Termination: `x < −2.4 || x > 2.4 || θ < −12° || θ > 12°` (strict: exactly 2.4 goes on), with
 *   θ threshold `12·2·π/360` radians.
 * - Reward: 1 for every step, the terminating one included.
 * - Reset: each state variable uniform in [−0.05, 0.05).
 * - Truncation: `truncated` is true on the step that reaches `maxEpisodeSteps` (500), like
 *   Gymnasium's TimeLimit; it may coincide with `terminated`.
 * - After an episode ends (terminated or truncated), `step` throws until `reset` is called.
 *   (Gymnasium instead keeps going with reward 0 and a warning; stepping past the end is
 *   undefined behaviour there, so here it is an error.)
 *
 * The state is the public, writable {@linkcode CartPole.state}; the observation is a fresh
 * Float32Array copy of it (or of `[x, θ]` with `maskVelocity: true`).
 *
 * @example
 * ```ts
 * import { CartPole } from "@rnnrl/rnnrl";
 * const env = new CartPole();
 * let { observation } = env.reset({ seed: 1 });
 * let total = 0;
 * for (;;) {
 *   const step = env.step(observation[2] > 0 ? 1 : 0); // push towards the lean
 *   observation = step.observation;
 *   total += step.reward;
 *   if (step.terminated || step.truncated) break;
 * }
 * if (total < 1) throw new Error("at least one step is rewarded");
 * ```
 */
export class CartPole implements Env<CartPoleInfo> {
  /** "cartpole", or "cartpole-masked" with `maskVelocity`. */
  readonly id: string;
  /** 4, or 2 with `maskVelocity`. */
  readonly observationSize: number;
  /** 2: push left (0) or right (1). */
  readonly actionCount: number = 2;
  /** Whether velocities are hidden from the observation. */
  readonly maskVelocity: boolean;
  /** The integrator in use. */
  readonly integrator: CartPoleIntegrator;
  /** The time limit in steps. */
  readonly maxEpisodeSteps: number;
  /** The state `[x, xDot, theta, thetaDot]` (float64); write it to start from a chosen state. */
  state: CartPoleState = [0, 0, 0, 0];
  /** Steps taken in the current episode. */
  elapsedSteps = 0;

  #rng: Rng;
  #semiImplicit: boolean;
  #scratch = new Float64Array(4);
  #ended = true;
  #reset = false;

  /** Creates the environment; call {@linkcode CartPole.reset} before stepping. */
  constructor(options: CartPoleOptions = {}) {
    const resolved = resolveOptions("CartPole", options);
    this.maskVelocity = resolved.maskVelocity;
    this.#semiImplicit = resolved.semiImplicit;
    this.integrator = resolved.semiImplicit ? "semi-implicit-euler" : "euler";
    this.maxEpisodeSteps = resolved.maxEpisodeSteps;
    this.#rng = new Rng(resolved.seed);
    this.id = this.maskVelocity ? "cartpole-masked" : "cartpole";
    this.observationSize = this.maskVelocity ? 2 : 4;
  }

  /** Starts an episode from a state drawn uniformly in [−0.05, 0.05)⁴. */
  reset(options: ResetOptions = {}): ResetResult<CartPoleInfo> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    const rng = this.#rng;
    this.state = [
      rng.uniformIn(-RESET_BOUND, RESET_BOUND),
      rng.uniformIn(-RESET_BOUND, RESET_BOUND),
      rng.uniformIn(-RESET_BOUND, RESET_BOUND),
      rng.uniformIn(-RESET_BOUND, RESET_BOUND),
    ];
    this.elapsedSteps = 0;
    this.#ended = false;
    this.#reset = true;
    return { observation: this.observe(), info: {} };
  }

  /** Pushes the cart: 0 left, 1 right. Throws a RangeError for any other action. */
  step(action: number): StepResult<CartPoleInfo> {
    const force = forceOf("CartPole", action);
    if (this.#ended) {
      throw new Error(
        this.#reset
          ? "Cannot step CartPole: the episode has ended; call reset() first"
          : "Cannot step CartPole: call reset() before the first step",
      );
    }
    const s = this.#scratch;
    for (let i = 0; i < 4; i++) s[i] = this.state[i];
    advance(s, 0, force, this.#semiImplicit, Math.cos(s[2]), Math.sin(s[2]));
    this.state = [s[0], s[1], s[2], s[3]];
    this.elapsedSteps++;
    const terminated = isTerminal(s[0], s[2]);
    const truncated = this.elapsedSteps >= this.maxEpisodeSteps;
    this.#ended = terminated || truncated;
    return { observation: this.observe(), reward: 1, terminated, truncated, info: {} };
  }

  /** A new CartPole with the same options and an RNG of its own (reseed it at reset). */
  clone(): CartPole {
    return new CartPole({
      maskVelocity: this.maskVelocity,
      integrator: this.integrator,
      maxEpisodeSteps: this.maxEpisodeSteps,
    });
  }

  /** The present moment for the report's replay: a copy of the state. */
  frame(): EnvFrame {
    const [x, xDot, theta, thetaDot] = this.state;
    return { kind: "cartpole", state: [x, xDot, theta, thetaDot] };
  }

  /** Everything that determines the rest of the episode and the next ones, as JSON (checkpoints). */
  getState(): JsonObject {
    return {
      state: [...this.state],
      elapsedSteps: this.elapsedSteps,
      ended: this.#ended,
      started: this.#reset,
      rng: rngJson(this.#rng),
    };
  }

  /**
   * Restores a state from {@linkcode CartPole.getState}; throws a TypeError for anything else
   * and then leaves the environment as it was.
   */
  setState(saved: JsonValue): void {
    const s = new SavedState("CartPole", saved);
    const state = s.numbers("state", 4);
    const elapsedSteps = s.count("elapsedSteps", this.maxEpisodeSteps);
    const ended = s.flag("ended");
    const started = s.flag("started");
    // An episode in progress has steps left; one never started is ended at step 0.
    s.check(ended || elapsedSteps < this.maxEpisodeSteps);
    s.check(started || (ended && elapsedSteps === 0));
    const rng = s.rng();
    this.#rng = rng;
    this.state = [state[0], state[1], state[2], state[3]];
    this.elapsedSteps = elapsedSteps;
    this.#ended = ended;
    this.#reset = started;
  }

  /** The observation of the current state (float32). */
  observe(): Float32Array {
    const [x, xDot, theta, thetaDot] = this.state;
    return this.maskVelocity
      ? new Float32Array([x, theta])
      : new Float32Array([x, xDot, theta, thetaDot]);
  }
}

/** What {@linkcode BatchedCartPole.step} returns; its arrays are overwritten by the next step. */
export interface BatchedCartPoleStep {
  /** `[count, observationSize]`: each env's observation after the step (after autoreset). */
  observations: Float32Array;
  /** `[count]`: the rewards (always 1). */
  rewards: Float32Array;
  /** `[count]`: 1 where the episode terminated on this step. */
  terminated: Uint8Array;
  /** `[count]`: 1 where the episode reached the time limit on this step. */
  truncated: Uint8Array;
  /**
   * `[count, observationSize]`: where an episode ended on this step, the observation it ended on;
   * elsewhere stale values from earlier steps.
   */
  finalObservations: Float32Array;
}

/**
 * N copies of {@linkcode CartPole} stepped together over typed arrays, with same-step autoreset.
 *
 * The state is one Float64Array, `[count, 4]` row-major (`state[4 * i + k]`), and each env's
 * step is the scalar CartPole's arithmetic, so from the same state and action the two agree bit
 * for bit. Autoreset rule ("same-step"): when env i terminates or is truncated, `terminated[i]`
 * or `truncated[i]` is 1, `finalObservations` row i holds the observation it ended on, and the
 * state is immediately redrawn, so `observations` row i is the first of the next episode. All
 * resets draw from one RNG shared by the batch. The arrays of the returned object are owned by
 * the batch and overwritten by the next step (no allocation per step): copy what you keep.
 *
 * @example
 * ```ts
 * import { BatchedCartPole } from "@rnnrl/rnnrl";
 * const envs = new BatchedCartPole(8, { seed: 3 });
 * envs.reset();
 * const actions = new Uint8Array(8).fill(1);
 * let ended = 0;
 * for (let t = 0; t < 100; t++) {
 *   const { terminated, truncated } = envs.step(actions);
 *   for (let i = 0; i < 8; i++) ended += terminated[i] | truncated[i];
 * }
 * if (ended < 8) throw new Error("always pushing right ends every episode within 100 steps");
 * ```
 */
export class BatchedCartPole {
  /** The number of environments. */
  readonly count: number;
  /** 4, or 2 with `maskVelocity`. */
  readonly observationSize: number;
  /** 2: push left (0) or right (1). */
  readonly actionCount: number = 2;
  /** Whether velocities are hidden from the observation. */
  readonly maskVelocity: boolean;
  /** The time limit in steps. */
  readonly maxEpisodeSteps: number;
  /** `[count, 4]`: each env's `[x, xDot, theta, thetaDot]`, writable. */
  readonly state: Float64Array;
  /** `[count]`: steps taken in each env's current episode. */
  readonly elapsedSteps: Int32Array;

  #rng: Rng;
  #semiImplicit: boolean;
  #result: BatchedCartPoleStep;
  #cos: Float64Array;
  #sin: Float64Array;

  /** Creates `count` environments; call {@linkcode BatchedCartPole.reset} before stepping. */
  constructor(count: number, options: CartPoleOptions = {}) {
    if (!(Number.isInteger(count) && count >= 1)) {
      throw new RangeError(`Cannot create BatchedCartPole: count is ${count}, expected >= 1`);
    }
    const resolved = resolveOptions("BatchedCartPole", options);
    this.count = count;
    this.maskVelocity = resolved.maskVelocity;
    this.#semiImplicit = resolved.semiImplicit;
    this.maxEpisodeSteps = resolved.maxEpisodeSteps;
    this.#rng = new Rng(resolved.seed);
    this.observationSize = this.maskVelocity ? 2 : 4;
    this.state = new Float64Array(4 * count);
    this.elapsedSteps = new Int32Array(count);
    this.#cos = new Float64Array(count);
    this.#sin = new Float64Array(count);
    this.#result = {
      observations: new Float32Array(count * this.observationSize),
      rewards: new Float32Array(count).fill(1),
      terminated: new Uint8Array(count),
      truncated: new Uint8Array(count),
      finalObservations: new Float32Array(count * this.observationSize),
    };
  }

  /** Redraws every env's state uniformly in [−0.05, 0.05)⁴; returns the observation buffer. */
  reset(options: ResetOptions = {}): Float32Array {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    for (let i = 0; i < this.count; i++) this.#resetOne(i);
    this.observeInto(this.#result.observations);
    return this.#result.observations;
  }

  /**
   * Steps every env with its action (0 or 1) and autoresets those that end.
   * Throws a RangeError, before changing anything, if an action is invalid or the length is wrong.
   */
  step(actions: ArrayLike<number>): BatchedCartPoleStep {
    const n = this.count;
    if (actions.length !== n) {
      throw new RangeError(
        `Cannot step BatchedCartPole: got ${actions.length} actions for ${n} environments`,
      );
    }
    if (!allBinary(actions)) {
      for (let i = 0; i < n; i++) {
        const a = actions[i];
        if (a !== 0 && a !== 1) {
          throw new RangeError(
            `Cannot step BatchedCartPole: action ${i} is ${a}, expected 0 or 1`,
          );
        }
      }
    }
    const s = this.state;
    const steps = this.elapsedSteps;
    const { observations, terminated, truncated, finalObservations } = this.#result;
    const semiImplicit = this.#semiImplicit;
    const masked = this.maskVelocity;
    const size = this.observationSize;
    const limit = this.maxEpisodeSteps;
    const cosines = this.#cos;
    const sines = this.#sin;
    for (let i = 0; i < n; i++) {
      const theta = s[4 * i + 2];
      cosines[i] = Math.cos(theta);
      sines[i] = Math.sin(theta);
    }
    for (let i = 0; i < n; i++) {
      const o = 4 * i;
      // Branch-free: 10 · (2a − 1) is exactly ±10.
      advance(s, o, FORCE_MAG * (2 * actions[i] - 1), semiImplicit, cosines[i], sines[i]);
      const x = s[o];
      const theta = s[o + 2];
      const term = isTerminal(x, theta);
      const trunc = ++steps[i] >= limit;
      terminated[i] = term ? 1 : 0;
      truncated[i] = trunc ? 1 : 0;
      const out = term || trunc ? finalObservations : observations;
      const p = size * i;
      if (masked) {
        out[p] = x;
        out[p + 1] = theta;
      } else {
        out[p] = x;
        out[p + 1] = s[o + 1];
        out[p + 2] = theta;
        out[p + 3] = s[o + 3];
      }
      if (term || trunc) {
        this.#resetOne(i);
        this.#observeOne(i, observations);
      }
    }
    return this.#result;
  }

  /** Writes every env's observation of its current state into `out` (`[count, size]`). */
  observeInto(out: Float32Array): void {
    for (let i = 0; i < this.count; i++) this.#observeOne(i, out);
  }

  #observeOne(i: number, out: Float32Array): void {
    const s = this.state;
    const o = 4 * i;
    const p = this.observationSize * i;
    if (this.maskVelocity) {
      out[p] = s[o];
      out[p + 1] = s[o + 2];
    } else {
      out[p] = s[o];
      out[p + 1] = s[o + 1];
      out[p + 2] = s[o + 2];
      out[p + 3] = s[o + 3];
    }
  }

  #resetOne(i: number): void {
    const rng = this.#rng;
    const o = 4 * i;
    for (let k = 0; k < 4; k++) this.state[o + k] = rng.uniformIn(-RESET_BOUND, RESET_BOUND);
    this.elapsedSteps[i] = 0;
  }
}
