/**
 * POPGym's Autoencode: watch a shoe of cards, then name their suits in reverse order.
 *
 * A shoe of N = 52 · decks cards is shuffled at reset. Watching: the reset shows card 1 and each
 * of steps 1..N − 1 shows the next card; actions are ignored and earn 0. The observation that
 * shows card N (step N − 1's) already carries the play flag. Playing: steps N..2N − 1 must name
 * the suits backwards, card N first and card 1 last, earning +1/N for each right suit and −1/N
 * for each wrong one. The episode terminates after 2N − 1 steps, so a perfect player returns
 * exactly 1; one who always names the same suit returns exactly −0.5, since a shoe holds N/4
 * cards of each suit.
 *
 * - Observation: 6 floats: a one-hot of the mode (index 0 play, index 1 watch), then a one-hot of
 *   the suit of the card shown (♠ ♦ ♣ ♥). While playing no card is shown and the suit part is
 *   POPGym's placeholder, the one-hot of suit 0.
 * - Actions: 4, the suits.
 * - Random: the order of the shoe (a uniform permutation), drawn at reset.
 *
 * | difficulty | decks | N   | steps | reward scale |
 * | ---------- | ----- | --- | ----- | ------------ |
 * | easy       | 1     | 52  | 103   | 1/52         |
 * | medium     | 2     | 104 | 207   | 1/104        |
 * | hard       | 3     | 156 | 311   | 1/156        |
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

/** The number of decks of each difficulty of {@linkcode Autoencode}. */
export const AUTOENCODE_LEVELS: Readonly<Record<PopgymDifficulty, { readonly decks: number }>> = {
  easy: { decks: 1 },
  medium: { decks: 2 },
  hard: { decks: 3 },
};

const PLAY = 0;
const WATCH = 1;

/**
 * POPGym's Autoencode (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { Autoencode } from "@rnnrl/rnnrl";
 * const env = new Autoencode({ seed: 4 }); // easy: 52 cards
 * let { observation } = env.reset();
 * const seen: number[] = [];
 * let total = 0;
 * for (let t = 1; ; t++) {
 *   if (t <= 52) seen.push(observation.subarray(2).indexOf(1)); // the suit on show
 *   const step = env.step(t < 52 ? 0 : seen.pop()!);
 *   total += step.reward;
 *   observation = step.observation;
 *   if (step.terminated) break;
 * }
 * if (Math.abs(total - 1) > 1e-9) throw new Error("reciting backwards returns 1");
 * ```
 */
export class Autoencode extends PopgymEnv<NoInfo> {
  /** The number of cards in the shoe. */
  readonly cards: number;
  #deck: number[];

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("Autoencode", options.difficulty);
    super("Autoencode", {
      id: `autoencode-${difficulty}`,
      gameSize: 6,
      actionCount: 4,
    }, options);
    this.cards = DECK_SIZE * AUTOENCODE_LEVELS[difficulty].decks;
    this.#deck = Array.from({ length: this.cards }, (_, i) => i);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): Autoencode {
    return new Autoencode(this.options());
  }

  /** Shuffles the shoe and shows card 1 in watch mode. */
  protected begin(out: Float32Array): NoInfo {
    this.#deck = shuffledDeck(this.rng, this.cards / DECK_SIZE);
    out[WATCH] = 1;
    out[2 + suitOf(this.#deck[0])] = 1;
    return {};
  }

  /** Shows the next card while watching; scores the recited suit while playing. */
  protected play(action: number, out: Float32Array): PopgymOutcome<NoInfo> {
    const t = this.elapsedSteps;
    const n = this.cards;
    if (t < n) {
      // Watching: show card t + 1; the last one comes with the play flag.
      out[t === n - 1 ? PLAY : WATCH] = 1;
      out[2 + suitOf(this.#deck[t])] = 1;
      return { reward: 0, terminated: false, truncated: false, info: {} };
    }
    // Playing: step n + j asks for card n − j, which is deck[2n − 1 − t].
    const scale = 1 / n;
    const reward = action === suitOf(this.#deck[2 * n - 1 - t]) ? scale : -scale;
    out[PLAY] = 1;
    out[2] = 1;
    return { reward, terminated: t === 2 * n - 1, truncated: false, info: {} };
  }

  /** The game part of the snapshot. */
  protected saveGame(): JsonObject {
    return { deck: [...this.#deck] };
  }

  /** Checks and restores the game part of a snapshot. */
  protected loadGame(saved: SavedState, elapsedSteps: number): void {
    if (elapsedSteps > 2 * this.cards - 1) saved.fail("elapsedSteps", "past the end of the game");
    this.#deck = saved.permutation("deck", this.cards);
  }
}
