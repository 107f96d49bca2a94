// `deno task train --resident` through the real command line: the resident PPO on Pendulum
// (the continuous torque, and five discrete ones) and cartpole-masked, its periodic evaluations, the report's chart of the
// logged mean return, and the refusals (one line, exit code 2).
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTask } from "./helpers/mod.ts";

/** The records of a run's metrics.jsonl. */
async function records(dir: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(join(dir, "metrics.jsonl"));
  return text.trim().split("\n").map((line) => JSON.parse(line));
}

Deno.test("deno task train --resident on pendulum (continuous torque) logs episode counts and returns, and reports them", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_resident_" });
  try {
    const out = join(root, "run");
    const trained = await runTask("train", [
      ...["--env", "pendulum", "--algo", "ppo", "--resident", "--steps", "8192"],
      ...["--log-every", "1", "--eval-episodes", "3", "--seed", "2", "--out", out],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const config = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
    assert.equal(config.agent.resident, true);
    assert.equal(config.envOptions.continuous, true, "the preset's continuous torque");
    // Two updates of 4 copies × 1024 steps; Pendulum's episodes last 200 steps.
    const train = (await records(out)).filter((r) => r.kind === "train");
    assert.deepEqual(train.map((r) => r.step), [4096, 8192]);
    assert.equal((train[0].episodes as number) + (train[1].episodes as number), 40);
    for (const r of train) {
      assert.ok((r.meanReturn as number) < 0, `pendulum pays ≤ 0: ${r.meanReturn}`);
    }
    const html = await Deno.readTextFile(join(out, "report.html"));
    assert.match(html, /data-chart="logged-return"/);
    assert.doesNotMatch(html, /No finished episodes/);
    assert.equal(JSON.parse(await Deno.readTextFile(join(out, "eval.json"))).episodes, 3);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task train --resident --actions discrete trains pendulum from five torques", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_resident_discrete_" });
  try {
    const out = join(root, "run");
    const trained = await runTask("train", [
      ...["--env", "pendulum", "--algo", "ppo", "--resident", "--actions", "discrete"],
      ...["--steps", "4096", "--eval-episodes", "2", "--out", out],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const config = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
    assert.equal(config.envOptions.continuous, false);
    const evaluation = JSON.parse(await Deno.readTextFile(join(out, "eval.json")));
    assert.deepEqual(evaluation.lengths, [200, 200]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task train --resident evaluates during training on device copies", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_resident_eval_" });
  try {
    const out = join(root, "run");
    const trained = await runTask("train", [
      ...["--env", "cartpole-masked", "--algo", "ppo", "--resident", "--steps", "2048"],
      ...["--envs", "16", "--eval-every", "1024", "--eval-every-episodes", "4"],
      ...["--eval-episodes", "2", "--out", out],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const config = JSON.parse(await Deno.readTextFile(join(out, "config.json")));
    assert.equal(config.agent.envs, 16);
    // A logged update (one read-back) about every 2 048 steps: every 4th of 16 × 32.
    assert.equal(config.agent.logInterval, 4);
    const evals = (await records(out)).filter((r) => r.kind === "eval");
    assert.deepEqual(evals.map((e) => e.step), [1024, 2048]);
    for (const e of evals) assert.equal((e.returns as number[]).length, 4);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task train --resident refuses what it cannot train, in one line with exit code 2", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_resident_refused_" });
  try {
    for (
      const [args, pattern] of [
        [["--algo", "dqn"], /--resident applies to --algo ppo only/],
        [["--algo", "ppo", "--env", "minesweeper"], /--resident has no device copies of --env/],
      ] as const
    ) {
      const out = join(root, "never");
      const refused = await runTask("train", [...args, "--resident", "--out", out]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, pattern);
      assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
      await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
