/**
 * Gymnasium's Pendulum-v1: swing a pendulum up and hold it with a continuous torque.
 *
 * @module
 */

import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng } from "../io/rng.ts";
import { rngJson, SavedState } from "./_snapshot.ts";
import type { ContinuousEnv, ResetOptions, ResetResult, StepResult } from "./env.ts";

/** Gymnasium Pendulum-v1's constants. */
export const PENDULUM_CONSTANTS: {
  readonly maxSpeed: number;
  readonly maxTorque: number;
  readonly dt: number;
  readonly g: number;
  readonly m: number;
  readonly l: number;
} = { maxSpeed: 8, maxTorque: 2, dt: 0.05, g: 10.0, m: 1, l: 1 };

const { maxSpeed: MAX_SPEED, maxTorque: MAX_TORQUE, dt: DT, g: G, m: M, l: L } = PENDULUM_CONSTANTS;

/** Options of {@linkcode Pendulum}. */
export interface PendulumOptions {
  /** Episodes are truncated after this many steps (default 200, Pendulum-v1's time limit). */
  maxEpisodeSteps?: number;
  /** The seed of the environment's RNG (default 0); `reset({ seed })` reseeds it. */
  seed?: number;
  /**
   * Hide the angular velocity: observe `[cos θ, sin θ]` only (the RL Zoo's PendulumNoVel), a
   * task where a policy needs memory to swing up (default false).
   */
  maskVelocity?: boolean;
}

/** Pendulum's info: it has nothing to add. */
export type PendulumInfo = Record<string, never>;

/** Maps an angle into [−π, π) as Gymnasium's `angle_normalize` does (a floored modulo). */
export function angleNormalize(x: number): number {
  const period = 2 * Math.PI;
  let r = (x + Math.PI) % period;
  if (r !== 0 && r < 0) r += period;
  return r - Math.PI;
}

/**
 * Gymnasium's Pendulum-v1. The state is `[θ, θ̇]` (θ = 0 upright), the observation
 * `[cos θ, sin θ, θ̇]` (float32) and the action a torque, clipped to [−2, 2]. Each step pays
 * `−(angleNormalize(θ)² + 0.1·θ̇² + 0.001·u²)` for the state it starts from, then
 * `θ̇ ← clip(θ̇ + (3g/(2l)·sin θ + 3/(m·l²)·u)·dt, −8, 8)` and `θ ← θ + θ̇·dt`, with g = 10,
 * m = l = 1 and dt = 0.05. Reset draws θ uniform in [−π, π) and θ̇ uniform in [−1, 1). It never
 * terminates; episodes are truncated after `maxEpisodeSteps` (200), after which `step` throws
 * until `reset`.
 *
 * @example
 * ```ts
 * import { Pendulum } from "@rnnrl/rnnrl";
 * const env = new Pendulum();
 * env.reset({ seed: 0 });
 * const { reward, observation } = env.step(2); // full torque
 * if (reward > 0 || observation.length !== 3) throw new Error("rewards are costs");
 * ```
 */
export class Pendulum implements ContinuousEnv<PendulumInfo> {
  /** "pendulum", or "pendulum-masked" with `maskVelocity`. */
  readonly id: string;
  /** 3: `[cos θ, sin θ, θ̇]`, or 2 with `maskVelocity`. */
  readonly observationSize: number;
  /** Whether the angular velocity is hidden from the observation. */
  readonly maskVelocity: boolean;
  /** −2 (the torque is clipped to it). */
  readonly actionLow: number = -MAX_TORQUE;
  /** 2 (the torque is clipped to it). */
  readonly actionHigh: number = MAX_TORQUE;
  /** The time limit in steps. */
  readonly maxEpisodeSteps: number;
  /** The state `[θ, θ̇]` (float64); write it to start from a chosen state. */
  state: [number, number] = [0, 0];
  /** Steps taken in the current episode. */
  elapsedSteps = 0;

  #rng: Rng;
  #ended = true;

  /** Creates the environment; call {@linkcode Pendulum.reset} before stepping. */
  constructor(options: PendulumOptions = {}) {
    const maxEpisodeSteps = options.maxEpisodeSteps ?? 200;
    if (!(Number.isInteger(maxEpisodeSteps) && maxEpisodeSteps >= 1)) {
      throw new RangeError(
        `Cannot create Pendulum: maxEpisodeSteps is ${maxEpisodeSteps}, expected a positive integer`,
      );
    }
    this.maxEpisodeSteps = maxEpisodeSteps;
    this.maskVelocity = Boolean(options.maskVelocity);
    this.id = this.maskVelocity ? "pendulum-masked" : "pendulum";
    this.observationSize = this.maskVelocity ? 2 : 3;
    this.#rng = new Rng(options.seed ?? 0);
  }

  /** A new environment with the same settings (for vector training). */
  clone(): Pendulum {
    return new Pendulum({ maxEpisodeSteps: this.maxEpisodeSteps, maskVelocity: this.maskVelocity });
  }

  /** Starts an episode from θ ~ U[−π, π), θ̇ ~ U[−1, 1). */
  reset(options: ResetOptions = {}): ResetResult<PendulumInfo> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    this.state = [this.#rng.uniformIn(-Math.PI, Math.PI), this.#rng.uniformIn(-1, 1)];
    this.elapsedSteps = 0;
    this.#ended = false;
    return { observation: this.observe(), info: {} };
  }

  /** Applies torque `action` (clipped to [−2, 2]); a non-finite torque is a RangeError. */
  step(action: number): StepResult<PendulumInfo> {
    if (!Number.isFinite(action)) {
      throw new RangeError(`Cannot step Pendulum: action is ${action}, expected a finite torque`);
    }
    if (this.#ended) {
      throw new Error("Cannot step Pendulum: the episode has ended; call reset() first");
    }
    const [th, thDot] = this.state;
    const u = Math.min(MAX_TORQUE, Math.max(-MAX_TORQUE, action));
    const thNorm = angleNormalize(th);
    const costs = thNorm * thNorm + 0.1 * (thDot * thDot) + 0.001 * (u * u);
    let newThDot = thDot + ((3 * G) / (2 * L) * Math.sin(th) + (3.0 / (M * L * L)) * u) * DT;
    newThDot = Math.min(MAX_SPEED, Math.max(-MAX_SPEED, newThDot));
    const newTh = th + newThDot * DT;
    this.state = [newTh, newThDot];
    this.elapsedSteps++;
    const truncated = this.elapsedSteps >= this.maxEpisodeSteps;
    this.#ended = truncated;
    return { observation: this.observe(), reward: -costs, terminated: false, truncated, info: {} };
  }

  /** Everything that determines the rest of the episode and the next ones, as JSON (checkpoints). */
  getState(): JsonObject {
    return {
      state: [...this.state],
      elapsedSteps: this.elapsedSteps,
      ended: this.#ended,
      rng: rngJson(this.#rng),
    };
  }

  /**
   * Restores a state from {@linkcode Pendulum.getState}; throws a TypeError for anything else
   * and then leaves the environment as it was.
   */
  setState(saved: JsonValue): void {
    const s = new SavedState("Pendulum", saved);
    const [th, thDot] = s.numbers("state", 2);
    const elapsedSteps = s.count("elapsedSteps", this.maxEpisodeSteps);
    const ended = s.flag("ended");
    s.check(ended || elapsedSteps < this.maxEpisodeSteps);
    const rng = s.rng();
    this.#rng = rng;
    this.state = [th, thDot];
    this.elapsedSteps = elapsedSteps;
    this.#ended = ended;
  }

  /** The observation `[cos θ, sin θ, θ̇]` (or `[cos θ, sin θ]`) of the current state (float32). */
  observe(): Float32Array {
    const [th, thDot] = this.state;
    return this.maskVelocity
      ? new Float32Array([Math.cos(th), Math.sin(th)])
      : new Float32Array([Math.cos(th), Math.sin(th), thDot]);
  }
}
