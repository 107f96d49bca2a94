import assert from "node:assert/strict";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { CheckpointError } from "../lib/io/errors.ts";
import { A2C } from "../lib/rl/a2c.ts";
import { DQN, type DqnOptions } from "../lib/rl/dqn.ts";
import { duelingMatrix } from "../lib/rl/q_network.ts";
import type { ReplayBatch } from "../lib/rl/replay.ts";
import type { AgentState } from "../lib/rl/state.ts";
import { loadAgent, saveAgent } from "../lib/run/agent_files.ts";
import { presetFor } from "../lib/run/presets.ts";

const SMALL: Partial<DqnOptions> = {
  hiddenSizes: [16, 16],
  bufferSize: 800,
  learningStarts: 200,
  trainFrequency: 16,
  gradientSteps: 4,
  batchSize: 16,
  targetUpdateInterval: 50,
  epsilon: { start: 1, end: 0.05, steps: 500 },
  learningRate: 1e-3,
  nStep: 3,
  seed: 5,
};

async function parameters(agent: DQN): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const model of [agent.online.model, agent.target.model]) {
    for (const a of await model.getParameters()) out.push(a.data);
  }
  return out;
}

Deno.test("DQN targets follow double DQN with n-step discounting on a hand-made batch", async () => {
  const backend = createCpuBackend();
  const gamma = 0.9, n = 3;
  const agent = new DQN(
    { observationSize: 2, actionCount: 3 },
    { hiddenSizes: [4], gamma, nStep: n, seed: 1 },
    backend,
  );
  // Make the target network differ from the online one, so selection and evaluation differ.
  const perturbed = (await agent.target.model.getParameters()).map((a) => ({
    ...a,
    data: a.data.map((x, i) => x * 0.5 + (i % 3) * 0.1 - 0.05),
  }));
  agent.target.model.setParameters(perturbed);
  const next = [[0.3, -0.2], [1.5, 0.7], [-0.8, 0.4], [0.1, 0.9]];
  const batch: ReplayBatch = {
    observations: new Float32Array(8),
    actions: new Float32Array(4),
    rewards: Float32Array.of(1, 2, 0.5, -1),
    nextObservations: Float32Array.from(next.flat()),
    terminated: Float32Array.of(0, 1, 0, 0),
    truncated: Float32Array.of(0, 0, 1, 0),
    steps: Float32Array.of(3, 2, 2, 3),
    indices: new Int32Array(4),
  };
  const q = async (which: "online" | "target", o: number[]) => {
    const { q } = agent[which].forward(backend.tensor(o, [1, 2]));
    return [...await backend.read(q)];
  };
  const expected: number[] = [];
  for (let b = 0; b < 4; b++) {
    const online = await q("online", next[b]);
    const target = await q("target", next[b]);
    const best = online.indexOf(Math.max(...online));
    const bootstrap = batch.terminated[b] ? 0 : gamma ** batch.steps[b] * target[best];
    expected.push(batch.rewards[b] + bootstrap);
  }
  const got = [...await backend.read(agent.targets(batch))];
  got.forEach((g, b) =>
    assert.ok(Math.abs(g - expected[b]) < 1e-5, `row ${b}: ${g} vs ${expected[b]}`)
  );
  assert.equal(got[1], 2, "a terminal transition does not bootstrap");
  let differs = false;
  for (let b = 0; b < 4; b++) {
    const online = await q("online", next[b]);
    const target = await q("target", next[b]);
    differs ||= online.indexOf(Math.max(...online)) !== target.indexOf(Math.max(...target));
  }
  // Unless some row's online argmax differs from the target's, the test cannot tell double DQN
  // from plain DQN.
  assert.ok(differs, "the hand-made batch exercises double DQN's selection");
});

Deno.test("duelingMatrix maps [V, A] to V + A − mean(A)", () => {
  const m = duelingMatrix(3);
  const out = [2, 1, -1, 3]; // V = 2, A = (1, −1, 3), mean 1
  const q = [0, 1, 2].map((j) => out.reduce((s, x, k) => s + x * m[k * 3 + j], 0));
  q.forEach((v, j) => assert.ok(Math.abs(v - [2, 0, 4][j]) < 1e-6, `Q${j} = ${v}`));
});

Deno.test("DQN gives the same run bit for bit for the same seed, and another for another seed", async () => {
  const run = async (seed: number) => {
    const env = new CartPole();
    const agent = new DQN(env, { ...SMALL, seed, dueling: true });
    const returns: number[] = [];
    await agent.learn(env, { steps: 1500, onEpisode: (e) => returns.push(e.return) });
    return { returns, params: await parameters(agent), updates: agent.updates };
  };
  const a = await run(5), b = await run(5), c = await run(6);
  assert.ok(a.updates > 0);
  assert.deepEqual(a.returns, b.returns);
  assert.deepEqual(a.params, b.params);
  assert.notDeepEqual(a.params, c.params);
});

Deno.test("DQN save() gives the bytes saveAgent writes, and DQN.load restores them exactly", async () => {
  const agent = new DQN(new CartPole(), SMALL);
  await agent.learn(new CartPole(), { steps: 600 });
  const bytes = await agent.save();
  const copy = DQN.load(bytes);
  assert.equal(copy.steps, 600);
  assert.deepEqual(await copy.save(), bytes);
  const path = await Deno.makeTempFile({ suffix: ".bin" });
  try {
    await saveAgent(agent, path);
    assert.deepEqual(await Deno.readFile(path), bytes);
  } finally {
    await Deno.remove(path);
  }
  const damaged = bytes.slice();
  damaged[damaged.length - 1] ^= 1;
  assert.throws(() => DQN.load(damaged), CheckpointError);
  assert.throws(() => A2C.load(bytes), TypeError);
});

Deno.test("DQN resumed from its state continues exactly as one uninterrupted run", async () => {
  const whole = new DQN(new CartPole(), SMALL);
  const env1 = new CartPole();
  const log1: unknown[] = [];
  await whole.learn(env1, { steps: 2000, onEpisode: (e) => log1.push(e) });

  const first = new DQN(new CartPole(), SMALL);
  const env2 = new CartPole();
  const log2: unknown[] = [];
  await first.learn(env2, { steps: 1000, onEpisode: (e) => log2.push(e) });
  // Through a checkpoint file, into a new agent and a new environment.
  const path = await Deno.makeTempFile({ suffix: ".bin" });
  try {
    await saveAgent(first, path);
    const second = await loadAgent(DQN, path);
    await second.learn(new CartPole(), { steps: 1000, onEpisode: (e) => log2.push(e) });
    assert.equal(second.steps, 2000);
    assert.deepEqual(log2, log1);
    assert.deepEqual(await parameters(second), await parameters(whole));
    const s1: AgentState = await second.getState(), s2 = await whole.getState();
    assert.deepEqual(s1.json, s2.json);
    assert.deepEqual(s1.arrays, s2.arrays);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("DQN refuses a state saved with other options", async () => {
  const state = await new DQN(new CartPole(), SMALL).getState();
  const other = new DQN(new CartPole(), { ...SMALL, gamma: 0.5 });
  assert.throws(
    () => other.setState(state),
    /^TypeError: Cannot restore DQN: the state was saved with gamma 0.99, not 0.5$/,
  );
  const rebuilt = DQN.fromState(state);
  assert.equal(rebuilt.options.nStep, SMALL.nStep);
});

Deno.test("DQN learns CartPole: greedy mean return above 100 after 6000 steps", async () => {
  const env = new CartPole();
  const agent = new DQN(env, {
    ...presetFor("cartpole", "dqn").options,
    hiddenSizes: [64, 64],
    learningStarts: 500,
    trainFrequency: 64,
    gradientSteps: 64,
    epsilon: { start: 1, end: 0.04, steps: 2000 },
    learningRate: { start: 2.3e-3, end: 0, steps: 6000 },
    seed: 0,
  });
  const before = await agent.evaluate(new CartPole(), { episodes: 20, seed: 123 });
  let episodes = 0;
  await agent.learn(env, { steps: 6000, onEpisode: () => episodes++ });
  const after = await agent.evaluate(new CartPole(), { episodes: 20, seed: 123 });
  assert.ok(before.meanReturn < 50, `untrained: ${before.meanReturn}`);
  assert.ok(after.meanReturn > 100, `trained: ${after.meanReturn}`);
  assert.ok(episodes > 10);
});
