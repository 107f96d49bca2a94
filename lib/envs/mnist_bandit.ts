/**
 * The MNIST bandit of Riquelme, Tucker and Snoek ("Deep Bayesian Bandits Showdown", 2018): a
 * contextual bandit whose context is a handwritten digit and whose ten arms are the classes; the
 * arm that names the digit pays 1, every other arm 0.
 *
 * @module
 */

import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng } from "../io/rng.ts";
import { rngJson, SavedState } from "./_snapshot.ts";
import type { Env, ResetOptions, ResetResult, StepResult } from "./env.ts";
import { loadedMnistDigits, MNIST_PIXELS, type MnistDigits } from "./mnist_data.ts";

/** Options of {@linkcode MnistBandit}. */
export interface MnistBanditOptions {
  /** The digits; default: those `loadMnistDigits` (`@rnnrl/rnnrl/run`) loaded. */
  digits?: MnistDigits;
  /** The seed of the environment's RNG (default 0); `reset({ seed })` reseeds it. */
  seed?: number;
}

/** The MNIST bandit's info (a type alias, so it fits the default `Env` info type). */
export type MnistBanditInfo = {
  /** The shown digit's class: the arm that pays. */
  label: number;
  /** Whether the pulled arm was the paying one (false after reset). */
  optimal: boolean;
  /** What the pull missed of the best arm's reward: 1 − reward (0 after reset). */
  regret: number;
};

/**
 * One round per episode: `reset` shows a digit drawn uniformly from the dataset, `step(arm)` pays
 * 1 if the arm is the digit's class, else 0, and ends the episode. The observation is the image,
 * 784 pixels in [0, 1], row-major (a 28×28 single-channel image, channels-last and -first
 * alike). The info's `regret` makes the cumulative regret a sum over episodes.
 *
 * @example
 * ```ts
 * import { MnistBandit } from "@rnnrl/rnnrl";
 * import { loadMnistDigits } from "@rnnrl/rnnrl/run";
 * const env = new MnistBandit({ digits: await loadMnistDigits(), seed: 1 });
 * const { info } = env.reset();
 * const { reward, terminated } = env.step(info.label);
 * if (reward !== 1 || !terminated) throw new Error("naming the digit pays 1 and ends the round");
 * ```
 */
export class MnistBandit implements Env<MnistBanditInfo> {
  /** "mnist-bandit". */
  readonly id: string = "mnist-bandit";
  /** 784 pixels. */
  readonly observationSize: number = MNIST_PIXELS;
  /** Ten arms, one per class. */
  readonly actionCount: number = 10;
  /** The digits shown. */
  readonly digits: MnistDigits;
  #rng: Rng;
  #index = 0;
  #ended = true;

  /**
   * Creates the bandit.
   *
   * @throws {Error} When no digits are given and none are loaded.
   */
  constructor(options: MnistBanditOptions = {}) {
    const digits = options.digits ?? loadedMnistDigits();
    if (!digits) {
      throw new Error(
        "Cannot create MnistBandit: the digits are not loaded; await loadMnistDigits() first",
      );
    }
    this.digits = digits;
    this.#rng = new Rng(options.seed ?? 0);
  }

  /** A new bandit over the same digits (for vector training); reseed it. */
  clone(): MnistBandit {
    return new MnistBandit({ digits: this.digits });
  }

  /** Shows a digit drawn uniformly from the dataset. */
  reset(options: ResetOptions = {}): ResetResult<MnistBanditInfo> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    this.#index = this.#rng.int(this.digits.count);
    this.#ended = false;
    return {
      observation: this.#image(),
      info: { label: this.#label(), optimal: false, regret: 0 },
    };
  }

  /** Names a class; throws a RangeError unless `action` is an integer in 0..9. */
  step(action: number): StepResult<MnistBanditInfo> {
    if (!(Number.isInteger(action) && action >= 0 && action < this.actionCount)) {
      throw new RangeError(
        `Cannot step MnistBandit: action is ${action}, expected an integer in 0..9`,
      );
    }
    if (this.#ended) {
      throw new Error("Cannot step MnistBandit: the round has ended; call reset() first");
    }
    this.#ended = true;
    const label = this.#label();
    const reward = action === label ? 1 : 0;
    return {
      observation: this.#image(),
      reward,
      terminated: true,
      truncated: false,
      info: { label, optimal: reward === 1, regret: 1 - reward },
    };
  }

  /** The shown digit's index, whether its round has ended, and the RNG, as JSON (checkpoints). */
  getState(): JsonObject {
    return { index: this.#index, ended: this.#ended, rng: rngJson(this.#rng) };
  }

  /** Restores {@linkcode MnistBandit.getState}; throws a TypeError for anything else. */
  setState(saved: JsonValue): void {
    const s = new SavedState("MnistBandit", saved);
    const index = s.count("index", this.digits.count - 1);
    const ended = s.flag("ended");
    const rng = s.rng();
    this.#index = index;
    this.#ended = ended;
    this.#rng = rng;
  }

  #image(): Float32Array {
    const at = this.#index * MNIST_PIXELS;
    return this.digits.images.slice(at, at + MNIST_PIXELS);
  }

  #label(): number {
    return this.digits.labels[this.#index];
  }
}
