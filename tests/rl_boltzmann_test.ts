// Boltzmann exploration: the sampled frequencies against softmax(clip(Q / τ)) by Pearson's
// chi-square goodness of fit (the statistic Σ (O − E)² / E over the valid actions, against the
// 0.999 quantile of χ² with k − 1 degrees of freedom, so a correct sampler fails one run in a
// thousand; the draws are seeded, so the figures are fixed), the clip, action masks, the options'
// checks, sampled acting of DQN, DRQN and the tabular agent, the counter-based draws of learning,
// determinism (the same seed, the same bits; a resumed run, the unbroken one), and the command
// line's flags.
import assert from "node:assert/strict";
import { counterUniform } from "../lib/backend/backend.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { Rng } from "../lib/io/rng.ts";
import {
  boltzmannAction,
  boltzmannProbabilities,
  checkBoltzmannOptions,
} from "../lib/rl/boltzmann.ts";
import { DQN } from "../lib/rl/dqn.ts";
import { DRQN } from "../lib/rl/drqn.ts";
import { TabularAgent } from "../lib/rl/q_learning.ts";
import { RandomMaskEnv, runTask } from "./helpers/mod.ts";

/** The 0.999 quantiles of χ² with 1..6 degrees of freedom. */
const CHI2_999 = [NaN, 10.828, 13.816, 16.266, 18.467, 20.515, 22.458];

/** Pearson's statistic of `counts` against `probabilities` (over actions with p > 0). */
function chiSquare(counts: number[], probabilities: ArrayLike<number>): { x2: number; df: number } {
  const n = counts.reduce((a, b) => a + b, 0);
  let x2 = 0, cells = 0;
  counts.forEach((observed, a) => {
    const p = probabilities[a];
    if (p === 0) {
      assert.equal(observed, 0, `action ${a} has probability 0 but was drawn ${observed} times`);
      return;
    }
    const expected = n * p;
    assert.ok(expected >= 5, `expected count ${expected} too small for the chi-square test`);
    x2 += (observed - expected) ** 2 / expected;
    cells++;
  });
  return { x2, df: cells - 1 };
}

function assertFits(what: string, counts: number[], probabilities: ArrayLike<number>): number {
  const { x2, df } = chiSquare(counts, probabilities);
  assert.ok(x2 < CHI2_999[df], `${what}: χ² = ${x2.toFixed(2)} with ${df} df ≥ ${CHI2_999[df]}`);
  return x2;
}

const Q = [1.2, 0.4, -0.3, 2.0, 0.9];

Deno.test("boltzmannAction's frequencies fit softmax(Q / τ) (χ², 20 000 draws, τ = 0.7, 4 df, critical 18.47)", () => {
  const rng = new Rng(1);
  const p = boltzmannProbabilities(Q, 0.7, [-500, 500]);
  const softmax = Q.map((q) => Math.exp(q / 0.7));
  const total = softmax.reduce((a, b) => a + b, 0);
  softmax.forEach((w, a) => assert.ok(Math.abs(p[a] - w / total) < 1e-12, "the softmax"));
  const counts = new Array(Q.length).fill(0);
  for (let i = 0; i < 20_000; i++) counts[boltzmannAction(Q, 0.7, [-500, 500], rng.uniform())]++;
  const x2 = assertFits("τ = 0.7", counts, p);
  // Against the wrong temperature the same counts are far off: the test has power.
  assert.ok(chiSquare(counts, boltzmannProbabilities(Q, 1, [-500, 500])).x2 > 100, `${x2}`);
});

Deno.test("with a mask, draws fall on valid actions only and fit the renormalised softmax (χ², 3 df, critical 16.27)", () => {
  const rng = new Rng(2);
  const mask = Uint8Array.of(1, 0, 1, 1, 1);
  const p = boltzmannProbabilities(Q, 0.5, [-500, 500], mask);
  assert.equal(p[1], 0);
  const counts = new Array(Q.length).fill(0);
  for (let i = 0; i < 20_000; i++) {
    counts[boltzmannAction(Q, 0.5, [-500, 500], rng.uniform(), mask)]++;
  }
  assert.equal(counts[1], 0, "the masked action is never drawn, even with the largest Q");
  assertFits("masked", counts, p);
  const onlyOne = Uint8Array.of(0, 0, 1, 0, 0);
  for (let i = 0; i < 100; i++) {
    assert.equal(boltzmannAction(Q, 0.5, [-500, 500], rng.uniform(), onlyOne), 2);
  }
  assert.throws(
    () => boltzmannAction(Q, 1, [-500, 500], 0.5, new Uint8Array(5)),
    /mask allows no action/,
  );
});

Deno.test("the learning loop's counter-based draws fit softmax(Q / τ) too (χ², 20 000 steps, 4 df)", () => {
  const counts = new Array(Q.length).fill(0);
  for (let step = 0; step < 20_000; step++) {
    counts[boltzmannAction(Q, 0.7, [-500, 500], counterUniform(12345, step, 0))]++;
  }
  assertFits("counter-based", counts, boltzmannProbabilities(Q, 0.7, [-500, 500]));
});

Deno.test("Q / τ is clipped to qClip before the softmax, so a tiny temperature stays finite", () => {
  // τ = 1e-6: Q / τ is ±1e9; clipped to ±500, the two largest tie and share the mass.
  const p = boltzmannProbabilities([3, 2.5, -1], 1e-6, [-500, 500]);
  assert.ok(p.every(Number.isFinite));
  assert.ok(Math.abs(p[0] - 0.5) < 1e-12 && Math.abs(p[1] - 0.5) < 1e-12 && p[2] === 0);
  const narrow = boltzmannProbabilities([10, 0], 1, [-1, 1]);
  assert.ok(Math.abs(narrow[0] - 1 / (1 + Math.exp(-1))) < 1e-12, "logits 1 and 0 after the clip");
  for (let u = 0; u < 1; u += 0.01) {
    assert.ok([0, 1].includes(boltzmannAction([3, 2.5, -1], 1e-6, [-500, 500], u)));
  }
});

Deno.test("the exploration options are checked with one-line errors", () => {
  const ok = {
    exploration: "boltzmann" as const,
    temperature: 1,
    qClip: [-500, 500] as [number, number],
  };
  checkBoltzmannOptions({ ...ok, temperature: { start: 2, end: 0.1, steps: 100 } });
  const cases: [object, RegExp][] = [
    [
      { exploration: "softmax" },
      /^RangeError: Cannot use exploration "softmax": expected "epsilon" or "boltzmann"$/,
    ],
    [
      { temperature: 0 },
      /^RangeError: Cannot use temperature 0: expected a positive finite number$/,
    ],
    [
      { temperature: { start: 1, end: 0, steps: 10 } },
      /Cannot use temperature.end 0: expected a positive/,
    ],
    [
      { temperature: { start: 1, end: 0.1, steps: -1 } },
      /Cannot use temperature: expected \{ start, end, steps \}/,
    ],
    [
      { qClip: [1, -1] },
      /^RangeError: Cannot use qClip \[1,-1\]: expected \[low, high\], finite, with low < high$/,
    ],
    [{ qClip: [0] }, /Cannot use qClip \[0\]/],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => checkBoltzmannOptions({ ...ok, ...change } as typeof ok), message);
  }
  assert.throws(
    () => new DQN({ observationSize: 2, actionCount: 2 }, { exploration: "greedy" as never }),
    /exploration "greedy"/,
  );
  assert.throws(() => new TabularAgent(new CartPole(), { temperature: -1 }), /temperature -1/);
});

Deno.test("DQN, DRQN and the tabular agent act greedily by default and sample Boltzmann at the final temperature", async () => {
  const spec = { observationSize: 4, actionCount: 5 };
  const temperature = { start: 5, end: 0.3, steps: 1000 };
  const observation = Float32Array.of(0.3, -0.2, 0.5, 1);
  const dqn = new DQN(spec, { exploration: "boltzmann", temperature, hiddenSizes: [8], seed: 2 });
  const drqn = new DRQN(spec, { exploration: "boltzmann", temperature, cellUnits: 8, seed: 3 });
  const q = await dqn.qValues(observation);
  const greedy = q.indexOf(Math.max(...q));
  assert.equal((await dqn.act(observation, undefined)).action, greedy, "evaluation stays greedy");
  const rng = new Rng(4);
  const counts = new Array(5).fill(0);
  for (let i = 0; i < 10_000; i++) {
    counts[(await dqn.act(observation, undefined, { deterministic: false, rng })).action]++;
  }
  assertFits("DQN sampled", counts, boltzmannProbabilities(q, 0.3, [-500, 500]));

  const drqnCounts = new Array(5).fill(0);
  let drqnQ: Float32Array | null = null;
  for (let i = 0; i < 10_000; i++) {
    const step = await drqn.act(observation, drqn.initialState(), { deterministic: false, rng });
    drqn.disposeState(step.state);
    drqnCounts[step.action]++;
  }
  {
    const x = drqn.backend.tensor(observation, [1, 1, 4]);
    const { q: values, state } = drqn.online.forward(x);
    drqnQ = await drqn.backend.read(values);
    drqn.online.model.disposeState(state);
  }
  assertFits("DRQN sampled", drqnCounts, boltzmannProbabilities(drqnQ, 0.3, [-500, 500]));

  // A tabular agent over a state-number observation, its table set by hand.
  const tabular = new TabularAgent({ id: "index", observationSize: 1, actionCount: 3 }, {
    states: 2,
    exploration: "boltzmann",
    temperature: 0.5,
  });
  tabular.table.setTable(Float64Array.of(0, 0, 0, 1, 0.5, -0.5));
  const row = Float32Array.of(1), mask = Uint8Array.of(1, 1, 0);
  assert.equal((await tabular.act(row, undefined)).action, 0);
  const tabularCounts = [0, 0, 0];
  for (let i = 0; i < 10_000; i++) {
    tabularCounts[
      (await tabular.act(row, undefined, { deterministic: false, rng, mask })).action
    ]++;
  }
  assertFits(
    "tabular sampled, masked",
    tabularCounts,
    boltzmannProbabilities([1, 0.5, -0.5], 0.5, [-500, 500], mask),
  );
});

Deno.test("Boltzmann DQN and DRQN honour action masks while learning", async () => {
  const env = new RandomMaskEnv();
  const agent = new DQN(env, {
    exploration: "boltzmann",
    temperature: 0.05,
    hiddenSizes: [16],
    learningStarts: 50,
    batchSize: 16,
    trainFrequency: 4,
    seed: 5,
  });
  await agent.learn(env, { steps: 600 }); // the game throws on an invalid action
  assert.equal(agent.steps, 600);
  const recurrent = new DRQN(env, {
    exploration: "boltzmann",
    temperature: 0.05,
    cellUnits: 8,
    learningStarts: 50,
    sequenceLength: 4,
    burnIn: 0,
    batchSize: 4,
    seed: 5,
  });
  await recurrent.learn(new RandomMaskEnv(), { steps: 300 });
  assert.equal(recurrent.steps, 300);
});

Deno.test("Boltzmann exploration is deterministic: the same seed gives the same bits, and a resumed DQN the unbroken run's", async () => {
  const options = {
    exploration: "boltzmann" as const,
    temperature: { start: 1, end: 0.05, steps: 800 },
    hiddenSizes: [16],
    learningStarts: 100,
    bufferSize: 1000,
    batchSize: 16,
    trainFrequency: 4,
    seed: 9,
  };
  const run = async (split: boolean) => {
    const env = new CartPole();
    let agent = new DQN(env, options);
    const returns: number[] = [];
    const onEpisode = (e: { return: number }) => void returns.push(e.return);
    if (split) {
      await agent.learn(env, { steps: 500, onEpisode });
      agent = DQN.fromState(await agent.getState());
      await agent.learn(env, { steps: 500, onEpisode }); // 500 more: 1000 in all
    } else await agent.learn(env, { steps: 1000, onEpisode });
    const params = await agent.online.model.getParameters();
    return { returns, params: params.map((p) => Array.from(p.data)) };
  };
  const a = await run(false), b = await run(false), c = await run(true);
  assert.deepEqual(b, a, "the same seed, the same episodes and weights");
  assert.deepEqual(c.params, a.params, "resumed from a checkpoint, the same weights");
  assert.deepEqual(c.returns, a.returns);

  const tabular = async () => {
    const agent = new TabularAgent(new CartPole(), {
      exploration: "boltzmann",
      temperature: 0.2,
      seed: 4,
    });
    await agent.learn(new CartPole(), { steps: 3000 });
    return Array.from(agent.table.table());
  };
  assert.deepEqual(await tabular(), await tabular());
  const drqn = async () => {
    const env = new CartPole({ maskVelocity: true });
    const agent = new DRQN(env, {
      exploration: "boltzmann",
      temperature: 0.5,
      cellUnits: 8,
      hiddenSizes: [8],
      learningStarts: 100,
      sequenceLength: 4,
      burnIn: 2,
      batchSize: 4,
      seed: 6,
    });
    await agent.learn(env, { steps: 400 });
    return (await agent.online.model.getParameters()).map((p) => Array.from(p.data));
  };
  assert.deepEqual(await drqn(), await drqn());
});

Deno.test("deno task train: --exploration boltzmann --temperature for DQN, and one-line refusals", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ok = await runTask("train", [
      ...["--env", "cartpole", "--algo", "dqn", "--steps", "300", "--exploration", "boltzmann"],
      ...[
        "--temperature",
        "0.5",
        "--eval-episodes",
        "2",
        "--backend",
        "cpu",
        "--out",
        `${dir}/run`,
      ],
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`));
    assert.equal(config.agent.exploration, "boltzmann");
    assert.equal(config.agent.temperature, 0.5);
    const refusals: [string[], RegExp][] = [
      [
        ["--algo", "ppo", "--exploration", "boltzmann"],
        /^error: Cannot use option exploration with PPO: /,
      ],
      [
        ["--algo", "dqn", "--temperature", "2"],
        /^error: --temperature applies to --exploration boltzmann only$/,
      ],
      [
        ["--algo", "sarsa", "--exploration", "softmax"],
        /^error: --exploration must be one of epsilon, boltzmann/,
      ],
    ];
    for (const [args, message] of refusals) {
      const out = await runTask("train", [
        ...args,
        "--steps",
        "10",
        "--backend",
        "cpu",
        "--out",
        `${dir}/x`,
      ]);
      assert.equal(out.code, 2, out.stderr);
      const lines = out.stderr.trim().split("\n");
      assert.equal(lines.length, 1, out.stderr);
      assert.match(lines[0], message);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
