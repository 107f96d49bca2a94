/**
 * POPGym's RepeatFirst: name the suit of the first card, at every step.
 *
 * A shoe of N = 52 · decks cards is shuffled at reset and dealt one card per observation: the
 * reset shows card 1, step t shows card t + 1. Every action must name the suit of card 1: +1/(N − 1)
 * if right, −1/(N − 1) if wrong. The episode terminates after N − 1 steps, when the shoe is
 * empty, so a perfect player returns exactly 1 and one who always names the same suit returns +1
 * or −1 (−0.5 on average).
 *
 * - Observation: 4 floats, a one-hot of the suit of the card just dealt (♠ ♦ ♣ ♥). Nothing marks
 *   the first card as first: the agent must know that the reset's observation is the one to keep.
 * - Actions: 4, the suits.
 * - Random: the order of the shoe (a uniform permutation), drawn at reset.
 *
 * | difficulty | decks | N   | steps | reward scale |
 * | ---------- | ----- | --- | ----- | ------------ |
 * | easy       | 1     | 52  | 51    | 1/51         |
 * | medium     | 8     | 416 | 415   | 1/415        |
 * | hard       | 16    | 832 | 831   | 1/831        |
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

/** The number of decks of each difficulty of {@linkcode RepeatFirst}. */
export const REPEAT_FIRST_LEVELS: Readonly<Record<PopgymDifficulty, { readonly decks: number }>> = {
  easy: { decks: 1 },
  medium: { decks: 8 },
  hard: { decks: 16 },
};

/**
 * POPGym's RepeatFirst (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { RepeatFirst } from "@rnnrl/rnnrl";
 * const env = new RepeatFirst({ seed: 2 });
 * const first = env.reset().observation.indexOf(1);
 * let total = 0;
 * for (;;) {
 *   const step = env.step(first);
 *   total += step.reward;
 *   if (step.terminated) break;
 * }
 * if (Math.abs(total - 1) > 1e-9) throw new Error("remembering the first suit returns 1");
 * ```
 */
export class RepeatFirst extends PopgymEnv<NoInfo> {
  /** The number of cards in the shoe. */
  readonly cards: number;
  #deck: number[];

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("RepeatFirst", options.difficulty);
    super("RepeatFirst", {
      id: `repeat-first-${difficulty}`,
      gameSize: 4,
      actionCount: 4,
    }, options);
    this.cards = DECK_SIZE * REPEAT_FIRST_LEVELS[difficulty].decks;
    this.#deck = Array.from({ length: this.cards }, (_, i) => i);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): RepeatFirst {
    return new RepeatFirst(this.options());
  }

  /** Shuffles the shoe and shows card 1. */
  protected begin(out: Float32Array): NoInfo {
    this.#deck = shuffledDeck(this.rng, this.cards / DECK_SIZE);
    out[suitOf(this.#deck[0])] = 1;
    return {};
  }

  /** Scores the suit against card 1 and shows the next card. */
  protected play(action: number, out: Float32Array): PopgymOutcome<NoInfo> {
    const t = this.elapsedSteps;
    const scale = 1 / (this.cards - 1);
    const reward = action === suitOf(this.#deck[0]) ? scale : -scale;
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
