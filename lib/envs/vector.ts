/**
 * Vector environments: N copies of an {@linkcode Env} stepped together, with autoreset.
 *
 * @module
 */

import type { Env, ResetOptions } from "./env.ts";

/** What {@linkcode VectorEnv.reset} returns. */
export interface VectorResetResult<Info> {
  /** `[count, observationSize]`, row i from env i. */
  observations: Float32Array;
  /** Each env's reset info. */
  infos: Info[];
}

/** What {@linkcode VectorEnv.step} returns (fresh arrays each step). */
export interface VectorStepResult<Info> {
  /** `[count, observationSize]`: after autoreset, so row i starts a new episode where one ended. */
  observations: Float32Array;
  /** `[count]`: the rewards of the step. */
  rewards: Float64Array;
  /** `[count]`: 1 where the episode terminated on this step. */
  terminated: Uint8Array;
  /** `[count]`: 1 where the episode was truncated on this step. */
  truncated: Uint8Array;
  /** The info of row i's observation: the step's, or the new episode's reset info. */
  infos: Info[];
  /** Where an episode ended on this step, the observation it ended on; elsewhere null. */
  finalObservations: (Float32Array | null)[];
  /** Where an episode ended on this step, the step's info; elsewhere null. */
  finalInfos: (Info | null)[];
}

/**
 * Steps N environments in lockstep with "same-step" autoreset: when env i terminates or is
 * truncated, `terminated[i]`/`truncated[i]` say so, `rewards[i]` is the final reward, the
 * observation and info it ended on go to `finalObservations[i]` and `finalInfos[i]`, and env i is
 * reset at once, so `observations` row i and `infos[i]` are the first of its next episode. Every
 * action therefore applies to a live episode and no step is wasted on resets.
 *
 * `reset({ seed })` seeds env i with `seed + i`; without a seed each env continues its own RNG
 * (autoresets never reseed).
 *
 * @example
 * ```ts
 * import { CartPole, VectorEnv } from "@rnnrl/rnnrl";
 * const envs = new VectorEnv([0, 1, 2, 3].map(() => new CartPole()));
 * envs.reset({ seed: 42 });
 * let episodes = 0;
 * for (let t = 0; t < 200; t++) {
 *   const step = envs.step([1, 1, 1, 1]);
 *   step.finalObservations.forEach((final) => episodes += final ? 1 : 0);
 * }
 * if (episodes < 4) throw new Error("every env has finished an episode and kept going");
 * ```
 */
export class VectorEnv<Info = Record<string, unknown>> {
  /** The environments. */
  readonly envs: readonly Env<Info>[];
  /** The number of environments. */
  readonly count: number;
  /** The environments' shared observation size. */
  readonly observationSize: number;
  /** The environments' shared action count. */
  readonly actionCount: number;

  #started = false;

  /** Wraps environments that share their observation size and action count. */
  constructor(envs: Env<Info>[]) {
    if (envs.length === 0) {
      throw new RangeError("Cannot create VectorEnv: expected at least one environment");
    }
    const { observationSize, actionCount } = envs[0];
    for (const env of envs) {
      if (env.observationSize !== observationSize || env.actionCount !== actionCount) {
        throw new RangeError(
          `Cannot create VectorEnv: environments differ in observation size or action count ` +
            `(${env.observationSize}/${env.actionCount} vs ${observationSize}/${actionCount})`,
        );
      }
    }
    this.envs = [...envs];
    this.count = envs.length;
    this.observationSize = observationSize;
    this.actionCount = actionCount;
  }

  /** Resets every environment (env i with `seed + i` when a seed is given). */
  reset(options: ResetOptions = {}): VectorResetResult<Info> {
    const observations = new Float32Array(this.count * this.observationSize);
    const infos = this.envs.map((env, i) => {
      const seed = options.seed === undefined ? undefined : (options.seed + i) >>> 0;
      const { observation, info } = env.reset(seed === undefined ? {} : { seed });
      observations.set(observation, i * this.observationSize);
      return info;
    });
    this.#started = true;
    return { observations, infos };
  }

  /**
   * Steps env i with `actions[i]` and autoresets those whose episode ended. Actions out of range
   * are a RangeError before any env steps; an env that rejects its action for a reason of its
   * own (a revealed Minesweeper cell) throws after the envs before it have stepped.
   */
  step(actions: ArrayLike<number>): VectorStepResult<Info> {
    if (!this.#started) throw new Error("Cannot step VectorEnv: call reset() first");
    if (actions.length !== this.count) {
      throw new RangeError(
        `Cannot step VectorEnv: got ${actions.length} actions for ${this.count} environments`,
      );
    }
    const n = this.count;
    for (let i = 0; i < n; i++) {
      const a = actions[i];
      if (!(Number.isInteger(a) && a >= 0 && a < this.actionCount)) {
        throw new RangeError(
          `Cannot step VectorEnv: action ${i} is ${a}, expected an integer in 0..${
            this.actionCount - 1
          }`,
        );
      }
    }
    const size = this.observationSize;
    const result: VectorStepResult<Info> = {
      observations: new Float32Array(n * size),
      rewards: new Float64Array(n),
      terminated: new Uint8Array(n),
      truncated: new Uint8Array(n),
      infos: new Array(n),
      finalObservations: new Array(n).fill(null),
      finalInfos: new Array(n).fill(null),
    };
    for (let i = 0; i < n; i++) {
      const env = this.envs[i];
      const step = env.step(actions[i]);
      result.rewards[i] = step.reward;
      result.terminated[i] = step.terminated ? 1 : 0;
      result.truncated[i] = step.truncated ? 1 : 0;
      if (step.terminated || step.truncated) {
        result.finalObservations[i] = step.observation;
        result.finalInfos[i] = step.info;
        const next = env.reset();
        result.observations.set(next.observation, i * size);
        result.infos[i] = next.info;
      } else {
        result.observations.set(step.observation, i * size);
        result.infos[i] = step.info;
      }
    }
    return result;
  }

  /** `[count, actionCount]` action masks (all ones for an env without masks). */
  actionMasks(): Uint8Array {
    const masks = new Uint8Array(this.count * this.actionCount).fill(1);
    this.envs.forEach((env, i) => {
      if (env.actionMask) masks.set(env.actionMask(), i * this.actionCount);
    });
    return masks;
  }
}
