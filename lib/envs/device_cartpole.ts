/**
 * CartPole copies whose state lives in a backend's memory: {@linkcode DeviceCartPole}.
 *
 * @module
 */

import type { Backend, CartPoleStepTensors, Tensor } from "../backend/backend.ts";
import {
  CARTPOLE_STATE_SIZE,
  initialCartPoleF32,
  observeCartPoleF32,
} from "../backend/cartpole_f32.ts";
import type { CartPoleIntegrator } from "./cartpole.ts";
import { DeviceCopies } from "./device_copies.ts";

/** Options of {@linkcode DeviceCartPole}. */
export interface DeviceCartPoleOptions {
  /** Observe `[x, θ]` only, as "cartpole-masked" (default false). */
  maskVelocity?: boolean;
  /** The integrator (default "euler", as in Gymnasium). */
  integrator?: CartPoleIntegrator;
  /** Episodes are truncated after this many steps (default 500). */
  maxEpisodeSteps?: number;
  /** Keys every reset draw (default 0). */
  seed?: number;
}

/**
 * N copies of CartPole stepped by a backend's `cartPoleStep` op: on WebGPU one dispatch per step
 * of all copies, the state, actions and results staying in GPU buffers, so an agent that also acts
 * on the device never waits for a read-back. On the CPU backend the same float32 arithmetic runs
 * in TypeScript: the reference the WGSL kernel is tested against.
 *
 * The dynamics are Gymnasium's in float32 (the scalar {@linkcode CartPole} computes them in
 * float64). A copy that ends an episode (same-step autoreset) reports it in `terminated` or
 * `truncated`, its last observation in `finalObservations`, and starts its next episode at once.
 * Reset states come from a counter-based hash keyed by the seed, the copy and its episode
 * number, so copy i plays the same episodes whatever N is and whichever backend steps it. The
 * `state` is `[count, 6]`: each copy's x, ẋ, θ, θ̇, steps taken and episode number.
 *
 * @example
 * ```ts
 * import { createCpuBackend, DeviceCartPole } from "@rnnrl/rnnrl";
 * const backend = createCpuBackend();
 * const envs = new DeviceCartPole(backend, 4, { seed: 1 });
 * backend.dispose(envs.reset());
 * const right = backend.tensor([1, 1, 1, 1], [4]);
 * let ended = 0;
 * for (let t = 0; t < 100; t++) {
 *   const step = envs.step(right);
 *   ended += (await backend.read(step.terminated)).reduce((a, b) => a + b, 0);
 *   DeviceCartPole.dispose(backend, step);
 * }
 * if (ended < 4) throw new Error("always pushing right ends every episode within 100 steps");
 * ```
 */
export class DeviceCartPole extends DeviceCopies {
  /** 4, or 2 with `maskVelocity`. */
  readonly observationSize: number;
  /** 2: push left (0) or right (1). */
  readonly actionCount: number = 2;
  /** Whether velocities are hidden from the observation. */
  readonly maskVelocity: boolean;
  /** The integrator in use. */
  readonly integrator: CartPoleIntegrator;

  /** Creates `count` copies; call {@linkcode DeviceCartPole.reset} before stepping. */
  constructor(backend: Backend, count: number, options: DeviceCartPoleOptions = {}) {
    const integrator = options.integrator ?? "euler";
    if (integrator !== "euler" && integrator !== "semi-implicit-euler") {
      throw new RangeError(
        `Cannot create DeviceCartPole: integrator is "${integrator}", expected "euler" or "semi-implicit-euler"`,
      );
    }
    super("DeviceCartPole", backend, count, CARTPOLE_STATE_SIZE, {
      maxEpisodeSteps: options.maxEpisodeSteps ?? 500,
      seed: options.seed,
    });
    this.maskVelocity = options.maskVelocity ?? false;
    this.integrator = integrator;
    this.observationSize = this.maskVelocity ? 2 : 4;
  }

  /**
   * Starts episode 0 of every copy (with `seed`, reseeded first) and returns the observations,
   * `[count, size]`, a new tensor the caller disposes.
   */
  reset(seed?: number): Tensor {
    if (seed !== undefined) this.seed = seed >>> 0;
    const masked = this.maskVelocity;
    return this.start(
      initialCartPoleF32(this.count, this.seed),
      this.observationSize,
      (state, i, out) => observeCartPoleF32(state, i, out, masked),
    );
  }

  /**
   * Steps every copy with its action (`[count]`, 0 or 1) and autoresets those that end. The
   * result's tensors are new; dispose them with {@linkcode DeviceCartPole.dispose}. The reward
   * is 1 for every copy on every step.
   *
   * @throws {RangeError} On the CPU backend, for an action other than 0 or 1 (the WGSL kernel
   * makes that copy's state NaN instead).
   */
  step(actions: Tensor): CartPoleStepTensors {
    this.checkStep("DeviceCartPole", actions, "actions");
    return this.backend.cartPoleStep(this.state, actions, {
      maskVelocity: this.maskVelocity,
      semiImplicit: this.integrator === "semi-implicit-euler",
      maxEpisodeSteps: this.maxEpisodeSteps,
      seed: this.seed,
    });
  }
}
