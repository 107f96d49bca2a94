// The workflow a user follows: two seeds trained with `deno task train`, then one report
// comparing them with `deno task report`, each through the real command line.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTask } from "./_helpers.ts";

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
