/**
 * A uniformly random policy on every POPGym game at every level: its mean return over seeded
 * episodes (about 40 000 steps a game), with the standard error of that mean. Where the rule
 * gives the expectation in closed form, the measured mean must lie within four standard errors
 * of it; the measured figures are stated in the table, so that any change to a rule shows.
 */

import assert from "node:assert/strict";
import { CartPole } from "../lib/envs/cartpole.ts";
import type { Env } from "../lib/envs/env.ts";
import { POPGYM_ENVS } from "../lib/envs/popgym/mod.ts";
import { Rng } from "../lib/io/rng.ts";

/** Steps of random play per game: the episodes are played whole until this many are taken. */
const STEP_BUDGET = 40_000;

/** `[game, episodes, mean return, standard error]`, as measured with the seeds below. */
const MEASURED: readonly [string, number, number, number][] = [
  ["repeat-previous-easy", 785, -0.4978, 0.0045],
  ["repeat-previous-medium", 389, -0.5041, 0.0056],
  ["repeat-previous-hard", 259, -0.5001, 0.0060],
  ["repeat-first-easy", 785, -0.4967, 0.0044],
  ["repeat-first-medium", 97, -0.4960, 0.0045],
  ["repeat-first-hard", 49, -0.4937, 0.0043],
  ["count-recall-easy", 785, -0.9256, 0.0019],
  ["count-recall-medium", 389, -0.9259, 0.0019],
  ["count-recall-hard", 194, -0.8809, 0.0024],
  ["autoencode-easy", 389, -0.5004, 0.0059],
  ["autoencode-medium", 194, -0.5097, 0.0061],
  ["autoencode-hard", 129, -0.5049, 0.0063],
  ["stateless-cartpole-easy", 1755, 0.1140, 0.0014],
  ["stateless-cartpole-medium", 1755, 0.0570, 0.0007],
  ["stateless-cartpole-hard", 1755, 0.0380, 0.0005],
  // The noise is in the observations only, which a random policy ignores: the same episodes.
  ["noisy-stateless-cartpole-easy", 1755, 0.1140, 0.0014],
  ["noisy-stateless-cartpole-medium", 1755, 0.1140, 0.0014],
  ["noisy-stateless-cartpole-hard", 1755, 0.1140, 0.0014],
  ["higher-lower-easy", 785, -0.0028, 0.0050],
  ["higher-lower-medium", 389, -0.0064, 0.0048],
  ["higher-lower-hard", 259, 0.0005, 0.0049],
  ["multiarmed-bandit-easy", 200, -0.0079, 0.0138],
  ["multiarmed-bandit-medium", 100, -0.0270, 0.0144],
  ["multiarmed-bandit-hard", 67, -0.0020, 0.0137],
  ["battleship-easy", 626, -0.4448, 0.0066],
  ["battleship-medium", 401, -0.3997, 0.0077],
  ["battleship-hard", 278, -0.4026, 0.0098],
  ["concentration-easy", 385, -0.1910, 0.0052],
  ["concentration-medium", 193, -0.1764, 0.0053],
  ["concentration-hard", 385, -0.8250, 0.0051],
  ["minesweeper-easy", 5906, -0.2303, 0.0042],
  ["minesweeper-medium", 6667, -0.3996, 0.0016],
  ["minesweeper-hard", 6285, -0.4326, 0.0010],
];

/** The mean of a random CartPole episode's length (Gymnasium's dynamics), and its error. */
function randomCartPoleLength(): { mean: number; se: number } {
  const env = new CartPole({ seed: 41 });
  const rng = new Rng(42);
  const lengths: number[] = [];
  for (let e = 0; e < 5000; e++) {
    env.reset();
    let length = 0;
    while (true) {
      length++;
      const r = env.step(rng.int(2));
      if (r.terminated || r.truncated) break;
    }
    lengths.push(length);
  }
  return meanAndError(lengths);
}

/**
 * What the rules give in closed form for a uniformly random action, where they do (the others
 * depend on where mines, ships and cards fall).
 */
function expectation(game: string, cartPoleLength: number): number | undefined {
  // One right answer among 4 suits pays +s, the 3 wrong ones −s, over scores summing to 1.
  if (/^(repeat-previous|repeat-first|autoencode)-/.test(game)) return 1 / 4 - 3 / 4;
  // One right count among C + 1 answers: 2 / (C + 1) − 1 (C = 26 at easy and medium, 16 at hard).
  if (game === "count-recall-easy" || game === "count-recall-medium") return 2 / 27 - 1;
  if (game === "count-recall-hard") return 2 / 17 - 1;
  // A random guess is right as often as wrong; a bandit arm's payout probability is uniform.
  if (/^(higher-lower|multiarmed-bandit)-/.test(game)) return 0;
  // 1/L a step of CartPole, until it falls (far sooner than L).
  const steps = { "stateless-cartpole-easy": 200, "stateless-cartpole-medium": 400 } as const;
  if (game in steps) return cartPoleLength / steps[game as keyof typeof steps];
  if (game === "stateless-cartpole-hard") return cartPoleLength / 600;
  if (game.startsWith("noisy-stateless-cartpole-")) return cartPoleLength / 200;
  return undefined;
}

function meanAndError(values: readonly number[]): { mean: number; se: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
}

function randomReturns(env: Env): number[] {
  const rng = new Rng(32);
  const returns: number[] = [];
  let steps = 0;
  while (steps < STEP_BUDGET) {
    env.reset();
    let total = 0;
    while (true) {
      const r = env.step(rng.int(env.actionCount));
      total += r.reward;
      steps++;
      if (r.terminated || r.truncated) break;
    }
    returns.push(total);
  }
  return returns;
}

Deno.test("the table covers every POPGym game at every level", () => {
  assert.deepEqual(MEASURED.map(([game]) => game).sort(), [...POPGYM_ENVS.keys()].sort());
});

Deno.test("a random policy's mean return on every POPGym game: as stated, and as the rules expect", () => {
  const cartPole = randomCartPoleLength();
  assert.ok(Math.abs(cartPole.mean - 22.5) < 0.5, `random CartPole lasts ${cartPole.mean} steps`);
  for (const [game, episodes, statedMean, statedError] of MEASURED) {
    const returns = randomReturns(POPGYM_ENVS.get(game as never)!({ seed: 31 }));
    const { mean, se } = meanAndError(returns);
    assert.equal(returns.length, episodes, game);
    assert.ok(Math.abs(mean - statedMean) < 5e-5, `${game}: mean ${mean}, stated ${statedMean}`);
    assert.ok(Math.abs(se - statedError) < 5e-5, `${game}: error ${se}, stated ${statedError}`);
    const expected = expectation(game, cartPole.mean);
    if (expected !== undefined) {
      // CartPole's expectation is itself measured: its error adds to the game's.
      const cartPoleError = game.includes("cartpole") ? cartPole.se * expected / cartPole.mean : 0;
      const tolerance = 4 * Math.hypot(se, cartPoleError);
      assert.ok(
        Math.abs(mean - expected) <= tolerance,
        `${game}: mean ${mean.toFixed(4)} ± ${se.toFixed(4)}, expected ${expected.toFixed(4)}`,
      );
    }
  }
});
