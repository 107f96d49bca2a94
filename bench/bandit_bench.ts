// The 10-armed testbed, per method: 200 runs × 1000 steps (a tenth of the book's 2000 runs).
// Run with `deno bench bench/bandit_bench.ts`.
import { defaultTestbedMethods, runTestbed } from "../lib/rl/bandit_testbed.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { TabularAgent } from "../lib/rl/q_learning.ts";

for (const method of defaultTestbedMethods()) {
  Deno.bench({
    name: method.name,
    group: "bandit_testbed runs=200 steps=1000 arms=10",
    n: 10,
    warmup: 2,
    fn: () => {
      runTestbed({ runs: 200, steps: 1000, methods: [method] });
    },
  });
}

Deno.bench({
  name: "rnnrl cpu",
  group: "tabular_q_learning cartpole steps=20000",
  n: 20,
  warmup: 2,
  fn: async () => {
    const env = new CartPole();
    const agent = new TabularAgent(env, { seed: 1 });
    await agent.learn(env, { steps: 20_000 });
  },
});
