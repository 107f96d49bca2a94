/**
 * Every `--env` × `--algo` pair of `deno task train`, for a few hundred steps through the real
 * command line: each pair trains (and writes its evaluation and report), or ends with exit code
 * 2 and one line saying why the pair does not fit. Never a stack trace.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ALGO_NAMES, ENV_NAMES } from "../lib/run/registry.ts";
import { lines, runTask, type TaskOutput } from "./helpers/mod.ts";

/** Runs `work` over `items`, `limit` at a time, in order of the items. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

Deno.test("every env × algo pair trains, or says in one line why it does not fit", async () => {
  const root = await Deno.makeTempDir({ prefix: "pairs_" });
  try {
    const pairs = ENV_NAMES.flatMap((env) => ALGO_NAMES.map((algo) => ({ env, algo })));
    const outcomes = await pool(pairs, 2, async ({ env, algo }) => {
      const out = join(root, `${env}_${algo}`);
      const args = ["--env", env, "--algo", algo, "--steps", "300", "--seed", "1"];
      const result: TaskOutput = await runTask("train", [
        ...args,
        "--backend",
        "cpu",
        "--eval-episodes",
        "2",
        "--out",
        out,
      ]);
      return { env, algo, out, result };
    });
    const trained: string[] = [], refused: string[] = [];
    for (const { env, algo, out, result } of outcomes) {
      const pair = `${env}/${algo}`;
      assert.doesNotMatch(result.stderr, /^\s+at /m, `${pair} printed a stack trace`);
      if (result.code === 0) {
        const evaluation = JSON.parse(await Deno.readTextFile(join(out, "eval.json")));
        assert.equal(evaluation.episodes, 2, pair);
        assert.ok((await Deno.stat(join(out, "report.html"))).size > 0, pair);
        trained.push(pair);
      } else {
        assert.equal(result.code, 2, `${pair} exited ${result.code}: ${result.stderr}`);
        assert.equal(result.stdout, "", pair);
        const errors = lines(result.stderr);
        assert.equal(errors.length, 1, `${pair}: ${result.stderr}`);
        assert.match(errors[0], new RegExp(`^error: Cannot train ${algo} on ${env}: `), pair);
        refused.push(pair);
      }
    }
    // The deep agents play every environment (Minesweeper through its action masks); the
    // tabular ones need CartPole's discretiser, the bandit ones the bandit.
    const tabular = ["q-learning", "sarsa"];
    const bandits = ["epsilon-greedy", "ucb", "thompson", "gradient-bandit"];
    const unfit = pairs.filter(({ env, algo }) =>
      (tabular.includes(algo) && env !== "cartpole" && env !== "cartpole-masked") ||
      (bandits.includes(algo) && env !== "bandit")
    ).map(({ env, algo }) => `${env}/${algo}`);
    assert.deepEqual(refused, unfit);
    assert.equal(trained.length + refused.length, pairs.length);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
