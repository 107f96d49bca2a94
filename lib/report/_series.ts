/**
 * Series arithmetic for the report: rolling means, downsampling that keeps the extremes, and
 * aligning several runs on a common step grid. Internal to lib/report.
 *
 * @module
 */

/**
 * The mean of the last `window` values at each index (fewer at the start, where fewer exist).
 *
 * @param values The series.
 * @param window The number of values averaged, at least 1.
 * @returns A series of the same length.
 */
export function rollingMean(values: readonly number[], window: number): number[] {
  if (!(Number.isInteger(window) && window >= 1)) {
    throw new RangeError(`Cannot compute a rolling mean: window is ${window}`);
  }
  const out = new Array<number>(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    sum += values[i];
    if (i >= window) sum -= values[i - window];
    out[i] = sum / Math.min(i + 1, window);
  }
  return out;
}

/**
 * Up to `maxPoints` indices spread evenly over `0..n-1`, always including the first and last.
 *
 * @param n The series length.
 * @param maxPoints The most indices to return, at least 2.
 * @returns Increasing indices.
 */
export function strideIndices(n: number, maxPoints: number): number[] {
  if (n <= maxPoints) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < maxPoints; k++) out.push(Math.round((k * (n - 1)) / (maxPoints - 1)));
  return out;
}

/**
 * Indices that keep the shape of a noisy series: the series is cut into `buckets` runs of
 * consecutive points, and the lowest and highest point of each are kept (in order).
 *
 * @param values The series.
 * @param buckets The number of buckets; at most `2 * buckets` indices come back.
 * @returns Increasing indices.
 */
export function minMaxIndices(values: readonly number[], buckets: number): number[] {
  const n = values.length;
  if (n <= 2 * buckets) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * n) / buckets);
    const end = Math.floor(((b + 1) * n) / buckets);
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (values[i] < values[lo]) lo = i;
      if (values[i] > values[hi]) hi = i;
    }
    if (lo === hi) out.push(lo);
    else out.push(Math.min(lo, hi), Math.max(lo, hi));
  }
  return out;
}

/** The mean, lowest and highest value of a bucket of points, at its last step. */
export interface BucketStat {
  /** The step of the bucket's last point. */
  step: number;
  /** The mean value. */
  mean: number;
  /** The lowest value. */
  min: number;
  /** The highest value. */
  max: number;
}

/**
 * Summarises a series in at most `buckets` buckets of consecutive points; a series no longer
 * than `buckets` comes back one point a bucket.
 *
 * @param steps The step of each point.
 * @param values The value of each point.
 * @param buckets The most buckets.
 * @returns One summary per bucket.
 */
export function bucketStats(
  steps: readonly number[],
  values: readonly number[],
  buckets: number,
): BucketStat[] {
  const n = values.length;
  const count = Math.min(n, buckets);
  const out: BucketStat[] = [];
  for (let b = 0; b < count; b++) {
    const start = Math.floor((b * n) / count);
    const end = Math.floor(((b + 1) * n) / count);
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = start; i < end; i++) {
      sum += values[i];
      if (values[i] < min) min = values[i];
      if (values[i] > max) max = values[i];
    }
    out.push({ step: steps[end - 1], mean: sum / (end - start), min, max });
  }
  return out;
}

/** One point of {@linkcode alignRuns}: statistics over runs at one step. */
export interface AlignedPoint {
  /** The step (the end of a bin). */
  step: number;
  /** The mean over runs. */
  mean: number;
  /** The lowest run. */
  min: number;
  /** The highest run. */
  max: number;
}

/**
 * Aligns several step-indexed series on a common grid and summarises them across series. The
 * grid is `bins` equal bins from 0 to the last step that every series reaches; each series'
 * value at a bin's end is its last value at or before that step. Bins where some series has no
 * value yet are left out.
 *
 * @param series Per run, increasing steps and the values at them.
 * @param bins The number of grid points.
 * @returns Mean, min and max over runs at each grid point kept.
 */
export function alignRuns(
  series: readonly { steps: readonly number[]; values: readonly number[] }[],
  bins: number,
): AlignedPoint[] {
  const usable = series.filter((s) => s.steps.length > 0);
  if (usable.length === 0 || usable.length !== series.length) return [];
  const end = Math.min(...usable.map((s) => s.steps[s.steps.length - 1]));
  const cursors = usable.map(() => -1);
  const out: AlignedPoint[] = [];
  for (let b = 1; b <= bins; b++) {
    const step = (end * b) / bins;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let complete = true;
    usable.forEach((s, r) => {
      while (cursors[r] + 1 < s.steps.length && s.steps[cursors[r] + 1] <= step) cursors[r]++;
      if (cursors[r] < 0) {
        complete = false;
        return;
      }
      const v = s.values[cursors[r]];
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    });
    if (complete) out.push({ step, mean: sum / usable.length, min, max });
  }
  return out;
}
