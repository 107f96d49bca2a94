// The WGSL CartPole kernel against the CPU backend's float32 reference, bit for bit: 1024 copies
// for 150 steps of random pushes (falls, truncations at a 16-step limit, resets), masked and full
// observations, both integrators. Skipped where no adapter exists.
import assert from "node:assert/strict";
import { counterUniform } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { DeviceCartPole, type DeviceCartPoleOptions } from "../lib/envs/device_cartpole.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_cartpole_test: skipped, no WebGPU adapter (navigator.gpu)");
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
