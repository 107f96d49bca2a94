/**
 * POPGym's card games RepeatPrevious and CountRecall for many copies at once: the reference of the
 * backends' `cardGameStep` op, which the WGSL kernel in `webgpu/kernels/cards.ts` follows step for
 * step. The rules are those of `envs/popgym/repeat_previous.ts` and `envs/popgym/count_recall.ts`;
 * only the shuffle differs, so that every backend deals the same shoes.
 *
 * The state of copy i is row i of an `[N, stateSize]` float32 array (card numbers and counts are
 * small integers, exact in float32): the steps taken in the episode, the episode's number in that
 * copy, the count of each kind dealt so far (CountRecall only), then the shoe (RepeatPrevious) or
 * the value shoe and the query shoe (CountRecall), each a permutation of `0 .. cards)`.
 *
 * A reset shuffles each shoe with Fisher and Yates's method from the identity: for j = cards − 1
 * down to 1, position j swaps with position ⌊b · (j + 1) / 2²⁴⌋, where b is the 24-bit
 * `counterBits(seed, episode, cards · (shoes · i + shoe) + j)`. That is integer arithmetic on every
 * backend, so the deal is the same bit for bit; its bias, at most (j + 1) / 2²⁴ per swap, is far
 * below anything an agent could notice.
 *
 * @module
 */

import { counterBits } from "./backend.ts";

/** The two games. */
export type CardGame = "repeat-previous" | "count-recall";

/**
 * How the copies step: the same for all of them. A card's kind is `⌊card / kindDivisor⌋ mod
 * kinds`: its suit (divisor 1, 4 kinds), its colour (1, 2) or its rank (4, 13).
 */
export interface CardGameStepParams {
  /** The game. */
  game: CardGame;
  /** Cards in a shoe: 52 · decks. */
  cards: number;
  /** RepeatPrevious's lag k (step t names the suit of card t − k + 1); 0 for CountRecall. */
  lag: number;
  /** The number of kinds (4 suits for RepeatPrevious). */
  kinds: number;
  /** See the interface documentation. */
  kindDivisor: number;
  /** Keys the counter-based shuffles of the resets. */
  seed: number;
}

/** Shoes in a copy's state: 1 for RepeatPrevious, 2 for CountRecall. */
export function cardShoes(params: CardGameStepParams): number {
  return params.game === "count-recall" ? 2 : 1;
}

/** Counts in a copy's state: one per kind for CountRecall, none for RepeatPrevious. */
function countSlots(params: CardGameStepParams): number {
  return params.game === "count-recall" ? params.kinds : 0;
}

/** Values per copy in the state array (see the module documentation). */
export function cardStateSize(params: CardGameStepParams): number {
  return 2 + countSlots(params) + cardShoes(params) * params.cards;
}

/** The observation's length: a one-hot of the suit, or of the value's kind and the query's. */
export function cardObservationSize(params: CardGameStepParams): number {
  return params.game === "count-recall" ? 2 * params.kinds : 4;
}

/** The reward of a scored step, in float32: 1/(cards − k) or 1/(cards − 1). */
export function cardRewardScale(params: CardGameStepParams): number {
  const scored = params.game === "count-recall" ? params.cards - 1 : params.cards - params.lag;
  return Math.fround(1 / scored);
}

/** The number of actions: 4 suits, or the answers 0..cards/kinds. */
export function cardActionCount(params: CardGameStepParams): number {
  return params.game === "count-recall" ? params.cards / params.kinds + 1 : 4;
}

function kindOf(card: number, params: CardGameStepParams): number {
  return Math.floor(card / params.kindDivisor) % params.kinds;
}

/** Writes copy i's first deal of episode `episode` into `state` (see the module documentation). */
export function resetCardGameF32(
  state: Float32Array,
  i: number,
  episode: number,
  params: CardGameStepParams,
): void {
  const { cards, seed } = params, shoes = cardShoes(params), size = cardStateSize(params);
  const o = size * i;
  state[o] = 0;
  state[o + 1] = episode;
  state.fill(0, o + 2, o + 2 + countSlots(params));
  for (let shoe = 0; shoe < shoes; shoe++) {
    const s = o + 2 + countSlots(params) + cards * shoe;
    for (let j = 0; j < cards; j++) state[s + j] = j;
    for (let j = cards - 1; j >= 1; j--) {
      const bits = counterBits(seed, episode, cards * (shoes * i + shoe) + j);
      const r = Math.floor(bits * (j + 1) / 16777216);
      const swap = state[s + j];
      state[s + j] = state[s + r];
      state[s + r] = swap;
    }
  }
  // CountRecall counts the value card it shows.
  if (params.game === "count-recall") state[o + 2 + kindOf(state[o + 2 + params.kinds], params)]++;
}

/** `[count, stateSize]`: every copy at the start of its episode 0. */
export function initialCardGameF32(count: number, params: CardGameStepParams): Float32Array {
  const state = new Float32Array(cardStateSize(params) * count);
  for (let i = 0; i < count; i++) resetCardGameF32(state, i, 0, params);
  return state;
}

/** Writes copy i's observation of deal `t` (0-based) at `out[size · i]`. */
export function observeCardGameF32(
  state: Float32Array,
  i: number,
  out: Float32Array,
  params: CardGameStepParams,
): void {
  const size = cardObservationSize(params), o = cardStateSize(params) * i;
  const t = state[o], shoe = o + 2 + countSlots(params);
  out.fill(0, size * i, size * (i + 1));
  if (params.game === "count-recall") {
    out[size * i + kindOf(state[shoe + t], params)] = 1;
    out[size * i + params.kinds + kindOf(state[shoe + params.cards + t], params)] = 1;
  } else out[size * i + kindOf(state[shoe + t], params)] = 1;
}

/** What one step of every copy gives. */
export interface CardGameStepArrays {
  /** `[N, size]`: after the step, the first observation of a new episode where one ended. */
  observations: Float32Array;
  /** `[N]`: ±scale where the step was scored, 0 before RepeatPrevious's lag. */
  rewards: Float32Array;
  /** `[N]`: 1 where the shoe ran out on this step. */
  terminated: Float32Array;
  /** `[N, size]`: where an episode ended, the observation it ended on; elsewhere 0. */
  finalObservations: Float32Array;
}

/**
 * Steps every copy in place and autoresets those whose shoe runs out.
 *
 * @throws {RangeError} For an action that is not one of the game's (the WGSL kernel makes that
 * copy's reward NaN instead).
 */
export function stepCardGameF32(
  state: Float32Array,
  actions: ArrayLike<number>,
  params: CardGameStepParams,
): CardGameStepArrays {
  const n = actions.length, size = cardObservationSize(params), stateSize = cardStateSize(params);
  if (state.length !== stateSize * n) {
    throw new RangeError(
      `Cannot step card-game copies: a state of ${state.length} values for ${n} actions`,
    );
  }
  const out: CardGameStepArrays = {
    observations: new Float32Array(n * size),
    rewards: new Float32Array(n),
    terminated: new Float32Array(n),
    finalObservations: new Float32Array(n * size),
  };
  const scale = cardRewardScale(params), actionCount = cardActionCount(params);
  const { cards, lag } = params, counts = countSlots(params);
  for (let i = 0; i < n; i++) {
    const a = actions[i];
    if (!(Number.isInteger(a) && a >= 0 && a < actionCount)) {
      throw new RangeError(
        `Cannot step ${params.game} copy ${i}: action is ${a}, expected an integer in 0..${
          actionCount - 1
        }`,
      );
    }
    const o = stateSize * i, shoe = o + 2 + counts;
    const t = state[o] + 1;
    state[o] = t;
    let reward: number;
    if (params.game === "count-recall") {
      const answer = state[o + 2 + kindOf(state[shoe + cards + t - 1], params)];
      state[o + 2 + kindOf(state[shoe + t], params)]++;
      reward = a === answer ? scale : -scale;
    } else {
      reward = t >= lag ? (a === kindOf(state[shoe + t - lag], params) ? scale : -scale) : 0;
    }
    out.rewards[i] = reward;
    if (t === cards - 1) {
      out.terminated[i] = 1;
      observeCardGameF32(state, i, out.finalObservations, params);
      resetCardGameF32(state, i, state[o + 1] + 1, params);
    }
    observeCardGameF32(state, i, out.observations, params);
  }
  return out;
}
