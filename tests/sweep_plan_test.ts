// The sweep's plan without training: seeds and grids as the command line gives them, the
// cartesian product of settings, each run's train command line, a plan that a re-start must agree
// with; and the summary's statistics on hand-made curves, against a hand computation.
import assert from "node:assert/strict";
import { UsageError } from "../lib/io/cli.ts";
import { sweepScores } from "../lib/report/sweep_scores.ts";
import {
  checkSweepPlan,
  gridSettings,
  parseGridAxis,
  parseSeedList,
  resolveSweepPlan,
  sweepRuns,
} from "../lib/run/sweep.ts";
import { checkTrainConfig } from "../lib/run/run_config.ts";
import { newTrainConfigFromArgs } from "../lib/run/train_cli.ts";

Deno.test("parseSeedList reads seeds and ranges, and refuses anything else in one line", () => {
  assert.deepEqual(parseSeedList("1,2,3"), [1, 2, 3]);
  assert.deepEqual(parseSeedList("1-10"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(parseSeedList("7,0-2"), [7, 0, 1, 2]);
  const refused =
    /^--seeds must be seeds in \[0, 4294967295\] or ranges like 1-10, separated by commas/;
  for (const bad of ["", "a", "3-1", "1-", "-1", "1.5", "1,,2", "1-2-3", "4294967296"]) {
    assert.throws(
      () => parseSeedList(bad),
      (e) => e instanceof UsageError && refused.test(e.message),
    );
  }
  assert.throws(() => parseSeedList("1-3,2"), { message: "--seeds names 2 twice" });
});

Deno.test("parseGridAxis checks each value as deno task train checks its flag", () => {
  assert.deepEqual(parseGridAxis("learning-rate=1e-3,3e-4"), {
    flag: "learning-rate",
    values: ["0.001", "0.0003"],
  });
  assert.deepEqual(parseGridAxis("hidden=64,128"), { flag: "hidden", values: ["64", "128"] });
  assert.deepEqual(parseGridAxis("hidden=64,64;128"), { flag: "hidden", values: ["64,64", "128"] });
  assert.deepEqual(parseGridAxis("cell=lstm,gru"), { flag: "cell", values: ["lstm", "gru"] });
  const cases: [string, string][] = [
    [
      "learning-rate=0",
      '--grid learning-rate=0: --learning-rate must be a positive number, got "0"',
    ],
    ["cell=rnn", '--grid cell=rnn: --cell must be one of lstm, gru, none; got "rnn"'],
    ["seed=1,2", "--grid seed=1,2: --seed is set by the sweep itself, not by a grid"],
    ["gamma=0.9,0.90", "--grid gamma=0.9,0.90 names 0.9 twice"],
    ["gamma", '--grid must be FLAG=V1,V2,... (a deno task train flag), got "gamma"'],
  ];
  for (const [text, message] of cases) assert.throws(() => parseGridAxis(text), { message });
  assert.throws(
    () => parseGridAxis("lerning-rate=1"),
    /^UsageError: --grid lerning-rate=1: unknown flag --lerning-rate \(did you mean --learning-rate\?/,
  );
});

Deno.test("gridSettings is the cartesian product of the axes, the first varying slowest", () => {
  const settings = gridSettings([
    parseGridAxis("learning-rate=1e-3,3e-4"),
    parseGridAxis("hidden=64,128"),
    parseGridAxis("gamma=0.9"),
  ]);
  assert.deepEqual(settings.map((s) => s.name), [
    "learning-rate=0.001,hidden=64,gamma=0.9",
    "learning-rate=0.001,hidden=128,gamma=0.9",
    "learning-rate=0.0003,hidden=64,gamma=0.9",
    "learning-rate=0.0003,hidden=128,gamma=0.9",
  ]);
  assert.deepEqual(settings[2].values, [["learning-rate", "0.0003"], ["hidden", "64"], [
    "gamma",
    "0.9",
  ]]);
  assert.deepEqual(gridSettings([]), [{ name: "preset", values: [] }]);
  assert.throws(() => gridSettings([parseGridAxis("gamma=0.9"), parseGridAxis("gamma=0.5")]), {
    message: "--grid varies gamma twice",
  });
});

Deno.test("a sweep's run is configured exactly as deno task train configures its flags", () => {
  const plan = resolveSweepPlan({
    env: "cartpole",
    algo: "dqn",
    seeds: [4, 5],
    grid: [parseGridAxis("hidden=8,16"), parseGridAxis("observe-previous-action=false")],
    steps: 600,
    evalEvery: 200,
    evalEpisodes: 3,
  });
  const runs = sweepRuns(plan);
  assert.deepEqual(runs.map((r) => r.dir), [
    "hidden=8,observe-previous-action=false/seed-4",
    "hidden=8,observe-previous-action=false/seed-5",
    "hidden=16,observe-previous-action=false/seed-4",
    "hidden=16,observe-previous-action=false/seed-5",
  ]);
  const args = [
    ...["--env", "cartpole", "--algo", "dqn", "--seed", "5", "--hidden=16"],
    ...["--steps", "600", "--eval-every", "200", "--eval-every-episodes", "3", "--backend", "cpu"],
  ];
  assert.deepEqual(runs[3].args, args);
  const checked = checkSweepPlan(plan);
  assert.equal(checked[3].config.seed, 5);
  assert.deepEqual(checked[3].config.agent.hiddenSizes, [16]);
  const alone = newTrainConfigFromArgs(args).config;
  assert.deepEqual(checked[3].config, checkTrainConfig(alone));
});

Deno.test("checkSweepPlan refuses a setting train would refuse, naming the setting", () => {
  const plan = resolveSweepPlan({ grid: [parseGridAxis("temperature=2")] });
  assert.throws(() => checkSweepPlan(plan), {
    message: "setting temperature=2: --temperature applies to --exploration boltzmann only",
  });
  const late = resolveSweepPlan({ steps: 100, evalEvery: 200 });
  assert.throws(() => checkSweepPlan(late), /^UsageError: --eval-every 200 is more than the 100/);
});

Deno.test("resolveSweepPlan keeps the saved plan and refuses a flag that differs, in one line", () => {
  const saved = resolveSweepPlan({ seeds: [1, 2], grid: [parseGridAxis("hidden=8,16")] });
  assert.equal(saved.env, "cartpole");
  assert.equal(saved.backend, "cpu");
  assert.deepEqual(resolveSweepPlan({}, saved, "runs/s"), saved);
  assert.deepEqual(resolveSweepPlan({ seeds: [1, 2], grid: [] }, saved, "runs/s"), saved);
  assert.throws(() => resolveSweepPlan({ grid: [parseGridAxis("hidden=8")] }, saved, "runs/s"), {
    message: "Cannot continue the sweep in runs/s: it was planned with --grid hidden=8,16, not " +
      "--grid hidden=8 (give the same flags, or another --out)",
  });
  assert.throws(() => resolveSweepPlan({ threshold: 5 }, saved, "runs/s"), {
    message: "Cannot continue the sweep in runs/s: it was planned with no --threshold, not " +
      "--threshold 5 (give the same flags, or another --out)",
  });
});

Deno.test("sweepScores: the IQM of the final scores and P(improvement) as computed by hand", () => {
  // Each seed's last three evaluations average to its final score: the points k − 1, k, k + 1.
  const run = (setting: string, seed: number, final: number) => ({
    setting,
    seed,
    curve: [0, 1, 2, 3].map((i) => ({ step: 100 * (i + 1), value: i === 0 ? -50 : final + i - 2 })),
  });
  const a = [8, 1, 7, 2, 6, 3, 5, 4];
  const b = [2, 3, 4, 9, 9, 9, 9, 9];
  const scores = sweepScores(
    [...a.map((v, i) => run("a", i + 1, v)), ...b.map((v, i) => run("b", i + 1, v))],
    {
      settings: ["a", "b"],
      threshold: 5,
      bootstrap: { confidence: 0.95, resamples: 500, seed: 0 },
    },
  );
  const [sa, sb] = scores.settings;
  assert.deepEqual(sa.finals, a);
  // a sorted: 1..8; cut 2 from each end: (3 + 4 + 5 + 6) / 4.
  assert.equal(sa.final.estimate, 4.5);
  // b sorted: 2 3 | 4 9 9 9 | 9 9: (4 + 27) / 4.
  assert.equal(sb.final.estimate, 7.75);
  assert.ok(sa.final.lower <= 4.5 && 4.5 <= sa.final.upper);
  assert.equal(sa.improvement, null);
  assert.equal(scores.baseline, "a");
  // Pairs (b, a), 64 in all: b = 2 beats a = 1 and ties 2: 1.5; 3: 2.5; 4: 3.5; each 9 beats all 8.
  assert.equal(sb.improvement!.estimate, (1.5 + 2.5 + 3.5 + 5 * 8) / 64);
  // Threshold 5 on the curves (−50, k − 1, k, k + 1): first reached at step 200 when k − 1 ≥ 5,
  // 300 when k = 5, 400 when k = 4; never for k ≤ 3. a: k = 4..8 reach it, at 400, 300, 200,
  // 200, 200: median 200. b: k = 4 at 400 and the five 9s at 200: median 200.
  assert.deepEqual(sa.threshold, { median: 200, reached: 5 });
  assert.deepEqual(sb.threshold, { median: 200, reached: 6 });
  // The mean curve at step 100 is −50 for both; at 400, the mean of k + 1.
  assert.equal(sa.band[0].mean, -50);
  assert.equal(sa.band[3].mean, 5.5);
  // The profile at its lowest τ (the lowest final score, 1): all but the one seed at 1 is above.
  assert.equal(scores.profile[0].points[0].threshold, 1);
  assert.equal(scores.profile[0].points[0].estimate, 7 / 8);
  assert.equal(scores.profile[1].points[0].estimate, 1);
});
