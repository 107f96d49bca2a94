import assert from "node:assert/strict";
import {
  createEnv,
  ENV_NAMES,
  evaluate,
  randomPolicy,
  runBaseline,
} from "../lib/envs/baselines.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { Minesweeper } from "../lib/envs/minesweeper.ts";

Deno.test("createEnv builds every named environment", () => {
  const sizes: Record<string, [number, number]> = {
    "cartpole": [4, 2],
    "cartpole-masked": [2, 2],
    "bandit": [1, 10],
    "minesweeper": [810, 81],
    "minesweeper-memory": [9, 16],
    "pendulum": [3, 5],
  };
  for (const name of ENV_NAMES) {
    const env = createEnv(name, { seed: 1 });
    assert.deepEqual([env.observationSize, env.actionCount], sizes[name], name);
    env.reset();
    env.step(0);
  }
  assert.equal(createEnv("minesweeper", { width: 16, height: 16, mines: 40 }).actionCount, 256);
  assert.equal(createEnv("minesweeper-memory", { difficulty: "hard" }).actionCount, 64);
  assert.throws(() => createEnv("atari" as "cartpole"), RangeError);
});

Deno.test("evaluate sees the same episodes for the same seed, whatever the policy", () => {
  const firsts = (act: (o: Float32Array) => number): Float32Array[] => {
    const seen: Float32Array[] = [];
    const env = new CartPole();
    const policy = { reset: () => seen.push(env.observe()), act };
    evaluate(env, policy, { episodes: 5, seed: 9 });
    return seen;
  };
  const a = firsts(() => 0);
  const b = firsts((o) => (o[2] > 0 ? 1 : 0));
  assert.deepEqual(a, b);
  const left = evaluate(new CartPole(), { act: () => 0 }, { episodes: 5, seed: 9 });
  const again = evaluate(new CartPole({ seed: 3 }), { act: () => 0 }, { episodes: 5, seed: 9 });
  assert.deepEqual(left, again);
  assert.equal(left.winRate, undefined, "CartPole has no wins");
});

Deno.test("evaluate summarises returns with the population standard deviation", () => {
  const env = new CartPole();
  const result = evaluate(env, randomPolicy(env, { seed: 2 }), { episodes: 20, seed: 4 });
  const { returns } = result;
  assert.equal(returns.length, 20);
  const mean = returns.reduce((a, b) => a + b, 0) / 20;
  const std = Math.sqrt(returns.reduce((a, r) => a + (r - mean) ** 2, 0) / 20);
  assert.ok(Math.abs(result.meanReturn - mean) < 1e-12);
  assert.ok(Math.abs(result.stdReturn - std) < 1e-12);
  assert.deepEqual(Object.keys(result), ["episodes", "meanReturn", "stdReturn", "seed", "returns"]);
  assert.throws(() => evaluate(env, { act: () => 0 }, { episodes: 0 }), RangeError);
});

Deno.test("randomPolicy plays only valid Minesweeper cells", () => {
  const env = new Minesweeper({ width: 5, height: 5, mines: 3 });
  const result = evaluate(env, randomPolicy(env, { seed: 1 }), { episodes: 200, seed: 1 });
  assert.ok(result.winRate !== undefined && result.winRate < 0.5);
});

Deno.test("runBaseline reports the solver's win rate and refuses it off Minesweeper", () => {
  const result = runBaseline({ env: "minesweeper", agent: "solver", episodes: 300, seed: 5 });
  assert.equal(result.episodes, 300);
  assert.ok(result.winRate! > 0.8, `${result.winRate}`);
  const wins = result.returns.filter((r) => r > 0).length;
  assert.ok(wins >= result.winRate! * 300 - 1e-9, "a won game has a positive return");
  assert.deepEqual(
    runBaseline({ env: "minesweeper", agent: "solver", episodes: 20, seed: 5 }).returns,
    result.returns.slice(0, 20),
  );
  assert.throws(() => runBaseline({ env: "cartpole", agent: "solver" }), /minesweeper" only/);
});

const EVAL = new URL("../tasks/eval.ts", import.meta.url).pathname;

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", EVAL, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("eval task prints one JSON line for a baseline", async () => {
  const { code, stdout } = await runCli(
    ["--env", "minesweeper", "--agent", "solver", "--episodes", "30", "--seed", "3"],
  );
  assert.equal(code, 0);
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  const result = JSON.parse(lines[0]);
  assert.deepEqual(
    Object.keys(result),
    ["episodes", "meanReturn", "stdReturn", "seed", "returns", "winRate"],
  );
  assert.deepEqual(
    result,
    runBaseline({ env: "minesweeper", agent: "solver", episodes: 30, seed: 3 }),
  );
});

Deno.test("eval task reports bad flags and values on one stderr line with exit code 2", async () => {
  for (
    const args of [
      ["--env", "cartpole", "--agent", "random", "--bogus"],
      ["--env", "cartpole", "--agent", "random", "--episodes", "-3"],
      ["--env", "cartpole", "--agent", "solver"],
      ["--env", "minesweeper", "--agent", "random", "--mines", "81"],
    ]
  ) {
    const { code, stdout, stderr } = await runCli(args);
    assert.equal(code, 2, args.join(" "));
    assert.equal(stdout, "");
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr, /^error: /);
  }
});
