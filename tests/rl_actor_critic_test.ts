import assert from "node:assert/strict";
import { cpuData, createCpuBackend } from "../lib/backend/cpu.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { VectorEnv } from "../lib/envs/vector.ts";
import type { Env } from "../lib/envs/env.ts";
import { Rng } from "../lib/io/rng.ts";
import { A2C, resolveA2cOptions } from "../lib/rl/a2c.ts";
import type { Tensor } from "../lib/backend/backend.ts";
import { ActorCritic } from "../lib/rl/actor_critic.ts";
import type { EpisodeReport, TrainReport } from "../lib/rl/agent.ts";
import { copyEnv } from "../lib/rl/env_input.ts";
import { REINFORCE, resolveReinforceOptions } from "../lib/rl/reinforce.ts";
import {
  computeAdvantages,
  normalizeAdvantages,
  type RolloutData,
} from "../lib/rl/rollout_buffer.ts";
import { type AgentState, findArray } from "../lib/rl/state.ts";
import { loadAgent, saveAgent } from "../lib/run/agent_files.ts";
import { presetFor } from "../lib/run/presets.ts";
import { createAgent } from "../lib/run/registry.ts";
import { CueEnv } from "./helpers/mod.ts";

const close = (actual: ArrayLike<number>, expected: number[], atol = 1e-5) => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= atol,
      `element ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
};

/** Asserts that two agent states are identical: JSON and every array, bit for bit. */
function assertSameState(a: AgentState, b: AgentState): void {
  assert.deepEqual(a.json, b.json);
  assert.deepEqual(a.arrays.map((x) => x.name), b.arrays.map((x) => x.name));
  a.arrays.forEach((x, i) => {
    assert.deepEqual(x.shape, b.arrays[i].shape, x.name);
    assert.deepEqual(
      new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength),
      new Uint8Array(
        b.arrays[i].data.buffer,
        b.arrays[i].data.byteOffset,
        b.arrays[i].data.byteLength,
      ),
      x.name,
    );
  });
}

Deno.test("computeAdvantages bootstraps after truncation, not after termination, and cuts GAE at episode ends", () => {
  // [T = 3, N = 2]: env 0 terminates at t = 1; env 1 is truncated at t = 0 (V(final) = 3).
  const rollout: RolloutData = {
    steps: 3,
    envs: 2,
    rewards: [1, 0, 1, 2, 1, 0],
    values: [0.5, 1, 0.4, 1, 0.3, 1],
    terminated: [0, 0, 1, 0, 0, 0],
    truncated: [0, 1, 0, 0, 0, 0],
    finalValues: [99, 3, 99, 99, 99, 99], // only env 1 at t = 0 is read
    lastValues: [2, -1],
  };
  const { advantages, returns } = computeAdvantages(rollout, { gamma: 0.9, lambda: 0.5 });
  // env 0: δ2 = 1 + 0.9·2 − 0.3 = 2.5; δ1 = 1 − 0.4 = 0.6 (no bootstrap);
  //        Â0 = (1 + 0.9·0.4 − 0.5) + 0.45·0.6 = 1.13.
  // env 1: δ2 = 0.9·(−1) − 1 = −1.9; Â1 = (2 + 0.9 − 1) + 0.45·(−1.9) = 1.045;
  //        Â0 = 0 + 0.9·3 − 1 = 1.7 (bootstrapped from V(final), chain cut).
  close(advantages, [1.13, 1.7, 0.6, 1.045, 2.5, -1.9]);
  close(returns, [1.63, 2.7, 1.0, 2.045, 2.8, -0.9]);

  // Terminated and truncated on the same step: terminated wins, no bootstrap.
  const both = computeAdvantages({
    steps: 1,
    envs: 1,
    rewards: [1],
    values: [0],
    terminated: [1],
    truncated: [1],
    finalValues: [10],
    lastValues: [10],
  }, { gamma: 0.9, lambda: 1 });
  close(both.returns, [1]);
  assert.throws(
    () => computeAdvantages({ ...rollout, lastValues: [1] }, { gamma: 0.9, lambda: 1 }),
    TypeError,
  );
});

Deno.test("computeAdvantages equals the sum of discounted TD errors up to each episode's end", () => {
  const rng = new Rng(5);
  const T = 7, N = 3, gamma = 0.95;
  const rand = (n: number) => Array.from({ length: n }, () => rng.normal());
  const flags = () => Array.from({ length: T * N }, () => (rng.uniform() < 0.2 ? 1 : 0));
  const rollout: RolloutData = {
    steps: T,
    envs: N,
    rewards: rand(T * N),
    values: rand(T * N),
    terminated: flags(),
    truncated: flags(),
    finalValues: rand(T * N),
    lastValues: rand(N),
  };
  const delta = (t: number, i: number) => {
    const k = t * N + i;
    const next = rollout.terminated[k]
      ? 0
      : rollout.truncated[k]
      ? rollout.finalValues[k]
      : t === T - 1
      ? rollout.lastValues[i]
      : rollout.values[k + N];
    return rollout.rewards[k] + gamma * next - rollout.values[k];
  };
  for (const lambda of [0, 0.7, 1]) {
    const { advantages, returns } = computeAdvantages(rollout, { gamma, lambda });
    for (let i = 0; i < N; i++) {
      for (let t = 0; t < T; t++) {
        let sum = 0, weight = 1;
        for (let u = t; u < T; u++) {
          sum += weight * delta(u, i);
          weight *= gamma * lambda;
          if (rollout.terminated[u * N + i] || rollout.truncated[u * N + i]) break;
        }
        const k = t * N + i;
        assert.ok(Math.abs(advantages[k] - sum) < 1e-5, `λ=${lambda} t=${t} i=${i}`);
        assert.ok(Math.abs(returns[k] - sum - rollout.values[k]) < 1e-5);
      }
    }
  }
  // λ = 1 with episodes that end inside the rollout: the discounted returns-to-go minus V.
  const mc = computeAdvantages({
    steps: 3,
    envs: 1,
    rewards: [1, 2, 4],
    values: [0, 0, 0],
    terminated: [0, 0, 1],
    truncated: [0, 0, 0],
    finalValues: [0, 0, 0],
    lastValues: [0],
  }, { gamma: 0.5, lambda: 1 });
  close(mc.returns, [1 + 1 + 1, 2 + 2, 4]);
  const normalized = normalizeAdvantages(Float32Array.of(1, 2, 3, 4));
  close([normalized.reduce((a, b) => a + b, 0)], [0]);
  close([normalized.reduce((a, b) => a + b * b, 0) / 4], [1], 1e-4);
});

/**
 * The actor-critic loss through `ActorCritic.replay` (masked BPTT from carried start states) and a
 * policy head, as the on-policy agents compose it: `policyLoss(weights) + c_v·mean((V − R)²)`.
 */
function replayTotal(
  ac: ActorCritic,
  backend: ReturnType<typeof createCpuBackend>,
  batch: {
    observations: Float32Array;
    masks: Float32Array;
    actions: Float32Array;
    weights: Float32Array;
    returns: Float32Array;
    starts: Float32Array[];
  },
  shape: [number, number],
  coefficients: { entropyCoef: number; valueCoef: number },
): Promise<number> {
  const [T, N] = shape, I = ac.actor.inputSize;
  const x = backend.tensor(batch.observations, [T, N, I]);
  const mask = backend.tensor(batch.masks, [T, N]);
  const actions = backend.tensor(batch.actions, [T * N]);
  const weights = backend.tensor(batch.weights, [T * N]);
  const returns = backend.tensor(batch.returns, [T * N]);
  const losses: Tensor[] = [];
  ac.replay(x, mask, batch.starts, {
    policy: (outputs) => {
      const { loss, grad } = ac.head.loss(outputs, actions, weights, coefficients.entropyCoef);
      losses.push(loss);
      return grad;
    },
    value: (values) => {
      const { loss, grad } = backend.mseLoss(values, returns);
      losses.push(backend.scale(loss, coefficients.valueCoef));
      backend.dispose(loss);
      const d = backend.scale(grad, coefficients.valueCoef);
      backend.dispose(grad);
      return d;
    },
  });
  for (const t of [x, mask, actions, weights, returns]) backend.dispose(t);
  const value = losses.reduce((a, l) => a + cpuData(l)[0], 0);
  losses.forEach((l) => backend.dispose(l));
  return Promise.resolve(value);
}

Deno.test("the actor-critic loss's gradients match float64 finite differences through masked BPTT, for every network shape and head", async () => {
  const backend = createCpuBackend({ precision: "float64" });
  const cases = [
    { shared: false, continuous: false },
    { shared: true, continuous: false },
    { shared: false, continuous: true },
    { shared: true, continuous: true },
  ];
  for (const { shared, continuous } of cases) {
    const what = `${shared ? "shared" : "separate"} ${continuous ? "Gaussian" : "categorical"}`;
    const spec = continuous
      ? { observationSize: 2, actionCount: 1, actionBounds: [-2, 2] as [number, number] }
      : { observationSize: 2, actionCount: 3 };
    const ac = new ActorCritic(backend, spec, {
      cell: "lstm",
      cellUnits: 3,
      hiddenSizes: [4],
      normalizeObservations: false,
      sharedNetwork: shared,
      logStdInit: -0.3,
    }, { actor: 1, critic: 2 });
    const rng = new Rng(9);
    const T = 4, N = 2;
    const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
    const batch = {
      observations: rand(T * N * 2),
      masks: Float32Array.of(1, 1, 1, 0, 1, 1, 0, 1), // env 1 starts an episode at t = 1, env 0 at t = 3
      actions: continuous ? rand(T * N) : Float32Array.of(0, 2, 1, 1, 2, 0, 1, 2),
      weights: rand(T * N),
      returns: rand(T * N),
      starts: ac.models.map((m) => rand(N * m.stateSize, 0.5)),
    };
    const coefficients = { entropyCoef: 0.05, valueCoef: 0.7 };
    const total = () => replayTotal(ac, backend, batch, [T, N], coefficients);
    await total();
    const params = ac.trainables.flatMap((t) => t.parameters);
    // float64 all the way: the tensors' own arrays, not float32 reads.
    const grads = params.map((p) => cpuData(p.grad!).slice());
    const values = params.map((p) => cpuData(p.value).slice());
    for (let trial = 0; trial < 3; trial++) {
      const directions = values.map((v) => rand(v.length));
      let analytic = 0;
      directions.forEach((d, k) => d.forEach((x, j) => analytic += grads[k][j] * x));
      const shifted = async (epsilon: number) => {
        params.forEach((p, k) =>
          cpuData(p.value).set(values[k].map((v, e) => v + epsilon * directions[k][e]))
        );
        await ac.head.refresh();
        return await total();
      };
      const epsilon = 1e-5;
      const numeric = ((await shifted(epsilon)) - (await shifted(-epsilon))) / (2 * epsilon);
      assert.ok(
        Math.abs(numeric - analytic) <= 1e-6 * Math.max(1, Math.abs(analytic)),
        `${what}: finite differences ${numeric}, backprop ${analytic}`,
      );
    }
    params.forEach((p, k) => cpuData(p.value).set(values[k]));
    await ac.head.refresh();
  }
});

Deno.test("A2C replays a rollout with masks that reset the LSTM state where an episode started", async () => {
  // Short episodes (truncated after 6 steps at the latest) so every rollout crosses boundaries.
  const env = new CartPole({ maskVelocity: true, maxEpisodeSteps: 6 });
  const agent = new A2C(env, {
    envs: 2,
    rolloutSteps: 20,
    cellUnits: 8,
    hiddenSizes: [],
    normalizeObservations: false,
    seed: 4,
  });
  await agent.learn(env, { steps: 2 * 20 + 2 * 15 }); // one update, then 15 steps of a rollout
  const state = await agent.getState();
  const T = 15, N = 2, backend = agent.backend;
  const masks = findArray(state, "rollout.episodeStarts", Float32Array, T * N);
  assert.ok(masks.some((m) => m === 0), "the rollout contains an episode start");
  const observations = findArray(state, "rollout.observations", Float32Array, T * N * 2);
  const recorded = findArray(state, "rollout.values", Float32Array, T * N);
  const start = findArray(state, "rollout.startState.1", Float32Array);
  assert.ok(start.some((v) => v !== 0), "the rollout starts from a carried, nonzero state");
  const replay = async (mask: Float32Array | null) => {
    const critic = agent.critic!;
    const s = critic.stateFromRows(start, N);
    const x = backend.tensor(observations, [T, N, 2]);
    const m = mask ? backend.tensor(mask, [T, N]) : undefined;
    const { output, state: end } = critic.forward(x, { state: s, mask: m });
    const values = await backend.read(output);
    critic.disposeState(end);
    critic.disposeState(s);
    return values;
  };
  // Replaying the rollout as one masked sequence gives the values computed step by step.
  close(await replay(masks), Array.from(recorded), 1e-5);
  // Without the mask the state leaks across episodes: values after a boundary differ.
  const leaked = await replay(null);
  const firstReset = masks.indexOf(0);
  assert.ok(Math.abs(leaked[firstReset] - recorded[firstReset]) > 1e-6);
  // The value at an episode's first step is that of a fresh state.
  const fresh = agent.critic!.forward(
    backend.tensor(observations.slice(firstReset * 2, firstReset * 2 + 2), [1, 1, 2]),
  );
  close(await backend.read(fresh.output), [recorded[firstReset]], 1e-5);
});

Deno.test("A2C is deterministic given the seed", async () => {
  const run = async (seed: number) => {
    const env = new CartPole({ maskVelocity: true });
    const agent = new A2C(env, { envs: 4, rolloutSteps: 8, cellUnits: 8, hiddenSizes: [8], seed });
    const returns: number[] = [];
    await agent.learn(env, { steps: 400, onEpisode: (r) => returns.push(r.return) });
    return { state: await agent.getState(), returns };
  };
  const a = await run(1), b = await run(1), c = await run(2);
  assertSameState(a.state, b.state);
  assert.deepEqual(a.returns, b.returns);
  assert.notDeepEqual(
    findArray(a.state, "actor.layers.1.w", Float32Array),
    findArray(c.state, "actor.layers.1.w", Float32Array),
  );
});

Deno.test("A2C learns the same on the copies it makes, on an array of envs and on a VectorEnv", async () => {
  const options = { envs: 3, rolloutSteps: 4, cellUnits: 8, hiddenSizes: [8], seed: 11 };
  const run = async (env: CartPole | CartPole[] | VectorEnv) => {
    const agent = new A2C({ observationSize: 2, actionCount: 2 }, options);
    await agent.learn(env, { steps: 100 });
    return agent.getState();
  };
  const make = () => new CartPole({ maskVelocity: true });
  const copied = await run(make());
  assertSameState(copied, await run([make(), make(), make()]));
  assertSameState(copied, await run(new VectorEnv([make(), make(), make()])));
});

Deno.test("A2C resumes bit-exactly from a state taken mid-rollout and mid-episode", async () => {
  const options = {
    envs: 3,
    rolloutSteps: 5,
    cellUnits: 8,
    hiddenSizes: [8],
    logInterval: 1,
    seed: 7,
  };
  const makeEnv = () => new CartPole({ maskVelocity: true, maxEpisodeSteps: 25 });
  const total = 3 * 5 * 12 + 6, split = 3 * 5 * 5 + 2 * 3; // rollout 6, vector step 2
  const straight = new A2C(makeEnv(), options);
  const episodes: EpisodeReport[] = [], reports: TrainReport[] = [];
  await straight.learn(makeEnv(), {
    steps: total,
    onEpisode: (r) => void episodes.push(r),
    onUpdate: (r) => void reports.push(r),
  });

  const first = new A2C(makeEnv(), options);
  const resumedEpisodes: EpisodeReport[] = [], resumedReports: TrainReport[] = [];
  const callbacks = {
    onEpisode: (r: EpisodeReport) => void resumedEpisodes.push(r),
    onUpdate: (r: TrainReport) => void resumedReports.push(r),
  };
  await first.learn(makeEnv(), { steps: split, ...callbacks });
  const saved = await first.getState();
  assert.equal(saved.json.rolloutSteps, 2);
  assert.ok(
    [0, 1, 2].some((i) => findArray(saved, `env${i}.actions`, Int32Array).length > 0),
    "an episode is under way",
  );
  const path = await Deno.makeTempFile({ suffix: ".ckpt" });
  try {
    await saveAgent(first, path);
    const second = await loadAgent(A2C, path);
    await second.learn(makeEnv(), { steps: total - split, ...callbacks });
    assert.equal(second.steps, total);
    assertSameState(await straight.getState(), await second.getState());
  } finally {
    await Deno.remove(path);
  }
  assert.deepEqual(resumedEpisodes, episodes);
  assert.deepEqual(resumedReports, reports);
  assert.ok(episodes.some((e) => e.length === 25), "some episodes were truncated");
  assert.equal(reports.length, 12);
  for (const r of reports) {
    assert.ok(Number.isFinite(r.loss) && Number.isFinite(r.valueLoss!));
    assert.ok(r.entropy! > 0 && r.entropy! <= Math.log(2) + 1e-6);
  }
});

Deno.test("REINFORCE resumes bit-exactly from a state taken mid-episode", async () => {
  const options = { episodesPerUpdate: 2, cellUnits: 8, hiddenSizes: [8], seed: 3 };
  const total = 300, split = 137;
  const straight = new REINFORCE(new CartPole(), options);
  await straight.learn(new CartPole(), { steps: total });
  const first = new REINFORCE(new CartPole(), options);
  await first.learn(new CartPole(), { steps: split });
  const saved = await first.getState();
  assert.ok(findArray(saved, "env0.actions", Int32Array).length > 0, "an episode is under way");
  const second = REINFORCE.fromState(saved);
  await second.learn(new CartPole(), { steps: total - split });
  assert.ok(straight.updates >= 2);
  assertSameState(await straight.getState(), await second.getState());
});

Deno.test("REINFORCE with an LSTM learns to recall a cue over a delay", async () => {
  const env = new CueEnv(3);
  const agent = new REINFORCE(env, {
    episodesPerUpdate: 8,
    cellUnits: 16,
    hiddenSizes: [],
    learningRate: 1e-2,
    seed: 1,
  });
  const before = await agent.evaluate(new CueEnv(3), { episodes: 200, seed: 5 });
  await agent.learn(env, { steps: 4 * 8 * 150 });
  const after = await agent.evaluate(new CueEnv(3), { episodes: 200, seed: 5 });
  assert.ok(
    after.meanReturn >= 0.95,
    `recall rate ${after.meanReturn} (before ${before.meanReturn})`,
  );
});

Deno.test("A2C learns full-observation CartPole within a few thousand steps", async () => {
  // The median of three seeds: one seed's greedy return after 8000 steps swings with the last
  // bit of the float32 activations (seed 0 gave 238.6 with Math.exp/Math.tanh and 75.5 with the
  // float32 exp/tanh; seeds 1 and 2 gave 175.2 and 500 on both).
  const returns: number[] = [];
  for (const seed of [0, 1, 2]) {
    const env = new CartPole();
    const agent = new A2C(env, {
      ...presetFor("cartpole", "a2c").options,
      learningRate: 2e-3,
      seed,
    });
    await agent.learn(env, { steps: 8000 });
    const { meanReturn } = await agent.evaluate(new CartPole(), { episodes: 10, seed: 100 });
    returns.push(meanReturn);
  }
  const median = [...returns].sort((a, b) => a - b)[1];
  assert.ok(median > 100, `greedy mean returns ${returns.join(", ")}`);
});

Deno.test("A2C acts greedily with its policy network and carries the LSTM state", async () => {
  const agent = new A2C({ observationSize: 2, actionCount: 2 }, { cellUnits: 8, seed: 2 });
  const network = agent.policyNetwork();
  assert.equal(network, agent.actor);
  const backend = agent.backend;
  const observations = [[0.1, -0.2], [0.3, 0.05], [-0.4, 0.2]];
  let state = agent.initialState();
  const sequence = network.forward(backend.tensor(observations.flat(), [3, 1, 2]));
  const logits = await backend.read(sequence.output);
  for (let t = 0; t < 3; t++) {
    const step = await agent.act(Float32Array.from(observations[t]), state);
    state = step.state; // the old one was consumed
    assert.equal(step.action, logits[2 * t + 1] > logits[2 * t] ? 1 : 0);
  }
});

Deno.test("A2C and REINFORCE check their options and environments", async () => {
  assert.throws(() => resolveA2cOptions({ envs: 0 }), RangeError);
  assert.throws(() => resolveA2cOptions({ gaeLambda: 1.5 }), RangeError);
  assert.throws(
    () => resolveA2cOptions({ batchSize: 4 } as never),
    /^TypeError: Cannot use option batchSize with A2C: its options are cell, /,
  );
  assert.throws(
    () => resolveA2cOptions({ rolloutStep: 4 } as never),
    /^TypeError: Cannot use option rolloutStep with A2C: did you mean rolloutSteps\?$/,
  );
  assert.throws(() => resolveReinforceOptions({ episodesPerUpdate: 1.5 }), RangeError);
  assert.throws(() => resolveReinforceOptions({ optimizer: "sgd" as never }), RangeError);
  const agent = new A2C(new CartPole(), { envs: 2 });
  await assert.rejects(
    () => agent.learn(new CartPole({ maskVelocity: true }), { steps: 1 }),
    TypeError,
  );
  await assert.rejects(() => agent.learn([new CartPole()], { steps: 1 }), RangeError);
  const copy = copyEnv(new CartPole({ maskVelocity: true, maxEpisodeSteps: 9 })) as CartPole;
  assert.equal(copy.maskVelocity, true);
  assert.equal(copy.maxEpisodeSteps, 9);
  const plain = {
    id: "plain",
    observationSize: 1,
    actionCount: 2,
    reset: () => ({}),
    step: () => ({}),
  };
  assert.throws(() => copyEnv(plain as unknown as Env), /Cannot copy environment "plain"/);
  // Whole vector steps: 3 copies take 9 steps when asked for 7.
  const three = new A2C(new CartPole(), { envs: 3, cellUnits: 4 });
  assert.deepEqual(await three.learn(new CartPole(), { steps: 7 }), { steps: 9, stopped: false });
});

Deno.test("createAgent builds a2c and reinforce with their presets", () => {
  const env = new CartPole({ maskVelocity: true });
  for (const algo of ["a2c", "reinforce"] as const) {
    const preset = presetFor("cartpole-masked", algo);
    assert.equal(preset.steps, 100_000);
    const agent = createAgent(algo, env, { ...preset.options, seed: 1 }, createCpuBackend());
    assert.equal(agent.kind, algo);
    assert.equal(agent.recurrent, true);
  }
  assert.ok(presetFor("cartpole", "a2c").options.learningRate);
  assert.ok(presetFor("cartpole", "reinforce").options.learningRate);
});
