/**
 * POPGym's MultiarmedBandit: find the arm that pays most often within one episode.
 *
 * At reset each of the n arms draws its payout probability uniformly from [0, 1). Each step
 * pulls one arm, which pays with its probability: +1/L if it pays, −1/L if it does not, so a
 * return is the difference between paying and failing pulls over L. The episode is truncated
 * after L steps. Always pulling the best arm returns (n − 1)/(n + 1) on average; any fixed arm,
 * or a uniformly random one, returns 0 on average.
 *
 * - Observation: 2 floats, a one-hot of the last pull's result (index 1: it paid). The reset shows
 *   index 0, as if a pull had failed. The observation does not say which arm was pulled: POPGym
 *   marks this game as needing the previous action (`observePreviousAction`).
 * - Actions: n, the arms.
 * - Random: the probabilities, drawn at reset, and every pull's outcome.
 *
 * | difficulty | arms n | steps L | reward | best arm, on average |
 * | ---------- | ------ | ------- | ------ | -------------------- |
 * | easy       | 10     | 200     | ±1/200 | 9/11                 |
 * | medium     | 20     | 400     | ±1/400 | 19/21                |
 * | hard       | 30     | 600     | ±1/600 | 29/31                |
 *
 * @module
 */

import type { JsonObject } from "../../io/json.ts";
import {
  difficultyOf,
  type NoInfo,
  type PopgymDifficulty,
  PopgymEnv,
  type PopgymOptions,
  type PopgymOutcome,
  type SavedState,
} from "./_shared.ts";

/** The arms and the episode length of each difficulty of {@linkcode MultiarmedBandit}. */
export const MULTIARMED_BANDIT_LEVELS: Readonly<
  Record<PopgymDifficulty, { readonly arms: number; readonly steps: number }>
> = {
  easy: { arms: 10, steps: 200 },
  medium: { arms: 20, steps: 400 },
  hard: { arms: 30, steps: 600 },
};

/**
 * POPGym's MultiarmedBandit (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { MultiarmedBandit } from "@rnnrl/rnnrl";
 * const env = new MultiarmedBandit({ difficulty: "easy", seed: 6 });
 * env.reset();
 * const p = env.payoutProbabilities();
 * const best = p.indexOf(Math.max(...p)); // an oracle: it reads the hidden probabilities
 * let total = 0;
 * for (;;) {
 *   const step = env.step(best);
 *   total += step.reward;
 *   if (step.truncated) break;
 * }
 * if (total < 0) throw new Error("the best arm pays more often than not");
 * ```
 */
export class MultiarmedBandit extends PopgymEnv<NoInfo> {
  /** The number of arms, n. */
  readonly arms: number;
  /** The episode length, L. */
  readonly maxEpisodeSteps: number;
  #p: number[];

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("MultiarmedBandit", options.difficulty);
    const level = MULTIARMED_BANDIT_LEVELS[difficulty];
    super("MultiarmedBandit", {
      id: `multiarmed-bandit-${difficulty}`,
      gameSize: 2,
      actionCount: level.arms,
    }, options);
    this.arms = level.arms;
    this.maxEpisodeSteps = level.steps;
    this.#p = new Array(level.arms).fill(0);
  }

  /** The arms' payout probabilities this episode: hidden from the agent, for tests and oracles. */
  payoutProbabilities(): number[] {
    return [...this.#p];
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): MultiarmedBandit {
    return new MultiarmedBandit(this.options());
  }

  /** Draws the payout probabilities and shows a failed pull. */
  protected begin(out: Float32Array): NoInfo {
    for (let i = 0; i < this.arms; i++) this.#p[i] = this.rng.uniform();
    out[0] = 1;
    return {};
  }

  /** Pulls an arm and shows whether it paid. */
  protected play(action: number, out: Float32Array): PopgymOutcome<NoInfo> {
    const paid = this.rng.uniform() < this.#p[action];
    const scale = 1 / this.maxEpisodeSteps;
    out[paid ? 1 : 0] = 1;
    return {
      reward: paid ? scale : -scale,
      terminated: false,
      truncated: this.elapsedSteps === this.maxEpisodeSteps,
      info: {},
    };
  }

  /** The game part of the snapshot. */
  protected saveGame(): JsonObject {
    return { probabilities: [...this.#p] };
  }

  /** Checks and restores the game part of a snapshot. */
  protected loadGame(saved: SavedState, elapsedSteps: number): void {
    if (elapsedSteps > this.maxEpisodeSteps) saved.fail("elapsedSteps", "past the time limit");
    this.#p = saved.numbers("probabilities", 0, 1, this.arms);
  }
}
