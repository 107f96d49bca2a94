// DQN's convolutional Q-networks: the layers each form builds (a per-cell network for boards,
// convolutions then Dense layers for images), their checks, a checkpoint round trip, a short
// Minesweeper run learning with the per-cell CNN, and `deno task train --network`: the presets'
// networks chosen by name, and one-line refusals where a pair offers no such network.
import assert from "node:assert/strict";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { DQN } from "../lib/rl/dqn.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { randomPolicy } from "../lib/rl/baselines.ts";
import { newTrainConfigFromArgs } from "../lib/run/train_cli.ts";
import { runTask } from "./helpers/mod.ts";

const BOARD = {
  height: 3,
  width: 4,
  layout: "channels-first" as const,
  kernelSize: 3,
  filters: [4, 4],
  pool: 1,
  perCell: true,
};

Deno.test("DQN with a per-cell convolutional Q-network: one value per cell, checked options, a checkpoint", async () => {
  const env = new Minesweeper({ width: 4, height: 3, mines: 2 });
  const agent = new DQN(env, { convolution: BOARD, hiddenSizes: [], seed: 1 });
  const layers = agent.online.model.config.layers;
  assert.deepEqual(layers.map((l) => l.type), ["conv2d", "conv2d", "conv2d"]);
  assert.deepEqual(layers[0], {
    type: "conv2d",
    filters: 4,
    kernelSize: 3,
    padding: "same",
    activation: "relu",
    height: 3,
    width: 4,
    inputLayout: "channels-first",
  });
  assert.equal(agent.online.model.outputSize, 12);
  const { observation } = env.reset({ seed: 3 });
  assert.equal((await agent.qValues(observation)).length, 12);
  const state = await agent.getState();
  const restored = DQN.fromState({
    json: JSON.parse(JSON.stringify(state.json)),
    arrays: state.arrays,
  });
  assert.deepEqual(restored.options.convolution, { ...BOARD, symmetries: false });
  assert.deepEqual(await restored.qValues(observation), await agent.qValues(observation));
  const refusals: [object, RegExp][] = [
    [
      { convolution: { ...BOARD, width: 5 } },
      /a 3×5 board has 15 cells, but the environment has 12 actions/,
    ],
    [{ convolution: { ...BOARD, kernelSize: 2 } }, /kernelSize must be odd/],
    [{ convolution: { ...BOARD, filters: [] } }, /filters must be positive integers/],
    [{ convolution: { ...BOARD, pool: 2 } }, /a per-cell network keeps the board's size/],
    [
      { convolution: { ...BOARD, layout: "nchw" } },
      /layout must be "channels-first" or "channels-last"/,
    ],
    [{ convolution: BOARD, dueling: true }, /Cannot use dueling with convolution/],
    [{ convolution: { ...BOARD, symmetries: "yes" } }, /symmetries must be true or false/],
    [
      { convolution: BOARD, cellwise: { height: 3, width: 4, radius: 1 } },
      /Cannot use cellwise with convolution/,
    ],
  ];
  for (const [options, message] of refusals) {
    assert.throws(() => new DQN(env, options), message);
  }
});

Deno.test("DQN with convolutions, pooling and Dense layers over an image observation", () => {
  const spec = { observationSize: 8 * 8 * 2, actionCount: 3 };
  const agent = new DQN(spec, {
    convolution: {
      height: 8,
      width: 8,
      layout: "channels-last",
      kernelSize: 3,
      filters: [4, 6],
      pool: 2,
      perCell: false,
    },
    hiddenSizes: [16],
    seed: 2,
  });
  const layers = agent.online.model.config.layers;
  assert.deepEqual(layers.map((l) => l.type), [
    "conv2d",
    "maxpool2d",
    "conv2d",
    "maxpool2d",
    "dense",
    "dense",
  ]);
  assert.deepEqual(
    agent.online.model.parameters.map((p) => p.value.shape.join("×")),
    ["18×4", "4", "36×6", "6", "24×16", "16", "16×3", "3"],
  );
});

Deno.test("DQN with the per-cell CNN learns 5×5 Minesweeper with 3 mines: win rate well above random", async () => {
  const board = { width: 5, height: 5, mines: 3 };
  const env = new Minesweeper({ ...board, seed: 1 });
  const agent = new DQN(env, {
    convolution: { ...BOARD, height: 5, width: 5, filters: [16, 16] },
    hiddenSizes: [],
    gamma: 0,
    learningRate: 2e-3,
    batchSize: 32,
    bufferSize: 5000,
    learningStarts: 300,
    trainFrequency: 4,
    epsilon: { start: 1, end: 0.02, steps: 2000 },
    seed: 3,
  });
  await agent.learn(env, { steps: 6000 });
  const episodes = 300, seed = 77;
  const learned = await evaluate(new Minesweeper(board), agent, { episodes, seed });
  const randomEnv = new Minesweeper(board);
  const random = await evaluate(randomEnv, randomPolicy(randomEnv, { seed: 5 }), {
    episodes,
    seed,
  });
  assert.ok(
    learned.winRate! > 2 * random.winRate! + 0.1,
    `learned ${learned.winRate} vs random ${random.winRate}`,
  );
});

Deno.test("--network picks a preset's Q-network, and follows --width and --height", () => {
  const cnn = newTrainConfigFromArgs(["--env", "minesweeper", "--network", "cnn", "--width", "8"])
    .config;
  const conv = cnn.agent.convolution as Record<string, unknown>;
  assert.equal(cnn.agent.cellwise, null);
  assert.deepEqual([conv.height, conv.width, conv.perCell], [9, 8, true]);
  assert.equal(cnn.steps, 400_000, "the CNN's own budget");
  const cellwise = newTrainConfigFromArgs(["--env", "minesweeper", "--network", "cellwise"]).config;
  assert.deepEqual(cellwise, newTrainConfigFromArgs(["--env", "minesweeper"]).config);
  const mlp = newTrainConfigFromArgs(["--env", "mnist-bandit", "--network", "mlp"]).config;
  assert.deepEqual([mlp.agent.convolution, mlp.agent.hiddenSizes], [null, [128]]);
  assert.equal(
    (newTrainConfigFromArgs(["--env", "mnist-bandit"]).config.agent.convolution as {
      filters: number[];
    }).filters.join(),
    "8,16",
  );
});

Deno.test("deno task train --network: one line and exit code 2 where the pair has no such network", async () => {
  const refusals: [string[], string][] = [
    [
      ["--env", "cartpole", "--network", "cnn"],
      "error: --network cnn is not offered for dqn on cartpole; offered: mlp",
    ],
    [
      ["--env", "mnist-bandit", "--network", "cellwise"],
      "error: --network cellwise is not offered for dqn on mnist-bandit; offered: cnn, mlp",
    ],
    [
      ["--env", "cartpole", "--algo", "ppo", "--network", "mlp"],
      "error: --network mlp is not offered for ppo on cartpole; offered: none (dqn only)",
    ],
  ];
  const dir = await Deno.makeTempDir({ prefix: "rnnrl_network_" });
  try {
    for (const [args, line] of refusals) {
      const out = await runTask("train", [...args, "--steps", "10", "--out", `${dir}/run`]);
      assert.equal(out.code, 2, out.stderr);
      assert.equal(out.stderr, `${line}\n`);
      await assert.rejects(Deno.stat(`${dir}/run`), Deno.errors.NotFound, "no directory made");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
