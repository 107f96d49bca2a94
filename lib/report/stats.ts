/**
 * Statistics over seeds that stay honest with few runs: the measures of Agarwal et al., "Deep
 * reinforcement learning at the edge of the statistical precipice" (NeurIPS 2021), defined as
 * their rliable library defines them. Interquartile mean, optimality gap, performance profiles
 * and the probability of improvement, each with a percentile-bootstrap interval; aggregates over
 * tasks use the stratified bootstrap, which resamples the runs of each task on their own.
 *
 * Scores come as one sample (`number[]`, one value a run) or as a matrix `scores[run][task]`.
 * Everything here is a pure function that runs in browsers as well as in Deno, and every interval
 * is drawn from a seeded {@linkcode Rng}: the same seed gives the same interval bit for bit.
 *
 * @example
 * ```ts
 * import { aggregateScores, probabilityOfImprovement } from "@rnnrl/rnnrl/report";
 *
 * // Five seeds of two settings on two tasks, scores normalised to [0, 1].
 * const a = [[0.9, 0.4], [1.0, 0.5], [0.7, 0.6], [0.95, 0.3], [0.8, 0.5]];
 * const b = [[0.6, 0.3], [0.5, 0.2], [0.7, 0.4], [0.4, 0.3], [0.6, 0.1]];
 * const { interquartileMean } = aggregateScores(a, { seed: 1 });
 * const improvement = probabilityOfImprovement(a, b, { seed: 1 });
 * // Each is { estimate, lower, upper }; here every pair but one favours a.
 * if (!(improvement.estimate > 0.9 && interquartileMean.lower < 0.7)) throw new Error("a is better");
 * ```
 *
 * @module
 */

import { Rng } from "../io/rng.ts";
import { rollingMean } from "./_series.ts";

/** Scores over runs and tasks, `scores[run][task]`: every run holds a score for every task. */
export type ScoreMatrix = readonly (readonly number[])[];

/** The scores of one setting: one sample (a value a run), or a matrix `scores[run][task]`. */
export type Scores = readonly number[] | ScoreMatrix;

/** Options of every bootstrap interval. */
export interface BootstrapOptions {
  /** The coverage of the interval, in (0, 1). Default 0.95. */
  confidence?: number;
  /** The number of bootstrap resamples, a positive integer. Default 2000. */
  resamples?: number;
  /** The seed of the resampling. Default 0. */
  seed?: number;
}

/** A point estimate and its bootstrap confidence interval. */
export interface Interval {
  /** The statistic of the scores as given. */
  estimate: number;
  /** The lower percentile of the bootstrap distribution, (1 − confidence) / 2. */
  lower: number;
  /** The upper percentile of the bootstrap distribution, (1 + confidence) / 2. */
  upper: number;
}

// ---------------------------------------------------------------------------------------------
// Point estimates

/**
 * The mean. Of a sample, its mean; of a matrix `scores[run][task]`, rliable's aggregate mean: the
 * mean over tasks of each task's mean over runs.
 *
 * @param scores A sample, or scores by run and task.
 * @returns The mean.
 *
 * @example
 * ```ts
 * import { mean } from "@rnnrl/rnnrl/report";
 * if (mean([1, 2, 6]) !== 3) throw new Error("sample mean");
 * // Task means 2 and 20: their mean.
 * if (mean([[1, 10], [3, 30]]) !== 11) throw new Error("mean of task means");
 * ```
 */
export function mean(scores: Scores): number {
  if (isMatrix(scores)) return average(taskMeans(scores, "compute the mean"));
  checkSample(scores, "compute the mean");
  return average(scores);
}

/**
 * The median. Of a sample, its median (the mean of the two middle values of an even count); of a
 * matrix `scores[run][task]`, rliable's aggregate median: the median over tasks of each task's
 * mean over runs (so a matrix of one task gives that task's mean).
 *
 * @param scores A sample, or scores by run and task.
 * @returns The median.
 *
 * @example
 * ```ts
 * import { median } from "@rnnrl/rnnrl/report";
 * if (median([5, 1, 100, 2]) !== 3.5) throw new Error("sample median");
 * // Task means 2, 20 and 200: the middle one.
 * if (median([[1, 10, 100], [3, 30, 300]]) !== 20) throw new Error("median of task means");
 * ```
 */
export function median(scores: Scores): number {
  if (isMatrix(scores)) return middle(taskMeans(scores, "compute the median"));
  checkSample(scores, "compute the median");
  return middle(scores);
}

/**
 * The interquartile mean (IQM): the mean of the middle half of all scores, every run of every task
 * pooled. As scipy's `trim_mean(scores, 0.25)` that rliable calls, `floor(n / 4)` of the `n`
 * sorted scores are cut from each end, so fewer than a quarter are cut when `n` is not a multiple
 * of 4, and none when `n < 4`.
 *
 * @param scores A sample, or scores by run and task (pooled).
 * @returns The mean of the scores left after the cut.
 *
 * @example
 * ```ts
 * import { interquartileMean } from "@rnnrl/rnnrl/report";
 * // 1..8: 1, 2 and 7, 8 are cut; the mean of 3, 4, 5, 6.
 * if (interquartileMean([8, 1, 7, 2, 6, 3, 5, 4]) !== 4.5) throw new Error("IQM");
 * ```
 */
export function interquartileMean(scores: Scores): number {
  const sorted = pooled(scores, "compute the interquartile mean").sort((a, b) => a - b);
  const cut = Math.floor(0.25 * sorted.length);
  return average(sorted.slice(cut, sorted.length - cut));
}

/**
 * The optimality gap: how far the scores fall short of a threshold on average, scores above it
 * counting as the threshold (`threshold − mean(min(score, threshold))` over all runs and tasks).
 * With scores normalised so that 1 is the target, the default threshold is that target.
 *
 * @param scores A sample, or scores by run and task (pooled).
 * @param threshold The score that counts as optimal.
 * @returns The gap; 0 when every score reaches the threshold.
 *
 * @example
 * ```ts
 * import { optimalityGap } from "@rnnrl/rnnrl/report";
 * // Clipped at 1: 0.5, 1, 0.9, 0.1, whose mean is 0.625.
 * if (optimalityGap([[0.5, 1.2], [0.9, 0.1]]) !== 0.375) throw new Error("gap");
 * ```
 */
export function optimalityGap(scores: Scores, threshold: number = 1): number {
  if (!Number.isFinite(threshold)) {
    throw new RangeError(`Cannot compute the optimality gap: threshold is ${threshold}`);
  }
  const values = pooled(scores, "compute the optimality gap");
  let sum = 0;
  for (const v of values) sum += Math.min(v, threshold);
  return threshold - sum / values.length;
}

// ---------------------------------------------------------------------------------------------
// Bootstrap intervals

/**
 * A percentile-bootstrap confidence interval of a statistic of one sample, for instance the final
 * returns of one setting's seeds: the sample is resampled with replacement `resamples` times, and
 * the interval runs between the (1 − confidence) / 2 and (1 + confidence) / 2 percentiles of the
 * statistic over the resamples (linear interpolation between order statistics, as numpy's
 * `percentile`). The statistic is called first on the sample as given, then once a resample.
 *
 * @param samples The sample, one value a run.
 * @param statistic The statistic, for instance {@linkcode mean} or {@linkcode interquartileMean}.
 * @param options The confidence, the number of resamples and the seed.
 * @returns The statistic of the sample and its interval.
 *
 * @example
 * ```ts
 * import { bootstrapInterval, mean } from "@rnnrl/rnnrl/report";
 * const returns = [480, 500, 350, 500, 420, 500, 310, 490];
 * const { estimate, lower, upper } = bootstrapInterval(returns, mean, { seed: 7 });
 * if (!(lower < estimate && estimate < upper)) throw new Error("the interval holds the mean");
 * ```
 */
export function bootstrapInterval(
  samples: readonly number[],
  statistic: (sample: readonly number[]) => number,
  options: BootstrapOptions = {},
): Interval {
  const what = "compute a bootstrap interval";
  checkSample(samples, what);
  const { confidence, resamples, rng } = bootstrapSettings(options, what);
  const estimate = checkedStatistic(statistic(samples), what, "the sample");
  const n = samples.length;
  const replicates = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    const draw = new Array<number>(n);
    for (let i = 0; i < n; i++) draw[i] = samples[rng.int(n)];
    replicates[b] = checkedStatistic(statistic(draw), what, `resample ${b}`);
  }
  return { estimate, ...percentileInterval(replicates, confidence) };
}

/**
 * A stratified percentile-bootstrap interval of an aggregate over tasks, as rliable computes it:
 * each resample draws, for every task on its own, as many runs with replacement as there are, so
 * the interval shows how the aggregate would move were the experiment run again with other seeds
 * on the same tasks. The percentiles are taken as in {@linkcode bootstrapInterval}.
 *
 * @param scores Scores by run and task, `scores[run][task]`.
 * @param aggregate The aggregate of a matrix, for instance {@linkcode interquartileMean}.
 * @param options The confidence, the number of resamples and the seed.
 * @returns The aggregate of the scores and its interval.
 *
 * @example
 * ```ts
 * import { interquartileMean, stratifiedBootstrapInterval } from "@rnnrl/rnnrl/report";
 * const scores = [[0.9, 0.2, 0.5], [0.8, 0.4, 0.6], [1.0, 0.1, 0.4], [0.7, 0.3, 0.9]];
 * const iqm = stratifiedBootstrapInterval(scores, interquartileMean, { seed: 3 });
 * if (!(iqm.lower <= iqm.estimate && iqm.estimate <= iqm.upper)) throw new Error("ordered");
 * ```
 */
export function stratifiedBootstrapInterval(
  scores: ScoreMatrix,
  aggregate: (scores: ScoreMatrix) => number,
  options: BootstrapOptions = {},
): Interval {
  const what = "compute a stratified bootstrap interval";
  checkMatrix(scores, what);
  const [interval] = stratifiedIntervals(
    [scores],
    ([m]) => [aggregate(m)],
    bootstrapSettings(options, what),
    what,
  );
  return interval;
}

/** Options of {@linkcode aggregateScores}. */
export interface AggregateOptions extends BootstrapOptions {
  /** The threshold of the optimality gap. Default 1. */
  threshold?: number;
}

/** The four aggregates of {@linkcode aggregateScores}, each with its stratified interval. */
export interface AggregateScores {
  /** {@linkcode interquartileMean} of all runs and tasks. */
  interquartileMean: Interval;
  /** {@linkcode mean}: the mean of the task means. */
  mean: Interval;
  /** {@linkcode median}: the median of the task means. */
  median: Interval;
  /** {@linkcode optimalityGap} at the threshold of the options. */
  optimalityGap: Interval;
}

/**
 * The interquartile mean, mean, median and optimality gap of scores by run and task, with their
 * stratified bootstrap intervals (see {@linkcode stratifiedBootstrapInterval}). The four share the
 * same resamples, as in rliable's examples where one function returns all four.
 *
 * @param scores Scores by run and task, `scores[run][task]`; one task is a matrix of one column.
 * @param options The bootstrap options and the optimality gap's threshold.
 * @returns Each aggregate's estimate and interval.
 *
 * @example
 * ```ts
 * import { aggregateScores } from "@rnnrl/rnnrl/report";
 * const scores = [[0.9, 0.2, 0.5], [0.8, 0.4, 0.6], [1.0, 0.1, 0.4], [0.7, 0.3, 0.9]];
 * const { interquartileMean, optimalityGap } = aggregateScores(scores, { seed: 1 });
 * const { estimate, lower, upper } = interquartileMean;
 * if (!(lower <= estimate && estimate <= upper)) throw new Error("ordered");
 * if (optimalityGap.estimate <= 0) throw new Error("no score reached 1 everywhere");
 * ```
 */
export function aggregateScores(
  scores: ScoreMatrix,
  options: AggregateOptions = {},
): AggregateScores {
  const what = "aggregate scores";
  checkMatrix(scores, what);
  const threshold = options.threshold ?? 1;
  if (!Number.isFinite(threshold)) {
    throw new RangeError(`Cannot ${what}: threshold is ${threshold}`);
  }
  const [iqm, meanOf, medianOf, gap] = stratifiedIntervals(
    [scores],
    ([m]) => [interquartileMean(m), mean(m), median(m), optimalityGap(m, threshold)],
    bootstrapSettings(options, what),
    what,
  );
  return { interquartileMean: iqm, mean: meanOf, median: medianOf, optimalityGap: gap };
}

/** One threshold of a {@linkcode performanceProfile}. */
export interface ProfilePoint extends Interval {
  /** The threshold τ; `estimate` is the fraction of scores above it. */
  threshold: number;
}

/**
 * A performance profile: for each threshold τ, the fraction of all scores (every run of every
 * task, rliable's run-score distribution) strictly above τ, with a stratified bootstrap band. The
 * thresholds share the resamples, so each band edge, like the profile, never rises with τ.
 *
 * @param scores Scores by run and task, `scores[run][task]`.
 * @param thresholds The thresholds τ, in any order; the points come back in the same order.
 * @param options The confidence, the number of resamples and the seed.
 * @returns One point per threshold.
 *
 * @example
 * ```ts
 * import { performanceProfile } from "@rnnrl/rnnrl/report";
 * const scores = [[0.0, 1.0], [2.0, 3.0]];
 * const profile = performanceProfile(scores, [-1, 1, 3], { seed: 1 });
 * // Above −1: all four; above 1: 2 and 3; above 3: none.
 * const fractions = profile.map((p) => p.estimate).join(",");
 * if (fractions !== "1,0.5,0") throw new Error(fractions);
 * ```
 */
export function performanceProfile(
  scores: ScoreMatrix,
  thresholds: readonly number[],
  options: BootstrapOptions = {},
): ProfilePoint[] {
  const what = "compute a performance profile";
  checkMatrix(scores, what);
  thresholds.forEach((tau, i) => {
    if (typeof tau !== "number" || Number.isNaN(tau)) {
      throw new RangeError(`Cannot ${what}: threshold ${i} is ${tau}`);
    }
  });
  const fractionsAbove = ([m]: ScoreMatrix[]): number[] => {
    const sorted = m.flat().sort((a, b) => a - b);
    return thresholds.map((tau) => (sorted.length - countAtMost(sorted, tau)) / sorted.length);
  };
  const intervals = stratifiedIntervals(
    [scores],
    fractionsAbove,
    bootstrapSettings(options, what),
    what,
  );
  return intervals.map((interval, i) => ({ threshold: thresholds[i], ...interval }));
}

/**
 * The probability of improvement P(X > Y) of setting X over setting Y, as rliable defines it: for
 * each task, the Mann–Whitney U statistic of X's runs against Y's divided by the number of pairs,
 * that is the fraction of (x, y) pairs with x > y, ties counting 1/2; then the mean over tasks.
 * The interval is a stratified bootstrap that resamples the runs of X and of Y apart, each within
 * each task. The two may have different numbers of runs, but must have the same tasks.
 *
 * @param x Scores of X by run and task, `x[run][task]`.
 * @param y Scores of Y by run and task, `y[run][task]`.
 * @param options The confidence, the number of resamples and the seed.
 * @returns P(X > Y) and its interval; 0.5 when the two cannot be told apart.
 *
 * @example
 * ```ts
 * import { probabilityOfImprovement } from "@rnnrl/rnnrl/report";
 * // One task. Pairs (x, y): 1–1 ties, 2–1 and 3–1, 3–2 win, 2–2 ties, 1–2 loses: 4 of 6.
 * const { estimate } = probabilityOfImprovement([[1], [2], [3]], [[1], [2]], { seed: 1 });
 * if (Math.abs(estimate - 4 / 6) > 1e-12) throw new Error(`${estimate}`);
 * ```
 */
export function probabilityOfImprovement(
  x: ScoreMatrix,
  y: ScoreMatrix,
  options: BootstrapOptions = {},
): Interval {
  const what = "compute the probability of improvement";
  const tasksX = checkMatrix(x, what, "x");
  const tasksY = checkMatrix(y, what, "y");
  if (tasksX !== tasksY) {
    throw new TypeError(`Cannot ${what}: x has ${tasksX} tasks and y has ${tasksY}`);
  }
  const [interval] = stratifiedIntervals(
    [x, y],
    ([mx, my]) => [averageImprovement(mx, my)],
    bootstrapSettings(options, what),
    what,
  );
  return interval;
}

// ---------------------------------------------------------------------------------------------
// Scores and curves

/** The range that {@linkcode normalizeScores} maps to [0, 1]. */
export interface ScoreRange {
  /** The score that maps to 0 (a random policy's, say): one number, or one a task. */
  min: number | readonly number[];
  /** The score that maps to 1 (a reference policy's, say): one number, or one a task. */
  max: number | readonly number[];
}

/**
 * Min–max normalisation, `(score − min) / (max − min)`, as benchmark tables use it (for instance
 * human-normalised Atari scores, with a random policy's score as min and a human's as max). Scores
 * outside the range map outside [0, 1]. Of a matrix `raw[run][task]`, `min` and `max` may give one
 * value a task; of a sample, one value a score.
 *
 * @param raw A sample, or scores by run and task.
 * @param range The scores that map to 0 and to 1.
 * @returns The normalised scores, in the shape of `raw`.
 *
 * @example
 * ```ts
 * import { normalizeScores } from "@rnnrl/rnnrl/report";
 * // Two tasks: the first scored between 0 and 500, the second between −200 and 0.
 * const scores = normalizeScores([[250, -100], [500, -50]], { min: [0, -200], max: [500, 0] });
 * if (scores.flat().join(",") !== "0.5,0.5,1,0.75") throw new Error(`${scores}`);
 * ```
 */
export function normalizeScores(raw: readonly number[], range: ScoreRange): number[];
/** Min–max normalisation of scores by run and task; `min` and `max` may give one value a task. */
export function normalizeScores(raw: ScoreMatrix, range: ScoreRange): number[][];
/** Min–max normalisation of a sample or of a matrix, the result in the shape of `raw`. */
export function normalizeScores(raw: Scores, range: ScoreRange): number[] | number[][];
export function normalizeScores(raw: Scores, range: ScoreRange): number[] | number[][] {
  const what = "normalise scores";
  if (isMatrix(raw)) {
    const tasks = checkMatrix(raw, what);
    const scale = scaling(range, tasks, "task", what);
    return raw.map((run) => run.map((v, t) => (v - scale.min[t]) / scale.width[t]));
  }
  checkSample(raw, what);
  const scale = scaling(range, raw.length, "score", what);
  return raw.map((v, i) => (v - scale.min[i]) / scale.width[i]);
}

/** A point of a learning curve. */
export interface CurvePoint {
  /** The environment step. */
  step: number;
  /** The value logged at it, for instance an episode's return. */
  value: number;
}

/** Options of {@linkcode stepsToThreshold}. */
export interface StepsToThresholdOptions {
  /** Smooth the curve by the mean of the last `window` points first. Default 1 (no smoothing). */
  window?: number;
}

/**
 * The first step at which a learning curve reaches a threshold (value ≥ threshold), after
 * smoothing it by a rolling mean when `window` is above 1 (the first points average the fewer
 * points that exist), or null when it never does.
 *
 * @param curve The curve, steps non-decreasing.
 * @param threshold The value to reach.
 * @param options The smoothing window.
 * @returns The step, or null.
 *
 * @example
 * ```ts
 * import { stepsToThreshold } from "@rnnrl/rnnrl/report";
 * const curve = [{ step: 100, value: 20 }, { step: 200, value: 480 }, { step: 300, value: 500 }];
 * if (stepsToThreshold(curve, 475) !== 200) throw new Error("raw");
 * // Means of the last two points: 20, 250, 490.
 * if (stepsToThreshold(curve, 475, { window: 2 }) !== 300) throw new Error("smoothed");
 * if (stepsToThreshold(curve, 501) !== null) throw new Error("never");
 * ```
 */
export function stepsToThreshold(
  curve: readonly CurvePoint[],
  threshold: number,
  options: StepsToThresholdOptions = {},
): number | null {
  const what = "find the steps to a threshold";
  if (typeof threshold !== "number" || Number.isNaN(threshold)) {
    throw new RangeError(`Cannot ${what}: threshold is ${threshold}`);
  }
  checkCurve(curve, what, "the curve");
  const window = options.window ?? 1;
  if (!(Number.isInteger(window) && window >= 1)) {
    throw new RangeError(`Cannot ${what}: window is ${window}, expected an integer >= 1`);
  }
  const smoothed = rollingMean(curve.map((p) => p.value), window);
  const i = smoothed.findIndex((v) => v >= threshold);
  return i < 0 ? null : curve[i].step;
}

/** Options of {@linkcode curveBand}. */
export interface CurveBandOptions extends BootstrapOptions {
  /**
   * The steps of the band: a list of steps, or a number of equal bins from 0 to the last step that
   * every curve reaches. Default: the curves' steps when they all log at the same steps, else 100.
   */
  grid?: readonly number[] | number;
}

/** One step of a {@linkcode curveBand}. */
export interface BandPoint {
  /** The step. */
  step: number;
  /** The mean over curves of their values at the step. */
  mean: number;
  /** The lower bound of the bootstrap interval of the mean. */
  lower: number;
  /** The upper bound of the bootstrap interval of the mean. */
  upper: number;
}

/**
 * A confidence band for a learning curve over seeds: at each step of a grid, the mean of the
 * curves and a percentile-bootstrap interval of that mean. A curve's value at a grid step is its
 * last value at or before it (the rule of the report's aligned runs); steps that some curve has
 * not reached yet are left out. Each resample draws the seeds once for the whole grid, so a
 * resample is a whole mean curve; at each step the interval is the same as
 * {@linkcode bootstrapInterval} of the mean would give.
 *
 * @param curves One curve a seed, steps non-decreasing.
 * @param options The bootstrap options and the grid.
 * @returns One point a grid step kept, in the grid's order.
 *
 * @example
 * ```ts
 * import { curveBand } from "@rnnrl/rnnrl/report";
 * const seeds = [1, 2, 3, 4, 5].map((s) =>
 *   [1, 2, 3].map((k) => ({ step: 1000 * k, value: 100 * k + 10 * s }))
 * );
 * const band = curveBand(seeds, { seed: 1 });
 * if (band.map((p) => p.mean).join(",") !== "130,230,330") throw new Error("means");
 * if (!band.every((p) => p.lower <= p.mean && p.mean <= p.upper)) throw new Error("band");
 * ```
 */
export function curveBand(
  curves: readonly (readonly CurvePoint[])[],
  options: CurveBandOptions = {},
): BandPoint[] {
  const what = "compute a curve band";
  if (!Array.isArray(curves)) throw new TypeError(`Cannot ${what}: expected an array`);
  if (curves.length === 0) throw new RangeError(`Cannot ${what}: no curves`);
  curves.forEach((c, i) => checkCurve(c, what, `curve ${i}`));
  const { confidence, resamples, rng } = bootstrapSettings(options, what);
  const grid = bandGrid(curves, options.grid, what);

  // values[k][c]: curve c at the k-th grid step kept.
  const steps: number[] = [];
  const values: number[][] = [];
  for (const step of grid) {
    const row = curves.map((c) => valueAt(c, step));
    if (row.every((v) => v !== null)) {
      steps.push(step);
      values.push(row as number[]);
    }
  }

  const n = curves.length;
  const replicates = values.map(() => new Float64Array(resamples));
  const picks = new Array<number>(n);
  for (let b = 0; b < resamples; b++) {
    for (let i = 0; i < n; i++) picks[i] = rng.int(n);
    values.forEach((row, k) => {
      let sum = 0;
      for (const c of picks) sum += row[c];
      replicates[k][b] = sum / n;
    });
  }
  return steps.map((step, k) => ({
    step,
    mean: average(values[k]),
    ...percentileInterval(replicates[k], confidence),
  }));
}

// ---------------------------------------------------------------------------------------------
// Internals

interface BootstrapSettings {
  confidence: number;
  resamples: number;
  rng: Rng;
}

function bootstrapSettings(options: BootstrapOptions, what: string): BootstrapSettings {
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`Cannot ${what}: confidence is ${confidence}, expected (0, 1)`);
  }
  const resamples = options.resamples ?? 2000;
  if (!(Number.isInteger(resamples) && resamples >= 1)) {
    throw new RangeError(
      `Cannot ${what}: resamples is ${resamples}, expected an integer >= 1`,
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isFinite(seed)) throw new RangeError(`Cannot ${what}: seed is ${seed}`);
  return { confidence, resamples, rng: new Rng(seed) };
}

/**
 * The stratified bootstrap of a vector statistic of several matrices: each resample replaces every
 * matrix by one of the same shape whose column t holds runs drawn with replacement from column t.
 * Returns one interval per component of the statistic.
 */
function stratifiedIntervals(
  matrices: readonly ScoreMatrix[],
  statistic: (matrices: ScoreMatrix[]) => number[],
  { confidence, resamples, rng }: BootstrapSettings,
  what: string,
): Interval[] {
  const estimates = statistic(matrices as ScoreMatrix[]).map((v) =>
    checkedStatistic(v, what, "the scores")
  );
  const replicates = estimates.map(() => new Float64Array(resamples));
  for (let b = 0; b < resamples; b++) {
    const drawn = matrices.map((m) => {
      const runs = m.length;
      const tasks = m[0].length;
      const out = Array.from({ length: runs }, () => new Array<number>(tasks));
      for (let t = 0; t < tasks; t++) {
        for (let r = 0; r < runs; r++) out[r][t] = m[rng.int(runs)][t];
      }
      return out;
    });
    const values = statistic(drawn);
    estimates.forEach((_, k) => {
      replicates[k][b] = checkedStatistic(values[k], what, `resample ${b}`);
    });
  }
  return estimates.map((estimate, k) => ({
    estimate,
    ...percentileInterval(replicates[k], confidence),
  }));
}

/** The two-sided percentile interval of bootstrap replicates (sorted in place). */
function percentileInterval(
  replicates: Float64Array,
  confidence: number,
): { lower: number; upper: number } {
  replicates.sort();
  const tail = (1 - confidence) / 2;
  return { lower: quantile(replicates, tail), upper: quantile(replicates, 1 - tail) };
}

/**
 * The p-quantile of sorted values by linear interpolation between the order statistics at
 * (n − 1)·p, numpy's default; the interpolation is written as numpy writes it, from the nearer
 * end, so equal neighbours give exactly their value.
 */
function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const i = Math.floor(h);
  const a = sorted[i];
  const b = sorted[Math.min(i + 1, sorted.length - 1)];
  const t = h - i;
  return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
}

/** The mean over tasks of P(x > y) per task, the pairs counted as Mann–Whitney's U counts them. */
function averageImprovement(x: ScoreMatrix, y: ScoreMatrix): number {
  const tasks = x[0].length;
  let sum = 0;
  for (let t = 0; t < tasks; t++) {
    let u = 0;
    for (const runX of x) {
      const a = runX[t];
      for (const runY of y) {
        const b = runY[t];
        if (a > b) u += 1;
        else if (a === b) u += 0.5;
      }
    }
    sum += u / (x.length * y.length);
  }
  return sum / tasks;
}

/** The number of sorted values at most `tau` (the index of the first value above it). */
function countAtMost(sorted: readonly number[], tau: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= tau) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The last value of a curve at or before a step, or null before its first point. */
function valueAt(curve: readonly CurvePoint[], step: number): number | null {
  let lo = 0;
  let hi = curve.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (curve[mid].step <= step) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? null : curve[lo - 1].value;
}

function bandGrid(
  curves: readonly (readonly CurvePoint[])[],
  grid: readonly number[] | number | undefined,
  what: string,
): readonly number[] {
  if (Array.isArray(grid)) {
    grid.forEach((step, i) => {
      if (!Number.isFinite(step)) {
        throw new RangeError(`Cannot ${what}: grid step ${i} is ${step}`);
      }
    });
    return grid;
  }
  const first = curves[0].map((p) => p.step);
  const shared = curves.every((c) =>
    c.length === first.length && c.every((p, i) => p.step === first[i])
  );
  if (grid === undefined && shared) return first;
  const bins = grid ?? 100;
  if (!(typeof bins === "number" && Number.isInteger(bins) && bins >= 1)) {
    throw new RangeError(`Cannot ${what}: grid is ${grid}, expected steps or bins >= 1`);
  }
  const end = Math.min(...curves.map((c) => c[c.length - 1].step));
  return Array.from({ length: bins }, (_, k) => (end * (k + 1)) / bins);
}

function scaling(
  range: ScoreRange,
  count: number,
  unit: string,
  what: string,
): { min: number[]; width: number[] } {
  const expand = (bound: number | readonly number[], name: string): number[] => {
    const values = typeof bound === "number" ? new Array<number>(count).fill(bound) : bound;
    if (!Array.isArray(values)) {
      throw new TypeError(`Cannot ${what}: ${name} is not a number or an array`);
    }
    if (values.length !== count) {
      throw new TypeError(
        `Cannot ${what}: ${name} has ${values.length} values, expected ${count}, one a ${unit}`,
      );
    }
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) {
        throw new RangeError(`Cannot ${what}: ${name} of ${unit} ${i} is ${v}`);
      }
    });
    return values;
  };
  const min = expand(range.min, "min");
  const max = expand(range.max, "max");
  const width = max.map((hi, i) => {
    if (hi === min[i]) {
      throw new RangeError(`Cannot ${what}: max equals min (${hi}) for ${unit} ${i}`);
    }
    return hi - min[i];
  });
  return { min, width };
}

function isMatrix(scores: Scores): scores is ScoreMatrix {
  return Array.isArray(scores) && Array.isArray(scores[0]);
}

function checkSample(sample: readonly number[], what: string): void {
  if (!Array.isArray(sample)) throw new TypeError(`Cannot ${what}: expected an array`);
  if (sample.length === 0) throw new RangeError(`Cannot ${what}: no scores`);
  sample.forEach((v, i) => checkScore(v, what, `score ${i}`));
}

/** Checks that scores form a non-empty rectangular matrix of finite numbers; returns its tasks. */
function checkMatrix(scores: ScoreMatrix, what: string, name: string = "scores"): number {
  if (!Array.isArray(scores)) throw new TypeError(`Cannot ${what}: expected an array`);
  if (scores.length === 0) throw new RangeError(`Cannot ${what}: ${name} has no runs`);
  if (!Array.isArray(scores[0])) {
    throw new TypeError(`Cannot ${what}: expected ${name} as a matrix [run][task]`);
  }
  const tasks = scores[0].length;
  if (tasks === 0) throw new RangeError(`Cannot ${what}: ${name} has no tasks`);
  scores.forEach((run, r) => {
    if (!Array.isArray(run)) {
      throw new TypeError(`Cannot ${what}: run ${r} of ${name} is not an array`);
    }
    if (run.length !== tasks) {
      throw new TypeError(
        `Cannot ${what}: run ${r} of ${name} has ${run.length} tasks, expected ${tasks}`,
      );
    }
    run.forEach((v, t) => checkScore(v, what, `the score of run ${r}, task ${t}`));
  });
  return tasks;
}

function checkScore(v: unknown, what: string, name: string): void {
  if (typeof v !== "number") {
    throw new TypeError(`Cannot ${what}: ${name} is ${typeof v}, expected a number`);
  }
  if (!Number.isFinite(v)) throw new RangeError(`Cannot ${what}: ${name} is ${v}`);
}

function checkCurve(curve: readonly CurvePoint[], what: string, name: string): void {
  if (!Array.isArray(curve)) throw new TypeError(`Cannot ${what}: ${name} is not an array`);
  if (curve.length === 0) throw new RangeError(`Cannot ${what}: ${name} has no points`);
  curve.forEach((p, i) => {
    checkScore(p?.step, what, `the step of point ${i} of ${name}`);
    checkScore(p.value, what, `the value of point ${i} of ${name}`);
    if (i > 0 && p.step < curve[i - 1].step) {
      throw new RangeError(`Cannot ${what}: the steps of ${name} decrease at point ${i}`);
    }
  });
}

function checkedStatistic(v: number, what: string, on: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new RangeError(`Cannot ${what}: the statistic of ${on} is ${v}`);
  }
  return v;
}

function taskMeans(scores: ScoreMatrix, what: string): number[] {
  const tasks = checkMatrix(scores, what);
  const sums = new Array<number>(tasks).fill(0);
  for (const run of scores) for (let t = 0; t < tasks; t++) sums[t] += run[t];
  return sums.map((s) => s / scores.length);
}

function pooled(scores: Scores, what: string): number[] {
  if (isMatrix(scores)) {
    checkMatrix(scores, what);
    return scores.flat();
  }
  checkSample(scores, what);
  return [...scores];
}

function average(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

function middle(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const k = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[k] : (sorted[k - 1] + sorted[k]) / 2;
}
