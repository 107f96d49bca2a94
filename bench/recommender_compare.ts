/**
 * A trained recommender agent against the baselines: the run's agent (greedy) and the random,
 * most-popular and myopic-oracle recommenders each play 1 000 seeded sessions of the run's
 * recommender, and the script prints every mean return with its 95% percentile-bootstrap
 * interval (lib/report/stats.ts) and the agent's lead over each baseline with a two-sample
 * bootstrap interval (each sample resampled on its own: the sessions of two policies are not
 * paired, since a policy's clicks move the environment's RNG). It takes a minute, so it is a
 * script rather than a test; bench/RESULTS.md has its figures.
 *
 *     deno task train --env recommender --algo ppo --out runs/rec
 *     deno run --allow-read bench/recommender_compare.ts runs/rec [sessions] [seed]
 *
 * @module
 */

import { Recommender } from "../lib/envs/recommender.ts";
import { Rng } from "../lib/io/rng.ts";
import { bootstrapInterval, mean } from "../lib/report/stats.ts";
import { myopicPolicy, popularPolicy, randomPolicy } from "../lib/rl/baselines.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import type { Policy } from "../lib/rl/policy.ts";
import { createRunEnv, loadRun } from "../lib/run/trainer.ts";

const dir = Deno.args[0];
if (!dir) throw new Error("usage: recommender_compare.ts RUN_DIR [sessions] [seed]");
const sessions = Number(Deno.args[1] ?? 1000);
const seed = Number(Deno.args[2] ?? 2024);
const RESAMPLES = 10_000;

const run = await loadRun(dir, { backend: "cpu" });
const play = async (make: (env: Recommender) => Policy<unknown>) => {
  const env = createRunEnv(run.config, seed);
  if (!(env instanceof Recommender)) throw new Error(`${dir} is not a recommender run`);
  return (await evaluate(env, make(env), { episodes: sessions, seed })).returns;
};
const returns: Record<string, number[]> = {
  agent: await play(() => run.agent),
  random: await play((env) => randomPolicy(env, { seed: 1 })),
  popular: await play(popularPolicy),
  myopic: await play(myopicPolicy),
};
run.backend.destroy();

const interval = (x: number[]) => bootstrapInterval(x, mean, { resamples: RESAMPLES, seed: 7 });
/** The two-sample percentile-bootstrap interval of mean(a) − mean(b). */
function difference(a: number[], b: number[]) {
  const rng = new Rng(11), draws = new Float64Array(RESAMPLES);
  const resampled = (x: number[]) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[rng.int(x.length)];
    return s / x.length;
  };
  for (let k = 0; k < RESAMPLES; k++) draws[k] = resampled(a) - resampled(b);
  draws.sort();
  const at = (q: number) => draws[Math.min(RESAMPLES - 1, Math.floor(q * RESAMPLES))];
  return { estimate: mean(a) - mean(b), lower: at(0.025), upper: at(0.975) };
}
const round = (x: number) => Math.round(x * 1000) / 1000;
for (const [name, values] of Object.entries(returns)) {
  const { estimate, lower, upper } = interval(values);
  console.log(
    JSON.stringify({
      policy: name,
      sessions,
      seed,
      mean: round(estimate),
      lower: round(lower),
      upper: round(upper),
    }),
  );
}
for (const baseline of ["popular", "myopic"]) {
  const d = difference(returns.agent, returns[baseline]);
  console.log(JSON.stringify({
    lead: `agent − ${baseline}`,
    mean: round(d.estimate),
    lower: round(d.lower),
    upper: round(d.upper),
    ratio: round(mean(returns.agent) / mean(returns[baseline])),
  }));
}
