/**
 * The one evaluator: plays whole episodes of an environment with any {@linkcode Policy} — a trained
 * agent, an ONNX session, a baseline — and summarises them as the object `eval.json` holds.
 *
 * The environment is reset with the seed once, before the first episode, and then consumes its
 * RNG in a way that does not depend on the actions; so the same seed sees the same episodes,
 * whatever runs the policy. Every step passes the environment's action mask, and the recurrent
 * state is carried through each episode and released at its end.
 *
 * @module
 */

import { actionMaskOf, type EnvCore, type StepResult, wonOf } from "../envs/env.ts";
import { Rng } from "../io/rng.ts";
import type { Policy } from "./policy.ts";

/** Watches an evaluation, e.g. to record an episode for the report's replay. */
export interface EvaluationObserver {
  /** Called after each reset, with the episode's index from 0. */
  onReset?(episode: number, env: EnvCore<unknown>): void;
  /** Called after each step. */
  onStep?(
    episode: number,
    action: number,
    result: StepResult<unknown>,
    env: EnvCore<unknown>,
  ): void;
}

/** Options of {@linkcode evaluate}. */
export interface EvaluationOptions {
  /** The number of episodes (default 100). */
  episodes?: number;
  /** Seeds the environment once, before the first episode (default 0). */
  seed?: number;
  /** A safety cap on the length of an episode (default 100 000 steps). */
  maxEpisodeSteps?: number;
  /** Greedy actions (true, the default) or sampled ones, drawn from a generator seeded by `seed`. */
  deterministic?: boolean;
  /** Follows every reset and step. */
  observer?: EvaluationObserver;
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
  /** Each episode's length, in order. */
  lengths: number[];
  /** The fraction of episodes won, for games whose last step's info says `won`. */
  winRate?: number;
}

/** The seed of a sampled evaluation's action generator, apart from the environment's stream. */
function actionSeed(seed: number): number {
  return (seed ^ 0x2f6b3a1d) >>> 0;
}

/**
 * Plays `episodes` episodes of `env` with `policy` and summarises the returns.
 *
 * @example
 * ```ts
 * import { CartPole, evaluate } from "@rnnrl/rnnrl";
 * const leanPolicy = {
 *   initialState: () => undefined,
 *   act: (o: Float32Array) => Promise.resolve({ action: o[2] > 0 ? 1 : 0, state: undefined }),
 *   disposeState: () => {},
 * };
 * const result = await evaluate(new CartPole(), leanPolicy, { episodes: 5, seed: 0 });
 * if (result.returns.length !== 5) throw new Error("five episodes");
 * ```
 */
export async function evaluate<State>(
  env: EnvCore<unknown>,
  policy: Policy<State>,
  options: EvaluationOptions = {},
): Promise<EvaluationResult> {
  const episodes = options.episodes ?? 100;
  const seed = options.seed ?? 0;
  const cap = options.maxEpisodeSteps ?? 100_000;
  if (!(Number.isInteger(episodes) && episodes >= 1)) {
    throw new RangeError(`Cannot evaluate: episodes is ${episodes}, expected a positive integer`);
  }
  if (!(Number.isInteger(cap) && cap >= 1)) {
    throw new RangeError(`Cannot evaluate: maxEpisodeSteps is ${cap}, expected a positive integer`);
  }
  const deterministic = options.deterministic ?? true;
  const rng = deterministic ? undefined : new Rng(actionSeed(seed));
  const observer = options.observer;
  const returns: number[] = [], lengths: number[] = [];
  let games = 0, wins = 0;
  for (let e = 0; e < episodes; e++) {
    let { observation } = env.reset(e === 0 ? { seed } : {});
    observer?.onReset?.(e, env);
    let state = policy.initialState();
    let total = 0, length = 0;
    for (;;) {
      const step = await policy.act(observation, state, {
        mask: actionMaskOf(env),
        deterministic,
        rng,
      });
      state = step.state;
      const result = env.step(step.action);
      observer?.onStep?.(e, step.action, result, env);
      total += result.reward;
      length++;
      observation = result.observation;
      if (result.terminated || result.truncated || length >= cap) {
        const won = wonOf(result.info);
        if (won !== undefined) {
          games++;
          if (won) wins++;
        }
        break;
      }
    }
    policy.disposeState(state);
    returns.push(total);
    lengths.push(length);
  }
  return summarize(returns, lengths, seed, games === episodes ? wins / episodes : undefined);
}

/** Mean, standard deviation and the win rate (where the game has wins) of a set of episodes. */
export function summarize(
  returns: number[],
  lengths: number[],
  seed: number,
  winRate: number | undefined,
): EvaluationResult {
  const n = returns.length;
  const mean = returns.reduce((a, b) => a + b, 0) / n;
  const variance = returns.reduce((a, r) => a + (r - mean) * (r - mean), 0) / n;
  const result: EvaluationResult = {
    episodes: n,
    meanReturn: mean,
    stdReturn: Math.sqrt(variance),
    seed,
    returns,
    lengths,
  };
  if (winRate !== undefined) result.winRate = winRate;
  return result;
}
