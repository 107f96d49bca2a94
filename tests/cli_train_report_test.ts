// The workflow a user follows: two seeds trained with `deno task train`, then one report
// comparing them with `deno task report`, each through the real command line.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTask } from "./helpers/mod.ts";

Deno.test("deno task train on two seeds, then deno task report, gives one report comparing them", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_train_report_" });
  try {
    const runs = [join(root, "seed-1"), join(root, "seed-2")];
    for (const [i, out] of runs.entries()) {
      const trained = await runTask("train", [
        ...["--env", "cartpole", "--algo", "q-learning", "--steps", "20000"],
        ...["--seed", String(i + 1), "--eval-episodes", "5", "--out", out],
      ]);
      assert.equal(trained.code, 0, trained.stderr);
      for (const file of ["config.json", "metrics.jsonl", "eval.json", "report.html"]) {
        assert.ok((await Deno.stat(join(out, file))).isFile, `${out}/${file}`);
      }
    }
    const seeds = await Promise.all(
      runs.map(async (dir) => JSON.parse(await Deno.readTextFile(join(dir, "config.json"))).seed),
    );
    assert.deepEqual(seeds, [1, 2]);

    const out = join(root, "compare.html");
    const report = await runTask("report", [...runs, "--out", out]);
    assert.equal(report.code, 0, report.stderr);
    const html = await Deno.readTextFile(out);
    // One comparison chart (mean with a min-max band over the two seeds), drawn as SVG marks.
    assert.match(html, /data-chart="compare"/);
    const compare = html.slice(html.indexOf('data-chart="compare"'));
    assert.match(compare.slice(0, compare.indexOf("</figure>")), /<path[^>]+d="M/);
    for (const dir of runs) assert.ok(html.includes(dir.split("/").at(-1)!), dir);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task train --eval-every logs evaluations that the report charts, and --stop-on-return ends training early", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_eval_every_" });
  try {
    const out = join(root, "run");
    const trained = await runTask("train", [
      ...["--env", "cartpole", "--algo", "a2c", "--steps", "20000", "--seed", "1"],
      ...["--eval-every", "2000", "--eval-every-episodes", "3", "--log-every", "10"],
      ...["--stop-on-return", "150", "--eval-episodes", "5", "--out", out],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const records = (await Deno.readTextFile(join(out, "metrics.jsonl"))).trim().split("\n")
      .map((line) => JSON.parse(line));
    const evals = records.filter((r) => r.kind === "eval");
    assert.ok(evals.length >= 1, "evaluations were logged");
    evals.forEach((e, i) => {
      assert.equal(e.step, 2000 * (i + 1));
      assert.equal(e.episodes, 3);
      assert.equal(e.returns.length, 3);
    });
    // It stopped at the first evaluation that reached 150, before the 20 000 steps.
    const last = evals.at(-1)!;
    assert.ok(last.meanReturn >= 150, `last evaluation ${last.meanReturn}`);
    assert.ok(evals.slice(0, -1).every((e) => e.meanReturn < 150));
    assert.ok(last.step < 20_000, `stopped at ${last.step}`);
    const evaluation = JSON.parse(await Deno.readTextFile(join(out, "eval.json")));
    assert.equal(evaluation.step, last.step);
    assert.match(trained.stderr, /stopped at step \d+: an evaluation reached 150/);
    // Training statistics every 10 updates (an update is 8 copies × 16 steps here).
    const train = records.filter((r) => r.kind === "train");
    assert.equal(train.length, Math.floor(last.step / (128 * 10)));
    // The report's evaluation-over-training chart has its points.
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert.match(html, /data-chart="eval-curve"/);
    // Resuming a run that a callback stopped does not train further.
    const resumed = await runTask("train", ["--out", out, "--resume"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(JSON.parse(await Deno.readTextFile(join(out, "eval.json"))).step, last.step);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
