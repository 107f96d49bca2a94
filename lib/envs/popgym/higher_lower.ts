/**
 * POPGym's HigherLower: guess whether the next card ranks higher or lower than the one on show.
 *
 * A shoe of N = 52 · decks cards is shuffled at reset and dealt one card per observation: the
 * reset shows card 1, step t shows card t + 1. The action of step t guesses how card t + 1 ranks
 * against card t (aces low, kings high): +1/N if right, −1/N if wrong, 0 when the ranks are
 * equal. The episode terminates after N − 1 steps, when the shoe is empty. Returns lie in
 * [−(N − 1)/N, (N − 1)/N]; counting the cards gone improves on the memoryless best, which is to
 * guess higher below a seven and lower above it and returns 84/169 ≈ 0.497 on average at every
 * level (always guessing the same way returns 0 on average).
 *
 * - Observation: 13 floats, a one-hot of the rank of the card on show (A, 2, …, 10, J, Q, K).
 * - Actions: 2: 0 guesses higher, 1 guesses lower.
 * - Random: the order of the shoe (a uniform permutation), drawn at reset.
 *
 * | difficulty | decks | N   | steps | reward scale |
 * | ---------- | ----- | --- | ----- | ------------ |
 * | easy       | 1     | 52  | 51    | 1/52         |
 * | medium     | 2     | 104 | 103   | 1/104        |
 * | hard       | 3     | 156 | 155   | 1/156        |
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
  rankOf,
  type SavedState,
  shuffledDeck,
} from "./_shared.ts";

/** The number of decks of each difficulty of {@linkcode HigherLower}. */
export const HIGHER_LOWER_LEVELS: Readonly<Record<PopgymDifficulty, { readonly decks: number }>> = {
  easy: { decks: 1 },
  medium: { decks: 2 },
  hard: { decks: 3 },
};

/**
 * POPGym's HigherLower (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { HigherLower } from "@rnnrl/rnnrl";
 * const env = new HigherLower({ seed: 5 });
 * let rank = env.reset().observation.indexOf(1);
 * for (;;) {
 *   const step = env.step(rank < 6 ? 0 : 1); // higher below a seven, else lower
 *   rank = step.observation.indexOf(1);
 *   if (step.terminated) break;
 * }
 * if (env.elapsedSteps !== 51) throw new Error("one deck: 51 guesses");
 * ```
 */
export class HigherLower extends PopgymEnv<NoInfo> {
  /** The number of cards in the shoe. */
  readonly cards: number;
  #deck: number[];

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("HigherLower", options.difficulty);
    super("HigherLower", {
      id: `higher-lower-${difficulty}`,
      gameSize: 13,
      actionCount: 2,
    }, options);
    this.cards = DECK_SIZE * HIGHER_LOWER_LEVELS[difficulty].decks;
    this.#deck = Array.from({ length: this.cards }, (_, i) => i);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): HigherLower {
    return new HigherLower(this.options());
  }

  /** Shuffles the shoe and shows card 1. */
  protected begin(out: Float32Array): NoInfo {
    this.#deck = shuffledDeck(this.rng, this.cards / DECK_SIZE);
    out[rankOf(this.#deck[0])] = 1;
    return {};
  }

  /** Deals the next card, scores the guess and shows the card. */
  protected play(action: number, out: Float32Array): PopgymOutcome<NoInfo> {
    const t = this.elapsedSteps;
    const shown = rankOf(this.#deck[t - 1]);
    const next = rankOf(this.#deck[t]);
    const scale = 1 / this.cards;
    const reward = next === shown ? 0 : (next > shown) === (action === 0) ? scale : -scale;
    out[next] = 1;
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
