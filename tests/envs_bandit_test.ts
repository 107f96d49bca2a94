import assert from "node:assert/strict";
import { Bandit, type BanditOptions } from "../lib/envs/bandit.ts";
import type { JsonObject } from "../lib/io/json.ts";
import { assertRejects, assertResumes, RNG_EDITS } from "./helpers/env_snapshot.ts";

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

Deno.test("Bandit testbed draws q* from N(0, 1) at every reset", () => {
  const env = new Bandit({ seed: 1 });
  const draws: number[] = [];
  for (let e = 0; e < 500; e++) {
    const { observation, info } = env.reset();
    assert.deepEqual([...observation], new Array(11).fill(0), "nothing seen yet");
    assert.equal(info.optimalArm, argmax(env.means));
    draws.push(...env.means);
  }
  const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
  const variance = draws.reduce((a, x) => a + (x - mean) ** 2, 0) / draws.length;
  // 5000 draws: sd of the mean ≈ 0.014, of the variance ≈ 0.02.
  assert.ok(Math.abs(mean) < 0.07, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.1, `variance ${variance}`);
});

Deno.test("Bandit Gaussian rewards are N(q*, 1) and info flags the optimal arm", () => {
  const env = new Bandit({ arms: 4, maxEpisodeSteps: 40000, seed: 2 });
  env.reset();
  const means = env.means;
  const best = argmax(means);
  const worst = means.indexOf(Math.min(...means));
  const rewards: number[] = [];
  for (let t = 0; t < 20000; t++) {
    const step = env.step(worst);
    assert.deepEqual(step.info, { optimalArm: best, optimal: false });
    if (t === 0) {
      // The observation is the arm just pulled, one-hot, and the reward it paid.
      const expected = [0, 0, 0, 0, step.reward];
      expected[worst] = 1;
      assert.deepEqual([...step.observation], expected.map(Math.fround));
    }
    rewards.push(step.reward);
  }
  assert.equal(env.step(best).info.optimal, true);
  const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
  const sd = Math.sqrt(rewards.reduce((a, x) => a + (x - mean) ** 2, 0) / rewards.length);
  assert.ok(Math.abs(mean - means[worst]) < 0.04, `mean ${mean} vs ${means[worst]}`);
  assert.ok(Math.abs(sd - 1) < 0.03, `sd ${sd}`);
  assert.deepEqual(env.means, means, "stationary means do not move");
});

Deno.test("Bandit Bernoulli rewards are 0 or 1 with probability q*", () => {
  const env = new Bandit({ arms: 3, kind: "bernoulli", maxEpisodeSteps: 20000, seed: 3 });
  env.reset();
  const q = env.means[1];
  assert.ok(q >= 0 && q < 1);
  let ones = 0;
  for (let t = 0; t < 20000; t++) {
    const { reward } = env.step(1);
    assert.ok(reward === 0 || reward === 1);
    ones += reward;
  }
  assert.ok(Math.abs(ones / 20000 - q) < 0.02, `${ones / 20000} vs ${q}`);
});

Deno.test("Bandit drift walks every q* by N(0, drift²) per step from equal means", () => {
  const env = new Bandit({ drift: 0.01, maxEpisodeSteps: 5000, seed: 4 });
  env.reset();
  assert.deepEqual([...env.means], new Array(10).fill(0), "exercise 2.5 starts equal");
  const increments: number[] = [];
  let previous = env.means;
  let optimal = 0;
  for (let t = 0; t < 2000; t++) {
    const best = argmax(previous);
    const step = env.step(0);
    assert.equal(step.info.optimalArm, best, "the info describes the means the action faced");
    optimal += step.info.optimal ? 1 : 0;
    const now = env.means;
    now.forEach((m, a) => increments.push(m - previous[a]));
    previous = now;
  }
  const sd = Math.sqrt(increments.reduce((a, x) => a + x * x, 0) / increments.length);
  assert.ok(Math.abs(sd - 0.01) < 0.0005, `increment sd ${sd}`);
  assert.ok(optimal < 2000, "arm 0 does not stay the best forever");
});

Deno.test("Bandit truncates at maxEpisodeSteps and rejects invalid arms", () => {
  const env = new Bandit({ arms: 3, maxEpisodeSteps: 2 });
  env.reset();
  assert.deepEqual([env.step(0).truncated, env.step(2).truncated], [false, true]);
  assert.throws(() => env.step(0), /episode has ended/);
  env.reset();
  for (const action of [-1, 3, 1.5, NaN]) assert.throws(() => env.step(action), RangeError);
  assert.throws(() => new Bandit({ arms: 0 }), RangeError);
  assert.throws(() => new Bandit({ drift: -1 }), RangeError);
});

const SNAPSHOT_OPTIONS: BanditOptions[] = [
  { maxEpisodeSteps: 60 },
  { arms: 4, drift: 0.1, rewardStd: 2, maxEpisodeSteps: 45 },
  { arms: 3, kind: "bernoulli", drift: 0.2, initialMeans: "normal", maxEpisodeSteps: 50 },
];

for (const options of SNAPSHOT_OPTIONS) {
  Deno.test(`Bandit snapshots resume every episode exactly ${JSON.stringify(options)}`, () => {
    assertResumes((seed) => new Bandit({ ...options, seed }), [null, 0, 1, 2, 7, 45, 60], 400, 6);
  });
}

Deno.test("Bandit snapshots keep the drifted means and the pending Gaussian", () => {
  const env = new Bandit({ arms: 4, drift: 0.1, seed: 2 });
  env.reset();
  env.step(0); // one Gaussian for the reward and four for the walk: one pair is half used
  const saved = env.getState() as JsonObject;
  assert.notEqual((saved.rng as JsonObject).spareNormal, null);
  assert.deepEqual(saved.means, [...env.means]);
  assert.ok(env.means.some((m) => m !== 0), "the means have left their equal start");
  const copy = new Bandit({ arms: 4, drift: 0.1 });
  copy.setState(JSON.parse(JSON.stringify(saved)));
  assert.deepEqual(copy.means, env.means);
  assert.deepEqual(copy.step(3), env.step(3));
});

Deno.test("Bandit setState refuses malformed states and then changes nothing", () => {
  const gaussian = new Bandit({ arms: 3, seed: 4 });
  gaussian.reset();
  gaussian.step(1);
  assertRejects(gaussian, new Bandit({ arms: 3 }), "Bandit", [null, [], "x", false, {}], [
    ...RNG_EDITS,
    [["means"], [0, 0]],
    [["means"], [0, 0, 0, 0]],
    [["means", 0], NaN],
    [["means", 1], Infinity],
    [["means", 2], "1"],
    [["means"], undefined],
    [["elapsedSteps"], 1001],
    [["elapsedSteps"], 1000], // in progress at the time limit
    [["elapsedSteps"], 0.5],
    [["ended"], "no"],
  ]);
  const bernoulli = new Bandit({ arms: 3, kind: "bernoulli", seed: 4 });
  bernoulli.reset();
  assertRejects(bernoulli, new Bandit({ arms: 3, kind: "bernoulli" }), "Bandit", [], [
    [["means", 0], 1.5],
    [["means", 1], -0.1],
  ]);
});
