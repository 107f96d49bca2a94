// The recommender environment's rules: the observation's layout, episode lengths between the
// budget and the time limit, the click model (its formula, monotone in the match, lowered by
// repeats, and the observed click rate equal to the stated probability), interest drift, the
// catalogue fixed by its seed, snapshots, the baselines' order (a far-sighted oracle beats the
// myopic one: the design's point), and a random policy's mean return with its standard error.
import assert from "node:assert/strict";
import { Recommender } from "../lib/envs/recommender.ts";
import { Rng } from "../lib/io/rng.ts";
import { myopicPolicy, popularPolicy, randomPolicy } from "../lib/rl/baselines.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { functionPolicy } from "./helpers/mod.ts";
import {
  assertRejects,
  assertResumes,
  RNG_EDITS,
  type SnapshotEnv,
} from "./helpers/env_snapshot.ts";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

Deno.test("Recommender's observation: the last H ids (item + 1, 0 empty) newest first, then their clicks", () => {
  const env = new Recommender({ items: 6, historyLength: 3, seed: 1 });
  assert.equal(env.observationSize, 6);
  assert.equal(env.actionCount, 6);
  assert.equal(env.vocabulary, 7);
  const { observation } = env.reset();
  assert.deepEqual(Array.from(observation), [0, 0, 0, 0, 0, 0]);
  const clicks: number[] = [];
  let last = observation;
  for (const item of [4, 0, 5, 2]) {
    const step = env.step(item);
    clicks.unshift(step.reward);
    assert.equal(step.reward, step.info.clicked ? 1 : 0);
    last = step.observation;
  }
  assert.deepEqual(Array.from(last.subarray(0, 3)), [3, 6, 1], "items 2, 5, 0 as ids 3, 6, 1");
  assert.deepEqual(Array.from(last.subarray(3)), clicks.slice(0, 3));
});

Deno.test("Recommender sessions last between the budget and the time limit", () => {
  const env = new Recommender({ seed: 2 });
  const rng = new Rng(3);
  let shortest = Infinity, longest = 0;
  for (let e = 0; e < 300; e++) {
    env.reset();
    for (let t = 1;; t++) {
      const step = env.step(rng.int(env.items));
      if (step.terminated || step.truncated) {
        assert.ok(!(step.terminated && step.truncated));
        assert.equal(
          step.terminated,
          env.budget <= 0,
          "terminated exactly when the budget is spent",
        );
        shortest = Math.min(shortest, t);
        longest = Math.max(longest, t);
        break;
      }
    }
  }
  assert.ok(shortest >= 10 && longest <= 100, `${shortest}..${longest}`);
  // Without refills every session lasts exactly the budget; with a huge budget, the time limit.
  const dry = new Recommender({ model: { refill: 0, budget: 7 }, seed: 4 });
  dry.reset();
  for (let t = 1; t <= 7; t++) {
    const step = dry.step(t % dry.items);
    assert.equal(step.terminated, t === 7);
  }
  assert.throws(() => dry.step(0), /the session has ended; call reset\(\) first/);
  const long = new Recommender({ model: { budget: 1000, maxSteps: 30 }, seed: 5 });
  long.reset();
  for (let t = 1; t <= 30; t++) {
    const step = long.step(t % long.items);
    assert.equal(step.truncated, t === 30);
    assert.equal(step.terminated, false);
  }
});

Deno.test("Recommender's click model: σ(w·u·v + appeal + bias − fatigue·repeats), rising with the match", () => {
  const env = new Recommender({ items: 12, interestDimension: 3, seed: 6 });
  env.reset();
  const { topics, appeal } = env.catalogue, m = env.model, d = env.interestDimension;
  const matchOf = (u: Float64Array, i: number) =>
    u.reduce((s, x, k) => s + x * topics[i * d + k], 0);
  const u = env.interest;
  const p = env.clickProbabilities();
  for (let i = 0; i < env.items; i++) {
    const expected = sigmoid(m.matchWeight * matchOf(u, i) + appeal[i] + m.clickBias);
    assert.ok(Math.abs(p[i] - expected) < 1e-12, `item ${i}`);
  }
  // With no appeal term, the order of the probabilities is the order of the matches.
  const plain = new Recommender({
    items: 12,
    interestDimension: 3,
    model: { appeal: 0, appealNoise: 0 },
  });
  plain.reset({ seed: 7 });
  const q = plain.clickProbabilities(), v = plain.interest;
  const items = [...Array(12).keys()];
  const byMatch = [...items].sort((a, b) => matchOf(v, a) - matchOf(v, b));
  const byClick = [...items].sort((a, b) => q[a] - q[b]);
  assert.deepEqual(byClick, byMatch);
  // A repeat lowers the logit by the fatigue, once per time the item is in the history.
  const still = new Recommender({ items: 5, model: { drift: 0 }, seed: 8 });
  still.reset();
  const before = still.clickProbabilities();
  still.step(2);
  still.step(2);
  const after = still.clickProbabilities();
  const logit = (x: number) => Math.log(x / (1 - x));
  assert.ok(Math.abs(logit(before[2]) - logit(after[2]) - 2 * still.model.fatigue) < 1e-9);
  assert.ok(Math.abs(after[0] - before[0]) < 1e-12, "other items are unchanged");
});

Deno.test("Recommender clicks happen at the stated probability (a z-test over 20 000 recommendations)", () => {
  const env = new Recommender({ seed: 9 });
  const rng = new Rng(10);
  let sum = 0, variance = 0, n = 0;
  env.reset();
  while (n < 20_000) {
    const item = rng.int(env.items);
    const p = env.clickProbabilities()[item];
    const step = env.step(item);
    sum += step.reward - p;
    variance += p * (1 - p);
    n++;
    if (step.terminated || step.truncated) env.reset();
  }
  const z = sum / Math.sqrt(variance);
  assert.ok(Math.abs(z) < 4, `z = ${z}`);
});

Deno.test("Recommender: a click moves the interest towards the item and refills the budget by its quality", () => {
  const env = new Recommender({ seed: 11 });
  const { topics, quality } = env.catalogue, d = env.interestDimension;
  let clicks = 0;
  for (let e = 0; clicks < 20; e++) {
    env.reset();
    for (;;) {
      const p = env.clickProbabilities();
      const item = p.indexOf(Math.max(...p));
      const u = env.interest, budget = env.budget;
      const before = u.reduce((s, x, k) => s + x * topics[item * d + k], 0);
      const step = env.step(item);
      const v = env.interest;
      if (step.info.clicked) {
        clicks++;
        const after = v.reduce((s, x, k) => s + x * topics[item * d + k], 0);
        assert.ok(after > before, "closer to what was consumed");
        assert.ok(Math.abs(v.reduce((s, x) => s + x * x, 0) - 1) < 1e-12, "still a unit vector");
        assert.ok(Math.abs(env.budget - (budget - 1 + env.model.refill * quality[item])) < 1e-12);
      } else {
        assert.deepEqual(v, u, "no click, no drift");
        assert.ok(Math.abs(env.budget - (budget - 1)) < 1e-12);
      }
      if (step.terminated || step.truncated) break;
    }
  }
});

Deno.test("Recommender's catalogue is fixed by its seed: clones and new sessions share it", () => {
  const a = new Recommender({ seed: 1 }), b = new Recommender({ seed: 2 });
  assert.deepEqual(b.catalogue, a.catalogue, "the session seed does not touch the catalogue");
  assert.deepEqual(a.clone().catalogue, a.catalogue);
  assert.deepEqual(a.popularity(), b.popularity());
  const other = new Recommender({ catalogueSeed: 1 });
  assert.notDeepEqual(other.catalogue.quality, a.catalogue.quality);
  const { quality, appeal } = a.catalogue;
  assert.ok(quality.every((q) => q >= 0 && q < 1));
  // Clickbait: appeal falls with quality (their correlation is strongly negative).
  const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
  const mq = mean(quality), ma = mean(appeal);
  let cov = 0, vq = 0, va = 0;
  quality.forEach((q, i) => {
    cov += (q - mq) * (appeal[i] - ma);
    vq += (q - mq) ** 2;
    va += (appeal[i] - ma) ** 2;
  });
  assert.ok(cov / Math.sqrt(vq * va) < -0.8);
});

Deno.test("Recommender resumes exactly from a snapshot, mid-session and between sessions", () => {
  const make = (seed: number) => new Recommender({ items: 8, seed }) as unknown as SnapshotEnv;
  assertResumes(make, [null, 0, 5, 37], 400, 5);
});

Deno.test("Recommender refuses bad actions, options and malformed snapshots", () => {
  const env = new Recommender({ seed: 12 });
  env.reset();
  for (const action of [-1, 20, 0.5, NaN]) assert.throws(() => env.step(action), RangeError);
  env.step(3);
  env.step(3);
  const twin = new Recommender();
  assertRejects(env as unknown as SnapshotEnv, twin as unknown as SnapshotEnv, "Recommender", [
    null,
    [],
    {},
  ], [
    ...RNG_EDITS,
    [["interest"], [0, 0]],
    [["interest", 0], 2],
    [["budget"], "10"],
    [["budget"], 1e9],
    [["history", 0], 20],
    [["history", 1], 0.5],
    [["history"], [1, 2]],
    [["clicks", 0], 2],
    [["elapsedSteps"], -1],
    [["elapsedSteps"], 101],
    [["ended"], "no"],
  ]);
  for (
    const [options, message] of [
      [{ items: 1 }, /items is 1, expected an integer >= 2/],
      [{ historyLength: 0 }, /historyLength is 0/],
      [{ interestDimension: 1.5 }, /interestDimension is 1.5/],
      [{ model: { drift: 2 } }, /model.drift is 2, expected in \[0, 1\]/],
      [{ model: { budget: 0 } }, /model.budget is 0, expected > 0/],
      [{ model: { maxSteps: 0 } }, /model.maxSteps is 0/],
    ] as const
  ) {
    assert.throws(() => new Recommender(options as never), message);
  }
});

Deno.test("a random recommender's mean return over 2 000 sessions is 5.98 ± 0.076 (SE), within 4 SE of 5.910 ± 0.024 (20 000)", async () => {
  // The reference: `deno task eval --env recommender --agent random --episodes 20000 --seed 77`
  // gave 5.910 with a standard deviation of 3.330, a standard error of 0.024.
  const env = new Recommender();
  const result = await evaluate(env, randomPolicy(env, { seed: 5 }), { episodes: 2000, seed: 1 });
  const se = result.stdReturn / Math.sqrt(2000);
  // Seeded: 5.9835 with a standard deviation of 3.401, a standard error of 0.076.
  assert.ok(se > 0.06 && se < 0.09, `standard error ${se}`);
  const combined = Math.sqrt(se ** 2 + 0.024 ** 2);
  assert.ok(Math.abs(result.meanReturn - 5.910) < 4 * combined, `${result.meanReturn} ± ${se}`);
});

Deno.test("Recommender's baselines: random < most popular < myopic oracle < a far-sighted oracle", async () => {
  const env = new Recommender();
  const run = (policy: Parameters<typeof evaluate>[1]) =>
    evaluate(env, policy, { episodes: 1000, seed: 3 }).then((r) => r.meanReturn);
  const random = await run(randomPolicy(env, { seed: 1 }));
  const popular = await run(popularPolicy(env));
  const myopic = await run(myopicPolicy(env));
  // The far-sighted oracle weighs each click by the budget it gives back: p · (1 + 2q).
  const { quality } = env.catalogue;
  const farSighted = await run(functionPolicy(() => {
    const p = env.clickProbabilities();
    let best = 0;
    for (let i = 1; i < p.length; i++) {
      if (p[i] * (1 + 2 * quality[i]) > p[best] * (1 + 2 * quality[best])) best = i;
    }
    return best;
  }));
  assert.ok(random < popular && popular < myopic, `${random} < ${popular} < ${myopic}`);
  assert.ok(farSighted > 1.5 * myopic, `looking ahead pays: ${farSighted} vs ${myopic}`);
});
