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
import { DeviceCopies } from "./device_copies.ts";

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
 * the copy and its episode number. The `state` is `[count, 4]`: each copy's θ, θ̇, steps taken
 * and episode number.
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
export class DevicePendulum extends DeviceCopies {
  /** 3, or 2 with `maskVelocity`. */
  readonly observationSize: number;
  /** The smallest torque. */
  readonly actionLow: number = -2;
  /** The largest torque. */
  readonly actionHigh: number = 2;
  /** Whether θ̇ is hidden from the observation. */
  readonly maskVelocity: boolean;

  /** Creates `count` copies; call {@linkcode DevicePendulum.reset} before stepping. */
  constructor(backend: Backend, count: number, options: DevicePendulumOptions = {}) {
    super("DevicePendulum", backend, count, PENDULUM_STATE_SIZE, {
      maxEpisodeSteps: options.maxEpisodeSteps ?? 200,
      seed: options.seed,
    });
    this.maskVelocity = options.maskVelocity ?? false;
    this.observationSize = this.maskVelocity ? 2 : 3;
  }

  /**
   * Starts episode 0 of every copy (with `seed`, reseeded first) and returns the observations,
   * `[count, size]`, a new tensor the caller disposes.
   */
  reset(seed?: number): Tensor {
    if (seed !== undefined) this.seed = seed >>> 0;
    const masked = this.maskVelocity;
    return this.start(
      initialPendulumF32(this.count, this.seed),
      this.observationSize,
      (state, i, out) => observePendulumF32(state, i, out, masked),
    );
  }

  /**
   * Steps every copy with its torque (`[count]`) and autoresets those at the time limit. The
   * result's tensors are new; dispose them with {@linkcode DevicePendulum.dispose}.
   *
   * @throws {RangeError} On the CPU backend, for a torque that is not finite (the WGSL kernel
   * makes that copy's state NaN instead).
   */
  step(torques: Tensor): PendulumStepTensors {
    this.checkStep("DevicePendulum", torques, "torques");
    return this.backend.pendulumStep(this.state, torques, {
      maskVelocity: this.maskVelocity,
      maxEpisodeSteps: this.maxEpisodeSteps,
      seed: this.seed,
    });
  }
}
