/**
 * POPGym's RepeatPrevious: name the suit of the card seen k − 1 cards ago.
 *
 * A shoe of N = 52 · decks cards is shuffled at reset and dealt one card per observation: the
 * reset shows card 1, step t shows card t + 1. From step k on, the action of step t must name the
 * suit of card t − k + 1 (with k = 4: after seeing card 4, name card 1); it earns +1/(N − k) if
 * right and −1/(N − k) if wrong. Steps before k earn 0 whatever the action. The episode
 * terminates after N − 1 steps, when the shoe is empty, so N − k steps are scored and a perfect
 * player returns exactly 1.
 *
 * - Observation: 4 floats, a one-hot of the suit of the card just dealt (♠ ♦ ♣ ♥).
 * - Actions: 4, the suits.
 * - Random: the order of the shoe (a uniform permutation), drawn at reset.
 *
 * | difficulty | decks | N   | k  | steps | reward scale |
 * | ---------- | ----- | --- | -- | ----- | ------------ |
 * | easy       | 1     | 52  | 4  | 51    | 1/48         |
 * | medium     | 2     | 104 | 32 | 103   | 1/72         |
 * | hard       | 3     | 156 | 64 | 155   | 1/92         |
 *
 * @module
 */

import type { JsonObject } from "../../io/json.ts";
import {
  DECK_SIZE,
  difficultyOf,
  type NoInfo,
  type PopgymDifficulty,
  PopgymEnv,
  type PopgymOptions,
  type PopgymOutcome,
  type SavedState,
  shuffledDeck,
  suitOf,
} from "./_shared.ts";

/** The decks and the lag k of each difficulty of {@linkcode RepeatPrevious}. */
export const REPEAT_PREVIOUS_LEVELS: Readonly<
  Record<PopgymDifficulty, { readonly decks: number; readonly k: number }>
> = {
  easy: { decks: 1, k: 4 },
  medium: { decks: 2, k: 32 },
  hard: { decks: 3, k: 64 },
};

/**
 * POPGym's RepeatPrevious (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { RepeatPrevious } from "@rnnrl/rnnrl";
 * const env = new RepeatPrevious({ difficulty: "easy", seed: 1 });
 * const seen = [env.reset().observation.indexOf(1)];
 * let total = 0;
 * for (let t = 1; ; t++) {
 *   const action = t >= 4 ? seen[t - 4] : 0; // the suit of card t − 3
 *   const step = env.step(action);
 *   seen.push(step.observation.indexOf(1));
 *   total += step.reward;
 *   if (step.terminated) break;
 * }
 * if (Math.abs(total - 1) > 1e-9) throw new Error("a perfect memory returns 1");
 * ```
 */
export class RepeatPrevious extends PopgymEnv<NoInfo> {
  /** The number of cards in the shoe. */
  readonly cards: number;
  /** The lag: step t asks for card t − k + 1. */
  readonly k: number;
  #deck: number[];

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("RepeatPrevious", options.difficulty);
    const level = REPEAT_PREVIOUS_LEVELS[difficulty];
    super("RepeatPrevious", {
      id: `repeat-previous-${difficulty}`,
      gameSize: 4,
      actionCount: 4,
    }, options);
    this.cards = DECK_SIZE * level.decks;
    this.k = level.k;
    this.#deck = Array.from({ length: this.cards }, (_, i) => i);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): RepeatPrevious {
    return new RepeatPrevious(this.options());
  }

  /** Shuffles the shoe and shows card 1. */
  protected begin(out: Float32Array): NoInfo {
    this.#deck = shuffledDeck(this.rng, this.cards / DECK_SIZE);
    out[suitOf(this.#deck[0])] = 1;
    return {};
  }

  /** Scores the suit against card t − k + 1 and shows the next card. */
  protected play(action: number, out: Float32Array): PopgymOutcome<NoInfo> {
    const t = this.elapsedSteps;
    const scale = 1 / (this.cards - this.k);
    // Card t − k + 1 (1-based) is deck[t − k].
    const reward = t >= this.k ? (action === suitOf(this.#deck[t - this.k]) ? scale : -scale) : 0;
    out[suitOf(this.#deck[t])] = 1;
    return { reward, terminated: t === this.cards - 1, truncated: false, info: {} };
  }

  /** The game part of the snapshot. */
  protected saveGame(): JsonObject {
    return { deck: [...this.#deck] };
  }

  /** Checks and restores the game part of a snapshot. */
  protected loadGame(saved: SavedState, elapsedSteps: number): void {
    if (elapsedSteps > this.cards - 1) saved.fail("elapsedSteps", "past the end of the shoe");
    this.#deck = saved.permutation("deck", this.cards);
  }
}
