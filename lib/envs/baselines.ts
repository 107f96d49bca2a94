/**
 * Environments by name, and the built-in baseline policies: random, and the Minesweeper solver.
 * `lib/rl/evaluation.ts` evaluates them (and trained agents) for `deno task eval`.
 *
 * @module
 */

import { Rng } from "../io/rng.ts";
import { Bandit } from "./bandit.ts";
import { CartPole } from "./cartpole.ts";
import type { Env } from "./env.ts";
import {
  Minesweeper,
  MinesweeperMemory,
  type MinesweeperMemoryDifficulty,
  type MinesweeperRewards,
} from "./minesweeper.ts";
import { MinesweeperSolver } from "./minesweeper_solver.ts";
import { Pendulum } from "./pendulum.ts";
import { DiscreteActions } from "./wrappers.ts";

/** The environments {@linkcode createEnv} knows, as the command line names them. */
export const ENV_NAMES: readonly EnvName[] = [
  "cartpole",
  "cartpole-masked",
  "bandit",
  "minesweeper",
  "minesweeper-memory",
  "pendulum",
];

/** The name of an environment {@linkcode createEnv} can build. */
export type EnvName =
  | "cartpole"
  | "cartpole-masked"
  | "bandit"
  | "minesweeper"
  | "minesweeper-memory"
  | "pendulum";

/** Options of {@linkcode createEnv}; each applies only where it makes sense. */
export interface CreateEnvOptions {
  /** The environment's RNG seed (default 0). */
  seed?: number;
  /** Minesweeper columns (default 9; minesweeper-memory: the difficulty's). */
  width?: number;
  /** Minesweeper rows (default 9; minesweeper-memory: the difficulty's). */
  height?: number;
  /** Minesweeper mines (default 10; minesweeper-memory: the difficulty's). */
  mines?: number;
  /** The minesweeper-memory preset (default "easy"). */
  difficulty?: MinesweeperMemoryDifficulty;
  /** minesweeper-memory: append a one-hot of the clicked cell to the observation (default false). */
  observeAction?: boolean;
  /** minesweeper: overrides of the default rewards. */
  rewards?: Partial<MinesweeperRewards>;
  /** The number of discrete torques for pendulum (default 5: −2, −1, 0, 1, 2). */
  pendulumActions?: number;
}

/**
 * Builds an environment by name: "cartpole", "cartpole-masked" (velocities hidden), "bandit" (the
 * 10-armed testbed), "minesweeper", "minesweeper-memory" and "pendulum" (with
 * {@linkcode DiscreteActions}).
 *
 * @example
 * ```ts
 * import { createEnv } from "@rnnrl/rnnrl";
 * const env = createEnv("cartpole-masked", { seed: 1 });
 * if (env.observationSize !== 2) throw new Error("x and theta only");
 * ```
 */
export function createEnv(name: EnvName, options: CreateEnvOptions = {}): Env {
  const { seed } = options;
  switch (name) {
    case "cartpole":
      return new CartPole({ seed });
    case "cartpole-masked":
      return new CartPole({ seed, maskVelocity: true });
    case "bandit":
      return new Bandit({ seed });
    case "minesweeper":
      return new Minesweeper({
        seed,
        width: options.width,
        height: options.height,
        mines: options.mines,
        rewards: options.rewards,
      });
    case "minesweeper-memory":
      return new MinesweeperMemory({
        seed,
        difficulty: options.difficulty,
        width: options.width,
        height: options.height,
        mines: options.mines,
        observeAction: options.observeAction,
      });
    case "pendulum":
      return new DiscreteActions(new Pendulum({ seed }), { count: options.pendulumActions ?? 5 });
    default:
      throw new RangeError(
        `Cannot create environment "${name}": expected one of ${ENV_NAMES.join(", ")}`,
      );
  }
}

/** Something that picks actions from observations, such as a trained agent or a baseline. */
export interface Policy {
  /** Called before the first action of every episode (to clear recurrent state, say). */
  reset?(): void;
  /** The action to take on `observation`. */
  act(observation: Float32Array): number;
}

/** Options of the baseline policies. */
export interface BaselinePolicyOptions {
  /** The seed of the policy's own RNG (default 0). */
  seed?: number;
}

/**
 * A policy that acts uniformly at random among the valid actions (all actions, or those the
 * environment's action mask allows).
 *
 * @example
 * ```ts
 * import { Minesweeper, randomPolicy } from "@rnnrl/rnnrl";
 * const env = new Minesweeper();
 * const policy = randomPolicy(env, { seed: 1 });
 * env.reset({ seed: 1 });
 * const cell = policy.act(env.observe());
 * if (env.actionMask()[cell] !== 1) throw new Error("a valid cell");
 * ```
 */
export function randomPolicy(env: Env<unknown>, options: BaselinePolicyOptions = {}): Policy {
  const rng = new Rng(options.seed ?? 0);
  return {
    act(): number {
      if (!env.actionMask) return rng.int(env.actionCount);
      const mask = env.actionMask();
      let valid = 0;
      for (let i = 0; i < mask.length; i++) valid += mask[i];
      if (valid === 0) throw new RangeError("Cannot act: the action mask allows no action");
      let k = rng.int(valid);
      for (let i = 0; i < mask.length; i++) {
        if (mask[i] && k-- === 0) return i;
      }
      throw new Error("Cannot act: unreachable");
    },
  };
}

/**
 * A policy that plays {@linkcode Minesweeper} with {@linkcode MinesweeperSolver}, reading the
 * board the observation encodes from `env.visible`.
 *
 * @example
 * ```ts
 * import { evaluatePolicy, Minesweeper, solverPolicy } from "@rnnrl/rnnrl";
 * const env = new Minesweeper();
 * const { result } = await evaluatePolicy(env, solverPolicy(env), { episodes: 20, seed: 1 });
 * if (result.winRate === undefined) throw new Error("Minesweeper reports a win rate");
 * ```
 */
export function solverPolicy(env: Minesweeper, options: BaselinePolicyOptions = {}): Policy {
  const solver = new MinesweeperSolver({
    width: env.width,
    height: env.height,
    mines: env.mines,
    seed: options.seed,
  });
  return {
    reset: () => solver.reset(),
    act: () => solver.act(env.visible),
  };
}
