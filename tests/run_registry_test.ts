import assert from "node:assert/strict";
import { CartPole } from "../lib/envs/cartpole.ts";
import { specOf } from "../lib/envs/env.ts";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { randomPolicy } from "../lib/rl/baselines.ts";
import { copyEnv } from "../lib/rl/env_input.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { recordReplay } from "../lib/report/recorder.ts";
import {
  CORE_ENV_NAMES,
  createEnv,
  ENV_NAMES,
  prepareEnv,
  runBaseline,
} from "../lib/run/registry.ts";
import { functionPolicy } from "./helpers/mod.ts";

Deno.test("createEnv builds every named environment", async () => {
  const sizes: Record<string, [number, number]> = {
    "cartpole": [4, 2],
    "cartpole-masked": [2, 2],
    "bandit": [11, 10],
    "minesweeper": [810, 81],
    "minesweeper-memory": [9, 16],
    "pendulum": [3, 5],
    "pendulum-masked": [2, 5],
    "recommender": [16, 20],
    "mnist-bandit": [784, 10],
  };
  for (const name of ENV_NAMES) {
    await prepareEnv(name);
    const env = createEnv(name, { seed: 1 });
    // rnnrl's own sizes; POPGym's are checked game by game in envs_popgym_test.ts.
    if ((CORE_ENV_NAMES as readonly string[]).includes(name)) {
      assert.deepEqual([env.observationSize, specOf(env).actionCount], sizes[name], name);
    }
    env.reset();
    env.step(0);
  }
  const actions = (env: Parameters<typeof specOf>[0]) => specOf(env).actionCount;
  assert.equal(actions(createEnv("minesweeper", { width: 16, height: 16, mines: 40 })), 256);
  assert.equal(actions(createEnv("minesweeper-memory", { difficulty: "hard" })), 64);
  const small = createEnv("recommender", { items: 5, historyLength: 3, interestDimension: 2 });
  assert.deepEqual([small.observationSize, actions(small)], [6, 5]);
  assert.deepEqual(specOf(createEnv("pendulum-masked", { continuous: true })), {
    id: "pendulum-masked",
    observationSize: 2,
    actionCount: 1,
    actionBounds: [-2, 2],
  });
  assert.throws(() => createEnv("atari" as "cartpole"), RangeError);
});

Deno.test("evaluate sees the same episodes for the same seed, whatever the policy", async () => {
  const firsts = async (act: (o: Float32Array) => number): Promise<Float32Array[]> => {
    const seen: Float32Array[] = [];
    const observer = {
      onReset: (_: number, env: unknown) => void seen.push((env as CartPole).observe()),
    };
    await evaluate(new CartPole(), functionPolicy(act), { episodes: 5, seed: 9, observer });
    return seen;
  };
  const a = await firsts(() => 0);
  const b = await firsts((o) => (o[2] > 0 ? 1 : 0));
  assert.deepEqual(a, b);
  const left = await evaluate(new CartPole(), functionPolicy(() => 0), { episodes: 5, seed: 9 });
  const again = await evaluate(new CartPole({ seed: 3 }), functionPolicy(() => 0), {
    episodes: 5,
    seed: 9,
  });
  assert.deepEqual(left, again);
  assert.equal(left.winRate, undefined, "CartPole has no wins");
});

Deno.test("evaluate summarises returns with the population standard deviation", async () => {
  const env = new CartPole();
  const result = await evaluate(env, randomPolicy(env, { seed: 2 }), { episodes: 20, seed: 4 });
  const { returns } = result;
  assert.equal(returns.length, 20);
  const mean = returns.reduce((a, b) => a + b, 0) / 20;
  const std = Math.sqrt(returns.reduce((a, r) => a + (r - mean) ** 2, 0) / 20);
  assert.ok(Math.abs(result.meanReturn - mean) < 1e-12);
  assert.ok(Math.abs(result.stdReturn - std) < 1e-12);
  assert.deepEqual(result.lengths, returns, "CartPole pays 1 per step");
  assert.deepEqual(
    Object.keys(result),
    ["episodes", "meanReturn", "stdReturn", "seed", "returns", "lengths"],
  );
  await assert.rejects(() => evaluate(env, functionPolicy(() => 0), { episodes: 0 }), RangeError);
});

Deno.test("recordReplay records the first episode of an evaluation", async () => {
  const env = new CartPole();
  const recorder = recordReplay(1);
  const result = await evaluate(env, functionPolicy(() => 1), {
    episodes: 2,
    seed: 1,
    observer: recorder.observer,
  });
  const replay = recorder.replay();
  assert.equal(replay?.env, "cartpole");
  // One frame per step plus the starting state; the last one is past a threshold.
  assert.equal(replay!.frames.length, result.lengths[0] + 1);
  const last = replay!.frames.at(-1) as number[];
  assert.ok(Math.abs(last[0]) > 2.4 || Math.abs(last[2]) > (12 * 2 * Math.PI) / 360);
});

Deno.test("randomPolicy plays only valid Minesweeper cells", async () => {
  const env = new Minesweeper({ width: 5, height: 5, mines: 3 });
  // An invalid cell would make step() throw.
  const result = await evaluate(env, randomPolicy(env, { seed: 1 }), { episodes: 200, seed: 1 });
  assert.ok(result.winRate !== undefined && result.winRate < 0.5);
});

Deno.test("runBaseline reports the solver's win rate and refuses it off Minesweeper", async () => {
  const result = await runBaseline({ env: "minesweeper", agent: "solver", episodes: 300, seed: 5 });
  assert.equal(result.episodes, 300);
  assert.ok(result.winRate! > 0.8, `${result.winRate}`);
  const wins = result.returns.filter((r) => r > 0).length;
  assert.ok(wins >= result.winRate! * 300 - 1e-9, "a won game has a positive return");
  assert.deepEqual(
    (await runBaseline({ env: "minesweeper", agent: "solver", episodes: 20, seed: 5 })).returns,
    result.returns.slice(0, 20),
  );
  await assert.rejects(
    () => runBaseline({ env: "cartpole", agent: "solver" }),
    /minesweeper" only/,
  );
});

Deno.test("runBaseline plays the recommender's popular and myopic baselines and refuses them elsewhere", async () => {
  const run = (agent: "random" | "popular" | "myopic") =>
    runBaseline({ env: "recommender", agent, episodes: 300, seed: 2 });
  const [random, popular, myopic] = [
    await run("random"),
    await run("popular"),
    await run("myopic"),
  ];
  assert.ok(random.meanReturn < popular.meanReturn && popular.meanReturn < myopic.meanReturn);
  assert.deepEqual((await run("myopic")).returns, myopic.returns, "seeded: the same sessions");
  const small = await runBaseline({
    env: "recommender",
    agent: "popular",
    items: 4,
    historyLength: 2,
  });
  assert.equal(small.episodes, 100);
  for (const agent of ["popular", "myopic"] as const) {
    await assert.rejects(() => runBaseline({ env: "cartpole", agent }), /"recommender" only/);
  }
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
    ["episodes", "meanReturn", "stdReturn", "seed", "returns", "lengths", "winRate"],
  );
  assert.deepEqual(
    result,
    await runBaseline({ env: "minesweeper", agent: "solver", episodes: 30, seed: 3 }),
  );
});

Deno.test("eval task reports bad flags and values on one stderr line with exit code 2", async () => {
  for (
    const args of [
      ["--env", "cartpole", "--agent", "random", "--bogus"],
      ["--env", "cartpole", "--agent", "random", "--episodes", "-3"],
      ["--env", "cartpole", "--agent", "solver"],
      ["--env", "minesweeper", "--agent", "random", "--mines", "81"],
      ["--env", "minesweeper", "--agent", "myopic"],
      ["--env", "cartpole", "--agent", "random", "--items", "5"],
      ["--env", "recommender", "--agent", "popular", "--items", "1"],
    ]
  ) {
    const { code, stdout, stderr } = await runCli(args);
    assert.equal(code, 2, args.join(" "));
    assert.equal(stdout, "");
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr, /^error: /);
  }
});

Deno.test("copyEnv copies every createEnv environment with its sizes, so A2C can vectorise it", async () => {
  for (const name of ENV_NAMES) {
    await prepareEnv(name);
    const options = name === "minesweeper-memory"
      ? { difficulty: "medium" as const, observeAction: true }
      : {};
    const env = createEnv(name, { ...options, seed: 1 });
    const copy = copyEnv(env);
    assert.notEqual(copy, env, name);
    assert.equal(copy.id, env.id, name);
    assert.equal(copy.observationSize, env.observationSize, name);
    assert.deepEqual(specOf(copy), specOf(env), name);
    // Same seed, same episode: the copy is the same environment, not just the same sizes.
    const a = env.reset({ seed: 5 }), b = copy.reset({ seed: 5 });
    assert.deepEqual(b.observation, a.observation, name);
    for (let t = 0; t < 3; t++) {
      const action = (t * 7) % specOf(env).actionCount;
      let x;
      try {
        x = env.step(action);
      } catch (error) {
        // Minesweeper refuses a cell the first click already opened; the copy must as well.
        assert.throws(() => copy.step(action), { message: (error as Error).message }, name);
        break;
      }
      const y = copy.step(action);
      assert.deepEqual(y.observation, x.observation, name);
      assert.equal(y.reward, x.reward, name);
      if (x.terminated || x.truncated) break;
    }
  }
});
