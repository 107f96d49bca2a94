// deno task sweep through its real command line: 2 settings × 2 seeds of a tiny DQN on CartPole,
// two at a time; its run directories, each the very run deno task train makes with the same
// flags; its results; a re-start that skips every finished run; a changed flag refused in one
// line; a bad grid refused before anything is written.
import assert from "node:assert/strict";
import { join } from "node:path";
import { lines, runTask } from "./helpers/mod.ts";

const SEEDS = [1, 2];
const SETTINGS = ["hidden=8", "hidden=16"];
const PLAN = [
  ...["--env", "cartpole", "--algo", "dqn", "--seeds", "1-2", "--grid", "hidden=8,16"],
  ...["--steps", "600", "--eval-every", "200", "--eval-episodes", "3"],
  ...["--final-eval-episodes", "5", "--threshold", "20"],
];

Deno.test("deno task sweep trains every setting × seed as deno task train would, compares them, and continues where it stopped", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_sweep_" });
  const out = join(root, "sweep");
  try {
    const first = await runTask("sweep", [...PLAN, "--workers", "2", "--out", out]);
    assert.equal(first.code, 0, first.stderr);

    await t.step("every run is a run directory OUT/<setting>/seed-<s>", async () => {
      for (const setting of SETTINGS) {
        for (const seed of SEEDS) {
          for (const file of ["config.json", "metrics.jsonl", "eval.json"]) {
            const path = join(out, setting, `seed-${seed}`, file);
            assert.ok((await Deno.stat(path)).isFile, path);
          }
        }
      }
      const plan = JSON.parse(await Deno.readTextFile(join(out, "sweep.json")));
      assert.deepEqual(plan.grid, [{ flag: "hidden", values: ["8", "16"] }]);
      assert.deepEqual(plan.seeds, SEEDS);
      for (const file of ["results.md", "results.json", "report.html"]) {
        assert.ok((await Deno.stat(join(out, file))).isFile, file);
      }
    });

    await t.step("stderr has one line a finished run, with the overall count", () => {
      const done = lines(first.stderr).filter((line) => /^\[\d+\/4\]/.test(line));
      assert.equal(done.length, 4, first.stderr);
      for (const line of done) {
        assert.match(
          line,
          /^\[\d\/4\] hidden=(8|16) seed [12]: mean return \d+\.\d{3} over 5 episodes, \d+\.\d s$/,
        );
      }
    });

    await t.step("results.md and report.html compare the settings", async () => {
      const markdown = await Deno.readTextFile(join(out, "results.md"));
      assert.match(markdown, /^\| hidden=8 \| 2 \| \d+\.\d{3} \[[\d.]+, [\d.]+\] \| — \|/m);
      assert.match(markdown, /^\| hidden=16 \| 2 \| [\d.]+ \[[\d.]+, [\d.]+\] \| [\d.]+ \[/m);
      const html = await Deno.readTextFile(join(out, "report.html"));
      for (const chart of ["iqm-final", "profile", "curves"]) {
        assert.match(html, new RegExp(`data-chart="${chart}"><svg`), chart);
      }
      const results = JSON.parse(await Deno.readTextFile(join(out, "results.json")));
      assert.equal(results.curves, "evaluations");
      assert.deepEqual(
        results.scores.settings.map((s: { setting: string }) => s.setting),
        SETTINGS,
      );
    });

    await t.step("each run's metrics.jsonl is byte for byte the run trained alone", async () => {
      for (const [setting, hidden, seed] of [["hidden=8", "8", "2"], ["hidden=16", "16", "1"]]) {
        const alone = join(root, `alone-${hidden}-${seed}`);
        const train = await runTask("train", [
          ...["--env", "cartpole", "--algo", "dqn", "--seed", seed, "--hidden", hidden],
          ...["--steps", "600", "--eval-every", "200", "--eval-every-episodes", "3"],
          ...["--eval-episodes", "5", "--backend", "cpu", "--out", alone],
        ]);
        assert.equal(train.code, 0, train.stderr);
        const swept = await Deno.readFile(
          join(out, setting, `seed-${seed}`, "metrics.jsonl"),
        );
        assert.deepEqual(await Deno.readFile(join(alone, "metrics.jsonl")), swept, `${setting}`);
      }
    });

    await t.step("the same command again skips every finished run", async () => {
      const again = await runTask("sweep", [...PLAN, "--workers", "2", "--out", out]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(
        again.stderr,
        /sweep: 4 runs \(dqn on cartpole, 2 settings × 2 seeds\) into .*; 4 finished already\n/,
      );
      assert.ok(!/^\[\d\/4\]/m.test(again.stderr), again.stderr);
    });

    await t.step(
      "a flag that differs from the plan is refused in one line, exit code 2",
      async () => {
        const changed = PLAN.map((arg) => arg === "600" ? "800" : arg);
        const refused = await runTask("sweep", [...changed, "--out", out]);
        assert.equal(refused.code, 2);
        assert.equal(
          refused.stderr,
          `error: Cannot continue the sweep in ${out}: it was planned with --steps 600, not ` +
            "--steps 800 (give the same flags, or another --out)\n",
        );
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task sweep refuses a bad grid in one line, exit code 2, writing nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_sweep_bad_" });
  try {
    const out = join(root, "sweep");
    const cases: [string, string][] = [
      [
        "learning-rate=abc",
        '--grid learning-rate=abc: --learning-rate must be a positive number, got "abc"',
      ],
      [
        "temperature=2",
        "setting temperature=2: --temperature applies to --exploration boltzmann only",
      ],
    ];
    for (const [grid, message] of cases) {
      const result = await runTask("sweep", ["--grid", grid, "--steps", "100", "--out", out]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr, `error: ${message}\n`);
      await assert.rejects(() => Deno.stat(out), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
