/**
 * DQN on CartPole with Boltzmann exploration: the CartPole DQN preset with `exploration:
 * "boltzmann"` and a temperature (a constant or a ramp), trained for 50 000 steps on three seeds,
 * each evaluated greedily over 100 episodes (evaluation seed 1000, as `deno task train` does). It
 * takes minutes, so it is a script rather than a test; bench/RESULTS.md has its figures.
 *
 *     deno run --allow-read bench/boltzmann_cartpole.ts '{"start":1,"end":0.01,"steps":8000}' [seeds]
 *
 * Prints one JSON line per seed and a summary line.
 *
 * @module
 */

import { createCpuBackend } from "../lib/backend/cpu.ts";
import type { JsonObject } from "../lib/io/json.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { presetFor } from "../lib/run/presets.ts";
import { createAgent, createEnv } from "../lib/run/registry.ts";

const temperature = JSON.parse(Deno.args[0] ?? '{"start":1,"end":0.01,"steps":8000}');
const seeds = (Deno.args[1] ?? "0,1,2").split(",").map(Number);
const extra = JSON.parse(Deno.args[2] ?? "{}") as JsonObject;
const preset = presetFor("cartpole", "dqn");
const returns: number[] = [];
for (const seed of seeds) {
  const started = performance.now();
  const backend = createCpuBackend();
  const env = createEnv("cartpole", { seed });
  const options = { ...preset.options, exploration: "boltzmann", temperature, ...extra, seed };
  const agent = createAgent("dqn", env, options, backend);
  await agent.learn(env, { steps: preset.steps });
  const result = await evaluate(createEnv("cartpole"), agent, { episodes: 100, seed: 1000 });
  returns.push(result.meanReturn);
  console.log(JSON.stringify({
    seed,
    temperature,
    ...extra,
    steps: preset.steps,
    meanReturn: result.meanReturn,
    stdReturn: result.stdReturn,
    seconds: Math.round((performance.now() - started) / 1000),
  }));
}
const reached = returns.filter((r) => r >= 475).length;
console.log(JSON.stringify({ temperature, ...extra, returns, reached, of: returns.length }));
