// ResidentPPO on the CPU backend: the device-side GAE against the host's computeAdvantages, the
// backend's sampleRows against the softmax (chi-square) and the copy at an offset, learning
// (an MLP on CartPole, an LSTM on cartpole-masked, a GRU on RepeatPrevious), the same seed giving
// the same run bit for bit, one read-back per logged update and none otherwise, no leaked
// tensors, a resumed state continuing its run, the games it copies, and the options it refuses.
import assert from "node:assert/strict";
import { counterUniform } from "../lib/backend/backend.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { DeviceCartPole } from "../lib/envs/device_cartpole.ts";
import { DeviceRepeatPrevious } from "../lib/envs/device_cards.ts";
import { DeviceDiscretePendulum, DevicePendulum } from "../lib/envs/device_pendulum.ts";
import { DiscreteActions } from "../lib/envs/wrappers.ts";
import { deviceAdvantages, ResidentPPO } from "../lib/rl/resident_ppo.ts";
import { computeAdvantages } from "../lib/rl/rollout_buffer.ts";
import { agentStateFromBytes } from "../lib/rl/agent.ts";
import type { TrainReport } from "../lib/rl/agent.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { Pendulum } from "../lib/envs/pendulum.ts";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { RepeatPrevious } from "../lib/envs/popgym/repeat_previous.ts";
import { POPGYM_PPO_PRESET, presetFor } from "../lib/run/presets.ts";

const backend = createCpuBackend();

Deno.test("device GAE equals computeAdvantages on a rollout with terminations and truncations", async () => {
  const T = 12, N = 5, gamma = 0.97, lambda = 0.9, rewardScale = 0.5;
  const draw = (k: number, t: number, i: number) => counterUniform(k, t, i);
  const host = {
    rewards: new Float32Array(T * N),
    values: new Float32Array(T * N),
    terminated: new Float32Array(T * N),
    truncated: new Float32Array(T * N),
    finalValues: new Float32Array(T * N),
  };
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < N; i++) {
      const k = t * N + i;
      host.rewards[k] = Math.fround(2 * draw(1, t, i) - 0.5);
      host.values[k] = Math.fround(3 * draw(2, t, i));
      host.terminated[k] = draw(3, t, i) < 0.15 ? 1 : 0;
      host.truncated[k] = draw(4, t, i) < 0.15 ? 1 : 0;
      if (host.truncated[k] && !host.terminated[k]) {
        host.finalValues[k] = Math.fround(draw(5, t, i));
      }
    }
  }
  const lastValues = Float32Array.from({ length: N }, (_, i) => Math.fround(draw(6, 0, i)));
  const expected = computeAdvantages({
    steps: T,
    envs: N,
    ...host,
    rewards: host.rewards.map((r) => r * rewardScale),
    lastValues,
  }, { gamma, lambda });
  const row = (values: Float32Array, t: number) =>
    backend.tensor(values.subarray(t * N, (t + 1) * N), [N]);
  const steps = Array.from({ length: T }, (_, t) => ({
    rewards: row(host.rewards, t),
    terminated: row(host.terminated, t),
    truncated: row(host.truncated, t),
    values: row(host.values, t),
    finalValues: row(host.finalValues, t),
  }));
  const got = deviceAdvantages(backend, steps, backend.tensor(lastValues, [N]), {
    gamma,
    lambda,
    rewardScale,
  });
  let worst = 0;
  for (let t = 0; t < T; t++) {
    const a = await backend.read(got.advantages[t]), r = await backend.read(got.returns[t]);
    for (let i = 0; i < N; i++) {
      worst = Math.max(worst, Math.abs(a[i] - expected.advantages[t * N + i]));
      worst = Math.max(worst, Math.abs(r[i] - expected.returns[t * N + i]));
    }
  }
  // float32 against float64 over a chain of 12 steps.
  assert.ok(worst < 1e-5, `worst difference ${worst}`);
  assert.ok(host.terminated.some((v) => v) && host.truncated.some((v) => v));
});

Deno.test("sampleRows draws actions with the softmax's frequencies (chi-square, 3 degrees)", async () => {
  const rows = 20000, probabilities = [0.1, 0.2, 0.3, 0.4];
  const probs = backend.tensor(
    Array.from({ length: rows }, () => probabilities).flat(),
    [rows, 4],
  );
  const actions = await backend.read(backend.sampleRows(probs, 7, 3));
  const counts = [0, 0, 0, 0];
  for (const a of actions) counts[a]++;
  const chi2 = counts.reduce((sum, n, a) => {
    const expected = rows * probabilities[a];
    return sum + (n - expected) ** 2 / expected;
  }, 0);
  // The 0.999 quantile of chi-square with 3 degrees of freedom is 16.27.
  assert.ok(chi2 < 16.27, `chi-square ${chi2.toFixed(2)}, counts ${counts}`);
  const zeroLast = backend.tensor([0.5, 0.5, 0, 0.25, 0.25, 0], [2, 3]);
  const picks = await backend.read(backend.sampleRows(zeroLast, 1, 1));
  assert.ok(picks.every((a) => a !== 2), "an action of probability 0 is never drawn");
});

Deno.test("gaussianNoise draws standard normals (moments and chi-square) from the counter hash", async () => {
  const n = 200_000;
  const z = await backend.read(backend.gaussianNoise(n, 3, 7));
  assert.deepEqual(z, await backend.read(backend.gaussianNoise(n, 3, 7)), "the same call repeats");
  assert.notDeepEqual(z.slice(0, 8), await backend.read(backend.gaussianNoise(8, 3, 8)));
  const mean = z.reduce((a, b) => a + b, 0) / n;
  const variance = z.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  assert.ok(Math.abs(mean) < 4 / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 4 * Math.sqrt(2 / n), `variance ${variance}`);
  // Below −1, −1..0, 0..1 and above 1: Φ(−1) = 0.158655.
  const expected = [0.158655, 0.341345, 0.341345, 0.158655].map((q) => q * n);
  const counts = [0, 0, 0, 0];
  for (const v of z) counts[v < -1 ? 0 : v < 0 ? 1 : v < 1 ? 2 : 3]++;
  const chi2 = counts.reduce((sum, c, k) => sum + (c - expected[k]) ** 2 / expected[k], 0);
  assert.ok(chi2 < 16.27, `chi-square ${chi2} (3 degrees, p = 0.001)`);
  assert.ok(z.every(Number.isFinite));
  assert.throws(() => backend.gaussianNoise(1.5, 0, 0), /whole number/);
});

Deno.test("copy at an offset writes a row block and refuses one that does not fit", async () => {
  const dst = backend.zeros([3, 2]);
  backend.copy(dst, backend.tensor([7, 8], [2]), 2);
  assert.deepEqual(Array.from(await backend.read(dst)), [0, 0, 7, 8, 0, 0]);
  assert.throws(
    () => backend.copy(dst, backend.tensor([1, 2], [2]), 5),
    /Cannot copy 2 values into a tensor of 6 at offset 5/,
  );
});

/** The greedy return on fresh copies after training. */
async function trainAndEvaluate(
  on: Backend,
  options: Record<string, unknown>,
  steps: number,
  masked: boolean,
): Promise<number> {
  const envs = new DeviceCartPole(on, 8, { seed: 1, maskVelocity: masked });
  const agent = new ResidentPPO(envs, options);
  await agent.learn(envs, { steps });
  const evaluation = await agent.evaluateOnDevice(
    new DeviceCartPole(on, 16, { seed: 99, maskVelocity: masked }),
    500,
  );
  return evaluation.meanReturn;
}

Deno.test("ResidentPPO with an MLP balances CartPole within 100 000 steps", async () => {
  const options = { ...presetFor("cartpole", "ppo").options, cell: "none", seed: 1 };
  const score = await trainAndEvaluate(backend, options, 100_000, false);
  assert.ok(score >= 475, `greedy mean return ${score}`);
});

Deno.test("ResidentPPO with an LSTM solves cartpole-masked within 100 000 steps", async () => {
  const options = { ...presetFor("cartpole-masked", "ppo").options, cell: "lstm", seed: 1 };
  const score = await trainAndEvaluate(backend, options, 100_000, true);
  assert.ok(score >= 475, `greedy mean return ${score}`);
});

Deno.test("ResidentPPO with a GRU remembers the suits of RepeatPrevious (easy)", async () => {
  const steps = 200_000;
  const envs = new DeviceRepeatPrevious(backend, 16, { seed: 1 });
  const agent = new ResidentPPO(envs, {
    ...POPGYM_PPO_PRESET.options,
    learningRate: { start: 2e-3, end: 0, steps },
    cell: "gru",
    seed: 1,
  });
  await agent.learn(envs, { steps });
  const evaluation = await agent.evaluateOnDevice(
    new DeviceRepeatPrevious(backend, 32, { seed: 9 }),
    51,
  );
  // A perfect memory returns 1; guessing returns 0 on average.
  assert.ok(evaluation.meanReturn > 0.95, `greedy mean return ${evaluation.meanReturn}`);
});

/** A backend that counts its read-backs. */
function counting(inner: Backend): { backend: Backend; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(inner, {
    get(target, key) {
      const value = Reflect.get(target, key, target);
      if (key === "read") {
        return (t: Parameters<Backend["read"]>[0]) => {
          reads++;
          return target.read(t);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { backend: proxy, reads: () => reads };
}

for (const cell of ["none", "lstm", "gru"] as const) {
  Deno.test(`ResidentPPO (${cell}) repeats itself, reads back once per logged update, leaks nothing`, async () => {
    const run = async (log: boolean) => {
      const inner = createCpuBackend({ debug: true });
      const { backend: on, reads } = counting(inner);
      const envs = new DeviceCartPole(on, 4, { seed: 3, maskVelocity: true, maxEpisodeSteps: 24 });
      const agent = new ResidentPPO(envs, {
        cell,
        cellUnits: 8,
        hiddenSizes: [8],
        rolloutSteps: 16,
        epochs: 2,
        minibatches: 2,
        clipRangeValue: 0.2,
        seed: 5,
        logInterval: 2,
      });
      const live = inner.liveTensors;
      const stats: unknown[] = [];
      await agent.learn(envs, {
        steps: 4 * 16 * 6,
        ...(log ? { onUpdate: (s) => void stats.push(s) } : {}),
      });
      const parameters = await Promise.all(
        agent.networks.models.map((m) => m.getParameters()),
      );
      const readsDuringTraining = reads();
      assert.equal(agent.updates, 6);
      // The networks and their optimizers' moments are new; nothing per step or update is.
      const grown = inner.liveTensors - live;
      agent.dispose();
      return { stats, parameters, readsDuringTraining, grown, inner, agent };
    };
    const first = await run(true), second = await run(true), quiet = await run(false);
    assert.deepEqual(first.stats, second.stats);
    assert.deepEqual(first.parameters, second.parameters);
    assert.deepEqual(quiet.parameters, first.parameters, "logging does not change the run");
    assert.equal(first.stats.length, 3, "every second update logged");
    // One read per logged update, plus one per parameter read at the end of the test.
    const parameterReads = first.parameters.flat().length;
    assert.equal(first.readsDuringTraining, 3 + parameterReads);
    assert.equal(quiet.readsDuringTraining, parameterReads);
    const again = createCpuBackend({ debug: true });
    const envs = new DeviceCartPole(again, 4, { seed: 3, maskVelocity: true, maxEpisodeSteps: 24 });
    const before = again.liveTensors;
    const agent = new ResidentPPO(envs, { cell, cellUnits: 8, hiddenSizes: [8], rolloutSteps: 16 });
    await agent.learn(envs, { steps: 4 * 16 });
    const afterOne = again.liveTensors;
    await agent.learn(envs, { steps: 4 * 16 * 3 });
    assert.equal(again.liveTensors, afterOne, "the same live tensors after more updates");
    assert.ok(afterOne > before);
    agent.dispose();
  });
}

Deno.test("ResidentPPO counts the episodes of every rollout, not only of the logged ones", async () => {
  const run = async (logInterval: number) => {
    const envs = new DeviceCartPole(backend, 4, { seed: 7, maxEpisodeSteps: 10 });
    const agent = new ResidentPPO(envs, {
      hiddenSizes: [8],
      rolloutSteps: 8,
      seed: 1,
      logInterval,
    });
    const reports: { episodes: number; meanReturn?: number }[] = [];
    const report = (r: TrainReport) =>
      void reports.push({ episodes: r.episodes!, meanReturn: r.meanReturn });
    await agent.learn(envs, { steps: 4 * 8 * 4, onUpdate: report });
    agent.dispose();
    return { reports, total: agent.episodes };
  };
  const every = await run(1), second = await run(2);
  assert.equal(second.reports.length, 2);
  // The time limit of 10 steps ends at least three episodes per copy in 32 steps.
  assert.ok(every.total >= 12);
  assert.equal(second.total, every.total);
  for (const k of [0, 1]) {
    const pair = every.reports.slice(2 * k, 2 * k + 2);
    const episodes = pair[0].episodes + pair[1].episodes;
    assert.equal(second.reports[k].episodes, episodes);
    const returns = pair.reduce((sum, r) => sum + (r.meanReturn ?? 0) * r.episodes, 0);
    assert.ok(Math.abs(second.reports[k].meanReturn! * episodes - returns) < 1e-3);
  }
});

for (const [cell, torque] of [["none", false], ["gru", false], ["none", true]] as const) {
  const what = torque ? " with a Gaussian policy on Pendulum" : "";
  Deno.test(`ResidentPPO (${cell})${what} resumed from its state continues the run it came from`, async () => {
    const options = {
      envs: 4,
      cell,
      cellUnits: 8,
      hiddenSizes: [8],
      rolloutSteps: 16,
      minibatches: 2,
      seed: 2,
    };
    const game = () =>
      torque
        ? new Pendulum({ maxEpisodeSteps: 30 })
        : new CartPole({ maskVelocity: true, maxEpisodeSteps: 30 });
    const whole = new ResidentPPO(game(), options);
    await whole.learn(game(), { steps: 4 * 16 * 6 });
    const first = new ResidentPPO(game(), options);
    await first.learn(game(), { steps: 4 * 16 * 3 });
    const bytes = await first.save();
    const resumed = new ResidentPPO(game(), options);
    resumed.setState(agentStateFromBytes(bytes));
    await resumed.learn(game(), { steps: 4 * 16 * 3 });
    assert.equal(resumed.steps, whole.steps);
    assert.deepEqual(await resumed.actor.getParameters(), await whole.actor.getParameters());
    assert.deepEqual(await resumed.getState(), await whole.getState());
    // Loaded from its bytes alone, the agent rebuilds the same copies and continues the same way.
    const loaded = ResidentPPO.load(bytes);
    assert.equal(loaded.env.constructor, first.env.constructor);
    await loaded.learn(game(), { steps: 4 * 16 * 3 });
    assert.deepEqual(await loaded.getState(), await whole.getState());
    // The policy acts on the scalar game too: the trainer's evaluation and replay use it.
    const evaluation = await resumed.evaluate(game(), { episodes: 3, seed: 4 });
    assert.equal(evaluation.returns.length, 3);
  });
}

Deno.test("ResidentPPO makes device copies of CartPole, Pendulum, RepeatPrevious and CountRecall only", async () => {
  const agent = new ResidentPPO(new RepeatPrevious({ difficulty: "medium" }), { envs: 4 });
  assert.ok(agent.env instanceof DeviceRepeatPrevious);
  assert.equal(agent.env.count, 4);
  assert.equal((agent.env as DeviceRepeatPrevious).k, 32);
  // A saved state describes its copies: the same kind comes back from it alone.
  const again = ResidentPPO.fromState(await agent.getState()).env as DeviceRepeatPrevious;
  assert.ok(again instanceof DeviceRepeatPrevious);
  assert.deepEqual([again.k, again.count, again.seed], [32, 4, agent.env.seed]);
  assert.throws(
    () => new ResidentPPO(new RepeatPrevious({ observePreviousAction: true })),
    /observe the previous action/,
  );
  assert.throws(() => new ResidentPPO(new Minesweeper()), /Cannot make device copies of/);
  assert.throws(
    () => new ResidentPPO({ observationSize: 4, actionCount: 2 }),
    /Cannot build ResidentPPO from sizes alone/,
  );
  // The continuous torque gets a Gaussian head; three torques of the scalar game's wrapper do not.
  const continuous = new ResidentPPO(new Pendulum({ maskVelocity: true }), { envs: 4 });
  assert.ok(continuous.env instanceof DevicePendulum);
  assert.ok(!(continuous.env instanceof DeviceDiscretePendulum));
  assert.equal(continuous.networks.head.kind, "gaussian");
  const discrete = new DiscreteActions(new Pendulum({ maskVelocity: true, maxEpisodeSteps: 50 }), {
    count: 3,
  });
  const pendulum = new ResidentPPO(discrete, { envs: 4 }).env as DeviceDiscretePendulum;
  assert.ok(pendulum instanceof DeviceDiscretePendulum);
  assert.deepEqual(Array.from(pendulum.torques), [-2, 0, 2]);
  const saved = await new ResidentPPO(discrete, { envs: 4 }).getState();
  const restored = ResidentPPO.fromState(saved).env as DeviceDiscretePendulum;
  assert.deepEqual([Array.from(restored.torques), restored.maskVelocity], [[-2, 0, 2], true]);
  assert.equal(pendulum.maskVelocity, true);
  assert.equal(pendulum.maxEpisodeSteps, 50);
});

Deno.test("DeviceDiscretePendulum steps with the torques its actions pick", async () => {
  const torques = [-2, -0.5, 1.5];
  const discrete = new DeviceDiscretePendulum(backend, 3, { seed: 4, torques });
  const direct = new DevicePendulum(backend, 3, { seed: 4 });
  backend.dispose(discrete.reset());
  backend.dispose(direct.reset());
  for (let t = 0; t < 5; t++) {
    const a = discrete.step(backend.tensor([2, 0, 1], [3]));
    const b = direct.step(backend.tensor([1.5, -2, -0.5], [3]));
    assert.deepEqual(await backend.read(a.observations), await backend.read(b.observations));
    assert.deepEqual(await backend.read(a.rewards), await backend.read(b.rewards));
  }
  assert.throws(() => new DeviceDiscretePendulum(backend, 2, { torques: [1] }), /at least two/);
});

Deno.test("ResidentPPO with a Gaussian policy swings Pendulum up within 151 552 steps", async () => {
  const options = { ...presetFor("pendulum", "ppo").options, seed: 1 };
  const envs = new DevicePendulum(backend, 4, { seed: 1 });
  const agent = new ResidentPPO(envs, options);
  const fresh = () => new DevicePendulum(backend, 50, { seed: 99 });
  const before = await agent.evaluateOnDevice(fresh(), 200);
  await agent.learn(envs, { steps: 150_000 });
  const after = await agent.evaluateOnDevice(fresh(), 200);
  // Untrained, the greedy policy scores below −1000; seeds 1–3 reached −167, −204 and −153.
  assert.ok(before.meanReturn < -1000, `untrained greedy mean return ${before.meanReturn}`);
  assert.ok(after.meanReturn > -300, `greedy mean return ${after.meanReturn}`);
  // The policy's spread narrowed from σ = 1 as it learned.
  const logStd = (await backend.read(agent.networks.head.parameters[0].value))[0];
  assert.ok(logStd < -0.2, `log σ ${logStd}`);
});

Deno.test("ResidentPPO swings Pendulum up from five discrete torques within 61 440 steps", async () => {
  const options = { ...presetFor("pendulum", "ppo").options, seed: 1 };
  const envs = new DeviceDiscretePendulum(backend, 4, { seed: 1 });
  const agent = new ResidentPPO(envs, options);
  const fresh = () => new DeviceDiscretePendulum(backend, 50, { seed: 99 });
  const before = await agent.evaluateOnDevice(fresh(), 200);
  await agent.learn(envs, { steps: 61_440 });
  const after = await agent.evaluateOnDevice(fresh(), 200);
  // Untrained, the greedy policy scores about −1350; swung up and held, above −200.
  assert.ok(before.meanReturn < -1000, `untrained greedy mean return ${before.meanReturn}`);
  assert.ok(after.meanReturn > -400, `greedy mean return ${after.meanReturn}`);
});

Deno.test("ResidentPPO refuses what would need the CPU during training", () => {
  const envs = new DeviceCartPole(backend, 4);
  for (
    const [options, pattern] of [
      [{ targetKl: 0.01 }, /targetKl/],
      [{ sharedNetwork: true }, /sharedNetwork/],
    ] as const
  ) {
    assert.throws(() => new ResidentPPO(envs, options), pattern);
  }
  assert.throws(() => new ResidentPPO(envs, { minibatches: 3 }), /minibatches must divide envs/);
});

Deno.test("ResidentPPO evaluates on device copies, and on the scalar game where it must", async () => {
  const envs = new DeviceCartPole(backend, 4, { seed: 2, maskVelocity: true });
  const agent = new ResidentPPO(envs, { cell: "gru", cellUnits: 8, hiddenSizes: [8], seed: 3 });
  const evaluations: number[][] = [];
  await agent.learn(envs, {
    steps: 4 * 128 * 2,
    evaluation: {
      env: new CartPole({ maskVelocity: true }),
      every: 512,
      episodes: 6,
      seed: 11,
    },
    onEvaluation: (e) => void evaluations.push(e.returns),
  });
  const game = new CartPole({ maskVelocity: true, maxEpisodeSteps: 200 });
  const result = await agent.evaluate(game, { episodes: 6, seed: 11 });
  const direct = await agent.evaluateOnDevice(
    new DeviceCartPole(backend, 6, { seed: 11, maskVelocity: true, maxEpisodeSteps: 200 }),
    200,
  );
  assert.deepEqual(result.returns, Array.from(direct.returns));
  assert.deepEqual(result.lengths, Array.from(direct.lengths));
  assert.equal(result.episodes, 6);
  assert.ok(result.lengths.every((n, k) => n === result.returns[k] && n >= 1 && n <= 200));
  // The periodic evaluations during learn went through the same device path.
  assert.equal(evaluations.length, 2);
  assert.deepEqual(
    evaluations[1],
    (await agent.evaluate(new CartPole({ maskVelocity: true }), {
      episodes: 6,
      seed: 11,
    })).returns,
  );
  // An observer needs every step on the CPU: the scalar game, step by step.
  let steps = 0;
  const observed = await agent.evaluate(game, {
    episodes: 2,
    seed: 11,
    observer: { onStep: () => void steps++ },
  });
  assert.equal(steps, observed.lengths[0] + observed.lengths[1]);
  agent.dispose();
});
