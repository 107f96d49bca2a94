/**
 * The environment contract: Gymnasium-style `reset` and `step` with named results, discrete
 * actions, and float32 observations. Each environment owns one seeded RNG, seeded once.
 *
 * Beyond `reset` and `step`, an environment may declare optional capabilities, and generic code
 * (agents, the evaluator, the trainer) uses them where they exist, never by testing for a
 * concrete class:
 *
 * - **action masks** (`actionMask`): which actions are valid now; every discrete agent acts only
 *   among them.
 * - **copies** (`clone`): a new environment with the same settings, for vector training.
 * - **snapshots** (`getState` / `setState`): the whole state, RNG included, as JSON; a resumed
 *   training run then continues the very episode it was saved in.
 * - **replay frames** (`frame`): a picture of the present moment, for the report's replay.
 *
 * Games with a win or a loss say which in the info of an episode's last step, as a boolean `won`
 * ({@linkcode WinInfo}); evaluation reports a win rate for them.
 *
 * @module
 */

import type { JsonValue } from "../io/json.ts";

/** What {@linkcode Env.reset} returns. */
export interface ResetResult<Info = unknown> {
  /** The first observation of the episode. */
  observation: Float32Array;
  /** Extra facts about the episode (environment-specific). */
  info: Info;
}

/** What {@linkcode Env.step} returns. */
export interface StepResult<Info = unknown> {
  /** The observation after the action. */
  observation: Float32Array;
  /** The reward for the transition. */
  reward: number;
  /** True when the episode reached a terminal state (no bootstrapping from it). */
  terminated: boolean;
  /** True when the episode was cut short, e.g. by a time limit (bootstrapping still applies). */
  truncated: boolean;
  /** Extra facts about the step (environment-specific). */
  info: Info;
}

/** Options of {@linkcode Env.reset}. */
export interface ResetOptions {
  /** Reseeds the environment's RNG before the reset (do this once, at the start). */
  seed?: number;
}

/** The info of games that can be won: `won` on an episode's last step says whether it was. */
export interface WinInfo {
  /** True when the episode ended in a win. */
  won: boolean;
}

/**
 * A picture of one moment of an episode, which the report's replay can draw: CartPole's state, or
 * a Minesweeper board (the visible counts, −1 for a hidden cell, 9 for a mine that was clicked).
 */
export type EnvFrame =
  | { kind: "cartpole"; state: [number, number, number, number] }
  | { kind: "minesweeper"; width: number; height: number; board: number[] };

/**
 * What every environment has, whatever its actions are: a flat float32 observation, `reset` and
 * `step` with a number, and the optional capabilities. The loops and the evaluator need no more.
 */
export interface EnvCore<Info = unknown> {
  /** A short identifier such as "cartpole". */
  readonly id: string;
  /** The length of every observation. */
  readonly observationSize: number;
  /** Starts a new episode. */
  reset(options?: ResetOptions): ResetResult<Info>;
  /** Applies an action; throws a RangeError for an invalid one. */
  step(action: number): StepResult<Info>;
  /** Copies: a new environment with the same settings and an RNG of its own (reseed it). */
  clone?(): EnvCore<Info>;
  /** Snapshots: everything that determines the rest of the run, RNG included, as JSON. */
  getState?(): JsonValue;
  /** Snapshots: restores a state from `getState`; throws a TypeError for anything else. */
  setState?(state: JsonValue): void;
  /** Replay frames: a picture of the present moment. */
  frame?(): EnvFrame;
}

/**
 * An environment with one continuous action in `[actionLow, actionHigh]` (Pendulum's torque),
 * for agents with a continuous policy; {@linkcode DiscreteActions} turns one into an
 * {@linkcode Env} for the others.
 */
export interface ContinuousEnv<Info = unknown> extends EnvCore<Info> {
  /** The smallest action. */
  readonly actionLow: number;
  /** The largest action. */
  readonly actionHigh: number;
  /** Copies: a new environment with the same settings and an RNG of its own (reseed it). */
  clone?(): ContinuousEnv<Info>;
}

/**
 * An environment with a discrete action space and a flat float32 observation, and optionally the
 * capabilities the module documentation lists.
 *
 * An environment written as a plain TypeScript interface or class fits every agent:
 *
 * @example
 * ```ts
 * import type { Env, StepResult } from "@rnnrl/rnnrl";
 * interface CoinInfo {
 *   heads: boolean;
 * }
 * class Coin implements Env<CoinInfo> {
 *   readonly id = "coin";
 *   readonly observationSize = 1;
 *   readonly actionCount = 2;
 *   reset() {
 *     return { observation: new Float32Array(1), info: { heads: true } };
 *   }
 *   step(action: number): StepResult<CoinInfo> {
 *     const heads = action === 0;
 *     const observation = new Float32Array(1);
 *     return { observation, reward: heads ? 1 : 0, terminated: true, truncated: false, info: { heads } };
 *   }
 * }
 * const env: Env<CoinInfo> = new Coin();
 * if (env.step(0).reward !== 1) throw new Error("heads pays");
 * ```
 */
export interface Env<Info = unknown> extends EnvCore<Info> {
  /** The number of discrete actions, numbered 0..actionCount − 1. */
  readonly actionCount: number;
  /** Action masks: which actions are valid now (1 valid, 0 invalid). */
  actionMask?(): Uint8Array;
  /** Copies: a new environment with the same settings and an RNG of its own (reseed it). */
  clone?(): Env<Info>;
}

/**
 * The sizes an agent's networks are built for; every {@linkcode Env} is one, and
 * {@linkcode specOf} gives that of any environment.
 */
export interface EnvSpec {
  /** The environment's identifier, where an agent depends on which one it is (tabular, bandit). */
  readonly id?: string;
  /** The length of every observation. */
  readonly observationSize: number;
  /** The number of discrete actions, or 1 (the dimension) for a continuous action. */
  readonly actionCount: number;
  /** `[low, high]` of a continuous action; absent for a discrete one. */
  readonly actionBounds?: readonly [number, number];
}

/** True when an environment's action is continuous. */
export function isContinuous(env: EnvCore<unknown>): env is ContinuousEnv<unknown> {
  const e = env as Partial<ContinuousEnv<unknown>> & Partial<Env<unknown>>;
  return typeof e.actionLow === "number" && typeof e.actionHigh === "number" &&
    e.actionCount === undefined;
}

/**
 * The spec of any environment: its observation size and either its action count or, for a
 * continuous action, its bounds. A spec is returned as it is.
 *
 * @example
 * ```ts
 * import { Pendulum, specOf } from "@rnnrl/rnnrl";
 * const spec = specOf(new Pendulum());
 * if (spec.actionBounds?.[1] !== 2 || spec.actionCount !== 1) throw new Error("one torque in [−2, 2]");
 * ```
 */
export function specOf(env: EnvCore<unknown> | EnvSpec): EnvSpec {
  if (!("reset" in env)) return env;
  if (isContinuous(env)) {
    return {
      id: env.id,
      observationSize: env.observationSize,
      actionCount: 1,
      actionBounds: [env.actionLow, env.actionHigh],
    };
  }
  const { id, observationSize, actionCount } = env as Env<unknown>;
  return { id, observationSize, actionCount };
}

/** True when an environment can save and restore its whole state. */
export function canSnapshot(
  env: EnvCore<unknown>,
): env is EnvCore<unknown> & Required<Pick<EnvCore<unknown>, "getState" | "setState">> {
  return typeof env.getState === "function" && typeof env.setState === "function";
}

/**
 * The won flag of a step's info, or undefined for a game without wins.
 *
 * @example
 * ```ts
 * import { wonOf } from "@rnnrl/rnnrl";
 * if (wonOf({ won: true }) !== true || wonOf({}) !== undefined) throw new Error("read");
 * ```
 */
export function wonOf(info: unknown): boolean | undefined {
  const won = (info as Partial<WinInfo> | null | undefined)?.won;
  return typeof won === "boolean" ? won : undefined;
}

/**
 * The regret an environment reports in the info of an episode's last step, where it knows the
 * best reward there was (a bandit: the best arm's pay minus the pull's), else undefined.
 *
 * @example
 * ```ts
 * import { regretOf } from "@rnnrl/rnnrl";
 * if (regretOf({ regret: 1 }) !== 1 || regretOf({}) !== undefined) throw new Error();
 * ```
 */
export function regretOf(info: unknown): number | undefined {
  const regret = (info as { regret?: unknown } | null | undefined)?.regret;
  return typeof regret === "number" && Number.isFinite(regret) ? regret : undefined;
}

/**
 * The environment's action mask now, checked against its action count, or undefined where it has
 * none. (After an episode's last step a mask may allow nothing; acting on one is an error.)
 *
 * @throws {TypeError} When the mask has the wrong length.
 */
export function actionMaskOf(env: EnvCore<unknown>): Uint8Array | undefined {
  const discrete = env as Partial<Env<unknown>>;
  if (typeof discrete.actionMask !== "function") return undefined;
  const mask = discrete.actionMask();
  if (mask.length !== discrete.actionCount) {
    throw new TypeError(
      `Cannot use the action mask of ${env.id}: it has ${mask.length} values for ${discrete.actionCount} actions`,
    );
  }
  return mask;
}
