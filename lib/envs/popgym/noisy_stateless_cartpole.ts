/**
 * POPGym's NoisyStatelessCartPole (NoisyPositionOnlyCartPole in POPGym's later releases):
 * {@linkcode StatelessCartPole} with Gaussian noise on what it observes.
 *
 * Every observation, the reset's included, is `[x + ε₁, θ + ε₂]` with ε₁, ε₂ drawn independently
 * from a normal distribution of mean 0 and standard deviation σ, then clipped to POPGym's
 * observation bounds, ±4.8 for x and ±24° (±0.419 rad) for θ. The dynamics, the reward (+1/L per
 * step, the terminating one included), termination and truncation are StatelessCartPole's. The
 * time limit is 200 at every level, as in POPGym: only the noise grows.
 *
 * - Observation: 2 floats, the noisy `[x, θ]` (float32).
 * - Actions: 2: push left (0) or right (1).
 * - Random: the initial state, drawn at reset, and the noise of every observation.
 *
 * | difficulty | σ   | steps L | reward |
 * | ---------- | --- | ------- | ------ |
 * | easy       | 0.1 | 200     | 1/200  |
 * | medium     | 0.2 | 200     | 1/200  |
 * | hard       | 0.3 | 200     | 1/200  |
 *
 * @module
 */

import { difficultyOf, type PopgymDifficulty, type PopgymOptions } from "./_shared.ts";
import { PositionOnlyCartPole } from "./stateless_cartpole.ts";

/** The noise and the time limit of each difficulty of {@linkcode NoisyStatelessCartPole}. */
export const NOISY_STATELESS_CARTPOLE_LEVELS: Readonly<
  Record<PopgymDifficulty, { readonly sigma: number; readonly steps: number }>
> = {
  easy: { sigma: 0.1, steps: 200 },
  medium: { sigma: 0.2, steps: 200 },
  hard: { sigma: 0.3, steps: 200 },
};

/**
 * POPGym's NoisyStatelessCartPole (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { NoisyStatelessCartPole } from "@rnnrl/rnnrl";
 * const env = new NoisyStatelessCartPole({ difficulty: "hard", seed: 11 });
 * const { observation } = env.reset();
 * const [x] = env.state;
 * if (observation[0] === Math.fround(x)) throw new Error("the position is observed with noise");
 * ```
 */
export class NoisyStatelessCartPole extends PositionOnlyCartPole {
  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("NoisyStatelessCartPole", options.difficulty);
    const level = NOISY_STATELESS_CARTPOLE_LEVELS[difficulty];
    super({
      name: "NoisyStatelessCartPole",
      id: `noisy-stateless-cartpole-${difficulty}`,
      maxEpisodeSteps: level.steps,
      noiseSigma: level.sigma,
    }, options);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): NoisyStatelessCartPole {
    return new NoisyStatelessCartPole(this.options());
  }
}
