// ResidentPPO and its ops on WebGPU against the CPU backend: sampleRows bit for bit on the same
// probabilities, gaussianNoise within 1e-5, the copy at an offset, and three updates of an MLP, an
// LSTM and a GRU (on the sequence-long kernels) policy on masked CartPole copies, and of an MLP on
// Pendulum from discrete torques and with a Gaussian over its continuous torque: the same episodes
// and returns (Pendulum's to 1e-4), and losses within 0.1% of the CPU's (the matrix multiplies sum
// in another order, and the GPU's exp, log and cos are not the CPU's to the last bit). Skipped where
// no adapter exists.
import assert from "node:assert/strict";
import { counterUniform } from "../lib/backend/backend.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { DeviceCartPole } from "../lib/envs/device_cartpole.ts";
import { DeviceDiscretePendulum, DevicePendulum } from "../lib/envs/device_pendulum.ts";
import { ResidentPPO } from "../lib/rl/resident_ppo.ts";
import type { TrainReport } from "../lib/rl/agent.ts";
import { presetFor } from "../lib/run/presets.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_resident_ppo_test: skipped, no WebGPU adapter (navigator.gpu)");
const gpu = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend();
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
if (!ignore) Deno.test.afterAll(() => gpu.destroy());
const cpu = createCpuBackend();

Deno.test({
  name: "WGSL sampleRows equals the CPU's draws on the same probabilities",
  ignore,
  async fn() {
    const rows = 4096, cols = 6;
    const logits = Array.from({ length: rows * cols }, (_, k) => 4 * counterUniform(1, 0, k) - 2);
    const probs = await cpu.read(cpu.softmaxRows(cpu.tensor(logits, [rows, cols])));
    const expected = await cpu.read(cpu.sampleRows(cpu.tensor(probs, [rows, cols]), 11, 4));
    const actual = await gpu.read(gpu.sampleRows(gpu.tensor(probs, [rows, cols]), 11, 4));
    assert.deepEqual(Array.from(actual), Array.from(expected));
    assert.equal(new Set(expected).size, cols, "every action drawn somewhere");
  },
});

Deno.test({
  name: "WGSL gaussianNoise follows the CPU's draws to float32 rounding",
  ignore,
  async fn() {
    const n = 65_536;
    const expected = await cpu.read(cpu.gaussianNoise(n, 5, 9));
    const actual = await gpu.read(gpu.gaussianNoise(n, 5, 9));
    let worst = 0;
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
    }
    assert.ok(worst < 1e-5, `worst relative gap ${worst}`);
  },
});

Deno.test({
  name: "WGSL copy at an offset writes the same row block as the CPU",
  ignore,
  async fn() {
    const dst = gpu.zeros([4, 3]);
    gpu.copy(dst, gpu.tensor([1, 2, 3], [3]), 6);
    assert.deepEqual(Array.from(await gpu.read(dst)), [0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0]);
  },
});

/** Three updates' statistics on masked CartPole, or on Pendulum (five torques, or continuous). */
async function threeUpdates(backend: Backend, cell: "none" | "lstm" | "gru", game: Game) {
  const envs = game === "cartpole"
    ? new DeviceCartPole(backend, 8, { seed: 1, maskVelocity: true })
    : game === "pendulum"
    ? new DeviceDiscretePendulum(backend, 8, { seed: 1, maxEpisodeSteps: 24 })
    : new DevicePendulum(backend, 8, { seed: 1, maxEpisodeSteps: 24 });
  const options = presetFor("cartpole-masked", "ppo").options;
  const agent = new ResidentPPO(envs, { ...options, cell, seed: 1, logInterval: 1 });
  const stats: TrainReport[] = [];
  await agent.learn(envs, { steps: 3 * 8 * 32, onUpdate: (s) => void stats.push(s) });
  agent.dispose();
  envs.destroy();
  return stats;
}

/** Masked CartPole; Pendulum from five torques; Pendulum's continuous torque (a Gaussian). */
type Game = "cartpole" | "pendulum" | "pendulum-torque";
const sequence = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend({
  recurrentKernels: "sequence",
});
if (!ignore) Deno.test.afterAll(() => sequence.destroy());

const CASES: [cell: "none" | "lstm" | "gru", game: Game, on: () => WebGpuBackend, what: string][] =
  [
    ["none", "cartpole", () => gpu, ""],
    ["lstm", "cartpole", () => gpu, ""],
    ["gru", "cartpole", () => sequence, " on the sequence kernels"],
    ["none", "pendulum", () => gpu, ""],
    ["none", "pendulum-torque", () => gpu, ""],
  ];

for (const [cell, game, on, what] of CASES) {
  Deno.test({
    name: `ResidentPPO (${cell}) on WebGPU${what} follows the CPU run on ${game} for three updates`,
    ignore,
    async fn() {
      const expected = await threeUpdates(cpu, cell, game);
      const actual = await threeUpdates(on(), cell, game);
      assert.equal(actual.length, 3);
      for (const [k, e] of expected.entries()) {
        const a = actual[k];
        assert.equal(a.episodes, e.episodes, `update ${k + 1}: episodes`);
        // CartPole's returns are whole numbers; Pendulum's sums of float32 rewards, added on the
        // device in another order.
        const returnGap = Math.abs(a.meanReturn! - e.meanReturn!);
        assert.ok(
          returnGap <= (game === "cartpole" ? 0 : 1e-4 * Math.abs(e.meanReturn!)),
          `update ${k + 1}: mean return ${a.meanReturn} against ${e.meanReturn}`,
        );
        for (const key of ["policyLoss", "valueLoss", "entropy", "approxKl"] as const) {
          const gap = Math.abs(a[key]! - e[key]!);
          assert.ok(
            gap <= 1e-3 * Math.abs(e[key]!) + 1e-5,
            `update ${k + 1}: ${key} ${a[key]} against ${e[key]}`,
          );
        }
      }
    },
  });
}

Deno.test({
  name: "ResidentPPO on WebGPU maps one buffer back per logged update and none otherwise",
  ignore,
  async fn() {
    const envs = new DeviceCartPole(gpu, 8, { seed: 3, maskVelocity: true });
    const options = presetFor("cartpole-masked", "ppo").options;
    const agent = new ResidentPPO(envs, { ...options, epochs: 2, seed: 2, logInterval: 2 });
    const before = gpu.stats.readbacks;
    await agent.learn(envs, { steps: 4 * 8 * 32, onUpdate: () => {} });
    // Four updates, every second one logged: two read-backs in 1 024 steps.
    assert.equal(gpu.stats.readbacks - before, 2);
    agent.dispose();
    envs.destroy();
  },
});
