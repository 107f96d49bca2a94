/**
 * Pendulum copies whose state lives in a backend's memory: {@linkcode DevicePendulum}, which
 * takes torques, and {@linkcode DeviceDiscretePendulum}, which takes indices into a set of them.
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

/** Options of {@linkcode DeviceDiscretePendulum}. */
export interface DeviceDiscretePendulumOptions extends DevicePendulumOptions {
  /** The torques an action picks from, ascending (default −2, −1, 0, 1, 2). */
  torques?: readonly number[];
}

/**
 * {@linkcode DevicePendulum} acting from a discrete set of torques, as `DiscreteActions` maps
 * the scalar game's: `step` takes action indices (`[count]`,
 * whole numbers below `actionCount`) and looks their torques up in the backend, so a policy
 * with a categorical head (such as `ResidentPPO`'s) plays it without a read-back.
 *
 * @example
 * ```ts
 * import { createCpuBackend, DeviceDiscretePendulum } from "@rnnrl/rnnrl";
 * const backend = createCpuBackend();
 * const envs = new DeviceDiscretePendulum(backend, 2, { seed: 1 });
 * backend.dispose(envs.reset());
 * const step = envs.step(backend.tensor([0, 4], [2])); // −2 and +2
 * if (envs.actionCount !== 5 || step.rewards.size !== 2) throw new Error("five torques");
 * DeviceDiscretePendulum.dispose(backend, step);
 * envs.destroy();
 * ```
 */
export class DeviceDiscretePendulum extends DevicePendulum {
  /** The number of torques. */
  readonly actionCount: number;
  /** The torque of each action, ascending. */
  readonly torques: Float64Array;
  readonly #table: Tensor; // [actionCount, 1]

  /**
   * Creates `count` copies; call {@linkcode DevicePendulum.reset} before stepping.
   *
   * @throws {RangeError} For fewer than two torques, or one that is not finite.
   */
  constructor(backend: Backend, count: number, options: DeviceDiscretePendulumOptions = {}) {
    super(backend, count, options);
    const torques = options.torques ?? [-2, -1, 0, 1, 2];
    if (torques.length < 2 || !torques.every(Number.isFinite)) {
      throw new RangeError(
        `Cannot make DeviceDiscretePendulum with torques [${torques}]: expected at least two ` +
          "finite numbers",
      );
    }
    this.actionCount = torques.length;
    this.torques = Float64Array.from(torques);
    this.#table = backend.tensor(this.torques, [this.actionCount, 1]);
  }

  /**
   * Steps every copy with the torque of its action (`[count]`, indices) and autoresets those at
   * the time limit; see {@linkcode DevicePendulum.step}.
   */
  override step(actions: Tensor): PendulumStepTensors {
    this.checkStep("DeviceDiscretePendulum", actions, "actions");
    const backend = this.backend;
    const index = backend.reshape(actions, [this.count, 1]);
    const picked = backend.embeddingForward(index, this.#table, 1);
    const torques = backend.reshape(picked, [this.count]);
    const out = super.step(torques);
    backend.dispose(picked);
    return out;
  }

  /** Releases the state and the torque table. */
  override destroy(): void {
    super.destroy();
    this.backend.dispose(this.#table);
  }
}
