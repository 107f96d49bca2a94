/**
 * POPGym's games, one environment at a time, as POPGym's own frames-per-second table measures
 * them (its README: one environment, random actions, Colab and a 2020 MacBook Air). Group
 * `popgym_step`: each iteration takes 100 steps of one easy-level game with random actions drawn
 * up front, resetting at the end of every episode (the reset is part of the cost, as in POPGym's
 * loop); steps per second = 100 / (time per iteration).
 *
 *     deno bench --allow-read --allow-env bench/popgym_bench.ts
 */

import { POPGYM_ENVS } from "../lib/envs/popgym/mod.ts";
import { Rng } from "../lib/io/rng.ts";

/** Steps an iteration takes, so that the bench harness's own cost per iteration is negligible. */
const STEPS_PER_ITERATION = 100;

/** The easy level of every game: the levels differ in length and board size, not in the rules. */
const EASY_GAMES = [...POPGYM_ENVS.keys()].filter((name) => name.endsWith("-easy"));

for (const name of EASY_GAMES) {
  const env = POPGYM_ENVS.get(name)!({ seed: 1 });
  env.reset();
  const rng = new Rng(2);
  const actions = Uint32Array.from({ length: 4096 }, () => rng.int(env.actionCount));
  let t = 0;
  Deno.bench(`rnnrl ${name}`, { group: "popgym_step" }, () => {
    for (let i = 0; i < STEPS_PER_ITERATION; i++) {
      const { terminated, truncated } = env.step(actions[t++ & 4095]);
      if (terminated || truncated) env.reset();
    }
  });
}
