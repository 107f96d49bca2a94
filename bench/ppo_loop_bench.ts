/**
 * The resident loop against the ordinary one: one PPO-LSTM iteration on cartpole-masked (a
 * rollout of T = 32 steps of N copies, then its update), in group `ppo_loop N=… T=32`, so
 * environment steps per second = N·T / (time per iteration).
 *
 * - "PPO": the ordinary loop. Scalar CartPole copies in a VectorEnv on the CPU; every step the
 *   observations go to the backend and the actions come back (a read-back per step on WebGPU).
 * - "ResidentPPO": DeviceCartPole copies in the backend; actions sampled there; one read-back per
 *   update (each iteration here is logged, the worst case).
 *
 * Both take the cartpole-masked PPO preset (LSTM of 64, a ReLU layer of 64, one minibatch of whole
 * copies) with 4 epochs instead of 20, so that the rollout's share shows. WebGPU runs on whatever
 * adapter exists: on a machine without a GPU that is llvmpipe, a software rasterizer, and its
 * figures are not GPU speed.
 *
 *     deno bench --allow-read --allow-env bench/ppo_loop_bench.ts
 *
 * @module
 */

import type { Backend } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { DeviceCartPole } from "../lib/envs/device_cartpole.ts";
import { VectorEnv } from "../lib/envs/vector.ts";
import { PPO } from "../lib/rl/ppo.ts";
import { ResidentPPO } from "../lib/rl/resident_ppo.ts";
import { presetFor } from "../lib/run/presets.ts";
import { lazyBench } from "./_workloads.ts";

const T = 32;
const gpu = (await navigator.gpu?.requestAdapter()) ? await createWebGpuBackend() : undefined;
// A device still alive when the process exits can crash Mesa's teardown.
globalThis.addEventListener("unload", () => gpu?.destroy());
const backends: Backend[] = [createCpuBackend()];
if (gpu) backends.push(gpu);

/** The preset's options for N copies, logging every update. */
function options(envs: number) {
  return {
    ...presetFor("cartpole-masked", "ppo").options,
    envs,
    rolloutSteps: T,
    epochs: 4,
    minibatches: 1,
    logInterval: 1,
    seed: 1,
  };
}

for (const N of [16, 256, 2048]) {
  const group = `ppo_loop N=${N} T=${T}`;
  const n = N >= 2048 ? 2 : 5;
  for (const backend of backends) {
    lazyBench(group, `rnnrl PPO ${backend.name}`, n, () => {
      const envs = new VectorEnv(
        Array.from({ length: N }, () => new CartPole({ maskVelocity: true })),
      );
      const agent = new PPO(envs.envs[0], options(N), backend);
      return async () => void await agent.learn(envs, { steps: N * T, onUpdate: () => {} });
    });
    lazyBench(group, `rnnrl ResidentPPO ${backend.name}`, n, () => {
      const envs = new DeviceCartPole(backend, N, { seed: 1, maskVelocity: true });
      const agent = new ResidentPPO(envs, options(N));
      return async () => void await agent.learn(envs, { steps: N * T, onUpdate: () => {} });
    });
  }
}
