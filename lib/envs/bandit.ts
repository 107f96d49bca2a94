/**
 * The k-armed bandit of Sutton and Barto (2018), chapter 2: stationary or drifting, with Gaussian
 * or Bernoulli rewards. The default is the 10-armed testbed.
 *
 * @module
 */

import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng } from "../io/rng.ts";
import { rngJson, SavedState } from "./_snapshot.ts";
import type { Env, ResetOptions, ResetResult, StepResult } from "./env.ts";

/** How a pull pays: N(q*, rewardStd²) or 1 with probability q* (else 0). */
export type BanditRewardKind = "gaussian" | "bernoulli";

/** Options of {@linkcode Bandit}. */
export interface BanditOptions {
  /** The number of arms k (default 10). */
  arms?: number;
  /** The reward distribution (default "gaussian"). */
  kind?: BanditRewardKind;
  /** The standard deviation of Gaussian rewards around q* (default 1). */
  rewardStd?: number;
  /**
   * The standard deviation of the random walk that every q* takes after each step (default 0:
   * stationary). Sutton and Barto's exercise 2.5 uses 0.01 with all q* starting equal.
   */
  drift?: number;
  /**
   * How q* is drawn at reset: "normal" (Gaussian kind: N(0, 1), the testbed; Bernoulli kind:
   * uniform in [0, 1)) or "equal" (all 0 for Gaussian, all 0.5 for Bernoulli). Default "normal"
   * when stationary, "equal" when drifting, as in the book.
   */
  initialMeans?: "normal" | "equal";
  /** Episodes are truncated after this many pulls (default 1000, the testbed's run length). */
  maxEpisodeSteps?: number;
  /** The seed of the environment's RNG (default 0); `reset({ seed })` reseeds it. */
  seed?: number;
}

/** The bandit's info (a type alias, so it fits the default `Env` info type). */
export type BanditInfo = {
  /** The best arm (the lowest index among ties) when the action was chosen. */
  optimalArm: number;
  /** Whether the pulled arm's q* equalled the best q* when pulled (false after reset). */
  optimal: boolean;
};

/**
 * A k-armed bandit: every action pulls an arm and pays a reward drawn around its mean q*.
 *
 * Each `reset` draws a fresh problem (new q*), so episodes are the independent runs of the
 * testbed. The observation is what the player saw last: the previous arm one-hot and the reward
 * it paid, `[k arms…, reward]` (all zeros after a reset), so that a policy that only sees
 * observations (a recurrent network, say) can learn within a problem. With `drift > 0`, after every pull each q*
 * takes an independent N(0, drift²) step (Bernoulli means are clipped to [0, 1]); the info's
 * `optimalArm` and `optimal` describe the means the action faced, before the walk. Episodes
 * never terminate; they are truncated after `maxEpisodeSteps` pulls, after which `step` throws
 * until `reset`.
 *
 * @example
 * ```ts
 * import { Bandit } from "@rnnrl/rnnrl";
 * const env = new Bandit({ arms: 10 }); // the 10-armed testbed
 * const { info } = env.reset({ seed: 7 });
 * const { reward, info: after } = env.step(info.optimalArm);
 * if (!after.optimal || !Number.isFinite(reward)) throw new Error("pulled the best arm");
 * ```
 */
export class Bandit implements Env<BanditInfo> {
  /** "bandit". */
  readonly id: string = "bandit";
  /** arms + 1: the previous arm one-hot, then its reward. */
  readonly observationSize: number;
  /** The number of arms. */
  readonly actionCount: number;
  /** The reward distribution. */
  readonly kind: BanditRewardKind;
  /** The time limit in pulls. */
  readonly maxEpisodeSteps: number;
  /** Pulls taken in the current episode. */
  elapsedSteps = 0;

  #means: Float64Array;
  #rewardStd: number;
  #drift: number;
  #initialMeans: "normal" | "equal";
  #rng: Rng;
  #ended = true;

  /** Creates the bandit; call {@linkcode Bandit.reset} to draw the first problem. */
  constructor(options: BanditOptions = {}) {
    const arms = options.arms ?? 10;
    if (!(Number.isInteger(arms) && arms >= 1)) {
      throw new RangeError(`Cannot create Bandit: arms is ${arms}, expected a positive integer`);
    }
    const kind = options.kind ?? "gaussian";
    if (kind !== "gaussian" && kind !== "bernoulli") {
      throw new RangeError(
        `Cannot create Bandit: kind is "${kind}", expected "gaussian" or "bernoulli"`,
      );
    }
    const rewardStd = options.rewardStd ?? 1;
    const drift = options.drift ?? 0;
    if (!(rewardStd >= 0) || !(drift >= 0) || !Number.isFinite(rewardStd + drift)) {
      throw new RangeError(
        `Cannot create Bandit: rewardStd is ${rewardStd} and drift is ${drift}, expected finite >= 0`,
      );
    }
    const initialMeans = options.initialMeans ?? (drift > 0 ? "equal" : "normal");
    if (initialMeans !== "normal" && initialMeans !== "equal") {
      throw new RangeError(
        `Cannot create Bandit: initialMeans is "${initialMeans}", expected "normal" or "equal"`,
      );
    }
    const maxEpisodeSteps = options.maxEpisodeSteps ?? 1000;
    if (!(Number.isInteger(maxEpisodeSteps) && maxEpisodeSteps >= 1)) {
      throw new RangeError(
        `Cannot create Bandit: maxEpisodeSteps is ${maxEpisodeSteps}, expected a positive integer`,
      );
    }
    this.actionCount = arms;
    this.observationSize = arms + 1;
    this.kind = kind;
    this.maxEpisodeSteps = maxEpisodeSteps;
    this.#rewardStd = rewardStd;
    this.#drift = drift;
    this.#initialMeans = initialMeans;
    this.#means = new Float64Array(arms);
    this.#rng = new Rng(options.seed ?? 0);
  }

  /** A copy of the arms' current means q*. */
  get means(): Float64Array {
    return this.#means.slice();
  }

  /** A new bandit with the same options (for vector training); it draws its own problems. */
  clone(): Bandit {
    return new Bandit({
      arms: this.actionCount,
      kind: this.kind,
      rewardStd: this.#rewardStd,
      drift: this.#drift,
      initialMeans: this.#initialMeans,
      maxEpisodeSteps: this.maxEpisodeSteps,
    });
  }

  /** Draws a new problem (new q*) and starts an episode. */
  reset(options: ResetOptions = {}): ResetResult<BanditInfo> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    const rng = this.#rng;
    const bernoulli = this.kind === "bernoulli";
    for (let a = 0; a < this.actionCount; a++) {
      if (this.#initialMeans === "equal") this.#means[a] = bernoulli ? 0.5 : 0;
      else this.#means[a] = bernoulli ? rng.uniform() : rng.normal();
    }
    this.elapsedSteps = 0;
    this.#ended = false;
    return {
      observation: new Float32Array(this.observationSize),
      info: { optimalArm: this.#optimalArm(), optimal: false },
    };
  }

  /** Pulls arm `action`; throws a RangeError unless it is an integer in 0..arms − 1. */
  step(action: number): StepResult<BanditInfo> {
    if (!(Number.isInteger(action) && action >= 0 && action < this.actionCount)) {
      throw new RangeError(
        `Cannot step Bandit: action is ${action}, expected an integer in 0..${
          this.actionCount - 1
        }`,
      );
    }
    if (this.#ended) {
      throw new Error("Cannot step Bandit: the episode has ended; call reset() first");
    }
    const rng = this.#rng;
    const means = this.#means;
    const optimalArm = this.#optimalArm();
    const optimal = means[action] === means[optimalArm];
    const mean = means[action];
    const reward = this.kind === "bernoulli"
      ? (rng.uniform() < mean ? 1 : 0)
      : rng.normal(mean, this.#rewardStd);
    if (this.#drift > 0) {
      for (let a = 0; a < means.length; a++) {
        const next = means[a] + rng.normal(0, this.#drift);
        means[a] = this.kind === "bernoulli" ? Math.min(1, Math.max(0, next)) : next;
      }
    }
    this.elapsedSteps++;
    const truncated = this.elapsedSteps >= this.maxEpisodeSteps;
    this.#ended = truncated;
    const observation = new Float32Array(this.observationSize);
    observation[action] = 1;
    observation[this.actionCount] = reward;
    return {
      observation,
      reward,
      terminated: false,
      truncated,
      info: { optimalArm, optimal },
    };
  }

  /**
   * Everything that determines the rest of the episode and the next ones, as JSON (checkpoints):
   * the arms' means q* as they have drifted, the pull counter, whether the episode has ended, and
   * the RNG (with its pending Gaussian). The options (kind, rewardStd, drift, initialMeans) are
   * the constructor's, as with every environment.
   */
  getState(): JsonObject {
    return {
      means: Array.from(this.#means),
      elapsedSteps: this.elapsedSteps,
      ended: this.#ended,
      rng: rngJson(this.#rng),
    };
  }

  /**
   * Restores a state from {@linkcode Bandit.getState} of a bandit with as many arms; throws a
   * TypeError for anything else (Bernoulli means outside [0, 1] included) and then leaves the
   * bandit as it was.
   */
  setState(saved: JsonValue): void {
    const s = new SavedState("Bandit", saved);
    const bernoulli = this.kind === "bernoulli";
    const means = s.numbers(
      "means",
      this.actionCount,
      bernoulli ? 0 : -Infinity,
      bernoulli ? 1 : Infinity,
    );
    const elapsedSteps = s.count("elapsedSteps", this.maxEpisodeSteps);
    const ended = s.flag("ended");
    s.check(ended || elapsedSteps < this.maxEpisodeSteps);
    const rng = s.rng();
    this.#means.set(means);
    this.elapsedSteps = elapsedSteps;
    this.#ended = ended;
    this.#rng = rng;
  }

  #optimalArm(): number {
    const means = this.#means;
    let best = 0;
    for (let a = 1; a < means.length; a++) if (means[a] > means[best]) best = a;
    return best;
  }
}
