/**
 * POPGym's Concentration: turn cards over two at a time and find the pairs that match.
 *
 * At reset a shoe of N = 52 · decks cards is shuffled and laid face down in N places. Two cards
 * match when they have the same colour (or the same rank, as the level says). Each step turns one
 * card over, and a turn is two steps:
 * - the first card of a turn earns 0 and stays up for the next step;
 * - the second card shows too, then: a match (two different places, equal values) earns
 *   +1/(N/2) and both stay face up for good; anything else, the same place twice included, earns
 *   −2/L and both go face down again;
 * - turning a card that is already face up for good ends the turn at once, earning −1/L for each
 *   card of the turn so far (−1/L as a first card, −2/L as a second), and the turn's cards go face
 *   down. It is allowed and penalised, as POPGym does: there is no action mask.
 * The episode terminates, with `won`, when every card is face up, and is truncated after L steps
 * (both flags are set if the last step makes the last match), where L = ⌈2N − N/(2N − 1)⌉. A
 * player who knows where every card lies matches N/2 pairs in N steps and returns exactly 1; no
 * episode returns less than −1.
 *
 * - Observation: N · (V + 1) floats, place-major: place i's one-hot is at
 *   `[i · (V + 1), (i + 1) · (V + 1))`, index V meaning face down and 0..V − 1 the value of a card
 *   that shows (matched, or turned this turn, including the second card of a failed turn on the
 *   step it was turned).
 * - Actions: N, the places.
 * - Random: the order of the shoe, drawn at reset.
 *
 * | difficulty | decks | N   | matched by | V  | steps L | match | failure unit |
 * | ---------- | ----- | --- | ---------- | -- | ------- | ----- | ------------ |
 * | easy       | 1     | 52  | colour     | 2  | 104     | 1/26  | −1/104       |
 * | medium     | 2     | 104 | colour     | 2  | 208     | 1/52  | −1/208       |
 * | hard       | 1     | 52  | rank       | 13 | 104     | 1/26  | −1/104       |
 *
 * @module
 */

import type { JsonObject } from "../../io/json.ts";
import type { WinInfo } from "../env.ts";
import {
  colorOf,
  DECK_SIZE,
  difficultyOf,
  type PopgymDifficulty,
  PopgymEnv,
  type PopgymOptions,
  type PopgymOutcome,
  rankOf,
  type SavedState,
  shuffledDeck,
} from "./_shared.ts";

/** What {@linkcode Concentration} matches cards by. */
export type ConcentrationKind = "color" | "rank";

/** The decks and what matches at each difficulty of {@linkcode Concentration}. */
export const CONCENTRATION_LEVELS: Readonly<
  Record<PopgymDifficulty, { readonly decks: number; readonly kind: ConcentrationKind }>
> = {
  easy: { decks: 1, kind: "color" },
  medium: { decks: 2, kind: "color" },
  hard: { decks: 1, kind: "rank" },
};

/**
 * POPGym's Concentration (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { Concentration } from "@rnnrl/rnnrl";
 * const env = new Concentration({ difficulty: "easy", seed: 8 });
 * env.reset();
 * const values = env.cardValues(); // an oracle: it reads the hidden cards
 * const red = values.flatMap((v, i) => v === 1 ? [i] : []);
 * const black = values.flatMap((v, i) => v === 0 ? [i] : []);
 * let total = 0;
 * for (const place of [...red, ...black]) total += env.step(place).reward;
 * if (Math.abs(total - 1) > 1e-9) throw new Error("26 matches return 1");
 * ```
 */
export class Concentration extends PopgymEnv<WinInfo> {
  /** The number of cards, N. */
  readonly cards: number;
  /** What matches. */
  readonly kind: ConcentrationKind;
  /** The number of values a card can show, V. */
  readonly values: number;
  /** The episode length, L. */
  readonly maxEpisodeSteps: number;
  #valueOf: (card: number) => number;
  #deck: number[];
  #faceUp: Uint8Array;
  #faceUpCount = 0;
  /** The place turned first this turn, or −1. */
  #pending = -1;

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("Concentration", options.difficulty);
    const level = CONCENTRATION_LEVELS[difficulty];
    const n = DECK_SIZE * level.decks;
    const values = level.kind === "color" ? 2 : 13;
    super("Concentration", {
      id: `concentration-${difficulty}`,
      gameSize: n * (values + 1),
      actionCount: n,
    }, options);
    this.cards = n;
    this.kind = level.kind;
    this.values = values;
    this.maxEpisodeSteps = Math.ceil(2 * n - n / (2 * n - 1));
    this.#valueOf = level.kind === "color" ? colorOf : rankOf;
    this.#deck = Array.from({ length: n }, (_, i) => i);
    this.#faceUp = new Uint8Array(n);
  }

  /** The value of the card in each place: hidden from the agent, for tests and oracles. */
  cardValues(): number[] {
    return this.#deck.map(this.#valueOf);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): Concentration {
    return new Concentration(this.options());
  }

  /** Shuffles the cards face down. */
  protected begin(out: Float32Array): WinInfo {
    this.#deck = shuffledDeck(this.rng, this.cards / DECK_SIZE);
    this.#faceUp.fill(0);
    this.#faceUpCount = 0;
    this.#pending = -1;
    this.#observe(out, -1, -1);
    return { won: false };
  }

  /** Turns a card over and scores the turn. */
  protected play(action: number, out: Float32Array): PopgymOutcome<WinInfo> {
    const first = this.#pending;
    this.#observe(out, first, action);
    const truncated = this.elapsedSteps === this.maxEpisodeSteps;
    const failure = -1 / this.maxEpisodeSteps;
    const turn = first < 0 ? 1 : 2;
    let reward = 0;
    if (this.#faceUp[action]) {
      reward = turn * failure;
      this.#pending = -1;
    } else if (first < 0) {
      this.#pending = action;
    } else {
      const value = this.#valueOf(this.#deck[action]);
      if (first !== action && this.#valueOf(this.#deck[first]) === value) {
        reward = 1 / (this.cards / 2);
        this.#faceUp[first] = 1;
        this.#faceUp[action] = 1;
        this.#faceUpCount += 2;
      } else {
        reward = 2 * failure;
      }
      this.#pending = -1;
    }
    const won = this.#faceUpCount === this.cards;
    return { reward, terminated: won, truncated, info: { won } };
  }

  /** The game part of the snapshot. */
  protected saveGame(): JsonObject {
    return { deck: [...this.#deck], faceUp: [...this.#faceUp], pending: this.#pending };
  }

  /** Checks and restores the game part of a snapshot. */
  protected loadGame(saved: SavedState, elapsedSteps: number): void {
    const n = this.cards;
    if (elapsedSteps > this.maxEpisodeSteps) saved.fail("elapsedSteps", "past the time limit");
    const deck = saved.permutation("deck", n);
    const faceUp = saved.ints("faceUp", 0, 1, n);
    const pending = saved.int("pending", -1, n - 1);
    const up = new Array(this.values).fill(0);
    faceUp.forEach((u, i) => up[this.#valueOf(deck[i])] += u);
    if (up.some((k) => k % 2 !== 0)) saved.fail("faceUp", "the cards face up do not pair off");
    if (pending >= 0 && faceUp[pending]) saved.fail("pending", "that card is face up for good");
    this.#deck = deck;
    this.#faceUp = Uint8Array.from(faceUp);
    this.#faceUpCount = faceUp.reduce((a, b) => a + b, 0);
    this.#pending = pending;
  }

  /** Shows the cards face up for good and the turn's cards `a` and `b` (−1 for none). */
  #observe(out: Float32Array, a: number, b: number): void {
    const width = this.values + 1;
    for (let i = 0; i < this.cards; i++) {
      const shows = this.#faceUp[i] === 1 || i === a || i === b;
      out[i * width + (shows ? this.#valueOf(this.#deck[i]) : this.values)] = 1;
    }
  }
}
