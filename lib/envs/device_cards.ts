/**
 * POPGym's card games with their copies in a backend's memory: {@linkcode DeviceRepeatPrevious}
 * and {@linkcode DeviceCountRecall}.
 *
 * @module
 */

import type { Backend, CardGameStepTensors, Tensor } from "../backend/backend.ts";
import {
  cardActionCount,
  type CardGameStepParams,
  cardObservationSize,
  cardShoes,
  cardStateSize,
  initialCardGameF32,
  observeCardGameF32,
} from "../backend/cards_f32.ts";
import { DeviceCopies } from "./device_copies.ts";
import { COUNT_RECALL_LEVELS } from "./popgym/count_recall.ts";
import { REPEAT_PREVIOUS_LEVELS } from "./popgym/repeat_previous.ts";
import { DECK_SIZE, difficultyOf, type PopgymDifficulty } from "./popgym/_shared.ts";

/** Options of the device card games. */
export interface DeviceCardGameOptions {
  /** The level (default "easy"), as in POPGym. */
  difficulty?: PopgymDifficulty;
  /** Keys every shuffle (default 0). */
  seed?: number;
}

/**
 * N copies of a card game stepped by a backend's `cardGameStep` op. The rules are those of the
 * scalar game; the shuffles come from a counter-based hash keyed by the seed, the copy and its
 * episode number, so copy i is dealt the same shoes whatever N is and whichever backend steps it
 * (they differ from the scalar game's, whose shuffles come from its own generator).
 */
export abstract class DeviceCardGame extends DeviceCopies {
  /** The level. */
  readonly difficulty: PopgymDifficulty;
  /** The observation's length. */
  readonly observationSize: number;
  /** The number of actions. */
  readonly actionCount: number;
  /** Cards in a shoe. */
  readonly cards: number;
  readonly #name: string;
  readonly #params: Omit<CardGameStepParams, "seed">;

  /** Checks the count and allocates the state; the subclass names the game and its level. */
  protected constructor(
    name: string,
    backend: Backend,
    count: number,
    difficulty: PopgymDifficulty,
    params: Omit<CardGameStepParams, "seed">,
    seed: number | undefined,
  ) {
    const full = { ...params, seed: 0 };
    // The shuffle's lane index, cards · (shoes · i + shoe) + j, is a u32.
    if (count * cardShoes(full) * params.cards > 2 ** 32) {
      throw new RangeError(
        `Cannot create ${name}: ${count} copies are more than the 2^32 shuffle lanes allow`,
      );
    }
    super(name, backend, count, cardStateSize(full), { maxEpisodeSteps: params.cards - 1, seed });
    this.#name = name;
    this.difficulty = difficulty;
    this.#params = params;
    this.cards = params.cards;
    this.observationSize = cardObservationSize(full);
    this.actionCount = cardActionCount(full);
  }

  /** The op's parameters with the current seed. */
  get params(): CardGameStepParams {
    return { ...this.#params, seed: this.seed };
  }

  /**
   * Deals episode 0 of every copy (with `seed`, reseeded first) and returns the observations,
   * `[count, size]`, a new tensor the caller disposes.
   */
  reset(seed?: number): Tensor {
    if (seed !== undefined) this.seed = seed >>> 0;
    const params = this.params;
    return this.start(
      initialCardGameF32(this.count, params),
      this.observationSize,
      (state, i, out) => observeCardGameF32(state, i, out, params),
    );
  }

  /**
   * Steps every copy with its action (`[count]`) and reshuffles those whose shoe runs out. The
   * result's tensors are new; dispose them with {@linkcode DeviceCopies.dispose}.
   *
   * @throws {RangeError} On the CPU backend, for an action that is not the game's (the WGSL
   * kernel makes that copy's reward NaN instead).
   */
  step(actions: Tensor): CardGameStepTensors {
    this.checkStep(this.#name, actions, "actions");
    return this.backend.cardGameStep(this.state, actions, this.params);
  }
}

/**
 * N copies of POPGym's RepeatPrevious (name the suit of the card seen k − 1 cards ago) in a
 * backend's memory. Observations are one-hots of the suit dealt, `[count, 4]`; actions are suits.
 * The `state` is `[count, 2 + cards]`: steps taken, episode number, then the shoe.
 *
 * @example
 * ```ts
 * import { createCpuBackend, DeviceRepeatPrevious } from "@rnnrl/rnnrl";
 * const backend = createCpuBackend();
 * const envs = new DeviceRepeatPrevious(backend, 2, { seed: 1 });
 * const seen = [Array.from(await backend.read(envs.reset()))];
 * let total = 0;
 * for (let t = 1; t <= 51; t++) {
 *   // Name the suit of card t − 3 (k = 4); before that any action earns 0.
 *   const suits = [0, 1].map((i) => t >= 4 ? seen[t - 4].slice(4 * i, 4 * i + 4).indexOf(1) : 0);
 *   const step = envs.step(backend.tensor(suits, [2]));
 *   seen.push(Array.from(await backend.read(step.observations)));
 *   total += (await backend.read(step.rewards)).reduce((a, b) => a + b, 0);
 * }
 * if (Math.abs(total - 2) > 1e-4) throw new Error("a perfect memory returns 1 per copy");
 * ```
 */
export class DeviceRepeatPrevious extends DeviceCardGame {
  /** The lag: step t asks for card t − k + 1. */
  readonly k: number;

  /** Creates `count` copies; call `reset` before stepping. */
  constructor(backend: Backend, count: number, options: DeviceCardGameOptions = {}) {
    const difficulty = difficultyOf("DeviceRepeatPrevious", options.difficulty);
    const level = REPEAT_PREVIOUS_LEVELS[difficulty];
    super("DeviceRepeatPrevious", backend, count, difficulty, {
      game: "repeat-previous",
      cards: DECK_SIZE * level.decks,
      lag: level.k,
      kinds: 4,
      kindDivisor: 1,
    }, options.seed);
    this.k = level.k;
  }
}

/**
 * N copies of POPGym's CountRecall (how many value cards of the query card's kind have been
 * dealt) in a backend's memory. Observations are `[count, 2·V]`: a one-hot of the value card's
 * kind, then of the query card's; actions are the answers 0..C. The `state` is
 * `[count, 2 + V + 2·cards]`: steps taken, episode number, the count of each kind, the value
 * shoe and the query shoe.
 */
export class DeviceCountRecall extends DeviceCardGame {
  /** The number of kinds, V. */
  readonly kinds: number;

  /** Creates `count` copies; call `reset` before stepping. */
  constructor(backend: Backend, count: number, options: DeviceCardGameOptions = {}) {
    const difficulty = difficultyOf("DeviceCountRecall", options.difficulty);
    const level = COUNT_RECALL_LEVELS[difficulty];
    const kind = { color: [2, 1], suit: [4, 1], rank: [13, 4] }[level.kind];
    super("DeviceCountRecall", backend, count, difficulty, {
      game: "count-recall",
      cards: DECK_SIZE * level.decks,
      lag: 0,
      kinds: kind[0],
      kindDivisor: kind[1],
    }, options.seed);
    this.kinds = kind[0];
  }
}
