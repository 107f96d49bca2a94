/**
 * CartPole copies whose state lives in a backend's memory: {@linkcode DeviceCartPole}.
 *
 * @module
 */

import type { Backend, CartPoleStepTensors, Tensor } from "../backend/backend.ts";
import { CARTPOLE_STATE_SIZE, initialCartPoleF32 } from "../backend/cartpole_f32.ts";
import type { CartPoleIntegrator } from "./cartpole.ts";

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
 * number, so copy i plays the same episodes whatever N is and whichever backend steps it.
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
export class DeviceCartPole {
  /** The backend that holds the state and steps it. */
  readonly backend: Backend;
  /** The number of copies. */
  readonly count: number;
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
  /** Keys the reset draws. */
  seed: number;
  /**
   * `[count, 6]`: each copy's x, ẋ, θ, θ̇, steps taken and episode number (float32), in the
   * backend's memory; stepping updates it in place.
   */
  readonly state: Tensor;

  /** Creates `count` copies; call {@linkcode DeviceCartPole.reset} before stepping. */
  constructor(backend: Backend, count: number, options: DeviceCartPoleOptions = {}) {
    const name = "Cannot create DeviceCartPole";
    if (!(Number.isSafeInteger(count) && count >= 1)) {
      throw new RangeError(`${name}: count is ${count}, expected an integer >= 1`);
    }
    const integrator = options.integrator ?? "euler";
    if (integrator !== "euler" && integrator !== "semi-implicit-euler") {
      throw new RangeError(
        `${name}: integrator is "${integrator}", expected "euler" or "semi-implicit-euler"`,
      );
    }
    const maxEpisodeSteps = options.maxEpisodeSteps ?? 500;
    // Step counts are float32 in the state: exact up to 2^24.
    if (
      !(Number.isSafeInteger(maxEpisodeSteps) && maxEpisodeSteps >= 1 && maxEpisodeSteps <= 2 ** 24)
    ) {
      throw new RangeError(
        `${name}: maxEpisodeSteps is ${maxEpisodeSteps}, expected an integer in 1..2^24`,
      );
    }
    this.backend = backend;
    this.count = count;
    this.maskVelocity = options.maskVelocity ?? false;
    this.integrator = integrator;
    this.maxEpisodeSteps = maxEpisodeSteps;
    this.seed = (options.seed ?? 0) >>> 0;
    this.observationSize = this.maskVelocity ? 2 : 4;
    this.state = backend.zeros([count, CARTPOLE_STATE_SIZE]);
  }

  /**
   * Starts episode 0 of every copy (with `seed`, reseeded first) and returns the observations,
   * `[count, size]`, a new tensor the caller disposes.
   */
  reset(seed?: number): Tensor {
    if (seed !== undefined) this.seed = seed >>> 0;
    const state = initialCartPoleF32(this.count, this.seed);
    this.backend.write(this.state, state);
    const size = this.observationSize, observations = new Float32Array(this.count * size);
    for (let i = 0; i < this.count; i++) {
      const o = CARTPOLE_STATE_SIZE * i;
      if (this.maskVelocity) observations.set([state[o], state[o + 2]], 2 * i);
      else observations.set(state.subarray(o, o + 4), 4 * i);
    }
    return this.backend.tensor(observations, [this.count, size]);
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
    if (actions.size !== this.count) {
      throw new RangeError(
        `Cannot step DeviceCartPole: got ${actions.size} actions for ${this.count} copies`,
      );
    }
    return this.backend.cartPoleStep(this.state, actions, {
      maskVelocity: this.maskVelocity,
      semiImplicit: this.integrator === "semi-implicit-euler",
      maxEpisodeSteps: this.maxEpisodeSteps,
      seed: this.seed,
    });
  }

  /** Reads the state back: `[count, 6]` (see {@linkcode DeviceCartPole.state}). */
  readState(): Promise<Float32Array> {
    return this.backend.read(this.state);
  }

  /** Releases the state; the copies must not be stepped afterwards. */
  destroy(): void {
    this.backend.dispose(this.state);
  }

  /** Disposes the tensors of one step's result. */
  static dispose(backend: Backend, step: CartPoleStepTensors): void {
    for (const t of Object.values(step)) backend.dispose(t);
  }
}
