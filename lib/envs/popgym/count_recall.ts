/**
 * POPGym's CountRecall: say how many cards of the asked kind have been dealt so far.
 *
 * Two shoes of N = 52 · decks cards each, a value shoe and a query shoe, are shuffled at reset
 * (the value shoe first). Every observation deals one card from each: the reset shows pair 1,
 * step t shows pair t + 1. A card's kind is its colour, suit or rank, as the level says. The
 * action of step t must be the number of value cards 1..t (the one on show included) whose kind is
 * the kind of query card t, the query on show: +1/(N − 1) if exact, −1/(N − 1) otherwise (no
 * partial credit). The episode terminates after N − 1 steps, when the value shoe is empty, so a
 * perfect counter returns exactly 1.
 *
 * - Observation: 2·V floats for V kinds: a one-hot of the value card's kind, then a one-hot of
 *   the query card's kind.
 * - Actions: C + 1, the answers 0..C, where C = N / V is how many cards of one kind the shoe
 *   holds.
 * - Random: the order of both shoes (independent uniform permutations), drawn at reset.
 *
 * | difficulty | decks | N   | kind   | V  | C  | actions | steps | reward scale |
 * | ---------- | ----- | --- | ------ | -- | -- | ------- | ----- | ------------ |
 * | easy       | 1     | 52  | colour | 2  | 26 | 27      | 51    | 1/51         |
 * | medium     | 2     | 104 | suit   | 4  | 26 | 27      | 103   | 1/103        |
 * | hard       | 4     | 208 | rank   | 13 | 16 | 17      | 207   | 1/207        |
 *
 * POPGym differs: its action space is `Discrete(C)`, answers 0..C − 1, yet a count reaches C
 * (late in an episode, once every card of the asked kind is out), so the right answer was
 * sometimes not an action (proroklab/popgym issue #40, fixed by pull request #41). Here the
 * answers are 0..C.
 *
 * @module
 */

import type { JsonObject } from "../../io/json.ts";
import {
  colorOf,
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
  suitOf,
} from "./_shared.ts";

/** What {@linkcode CountRecall} counts: a card's colour, suit or rank. */
export type CountRecallKind = "color" | "suit" | "rank";

/** The decks and the kind counted at each difficulty of {@linkcode CountRecall}. */
export const COUNT_RECALL_LEVELS: Readonly<
  Record<PopgymDifficulty, { readonly decks: number; readonly kind: CountRecallKind }>
> = {
  easy: { decks: 1, kind: "color" },
  medium: { decks: 2, kind: "suit" },
  hard: { decks: 4, kind: "rank" },
};

const KINDS: Readonly<Record<CountRecallKind, { count: number; of: (card: number) => number }>> = {
  color: { count: 2, of: colorOf },
  suit: { count: 4, of: suitOf },
  rank: { count: 13, of: rankOf },
};

/**
 * POPGym's CountRecall (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { CountRecall } from "@rnnrl/rnnrl";
 * const env = new CountRecall({ difficulty: "easy", seed: 3 });
 * const counts = [0, 0];
 * let { observation } = env.reset();
 * let total = 0;
 * for (;;) {
 *   counts[observation.indexOf(1)]++; // the value card's colour
 *   const query = observation.subarray(2).indexOf(1);
 *   const step = env.step(counts[query]);
 *   total += step.reward;
 *   observation = step.observation;
 *   if (step.terminated) break;
 * }
 * if (Math.abs(total - 1) > 1e-9) throw new Error("exact counts return 1");
 * ```
 */
export class CountRecall extends PopgymEnv<NoInfo> {
  /** The number of cards in each shoe. */
  readonly cards: number;
  /** What is counted. */
  readonly kind: CountRecallKind;
  /** The number of kinds, V. */
  readonly kinds: number;
  /** How many cards of one kind a shoe holds, C: the largest answer. */
  readonly maxCount: number;
  #kindOf: (card: number) => number;
  #values: number[];
  #queries: number[];
  #counts: Int32Array;

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("CountRecall", options.difficulty);
    const level = COUNT_RECALL_LEVELS[difficulty];
    const cards = DECK_SIZE * level.decks;
    const kinds = KINDS[level.kind].count;
    super("CountRecall", {
      id: `count-recall-${difficulty}`,
      gameSize: 2 * kinds,
      actionCount: cards / kinds + 1,
    }, options);
    this.cards = cards;
    this.kind = level.kind;
    this.kinds = kinds;
    this.maxCount = cards / kinds;
    this.#kindOf = KINDS[level.kind].of;
    this.#values = Array.from({ length: cards }, (_, i) => i);
    this.#queries = this.#values.slice();
    this.#counts = new Int32Array(kinds);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): CountRecall {
    return new CountRecall(this.options());
  }

  /** Shuffles both shoes and shows pair 1. */
  protected begin(out: Float32Array): NoInfo {
    const decks = this.cards / DECK_SIZE;
    this.#values = shuffledDeck(this.rng, decks);
    this.#queries = shuffledDeck(this.rng, decks);
    this.#counts.fill(0);
    this.#deal(0, out);
    return {};
  }

  /** Scores the count, then deals and shows the next pair. */
  protected play(action: number, out: Float32Array): PopgymOutcome<NoInfo> {
    const t = this.elapsedSteps;
    const answer = this.#counts[this.#kindOf(this.#queries[t - 1])];
    const scale = 1 / (this.cards - 1);
    this.#deal(t, out);
    return {
      reward: action === answer ? scale : -scale,
      terminated: t === this.cards - 1,
      truncated: false,
      info: {},
    };
  }

  /** The game part of the snapshot. */
  protected saveGame(): JsonObject {
    return { values: [...this.#values], queries: [...this.#queries] };
  }

  /** Checks and restores the game part of a snapshot. */
  protected loadGame(saved: SavedState, elapsedSteps: number): void {
    if (elapsedSteps > this.cards - 1) saved.fail("elapsedSteps", "past the end of the shoe");
    const values = saved.permutation("values", this.cards);
    const queries = saved.permutation("queries", this.cards);
    this.#values = values;
    this.#queries = queries;
    this.#counts.fill(0);
    for (let i = 0; i <= elapsedSteps; i++) this.#counts[this.#kindOf(values[i])]++;
  }

  /** Deals pair `i` (0-based), counts its value card and shows the pair. */
  #deal(i: number, out: Float32Array): void {
    const value = this.#kindOf(this.#values[i]);
    this.#counts[value]++;
    out[value] = 1;
    out[this.kinds + this.#kindOf(this.#queries[i])] = 1;
  }
}
