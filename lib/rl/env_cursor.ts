/**
 * Where a training loop stands in one environment: the observation to act on, the episode so far
 * and the episode count, kept across `learn` calls and across a checkpoint. This is the one way
 * every agent puts an environment back where a saved run left it.
 *
 * Seeding, as Gymnasium does it: the first reset takes the seed and later ones continue the
 * environment's own RNG (`reseed: "first"`); or every episode is reset with the next seed of a
 * stream of the cursor's own (`reseed: "every"`, what the tabular and bandit agents do).
 *
 * Restoring, in the first way that applies: an environment with snapshots (`getState` /
 * `setState`) is set to the saved state; otherwise, when the current episode's reset seed is
 * known, the environment is reset with it and the episode's recorded actions are replayed (which
 * must arrive at the saved observation and return); otherwise a fresh episode starts, and `begin`
 * says so, so that the agent drops what it kept of the abandoned one.
 *
 * @module
 */

import type { EnvCore, StepResult } from "../envs/env.ts";
import { canSnapshot, regretOf } from "../envs/env.ts";
import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng, type RngState } from "../io/rng.ts";
import { type AgentArray, findArray, type NamedArrays } from "./state.ts";

/** How a {@linkcode EnvCursor} seeds its resets. */
export type ReseedRule = "first" | "every";

/** Options of {@linkcode EnvCursor}. */
export interface EnvCursorOptions {
  /** The seed of the first reset ("first"), or of the stream of per-episode seeds ("every"). */
  seed: number;
  /** Seed the first reset only (default), or every episode's. */
  reseed?: ReseedRule;
}

/** What {@linkcode EnvCursor.step} returns. */
export interface CursorStep<Info = unknown> {
  /** The environment's result. */
  result: StepResult<Info>;
  /**
   * The finished episode's return and length where this step ended it, else null; and its
   * regret where the environment reports one ({@linkcode regretOf}).
   */
  ended: { return: number; length: number; regret?: number } | null;
}

/**
 * One environment's place in the run.
 *
 * @example
 * ```ts
 * import { CartPole, EnvCursor } from "@rnnrl/rnnrl";
 * const cursor = new EnvCursor({ seed: 7 });
 * cursor.begin(new CartPole());
 * for (const action of [0, 1, 1]) cursor.step(action);
 * const copy = new EnvCursor({ seed: 0 });
 * copy.setState(cursor.getState("env."), "env.");
 * const { observation } = copy.begin(new CartPole()); // a snapshot puts it back
 * if (copy.episodeLength !== 3 || observation.join() !== cursor.observation!.join()) {
 *   throw new Error("the same place in the same episode");
 * }
 * ```
 */
export class EnvCursor {
  /** The observation the next action is taken in; null before the first reset. */
  observation: Float32Array | null = null;
  /** Episodes finished. */
  episodes = 0;
  /** The return of the episode in progress so far. */
  episodeReturn = 0;
  readonly #seed: number;
  readonly #reseed: ReseedRule;
  #seeds: Rng;
  #episodeSeed: number | null = null; // the current episode's reset seed, where known
  #actions: number[] = [];
  #env: EnvCore<unknown> | null = null;
  #pending: JsonValue = null; // the environment's saved snapshot, until `begin` applies it

  /** A cursor that has not reset anything yet. */
  constructor(options: EnvCursorOptions) {
    this.#seed = options.seed >>> 0;
    this.#reseed = options.reseed ?? "first";
    this.#seeds = new Rng(this.#seed);
  }

  /** Steps taken in the episode in progress. */
  get episodeLength(): number {
    return this.#actions.length;
  }

  /** The environment being stepped (after {@linkcode EnvCursor.begin}). */
  get env(): EnvCore<unknown> | null {
    return this.#env;
  }

  /**
   * Makes `env` the environment to step and returns the observation to act on. The first call
   * resets it; an environment other than the last one is restored to where the run stands (see
   * the module documentation). `fresh` is true when a new episode started.
   *
   * @throws {TypeError} When replaying the episode does not arrive where it was saved.
   */
  begin(env: EnvCore<unknown>): { observation: Float32Array; fresh: boolean } {
    let fresh = false;
    if (this.observation === null) {
      this.#startEpisode(env);
      fresh = true;
    } else if (env !== this.#env) {
      if (this.#pending !== null && canSnapshot(env)) {
        env.setState(this.#pending);
      } else if (this.#episodeSeed !== null) {
        this.#replay(env);
      } else {
        this.observation = env.reset({ seed: (this.#seed + this.episodes) >>> 0 }).observation;
        this.episodeReturn = 0;
        this.#actions = [];
        fresh = true;
      }
    }
    this.#pending = null;
    this.#env = env;
    return { observation: this.observation!, fresh };
  }

  /**
   * Takes `action` in the environment of the last {@linkcode EnvCursor.begin}. When the step
   * ends the episode, `ended` gives its return and length and the environment is not yet reset:
   * call {@linkcode EnvCursor.next}.
   */
  step<Info = unknown>(action: number): CursorStep<Info> {
    if (this.#env === null) throw new TypeError("Cannot step: call begin(env) first");
    const result = this.#env.step(action) as StepResult<Info>;
    this.#actions.push(action);
    this.episodeReturn += result.reward;
    this.observation = result.observation;
    if (!(result.terminated || result.truncated)) return { result, ended: null };
    this.episodes++;
    const ended = { return: this.episodeReturn, length: this.#actions.length };
    const regret = regretOf(result.info);
    return { result, ended: regret === undefined ? ended : { ...ended, regret } };
  }

  /** Starts the next episode (after one ended) and returns its first observation. */
  next(): Float32Array {
    if (this.#env === null) throw new TypeError("Cannot start an episode: call begin(env) first");
    this.#startEpisode(this.#env);
    return this.observation!;
  }

  /** The cursor's state: JSON, and the observation and the episode's actions as arrays. */
  getState(prefix: string): NamedArrays<JsonObject> {
    const env = this.#pending ??
      (this.#env && canSnapshot(this.#env) ? this.#env.getState() : null);
    const arrays: AgentArray[] = [{
      name: prefix + "actions",
      shape: [this.#actions.length],
      data: Int32Array.from(this.#actions),
    }];
    if (this.observation) {
      arrays.push({
        name: prefix + "observation",
        shape: [this.observation.length],
        data: this.observation.slice(),
      });
    }
    return {
      json: {
        started: this.observation !== null,
        episodes: this.episodes,
        episodeReturn: this.episodeReturn,
        episodeSeed: this.#episodeSeed,
        seeds: this.#seeds.getState() as unknown as JsonObject,
        env,
      },
      arrays,
    };
  }

  /**
   * Restores a state from {@linkcode EnvCursor.getState}; the next {@linkcode EnvCursor.begin}
   * applies it to the environment it is given.
   *
   * @throws {TypeError} When the state is damaged.
   */
  setState(saved: NamedArrays<JsonValue>, prefix: string): void {
    const j = saved.json as Record<string, unknown> | null;
    const seed = j?.episodeSeed;
    if (
      typeof j !== "object" || j === null || typeof j.started !== "boolean" ||
      !(Number.isInteger(j.episodes) && (j.episodes as number) >= 0) ||
      !Number.isFinite(j.episodeReturn) || !(seed === null || Number.isInteger(seed))
    ) throw new TypeError("Cannot restore the environment's place: the state is damaged");
    const seeds = new Rng(0);
    seeds.setState(j.seeds as unknown as RngState);
    this.#seeds = seeds;
    this.episodes = j.episodes as number;
    this.episodeReturn = j.episodeReturn as number;
    this.#episodeSeed = seed as number | null;
    this.#actions = Array.from(findArray(saved, prefix + "actions", Int32Array));
    this.observation = j.started
      ? findArray(saved, prefix + "observation", Float32Array).slice()
      : null;
    this.#pending = (j.env as JsonValue) ?? null;
    this.#env = null;
  }

  #startEpisode(env: EnvCore<unknown>): void {
    const first = this.observation === null;
    let seed: number | null = null;
    if (this.#reseed === "every") seed = this.#seeds.nextUint32();
    else if (first) seed = this.#seed;
    this.observation = env.reset(seed === null ? {} : { seed }).observation;
    this.#episodeSeed = seed;
    this.episodeReturn = 0;
    this.#actions = [];
  }

  #replay(env: EnvCore<unknown>): void {
    let observation = env.reset({ seed: this.#episodeSeed! }).observation;
    let total = 0, ended = false;
    for (const action of this.#actions) {
      if (ended) break;
      const result = env.step(action);
      total += result.reward;
      observation = result.observation;
      ended = result.terminated || result.truncated;
    }
    const saved = this.observation!;
    const same = !ended && total === this.episodeReturn && observation.length === saved.length &&
      observation.every((x, i) => Object.is(x, saved[i]));
    if (!same) {
      throw new TypeError(
        `Cannot restore the episode: replaying its ${this.#actions.length} actions does not ` +
          "arrive where it was saved (is it another environment?)",
      );
    }
    this.observation = observation;
  }
}
