// deno task benchmark through its real command line: a tiny benchmark (2 environments × PPO with
// no cell and a GRU × 2 seeds, 1100 steps a run: one PPO update each), its run directories and
// results, a re-start that skips and resumes, a refused change of plan, the same results with
// one job as with two, a failed run, and SIGINT.
import assert from "node:assert/strict";
import { join } from "node:path";
import { finalScore } from "../lib/report/benchmark_scores.ts";
import { ChromiumPage, findChromium } from "./helpers/chromium.ts";
import { fingerprint, lines, lockIsFree, runTask, spawnTask } from "./helpers/mod.ts";

const ENVS = ["repeat-previous-easy", "count-recall-easy"];
const MODELS = ["ppo-none", "ppo-gru"];
const SEEDS = [1, 2];
const RUNS = ENVS.flatMap((env) =>
  MODELS.flatMap((model) => SEEDS.map((seed) => join(env, model, `seed-${seed}`)))
);
const PLAN = [
  ...["--envs", ENVS.join(","), "--cells", "none,gru", "--seeds", SEEDS.join(",")],
  ...["--steps", "1100", "--eval-every", "100", "--eval-episodes", "2"],
  ...["--final-eval-episodes", "5"],
];

const chromium = findChromium();

interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}
interface Cell {
  model: string;
  seeds: number;
  interval: Interval | null;
}
interface Table {
  metric: string;
  rows: { env: string; cells: Cell[] }[];
  iqm: Cell[];
  improvement: { model: string; over: string; interval: Interval | null }[];
}

async function readJson(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

/** A run's periodic evaluations, as metrics.jsonl holds them, in step order. */
async function evaluations(dir: string): Promise<{ step: number; meanReturn: number }[]> {
  const text = await Deno.readTextFile(join(dir, "metrics.jsonl"));
  return lines(text).map((line) => JSON.parse(line)).filter((r) => r.kind === "eval")
    .sort((a, b) => a.step - b.step);
}

/** A number as the table prints it. */
function shown(x: number): string {
  const text = x.toFixed(3);
  return text === "-0.000" ? "0.000" : text;
}

Deno.test("deno task benchmark trains every environment × model × seed, scores them, and continues where it stopped", async (t) => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_benchmark_" });
  const out = join(root, "jobs-2");
  try {
    const first = await runTask("benchmark", [...PLAN, "--jobs", "2", "--out", out]);
    assert.equal(first.code, 0, first.stderr);

    await t.step("every run is a run directory with its final evaluation", async () => {
      for (const run of RUNS) {
        for (const file of ["config.json", "metrics.jsonl", "eval.json", "checkpoint.bin"]) {
          assert.ok((await Deno.stat(join(out, run, file))).isFile, `${run}/${file}`);
        }
        const config = await readJson(join(out, run, "config.json"));
        assert.equal(config.algo, "ppo");
        assert.equal(config.steps, 1100);
        assert.equal(config.agent.cell, run.includes("gru") ? "gru" : "none");
        assert.deepEqual(config.envOptions, { observePreviousAction: true });
        assert.equal(config.evalEvery, 100);
        assert.equal(config.evalEveryEpisodes, 2);
        assert.equal(config.evalEpisodes, 5);
        assert.equal((await readJson(join(out, run, "eval.json"))).episodes, 5);
      }
      const plan = await readJson(join(out, "benchmark.json"));
      assert.deepEqual(plan.envs, ENVS);
      assert.deepEqual(plan.models, MODELS);
      assert.deepEqual(plan.seeds, SEEDS);
      assert.equal(plan.steps, 1100);
    });

    await t.step("stderr has one line a finished run, with the overall count", () => {
      const done = lines(first.stderr).filter((line) => /^\[\d+\/8\]/.test(line));
      assert.equal(done.length, 8, first.stderr);
      for (const line of done) {
        assert.match(
          line,
          /^\[\d\/8\] \S+-easy ppo-(none|gru) seed [12]: mean return -?\d+\.\d{3} over 5 episodes, \d+\.\d s$/,
        );
      }
      assert.deepEqual(done.map((l) => l.slice(0, 5)).sort(), RUNS.map((_, i) => `[${i + 1}/8]`));
      assert.ok(!/steps\/s|ETA/.test(first.stderr), "no training progress");
    });

    const results = await readJson(join(out, "results.json"));
    const markdown = await Deno.readTextFile(join(out, "results.md"));

    await t.step(
      "results.json and results.md hold every environment × model with its interval",
      () => {
        assert.equal(results.runs.length, 8);
        const tables: Table[] = results.tables;
        assert.deepEqual(tables.map((table) => table.metric), ["final", "mmer", "eval100"]);
        for (const table of tables) {
          assert.deepEqual(table.rows.map((row) => row.env), ENVS);
          for (const cell of [...table.rows.flatMap((row) => row.cells), ...table.iqm]) {
            assert.equal(cell.seeds, 2);
            const { estimate, lower, upper } = cell.interval!;
            assert.ok(lower <= estimate && estimate <= upper, `${table.metric} ${cell.model}`);
          }
          assert.deepEqual(table.improvement.map((i) => [i.model, i.over]), [[
            "ppo-gru",
            "ppo-none",
          ]]);
          const p = table.improvement[0].interval!;
          assert.ok(0 <= p.lower && p.lower <= p.estimate && p.estimate <= p.upper && p.upper <= 1);
        }
        assert.match(markdown, /1,100 environment steps a run, 2 seeds \(1, 2\)/);
        const cell = /-?\d\.\d{3} \[-?\d\.\d{3}, -?\d\.\d{3}\]/.source;
        for (const env of [...ENVS, "IQM \\(all envs\\)"]) {
          const row = new RegExp(`^\\| ${env} \\| ${cell} \\| ${cell} \\|$`, "gm");
          assert.equal(markdown.match(row)?.length, 3, `${env}: a row in each of the 3 tables`);
        }
        assert.match(
          markdown,
          new RegExp(`^\\| P\\(improvement over ppo-none\\) \\|  \\| ${cell} \\|$`, "m"),
        );
      },
    );

    await t.step("a cell's numbers are those computed by hand from the runs' metrics", async () => {
      const finals: number[] = [];
      const bests: number[] = [];
      for (const seed of SEEDS) {
        const evals = await evaluations(join(out, "count-recall-easy", "ppo-gru", `seed-${seed}`));
        assert.equal(evals.length, 11);
        const last = evals.slice(-3).map((e) => e.meanReturn);
        finals.push((last[0] + last[1] + last[2]) / 3);
        bests.push(Math.max(...evals.map((e) => e.meanReturn)));
      }
      const tables: Table[] = results.tables;
      for (const [metric, values] of [["final", finals], ["mmer", bests]] as const) {
        const cell = tables.find((table) => table.metric === metric)!.rows[1].cells[1];
        assert.equal(cell.model, "ppo-gru");
        const mean = (values[0] + values[1]) / 2;
        assert.ok(Math.abs(cell.interval!.estimate - mean) < 1e-12, `${metric}: ${mean}`);
        // With two seeds the resampled means are a, (a + b) / 2 and b: the 95% interval is [a, b].
        assert.equal(cell.interval!.lower, Math.min(...values));
        assert.equal(cell.interval!.upper, Math.max(...values));
        const text = `${shown(mean)} [${shown(Math.min(...values))}, ${
          shown(Math.max(...values))
        }]`;
        const section = markdown.split("\n## ")[metric === "final" ? 1 : 2];
        const row = section.split("\n").find((line) => line.startsWith("| count-recall-easy |"));
        assert.equal(row?.split(" | ")[2], `${text} |`, metric);
      }
    });

    await t.step("report.html draws a learning-curve chart for each environment", async () => {
      const html = await Deno.readTextFile(join(out, "report.html"));
      for (const env of ENVS) {
        const at = html.indexOf(`data-chart="curve-${env}"`);
        assert.ok(at > 0, env);
        const figure = html.slice(at, html.indexOf("</figure>", at));
        assert.match(figure, /<svg[\s\S]*<path[^>]+d="M/);
      }
      assert.match(html, /data-chart="iqm-final"/);
      assert.match(html, /<table class="benchmark" data-metric="final">/);
      assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(html.replace(/<svg[\s\S]*?<\/svg>/g, "")));
    });

    await t.step({
      name: "report.html renders in headless Chromium without errors",
      ignore: chromium === null,
      fn: async () => {
        const page = await ChromiumPage.launch(chromium!, { width: 1200, height: 900 });
        try {
          const path = join(out, "report.html");
          await page.goto(`file://${path}`);
          const charts = await page.evaluate<{ name: string; width: number; marks: number }[]>(
            `[...document.querySelectorAll("figure.chart")].map((f) => ({
              name: f.dataset.chart,
              width: f.querySelector("svg").getBoundingClientRect().width,
              marks: f.querySelectorAll("g.role-mark > path, g.role-mark > line").length,
            }))`,
          );
          assert.deepEqual(charts.map((c) => c.name), [
            "iqm-final",
            "iqm-mmer",
            "iqm-eval100",
            ...ENVS.map((env) => `curve-${env}`),
          ]);
          for (const c of charts) assert.ok(c.width > 300 && c.marks > 0, JSON.stringify(c));
          assert.deepEqual(page.errors, []);
          assert.deepEqual(page.requests, [`file://${path}`]);
          const png = await page.screenshot();
          assert.deepEqual([...png.slice(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
          const shot = Deno.env.get("BENCHMARK_SHOT");
          if (shot) await Deno.writeFile(shot, png);
        } finally {
          await page.close();
        }
      },
    });

    await t.step(
      "a re-start skips the finished runs and finishes the one whose eval.json is gone",
      async () => {
        const redo = join(out, "count-recall-easy", "ppo-none", "seed-2");
        const before = await fingerprint(out);
        const evaluation = await readJson(join(redo, "eval.json"));
        await Deno.remove(join(redo, "eval.json"));
        const again = await runTask("benchmark", [...PLAN, "--jobs", "2", "--out", out]);
        assert.equal(again.code, 0, again.stderr);
        assert.match(again.stderr, /7 finished already; 1 to resume/);
        const done = lines(again.stderr).filter((line) => /^\[\d+\/8\]/.test(line));
        assert.deepEqual(done.map((l) => l.split(":")[0]), [
          "[8/8] count-recall-easy ppo-none seed 2",
        ]);
        const after = await fingerprint(out);
        for (const [path, hash] of Object.entries(before)) {
          if (
            path.startsWith("count-recall-easy/ppo-none/seed-2/") || /^(results|report)/.test(path)
          ) {
            continue;
          }
          assert.equal(after[path], hash, `${path} is unchanged`);
        }
        const { wallTimeSeconds: _a, ...redone } = await readJson(join(redo, "eval.json"));
        const { wallTimeSeconds: _b, ...original } = evaluation;
        assert.deepEqual(redone, original);
        assert.deepEqual(await readJson(join(out, "results.json")), results);
      },
    );

    await t.step(
      "a re-start with another --steps is refused in one line, exit code 2",
      async () => {
        const before = await fingerprint(out);
        const refused = await runTask("benchmark", ["--steps", "900", "--out", out]);
        assert.equal(refused.code, 2);
        assert.deepEqual(lines(refused.stderr), [
          `error: Cannot continue the benchmark in ${out}: it was planned with --steps 1100, not ` +
          "--steps 900 (give the same flags, or another --out)",
        ]);
        assert.deepEqual(await fingerprint(out), before);
      },
    );

    await t.step("one job at a time gives the same results as two", async () => {
      const serial = join(root, "jobs-1");
      const one = await runTask("benchmark", [...PLAN, "--jobs", "1", "--out", serial]);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stderr, /; 1 at a time/);
      assert.deepEqual(await readJson(join(serial, "results.json")), results);
    });

    await t.step("--summarize-only writes the same results again, training nothing", async () => {
      for (const file of ["results.json", "results.md", "report.html"]) {
        await Deno.remove(join(out, file));
      }
      const runsBefore = await fingerprint(join(out, "repeat-previous-easy"));
      const summary = await runTask("benchmark", ["--summarize-only", "--out", out]);
      assert.equal(summary.code, 0, summary.stderr);
      assert.deepEqual(await readJson(join(out, "results.json")), results);
      assert.equal(await Deno.readTextFile(join(out, "results.md")), markdown);
      assert.equal(summary.stdout.trim(), markdown.trim());
      assert.deepEqual(await fingerprint(join(out, "repeat-previous-easy")), runsBefore);
    });

    await t.step(
      "a run that fails is named in one line, the others are scored, exit code 1",
      async () => {
        const broken = join(out, "repeat-previous-easy", "ppo-gru", "seed-1");
        await Deno.remove(join(broken, "eval.json"));
        await Deno.writeTextFile(join(broken, "config.json"), "{}\n");
        const failed = await runTask("benchmark", ["--out", out]);
        assert.equal(failed.code, 1, failed.stderr);
        const errors = lines(failed.stderr).filter((l) => /fail/.test(l));
        assert.equal(errors.length, 2, failed.stderr);
        assert.match(errors[0], /^\[8\/8\] repeat-previous-easy ppo-gru seed 1 failed: Cannot /);
        assert.equal(
          errors[1],
          `error: 1 of 8 runs failed (named above); the results of the 7 others are in ${out}; ` +
            "the same command retries them",
        );
        const partial = await readJson(join(out, "results.json"));
        assert.equal(partial.runs.length, 7);
        const final: Table = partial.tables[0];
        assert.equal(final.rows[0].cells[1].seeds, 1);
        assert.match(await Deno.readTextFile(join(out, "results.md")), /\(1 seed\)/);
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task benchmark stops on SIGINT with its runs resumable, and the same command finishes them", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_benchmark_sigint_" });
  const out = join(root, "bench");
  const plan = [
    ...["--envs", "repeat-first-easy", "--cells", "none", "--seeds", "1,2", "--steps", "30000"],
    ...["--eval-episodes", "2", "--final-eval-episodes", "5", "--jobs", "1", "--out", out],
  ];
  try {
    const child = spawnTask("benchmark", plan);
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    while (!stderr.includes("1 at a time\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    await child.stdout.cancel();
    const status = await child.status;
    assert.equal(status.code, 130, stderr);
    assert.match(
      lines(stderr).at(-1)!,
      new RegExp(
        "^error: Interrupted by SIGINT: [01] of 2 runs finished, [12] left \\(the runs in " +
          `progress kept their checkpoints\\); continue with deno task benchmark --out ${out}$`,
      ),
    );
    assert.ok(await lockIsFree(out));
    const evals = await Promise.all(
      [1, 2].map((seed) =>
        Deno.stat(join(out, "repeat-first-easy", "ppo-none", `seed-${seed}`, "eval.json")).then(
          () => true,
          () => false,
        )
      ),
    );
    assert.ok(evals.includes(false), "a run was left unfinished");

    const resumed = await runTask("benchmark", ["--out", out]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const results = await readJson(join(out, "results.json"));
    assert.equal(results.runs.length, 2);
    for (const run of results.runs) {
      const evaluations = (await Deno.readTextFile(join(out, run.dir, "metrics.jsonl")))
        .split("\n").filter((l) => l.includes('"kind":"eval"')).map((l) => JSON.parse(l));
      assert.equal(evaluations.length, 20, "an evaluation every 1500 steps, none twice");
      assert.equal(run.final, finalScore(evaluations.map((e) => e.meanReturn)));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
