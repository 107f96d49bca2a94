// The WGSL environment kernels against the CPU backend's float32 references, bit for bit. CartPole:
// 1024 copies for 150 steps of random pushes (falls, truncations at a 16-step limit, resets),
// masked and full observations, both integrators. Pendulum: 1024 copies for 150 steps of random
// torques, some beyond the ±2 clip, with a 40-step limit, masked and full. RepeatPrevious and
// CountRecall: 512 copies at the easy and hard levels for 120 and 320 steps of random actions (two
// shoes or more each, so the in-kernel reshuffle runs). Skipped where no adapter exists.
import assert from "node:assert/strict";
import { counterUniform } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { DeviceCartPole, type DeviceCartPoleOptions } from "../lib/envs/device_cartpole.ts";
import { DevicePendulum } from "../lib/envs/device_pendulum.ts";
import { DeviceCountRecall, DeviceRepeatPrevious } from "../lib/envs/device_cards.ts";
import type { PopgymDifficulty } from "../lib/envs/popgym/_shared.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_device_envs_test: skipped, no WebGPU adapter (navigator.gpu)");
const gpu = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend();
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
if (!ignore) Deno.test.afterAll(() => gpu.destroy());
const cpu = createCpuBackend();

/** Every step's outputs and the final state, read back, of `steps` steps of random pushes. */
async function run(backend: Backend, count: number, steps: number, options: DeviceCartPoleOptions) {
  const envs = new DeviceCartPole(backend, count, options);
  const trace: Float32Array[] = [await backend.read(envs.reset())];
  for (let t = 0; t < steps; t++) {
    const pushes = Array.from({ length: count }, (_, i) => counterUniform(2, t, i) < 0.5 ? 0 : 1);
    const actions = backend.tensor(pushes, [count]);
    const out = envs.step(actions);
    for (const tensor of Object.values(out)) trace.push(await backend.read(tensor));
    DeviceCartPole.dispose(backend, out);
    backend.dispose(actions);
  }
  trace.push(await envs.readState());
  envs.destroy();
  return trace;
}

for (
  const options of [
    { seed: 4, maxEpisodeSteps: 200 },
    { seed: 5, maxEpisodeSteps: 16, maskVelocity: true, integrator: "semi-implicit-euler" },
  ] as DeviceCartPoleOptions[]
) {
  Deno.test({
    name: `WGSL CartPole equals the CPU float32 reference: ${JSON.stringify(options)}`,
    ignore,
    async fn() {
      const count = 1024, steps = 150;
      const [expected, actual] = [
        await run(cpu, count, steps, options),
        await run(gpu, count, steps, options),
      ];
      let ended = 0, truncated = 0, differing = 0;
      for (let k = 0; k < expected.length; k++) {
        for (let j = 0; j < expected[k].length; j++) {
          if (!Object.is(expected[k][j], actual[k][j])) differing++;
        }
        const sum = expected[k].reduce((a, b) => a + b, 0);
        if (k % 4 === 2 || k % 4 === 3) ended += sum;
        if (k % 4 === 3) truncated += sum;
      }
      assert.equal(differing, 0, `${differing} values differ`);
      assert.ok(ended > 5 * count, `${ended} episodes ended`);
      if (options.maxEpisodeSteps === 16) assert.ok(truncated > count, `${truncated} truncated`);
    },
  });
}

/** Every step's outputs and the final state of `steps` steps of random torques in [−3, 3). */
async function runPendulum(backend: Backend, count: number, steps: number, maskVelocity: boolean) {
  const envs = new DevicePendulum(backend, count, { seed: 6, maxEpisodeSteps: 40, maskVelocity });
  const trace: Float32Array[] = [await backend.read(envs.reset())];
  for (let t = 0; t < steps; t++) {
    const values = Array.from({ length: count }, (_, i) => 6 * counterUniform(3, t, i) - 3);
    const torques = backend.tensor(values, [count]);
    const out = envs.step(torques);
    for (const tensor of Object.values(out)) trace.push(await backend.read(tensor));
    DevicePendulum.dispose(backend, out);
    backend.dispose(torques);
  }
  trace.push(await envs.readState());
  envs.destroy();
  return trace;
}

for (const maskVelocity of [false, true]) {
  Deno.test({
    name: `WGSL Pendulum equals the CPU float32 reference: maskVelocity ${maskVelocity}`,
    ignore,
    async fn() {
      const expected = await runPendulum(cpu, 1024, 150, maskVelocity);
      const actual = await runPendulum(gpu, 1024, 150, maskVelocity);
      let differing = 0;
      for (let k = 0; k < expected.length; k++) {
        for (let j = 0; j < expected[k].length; j++) {
          if (!Object.is(expected[k][j], actual[k][j])) differing++;
        }
      }
      assert.equal(differing, 0, `${differing} values differ`);
      const state = expected[expected.length - 1];
      assert.equal(state[3], 3, "copy 0 is in its fourth episode after 150 steps of 40");
    },
  });
}

/** Every step's outputs and the final state of `steps` steps of random valid actions. */
async function runCards(
  backend: Backend,
  make: typeof DeviceRepeatPrevious | typeof DeviceCountRecall,
  difficulty: PopgymDifficulty,
  steps: number,
) {
  const count = 512;
  const envs = new make(backend, count, { seed: 7, difficulty });
  const trace: Float32Array[] = [await backend.read(envs.reset())];
  for (let t = 0; t < steps; t++) {
    const values = Array.from(
      { length: count },
      (_, i) => Math.floor(counterUniform(5, t, i) * envs.actionCount),
    );
    const actions = backend.tensor(values, [count]);
    const out = envs.step(actions);
    for (const tensor of Object.values(out)) trace.push(await backend.read(tensor));
    DeviceRepeatPrevious.dispose(backend, out);
    backend.dispose(actions);
  }
  trace.push(await envs.readState());
  envs.destroy();
  return trace;
}

for (const make of [DeviceRepeatPrevious, DeviceCountRecall]) {
  for (const difficulty of ["easy", "hard"] as PopgymDifficulty[]) {
    Deno.test({
      name: `WGSL ${make.name} ${difficulty} equals the CPU float32 reference`,
      ignore,
      async fn() {
        // Two shoes or more: 51 steps each at easy, up to 207 at hard.
        const steps = difficulty === "easy" ? 120 : 320;
        const expected = await runCards(cpu, make, difficulty, steps);
        const actual = await runCards(gpu, make, difficulty, steps);
        let differing = 0, ended = 0;
        for (let k = 0; k < expected.length; k++) {
          for (let j = 0; j < expected[k].length; j++) {
            if (!Object.is(expected[k][j], actual[k][j])) differing++;
          }
          if (k % 4 === 3) ended += expected[k].reduce((a, b) => a + b, 0);
        }
        assert.equal(differing, 0, `${differing} values differ`);
        assert.ok(ended >= 512, `${ended} shoes ran out`);
      },
    });
  }
}
