// DevicePendulum on the CPU backend: its float32 dynamics against the float64 scalar Pendulum
// (Gymnasium's equations) one step at a time from the same states, whole episodes' returns under
// the same torques, the folded polynomial sine and cosine against Math's, autoreset at the time
// limit with draws keyed by copy and episode, masking, and its refusals.
import assert from "node:assert/strict";
import { counterUniform } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { cosSinF32 } from "../lib/backend/pendulum_f32.ts";
import { DevicePendulum } from "../lib/envs/device_pendulum.ts";
import { Pendulum } from "../lib/envs/pendulum.ts";

const backend = createCpuBackend();

async function step(envs: DevicePendulum, torques: number[]) {
  const t = backend.tensor(torques, [torques.length]);
  const out = envs.step(t);
  const read = {
    observations: await backend.read(out.observations),
    rewards: await backend.read(out.rewards),
    truncated: await backend.read(out.truncated),
    finalObservations: await backend.read(out.finalObservations),
  };
  DevicePendulum.dispose(backend, out);
  backend.dispose(t);
  return read;
}

Deno.test("the folded float32 sine and cosine are within 2.5e-7 of Math's on |θ| ≤ π + 0.5", () => {
  let worst = 0;
  for (let k = -40000; k <= 40000; k++) {
    const theta = Math.fround((k / 40000) * (Math.PI + 0.5));
    const [cos, sin] = cosSinF32(theta);
    worst = Math.max(worst, Math.abs(cos - Math.cos(theta)), Math.abs(sin - Math.sin(theta)));
  }
  assert.ok(worst < 2.5e-7, `worst error ${worst}`);
});

const torque = (t: number, i: number) => 4 * counterUniform(8, t, i) - 2;

Deno.test("float32 Pendulum steps as the float64 reference: each step within 2e-6, returns within 1e-3", async () => {
  const count = 500;
  const envs = new DevicePendulum(backend, count, { seed: 2 });
  backend.dispose(envs.reset());
  let state = await envs.readState();
  const reference = Array.from({ length: count }, (_, i) => {
    const env = new Pendulum();
    env.reset();
    env.state = [state[4 * i], state[4 * i + 1]];
    return env;
  });
  const probe = new Pendulum();
  const returnsF32 = new Float64Array(count), returnsF64 = new Float64Array(count);
  let worst = 0; // one step from the same state: reward, θ̇, and the observation's cos and sin
  for (let t = 0; t < 200; t++) {
    const torques = Array.from({ length: count }, (_, i) => torque(t, i));
    const before = state;
    const out = await step(envs, torques);
    state = await envs.readState();
    for (let i = 0; i < count; i++) {
      returnsF32[i] += out.rewards[i];
      returnsF64[i] += reference[i].step(torques[i]).reward;
      probe.reset();
      probe.state = [before[4 * i], before[4 * i + 1]];
      const r = probe.step(torques[i]);
      const seen = t < 199 ? out.observations : out.finalObservations;
      const gaps = [
        Math.abs(r.reward - out.rewards[i]) / Math.max(1, Math.abs(r.reward)),
        Math.abs(probe.state[1] - (t < 199 ? state[4 * i + 1] : seen[3 * i + 2])),
        Math.abs(r.observation[0] - seen[3 * i]),
        Math.abs(r.observation[1] - seen[3 * i + 1]),
      ];
      worst = Math.max(worst, ...gaps);
    }
  }
  assert.ok(worst < 2e-6, `one step differs by up to ${worst}`);
  let close = 0;
  for (let i = 0; i < count; i++) {
    if (Math.abs(returnsF32[i] - returnsF64[i]) <= 1e-3 * Math.abs(returnsF64[i])) close++;
  }
  assert.ok(close >= 0.95 * count, `${close} of ${count} returns within 0.1%`);
});

Deno.test("DevicePendulum autoresets at the limit with draws keyed by copy and episode; masking; refusals", async () => {
  const envs = new DevicePendulum(backend, 6, { seed: 3, maxEpisodeSteps: 4, maskVelocity: true });
  const first = await backend.read(envs.reset());
  const start = await envs.readState();
  for (let i = 0; i < 6; i++) {
    assert.ok(start[4 * i] >= -Math.PI - 1e-6 && start[4 * i] < Math.PI + 1e-6);
    assert.ok(start[4 * i + 1] >= -1 && start[4 * i + 1] < 1);
    assert.deepEqual([...first.subarray(2 * i, 2 * i + 2)], cosSinF32(start[4 * i]));
  }
  for (let t = 0; t < 3; t++) {
    const out = await step(envs, [0, 1, -1, 2, -2, 0.5]);
    assert.deepEqual([...out.truncated], new Array(6).fill(0));
    for (const r of out.rewards) assert.ok(r <= 0 && r >= -(Math.PI ** 2 + 6.4 + 0.004));
  }
  const out = await step(envs, [0, 1, -1, 2, -2, 0.5]);
  assert.deepEqual([...out.truncated], new Array(6).fill(1));
  const state = await envs.readState();
  for (let i = 0; i < 6; i++) {
    assert.equal(state[4 * i + 2], 0);
    assert.equal(state[4 * i + 3], 1);
    assert.deepEqual([...out.observations.subarray(2 * i, 2 * i + 2)], cosSinF32(state[4 * i]));
  }
  // Copy 1 of a batch of 2 plays what copy 1 of the batch of 6 plays.
  const small = new DevicePendulum(backend, 2, { seed: 3, maxEpisodeSteps: 4, maskVelocity: true });
  backend.dispose(small.reset());
  for (let t = 0; t < 4; t++) await step(small, [0, 1]);
  assert.deepEqual([...(await small.readState()).subarray(4, 8)], [...state.subarray(4, 8)]);
  await assert.rejects(() => step(small, [0, NaN]), /copy 1: torque is NaN/);
  assert.throws(() => small.step(backend.tensor([1], [1])), /got 1 torques for 2 copies/);
  assert.throws(() => new DevicePendulum(backend, 1.5), /count is 1.5/);
  assert.throws(() => new DevicePendulum(backend, 1, { maxEpisodeSteps: -1 }), /maxEpisodeSteps/);
});
