// `deno task eval --onnx` acts through onnxruntime-web on the exported policy; with the same
// --seed it must see the same episodes and take the same actions as rnnrl's own forward pass.
import assert from "node:assert/strict";
import { join } from "node:path";
import { CartPole } from "../lib/envs/cartpole.ts";
import { OnnxPolicy, onnxPolicy } from "../lib/onnx/policy.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { PPO } from "../lib/rl/ppo.ts";
import { exportPolicy } from "../lib/onnx/agent_export.ts";
import { runTask } from "./helpers/mod.ts";

async function evalBothWays(run: string): Promise<{ native: number[]; onnx: number[] }> {
  const exported = await runTask("export", ["--run", run]);
  assert.equal(exported.code, 0, exported.stderr);
  const native = await runTask("eval", ["--run", run, "--episodes", "8", "--seed", "3"]);
  assert.equal(native.code, 0, native.stderr);
  const onnx = await runTask("eval", ["--run", run, "--episodes", "8", "--seed", "3", "--onnx"]);
  assert.equal(onnx.code, 0, onnx.stderr);
  return { native: JSON.parse(native.stdout).returns, onnx: JSON.parse(onnx.stdout).returns };
}

Deno.test("eval --onnx gives the same per-episode returns as eval for a DQN (MLP) policy", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_onnx_eval_" });
  try {
    const run = join(root, "dqn");
    const trained = await runTask("train", [
      ...["--env", "cartpole", "--algo", "dqn", "--steps", "3000", "--hidden", "32,32"],
      ...["--eval-episodes", "2", "--backend", "cpu", "--out", run],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const { native, onnx } = await evalBothWays(run);
    assert.equal(native.length, 8);
    assert.deepEqual(onnx, native);
    // A policy that learned something: not every episode is the same short failure.
    assert.ok(new Set(native).size > 1, `returns ${native}`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("eval --onnx gives the same per-episode returns as eval for an LSTM (A2C) policy", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_onnx_eval_" });
  try {
    const run = join(root, "a2c");
    const trained = await runTask("train", [
      ...["--env", "cartpole-masked", "--algo", "a2c", "--steps", "4000"],
      ...["--eval-episodes", "2", "--backend", "cpu", "--out", run],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const config = JSON.parse(await Deno.readTextFile(join(run, "config.json")));
    assert.ok(JSON.stringify(config.agentOptions).includes("lstm"), "an LSTM policy");
    const { native, onnx } = await evalBothWays(run);
    assert.equal(native.length, 8);
    assert.deepEqual(onnx, native);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("eval --onnx gives the same per-episode returns as eval for a DRQN (LSTM Q-network) policy", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_onnx_eval_" });
  try {
    const run = join(root, "drqn");
    const trained = await runTask("train", [
      ...["--env", "cartpole-masked", "--algo", "drqn", "--steps", "3000"],
      ...["--eval-episodes", "2", "--backend", "cpu", "--out", run],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const config = JSON.parse(await Deno.readTextFile(join(run, "config.json")));
    assert.equal(config.algo, "drqn");
    const { native, onnx } = await evalBothWays(run);
    assert.equal(native.length, 8);
    assert.deepEqual(onnx, native);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("eval --onnx masks revealed cells like the agent for a cellwise Minesweeper DQN", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_onnx_eval_" });
  try {
    const run = join(root, "minesweeper");
    const trained = await runTask("train", [
      ...["--env", "minesweeper", "--algo", "dqn", "--width", "5", "--height", "5"],
      ...["--mines", "3", "--steps", "3000", "--eval-episodes", "2", "--backend", "cpu"],
      ...["--out", run],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const config = JSON.parse(await Deno.readTextFile(join(run, "config.json")));
    assert.deepEqual(config.agent.cellwise, { height: 5, width: 5, radius: 3 });
    const { native, onnx } = await evalBothWays(run);
    assert.equal(native.length, 8);
    assert.deepEqual(onnx, native);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** Trains a short PPO run with `flags` and evaluates it both ways. */
async function ppoBothWays(
  name: string,
  flags: string[],
): Promise<{ native: number[]; onnx: number[]; config: Record<string, unknown> }> {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_onnx_eval_" });
  try {
    const run = join(root, name);
    const trained = await runTask("train", [
      ...["--algo", "ppo", ...flags, "--eval-episodes", "2", "--backend", "cpu", "--out", run],
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const config = JSON.parse(await Deno.readTextFile(join(run, "config.json")));
    return { ...await evalBothWays(run), config };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

for (const cell of ["none", "lstm", "gru"]) {
  Deno.test(`eval --onnx gives the same per-episode returns as eval for a PPO policy with cell ${cell}`, async () => {
    const { native, onnx, config } = await ppoBothWays(cell, [
      ...["--env", "cartpole-masked", "--cell", cell, "--steps", "2048"],
    ]);
    assert.equal((config.agentOptions as Record<string, unknown>).cell, cell);
    assert.equal(native.length, 8);
    assert.deepEqual(onnx, native);
  });
}

Deno.test("eval --onnx plays a PPO Gaussian policy's clipped mean like eval", async () => {
  const { native, onnx, config } = await ppoBothWays("gaussian", [
    ...["--env", "pendulum-masked", "--cell", "gru", "--steps", "4096"],
  ]);
  assert.equal((config.envOptions as Record<string, unknown>).continuous, true);
  assert.equal(native.length, 8);
  // onnxruntime sums its products in another order than rnnrl's kernels, so a continuous action
  // can differ in its last float32 bits, and the dynamics carry that on: equal to 1e-3.
  native.forEach((r, i) =>
    assert.ok(Math.abs(onnx[i] - r) <= 1e-3 * Math.max(1, Math.abs(r)), `${onnx[i]} vs ${r}`)
  );
  assert.ok(new Set(native).size > 1, "different episodes");
});

Deno.test("a shared actor-critic network exports its policy columns, and plays like the agent", async () => {
  const agent = new PPO(new CartPole({ maskVelocity: true }), {
    sharedNetwork: true,
    cell: "gru",
    envs: 2,
    minibatches: 2,
    rolloutSteps: 32,
    cellUnits: 8,
    hiddenSizes: [8],
    seed: 4,
  });
  await agent.learn(new CartPole({ maskVelocity: true }), { steps: 640 });
  const session = await OnnxPolicy.load(await exportPolicy(agent));
  try {
    assert.equal(session.outputSize, 3, "two logits and the value");
    assert.equal(session.policyOutputs, 2);
    assert.equal(session.outputKind, "logits");
    const options = { episodes: 5, seed: 9 };
    const native = await evaluate(new CartPole({ maskVelocity: true }), agent, options);
    const onnx = await evaluate(new CartPole({ maskVelocity: true }), onnxPolicy(session), options);
    assert.deepEqual(onnx.returns, native.returns);
  } finally {
    await session.release();
  }
});
