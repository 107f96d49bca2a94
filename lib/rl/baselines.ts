/**
 * The built-in baseline policies: uniformly random among the valid actions, the Minesweeper
 * probability solver, and the recommender's most popular item and myopic oracle. They act through the same {@linkcode Policy} interface as trained agents,
 * so the one evaluator plays them too.
 *
 * @module
 */

import { type EnvCore, isContinuous, specOf } from "../envs/env.ts";
import type { Minesweeper } from "../envs/minesweeper.ts";
import type { Recommender } from "../envs/recommender.ts";
import { MinesweeperSolver } from "../envs/minesweeper_solver.ts";
import { Rng } from "../io/rng.ts";
import type { Policy, PolicyStep } from "./policy.ts";

/** Options of the baseline policies. */
export interface BaselinePolicyOptions {
  /** The seed of the policy's own RNG (default 0). */
  seed?: number;
}

/**
 * A policy that acts uniformly at random: among the valid actions (all of them, or those the
 * action mask allows), or uniformly in the bounds of a continuous action.
 *
 * @example
 * ```ts
 * import { evaluate, Minesweeper, randomPolicy } from "@rnnrl/rnnrl";
 * const env = new Minesweeper();
 * const result = await evaluate(env, randomPolicy(env, { seed: 1 }), { episodes: 5, seed: 1 });
 * if (result.winRate === undefined) throw new Error("Minesweeper reports a win rate");
 * ```
 */
export function randomPolicy(
  env: EnvCore<unknown>,
  options: BaselinePolicyOptions = {},
): Policy<undefined> {
  const rng = new Rng(options.seed ?? 0);
  const { actionCount } = specOf(env);
  const bounds = isContinuous(env) ? [env.actionLow, env.actionHigh] : null;
  return {
    initialState: () => undefined,
    disposeState: () => {},
    act(_observation, _state, act = {}): Promise<PolicyStep<undefined>> {
      if (bounds) {
        return Promise.resolve({ action: rng.uniformIn(bounds[0], bounds[1]), state: undefined });
      }
      const mask = act.mask;
      if (!mask) return Promise.resolve({ action: rng.int(actionCount), state: undefined });
      let valid = 0;
      for (let i = 0; i < mask.length; i++) valid += mask[i];
      if (valid === 0) throw new RangeError("Cannot act: the action mask allows no action");
      let k = rng.int(valid);
      for (let i = 0; i < mask.length; i++) {
        if (mask[i] && k-- === 0) return Promise.resolve({ action: i, state: undefined });
      }
      throw new RangeError("Cannot act: the action mask allows no action");
    },
  };
}

/**
 * A policy that plays {@linkcode Minesweeper} with {@linkcode MinesweeperSolver}, reading the
 * board from `env.visible`; each episode starts the solver afresh.
 *
 * @example
 * ```ts
 * import { evaluate, Minesweeper, solverPolicy } from "@rnnrl/rnnrl";
 * const env = new Minesweeper();
 * const result = await evaluate(env, solverPolicy(env), { episodes: 20, seed: 1 });
 * if (!(result.winRate! > 0.5)) throw new Error("the solver wins most Beginner games");
 * ```
 */
export function solverPolicy(
  env: Minesweeper,
  options: BaselinePolicyOptions = {},
): Policy<undefined> {
  const solver = new MinesweeperSolver({
    width: env.width,
    height: env.height,
    mines: env.mines,
    seed: options.seed,
  });
  return {
    initialState: () => {
      solver.reset();
      return undefined;
    },
    disposeState: () => {},
    act: () => Promise.resolve({ action: solver.act(env.visible), state: undefined }),
  };
}

/**
 * The "most popular" recommender: it ranks the catalogue once by {@linkcode Recommender.popularity}
 * (each item's click probability averaged over users) and recommends the most popular item that
 * is not in the history the observation shows (the last `historyLength` recommendations; the most
 * popular of all when every item is). It knows the catalogue's statistics but nothing of the user.
 *
 * @example
 * ```ts
 * import { evaluate, popularPolicy, Recommender } from "@rnnrl/rnnrl";
 * const env = new Recommender();
 * const result = await evaluate(env, popularPolicy(env), { episodes: 20, seed: 1 });
 * if (!(result.meanReturn > 0)) throw new Error("some clicks");
 * ```
 */
export function popularPolicy(env: Recommender): Policy<undefined> {
  const popularity = env.popularity();
  const ranking = Array.from(popularity.keys()).sort((a, b) =>
    popularity[b] - popularity[a] || a - b
  );
  const H = env.historyLength;
  return {
    initialState: () => undefined,
    disposeState: () => {},
    act(observation): Promise<PolicyStep<undefined>> {
      const shown = new Set<number>();
      for (let k = 0; k < H; k++) if (observation[k] > 0) shown.add(observation[k] - 1);
      const action = ranking.find((item) => !shown.has(item)) ?? ranking[0];
      return Promise.resolve({ action, state: undefined });
    },
  };
}

/**
 * The myopic oracle recommender: it reads the true click probabilities of the user in front of
 * it ({@linkcode Recommender.clickProbabilities}, the hidden interest and fatigue included) and
 * recommends the item most likely to be clicked now, the lowest-numbered among equals. It knows
 * more than any agent can, and looks no further than the next click.
 *
 * @example
 * ```ts
 * import { evaluate, myopicPolicy, popularPolicy, Recommender } from "@rnnrl/rnnrl";
 * const env = new Recommender();
 * const myopic = await evaluate(env, myopicPolicy(env), { episodes: 200, seed: 1 });
 * const popular = await evaluate(env, popularPolicy(env), { episodes: 200, seed: 1 });
 * if (!(myopic.meanReturn > popular.meanReturn)) throw new Error("knowing the user helps");
 * ```
 */
export function myopicPolicy(env: Recommender): Policy<undefined> {
  return {
    initialState: () => undefined,
    disposeState: () => {},
    act(): Promise<PolicyStep<undefined>> {
      const p = env.clickProbabilities();
      let best = 0;
      for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
      return Promise.resolve({ action: best, state: undefined });
    },
  };
}
