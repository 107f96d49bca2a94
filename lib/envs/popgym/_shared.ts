/**
 * What every POPGym environment shares (internal): the difficulty option, the base class that
 * owns the RNG, the episode bookkeeping, the previous-action observation and the snapshots, the
 * card deck, and the checks that read a saved state back.
 *
 * @module
 */

import type { JsonObject, JsonValue } from "../../io/json.ts";
import { Rng, type RngState } from "../../io/rng.ts";
import type { Env, ResetOptions, ResetResult, StepResult } from "../env.ts";

/** POPGym's three levels of every environment. */
export type PopgymDifficulty = "easy" | "medium" | "hard";

/** The difficulties, easiest first. */
export const POPGYM_DIFFICULTIES: readonly PopgymDifficulty[] = ["easy", "medium", "hard"];

/** The options every POPGym environment takes. */
export interface PopgymOptions {
  /** The level (default "easy"). */
  difficulty?: PopgymDifficulty;
  /** The seed of the environment's RNG (default 0); `reset({ seed })` reseeds it. */
  seed?: number;
  /**
   * Append the previous action to the observation, as POPGym's `PreviousAction` wrapper does
   * (default false): a one-hot of the action, or for a board game one one-hot of its row and one of
   * its column; after `reset` it shows the null action 0, which looks the same as action 0.
   */
  observePreviousAction?: boolean;
}

/** The info of an environment without a win: nothing. */
export type NoInfo = Record<string, never>;

/** Checks a difficulty and returns it (default "easy"). */
export function difficultyOf(name: string, difficulty: unknown): PopgymDifficulty {
  const value = difficulty ?? "easy";
  if (!POPGYM_DIFFICULTIES.includes(value as PopgymDifficulty)) {
    throw new RangeError(
      `Cannot create ${name}: difficulty is "${value}", expected "easy", "medium" or "hard"`,
    );
  }
  return value as PopgymDifficulty;
}

/** The sizes of an environment, which its subclass fixes in the constructor. */
export interface PopgymSpec {
  /** POPGym's command-line name, such as "repeat-previous-easy". */
  id: string;
  /** The length of the game's own observation (before the previous action). */
  gameSize: number;
  /** The number of discrete actions. */
  actionCount: number;
  /**
   * How POPGym's action space factors the flat action, for the previous-action observation:
   * `[rows, columns]` for a board's `row · columns + column`; default `[actionCount]`.
   */
  actionFactors?: readonly number[];
}

/** What a game's step returns to {@linkcode PopgymEnv}. */
export interface PopgymOutcome<Info> {
  /** The reward of the step. */
  reward: number;
  /** True when the game reached its end. */
  terminated: boolean;
  /** True when the game ran out of time. */
  truncated: boolean;
  /** The step's info. */
  info: Info;
}

/**
 * The base of every POPGym environment: it checks actions, counts steps, refuses to step an
 * ended episode, appends the previous action, and saves and restores the state. A game fills in
 * `begin` (a new episode: draw from `rng`, write the first observation), `play` (one action:
 * write the next observation, say what it earned), and the game part of the snapshot.
 *
 * Observations are `[game observation, previous action]`: the game writes
 * `out[0 .. gameSize)`, and with `observePreviousAction` the base writes the one-hots after it.
 */
export abstract class PopgymEnv<Info> implements Env<Info> {
  /** POPGym's command-line name of this game and level, such as "repeat-previous-easy". */
  readonly id: string;
  /** The length of every observation. */
  readonly observationSize: number;
  /** The number of discrete actions. */
  readonly actionCount: number;
  /** The level. */
  readonly difficulty: PopgymDifficulty;
  /** Whether the observation ends with the previous action. */
  readonly observePreviousAction: boolean;
  /** The seed the environment was created with (its copies start from it too). */
  readonly seed: number;
  /** Steps taken in the current episode. */
  elapsedSteps = 0;

  /** The environment's one RNG; `reset({ seed })` replaces it. */
  protected rng: Rng;
  #name: string;
  #gameSize: number;
  #factors: readonly number[];
  #started = false;
  #ended = true;

  /** Sets the sizes; a subclass calls it first, with its class name for error messages. */
  protected constructor(name: string, spec: PopgymSpec, options: PopgymOptions) {
    const seed = options.seed ?? 0;
    if (!Number.isFinite(seed)) throw new RangeError(`Cannot create ${name}: seed is ${seed}`);
    this.#name = name;
    this.id = spec.id;
    this.difficulty = difficultyOf(name, options.difficulty);
    this.observePreviousAction = options.observePreviousAction ?? false;
    this.seed = seed;
    this.rng = new Rng(seed);
    this.actionCount = spec.actionCount;
    this.#gameSize = spec.gameSize;
    this.#factors = spec.actionFactors ?? [spec.actionCount];
    const extra = this.observePreviousAction ? this.#factors.reduce((a, b) => a + b, 0) : 0;
    this.observationSize = spec.gameSize + extra;
  }

  /** Starts a new episode; `seed` reseeds the RNG first (do that once, at the start). */
  reset(options: ResetOptions = {}): ResetResult<Info> {
    if (options.seed !== undefined) {
      this.rng = new Rng(options.seed);
      this.reseeded();
    }
    const observation = new Float32Array(this.observationSize);
    const info = this.begin(observation);
    this.#writePreviousAction(observation, 0);
    this.elapsedSteps = 0;
    this.#started = true;
    this.#ended = false;
    return { observation, info };
  }

  /** Plays one action; a RangeError for an action that is not an integer in range. */
  step(action: number): StepResult<Info> {
    if (!(Number.isInteger(action) && action >= 0 && action < this.actionCount)) {
      throw new RangeError(
        `Cannot step ${this.#name}: action is ${action}, expected an integer in 0..${
          this.actionCount - 1
        }`,
      );
    }
    if (this.#ended) {
      throw new Error(
        this.#started
          ? `Cannot step ${this.#name}: the episode has ended; call reset() first`
          : `Cannot step ${this.#name}: call reset() before the first step`,
      );
    }
    const observation = new Float32Array(this.observationSize);
    this.elapsedSteps++;
    const { reward, terminated, truncated, info } = this.play(action, observation);
    this.#writePreviousAction(observation, action);
    this.#ended = terminated || truncated;
    return { observation, reward, terminated, truncated, info };
  }

  /** Everything that determines the rest of the run, RNG included, as JSON. */
  getState(): JsonObject {
    const rng = this.rng.getState();
    return {
      id: this.id,
      elapsedSteps: this.elapsedSteps,
      started: this.#started,
      ended: this.#ended,
      rng: { words: rng.words, spareNormal: rng.spareNormal },
      game: this.saveGame(),
    };
  }

  /** Restores a state from `getState`; a TypeError (and no change) for anything else. */
  setState(saved: JsonValue): void {
    const s = new SavedState(this.#name, saved);
    if (s.value("id") !== this.id) s.fail("id", `it is not "${this.id}"`);
    const elapsedSteps = s.int("elapsedSteps", 0, Number.MAX_SAFE_INTEGER);
    const started = s.bool("started");
    const ended = s.bool("ended");
    const rng = s.rng("rng");
    this.loadGame(s.object("game"), elapsedSteps);
    this.rng = rng;
    this.elapsedSteps = elapsedSteps;
    this.#started = started;
    this.#ended = ended;
  }

  /** A new environment with the same settings and an RNG of its own. */
  abstract clone(): PopgymEnv<Info>;

  /** Draws a new episode and writes its first observation into `out[0 .. gameSize)`. */
  protected abstract begin(out: Float32Array): Info;

  /** Plays a valid action (`elapsedSteps` already counts it) and writes the next observation. */
  protected abstract play(action: number, out: Float32Array): PopgymOutcome<Info>;

  /** The game's part of the state, as JSON. */
  protected abstract saveGame(): JsonObject;

  /**
   * Checks the game's part of a saved state and, only if all of it is sound, restores it;
   * `elapsedSteps` is the saved step count, for consistency checks.
   */
  protected abstract loadGame(saved: SavedState, elapsedSteps: number): void;

  /** Called after `reset({ seed })` replaced the RNG (for a game that keeps a stream of its own). */
  protected reseeded(): void {}

  /** The options that recreate this environment, for `clone`. */
  protected options(): PopgymOptions {
    return {
      difficulty: this.difficulty,
      seed: this.seed,
      observePreviousAction: this.observePreviousAction,
    };
  }

  #writePreviousAction(out: Float32Array, action: number): void {
    if (!this.observePreviousAction) return;
    // Mixed radix, last factor fastest: a board's row-major cell is (row, column).
    let offset = this.#gameSize;
    let rest = action;
    let stride = this.actionCount;
    for (const size of this.#factors) {
      stride /= size;
      const digit = Math.floor(rest / stride);
      rest -= digit * stride;
      out[offset + digit] = 1;
      offset += size;
    }
  }
}

/** The number of cards in one deck. */
export const DECK_SIZE = 52;

/**
 * A card is a number in `0 .. 52·decks)`, laid out as POPGym's deck lays out its cards: suit
 * `card % 4` (♠ ♦ ♣ ♥), rank `⌊card / 4⌋ % 13` (A, 2, …, 10, J, Q, K), colour `card % 2`.
 */
export function suitOf(card: number): number {
  return card % 4;
}

/** The rank of a card, 0 (ace) to 12 (king); see {@linkcode suitOf}. */
export function rankOf(card: number): number {
  return Math.floor(card / 4) % 13;
}

/** The colour of a card, 0 or 1; see {@linkcode suitOf}. */
export function colorOf(card: number): number {
  return card % 2;
}

/** A shuffled shoe of `decks` decks: a uniform permutation of `0 .. 52·decks)`. */
export function shuffledDeck(rng: Rng, decks: number): number[] {
  return rng.shuffle(Array.from({ length: DECK_SIZE * decks }, (_, i) => i));
}

/**
 * Reads a saved state, throwing a TypeError that names the owner and the field for anything that
 * is not what `getState` writes.
 */
export class SavedState {
  readonly #owner: string;
  readonly #object: Record<string, unknown>;

  /** Wraps a saved value; it must be a plain object. */
  constructor(owner: string, value: unknown) {
    this.#owner = owner;
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError(`Cannot restore ${owner}: the saved state is not an object`);
    }
    this.#object = value as Record<string, unknown>;
  }

  /** Throws the TypeError for a malformed field. */
  fail(key: string, why: string): never {
    throw new TypeError(`Cannot restore ${this.#owner}: ${key} is malformed: ${why}`);
  }

  /** A field as it is. */
  value(key: string): unknown {
    return this.#object[key];
  }

  /** A boolean field. */
  bool(key: string): boolean {
    const v = this.#object[key];
    if (typeof v !== "boolean") this.fail(key, "expected a boolean");
    return v;
  }

  /** A finite number field. */
  number(key: string): number {
    const v = this.#object[key];
    if (typeof v !== "number" || !Number.isFinite(v)) this.fail(key, "expected a finite number");
    return v;
  }

  /** An integer field in `min..max`. */
  int(key: string, min: number, max: number): number {
    const v = this.#object[key];
    if (!isIntIn(v, min, max)) this.fail(key, `expected an integer in ${min}..${max}`);
    return v as number;
  }

  /** An array of integers in `min..max`, of the given length (any length when omitted). */
  ints(key: string, min: number, max: number, length?: number): number[] {
    const v = this.#object[key];
    if (!Array.isArray(v) || (length !== undefined && v.length !== length)) {
      this.fail(key, `expected an array${length === undefined ? "" : ` of ${length}`}`);
    }
    if (!v.every((x) => isIntIn(x, min, max))) {
      this.fail(key, `expected integers in ${min}..${max}`);
    }
    return v.slice();
  }

  /** An array of numbers in [min, max], of the given length. */
  numbers(key: string, min: number, max: number, length: number): number[] {
    const v = this.#object[key];
    if (!Array.isArray(v) || v.length !== length) this.fail(key, `expected an array of ${length}`);
    if (!v.every((x) => typeof x === "number" && x >= min && x <= max)) {
      this.fail(key, `expected numbers in [${min}, ${max}]`);
    }
    return v.slice();
  }

  /** A permutation of `0 .. n)`. */
  permutation(key: string, n: number): number[] {
    const v = this.ints(key, 0, n - 1, n);
    const seen = new Uint8Array(n);
    for (const x of v) {
      if (seen[x]) this.fail(key, `expected a permutation of 0..${n - 1}`);
      seen[x] = 1;
    }
    return v;
  }

  /** A nested object field. */
  object(key: string): SavedState {
    const v = this.#object[key];
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      this.fail(key, "expected an object");
    }
    return new SavedState(this.#owner, v);
  }

  /** A saved {@linkcode Rng}, as a new generator. */
  rng(key: string): Rng {
    const rng = new Rng(0);
    try {
      rng.setState(this.#object[key] as RngState);
    } catch (error) {
      this.fail(key, (error as Error).message);
    }
    return rng;
  }
}

function isIntIn(x: unknown, min: number, max: number): boolean {
  return typeof x === "number" && Number.isInteger(x) && x >= min && x <= max;
}
