import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng } from "../lib/io/rng.ts";
import {
  argmaxRandom,
  type BanditLearner,
  BetaThompson,
  EpsilonGreedy,
  GaussianThompson,
  GradientBandit,
  restoreBanditLearner,
  sampleCategorical,
  softmaxInto,
  Ucb,
} from "../lib/rl/bandits.ts";
import {
  createTestbedAgent,
  defaultTestbedMethods,
  runTestbed,
  type TestbedMethod,
  testbedSeeds,
  testbedToJson,
  windowMean,
} from "../lib/rl/bandit_testbed.ts";
import { parseTestbed } from "../lib/report/run_data.ts";
import { banditTestbed } from "../tasks/bandit_testbed.ts";

/** Asserts |actual − expected| ≤ 4 standard errors of a binomial proportion over n draws. */
function assertProportion(count: number, n: number, p: number, what: string): void {
  const se = Math.sqrt((p * (1 - p)) / n);
  const observed = count / n;
  assert.ok(
    Math.abs(observed - p) <= 4 * se,
    `${what}: observed ${observed.toFixed(4)}, expected ${p.toFixed(4)} ± ${(4 * se).toFixed(4)}`,
  );
}

Deno.test("argmaxRandom breaks ties uniformly and never picks a smaller value", () => {
  const rng = new Rng(5);
  const values = [0.5, 2, -1, 2, 2, 1.9];
  const counts = [0, 0, 0, 0, 0, 0];
  const n = 30_000;
  for (let i = 0; i < n; i++) counts[argmaxRandom(values, rng)]++;
  assert.equal(counts[0] + counts[2] + counts[5], 0);
  for (const arm of [1, 3, 4]) assertProportion(counts[arm], n, 1 / 3, `arm ${arm}`);
  // Offsets address a slice; a unique maximum draws nothing from the RNG.
  const before = rng.getState();
  assert.equal(argmaxRandom([9, 9, 1, 3, 2], rng, 2, 3), 1);
  assert.deepEqual(rng.getState(), before);
});

Deno.test("softmaxInto and sampleCategorical invert the softmax distribution", () => {
  const pi = new Float64Array(3);
  softmaxInto([1000, 1000 + Math.log(2), 1000 + Math.log(5)], pi, 0, 3);
  assert.ok(pi.every((p, i) => Math.abs(p - [1 / 8, 2 / 8, 5 / 8][i]) < 1e-12), `${pi}`);
  assert.equal(sampleCategorical(pi, 0, 3, 0.1249), 0);
  assert.equal(sampleCategorical(pi, 0, 3, 0.1251), 1);
  assert.equal(sampleCategorical(pi, 0, 3, 0.3751), 2);
  assert.equal(sampleCategorical(pi, 0, 3, 0.9999999), 2);
});

Deno.test("EpsilonGreedy sample averages equal the mean and constant steps weight recency", () => {
  const average = new EpsilonGreedy(2);
  const rewards = [3, -1, 4, 1.5, 9];
  for (const r of rewards) average.update(1, r);
  const mean = rewards.reduce((a, b) => a + b) / rewards.length;
  assert.ok(Math.abs(average.values()[1] - mean) < 1e-12);
  assert.equal(average.values()[0], 0);

  // Q_{n+1} = (1 − α)^n Q_1 + Σ α (1 − α)^{n−i} R_i (Sutton & Barto equation 2.6).
  const alpha = 0.3;
  const recency = new EpsilonGreedy(2, { stepSize: alpha, initialValue: 5 });
  for (const r of rewards) recency.update(0, r);
  const n = rewards.length;
  let expected = (1 - alpha) ** n * 5;
  rewards.forEach((r, i) => (expected += alpha * (1 - alpha) ** (n - 1 - i) * r));
  assert.ok(Math.abs(recency.values()[0] - expected) < 1e-12);
});

Deno.test("EpsilonGreedy explores with probability epsilon over all arms", () => {
  const agent = new EpsilonGreedy(5, { epsilon: 0.2, seed: 9 });
  agent.update(3, 10);
  const n = 20_000;
  let other = 0;
  for (let i = 0; i < n; i++) if (agent.act() !== 3) other++;
  // A random pull lands on the greedy arm 1/5 of the time.
  assertProportion(other, n, 0.2 * (4 / 5), "non-greedy pulls");
  const greedy = new EpsilonGreedy(5, { epsilon: 0 });
  greedy.update(2, 0.1);
  for (let i = 0; i < 100; i++) assert.equal(greedy.act(), 2);
});

Deno.test("Ucb tries every arm once, then maximises the upper confidence bound", () => {
  const agent = new Ucb(3, { c: 2, seed: 4 });
  const tried = new Set<number>();
  const rewards = [1, 0.2, 0.5];
  for (let t = 0; t < 3; t++) {
    const arm = agent.act();
    assert.ok(!tried.has(arm));
    tried.add(arm);
    agent.update(arm, rewards[arm]);
  }
  agent.update(0, 1); // arm 0: n = 2, Q = 1; arms 1 and 2: n = 1. Now t = 5.
  const bound = (q: number, n: number) => q + 2 * Math.sqrt(Math.log(5) / n);
  const bounds = [bound(1, 2), bound(0.2, 1), bound(0.5, 1)];
  assert.equal(agent.act(), bounds.indexOf(Math.max(...bounds)));
  assert.equal(agent.act(), 2);
});

Deno.test("GaussianThompson keeps the conjugate Normal posterior and samples from it", () => {
  const agent = new GaussianThompson(2, { priorMean: 1, priorStd: 2, noiseStd: 0.5, seed: 3 });
  const rewards = [0.3, 1.1, -0.4];
  for (const r of rewards) agent.update(1, r);
  // Precision 1/4 + 3·4; mean (1/4 + 4·Σr) / precision.
  const precision = 0.25 + 3 * 4;
  const mean = (0.25 * 1 + 4 * rewards.reduce((a, b) => a + b)) / precision;
  assert.ok(Math.abs(agent.values()[1] - mean) < 1e-12);
  const state = agent.save();
  assert.ok(Math.abs(state.precisions[1] - precision) < 1e-12);
  // P(pick arm 0) = P(N(1, 4) > N(mean, 1/precision)) = Φ((1 − mean) / sqrt(4 + 1/precision)).
  const z = (1 - mean) / Math.sqrt(4 + 1 / precision);
  const p = 0.5 * (1 + erf(z / Math.SQRT2));
  let zeros = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) if (agent.act() === 0) zeros++;
  assertProportion(zeros, n, p, "pulls of arm 0");
});

Deno.test("BetaThompson finds the best Bernoulli arm and rejects rewards outside 0..1", () => {
  const probabilities = [0.2, 0.5, 0.8];
  const agent = new BetaThompson(3, { seed: 2 });
  const coin = new Rng(8);
  let best = 0;
  for (let t = 0; t < 2000; t++) {
    const arm = agent.act();
    agent.update(arm, coin.uniform() < probabilities[arm] ? 1 : 0);
    if (t >= 1500 && arm === 2) best++;
  }
  assert.ok(best > 450, `best arm pulled ${best} of the last 500 times`);
  assert.throws(() => agent.update(0, 1.5), RangeError);
  assert.throws(() => agent.update(0, -0.1), RangeError);
});

Deno.test("GradientBandit follows the book's preference update with the errata baseline", () => {
  const agent = new GradientBandit(3, { stepSize: 0.1 });
  agent.update(0, 2); // R̄₁ = R₁: no change.
  assert.deepEqual(Array.from(agent.values()), [0, 0, 0]);
  agent.update(1, 1); // π = 1/3 each, R − R̄ = −1.
  const expected = [0.1 / 3, -0.1 * (2 / 3), 0.1 / 3];
  agent.values().forEach((h, i) => assert.ok(Math.abs(h - expected[i]) < 1e-15));
  assert.equal(agent.save().averageReward, 1.5);
  const noBaseline = new GradientBandit(2, { stepSize: 0.5, baseline: false });
  noBaseline.update(0, 1);
  assert.deepEqual(Array.from(noBaseline.values()), [0.25, -0.25]);
  const pi = noBaseline.probabilities();
  assert.ok(Math.abs(pi[0] - 1 / (1 + Math.exp(-0.5))) < 1e-15);
});

Deno.test("restoreBanditLearner continues every agent kind identically after save and JSON", () => {
  const makers: (() => BanditLearner)[] = [
    () => new EpsilonGreedy(4, { epsilon: 0.3, seed: 1 }),
    () => new EpsilonGreedy(4, { epsilon: 0.1, stepSize: 0.2, initialValue: 3, seed: 1 }),
    () => new Ucb(4, { c: 1.5, seed: 1 }),
    () => new GaussianThompson(4, { seed: 1 }),
    () => new BetaThompson(4, { seed: 1 }),
    () => new GradientBandit(4, { stepSize: 0.2, seed: 1 }),
  ];
  for (const make of makers) {
    const original = make();
    const rewards = new Rng(11);
    for (let t = 0; t < 40; t++) original.update(original.act(), rewards.uniform());
    const copy = restoreBanditLearner(JSON.parse(JSON.stringify(original.save())));
    const into = make();
    into.load(JSON.parse(JSON.stringify(original.save())));
    for (let t = 0; t < 40; t++) {
      const a = original.act();
      assert.equal(copy.act(), a);
      assert.equal(into.act(), a);
      const r = rewards.uniform();
      original.update(a, r);
      copy.update(a, r);
      into.update(a, r);
    }
    assert.deepEqual(copy.save(), original.save());
    assert.deepEqual(into.save(), original.save());
  }
});

Deno.test("BanditLearner classes reject bad options, actions, rewards and states", () => {
  assert.throws(() => new EpsilonGreedy(0), RangeError);
  assert.throws(() => new EpsilonGreedy(3, { epsilon: 1.5 }), RangeError);
  assert.throws(() => new EpsilonGreedy(3, { stepSize: 0 }), RangeError);
  assert.throws(() => new Ucb(3, { c: -1 }), RangeError);
  assert.throws(() => new GaussianThompson(3, { noiseStd: 0 }), RangeError);
  assert.throws(() => new BetaThompson(3, { priorAlpha: -1 }), RangeError);
  assert.throws(() => new GradientBandit(3, { stepSize: Number.NaN }), RangeError);
  const agent = new EpsilonGreedy(3);
  assert.throws(() => agent.update(3, 1), RangeError);
  assert.throws(() => agent.update(0.5, 1), RangeError);
  assert.throws(() => agent.update(0, Number.NaN), RangeError);
  assert.throws(() => agent.load(new Ucb(3).save()), TypeError);
  const wrongSize = new EpsilonGreedy(4).save();
  assert.throws(() => agent.load(wrongSize), TypeError);
  assert.throws(
    () => restoreBanditLearner({ ...new Ucb(2).save(), kind: "nope" } as never),
    TypeError,
  );
});

Deno.test("runTestbed does exactly what the scalar agents do, run by run", () => {
  const runs = 3;
  const steps = 300;
  const seed = 7;
  const methods: TestbedMethod[] = [
    ...defaultTestbedMethods(),
    { name: "ucb c=1 alpha=0.2", kind: "ucb", options: { c: 1, stepSize: 0.2 } },
    { name: "gradient no baseline", kind: "gradient", options: { stepSize: 0.4, baseline: false } },
  ];
  const result = runTestbed({ runs, steps, seed, methods });
  assert.deepEqual(Object.keys(result.methods), methods.map((m) => m.name));
  for (const method of methods) {
    const rewardSum = new Float64Array(steps);
    const optimalCount = new Float64Array(steps);
    for (let r = 0; r < runs; r++) {
      const seeds = testbedSeeds(seed, method.name, r);
      const problem = new Rng(seeds.problem);
      const q = Array.from({ length: 10 }, () => problem.normal(0, 1));
      const best = q.indexOf(Math.max(...q));
      const agent = createTestbedAgent(method, 10, seeds.agent);
      const noise = new Rng(seeds.reward);
      for (let t = 0; t < steps; t++) {
        const a = agent.act();
        const reward = noise.normal(q[a], 1);
        agent.update(a, reward);
        rewardSum[t] += reward;
        if (a === best) optimalCount[t]++;
      }
    }
    const curve = result.methods[method.name];
    assert.deepEqual(Array.from(curve.reward), Array.from(rewardSum, (x) => x / runs), method.name);
    assert.deepEqual(Array.from(curve.optimal), Array.from(optimalCount, (x) => x / runs));
  }
});

Deno.test("runTestbed is deterministic, shares problems across methods, and validates", () => {
  const a = runTestbed({ runs: 20, steps: 50, seed: 3 });
  const b = runTestbed({ runs: 20, steps: 50, seed: 3 });
  const c = runTestbed({ runs: 20, steps: 50, seed: 4 });
  assert.deepEqual(testbedToJson(a), testbedToJson(b));
  assert.notDeepEqual(testbedToJson(a), testbedToJson(c));
  const seeds = testbedSeeds(3, "epsilon=0", 5);
  assert.equal(seeds.problem, testbedSeeds(3, "ucb c=2", 5).problem);
  assert.notEqual(seeds.agent, testbedSeeds(3, "ucb c=2", 5).agent);
  assert.notEqual(seeds.problem, testbedSeeds(3, "epsilon=0", 6).problem);
  assert.throws(() => runTestbed({ runs: 0 }), RangeError);
  assert.throws(() => runTestbed({ steps: 1.5 }), RangeError);
  const twice: TestbedMethod[] = [
    { name: "x", kind: "ucb", options: {} },
    { name: "x", kind: "ucb", options: {} },
  ];
  assert.throws(() => runTestbed({ runs: 1, steps: 1, methods: twice }), TypeError);
  assert.throws(
    () =>
      runTestbed({
        runs: 1,
        steps: 1,
        methods: [{ name: "bad", kind: "epsilon-greedy", options: { epsilon: 2 } }],
      }),
    RangeError,
  );
});

Deno.test("windowMean averages an inclusive 1-based window", () => {
  const curve = { reward: [1, 2, 3, 4], optimal: [0, 0, 1, 1] };
  assert.deepEqual(windowMean(curve, 1, 4), { reward: 2.5, optimal: 0.5 });
  assert.deepEqual(windowMean(curve, 4, 4), { reward: 4, optimal: 1 });
  assert.throws(() => windowMean(curve, 0, 2), RangeError);
  assert.throws(() => windowMean(curve, 3, 5), RangeError);
});

Deno.test("runTestbed reproduces Sutton and Barto figures 2.2 and 2.4", () => {
  // Targets at steps 991–1000 read off the book's figures: mean reward ± 0.04, % optimal ± 3.
  const targets: Record<string, { reward: number; optimal: number }> = {
    "epsilon=0": { reward: 1.02, optimal: 0.34 },
    "epsilon=0.01": { reward: 1.30, optimal: 0.59 },
    "epsilon=0.1": { reward: 1.37, optimal: 0.80 },
    "ucb c=2": { reward: 1.49, optimal: 0.85 },
  };
  const tolerance = { reward: 0.04, optimal: 0.03 };
  const methods = defaultTestbedMethods().filter((m) => m.name in targets);
  // 8000 runs (four times the book's 2000) in 40 independent batches of 200; the spread of the
  // batch means gives the standard error of the overall mean. A value passes when it lies within
  // the reading tolerance plus three standard errors of the target.
  const batches = 40;
  const perBatch: Record<string, { reward: number[]; optimal: number[] }> = {};
  for (let b = 0; b < batches; b++) {
    const result = runTestbed({ runs: 200, steps: 1000, seed: 100 + b, methods });
    for (const [name, curve] of Object.entries(result.methods)) {
      const w = windowMean(curve, 991, 1000);
      perBatch[name] ??= { reward: [], optimal: [] };
      perBatch[name].reward.push(w.reward);
      perBatch[name].optimal.push(w.optimal);
    }
  }
  const measured: Record<string, { reward: number; optimal: number }> = {};
  for (const [name, target] of Object.entries(targets)) {
    measured[name] = { reward: 0, optimal: 0 };
    for (const key of ["reward", "optimal"] as const) {
      const xs = perBatch[name][key];
      const mean = xs.reduce((s, x) => s + x, 0) / batches;
      const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (batches - 1));
      const se = sd / Math.sqrt(batches);
      measured[name][key] = mean;
      // The test has power: sampling error alone is well below the reading tolerance.
      assert.ok(se < tolerance[key] / 2, `${name} ${key}: standard error ${se} is too large`);
      const allowed = tolerance[key] + 3 * se;
      assert.ok(
        Math.abs(mean - target[key]) <= allowed,
        `${name} ${key}: measured ${mean.toFixed(4)}, target ${target[key]} ± ${
          allowed.toFixed(4)
        }`,
      );
    }
  }
  // The qualitative findings: exploration beats greedy, and UCB beats epsilon-greedy.
  const m = measured;
  assert.ok(m["epsilon=0.01"].reward > m["epsilon=0"].reward + 0.1);
  assert.ok(m["ucb c=2"].reward > m["epsilon=0.1"].reward + 0.05);
  assert.ok(m["epsilon=0.1"].optimal > m["epsilon=0.01"].optimal + 0.1);
  assert.ok(m["epsilon=0.01"].optimal > m["epsilon=0"].optimal + 0.1);
});

Deno.test("testbedToJson writes the documented format that the report reads", () => {
  const json = JSON.parse(JSON.stringify(testbedToJson(runTestbed({ runs: 4, steps: 6 }))));
  assert.deepEqual(Object.keys(json), ["runs", "steps", "methods"]);
  assert.equal(json.runs, 4);
  assert.equal(json.steps, 6);
  for (const curve of Object.values(json.methods) as { reward: number[]; optimal: number[] }[]) {
    assert.deepEqual(Object.keys(curve), ["reward", "optimal"]);
    assert.equal(curve.reward.length, 6);
    assert.ok(curve.optimal.every((x) => [0, 0.25, 0.5, 0.75, 1].includes(x)));
  }
  assert.deepEqual(parseTestbed(json), json);
});

Deno.test("banditTestbed writes DIR/testbed.json, the same bytes for the same seed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines: string[] = [];
    const args = ["--runs", "30", "--steps", "40", "--seed", "5"];
    const path = await banditTestbed([...args, "--out", join(dir, "a", "b")], (l) => lines.push(l));
    assert.equal(path, join(dir, "a", "b", "testbed.json"));
    assert.ok(lines.some((l) => l.includes("ucb c=2")));
    await banditTestbed([...args, "--out", join(dir, "c")], () => {});
    await banditTestbed(["--runs", "30", "--steps", "40", "--out", join(dir, "d")], () => {});
    const first = await Deno.readTextFile(path);
    assert.equal(await Deno.readTextFile(join(dir, "c", "testbed.json")), first);
    assert.notEqual(await Deno.readTextFile(join(dir, "d", "testbed.json")), first);
    const json = parseTestbed(JSON.parse(first));
    assert.equal(json.runs, 30);
    assert.equal(json.steps, 40);
    for (const name of ["epsilon=0", "epsilon=0.01", "epsilon=0.1", "ucb c=2"]) {
      assert.ok(name in json.methods, name);
    }
    // A second run into the same directory is refused, and the results stay as they were.
    await assert.rejects(
      () => banditTestbed([...args, "--out", join(dir, "d")], () => {}),
      /exists/,
    );
    assert.notEqual(await Deno.readTextFile(join(dir, "d", "testbed.json")), first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bandit-testbed task exits 2 with one line on bad input and 0 on --help", async () => {
  const dir = await Deno.makeTempDir();
  const script = new URL("../tasks/bandit_testbed.ts", import.meta.url).pathname;
  const run = async (...args: string[]) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", script, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
    return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
  };
  try {
    const blocker = join(dir, "file");
    await Deno.writeTextFile(blocker, "not a directory");
    for (
      const args of [
        ["--runs", "0", "--out", dir],
        ["--runs", "abc", "--out", dir],
        ["--stpes", "10", "--out", dir],
        ["--runs", "5"],
        ["--runs", "2", "--steps", "2", "--out", join(blocker, "sub")],
      ]
    ) {
      const { code, stderr } = await run(...args);
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
    }
    const help = await run("--help");
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--runs/);
    assert.match(help.stdout, /--out/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The error function (Abramowitz and Stegun 7.1.26; absolute error below 1.5e-7). */
function erf(x: number): number {
  const sign = Math.sign(x);
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const poly = t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign * (1 - poly * Math.exp(-x * x));
}
