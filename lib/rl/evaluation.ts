/**
 * Greedy evaluation of any policy — a trained agent, an ONNX session or a baseline — over whole
 * episodes, giving the object `eval.json` holds and, optionally, a recording of one episode for
 * the report's replay.
 *
 * The environment is reset with the seed once, before the first episode, and then consumes its
 * RNG in a way that does not depend on the actions; so the same seed sees the same episodes,
 * whatever runs the policy.
 *
 * @module
 */

import {
  createEnv,
  type CreateEnvOptions,
  type EnvName,
  randomPolicy,
  solverPolicy,
} from "../envs/baselines.ts";
import { CartPole } from "../envs/cartpole.ts";
import type { Env } from "../envs/env.ts";
import { Minesweeper } from "../envs/minesweeper.ts";
import type { CartPoleReplay, MinesweeperReplay, Replay } from "../report/run_data.ts";

/** Something that acts on observations: synchronously (baselines) or not (networks). */
export interface EvaluationPolicy {
  /** Called before the first action of every episode (to clear recurrent state, say). */
  reset?(): void | Promise<void>;
  /** The action to take on `observation`; `mask` is the environment's action mask, if it has one. */
  act(observation: Float32Array, mask?: Uint8Array): number | Promise<number>;
  /** Called once after the last episode (to release recurrent state, say). */
  close?(): void;
}

/** Options of {@linkcode evaluatePolicy}. */
export interface EvaluationOptions {
  /** The number of episodes (default 100). */
  episodes?: number;
  /** Seeds the environment once, before the first episode (default 0). */
  seed?: number;
  /** A safety cap on the length of an episode (default 100 000 steps). */
  maxEpisodeSteps?: number;
  /** Record the first episode for a replay, where the environment can be drawn (default false). */
  record?: boolean;
}

/** The result of {@linkcode evaluatePolicy}: the object `eval.json` holds. */
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
  /** Each episode's length, in order. */
  lengths: number[];
  /** The fraction of episodes won, for games whose step info has a boolean `won`. */
  winRate?: number;
}

/**
 * Plays `episodes` greedy episodes of `env` with `policy` and summarises the returns.
 *
 * @example
 * ```ts
 * import { CartPole, evaluatePolicy } from "@rnnrl/rnnrl";
 * const env = new CartPole();
 * const { result } = await evaluatePolicy(env, { act: (o) => (o[2] > 0 ? 1 : 0) }, {
 *   episodes: 5,
 *   seed: 0,
 * });
 * if (result.returns.length !== 5) throw new Error("five episodes");
 * ```
 */
export async function evaluatePolicy(
  env: Env<unknown>,
  policy: EvaluationPolicy,
  options: EvaluationOptions = {},
): Promise<{ result: EvaluationResult; replay?: Replay }> {
  const episodes = options.episodes ?? 100;
  const seed = options.seed ?? 0;
  const cap = options.maxEpisodeSteps ?? 100_000;
  if (!(Number.isInteger(episodes) && episodes >= 1)) {
    throw new RangeError(`Cannot evaluate: episodes is ${episodes}, expected a positive integer`);
  }
  const returns: number[] = [], lengths: number[] = [];
  let games = 0, wins = 0;
  let replay: Replay | undefined;
  for (let e = 0; e < episodes; e++) {
    let { observation } = env.reset(e === 0 ? { seed } : {});
    await policy.reset?.();
    const recorder = options.record && e === 0 ? startRecording(env) : undefined;
    let total = 0, length = 0;
    for (;;) {
      const action = await policy.act(observation, env.actionMask?.());
      const step = env.step(action);
      recorder?.afterStep(action);
      total += step.reward;
      length++;
      observation = step.observation;
      if (step.terminated || step.truncated || length >= cap) {
        const won = (step.info as { won?: unknown } | null)?.won;
        if (typeof won === "boolean") {
          games++;
          if (won) wins++;
        }
        if (recorder) replay = recorder.finish(total, seed, won === true);
        break;
      }
    }
    returns.push(total);
    lengths.push(length);
  }
  policy.close?.();
  const mean = returns.reduce((a, b) => a + b, 0) / episodes;
  const variance = returns.reduce((a, r) => a + (r - mean) * (r - mean), 0) / episodes;
  const result: EvaluationResult = {
    episodes,
    meanReturn: mean,
    stdReturn: Math.sqrt(variance),
    seed,
    returns,
    lengths,
  };
  if (games === episodes) result.winRate = wins / episodes;
  return { result, replay };
}

interface Recorder {
  afterStep(action: number): void;
  finish(total: number, seed: number, won: boolean): Replay;
}

/** Starts recording an episode of an environment the report can draw, else returns undefined. */
function startRecording(env: Env<unknown>): Recorder | undefined {
  if (env instanceof CartPole) {
    const frames: CartPoleReplay["frames"] = [[...env.state]];
    return {
      afterStep: () => frames.push([...env.state]),
      finish: (total, seed) => ({ env: "cartpole", frames, return: total, seed }),
    };
  }
  if (env instanceof Minesweeper) {
    const frames: MinesweeperReplay["frames"] = [{ board: [...env.visible], action: null }];
    return {
      afterStep: (action) => {
        const board = [...env.visible];
        // A clicked mine is not "visible"; the replay shows it as 9.
        if (env.mineLayout()?.[action] === 1) board[action] = 9;
        frames.push({ board, action });
      },
      finish: (total, seed, won) => ({
        env: "minesweeper",
        width: env.width,
        height: env.height,
        frames,
        won,
        return: total,
        seed,
      }),
    };
  }
  return undefined;
}

/** The built-in baseline agents. */
export type BaselineAgent = "random" | "solver";

/** Options of {@linkcode runBaseline}. */
export interface BaselineOptions extends CreateEnvOptions {
  /** The environment. */
  env: EnvName;
  /** The agent: "random" (any environment) or "solver" (minesweeper only). */
  agent: BaselineAgent;
  /** The number of episodes (default 100). */
  episodes?: number;
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
 * const result = await runBaseline({ env: "minesweeper", agent: "solver", episodes: 50, seed: 1 });
 * if (!(result.winRate! > 0.5)) throw new Error("the solver wins most Beginner games");
 * ```
 */
export async function runBaseline(options: BaselineOptions): Promise<EvaluationResult> {
  const seed = options.seed ?? 0;
  const env = createEnv(options.env, { ...options, seed });
  let policy: EvaluationPolicy;
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
    throw new RangeError(`Cannot run baseline "${options.agent}": expected "random" or "solver"`);
  }
  return (await evaluatePolicy(env, policy, { episodes: options.episodes, seed })).result;
}
