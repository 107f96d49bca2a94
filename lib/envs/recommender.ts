/**
 * A simulated recommender: sessions of a user who is shown one item a step and clicks or not, in
 * the spirit of Google RecSim's interest-evolution environment (Ie et al., 2019), written for
 * rnnrl. The point of the design is that a recommender that maximises the next click and one
 * that looks ahead differ: the items that are most likely to be clicked are not the ones that
 * keep the user around.
 *
 * - **Catalogue** (fixed by `catalogueSeed`, the same in every copy and every session): N items,
 *   each with a unit topic vector `v_i` in R^d, a quality `q_i` uniform in [0, 1), and an appeal
 *   `a_i = appeal · (1 − 2q_i) + N(0, appealNoise²)`: on average the low-quality items are the
 *   "clickbait", easier to click and worth less once clicked.
 * - **User** (drawn at every reset from the session RNG): a unit interest vector `u` in R^d, and
 *   a time budget that starts at `budget`.
 * - **Click model**: recommending item i is clicked with probability
 *   `σ(matchWeight · u·v_i + a_i + clickBias − fatigue · r_i)`, with `r_i` the number of times i
 *   is among the last `historyLength` recommendations (repeats tire). It grows with the match
 *   `u·v_i` and the appeal, and falls with repeats.
 * - **Budget**: every step costs 1 unit of the user's time; a click on item i gives back
 *   `refill · q_i` (a satisfying item makes the user stay longer). The session terminates when the
 *   budget reaches 0 or below, and is truncated after `maxSteps` steps, so an episode lasts between
 *   `ceil(budget)` and `maxSteps` steps.
 * - **Interest drift**: a click on item i moves the interest towards what was consumed,
 *   `u ← normalise(u + drift · (v_i − u))`.
 * - **Reward**: 1 for a click, else 0 (engagement).
 *
 * A myopic recommender, even one that knows `u` ({@linkcode Recommender.clickProbabilities}, an
 * oracle), shows the most clickable items, whose clicks refill little: its sessions end after
 * about `budget` steps. A far-sighted one trades a little click probability now for quality that
 * keeps the session going, and has to find out what the user likes from the clicks alone.
 *
 * The observation is the recent history, laid out for a network whose first layer is an
 * `Embedding` over its first `historyLength` entries (`embedding: { ids: historyLength }`):
 *
 * | entries        | what                                                               |
 * | -------------- | ------------------------------------------------------------------ |
 * | `0 … H − 1`    | the ids of the last H recommendations, newest first: item i as the |
 * |                | float i + 1, and 0 for an empty slot (the session's first steps)   |
 * | `H … 2H − 1`   | their clicks, in the same order: 1 clicked, 0 not (or empty)       |
 *
 * so the id vocabulary is N + 1 (0 is "nothing yet"). The user's interest and budget are hidden.
 *
 * @example
 * ```ts
 * import { Recommender } from "@rnnrl/rnnrl";
 * const env = new Recommender({ items: 10, seed: 1 });
 * let { observation } = env.reset();
 * let clicks = 0;
 * for (;;) {
 *   const p = env.clickProbabilities(); // the oracle: true click probabilities
 *   const step = env.step(p.indexOf(Math.max(...p)));
 *   clicks += step.reward;
 *   observation = step.observation;
 *   if (step.terminated || step.truncated) break;
 * }
 * if (observation[0] < 1 || clicks < 0) throw new Error("the newest id comes first");
 * ```
 *
 * @module
 */

import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng } from "../io/rng.ts";
import { rngJson, SavedState } from "./_snapshot.ts";
import type { Env, ResetOptions, ResetResult, StepResult } from "./env.ts";

/** The constants of the user model, with their defaults in {@linkcode RECOMMENDER_MODEL}. */
export interface RecommenderModel {
  /** How strongly the match `u·v_i` (in [−1, 1]) moves the click logit. */
  matchWeight: number;
  /** The scale of the appeal term: `appeal · (1 − 2q)` runs from `appeal` to `−appeal`. */
  appeal: number;
  /** The standard deviation of the appeal's item-to-item noise. */
  appealNoise: number;
  /** Added to every click logit. */
  clickBias: number;
  /** Subtracted from the logit per repeat of the item in the recent history. */
  fatigue: number;
  /** The budget a session starts with (steps without clicks). */
  budget: number;
  /** A click on item i gives back `refill · q_i` of budget. */
  refill: number;
  /** How far a click moves the interest towards the item's topic, in [0, 1]. */
  drift: number;
  /** The time limit of a session, in steps. */
  maxSteps: number;
}

/**
 * The default user model: a click at a perfect match with a neutral item is likely (σ(2.5) ≈ 0.92
 * before the appeal), a quality-1 item clicked gives back 2 steps of budget, clickbait almost
 * nothing, a click moves the interest a fifth of the way to the item's topic, and sessions are
 * capped at 100 steps.
 */
export const RECOMMENDER_MODEL: Readonly<RecommenderModel> = Object.freeze({
  matchWeight: 3,
  appeal: 1.5,
  appealNoise: 0.3,
  clickBias: -0.5,
  fatigue: 0.7,
  budget: 10,
  refill: 2,
  drift: 0.2,
  maxSteps: 100,
});

/** Options of {@linkcode Recommender}. */
export interface RecommenderOptions {
  /** The catalogue's size N: the number of actions (default 20). */
  items?: number;
  /** The dimension d of interests and topics (default 4). */
  interestDimension?: number;
  /** The recommendations the observation shows, H (default 8); also the fatigue window. */
  historyLength?: number;
  /** The seed of the catalogue (default 0): fixed for every copy and every session. */
  catalogueSeed?: number;
  /** Overrides of {@linkcode RECOMMENDER_MODEL}. */
  model?: Partial<RecommenderModel>;
  /** The seed of the sessions' RNG (default 0); `reset({ seed })` reseeds it. */
  seed?: number;
}

/** The recommender's info: whether the recommendation was clicked. */
export type RecommenderInfo = {
  /** True when the step's item was clicked (false after reset). */
  clicked: boolean;
};

/** The catalogue of a recommender: every item's topic, quality and appeal. */
export interface RecommenderCatalogue {
  /** `[N, d]` unit topic vectors, row-major. */
  readonly topics: Float64Array;
  /** `[N]` qualities in [0, 1). */
  readonly quality: Float64Array;
  /** `[N]` appeal terms of the click logit. */
  readonly appeal: Float64Array;
}

/** Interests drawn for {@linkcode Recommender.popularity}'s average. */
const POPULARITY_USERS = 4096;

/**
 * The recommender environment (see the module documentation for the model and the observation).
 */
export class Recommender implements Env<RecommenderInfo> {
  /** "recommender". */
  readonly id: string = "recommender";
  /** 2H: the last H item ids, then their clicks. */
  readonly observationSize: number;
  /** N: recommend one item. */
  readonly actionCount: number;
  /** The catalogue's size N. */
  readonly items: number;
  /** The dimension d of interests and topics. */
  readonly interestDimension: number;
  /** The history H the observation shows. */
  readonly historyLength: number;
  /** The catalogue's seed. */
  readonly catalogueSeed: number;
  /** The user model. */
  readonly model: Readonly<RecommenderModel>;
  /** The id vocabulary of the observation's first H entries: N + 1 (0 is an empty slot). */
  readonly vocabulary: number;
  /** Steps taken in the current session. */
  elapsedSteps = 0;
  readonly #catalogue: RecommenderCatalogue;
  #rng: Rng;
  #interest: Float64Array;
  #budget = 0;
  #history: Int32Array; // item ids, newest first; −1 for an empty slot
  #clicks: Uint8Array;
  #ended = true;
  #popularity: Float64Array | null = null;

  /** Builds the catalogue; call {@linkcode Recommender.reset} to start a session. */
  constructor(options: RecommenderOptions = {}) {
    const items = options.items ?? 20;
    const d = options.interestDimension ?? 4;
    const H = options.historyLength ?? 8;
    const catalogueSeed = options.catalogueSeed ?? 0;
    for (
      const [name, value, min] of [["items", items, 2], ["interestDimension", d, 1], [
        "historyLength",
        H,
        1,
      ]] as const
    ) {
      if (!(Number.isSafeInteger(value) && value >= min)) {
        throw new RangeError(
          `Cannot create Recommender: ${name} is ${value}, expected an integer >= ${min}`,
        );
      }
    }
    if (!Number.isSafeInteger(catalogueSeed)) {
      throw new RangeError(
        `Cannot create Recommender: catalogueSeed is ${catalogueSeed}, expected an integer`,
      );
    }
    this.model = checkModel({ ...RECOMMENDER_MODEL, ...options.model });
    this.items = items;
    this.interestDimension = d;
    this.historyLength = H;
    this.catalogueSeed = catalogueSeed;
    this.actionCount = items;
    this.observationSize = 2 * H;
    this.vocabulary = items + 1;
    this.#catalogue = drawCatalogue(items, d, this.model, new Rng(catalogueSeed));
    this.#rng = new Rng(options.seed ?? 0);
    this.#interest = new Float64Array(d);
    this.#history = new Int32Array(H).fill(-1);
    this.#clicks = new Uint8Array(H);
  }

  /** A copy of the catalogue (topics, qualities, appeals). */
  get catalogue(): RecommenderCatalogue {
    const c = this.#catalogue;
    return { topics: c.topics.slice(), quality: c.quality.slice(), appeal: c.appeal.slice() };
  }

  /** A new recommender with the same catalogue and model (for vector training); reseed it. */
  clone(): Recommender {
    return new Recommender({
      items: this.items,
      interestDimension: this.interestDimension,
      historyLength: this.historyLength,
      catalogueSeed: this.catalogueSeed,
      model: this.model,
    });
  }

  /** Draws a new user (an interest, a full budget) and shows an empty history. */
  reset(options: ResetOptions = {}): ResetResult<RecommenderInfo> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    unitVector(this.#rng, this.#interest);
    this.#budget = this.model.budget;
    this.#history.fill(-1);
    this.#clicks.fill(0);
    this.elapsedSteps = 0;
    this.#ended = false;
    return { observation: this.#observation(), info: { clicked: false } };
  }

  /** Recommends item `action`; throws a RangeError unless it is an integer in 0..N − 1. */
  step(action: number): StepResult<RecommenderInfo> {
    if (!(Number.isInteger(action) && action >= 0 && action < this.items)) {
      throw new RangeError(
        `Cannot step Recommender: action is ${action}, expected an integer in 0..${this.items - 1}`,
      );
    }
    if (this.#ended) {
      throw new Error("Cannot step Recommender: the session has ended; call reset() first");
    }
    const m = this.model, c = this.#catalogue, d = this.interestDimension;
    const clicked = this.#rng.uniform() < this.#probability(action);
    this.#budget -= 1;
    if (clicked) {
      this.#budget += m.refill * c.quality[action];
      const u = this.#interest;
      for (let k = 0; k < d; k++) u[k] += m.drift * (c.topics[action * d + k] - u[k]);
      normalise(u);
    }
    this.#history.copyWithin(1, 0);
    this.#clicks.copyWithin(1, 0);
    this.#history[0] = action;
    this.#clicks[0] = clicked ? 1 : 0;
    this.elapsedSteps++;
    const terminated = this.#budget <= 0;
    const truncated = !terminated && this.elapsedSteps >= m.maxSteps;
    this.#ended = terminated || truncated;
    return {
      observation: this.#observation(),
      reward: clicked ? 1 : 0,
      terminated,
      truncated,
      info: { clicked },
    };
  }

  /**
   * The oracle: the true probability that each item would be clicked if recommended now, `[N]`,
   * from the hidden interest and the history. An agent never sees it; the myopic baseline (and
   * tests) read it.
   */
  clickProbabilities(): Float64Array {
    const out = new Float64Array(this.items);
    for (let i = 0; i < this.items; i++) out[i] = this.#probability(i);
    return out;
  }

  /**
   * Each item's popularity: its click probability with an empty history, averaged over 4096
   * interests drawn as users are (from a generator seeded by the catalogue's seed, so it is the
   * same for every copy). The "most popular" baseline ranks items by it.
   */
  popularity(): Float64Array {
    if (!this.#popularity) {
      const rng = new Rng((this.catalogueSeed ^ 0x7f4a7c15) >>> 0);
      const u = new Float64Array(this.interestDimension), sum = new Float64Array(this.items);
      for (let n = 0; n < POPULARITY_USERS; n++) {
        unitVector(rng, u);
        for (let i = 0; i < this.items; i++) sum[i] += sigmoid(this.#logit(u, i, 0));
      }
      this.#popularity = sum.map((s) => s / POPULARITY_USERS);
    }
    return this.#popularity.slice();
  }

  /** The budget left (hidden from the agent; for tests and analysis). */
  get budget(): number {
    return this.#budget;
  }

  /** A copy of the user's interest vector (hidden from the agent; for tests and analysis). */
  get interest(): Float64Array {
    return this.#interest.slice();
  }

  /**
   * Everything that determines the rest of the session and the next ones, as JSON: the interest,
   * the budget, the history, the step counter, whether the session ended, and the RNG. The
   * catalogue and the model are the constructor's.
   */
  getState(): JsonObject {
    return {
      interest: Array.from(this.#interest),
      budget: this.#budget,
      history: Array.from(this.#history),
      clicks: Array.from(this.#clicks),
      elapsedSteps: this.elapsedSteps,
      ended: this.#ended,
      rng: rngJson(this.#rng),
    };
  }

  /**
   * Restores a state from {@linkcode Recommender.getState} of a recommender of the same sizes;
   * throws a TypeError for anything else and then leaves the recommender as it was.
   */
  setState(saved: JsonValue): void {
    const s = new SavedState("Recommender", saved);
    const H = this.historyLength;
    const interest = s.numbers("interest", this.interestDimension, -1, 1);
    const budget = s.number("budget", -Infinity, this.#maxBudget());
    const history = s.numbers("history", H, -1, this.items - 1);
    s.check(history.every(Number.isInteger));
    const clicks = s.bits("clicks", H);
    s.check(history.every((id, k) => id >= 0 || clicks[k] === 0));
    const elapsedSteps = s.count("elapsedSteps", this.model.maxSteps);
    const ended = s.flag("ended");
    s.check(ended || (elapsedSteps < this.model.maxSteps && budget > 0));
    const rng = s.rng();
    this.#interest.set(interest);
    this.#budget = budget;
    this.#history.set(history);
    this.#clicks.set(clicks);
    this.elapsedSteps = elapsedSteps;
    this.#ended = ended;
    this.#rng = rng;
  }

  /** The most budget a session can hold: the start plus a full refill every step. */
  #maxBudget(): number {
    return this.model.budget + this.model.maxSteps * this.model.refill;
  }

  /** The click logit of item i for interest u with `repeats` of i in the history. */
  #logit(u: Float64Array, i: number, repeats: number): number {
    const m = this.model, c = this.#catalogue, d = this.interestDimension;
    let match = 0;
    for (let k = 0; k < d; k++) match += u[k] * c.topics[i * d + k];
    return m.matchWeight * match + c.appeal[i] + m.clickBias - m.fatigue * repeats;
  }

  #probability(i: number): number {
    let repeats = 0;
    for (const id of this.#history) if (id === i) repeats++;
    return sigmoid(this.#logit(this.#interest, i, repeats));
  }

  #observation(): Float32Array {
    const H = this.historyLength, out = new Float32Array(2 * H);
    for (let k = 0; k < H; k++) {
      out[k] = this.#history[k] + 1;
      out[H + k] = this.#clicks[k];
    }
    return out;
  }
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Fills `out` with a uniformly random unit vector. */
function unitVector(rng: Rng, out: Float64Array): void {
  do {
    for (let k = 0; k < out.length; k++) out[k] = rng.normal();
  } while (!normalise(out));
}

/** Scales `v` to unit length; false when it is (nearly) zero. */
function normalise(v: Float64Array): boolean {
  let norm = 0;
  for (let k = 0; k < v.length; k++) norm += v[k] * v[k];
  norm = Math.sqrt(norm);
  if (!(norm > 1e-12)) return false;
  for (let k = 0; k < v.length; k++) v[k] /= norm;
  return true;
}

/** The catalogue: topics, then qualities, then appeals, in that order from `rng`. */
function drawCatalogue(
  items: number,
  d: number,
  model: RecommenderModel,
  rng: Rng,
): RecommenderCatalogue {
  const topics = new Float64Array(items * d);
  for (let i = 0; i < items; i++) unitVector(rng, topics.subarray(i * d, (i + 1) * d));
  const quality = new Float64Array(items).map(() => rng.uniform());
  const appeal = quality.map((q) => model.appeal * (1 - 2 * q) + rng.normal(0, model.appealNoise));
  return { topics, quality, appeal };
}

/** Checks the model's constants and returns a copy. */
function checkModel(m: RecommenderModel): RecommenderModel {
  const finite = [
    "matchWeight",
    "appeal",
    "appealNoise",
    "clickBias",
    "fatigue",
    "budget",
    "refill",
    "drift",
  ] as const;
  for (const key of finite) {
    if (!(typeof m[key] === "number" && Number.isFinite(m[key]))) {
      throw new RangeError(
        `Cannot create Recommender: model.${key} is ${m[key]}, expected a number`,
      );
    }
  }
  const bounds: [keyof RecommenderModel, boolean, string][] = [
    ["appealNoise", m.appealNoise >= 0, ">= 0"],
    ["fatigue", m.fatigue >= 0, ">= 0"],
    ["budget", m.budget > 0, "> 0"],
    ["refill", m.refill >= 0, ">= 0"],
    ["drift", m.drift >= 0 && m.drift <= 1, "in [0, 1]"],
    ["maxSteps", Number.isSafeInteger(m.maxSteps) && m.maxSteps >= 1, "a positive integer"],
  ];
  for (const [key, ok, expected] of bounds) {
    if (!ok) {
      throw new RangeError(
        `Cannot create Recommender: model.${key} is ${m[key]}, expected ${expected}`,
      );
    }
  }
  return { ...m };
}
