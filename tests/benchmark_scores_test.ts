// The memory benchmark's pieces without training: the scores of a run from hand-made evaluation
// records, the normalisation, the suites, the POPGym preset, the plan and its tables.
import assert from "node:assert/strict";
import { POPGYM_ENV_NAMES, POPGYM_GAMES } from "../lib/envs/popgym/mod.ts";
import { UsageError } from "../lib/io/errors.ts";
import {
  benchmarkMarkdown,
  type BenchmarkRunScores,
  benchmarkTables,
  finalScore,
  formatInterval,
  maxMeanEpisodicReturn,
} from "../lib/report/benchmark_scores.ts";
import { parseMetrics } from "../lib/report/run_data.ts";
import {
  BENCHMARK_ENV_NAMES,
  BENCHMARK_NORMALIZATION,
  BENCHMARK_SUITES,
  benchmarkConfig,
  benchmarkRuns,
  normalizedReturn,
  readPlan,
  resolvePlan,
  writePlan,
} from "../lib/run/benchmark.ts";
import { checkBenchmarkPlan } from "../lib/run/benchmark_runner.ts";
import { POPGYM_PPO_PRESET, presetEnvOptions, presetFor } from "../lib/run/presets.ts";
import { checkTrainConfig } from "../lib/run/run_config.ts";

/** A metrics.jsonl of periodic evaluations with these mean returns, every 100 steps, shuffled. */
function metricsWith(means: readonly number[]): string {
  const records = means.map((meanReturn, i) => ({
    kind: "eval",
    step: 100 * (i + 1),
    episodes: 2,
    meanReturn,
    stdReturn: 0,
    returns: [meanReturn, meanReturn],
  }));
  const episode = { kind: "episode", step: 50, episode: 1, return: 9, length: 50 };
  return [records[2], episode, ...records.slice(0, 2), ...records.slice(3)]
    .map((r) => JSON.stringify(r) + "\n").join("");
}

Deno.test("final is the mean of the last three evaluations in step order, MMER the best one", () => {
  const evals = parseMetrics(metricsWith([-1, 0.5, -0.25, 0.25, 0])).evals.map((e) => e.meanReturn);
  assert.deepEqual(evals, [-1, 0.5, -0.25, 0.25, 0]);
  assert.equal(finalScore(evals), (-0.25 + 0.25 + 0) / 3);
  assert.equal(maxMeanEpisodicReturn(evals), 0.5);
  // Fewer than three: all of them.
  assert.equal(finalScore([0.2, 0.4]), (0.2 + 0.4) / 2);
  assert.equal(finalScore([-0.5]), -0.5);
  assert.equal(maxMeanEpisodicReturn([-0.5]), -0.5);
  assert.throws(() => finalScore([]), RangeError);
  assert.throws(() => maxMeanEpisodicReturn([]), RangeError);
});

Deno.test("returns are normalised: POPGym's as they are, cartpole-masked's divided by 500", () => {
  for (const env of POPGYM_ENV_NAMES) {
    assert.equal(normalizedReturn(env, -0.75), -0.75, env);
    assert.equal(normalizedReturn(env, 1), 1, env);
  }
  assert.equal(normalizedReturn("cartpole-masked", 500), 1);
  assert.equal(normalizedReturn("cartpole-masked", 125), 0.25);
  assert.equal(normalizedReturn("minesweeper-memory", 0.4), 0.4);
  // On CartPole evaluations, the scores are those of the normalised returns.
  const evals = parseMetrics(metricsWith([100, 200, 300, 500])).evals;
  const scores = evals.map((e) => normalizedReturn("cartpole-masked", e.meanReturn));
  assert.equal(finalScore(scores), (0.4 + 0.6 + 1) / 3);
  assert.equal(maxMeanEpisodicReturn(scores), 1);
  assert.throws(() => normalizedReturn("cartpole" as never, 1), RangeError);
});

Deno.test("every suite's environments have a normalisation; the suites are POPGym's games", () => {
  for (const [suite, envs] of Object.entries(BENCHMARK_SUITES)) {
    assert.ok(envs.length > 0, suite);
    for (const env of envs) assert.ok(env in BENCHMARK_NORMALIZATION, `${suite}: ${env}`);
  }
  assert.deepEqual(BENCHMARK_SUITES.easy, [
    "repeat-previous-easy",
    "repeat-first-easy",
    "count-recall-easy",
    "autoencode-easy",
    "stateless-cartpole-easy",
    "noisy-stateless-cartpole-easy",
    "higher-lower-easy",
    "minesweeper-easy",
  ]);
  assert.deepEqual(
    BENCHMARK_SUITES.hard,
    BENCHMARK_SUITES.easy.map((e) => e.replace("easy", "hard")),
  );
  assert.deepEqual(BENCHMARK_SUITES["popgym-easy"], POPGYM_GAMES.map((game) => `${game}-easy`));
  assert.deepEqual(BENCHMARK_SUITES.memory, ["cartpole-masked", "minesweeper-memory"]);
  assert.equal(BENCHMARK_ENV_NAMES.length, 33 + 2);
});

Deno.test("PPO on a POPGym environment takes the POPGym preset, with the previous action observed", () => {
  for (const env of ["repeat-previous-easy", "battleship-hard", "minesweeper-medium"] as const) {
    assert.equal(presetFor(env, "ppo"), POPGYM_PPO_PRESET);
    assert.deepEqual(presetEnvOptions(env, "ppo"), { observePreviousAction: true });
  }
  assert.equal(POPGYM_PPO_PRESET.steps, 300_000);
  assert.equal(POPGYM_PPO_PRESET.options.envs, 16);
  // Other algorithms keep their defaults; rnnrl's own environments keep their presets.
  assert.deepEqual(presetFor("repeat-previous-easy", "a2c").options, {});
  assert.notEqual(presetFor("cartpole-masked", "ppo"), POPGYM_PPO_PRESET);
  // minesweeper-memory has no PPO preset, but its presets' board.
  assert.deepEqual(presetEnvOptions("minesweeper-memory", "ppo"), {
    difficulty: "medium",
    observeAction: true,
  });
  assert.deepEqual(presetEnvOptions("cartpole-masked", "ppo"), {});
});

Deno.test("a plan's defaults, runs and configurations", () => {
  const plan = resolvePlan({});
  assert.equal(plan.suite, "easy");
  assert.deepEqual(plan.envs, BENCHMARK_SUITES.easy);
  assert.deepEqual(plan.models, ["ppo-none", "ppo-lstm", "ppo-gru"]);
  assert.deepEqual(plan.seeds, [1, 2, 3]);
  assert.equal(plan.steps, null);
  assert.equal(plan.evalEpisodes, 20);
  assert.equal(plan.finalEvalEpisodes, 100);
  assert.equal(plan.backend, "cpu");
  const runs = benchmarkRuns(plan);
  assert.equal(runs.length, 8 * 3 * 3);
  assert.equal(runs[4].dir, "repeat-previous-easy/ppo-lstm/seed-2");
  const config = checkTrainConfig(benchmarkConfig(plan, runs[4]));
  assert.equal(config.steps, 300_000);
  assert.equal(config.evalEvery, 15_000);
  assert.equal(config.evalEveryEpisodes, 20);
  assert.equal(config.evalEpisodes, 100);
  assert.deepEqual(config.agent, { ...POPGYM_PPO_PRESET.options, cell: "lstm" });
  assert.deepEqual(config.envOptions, { observePreviousAction: true });
  assert.equal(checkBenchmarkPlan(plan).length, runs.length);

  const memory = resolvePlan({ suite: "memory", algos: ["a2c"], cells: ["gru"], steps: 999 });
  const [cartpole, mines] = benchmarkRuns(memory).filter((r) => r.seed === 1)
    .map((run) => benchmarkConfig(memory, run));
  assert.equal(cartpole.env, "cartpole-masked");
  assert.equal(cartpole.evalEvery, 50);
  assert.equal(mines.envOptions.difficulty, "medium");
  assert.throws(() => checkBenchmarkPlan(resolvePlan({ steps: 10, evalEvery: 11 })), UsageError);
});

Deno.test("a re-started plan takes the saved values, and refuses a flag that differs from them", async () => {
  const saved = resolvePlan({ envs: ["repeat-first-easy"], seeds: [4], steps: 600 });
  assert.equal(resolvePlan({}, saved), saved);
  assert.equal(resolvePlan({ steps: 600, seeds: [4] }, saved), saved);
  const refused = (choices: Parameters<typeof resolvePlan>[0], message: RegExp) =>
    assert.throws(() => resolvePlan(choices, saved, "runs/b"), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, message);
      return true;
    });
  refused(
    { steps: 700 },
    /^Cannot continue the benchmark in runs\/b: it was planned with --steps 600, not --steps 700 /,
  );
  refused({ seeds: [4, 5] }, /planned with --seeds 4, not --seeds 4,5/);
  refused({ suite: "easy" }, /planned with --envs repeat-first-easy, not --suite easy/);
  refused({ cells: ["gru"] }, /--cells none,lstm,gru, not --cells gru/);
  refused({ evalEvery: 30 }, /planned with no --eval-every, not --eval-every 30/);
  assert.throws(() => resolvePlan({ suite: "easy", envs: ["repeat-first-easy"] }), UsageError);

  const dir = await Deno.makeTempDir({ prefix: "rnnrl_plan_" });
  try {
    assert.equal(await readPlan(dir), undefined);
    await writePlan(dir, saved);
    assert.deepEqual(await readPlan(dir), saved);
    await Deno.writeTextFile(`${dir}/benchmark.json`, JSON.stringify({ ...saved, seeds: [-1] }));
    await assert.rejects(
      () => readPlan(dir),
      /benchmark\.json: its "seeds" is not what a plan holds/,
    );
    await Deno.writeTextFile(`${dir}/benchmark.json`, JSON.stringify({ ...saved, models: [] }));
    await assert.rejects(() => readPlan(dir), /"models" are not its algos with its cells/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the table: a cell's mean and interval over seeds, the IQM, P(improvement) over the MLP", () => {
  const run = (env: string, model: string, seed: number, final: number): BenchmarkRunScores => ({
    env,
    model,
    seed,
    dir: `${env}/${model}/seed-${seed}`,
    steps: 1000,
    evaluations: 10,
    final,
    mmer: final + 0.1,
    eval100: final - 0.1,
  });
  const runs = [1, 2, 3].flatMap((seed) => [
    run("a", "ppo-none", seed, -0.5 + 0.01 * seed),
    run("b", "ppo-none", seed, 0.1 * seed),
    run("a", "ppo-gru", seed, 0.5 + 0.01 * seed),
    run("b", "ppo-gru", seed, 0.2 + 0.1 * seed),
  ]);
  const tables = benchmarkTables(runs, { envs: ["a", "b"], models: ["ppo-none", "ppo-gru"] });
  const [final, mmer] = tables;
  const cell = final.rows[1].cells[1];
  assert.equal(cell.seeds, 3);
  assert.ok(Math.abs(cell.interval!.estimate - 0.4) < 1e-12);
  assert.ok(cell.interval!.lower >= 0.3 - 1e-12 && cell.interval!.upper <= 0.5 + 1e-12);
  assert.ok(Math.abs(mmer.rows[1].cells[1].interval!.estimate - 0.5) < 1e-12);
  // The GRU beats the MLP in every pair of runs on a; on b, in the pairs counted here (ties ½).
  const pairsB = [0.3, 0.4, 0.5].flatMap((x) =>
    [0.1, 0.2, 0.3].map((y) => x > y ? 1 : x === y ? 0.5 : 0)
  );
  const expected = (1 + pairsB.reduce((s: number, v) => s + v, 0) / 9) / 2;
  assert.equal(final.improvement.length, 1);
  assert.ok(Math.abs(final.improvement[0].interval!.estimate - expected) < 1e-12);
  for (const iqm of final.iqm) assert.equal(iqm.seeds, 3);
  // The same runs, in any order, give the same tables, bit for bit.
  assert.deepEqual(
    benchmarkTables([...runs].reverse(), { envs: ["a", "b"], models: ["ppo-none", "ppo-gru"] }),
    tables,
  );
  // A missing run: its cell counts fewer seeds, and the IQM uses the seeds that ran everything.
  const partial = benchmarkTables(
    runs.filter((r) => !(r.env === "b" && r.model === "ppo-gru" && r.seed === 2)),
    {
      envs: ["a", "b"],
      models: ["ppo-none", "ppo-gru"],
    },
  );
  assert.equal(partial[0].rows[1].cells[1].seeds, 2);
  assert.equal(partial[0].iqm[1].seeds, 2);
  const markdown = benchmarkMarkdown(partial, {
    title: "T",
    notes: ["n"],
    models: ["ppo-none", "ppo-gru"],
  });
  assert.match(markdown, /^\| b \| \S+ \[\S+, \S+\] \| \S+ \[\S+, \S+\] \(2 seeds\) \|$/m);
  assert.equal(formatInterval(null), "—");
  assert.equal(
    formatInterval({ estimate: -0.0001, lower: -0.0004, upper: 0.0004 }),
    "0.000 [0.000, 0.000]",
  );
});
