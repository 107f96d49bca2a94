import assert from "node:assert/strict";
import { Rng } from "../lib/io/rng.ts";
import {
  aggregateScores,
  bootstrapInterval,
  curveBand,
  interquartileMean,
  mean,
  median,
  normalizeScores,
  optimalityGap,
  performanceProfile,
  probabilityOfImprovement,
  type ScoreMatrix,
  stepsToThreshold,
  stratifiedBootstrapInterval,
} from "../lib/report/stats.ts";

function near(actual: number, expected: number, tol = 1e-12): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);
}

function normals(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

Deno.test("interquartileMean matches scipy's trim_mean(x, 0.25): floor(n / 4) cut from each end", () => {
  // n = 8, cut 2: 3, 4, 5, 6.
  assert.equal(interquartileMean([8, 1, 7, 2, 6, 3, 5, 4]), 4.5);
  // scipy's docs: trim_mean(np.arange(20), 0.25) keeps 5..14, whose mean is 9.5.
  assert.equal(interquartileMean(Array.from({ length: 20 }, (_, i) => i)), 9.5);
  // n = 7: 1.75 rounds down to 1 cut (rounding to 2 would keep 1, 2, 4 and give 7/3).
  assert.equal(interquartileMean([100, 0, 8, 1, 4, 0, 2]), (0 + 1 + 2 + 4 + 8) / 5);
  // n = 10: 2.5 cuts 2, neither 3 (round half up) nor the skewed 11/4 that 3 would give.
  assert.equal(interquartileMean([0, 0, 0, 1, 2, 3, 5, 8, 13, 1000]), (0 + 1 + 2 + 3 + 5 + 8) / 6);
  // n = 5 and 6 cut 1; n = 3 cuts nothing.
  assert.equal(interquartileMean([1, 2, 3, 4, 100]), 3);
  assert.equal(interquartileMean([1, 2, 3, 4, 5, 60]), 3.5);
  assert.equal(interquartileMean([1, 2, 9]), 4);
  assert.equal(interquartileMean([7]), 7);
});

Deno.test("interquartileMean pools every run of every task (trim_mean with axis=None)", () => {
  assert.equal(interquartileMean([[5, 1], [3, 7], [2, 8], [4, 6]]), 4.5);
  // Pooled and sorted: 1, 3, 10, 30, 100, 300; one cut from each end.
  assert.equal(interquartileMean([[1, 10, 100], [3, 30, 300]]), (3 + 10 + 30 + 100) / 4);
});

Deno.test("mean and median of a matrix are those of the task means, as rliable aggregates", () => {
  const scores = [[1, 10, 100], [3, 30, 300]]; // task means 2, 20, 200
  assert.equal(mean(scores), 74);
  assert.equal(median(scores), 20);
  // With one task the median is that task's mean, not the median of its runs.
  near(median([[1], [2], [10]]), 13 / 3);
  // Of a sample: the usual mean and median.
  assert.equal(mean([1, 2, 6]), 3);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([5, 1, 100, 2]), 3.5);
  // Task means 1.5 and 3.5, 5.5: an even count of tasks averages the middle two.
  assert.equal(median([[1, 3, 5], [2, 4, 6]]), 3.5);
  assert.equal(median([[1, 3, 5, 7], [2, 4, 6, 8]]), 4.5);
});

Deno.test("optimalityGap clips scores at the threshold before averaging", () => {
  // min(·, 1): 0.5, 1, 0.9, 0.1 → mean 0.625.
  near(optimalityGap([[0.5, 1.2], [0.9, 0.1]]), 0.375);
  // min(·, 2) keeps 1.2: mean 0.675.
  near(optimalityGap([[0.5, 1.2], [0.9, 0.1]], 2), 1.325);
  assert.equal(optimalityGap([1, 1.5, 3]), 0);
  assert.equal(optimalityGap([0, 0]), 1);
  assert.equal(optimalityGap([40, 60], 50), 5);
});

Deno.test("probabilityOfImprovement is the Mann–Whitney U over the pairs, ties counting 1/2", () => {
  // x = 1, 2, 3 against y = 1, 2. Pairs with x > y: 2>1, 3>1, 3>2; ties 1=1, 2=2; so U = 3 + 1.
  // By ranks: pooled 1, 1, 2, 2, 3 rank 1.5, 1.5, 3.5, 3.5, 5; R_x = 10, U = 10 − 3·4/2 = 4.
  near(probabilityOfImprovement([[1], [2], [3]], [[1], [2]]).estimate, 4 / 6);
  // scipy's mannwhitneyu docs: males 19, 22, 16, 29, 24 against females 20, 11, 17, 12 give
  // U1 = 17 (females below each male: 3, 4, 2, 4, 4), out of 20 pairs.
  const males = [19, 22, 16, 29, 24].map((v) => [v]);
  const females = [20, 11, 17, 12].map((v) => [v]);
  near(probabilityOfImprovement(males, females).estimate, 17 / 20);
  near(probabilityOfImprovement(females, males).estimate, 3 / 20);
  // Two tasks average their terms: 4/6 and 1 (5, 6, 7 above 1, 2).
  const x = [[1, 5], [2, 6], [3, 7]];
  const y = [[1, 1], [2, 2]];
  near(probabilityOfImprovement(x, y).estimate, (4 / 6 + 1) / 2);
  // All ties: 1/2.
  assert.equal(probabilityOfImprovement([[2], [2]], [[2], [2], [2]]).estimate, 0.5);
});

Deno.test("probabilityOfImprovement of identical samples is 0.5, of separated ones 1 and 0", () => {
  const rng = new Rng(11);
  const same = Array.from({ length: 6 }, () => [rng.normal(), rng.normal()]);
  assert.equal(probabilityOfImprovement(same, same, { seed: 1 }).estimate, 0.5);

  const high = [[10, 20], [11, 21], [12, 22]];
  const low = [[1, 2], [2, 3], [3, 4], [4, 5]];
  assert.deepEqual(probabilityOfImprovement(high, low, { seed: 1 }), {
    estimate: 1,
    lower: 1,
    upper: 1,
  });
  assert.deepEqual(probabilityOfImprovement(low, high, { seed: 1 }), {
    estimate: 0,
    lower: 0,
    upper: 0,
  });
});

Deno.test("probabilityOfImprovement of two samples of one distribution has an interval around 0.5", () => {
  const rng = new Rng(5);
  const draw = (): number[][] => Array.from({ length: 30 }, () => normals(rng, 3));
  const { estimate, lower, upper } = probabilityOfImprovement(draw(), draw(), { seed: 2 });
  assert.ok(Math.abs(estimate - 0.5) < 0.12, `${estimate}`);
  assert.ok(lower < 0.5 && 0.5 < upper, `[${lower}, ${upper}]`);
  assert.ok(upper - lower < 0.3, `[${lower}, ${upper}]`);
  // P(X > Y) + P(Y > X) = 1 when ties count half.
  const a = draw();
  const b = draw();
  near(
    probabilityOfImprovement(a, b).estimate + probabilityOfImprovement(b, a).estimate,
    1,
  );
});

Deno.test("bootstrapInterval of a constant sample is that constant", () => {
  assert.deepEqual(bootstrapInterval([3, 3, 3, 3, 3], mean, { seed: 1 }), {
    estimate: 3,
    lower: 3,
    upper: 3,
  });
  const tenths = new Array(7).fill(0.1);
  const { estimate, lower, upper } = bootstrapInterval(tenths, interquartileMean, { seed: 4 });
  assert.equal(lower, estimate);
  assert.equal(upper, estimate);
  near(estimate, 0.1);
});

Deno.test("bootstrapInterval takes numpy's linearly interpolated percentiles of the replicates", () => {
  // A statistic that ignores its input and counts its calls: the sample gives 0, the resamples
  // 1..5. Percentiles 25 and 75 of 1..5 sit at (5 − 1)·p = 1 and 3; 5 and 95 at 0.2 and 3.8.
  const counter = (): () => number => {
    let calls = 0;
    return () => calls++;
  };
  assert.deepEqual(
    bootstrapInterval([1, 2], counter(), { resamples: 5, confidence: 0.5 }),
    { estimate: 0, lower: 2, upper: 4 },
  );
  const wide = bootstrapInterval([1, 2], counter(), { resamples: 5, confidence: 0.9 });
  near(wide.lower, 1.2);
  near(wide.upper, 4.8);
});

Deno.test("bootstrapInterval resamples with replacement, each index equally likely", () => {
  // The mean of two draws from {0, 1} is 0, 1/2 or 1 with probabilities 1/4, 1/2, 1/4. Resampling
  // without replacement would always give 1/2.
  const seen: number[] = [];
  const record = (s: readonly number[]): number => {
    seen.push(mean(s));
    return seen[seen.length - 1];
  };
  const { lower, upper } = bootstrapInterval([0, 1], record, { seed: 9, confidence: 0.4 });
  const replicates = seen.slice(1);
  assert.equal(replicates.length, 2000);
  const share = (v: number) => replicates.filter((r) => r === v).length / replicates.length;
  near(share(0), 0.25, 0.03);
  near(share(0.5), 0.5, 0.03);
  near(share(1), 0.25, 0.03);
  // Percentiles 30 and 70 both fall among the halves.
  assert.deepEqual([lower, upper], [0.5, 0.5]);
  const full = bootstrapInterval([0, 1], mean, { seed: 9 });
  assert.deepEqual([full.lower, full.upper], [0, 1]);
});

Deno.test("bootstrapInterval of the mean of N(0, 1) samples covers 0 at about its confidence", () => {
  const rng = new Rng(2021);
  const repetitions = 200;
  const coverage = (confidence: number): number => {
    let covered = 0;
    for (let k = 0; k < repetitions; k++) {
      const sample = normals(rng, 20);
      const { lower, upper } = bootstrapInterval(sample, mean, {
        confidence,
        resamples: 1000,
        seed: k,
      });
      if (lower <= 0 && 0 <= upper) covered++;
    }
    return covered / repetitions;
  };
  // The percentile bootstrap of a mean of 20 runs a little below nominal (about 93%); a binomial
  // standard error over 200 repetitions is about 1.7%.
  const at95 = coverage(0.95);
  assert.ok(at95 >= 0.88 && at95 <= 0.99, `95% intervals covered 0 in ${at95}`);
  const at50 = coverage(0.5);
  assert.ok(at50 >= 0.38 && at50 <= 0.62, `50% intervals covered 0 in ${at50}`);
});

Deno.test("bootstrapInterval gives the same interval bit for bit from the same seed", () => {
  const sample = normals(new Rng(3), 10);
  const a = bootstrapInterval(sample, interquartileMean, { seed: 42 });
  const b = bootstrapInterval(sample, interquartileMean, { seed: 42 });
  assert.deepEqual(a, b);
  assert.ok(Object.is(a.lower, b.lower) && Object.is(a.upper, b.upper));
  const c = bootstrapInterval(sample, interquartileMean, { seed: 43 });
  assert.notDeepEqual([a.lower, a.upper], [c.lower, c.upper]);
});

Deno.test("stratifiedBootstrapInterval resamples runs within each task, each task on its own", () => {
  // Run r scores r on task 0 and 100 + 10·r on task 1.
  const scores = [0, 1, 2, 3, 4].map((r) => [r, 100 + 10 * r]);
  let resamples = 0;
  let mixedRuns = 0;
  const aggregate = (m: ScoreMatrix): number => {
    assert.equal(m.length, 5);
    for (const [a, b] of m) {
      assert.ok([0, 1, 2, 3, 4].includes(a), `task 0 got ${a}`);
      assert.ok([100, 110, 120, 130, 140].includes(b), `task 1 got ${b}`);
      if (b !== 100 + 10 * a) mixedRuns++;
    }
    resamples++;
    return mean(m);
  };
  stratifiedBootstrapInterval(scores, aggregate, { resamples: 200, seed: 1 });
  assert.equal(resamples, 201);
  // Resampling whole runs would keep every row as it was.
  assert.ok(mixedRuns > 500, `${mixedRuns} rows of 1000 mixed runs`);
});

Deno.test("stratifiedBootstrapInterval of one task equals bootstrapInterval of its runs", () => {
  const sample = normals(new Rng(8), 9);
  const column = sample.map((v) => [v]);
  assert.deepEqual(
    stratifiedBootstrapInterval(column, mean, { seed: 5 }),
    bootstrapInterval(sample, mean, { seed: 5 }),
  );
  // Tasks whose runs agree leave no uncertainty.
  assert.deepEqual(stratifiedBootstrapInterval([[1, 2], [1, 2], [1, 2]], mean, { seed: 5 }), {
    estimate: 1.5,
    lower: 1.5,
    upper: 1.5,
  });
});

Deno.test("aggregateScores gives the four aggregates with intervals from shared resamples", () => {
  const scores = [[1, 10, 100], [3, 30, 300]];
  const all = aggregateScores(scores, { seed: 1, threshold: 50 });
  assert.equal(all.interquartileMean.estimate, 35.75);
  assert.equal(all.mean.estimate, 74);
  assert.equal(all.median.estimate, 20);
  // min(·, 50): 1, 3, 10, 30, 50, 50 → mean 24.
  assert.equal(all.optimalityGap.estimate, 26);

  const rng = new Rng(12);
  const noisy = Array.from({ length: 8 }, () => [0, 1, 2].map((t) => t + rng.normal()));
  const agg = aggregateScores(noisy, { seed: 3 });
  for (const interval of Object.values(agg)) {
    assert.ok(interval.lower <= interval.estimate && interval.estimate <= interval.upper);
    assert.ok(interval.lower < interval.upper);
  }
  // Each is the interval its own stratified bootstrap would give from the same seed.
  assert.deepEqual(
    agg.interquartileMean,
    stratifiedBootstrapInterval(noisy, interquartileMean, {
      seed: 3,
    }),
  );
  assert.deepEqual(agg.median, stratifiedBootstrapInterval(noisy, median, { seed: 3 }));
  assert.deepEqual(aggregateScores(noisy, { seed: 3 }), agg);
});

Deno.test("performanceProfile counts the scores strictly above each threshold", () => {
  const profile = performanceProfile([[0, 1], [2, 3]], [-1, 0, 1, 2.5, 3], { seed: 1 });
  // Above −1: 4; above 0: 1, 2, 3; above 1: 2, 3; above 2.5: 3; above 3: none.
  assert.deepEqual(profile.map((p) => p.estimate), [1, 0.75, 0.5, 0.25, 0]);
  assert.deepEqual(profile.map((p) => p.threshold), [-1, 0, 1, 2.5, 3]);
  // The order of the thresholds is kept.
  const shuffled = performanceProfile([[0, 1], [2, 3]], [1, -1], { seed: 1 });
  assert.deepEqual(shuffled.map((p) => [p.threshold, p.estimate]), [[1, 0.5], [-1, 1]]);
});

Deno.test("performanceProfile and its band never rise with the threshold", () => {
  const rng = new Rng(4);
  const scores = Array.from({ length: 10 }, () => [0, 0.5, 1, 2].map((t) => t + rng.normal()));
  const taus = Array.from({ length: 41 }, (_, i) => -2 + i * 0.125);
  const profile = performanceProfile(scores, taus, { seed: 6, resamples: 500 });
  for (let i = 0; i < profile.length; i++) {
    const p = profile[i];
    assert.ok(0 <= p.lower && p.lower <= p.estimate && p.estimate <= p.upper && p.upper <= 1);
    if (i === 0) continue;
    const q = profile[i - 1];
    assert.ok(p.estimate <= q.estimate && p.lower <= q.lower && p.upper <= q.upper, `τ=${taus[i]}`);
  }
  assert.ok(profile.some((p) => p.lower < p.upper));
});

Deno.test("normalizeScores maps min to 0 and max to 1, per task where given", () => {
  assert.deepEqual(normalizeScores([22, 500, 261], { min: 22, max: 500 }), [0, 1, 0.5]);
  assert.deepEqual(
    normalizeScores([[250, -100], [500, -50], [0, -300]], {
      min: [0, -200],
      max: [500, 0],
    }),
    [[0.5, 0.5], [1, 0.75], [0, -0.5]],
  );
  assert.deepEqual(normalizeScores([5, 10], { min: [0, 10], max: [10, 20] }), [0.5, 0]);
  assert.throws(
    () => normalizeScores([[1, 2]], { min: [0, 3], max: [1, 3] }),
    new RangeError("Cannot normalise scores: max equals min (3) for task 1"),
  );
  assert.throws(
    () => normalizeScores([[1, 2]], { min: [0], max: 1 }),
    new TypeError("Cannot normalise scores: min has 1 values, expected 2, one a task"),
  );
});

Deno.test("stepsToThreshold finds the first step a (smoothed) curve reaches the threshold", () => {
  const curve = [
    { step: 100, value: 20 },
    { step: 200, value: 480 },
    { step: 300, value: 500 },
    { step: 400, value: 475 },
  ];
  assert.equal(stepsToThreshold(curve, 475), 200);
  assert.equal(stepsToThreshold(curve, 480), 200); // reaching counts
  assert.equal(stepsToThreshold(curve, 490), 300);
  // Rolling means of 2: 20, 250, 490, 487.5.
  assert.equal(stepsToThreshold(curve, 475, { window: 2 }), 300);
  // Of 3: 20, 250, 333.3, 485.
  assert.equal(stepsToThreshold(curve, 475, { window: 3 }), 400);
  assert.equal(stepsToThreshold(curve, 501), null);
  assert.throws(
    () => stepsToThreshold([{ step: 2, value: 0 }, { step: 1, value: 0 }], 1),
    new RangeError(
      "Cannot find the steps to a threshold: the steps of the curve decrease at point 1",
    ),
  );
});

Deno.test("curveBand gives the mean over seeds and, at each step, bootstrapInterval's interval", () => {
  const rng = new Rng(10);
  const steps = [1000, 2000, 3000, 4000];
  const curves = Array.from(
    { length: 6 },
    () => steps.map((step, k) => ({ step, value: 100 * k + 30 * rng.normal() })),
  );
  const band = curveBand(curves, { seed: 7 });
  assert.deepEqual(band.map((p) => p.step), steps);
  band.forEach((p, k) => {
    const atStep = curves.map((c) => c[k].value);
    const { estimate, lower, upper } = bootstrapInterval(atStep, mean, { seed: 7 });
    assert.deepEqual(p, { step: steps[k], mean: estimate, lower, upper });
  });
  // Seeds that agree leave no band.
  const same = [0, 1, 2].map(() => steps.map((step) => ({ step, value: step / 10 })));
  for (const p of curveBand(same, { seed: 1 })) {
    assert.deepEqual([p.lower, p.upper], [p.mean, p.mean]);
  }
});

Deno.test("curveBand aligns curves logged at different steps on a common grid", () => {
  const a = [{ step: 0, value: 0 }, { step: 10, value: 1 }, { step: 20, value: 2 }];
  const b = [{ step: 5, value: 10 }, { step: 15, value: 11 }, { step: 25, value: 12 }];
  // At 0, b has no value yet: left out. At 10: 1 and 10; at 20: 2 and 11.
  const band = curveBand([a, b], { grid: [0, 10, 20], seed: 1 });
  assert.deepEqual(band.map((p) => [p.step, p.mean]), [[10, 5.5], [20, 6.5]]);
  for (const p of band) assert.ok(p.lower <= p.mean && p.mean <= p.upper);
  // A number of bins spans 0 to the last step both reach (20); at 5, a still holds its 0.
  const bins = curveBand([a, b], { grid: 4, seed: 1 });
  assert.deepEqual(bins.map((p) => [p.step, p.mean]), [[5, 5], [10, 5.5], [15, 6], [20, 6.5]]);
  // By default, curves at different steps get 100 bins of 0.2: those from 5 on (25..100) are kept.
  const fine = curveBand([a, b], { seed: 1 });
  assert.equal(fine.length, 76);
  assert.equal(fine[0].step, 5);
});

Deno.test("stats functions reject wrong shapes with TypeError and bad values with RangeError", () => {
  assert.throws(
    () => mean([[1, 2], [3]]),
    new TypeError("Cannot compute the mean: run 1 of scores has 1 tasks, expected 2"),
  );
  assert.throws(() => mean([]), new RangeError("Cannot compute the mean: no scores"));
  assert.throws(
    () => interquartileMean([1, NaN]),
    new RangeError("Cannot compute the interquartile mean: score 1 is NaN"),
  );
  assert.throws(
    () => median([[1, Infinity]]),
    new RangeError("Cannot compute the median: the score of run 0, task 1 is Infinity"),
  );
  assert.throws(
    () => bootstrapInterval([1, 2], mean, { confidence: 1 }),
    new RangeError("Cannot compute a bootstrap interval: confidence is 1, expected (0, 1)"),
  );
  assert.throws(
    () => bootstrapInterval([1, 2], mean, { resamples: 0 }),
    new RangeError("Cannot compute a bootstrap interval: resamples is 0, expected an integer >= 1"),
  );
  assert.throws(
    () => bootstrapInterval([1, 2], () => NaN),
    new RangeError("Cannot compute a bootstrap interval: the statistic of the sample is NaN"),
  );
  assert.throws(
    () => probabilityOfImprovement([[1, 2]], [[1]]),
    new TypeError("Cannot compute the probability of improvement: x has 2 tasks and y has 1"),
  );
  assert.throws(
    () => aggregateScores([1, 2, 3] as unknown as number[][]),
    new TypeError("Cannot aggregate scores: expected scores as a matrix [run][task]"),
  );
  assert.throws(
    () => performanceProfile([[1]], [NaN]),
    new RangeError("Cannot compute a performance profile: threshold 0 is NaN"),
  );
  assert.throws(() => curveBand([]), new RangeError("Cannot compute a curve band: no curves"));
  assert.throws(
    () => curveBand([[{ step: 1, value: 1 }], []]),
    new RangeError("Cannot compute a curve band: curve 1 has no points"),
  );
});
