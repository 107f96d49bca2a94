/**
 * An LSTM training step on the CPU backend at the shape of the `cartpole-masked/ppo` preset's
 * networks (T=32 steps of B=8 environments, 2 inputs, 64 units): forward, backward and an Adam
 * update, as in `_workloads.ts` (LSTM, Dense of 1 unit, mean squared error).
 *
 *     deno bench --allow-read --allow-env bench/cpu_lstm_step_bench.ts
 *
 * "packing off" runs the recurrent steps the way they ran before the recurrent weights were
 * packed once per sequence (a plain gemm per step, TypeScript loops), with the internal switch
 * `setRecurrentPacking`; both give the same bits.
 *
 * @module
 */

import * as cpuModule from "../lib/backend/cpu.ts";
import { rnnrlTrainStep } from "./_workloads.ts";

const shape = { T: 32, B: 8, I: 2, H: 64 };
const group = `cpu_lstm_step_small T=${shape.T} B=${shape.B} I=${shape.I} H=${shape.H}`;
const cpu = cpuModule.createCpuBackend();
const step = rnnrlTrainStep(cpu, shape);

Deno.bench({ name: "rnnrl cpu", group, baseline: true, fn: step });

// Looked up by name so that this file also runs on checkouts from before the switch existed.
const setPacking = (cpuModule as Record<string, unknown>).setRecurrentPacking as
  | ((on: boolean) => boolean)
  | undefined;
if (setPacking) {
  Deno.bench({
    name: "rnnrl cpu, packing off",
    group,
    fn: async () => {
      const before = setPacking(false);
      try {
        await step();
      } finally {
        setPacking(before);
      }
    },
  });
}
