/**
 * Agents for the k-armed bandit (Sutton & Barto, chapter 2): epsilon-greedy with sample averages
 * or a constant step size and optimistic initial values, UCB, Thompson sampling (Gaussian with
 * known noise, and Beta–Bernoulli) and the gradient bandit with a baseline.
 *
 * Every agent has `act(): number` and `update(action, reward)`, owns one seeded {@linkcode Rng},
 * and saves its whole state (the RNG included) as a plain JSON-serialisable object, so a restored
 * agent continues exactly where the saved one was. Greedy choices break ties uniformly at random:
 * with estimates that start equal, a first-index argmax would make the greedy agent much worse.
 *
 * @example
 * ```ts
 * import { EpsilonGreedy, Rng } from "@rnnrl/rnnrl";
 * const means = [0.1, 0.9, 0.3];
 * const agent = new EpsilonGreedy(3, { epsilon: 0.1, seed: 1 });
 * const noise = new Rng(2);
 * for (let t = 0; t < 500; t++) {
 *   const arm = agent.act();
 *   agent.update(arm, noise.normal(means[arm], 0.1));
 * }
 * const best = agent.values().indexOf(Math.max(...agent.values()));
 * if (best !== 1) throw new Error("the agent should find arm 1");
 * ```
 *
 * @module
 */

import { Rng, type RngState } from "../io/rng.ts";

/**
 * Returns the index of the largest of `length` values starting at `offset`, breaking ties
 * uniformly at random. It draws from `rng` only when there is a tie (one `rng.int(ties)` call), so
 * the stream it consumes is part of an agent's reproducible behaviour.
 *
 * @param values The values to compare (NaN is never chosen unless all are NaN).
 * @param rng The generator that breaks ties.
 * @param offset Where the values start in `values` (default 0).
 * @param length How many values to compare (default: the rest of `values`).
 * @returns The chosen index, relative to `offset`.
 *
 * @example
 * ```ts
 * import { argmaxRandom } from "./bandits.ts";
 * import { Rng } from "../io/rng.ts";
 * const i = argmaxRandom([1, 3, 3, 2], new Rng(0));
 * if (i !== 1 && i !== 2) throw new Error("one of the two maxima");
 * ```
 */
export function argmaxRandom(
  values: ArrayLike<number>,
  rng: Rng,
  offset: number = 0,
  length: number = values.length - offset,
): number {
  let best = -Infinity;
  let ties = 0;
  let first = 0;
  for (let i = 0; i < length; i++) {
    const v = values[offset + i];
    if (v > best) {
      best = v;
      ties = 1;
      first = i;
    } else if (v === best) {
      ties++;
    }
  }
  if (ties <= 1) return first;
  let pick = rng.int(ties);
  for (let i = first; i < length; i++) {
    if (values[offset + i] === best && pick-- === 0) return i;
  }
  return first;
}

/** What every bandit agent offers. */
export interface BanditLearner {
  /** The number of arms, numbered 0..arms − 1. */
  readonly arms: number;
  /** Chooses the arm to pull next. */
  act(): number;
  /** Learns from the reward that `action` earned. */
  update(action: number, reward: number): void;
  /** The agent's current per-arm values (estimates, posterior means or preferences), as a copy. */
  values(): Float64Array;
  /** The whole state as a plain JSON-serialisable object. */
  save(): BanditLearnerState;
  /** Restores a state from {@linkcode BanditLearner.save}; throws a TypeError for one of another kind. */
  load(state: BanditLearnerState): void;
}

/** The saved state of any bandit agent; `kind` says which. */
export type BanditLearnerState =
  | EpsilonGreedyState
  | UcbState
  | GaussianThompsonState
  | BetaThompsonState
  | GradientBanditState;

// ---------------------------------------------------------------------------------------------
// Epsilon-greedy

/** Options of {@linkcode EpsilonGreedy}. */
export interface EpsilonGreedyOptions {
  /** Probability of pulling a uniformly random arm (which may be the greedy one). Default 0.1. */
  epsilon?: number;
  /** Constant step size α in (0, 1], or null for sample averages (step 1/n). Default null. */
  stepSize?: number | null;
  /** Every arm's initial estimate Q₁; large values make the agent explore (optimism). Default 0. */
  initialValue?: number;
  /** Seed of the agent's RNG (exploration and tie-breaking). Default 0. */
  seed?: number;
}

/** The saved state of an {@linkcode EpsilonGreedy} agent. */
export interface EpsilonGreedyState {
  /** Identifies the agent. */
  kind: "epsilon-greedy";
  /** The resolved options. */
  options: Required<EpsilonGreedyOptions>;
  /** The per-arm value estimates. */
  estimates: number[];
  /** How many times each arm was pulled. */
  counts: number[];
  /** The RNG state. */
  rng: RngState;
}

/**
 * Epsilon-greedy action-value agent: with probability ε a uniformly random arm, else the arm with
 * the largest estimate (ties broken at random). Estimates follow Q ← Q + α(R − Q), with α = 1/n
 * (sample averages) or a constant step size.
 *
 * @example
 * ```ts
 * import { EpsilonGreedy } from "@rnnrl/rnnrl";
 * // Optimistic greedy (Sutton & Barto figure 2.3).
 * const agent = new EpsilonGreedy(10, { epsilon: 0, initialValue: 5, stepSize: 0.1 });
 * agent.update(agent.act(), 1);
 * ```
 */
export class EpsilonGreedy implements BanditLearner {
  /** The number of arms. */
  readonly arms: number;
  #options: Required<EpsilonGreedyOptions>;
  #estimates: Float64Array;
  #counts: Float64Array;
  #rng: Rng;

  /** Creates an agent for `arms` arms. */
  constructor(arms: number, options: EpsilonGreedyOptions = {}) {
    checkArms(arms, "EpsilonGreedy");
    this.arms = arms;
    this.#options = {
      epsilon: options.epsilon ?? 0.1,
      stepSize: options.stepSize ?? null,
      initialValue: options.initialValue ?? 0,
      seed: options.seed ?? 0,
    };
    checkProbability(this.#options.epsilon, "EpsilonGreedy", "epsilon");
    checkStepSize(this.#options.stepSize, "EpsilonGreedy");
    checkFinite(this.#options.initialValue, "EpsilonGreedy", "initialValue");
    this.#estimates = new Float64Array(arms).fill(this.#options.initialValue);
    this.#counts = new Float64Array(arms);
    this.#rng = new Rng(this.#options.seed);
  }

  /** Chooses an arm: random with probability ε, else greedy with random tie-breaking. */
  act(): number {
    const epsilon = this.#options.epsilon;
    if (epsilon > 0 && this.#rng.uniform() < epsilon) return this.#rng.int(this.arms);
    return argmaxRandom(this.#estimates, this.#rng);
  }

  /** Moves the arm's estimate towards the reward. */
  update(action: number, reward: number): void {
    checkUpdate(action, reward, this.arms, "EpsilonGreedy");
    const n = ++this.#counts[action];
    const alpha = this.#options.stepSize ?? 1 / n;
    this.#estimates[action] += alpha * (reward - this.#estimates[action]);
  }

  /** The current estimates Q(a), as a copy. */
  values(): Float64Array {
    return this.#estimates.slice();
  }

  /** The whole state as a plain object. */
  save(): EpsilonGreedyState {
    return {
      kind: "epsilon-greedy",
      options: { ...this.#options },
      estimates: Array.from(this.#estimates),
      counts: Array.from(this.#counts),
      rng: this.#rng.getState(),
    };
  }

  /** Restores a state from {@linkcode EpsilonGreedy.save}. */
  load(state: BanditLearnerState): void {
    checkState(state, "epsilon-greedy", this.arms, ["estimates", "counts"]);
    const s = state as EpsilonGreedyState;
    const restored = new EpsilonGreedy(this.arms, s.options);
    restored.#rng.setState(s.rng);
    this.#options = restored.#options;
    this.#estimates.set(s.estimates);
    this.#counts.set(s.counts);
    this.#rng = restored.#rng;
  }
}

// ---------------------------------------------------------------------------------------------
// UCB

/** Options of {@linkcode Ucb}. */
export interface UcbOptions {
  /** Exploration weight c in Q(a) + c·sqrt(ln t / N(a)). Default 2. */
  c?: number;
  /** Constant step size α in (0, 1], or null for sample averages. Default null. */
  stepSize?: number | null;
  /** Every arm's initial estimate (matters only with a constant step size). Default 0. */
  initialValue?: number;
  /** Seed of the agent's RNG (tie-breaking). Default 0. */
  seed?: number;
}

/** The saved state of a {@linkcode Ucb} agent. */
export interface UcbState {
  /** Identifies the agent. */
  kind: "ucb";
  /** The resolved options. */
  options: Required<UcbOptions>;
  /** The per-arm value estimates. */
  estimates: number[];
  /** How many times each arm was pulled. */
  counts: number[];
  /** The number of updates so far (t − 1 at the next choice). */
  steps: number;
  /** The RNG state. */
  rng: RngState;
}

/**
 * Upper-confidence-bound action selection (Sutton & Barto equation 2.10): pulls an arm never tried
 * before if there is one (at random among them), else the arm maximising Q(a) + c·sqrt(ln t / N(a))
 * where t is the current time step, counted from 1.
 *
 * @example
 * ```ts
 * import { Ucb } from "@rnnrl/rnnrl";
 * const agent = new Ucb(4, { c: 2, seed: 3 });
 * const firstFour = new Set<number>();
 * for (let t = 0; t < 4; t++) {
 *   const arm = agent.act();
 *   firstFour.add(arm);
 *   agent.update(arm, 0);
 * }
 * if (firstFour.size !== 4) throw new Error("UCB tries every arm first");
 * ```
 */
export class Ucb implements BanditLearner {
  /** The number of arms. */
  readonly arms: number;
  #options: Required<UcbOptions>;
  #estimates: Float64Array;
  #counts: Float64Array;
  #scores: Float64Array;
  #steps = 0;
  #rng: Rng;

  /** Creates an agent for `arms` arms. */
  constructor(arms: number, options: UcbOptions = {}) {
    checkArms(arms, "Ucb");
    this.arms = arms;
    this.#options = {
      c: options.c ?? 2,
      stepSize: options.stepSize ?? null,
      initialValue: options.initialValue ?? 0,
      seed: options.seed ?? 0,
    };
    if (!(this.#options.c >= 0 && Number.isFinite(this.#options.c))) {
      throw new RangeError(`Cannot create Ucb: c is ${this.#options.c}, expected a finite c ≥ 0`);
    }
    checkStepSize(this.#options.stepSize, "Ucb");
    checkFinite(this.#options.initialValue, "Ucb", "initialValue");
    this.#estimates = new Float64Array(arms).fill(this.#options.initialValue);
    this.#counts = new Float64Array(arms);
    this.#scores = new Float64Array(arms);
    this.#rng = new Rng(this.#options.seed);
  }

  /** Chooses the arm with the largest upper confidence bound (untried arms first). */
  act(): number {
    const logT = Math.log(this.#steps + 1);
    const c = this.#options.c;
    for (let a = 0; a < this.arms; a++) {
      const n = this.#counts[a];
      this.#scores[a] = n === 0 ? Infinity : this.#estimates[a] + c * Math.sqrt(logT / n);
    }
    return argmaxRandom(this.#scores, this.#rng);
  }

  /** Moves the arm's estimate towards the reward and advances the time step. */
  update(action: number, reward: number): void {
    checkUpdate(action, reward, this.arms, "Ucb");
    const n = ++this.#counts[action];
    const alpha = this.#options.stepSize ?? 1 / n;
    this.#estimates[action] += alpha * (reward - this.#estimates[action]);
    this.#steps++;
  }

  /** The current estimates Q(a), as a copy. */
  values(): Float64Array {
    return this.#estimates.slice();
  }

  /** The whole state as a plain object. */
  save(): UcbState {
    return {
      kind: "ucb",
      options: { ...this.#options },
      estimates: Array.from(this.#estimates),
      counts: Array.from(this.#counts),
      steps: this.#steps,
      rng: this.#rng.getState(),
    };
  }

  /** Restores a state from {@linkcode Ucb.save}. */
  load(state: BanditLearnerState): void {
    checkState(state, "ucb", this.arms, ["estimates", "counts"]);
    const s = state as UcbState;
    checkCount(s.steps, "steps");
    const restored = new Ucb(this.arms, s.options);
    restored.#rng.setState(s.rng);
    this.#options = restored.#options;
    this.#estimates.set(s.estimates);
    this.#counts.set(s.counts);
    this.#steps = s.steps;
    this.#rng = restored.#rng;
  }
}

// ---------------------------------------------------------------------------------------------
// Thompson sampling, Gaussian

/** Options of {@linkcode GaussianThompson}. */
export interface GaussianThompsonOptions {
  /** Mean of the Normal prior on each arm's true value. Default 0. */
  priorMean?: number;
  /** Standard deviation of that prior (> 0). Default 1. */
  priorStd?: number;
  /** The known standard deviation of the reward noise (> 0). Default 1. */
  noiseStd?: number;
  /** Seed of the agent's RNG (posterior samples). Default 0. */
  seed?: number;
}

/** The saved state of a {@linkcode GaussianThompson} agent. */
export interface GaussianThompsonState {
  /** Identifies the agent. */
  kind: "thompson-gaussian";
  /** The resolved options. */
  options: Required<GaussianThompsonOptions>;
  /** Posterior means of the arms' values. */
  means: number[];
  /** Posterior precisions (1 / variance) of the arms' values. */
  precisions: number[];
  /** The RNG state. */
  rng: RngState;
}

/**
 * Thompson sampling for Gaussian rewards with known noise: each arm's value has a Normal prior and
 * a Normal posterior (conjugate update with precision 1/σ² per reward); the agent draws one value
 * per arm from its posterior, in arm order, and pulls the largest draw.
 *
 * @example
 * ```ts
 * import { GaussianThompson } from "@rnnrl/rnnrl";
 * const agent = new GaussianThompson(2, { priorStd: 1, noiseStd: 1 });
 * agent.update(0, 2);
 * // Posterior mean after one reward 2 with prior N(0, 1) and noise 1 is 1.
 * if (Math.abs(agent.values()[0] - 1) > 1e-12) throw new Error("conjugate update");
 * ```
 */
export class GaussianThompson implements BanditLearner {
  /** The number of arms. */
  readonly arms: number;
  #options: Required<GaussianThompsonOptions>;
  #means: Float64Array;
  #precisions: Float64Array;
  #samples: Float64Array;
  #rng: Rng;

  /** Creates an agent for `arms` arms. */
  constructor(arms: number, options: GaussianThompsonOptions = {}) {
    checkArms(arms, "GaussianThompson");
    this.arms = arms;
    this.#options = {
      priorMean: options.priorMean ?? 0,
      priorStd: options.priorStd ?? 1,
      noiseStd: options.noiseStd ?? 1,
      seed: options.seed ?? 0,
    };
    checkFinite(this.#options.priorMean, "GaussianThompson", "priorMean");
    checkPositive(this.#options.priorStd, "GaussianThompson", "priorStd");
    checkPositive(this.#options.noiseStd, "GaussianThompson", "noiseStd");
    const priorPrecision = 1 / (this.#options.priorStd * this.#options.priorStd);
    this.#means = new Float64Array(arms).fill(this.#options.priorMean);
    this.#precisions = new Float64Array(arms).fill(priorPrecision);
    this.#samples = new Float64Array(arms);
    this.#rng = new Rng(this.#options.seed);
  }

  /** Draws a value per arm from its posterior and pulls the largest. */
  act(): number {
    for (let a = 0; a < this.arms; a++) {
      this.#samples[a] = this.#means[a] + this.#rng.normal() / Math.sqrt(this.#precisions[a]);
    }
    return argmaxRandom(this.#samples, this.#rng);
  }

  /** Conjugate Normal update of the arm's posterior. */
  update(action: number, reward: number): void {
    checkUpdate(action, reward, this.arms, "GaussianThompson");
    const noisePrecision = 1 / (this.#options.noiseStd * this.#options.noiseStd);
    const precision = this.#precisions[action] + noisePrecision;
    this.#means[action] = (this.#precisions[action] * this.#means[action] +
      noisePrecision * reward) / precision;
    this.#precisions[action] = precision;
  }

  /** The posterior means, as a copy. */
  values(): Float64Array {
    return this.#means.slice();
  }

  /** The whole state as a plain object. */
  save(): GaussianThompsonState {
    return {
      kind: "thompson-gaussian",
      options: { ...this.#options },
      means: Array.from(this.#means),
      precisions: Array.from(this.#precisions),
      rng: this.#rng.getState(),
    };
  }

  /** Restores a state from {@linkcode GaussianThompson.save}. */
  load(state: BanditLearnerState): void {
    checkState(state, "thompson-gaussian", this.arms, ["means", "precisions"]);
    const s = state as GaussianThompsonState;
    const restored = new GaussianThompson(this.arms, s.options);
    restored.#rng.setState(s.rng);
    this.#options = restored.#options;
    this.#means.set(s.means);
    this.#precisions.set(s.precisions);
    this.#rng = restored.#rng;
  }
}

// ---------------------------------------------------------------------------------------------
// Thompson sampling, Beta–Bernoulli

/** Options of {@linkcode BetaThompson}. */
export interface BetaThompsonOptions {
  /** The Beta prior's α (pseudo-successes, > 0). Default 1 (uniform prior). */
  priorAlpha?: number;
  /** The Beta prior's β (pseudo-failures, > 0). Default 1. */
  priorBeta?: number;
  /** Seed of the agent's RNG (posterior samples). Default 0. */
  seed?: number;
}

/** The saved state of a {@linkcode BetaThompson} agent. */
export interface BetaThompsonState {
  /** Identifies the agent. */
  kind: "thompson-beta";
  /** The resolved options. */
  options: Required<BetaThompsonOptions>;
  /** Posterior α per arm. */
  alphas: number[];
  /** Posterior β per arm. */
  betas: number[];
  /** The RNG state. */
  rng: RngState;
}

/**
 * Thompson sampling for Bernoulli rewards: each arm's success probability has a Beta posterior;
 * the agent draws one probability per arm, in arm order, and pulls the largest. A reward r in
 * [0, 1] adds r to α and 1 − r to β (exact for 0/1 rewards).
 *
 * @example
 * ```ts
 * import { BetaThompson } from "@rnnrl/rnnrl";
 * const agent = new BetaThompson(2);
 * agent.update(1, 1);
 * agent.update(1, 1);
 * // Beta(3, 1) has mean 0.75.
 * if (agent.values()[1] !== 0.75) throw new Error("posterior mean");
 * ```
 */
export class BetaThompson implements BanditLearner {
  /** The number of arms. */
  readonly arms: number;
  #options: Required<BetaThompsonOptions>;
  #alphas: Float64Array;
  #betas: Float64Array;
  #samples: Float64Array;
  #rng: Rng;

  /** Creates an agent for `arms` arms. */
  constructor(arms: number, options: BetaThompsonOptions = {}) {
    checkArms(arms, "BetaThompson");
    this.arms = arms;
    this.#options = {
      priorAlpha: options.priorAlpha ?? 1,
      priorBeta: options.priorBeta ?? 1,
      seed: options.seed ?? 0,
    };
    checkPositive(this.#options.priorAlpha, "BetaThompson", "priorAlpha");
    checkPositive(this.#options.priorBeta, "BetaThompson", "priorBeta");
    this.#alphas = new Float64Array(arms).fill(this.#options.priorAlpha);
    this.#betas = new Float64Array(arms).fill(this.#options.priorBeta);
    this.#samples = new Float64Array(arms);
    this.#rng = new Rng(this.#options.seed);
  }

  /** Draws a success probability per arm from its posterior and pulls the largest. */
  act(): number {
    for (let a = 0; a < this.arms; a++) {
      this.#samples[a] = this.#rng.beta(this.#alphas[a], this.#betas[a]);
    }
    return argmaxRandom(this.#samples, this.#rng);
  }

  /** Adds the reward (in [0, 1]) to the arm's posterior; throws a RangeError outside [0, 1]. */
  update(action: number, reward: number): void {
    checkUpdate(action, reward, this.arms, "BetaThompson");
    if (!(reward >= 0 && reward <= 1)) {
      throw new RangeError(`Cannot update BetaThompson: reward is ${reward}, expected 0..1`);
    }
    this.#alphas[action] += reward;
    this.#betas[action] += 1 - reward;
  }

  /** The posterior means α / (α + β), as a copy. */
  values(): Float64Array {
    return this.#alphas.map((alpha, a) => alpha / (alpha + this.#betas[a]));
  }

  /** The whole state as a plain object. */
  save(): BetaThompsonState {
    return {
      kind: "thompson-beta",
      options: { ...this.#options },
      alphas: Array.from(this.#alphas),
      betas: Array.from(this.#betas),
      rng: this.#rng.getState(),
    };
  }

  /** Restores a state from {@linkcode BetaThompson.save}. */
  load(state: BanditLearnerState): void {
    checkState(state, "thompson-beta", this.arms, ["alphas", "betas"]);
    const s = state as BetaThompsonState;
    const restored = new BetaThompson(this.arms, s.options);
    restored.#rng.setState(s.rng);
    this.#options = restored.#options;
    this.#alphas.set(s.alphas);
    this.#betas.set(s.betas);
    this.#rng = restored.#rng;
  }
}

// ---------------------------------------------------------------------------------------------
// Gradient bandit

/** Options of {@linkcode GradientBandit}. */
export interface GradientBanditOptions {
  /** Step size α of the preference update. Default 0.1. */
  stepSize?: number;
  /** Subtract the average of past rewards from each reward (the baseline). Default true. */
  baseline?: boolean;
  /** Seed of the agent's RNG (sampling from the softmax). Default 0. */
  seed?: number;
}

/** The saved state of a {@linkcode GradientBandit} agent. */
export interface GradientBanditState {
  /** Identifies the agent. */
  kind: "gradient";
  /** The resolved options. */
  options: Required<GradientBanditOptions>;
  /** The preferences H(a). */
  preferences: number[];
  /** The average of the rewards seen so far (the baseline). */
  averageReward: number;
  /** The number of updates so far. */
  steps: number;
  /** The RNG state. */
  rng: RngState;
}

/**
 * Gradient bandit (Sutton & Barto section 2.8): a softmax policy π over preferences H, updated by
 * H(a) ← H(a) + α(R − R̄)(1[a = A] − π(a)). The baseline R̄ is the average of the rewards before
 * this one, and the first reward is its own baseline (the book's errata: R̄₁ = R₁).
 *
 * @example
 * ```ts
 * import { GradientBandit } from "@rnnrl/rnnrl";
 * const agent = new GradientBandit(2, { stepSize: 0.5, baseline: false });
 * agent.update(0, 1);
 * const [p0, p1] = agent.probabilities();
 * if (!(p0 > p1)) throw new Error("a rewarded arm gains probability");
 * ```
 */
export class GradientBandit implements BanditLearner {
  /** The number of arms. */
  readonly arms: number;
  #options: Required<GradientBanditOptions>;
  #preferences: Float64Array;
  #policy: Float64Array;
  #averageReward = 0;
  #steps = 0;
  #rng: Rng;

  /** Creates an agent for `arms` arms. */
  constructor(arms: number, options: GradientBanditOptions = {}) {
    checkArms(arms, "GradientBandit");
    this.arms = arms;
    this.#options = {
      stepSize: options.stepSize ?? 0.1,
      baseline: options.baseline ?? true,
      seed: options.seed ?? 0,
    };
    checkPositive(this.#options.stepSize, "GradientBandit", "stepSize");
    if (typeof this.#options.baseline !== "boolean") {
      throw new TypeError("Cannot create GradientBandit: baseline must be a boolean");
    }
    this.#preferences = new Float64Array(arms);
    this.#policy = new Float64Array(arms);
    this.#rng = new Rng(this.#options.seed);
  }

  /** Samples an arm from the softmax of the preferences (one uniform draw). */
  act(): number {
    softmaxInto(this.#preferences, this.#policy, 0, this.arms);
    return sampleCategorical(this.#policy, 0, this.arms, this.#rng.uniform());
  }

  /** The stochastic-gradient step on the preferences, then the baseline update. */
  update(action: number, reward: number): void {
    checkUpdate(action, reward, this.arms, "GradientBandit");
    const pi = this.#policy;
    softmaxInto(this.#preferences, pi, 0, this.arms);
    this.#steps++;
    const baseline = this.#options.baseline
      ? (this.#steps === 1 ? reward : this.#averageReward)
      : 0;
    const step = this.#options.stepSize * (reward - baseline);
    for (let a = 0; a < this.arms; a++) {
      this.#preferences[a] += a === action ? step * (1 - pi[a]) : -step * pi[a];
    }
    this.#averageReward += (reward - this.#averageReward) / this.#steps;
  }

  /** The current softmax policy π(a), as a new array. */
  probabilities(): Float64Array {
    const pi = new Float64Array(this.arms);
    softmaxInto(this.#preferences, pi, 0, this.arms);
    return pi;
  }

  /** The preferences H(a), as a copy. */
  values(): Float64Array {
    return this.#preferences.slice();
  }

  /** The whole state as a plain object. */
  save(): GradientBanditState {
    return {
      kind: "gradient",
      options: { ...this.#options },
      preferences: Array.from(this.#preferences),
      averageReward: this.#averageReward,
      steps: this.#steps,
      rng: this.#rng.getState(),
    };
  }

  /** Restores a state from {@linkcode GradientBandit.save}. */
  load(state: BanditLearnerState): void {
    checkState(state, "gradient", this.arms, ["preferences"]);
    const s = state as GradientBanditState;
    checkCount(s.steps, "steps");
    checkFinite(s.averageReward, "GradientBandit", "averageReward");
    const restored = new GradientBandit(this.arms, s.options);
    restored.#rng.setState(s.rng);
    this.#options = restored.#options;
    this.#preferences.set(s.preferences);
    this.#averageReward = s.averageReward;
    this.#steps = s.steps;
    this.#rng = restored.#rng;
  }
}

/**
 * Recreates an agent of the right class from any saved state.
 *
 * @param state A state from an agent's `save()` (possibly through JSON).
 * @returns A new agent in exactly that state.
 *
 * @example
 * ```ts
 * import { restoreBanditLearner, Ucb } from "@rnnrl/rnnrl";
 * const agent = new Ucb(3, { seed: 7 });
 * agent.update(agent.act(), 1);
 * const copy = restoreBanditLearner(JSON.parse(JSON.stringify(agent.save())));
 * if (copy.act() !== agent.act()) throw new Error("same state, same choice");
 * ```
 */
export function restoreBanditLearner(state: BanditLearnerState): BanditLearner {
  const arms = (state as { estimates?: unknown[] })?.estimates?.length ??
    (state as { means?: unknown[] })?.means?.length ??
    (state as { alphas?: unknown[] })?.alphas?.length ??
    (state as { preferences?: unknown[] })?.preferences?.length;
  if (typeof arms !== "number") {
    throw new TypeError("Cannot restore bandit agent: the state has no per-arm values");
  }
  const kind = (state as { kind?: unknown }).kind;
  let agent: BanditLearner;
  switch (kind) {
    case "epsilon-greedy":
      agent = new EpsilonGreedy(arms);
      break;
    case "ucb":
      agent = new Ucb(arms);
      break;
    case "thompson-gaussian":
      agent = new GaussianThompson(arms);
      break;
    case "thompson-beta":
      agent = new BetaThompson(arms);
      break;
    case "gradient":
      agent = new GradientBandit(arms);
      break;
    default:
      throw new TypeError(`Cannot restore bandit agent: unknown kind ${JSON.stringify(kind)}`);
  }
  agent.load(state);
  return agent;
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/**
 * Writes the softmax of `length` preferences starting at `offset` into `out` at the same offset
 * (the maximum is subtracted first, so large preferences do not overflow).
 *
 * @param preferences The preferences H.
 * @param out Where π goes (may be a different array of the same layout).
 * @param offset The first index.
 * @param length How many entries.
 *
 * @example
 * ```ts
 * import { softmaxInto } from "./bandits.ts";
 * const pi = new Float64Array(2);
 * softmaxInto([0, 0], pi, 0, 2);
 * if (pi[0] !== 0.5) throw new Error("equal preferences, equal probabilities");
 * ```
 */
export function softmaxInto(
  preferences: ArrayLike<number>,
  out: Float64Array,
  offset: number,
  length: number,
): void {
  let max = -Infinity;
  for (let i = offset; i < offset + length; i++) if (preferences[i] > max) max = preferences[i];
  let sum = 0;
  for (let i = offset; i < offset + length; i++) {
    const e = Math.exp(preferences[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = offset; i < offset + length; i++) out[i] /= sum;
}

/**
 * Picks an index from `length` probabilities starting at `offset` by inverting the cumulative
 * distribution at `u` in [0, 1); rounding that leaves the sum below `u` picks the last index.
 *
 * @param probabilities The probabilities (summing to 1).
 * @param offset The first index.
 * @param length How many entries.
 * @param u A uniform draw in [0, 1).
 * @returns The chosen index, relative to `offset`.
 *
 * @example
 * ```ts
 * import { sampleCategorical } from "./bandits.ts";
 * if (sampleCategorical([0.2, 0.8], 0, 2, 0.5) !== 1) throw new Error("inverse CDF");
 * ```
 */
export function sampleCategorical(
  probabilities: ArrayLike<number>,
  offset: number,
  length: number,
  u: number,
): number {
  let cumulative = 0;
  for (let i = 0; i < length - 1; i++) {
    cumulative += probabilities[offset + i];
    if (u < cumulative) return i;
  }
  return length - 1;
}

function checkArms(arms: number, who: string): void {
  if (!(Number.isInteger(arms) && arms >= 1)) {
    throw new RangeError(`Cannot create ${who}: arms is ${arms}, expected an integer ≥ 1`);
  }
}

function checkProbability(p: number, who: string, name: string): void {
  if (!(p >= 0 && p <= 1)) {
    throw new RangeError(`Cannot create ${who}: ${name} is ${p}, expected 0..1`);
  }
}

function checkStepSize(stepSize: number | null, who: string): void {
  if (stepSize !== null && !(stepSize > 0 && stepSize <= 1)) {
    throw new RangeError(`Cannot create ${who}: stepSize is ${stepSize}, expected null or (0, 1]`);
  }
}

function checkFinite(x: number, who: string, name: string): void {
  if (typeof x !== "number" || !Number.isFinite(x)) {
    throw new RangeError(`Cannot create ${who}: ${name} is ${x}, expected a finite number`);
  }
}

function checkPositive(x: number, who: string, name: string): void {
  if (!(x > 0 && Number.isFinite(x))) {
    throw new RangeError(`Cannot create ${who}: ${name} is ${x}, expected a finite number > 0`);
  }
}

function checkUpdate(action: number, reward: number, arms: number, who: string): void {
  if (!(Number.isInteger(action) && action >= 0 && action < arms)) {
    throw new RangeError(`Cannot update ${who}: action is ${action}, expected 0..${arms - 1}`);
  }
  if (!Number.isFinite(reward)) {
    throw new RangeError(`Cannot update ${who}: reward is ${reward}, expected a finite number`);
  }
}

function checkState(state: unknown, kind: string, arms: number, arrays: string[]): void {
  const s = state as Record<string, unknown> | null;
  if (typeof s !== "object" || s === null || s.kind !== kind) {
    throw new TypeError(
      `Cannot load bandit agent: expected a "${kind}" state, got ${
        JSON.stringify((s as { kind?: unknown } | null)?.kind)
      }`,
    );
  }
  for (const name of arrays) {
    const values = s[name];
    if (
      !Array.isArray(values) || values.length !== arms ||
      !values.every((v) => typeof v === "number" && Number.isFinite(v))
    ) {
      throw new TypeError(`Cannot load bandit agent: ${name} must be ${arms} finite numbers`);
    }
  }
  if (typeof s.options !== "object" || s.options === null) {
    throw new TypeError("Cannot load bandit agent: the state has no options");
  }
}

function checkCount(x: unknown, name: string): void {
  if (!(typeof x === "number" && Number.isInteger(x) && x >= 0)) {
    throw new TypeError(`Cannot load bandit agent: ${name} must be an integer ≥ 0`);
  }
}
