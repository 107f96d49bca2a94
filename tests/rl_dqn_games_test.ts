import assert from "node:assert/strict";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { Rng } from "../lib/io/rng.ts";
import { randomPolicy } from "../lib/rl/baselines.ts";
import { DQN, type DqnOptions } from "../lib/rl/dqn.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import type { ReplayBatch } from "../lib/rl/replay.ts";
import type { AgentState } from "../lib/rl/state.ts";
import { RANDOM_MASK_ACTIONS, RandomMaskEnv } from "./helpers/mod.ts";

const ACTIONS = RANDOM_MASK_ACTIONS;

const SMALL: Partial<DqnOptions> = {
  hiddenSizes: [16],
  bufferSize: 300,
  learningStarts: 50,
  trainFrequency: 4,
  gradientSteps: 2,
  batchSize: 16,
  targetUpdateInterval: 40,
  epsilon: { start: 1, end: 0.1, steps: 200 },
  learningRate: 3e-3,
  nStep: 2,
  gamma: 0.9,
  seed: 3,
};

async function parameters(agent: DQN): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const model of [agent.online.model, agent.target.model]) {
    for (const a of await model.getParameters()) out.push(a.data);
  }
  return out;
}

function argmaxWhere(values: ArrayLike<number>, mask?: ArrayLike<number>): number {
  let best = -1;
  for (let a = 0; a < values.length; a++) {
    if ((!mask || mask[a]) && (best < 0 || values[a] > values[best])) best = a;
  }
  return best;
}

Deno.test("DQN acts only among the valid actions, greedily and exploring", async () => {
  // Exploring with ε = 1 and mostly exploring with ε from 1 to 0.1: the environment throws on
  // any invalid action, so learning without an error is the check.
  for (const epsilon of [{ start: 1, end: 1, steps: 1 }, SMALL.epsilon!]) {
    const env = new RandomMaskEnv();
    const agent = new DQN(env, { ...SMALL, epsilon });
    await agent.learn(env, { steps: 600 });
    assert.equal(agent.steps, 600);
  }
  // Greedy: the masked argmax of the Q-values, never an invalid action, although the unmasked
  // argmax often is one.
  const agent = new DQN(new RandomMaskEnv(), SMALL);
  const rng = new Rng(11);
  let unmaskedInvalid = 0;
  for (let i = 0; i < 300; i++) {
    const observation = Float32Array.from({ length: 4 }, () => rng.uniformIn(-2, 2));
    const mask = Uint8Array.from({ length: ACTIONS }, () => (rng.uniform() < 0.4 ? 1 : 0));
    if (!mask.some((m) => m === 1)) mask[rng.int(ACTIONS)] = 1;
    const q = await agent.qValues(observation);
    const { action } = await agent.act(observation, undefined, { mask });
    assert.equal(mask[action], 1, `state ${i}: action ${action} is invalid`);
    assert.equal(action, argmaxWhere(q, mask));
    if (!mask[argmaxWhere(q)]) unmaskedInvalid++;
  }
  assert.ok(unmaskedInvalid > 50, `the unmasked argmax was invalid ${unmaskedInvalid} times`);
  await assert.rejects(
    () => agent.act(new Float32Array(4), undefined, { mask: new Uint8Array(ACTIONS) }),
    RangeError,
  );
});

Deno.test("DQN evaluates a masked game without invalid clicks", async () => {
  const env = new RandomMaskEnv();
  const agent = new DQN(env, SMALL);
  // The environment throws on an invalid action, so finishing is the check.
  const { returns } = await agent.evaluate(env, { episodes: 20, seed: 2 });
  assert.equal(returns.length, 20);
  const again = await evaluate(new RandomMaskEnv(), agent, { episodes: 20, seed: 2 });
  assert.deepEqual(again.returns, returns, "the same seed, the same episodes");
});

Deno.test("DQN targets take the max over the next state's valid actions on a hand-made batch", async () => {
  const backend = createCpuBackend();
  const gamma = 0.8;
  const next = [[0.3, -0.2, 1, 0], [1.5, 0.7, -1, 0.5], [-0.8, 0.4, 0.2, -0.3], [0.1, 0.9, 0, 1]];
  const batch: ReplayBatch = {
    observations: new Float32Array(16),
    actions: new Float32Array(4),
    rewards: Float32Array.of(1, 2, 0.5, -1),
    nextObservations: Float32Array.from(next.flat()),
    terminated: Float32Array.of(0, 1, 0, 0),
    truncated: new Float32Array(4),
    steps: Float32Array.of(1, 1, 1, 1),
    indices: new Int32Array(4),
  };
  for (const doubleDqn of [true, false]) {
    const agent = new DQN(
      { observationSize: 4, actionCount: ACTIONS },
      { hiddenSizes: [8], gamma, doubleDqn, seed: 4 },
      backend,
    );
    const perturbed = (await agent.target.model.getParameters()).map((a) => ({
      ...a,
      data: a.data.map((x, i) => x * 0.7 + (i % 5) * 0.05 - 0.1),
    }));
    agent.target.model.setParameters(perturbed);
    const q = async (which: "online" | "target", o: number[]) => {
      const { q } = agent[which].forward(backend.tensor(o, [1, 4]));
      return [...await backend.read(q)];
    };
    // Each row's mask rules out the action the unmasked max would take; the last row has no
    // valid action at all and is left unmasked.
    const masks = new Uint8Array(4 * ACTIONS).fill(1);
    const expected: number[] = [], unmasked: number[] = [];
    for (let b = 0; b < 4; b++) {
      const select = await q(doubleDqn ? "online" : "target", next[b]);
      const target = await q("target", next[b]);
      const row = masks.subarray(b * ACTIONS, (b + 1) * ACTIONS);
      if (b === 3) row.fill(0);
      else row[argmaxWhere(select)] = 0;
      const bootstrap = (a: number) => batch.terminated[b] ? 0 : gamma * target[a];
      expected.push(batch.rewards[b] + bootstrap(argmaxWhere(select, b === 3 ? undefined : row)));
      unmasked.push(batch.rewards[b] + bootstrap(argmaxWhere(select)));
    }
    const got = [...await backend.read(agent.targets(batch, masks))];
    got.forEach((g, b) => assert.ok(Math.abs(g - expected[b]) < 1e-5, `row ${b}: ${g}`));
    // The masks changed the non-terminal rows' targets, and the all-invalid row's is finite.
    for (const b of [0, 2]) assert.ok(Math.abs(got[b] - unmasked[b]) > 1e-4, `row ${b} unmasked`);
    assert.ok(Math.abs(got[3] - unmasked[3]) < 1e-5);
    const plain = [...await backend.read(agent.targets(batch))];
    plain.forEach((g, b) => assert.ok(Math.abs(g - unmasked[b]) < 1e-5, `row ${b} without masks`));
    assert.throws(() => agent.targets(batch, new Uint8Array(3)), TypeError);
  }
});

Deno.test("DQN keeps the replay's next-state masks through getState and setState", async () => {
  const whole = new DQN(new RandomMaskEnv(), SMALL);
  await whole.learn(new RandomMaskEnv(), { steps: 400 });

  const first = new DQN(new RandomMaskEnv(), SMALL);
  await first.learn(new RandomMaskEnv(), { steps: 200 });
  const state = await first.getState();
  const saved = state.arrays.find((a) => a.name === "replay.nextMasks");
  assert.ok(saved && saved.data instanceof Uint8Array);
  assert.deepEqual(saved.shape, [first.replay.size, ACTIONS]);
  assert.ok(saved.data.includes(0) && saved.data.includes(1));

  const resume = async (s: AgentState) => {
    const agent = new DQN(new RandomMaskEnv(), SMALL);
    agent.setState(s);
    await agent.learn(new RandomMaskEnv(), { steps: 200 });
    return agent;
  };
  // Through a new agent and a restored environment: the same run as one uninterrupted.
  const second = await resume(state);
  assert.deepEqual(await parameters(second), await parameters(whole));
  const s1 = await second.getState(), s2 = await whole.getState();
  assert.deepEqual(s1.arrays, s2.arrays);
  // Dropping the saved masks changes the updates that follow: they are used.
  const withoutMasks = await resume({
    json: state.json,
    arrays: state.arrays.filter((a) => a.name !== "replay.nextMasks"),
  });
  assert.notDeepEqual(await parameters(withoutMasks), await parameters(whole));
});

Deno.test("DQN policyNetwork is the online model, and none with a dueling head", () => {
  const plain = new DQN({ observationSize: 4, actionCount: 3 }, { hiddenSizes: [8] });
  assert.equal(plain.policyNetwork(), plain.online.model);
  const dueling = new DQN({ observationSize: 4, actionCount: 3 }, {
    hiddenSizes: [8],
    dueling: true,
  });
  assert.equal(dueling.policyNetwork(), undefined);
});

Deno.test("DQN learns 5×5 Minesweeper with 3 mines: win rate well above the random agent's", async () => {
  const board = { width: 5, height: 5, mines: 3 };
  const env = new Minesweeper({ ...board, seed: 1 });
  const agent = new DQN(env, {
    hiddenSizes: [128],
    gamma: 0.1,
    learningRate: 1e-3,
    batchSize: 64,
    bufferSize: 20_000,
    learningStarts: 500,
    trainFrequency: 4,
    targetUpdateInterval: 500,
    epsilon: { start: 1, end: 0.02, steps: 4000 },
    seed: 2,
  });
  await agent.learn(env, { steps: 12_000 });
  const episodes = 300, seed = 77;
  const learned = await evaluate(new Minesweeper(board), agent, {
    episodes,
    seed,
  });
  const randomEnv = new Minesweeper(board);
  const random = await evaluate(randomEnv, randomPolicy(randomEnv, { seed: 5 }), {
    episodes,
    seed,
  });
  const learnedWins = learned.winRate!, randomWins = random.winRate!;
  // Random play wins about 8% of these games; the solver about 88%.
  assert.ok(randomWins < 0.15, `random won ${randomWins}`);
  assert.ok(learnedWins > 2 * randomWins + 0.1, `learned ${learnedWins} vs random ${randomWins}`);
});

Deno.test("DQN with cellwise builds one shared per-cell network and checks its options", async () => {
  const env = new Minesweeper({ width: 4, height: 3, mines: 2 });
  const cellwise = { height: 3, width: 4, radius: 1 };
  const agent = new DQN(env, { cellwise, hiddenSizes: [8], seed: 1 });
  assert.deepEqual(agent.online.model.config.layers, [
    { type: "cellwise", ...cellwise, hidden: [8], activation: "relu" },
  ]);
  assert.equal(agent.policyNetwork(), agent.online.model);
  const { observation } = env.reset({ seed: 3 });
  assert.equal((await agent.qValues(observation)).length, 12);
  // The options survive a checkpoint's JSON (resume compares them).
  const state = await agent.getState();
  const restored = DQN.fromState({
    json: JSON.parse(JSON.stringify(state.json)),
    arrays: state.arrays,
  });
  assert.deepEqual(restored.options.cellwise, cellwise);
  assert.throws(() => new DQN(env, { cellwise, dueling: true }), /dueling/);
  assert.throws(() => new DQN(env, { cellwise: { ...cellwise, width: 5 } }), RangeError);
  assert.throws(() => new DQN(env, { cellwise: { ...cellwise, radius: -1 } }), RangeError);
  assert.throws(() => new DQN(env, { cellwise: { ...cellwise, height: 1.5 } }), RangeError);
  assert.equal(new DQN(env, { cellwise: null }).options.cellwise, null);
});

Deno.test("DQN with a cellwise Q-network learns 5×5 Minesweeper with 3 mines", async () => {
  const board = { width: 5, height: 5, mines: 3 };
  const env = new Minesweeper({ ...board, seed: 1 });
  const agent = new DQN(env, {
    cellwise: { height: 5, width: 5, radius: 2 },
    hiddenSizes: [32],
    gamma: 0,
    learningRate: { start: 1e-3, end: 1e-4, steps: 8_000 },
    batchSize: 64,
    bufferSize: 5_000,
    learningStarts: 300,
    trainFrequency: 8,
    epsilon: { start: 1, end: 0.02, steps: 2000 },
    seed: 2,
  });
  await agent.learn(env, { steps: 8_000 });
  const episodes = 300, seed = 77;
  const learned = await evaluate(new Minesweeper(board), agent, {
    episodes,
    seed,
  });
  const randomEnv = new Minesweeper(board);
  const random = await evaluate(randomEnv, randomPolicy(randomEnv, { seed: 5 }), {
    episodes,
    seed,
  });
  const learnedWins = learned.winRate!, randomWins = random.winRate!;
  // Seeds 2 to 5 win 51% to 57% of these games after 8000 steps; random play about 10%.
  assert.ok(learnedWins > 2 * randomWins + 0.2, `learned ${learnedWins} vs random ${randomWins}`);
});

Deno.test("DQN targets are the rewards when gamma is 0, with or without masks", async () => {
  const backend = createCpuBackend();
  const batch: ReplayBatch = {
    observations: new Float32Array(8),
    actions: new Float32Array(2),
    rewards: Float32Array.of(0.3, -1),
    nextObservations: Float32Array.of(5, -3, 2, 1, 0.5, 4, -2, 7),
    terminated: Float32Array.of(0, 1),
    truncated: new Float32Array(2),
    steps: Float32Array.of(1, 1),
    indices: new Int32Array(2),
  };
  const agent = new DQN({ observationSize: 4, actionCount: ACTIONS }, {
    hiddenSizes: [8],
    gamma: 0,
    seed: 4,
  }, backend);
  assert.deepEqual([...await backend.read(agent.targets(batch))], [...batch.rewards]);
  const masks = new Uint8Array(2 * ACTIONS).fill(1);
  assert.deepEqual([...await backend.read(agent.targets(batch, masks))], [...batch.rewards]);
  assert.throws(() => agent.targets(batch, new Uint8Array(3)), TypeError);
});
