/**
 * POPGym's StatelessCartPole (called PositionOnlyCartPole in POPGym's later releases): CartPole
 * observed through the cart's position and the pole's angle only, so the velocities must be
 * inferred from memory.
 *
 * The dynamics are Gymnasium's CartPole, exactly: this wraps {@linkcode CartPole} with
 * `maskVelocity` (see cartpole.ts: Euler integration, reset uniform in ±0.05, termination
 * beyond ±2.4 or ±12°). POPGym's rule matches it. Each step earns +1/L, the terminating one
 * included (Gymnasium pays 1 for it, which POPGym scales like any other), so a return is the
 * fraction of the time limit survived, in (0, 1]. The episode terminates when the pole falls or
 * the cart leaves the track and is truncated after L steps (both flags are set if both happen on
 * step L, as in POPGym). POPGym maps a Gymnasium reward of 0 to −1; Gymnasium pays 0 only for
 * steps after termination, which this environment refuses, so no step here earns −1.
 *
 * - Observation: 2 floats, `[x, θ]` (float32).
 * - Actions: 2: push left (0) or right (1).
 * - Random: the initial state, drawn at reset.
 *
 * | difficulty | steps L | reward |
 * | ---------- | ------- | ------ |
 * | easy       | 200     | 1/200  |
 * | medium     | 400     | 1/400  |
 * | hard       | 600     | 1/600  |
 *
 * The environment's RNG seeds the CartPole's own stream when the environment is created or
 * reseeded, and draws any observation noise ({@linkcode NoisyStatelessCartPole}); both are part
 * of the snapshot.
 *
 * @module
 */

import type { JsonObject } from "../../io/json.ts";
import { CartPole, CARTPOLE_CONSTANTS } from "../cartpole.ts";
import {
  difficultyOf,
  type NoInfo,
  type PopgymDifficulty,
  PopgymEnv,
  type PopgymOptions,
  type PopgymOutcome,
  type SavedState,
} from "./_shared.ts";

/** The time limit of each difficulty of {@linkcode StatelessCartPole}. */
export const STATELESS_CARTPOLE_LEVELS: Readonly<
  Record<PopgymDifficulty, { readonly steps: number }>
> = {
  easy: { steps: 200 },
  medium: { steps: 400 },
  hard: { steps: 600 },
};

/** What distinguishes the position-only CartPoles: their name, time limit and noise. */
export interface PositionOnlyCartPoleSpec {
  /** The class name, for error messages. */
  name: string;
  /** The command-line name, such as "stateless-cartpole-easy". */
  id: string;
  /** The time limit L. */
  maxEpisodeSteps: number;
  /** The standard deviation of the Gaussian noise added to each observed value (0: none). */
  noiseSigma: number;
}

/** POPGym's bounds of the observation, where noisy values are clipped: twice the thresholds. */
const X_BOUND = 2 * CARTPOLE_CONSTANTS.xThreshold;
const THETA_BOUND = 2 * CARTPOLE_CONSTANTS.thetaThreshold;

/**
 * The shared implementation of {@linkcode StatelessCartPole} and
 * {@linkcode NoisyStatelessCartPole}: Gymnasium's CartPole observed as `[x, θ]` plus optional
 * Gaussian noise, with POPGym's reward and time limit.
 */
export abstract class PositionOnlyCartPole extends PopgymEnv<NoInfo> {
  /** The time limit L. */
  readonly maxEpisodeSteps: number;
  /** The standard deviation of the observation noise (0: none). */
  readonly noiseSigma: number;
  #cartpole: CartPole;
  #seed: number | null = null;

  /** Sets the variant; the subclasses fix it. */
  protected constructor(spec: PositionOnlyCartPoleSpec, options: PopgymOptions) {
    super(spec.name, { id: spec.id, gameSize: 2, actionCount: 2 }, options);
    this.maxEpisodeSteps = spec.maxEpisodeSteps;
    this.noiseSigma = spec.noiseSigma;
    this.#cartpole = new CartPole({
      maskVelocity: true,
      maxEpisodeSteps: spec.maxEpisodeSteps,
      seed: this.rng.nextUint32(),
    });
  }

  /** The CartPole's state `[x, xDot, θ, θDot]`: partly hidden from the agent, for tests. */
  get state(): [number, number, number, number] {
    return [...this.#cartpole.state];
  }

  /** Reseeds the CartPole from the new RNG at the coming reset. */
  protected override reseeded(): void {
    this.#seed = this.rng.nextUint32();
  }

  /** Resets the CartPole and shows its position. */
  protected begin(out: Float32Array): NoInfo {
    const seed = this.#seed ?? undefined;
    this.#seed = null;
    this.#observe(this.#cartpole.reset({ seed }).observation, out);
    return {};
  }

  /** Pushes the cart and shows its position. */
  protected play(action: number, out: Float32Array): PopgymOutcome<NoInfo> {
    const { observation, terminated, truncated } = this.#cartpole.step(action);
    this.#observe(observation, out);
    return { reward: 1 / this.maxEpisodeSteps, terminated, truncated, info: {} };
  }

  /** The game part of the snapshot. */
  protected saveGame(): JsonObject {
    return { cartpole: this.#cartpole.getState() };
  }

  /** Checks and restores the game part of a snapshot. */
  protected loadGame(saved: SavedState, elapsedSteps: number): void {
    const inner = saved.object("cartpole");
    if (inner.value("elapsedSteps") !== elapsedSteps) {
      saved.fail("cartpole", "its step count differs from the environment's");
    }
    try {
      this.#cartpole.setState(saved.value("cartpole") as JsonObject);
    } catch (error) {
      saved.fail("cartpole", (error as Error).message);
    }
  }

  #observe(position: Float32Array, out: Float32Array): void {
    const sigma = this.noiseSigma;
    if (sigma === 0) {
      out.set(position);
      return;
    }
    const x = position[0] + this.rng.normal(0, sigma);
    const theta = position[1] + this.rng.normal(0, sigma);
    out[0] = Math.min(X_BOUND, Math.max(-X_BOUND, x));
    out[1] = Math.min(THETA_BOUND, Math.max(-THETA_BOUND, theta));
  }
}

/**
 * POPGym's StatelessCartPole (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { StatelessCartPole } from "@rnnrl/rnnrl";
 * const env = new StatelessCartPole({ difficulty: "easy", seed: 10 });
 * env.reset();
 * let total = 0;
 * for (;;) {
 *   const [, , theta, thetaDot] = env.state; // an oracle: it reads the hidden velocities
 *   const step = env.step(theta + 0.5 * thetaDot > 0 ? 1 : 0);
 *   total += step.reward;
 *   if (step.terminated || step.truncated) break;
 * }
 * if (Math.abs(total - 1) > 1e-9) throw new Error("balancing for 200 steps returns 1");
 * ```
 */
export class StatelessCartPole extends PositionOnlyCartPole {
  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("StatelessCartPole", options.difficulty);
    super({
      name: "StatelessCartPole",
      id: `stateless-cartpole-${difficulty}`,
      maxEpisodeSteps: STATELESS_CARTPOLE_LEVELS[difficulty].steps,
      noiseSigma: 0,
    }, options);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): StatelessCartPole {
    return new StatelessCartPole(this.options());
  }
}
