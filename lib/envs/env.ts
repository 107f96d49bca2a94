/**
 * The environment contract: Gymnasium-style `reset` and `step` with named results, discrete
 * actions, and float32 observations. Each environment owns one seeded RNG, seeded once.
 *
 * @module
 */

/** What {@linkcode Env.reset} returns. */
export interface ResetResult<Info = Record<string, unknown>> {
  /** The first observation of the episode. */
  observation: Float32Array;
  /** Extra facts about the episode (environment-specific). */
  info: Info;
}

/** What {@linkcode Env.step} returns. */
export interface StepResult<Info = Record<string, unknown>> {
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

/** An environment with a discrete action space and a flat float32 observation. */
export interface Env<Info = Record<string, unknown>> {
  /** A short identifier such as "cartpole". */
  readonly id: string;
  /** The length of every observation. */
  readonly observationSize: number;
  /** The number of discrete actions, numbered 0..actionCount − 1. */
  readonly actionCount: number;
  /** Starts a new episode. */
  reset(options?: ResetOptions): ResetResult<Info>;
  /** Applies an action; throws a RangeError for an invalid one. */
  step(action: number): StepResult<Info>;
  /** Which actions are valid now (1 valid, 0 invalid), where the game restricts them. */
  actionMask?(): Uint8Array;
}
