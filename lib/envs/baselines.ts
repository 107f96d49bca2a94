/**
 * Environments by name, built-in baseline policies (random, and the Minesweeper solver), and the
 * evaluation loop behind `deno task eval`.
 *
 * @module
 */

import { Rng } from "../io/rng.ts";
import { Bandit } from "./bandit.ts";
import { CartPole } from "./cartpole.ts";
import type { Env } from "./env.ts";
import { Minesweeper, MinesweeperMemory, type MinesweeperMemoryDifficulty } from "./minesweeper.ts";
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
      });
    case "minesweeper-memory":
      return new MinesweeperMemory({
        seed,
        difficulty: options.difficulty,
        width: options.width,
        height: options.height,
        mines: options.mines,
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
 * import { evaluate, Minesweeper, solverPolicy } from "@rnnrl/rnnrl";
 * const env = new Minesweeper();
 * const result = evaluate(env, solverPolicy(env), { episodes: 20, seed: 1 });
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

/** Options of {@linkcode evaluate}. */
export interface EvaluateOptions {
  /** The number of episodes (default 100). */
  episodes?: number;
  /** Seeds the environment once, before the first episode (default 0). */
  seed?: number;
}

/** The result of {@linkcode evaluate}: the object `eval.json` holds. */
export interface EvaluationResult {
  /** The number of episodes. */
  episodes: number;
  /** The mean undiscounted return. */
  meanReturn: number;
  /** The population standard deviation of the returns. */
  stdReturn: number;
  /** The seed the environment was reset with. */
  seed: number;
  /** Each episode's undiscounted return, in order. */
  returns: number[];
  /** The fraction of episodes won, for games whose info has a boolean `won`. */
  winRate?: number;
}

/**
 * Plays `episodes` episodes of `env` with `policy` and summarises the returns. The environment is
 * reset with `{ seed }` once, before the first episode; since every environment here consumes its
 * RNG in a way that does not depend on the actions, the same seed gives the same episodes whatever
 * the policy (Minesweeper's layout also depends on the first click, which it must avoid).
 *
 * @example
 * ```ts
 * import { CartPole, evaluate } from "@rnnrl/rnnrl";
 * const env = new CartPole();
 * const result = evaluate(env, { act: (o) => (o[2] > 0 ? 1 : 0) }, { episodes: 5, seed: 0 });
 * if (result.returns.length !== 5 || result.meanReturn < 1) throw new Error("five episodes");
 * ```
 */
export function evaluate(
  env: Env<unknown>,
  policy: Policy,
  options: EvaluateOptions = {},
): EvaluationResult {
  const episodes = options.episodes ?? 100;
  const seed = options.seed ?? 0;
  if (!(Number.isInteger(episodes) && episodes >= 1)) {
    throw new RangeError(`Cannot evaluate: episodes is ${episodes}, expected a positive integer`);
  }
  const returns: number[] = [];
  let games = 0;
  let wins = 0;
  for (let e = 0; e < episodes; e++) {
    let { observation } = env.reset(e === 0 ? { seed } : {});
    policy.reset?.();
    let total = 0;
    for (;;) {
      const step = env.step(policy.act(observation));
      total += step.reward;
      observation = step.observation;
      if (step.terminated || step.truncated) {
        const won = (step.info as { won?: unknown } | null)?.won;
        if (typeof won === "boolean") {
          games++;
          if (won) wins++;
        }
        break;
      }
    }
    returns.push(total);
  }
  const mean = returns.reduce((a, b) => a + b, 0) / episodes;
  const variance = returns.reduce((a, r) => a + (r - mean) * (r - mean), 0) / episodes;
  const result: EvaluationResult = {
    episodes,
    meanReturn: mean,
    stdReturn: Math.sqrt(variance),
    seed,
    returns,
  };
  if (games === episodes) result.winRate = wins / episodes;
  return result;
}

/** The built-in baseline agents. */
export type BaselineAgent = "random" | "solver";

/** Options of {@linkcode runBaseline}. */
export interface BaselineOptions extends CreateEnvOptions, EvaluateOptions {
  /** The environment. */
  env: EnvName;
  /** The agent: "random" (any environment) or "solver" (minesweeper only). */
  agent: BaselineAgent;
}

/** The seed of a baseline policy's RNG, apart from the environment's stream. */
function policySeed(seed: number): number {
  return (seed ^ 0x5bd1e995) >>> 0;
}

/**
 * Evaluates a built-in baseline: what `deno task eval --env NAME --agent random|solver` prints.
 *
 * @example
 * ```ts
 * import { runBaseline } from "@rnnrl/rnnrl";
 * const result = runBaseline({ env: "minesweeper", agent: "solver", episodes: 50, seed: 1 });
 * if (!(result.winRate! > 0.5)) throw new Error("the solver wins most Beginner games");
 * ```
 */
export function runBaseline(options: BaselineOptions): EvaluationResult {
  const seed = options.seed ?? 0;
  const env = createEnv(options.env, { ...options, seed });
  let policy: Policy;
  if (options.agent === "random") {
    policy = randomPolicy(env, { seed: policySeed(seed) });
  } else if (options.agent === "solver") {
    if (!(env instanceof Minesweeper)) {
      throw new RangeError(
        `Cannot run the solver on "${options.env}": it plays "minesweeper" only`,
      );
    }
    policy = solverPolicy(env, { seed: policySeed(seed) });
  } else {
    throw new RangeError(
      `Cannot run baseline "${options.agent}": expected "random" or "solver"`,
    );
  }
  return evaluate(env, policy, { episodes: options.episodes, seed });
}
