// The `embedding` option of the network builders: PPO, A2C, DQN and DRQN put an Embedding over
// the observation's leading ids first in their networks (and nothing changes without it), learn
// on the recommender, survive a checkpoint with the same actions, and export to ONNX policies
// that act as they do; the combinations that cannot work are refused in one line.
import assert from "node:assert/strict";
import { Recommender } from "../lib/envs/recommender.ts";
import { Embedding } from "../lib/nn/embedding.ts";
import { OnnxPolicy, onnxPolicy } from "../lib/onnx/policy.ts";
import { A2C } from "../lib/rl/a2c.ts";
import { DQN } from "../lib/rl/dqn.ts";
import { DRQN } from "../lib/rl/drqn.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { PPO } from "../lib/rl/ppo.ts";
import { exportPolicy } from "../lib/onnx/agent_export.ts";

const env = () => new Recommender({ items: 6, historyLength: 4, seed: 1 });
const embedding = { vocabulary: 7, size: 3, ids: 4 };

Deno.test("without the embedding option no network starts with an Embedding; with it, every one does", () => {
  const spec = env();
  const plain = [
    new PPO(spec, { cellUnits: 8 }).actor,
    new DQN(spec, { hiddenSizes: [8] }).online.model,
    new DRQN(spec, { cellUnits: 8 }).online.model,
  ];
  for (const model of plain) assert.ok(!model.layers.some((l) => l instanceof Embedding));
  const ppo = new PPO(spec, { embedding, normalizeObservations: false, cellUnits: 8 });
  const a2c = new A2C(spec, { embedding, normalizeObservations: false, cell: "gru", cellUnits: 8 });
  const dqn = new DQN(spec, { embedding, hiddenSizes: [8] });
  const drqn = new DRQN(spec, { embedding, cellUnits: 8 });
  for (
    const model of [ppo.actor, ppo.critic!, a2c.actor, dqn.online.model, drqn.online.model]
  ) {
    assert.ok(model.layers[0] instanceof Embedding);
    assert.equal(model.layers[0].units, 4 * 3 + 4, "four vectors, then the four click flags");
  }
});

Deno.test("the embedding option is checked: its fields, normalizeObservations, cellwise, the observation's size", () => {
  const spec = env();
  assert.throws(
    () => new PPO(spec, { embedding }),
    /^RangeError: Cannot use normalizeObservations with embedding: ids are not features to standardise/,
  );
  assert.throws(
    () => new DQN(spec, { embedding: { ...embedding, size: 0 } }),
    /^RangeError: Cannot use embedding.size 0: expected a positive integer$/,
  );
  assert.throws(
    () => new DQN(spec, { embedding: { ...embedding, extra: 1 } as never }),
    /^TypeError: Cannot use embedding.extra: its fields are vocabulary, size and ids$/,
  );
  assert.throws(
    () =>
      new DQN({ observationSize: 9, actionCount: 9 }, {
        embedding,
        cellwise: { height: 3, width: 3, radius: 1 },
      }),
    /Cannot use embedding with cellwise/,
  );
  assert.throws(
    () => new DRQN(spec, { embedding: { ...embedding, ids: 9 } }),
    /Cannot build an Embedding layer: 9 ids, but the input has 8 entries/,
  );
});

Deno.test("PPO with an Embedding and an LSTM learns on the recommender, resumes with the same actions, and exports to ONNX", async () => {
  const train = env();
  const agent = new PPO(train, {
    embedding,
    normalizeObservations: false,
    cellUnits: 8,
    hiddenSizes: [8],
    envs: 2,
    rolloutSteps: 16,
    minibatches: 1,
    seed: 3,
  });
  await agent.learn(train, { steps: 256 });
  const copy = PPO.fromState(await agent.getState());
  const a = await evaluate(env(), agent, { episodes: 5, seed: 9 });
  const b = await evaluate(env(), copy, { episodes: 5, seed: 9 });
  assert.deepEqual(b.returns, a.returns, "the restored agent plays the same sessions alike");
  const session = await OnnxPolicy.load(await exportPolicy(agent));
  try {
    const c = await evaluate(env(), onnxPolicy(session), { episodes: 5, seed: 9 });
    assert.deepEqual(c.returns, a.returns, "the ONNX policy (Slice, Cast, Gather) acts alike");
  } finally {
    await session.release();
  }
});

Deno.test("DQN and DRQN with an Embedding learn on the recommender and resume exactly", async () => {
  for (
    const make of [
      () =>
        new DQN(env(), { embedding, hiddenSizes: [8], learningStarts: 50, batchSize: 8, seed: 2 }),
      () =>
        new DRQN(env(), {
          embedding,
          cellUnits: 8,
          learningStarts: 50,
          sequenceLength: 4,
          burnIn: 2,
          batchSize: 4,
          seed: 2,
        }),
    ]
  ) {
    const train = env();
    const agent = make();
    await agent.learn(train, { steps: 200 });
    const state = await agent.getState();
    const copy = agent instanceof DQN ? DQN.fromState(state) : DRQN.fromState(state);
    const a = await evaluate(env(), agent, { episodes: 3, seed: 4 });
    const b = await evaluate(env(), copy, { episodes: 3, seed: 4 });
    assert.deepEqual(b.returns, a.returns);
  }
});
