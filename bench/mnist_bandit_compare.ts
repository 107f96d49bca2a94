/**
 * The MNIST bandit's cumulative regret over its training rounds: for each run directory given
 * (`deno task train --env mnist-bandit`, CNN or `--network mlp`), the sum of its episodes'
 * regrets, read from metrics.jsonl; and uniform random play over as many rounds of the same
 * seeded stream of digits. Prints one row per run and the mean per network. A sweep makes the
 * runs; bench/RESULTS.md has the figures.
 *
 *     deno task sweep --env mnist-bandit --algo dqn --seeds 1-3 --grid network=cnn,mlp --out runs/mnist
 *     deno run --allow-read bench/mnist_bandit_compare.ts runs/mnist/network=*\/seed-*
 *
 * @module
 */

import { MnistBandit } from "../lib/envs/mnist_bandit.ts";
import { parseMetrics } from "../lib/report/run_data.ts";
import { Rng } from "../lib/io/rng.ts";
import { loadMnistDigits } from "../lib/run/mnist_digits.ts";

if (Deno.args.length === 0) throw new Error("usage: mnist_bandit_compare.ts RUN_DIR...");
const digits = await loadMnistDigits();

/** The regret of uniformly random arms over `rounds` rounds of the env seeded `seed`. */
function randomRegret(seed: number, rounds: number): number {
  const env = new MnistBandit({ digits, seed });
  const arms = new Rng((seed ^ 0x5bd1e995) >>> 0);
  let total = 0;
  for (let t = 0; t < rounds; t++) {
    env.reset();
    total += env.step(arms.int(env.actionCount)).info.regret;
  }
  return total;
}

const rows: { network: string; seed: number; rounds: number; regret: number; random: number }[] =
  [];
for (const dir of Deno.args) {
  const config = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
  const { episodes } = parseMetrics(await Deno.readTextFile(`${dir}/metrics.jsonl`));
  const regret = episodes.reduce((sum, e) => sum + (e.regret ?? NaN), 0);
  const network = config.agent.convolution ? "cnn" : "mlp";
  rows.push({
    network,
    seed: config.seed,
    rounds: episodes.length,
    regret,
    random: randomRegret(config.seed, episodes.length),
  });
}
console.log("| network | seed | rounds | cumulative regret | uniform random |");
console.log("| :-- | --: | --: | --: | --: |");
for (const r of rows) {
  console.log(`| ${r.network} | ${r.seed} | ${r.rounds} | ${r.regret} | ${r.random} |`);
}
for (const network of new Set(rows.map((r) => r.network))) {
  const mine = rows.filter((r) => r.network === network);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `${network}: mean cumulative regret ${mean(mine.map((r) => r.regret)).toFixed(1)} ` +
      `(min ${Math.min(...mine.map((r) => r.regret))}, max ${
        Math.max(...mine.map((r) => r.regret))
      }) over ${mine.length} seeds; uniform random ${mean(mine.map((r) => r.random)).toFixed(1)}`,
  );
}
