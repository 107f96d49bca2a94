import assert from "node:assert/strict";
import type { Tensor } from "../lib/backend/backend.ts";
import { cpuData, createCpuBackend } from "../lib/backend/cpu.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { Pendulum } from "../lib/envs/pendulum.ts";
import { Rng } from "../lib/io/rng.ts";
import { ActorCritic, type PolicyCell } from "../lib/rl/actor_critic.ts";
import type { EpisodeReport, TrainReport } from "../lib/rl/agent.ts";
import { meanEntropy } from "../lib/rl/policy_heads.ts";
import {
  clippedValueLoss,
  explainedVariance,
  PPO,
  type PpoOptions,
  ppoSurrogate,
} from "../lib/rl/ppo.ts";
import { type AgentState, findArray } from "../lib/rl/state.ts";
import { CueEnv } from "./helpers/mod.ts";

/** Asserts that two agent states are identical: JSON and every array, bit for bit. */
function assertSameState(a: AgentState, b: AgentState): void {
  assert.deepEqual(a.json, b.json);
  assert.deepEqual(a.arrays.map((x) => x.name), b.arrays.map((x) => x.name));
  a.arrays.forEach((x, i) => {
    const bytes = (d: ArrayBufferView) => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    assert.deepEqual(bytes(x.data), bytes(b.arrays[i].data), x.name);
  });
}

const HALF_LOG_TWO_PI_E = 0.5 * Math.log(2 * Math.PI) + 0.5;

/**
 * PPO's minibatch loss as the agent composes it, through `ActorCritic.replay` (masked BPTT
 * from carried start states): the clipped surrogate, minus the entropy bonus, plus the clipped
 * value loss. Returns its value in float64; the gradients are left on the parameters.
 */
function ppoTotal(
  ac: ActorCritic,
  backend: ReturnType<typeof createCpuBackend>,
  batch: {
    observations: Float32Array;
    masks: Float32Array;
    actions: Float32Array;
    oldLogProbs: Float32Array;
    advantages: Float32Array;
    oldValues: Float32Array;
    returns: Float32Array;
    starts: Float32Array[];
  },
  shape: [number, number],
  c: { epsilon: number; valueEpsilon: number; entropyCoef: number; valueCoef: number },
): number {
  const [T, N] = shape, I = ac.actor.inputSize, rows = T * N;
  const tensor = (data: Float32Array, dims: number[]) => backend.tensor(data, dims);
  const x = tensor(batch.observations, [T, N, I]);
  const mask = tensor(batch.masks, [T, N]);
  const actions = tensor(batch.actions, [rows]);
  const oldLogProbs = tensor(batch.oldLogProbs, [rows]);
  const advantages = tensor(batch.advantages, [rows]);
  const oldValues = tensor(batch.oldValues, [rows]);
  const returns = tensor(batch.returns, [rows]);
  const scalars: Tensor[] = [];
  let total = 0;
  ac.replay(x, mask, batch.starts, {
    policy: (outputs) => {
      const s = ppoSurrogate(
        backend,
        ac.head,
        outputs,
        actions,
        oldLogProbs,
        advantages,
        c.epsilon,
      );
      const { loss, grad } = ac.head.loss(outputs, actions, s.weights, c.entropyCoef);
      const entropy = ac.head.kind === "categorical"
        ? meanEntropy(cpuData(outputs) as Float32Array, ac.head.outputSize)
        : cpuData(ac.head.parameters[0].value)[0] + HALF_LOG_TWO_PI_E;
      total += cpuData(s.loss)[0] - c.entropyCoef * entropy;
      scalars.push(s.weights, s.loss, s.clipFraction, s.approxKl, loss);
      return grad;
    },
    value: (values) => {
      const { loss, grad } = clippedValueLoss(backend, values, oldValues, returns, c.valueEpsilon);
      total += c.valueCoef * cpuData(loss)[0];
      const scaled = backend.scale(grad, c.valueCoef);
      scalars.push(loss, grad);
      return scaled;
    },
  });
  for (const t of [x, mask, actions, oldLogProbs, advantages, oldValues, returns, ...scalars]) {
    backend.dispose(t);
  }
  return total;
}

/** log π(a|s) of the current policy at each row of a batch (no gradients are left). */
function currentLogProbs(
  ac: ActorCritic,
  backend: ReturnType<typeof createCpuBackend>,
  batch: {
    observations: Float32Array;
    masks: Float32Array;
    actions: Float32Array;
    starts: Float32Array[];
  },
  shape: [number, number],
): Float32Array {
  const [T, N] = shape, rows = T * N;
  const x = backend.tensor(batch.observations, [T, N, ac.actor.inputSize]);
  const mask = backend.tensor(batch.masks, [T, N]);
  const actions = backend.tensor(batch.actions, [rows]);
  let logp = new Float32Array(0);
  ac.replay(x, mask, batch.starts, {
    policy: (outputs) => {
      const taken = ac.head.logProb(outputs, actions);
      logp = Float32Array.from(cpuData(taken));
      backend.dispose(taken);
      return backend.zeros(outputs.shape);
    },
    value: (values) => backend.zeros(values.shape),
  });
  for (const t of [x, mask, actions]) backend.dispose(t);
  for (const p of ac.trainables.flatMap((t) => t.parameters)) {
    if (p.grad) backend.dispose(p.grad);
    p.grad = null;
  }
  return logp;
}

Deno.test("PPO's loss gradients match float64 finite differences for every cell, head and network shape", async () => {
  const backend = createCpuBackend({ precision: "float64" });
  const cells: PolicyCell[] = ["none", "lstm", "gru"];
  for (const cell of cells) {
    for (const continuous of [false, true]) {
      for (const shared of [false, true]) {
        const what = `${cell} ${continuous ? "Gaussian" : "categorical"} ${
          shared ? "shared" : "separate"
        }`;
        const spec = continuous
          ? { observationSize: 2, actionCount: 1, actionBounds: [-2, 2] as [number, number] }
          : { observationSize: 2, actionCount: 3 };
        const ac = new ActorCritic(backend, spec, {
          cell,
          cellUnits: 3,
          hiddenSizes: [4],
          normalizeObservations: false,
          sharedNetwork: shared,
          logStdInit: -0.3,
        }, { actor: 3, critic: 4 });
        const rng = new Rng(17);
        const T = cell === "none" ? 1 : 5, N = cell === "none" ? 8 : 2, rows = T * N;
        const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => s * rng.normal());
        const observations = rand(rows * 2);
        const actions = continuous
          ? rand(rows)
          : Float32Array.from({ length: rows }, () => rng.int(3));
        const masks = cell === "none"
          ? new Float32Array(rows).fill(1)
          : Float32Array.of(1, 1, 1, 0, 1, 1, 0, 1, 1, 1);
        const starts = ac.models.map((m) => rand(N * m.stateSize, 0.5));
        // The old policy: the current one moved a little, so that some rows clip.
        const logp = currentLogProbs(ac, backend, { observations, masks, actions, starts }, [T, N]);
        const oldLogProbs = Float32Array.from(logp, (v) => v + 0.3 * rng.normal());
        const clipped = logp.filter((v, i) => Math.abs(Math.exp(v - oldLogProbs[i]) - 1) > 0.2);
        assert.ok(clipped.length > 0 && clipped.length < rows, `${what}: some rows clip`);
        const batch = {
          observations,
          masks,
          actions,
          oldLogProbs,
          advantages: rand(rows),
          oldValues: rand(rows, 0.2),
          returns: rand(rows),
          starts,
        };
        const c = { epsilon: 0.2, valueEpsilon: 0.1, entropyCoef: 0.05, valueCoef: 0.7 };
        const params = ac.trainables.flatMap((t) => t.parameters);
        for (const p of params) {
          if (p.grad) backend.dispose(p.grad);
          p.grad = null;
        }
        ppoTotal(ac, backend, batch, [T, N], c);
        const grads = params.map((p) => cpuData(p.grad!).slice());
        const values = params.map((p) => cpuData(p.value).slice());
        for (let trial = 0; trial < 3; trial++) {
          const directions = values.map((v) => rand(v.length));
          let analytic = 0;
          directions.forEach((d, k) => d.forEach((v, j) => analytic += grads[k][j] * v));
          const shifted = async (epsilon: number) => {
            params.forEach((p, k) =>
              cpuData(p.value).set(values[k].map((v, e) => v + epsilon * directions[k][e]))
            );
            await ac.head.refresh();
            return ppoTotal(ac, backend, batch, [T, N], c);
          };
          const h = 1e-6;
          const numeric = ((await shifted(h)) - (await shifted(-h))) / (2 * h);
          assert.ok(Math.abs(analytic) > 1e-3, `${what}: a gradient to check (${analytic})`);
          assert.ok(
            Math.abs(numeric - analytic) <= 1e-5 * Math.max(1, Math.abs(analytic)),
            `${what}: finite differences ${numeric}, backprop ${analytic}`,
          );
        }
        params.forEach((p, k) => cpuData(p.value).set(values[k]));
        await ac.head.refresh();
      }
    }
  }
});

Deno.test("ppoSurrogate clips the ratio and measures the clip fraction and the approximate KL", async () => {
  const backend = createCpuBackend({ precision: "float64" });
  const ac = new ActorCritic(backend, { observationSize: 1, actionCount: 2 }, {
    cell: "none",
    cellUnits: 1,
    hiddenSizes: [],
    normalizeObservations: false,
    sharedNetwork: false,
    logStdInit: 0,
  }, { actor: 1, critic: 2 });
  // Logits (0, 0): log π = log ½ for either action.
  const outputs = backend.tensor(new Float32Array(8), [4, 2]);
  const actions = backend.tensor([0, 1, 0, 1], [4]);
  const half = Math.log(0.5);
  // ratios 1, 2, ½ and 1.1 (ε = 0.2 clips the second and the third).
  const old = [half, half - Math.log(2), half + Math.log(2), half - Math.log(1.1)];
  const advantages = [1, 1, -1, -2];
  const s = ppoSurrogate(
    backend,
    ac.head,
    outputs,
    actions,
    backend.tensor(old, [4]),
    backend.tensor(advantages, [4]),
    0.2,
  );
  // min(ρA, clip(ρ)A): 1, min(2, 1.2) = 1.2, min(−½, −0.8) = −0.8, min(−2.2, −2.2) = −2.2.
  const expectedLoss = -(1 + 1.2 - 0.8 - 2.2) / 4;
  assert.ok(Math.abs((await backend.read(s.loss))[0] - expectedLoss) < 1e-6);
  // Weights ρA where the unclipped term is the minimum (rows 0 and 3), 0 where the clip binds.
  const weights = await backend.read(s.weights);
  [1, 0, 0, -2.2].forEach((w, i) => assert.ok(Math.abs(weights[i] - w) < 1e-6, `row ${i}`));
  assert.equal((await backend.read(s.clipFraction))[0], 0.5);
  const kl = [1, 2, 0.5, 1.1].reduce((sum, r) => sum + r - 1 - Math.log(r), 0) / 4;
  assert.ok(Math.abs((await backend.read(s.approxKl))[0] - kl) < 1e-6);
});

Deno.test("clippedValueLoss takes the larger of the clipped and unclipped squared errors", () => {
  const backend = createCpuBackend({ precision: "float64" });
  const values = backend.tensor([1, 0.5, -1], [3]);
  const oldValues = backend.tensor([0, 0.4, -1.05], [3]);
  const returns = backend.tensor([2, -1, 0], [3]);
  const { loss, grad } = clippedValueLoss(backend, values, oldValues, returns, 0.2);
  // Row 0: V moved 1, clipped to 0.2: (1 − 2)² = 1 vs (0.2 − 2)² = 3.24, the clipped one is larger
  // and flat in V. Row 1: inside the clip, both equal (1.5)². Row 2: inside, both 1.
  assert.ok(Math.abs(cpuData(loss)[0] - (3.24 + 2.25 + 1) / 3) < 1e-9);
  const g = cpuData(grad);
  [0, 2 * 1.5 / 3, 2 * -1 / 3].forEach((d, i) => assert.ok(Math.abs(g[i] - d) < 1e-9, `${i}`));
});

Deno.test("explainedVariance is 1 − Var(R − V)/Var(R)", () => {
  assert.equal(explainedVariance([0, 2, 4], [0, 2, 4]), 1);
  assert.equal(explainedVariance([5, 5, 5], [0, 2, 4]), 0);
  // R − V = (0, 0, 2): variance 8/9 against the returns' 8/3.
  assert.ok(Math.abs(explainedVariance([0, 2, 2], [0, 2, 4]) - 2 / 3) < 1e-12);
  assert.equal(explainedVariance([1, 2], [3, 3]), 0, "constant returns explain nothing");
});

const SMALL: Partial<PpoOptions> = {
  envs: 2,
  rolloutSteps: 8,
  epochs: 2,
  minibatches: 2,
  cellUnits: 8,
  hiddenSizes: [8],
  logInterval: 1,
};

Deno.test("PPO is deterministic given the seed, for every cell and head", async () => {
  for (const cell of ["none", "lstm", "gru"] as const) {
    for (const continuous of [false, true]) {
      const makeEnv = () => continuous ? new Pendulum({ maskVelocity: true }) : new CartPole();
      const run = async (seed: number) => {
        const agent = new PPO(makeEnv(), { ...SMALL, cell, seed });
        const reports: TrainReport[] = [];
        await agent.learn(makeEnv(), { steps: 96, onUpdate: (r) => void reports.push(r) });
        return { state: await agent.getState(), reports };
      };
      const a = await run(1), b = await run(1), c = await run(2);
      assertSameState(a.state, b.state);
      assert.deepEqual(a.reports, b.reports);
      assert.notDeepEqual(a.reports, c.reports, `${cell}: another seed, another run`);
      for (const r of a.reports) {
        for (const key of ["loss", "valueLoss", "entropy", "approxKl", "clipFraction"]) {
          assert.ok(Number.isFinite(r[key]), `${cell} ${continuous}: ${key} is ${r[key]}`);
        }
        assert.ok(r.clipFraction! >= 0 && r.clipFraction! <= 1);
        assert.ok(r.explainedVariance! <= 1);
      }
    }
  }
});

Deno.test("PPO resumes bit-exactly from a state taken mid-rollout and mid-episode", async () => {
  for (const cell of ["none", "gru"] as const) {
    const options = { ...SMALL, envs: 3, rolloutSteps: 5, minibatches: 3, cell, seed: 7 };
    const makeEnv = () => new CartPole({ maskVelocity: true, maxEpisodeSteps: 25 });
    const total = 3 * 5 * 10 + 6, split = 3 * 5 * 4 + 2 * 3;
    const straight = new PPO(makeEnv(), options);
    const episodes: EpisodeReport[] = [], reports: TrainReport[] = [];
    await straight.learn(makeEnv(), {
      steps: total,
      onEpisode: (r) => void episodes.push(r),
      onUpdate: (r) => void reports.push(r),
    });
    const first = new PPO(makeEnv(), options);
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
    const second = PPO.fromState(saved);
    await second.learn(makeEnv(), { steps: total - split, ...callbacks });
    assertSameState(await straight.getState(), await second.getState());
    assert.deepEqual(resumedEpisodes, episodes);
    assert.deepEqual(resumedReports, reports);
    assert.equal(reports.length, 10);
  }
});

Deno.test("PPO with a feed-forward policy and several minibatches learns CartPole", async () => {
  const agent = new PPO(new CartPole(), {
    cell: "none",
    envs: 4,
    rolloutSteps: 128,
    epochs: 10,
    minibatches: 4,
    hiddenSizes: [64],
    learningRate: 1e-3,
    gamma: 0.98,
    entropyCoef: 0,
    seed: 2,
  });
  await agent.learn(new CartPole(), { steps: 20_000 });
  const { meanReturn } = await agent.evaluate(new CartPole(), { episodes: 10, seed: 100 });
  assert.ok(meanReturn > 150, `greedy mean return ${meanReturn}`);
});

Deno.test("PPO with a GRU learns to recall a cue over a delay", async () => {
  const agent = new PPO(new CueEnv(3), {
    cell: "gru",
    envs: 8,
    rolloutSteps: 16,
    epochs: 4,
    minibatches: 2,
    cellUnits: 16,
    hiddenSizes: [],
    learningRate: 3e-3,
    entropyCoef: 0,
    seed: 1,
  });
  await agent.learn(new CueEnv(3), { steps: 8 * 16 * 40 });
  const { meanReturn } = await agent.evaluate(new CueEnv(3), { episodes: 200, seed: 5 });
  assert.ok(meanReturn >= 0.95, `recall rate ${meanReturn}`);
});

Deno.test("PPO checks its options", () => {
  const spec = { observationSize: 2, actionCount: 2 };
  assert.throws(
    () => new PPO(spec, { cell: "lstm", envs: 4, minibatches: 3 }),
    /minibatches must divide envs/,
  );
  assert.throws(() => new PPO(spec, { clipRange: 0 }), /clipRange/);
  assert.throws(() => new PPO(spec, { epochs: 0 }), /epochs/);
  assert.throws(() => new PPO(spec, { clipRange: { start: 0.2, end: 0 } as never }), /clipRange/);
  assert.throws(() => new PPO(spec, { cell: "rnn" as never }), /cell/);
});
