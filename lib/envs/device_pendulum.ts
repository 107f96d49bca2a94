/**
 * Pendulum copies whose state lives in a backend's memory: {@linkcode DevicePendulum}.
 *
 * @module
 */

import type { Backend, PendulumStepTensors, Tensor } from "../backend/backend.ts";
import {
  initialPendulumF32,
  observePendulumF32,
  PENDULUM_STATE_SIZE,
} from "../backend/pendulum_f32.ts";

/** Options of {@linkcode DevicePendulum}. */
export interface DevicePendulumOptions {
  /** Observe `[cos θ, sin θ]` only, as "pendulum-masked" (default false). */
  maskVelocity?: boolean;
  /** Episodes are truncated after this many steps (default 200, Pendulum-v1's limit). */
  maxEpisodeSteps?: number;
  /** Keys every reset draw (default 0). */
  seed?: number;
}

/**
 * N copies of Pendulum stepped by a backend's `pendulumStep` op, their state in the backend's
 * memory: on WebGPU one dispatch per step of all copies. The actions are torques (clipped to
 * ±2); to act from a discrete set, map the action indices to torques first. The dynamics are
 * Gymnasium's in float32 with the angle kept in [−π, π] (the scalar {@linkcode Pendulum} uses
 * float64); a copy that reaches the time limit reports it in `truncated`, its last observation in
 * `finalObservations`, and starts its next episode from counter-based draws keyed by the seed,
 * the copy and its episode number.
 *
 * @example
 * ```ts
 * import { createCpuBackend, DevicePendulum } from "@rnnrl/rnnrl";
 * const backend = createCpuBackend();
 * const envs = new DevicePendulum(backend, 2, { seed: 1, maxEpisodeSteps: 3 });
 * backend.dispose(envs.reset());
 * const still = backend.tensor([0, 0], [2]);
 * let truncated = 0;
 * for (let t = 0; t < 3; t++) {
 *   const step = envs.step(still);
 *   truncated += (await backend.read(step.truncated)).reduce((a, b) => a + b, 0);
 *   DevicePendulum.dispose(backend, step);
 * }
 * if (truncated !== 2) throw new Error("both copies reach the limit on step 3");
 * ```
 */
export class DevicePendulum {
  /** The backend that holds the state and steps it. */
  readonly backend: Backend;
  /** The number of copies. */
  readonly count: number;
  /** 3, or 2 with `maskVelocity`. */
  readonly observationSize: number;
  /** The smallest torque. */
  readonly actionLow: number = -2;
  /** The largest torque. */
  readonly actionHigh: number = 2;
  /** Whether θ̇ is hidden from the observation. */
  readonly maskVelocity: boolean;
  /** The time limit in steps. */
  readonly maxEpisodeSteps: number;
  /** Keys the reset draws. */
  seed: number;
  /** `[count, 4]`: each copy's θ, θ̇, steps taken and episode number (float32), in place. */
  readonly state: Tensor;

  /** Creates `count` copies; call {@linkcode DevicePendulum.reset} before stepping. */
  constructor(backend: Backend, count: number, options: DevicePendulumOptions = {}) {
    const name = "Cannot create DevicePendulum";
    if (!(Number.isSafeInteger(count) && count >= 1)) {
      throw new RangeError(`${name}: count is ${count}, expected an integer >= 1`);
    }
    const maxEpisodeSteps = options.maxEpisodeSteps ?? 200;
    // Step counts are float32 in the state: exact up to 2^24.
    if (
      !(Number.isSafeInteger(maxEpisodeSteps) && maxEpisodeSteps >= 1 &&
        maxEpisodeSteps <= 2 ** 24)
    ) {
      throw new RangeError(
        `${name}: maxEpisodeSteps is ${maxEpisodeSteps}, expected an integer in 1..2^24`,
      );
    }
    this.backend = backend;
    this.count = count;
    this.maskVelocity = options.maskVelocity ?? false;
    this.maxEpisodeSteps = maxEpisodeSteps;
    this.seed = (options.seed ?? 0) >>> 0;
    this.observationSize = this.maskVelocity ? 2 : 3;
    this.state = backend.zeros([count, PENDULUM_STATE_SIZE]);
  }

  /**
   * Starts episode 0 of every copy (with `seed`, reseeded first) and returns the observations,
   * `[count, size]`, a new tensor the caller disposes.
   */
  reset(seed?: number): Tensor {
    if (seed !== undefined) this.seed = seed >>> 0;
    const state = initialPendulumF32(this.count, this.seed);
    this.backend.write(this.state, state);
    const observations = new Float32Array(this.count * this.observationSize);
    for (let i = 0; i < this.count; i++) {
      observePendulumF32(state, i, observations, this.maskVelocity);
    }
    return this.backend.tensor(observations, [this.count, this.observationSize]);
  }

  /**
   * Steps every copy with its torque (`[count]`) and autoresets those at the time limit. The
   * result's tensors are new; dispose them with {@linkcode DevicePendulum.dispose}.
   *
   * @throws {RangeError} On the CPU backend, for a torque that is not finite (the WGSL kernel
   * makes that copy's state NaN instead).
   */
  step(torques: Tensor): PendulumStepTensors {
    if (torques.size !== this.count) {
      throw new RangeError(
        `Cannot step DevicePendulum: got ${torques.size} torques for ${this.count} copies`,
      );
    }
    return this.backend.pendulumStep(this.state, torques, {
      maskVelocity: this.maskVelocity,
      maxEpisodeSteps: this.maxEpisodeSteps,
      seed: this.seed,
    });
  }

  /** Reads the state back: `[count, 4]` (see {@linkcode DevicePendulum.state}). */
  readState(): Promise<Float32Array> {
    return this.backend.read(this.state);
  }

  /** Releases the state; the copies must not be stepped afterwards. */
  destroy(): void {
    this.backend.dispose(this.state);
  }

  /** Disposes the tensors of one step's result. */
  static dispose(backend: Backend, step: PendulumStepTensors): void {
    for (const t of Object.values(step)) backend.dispose(t);
  }
}
