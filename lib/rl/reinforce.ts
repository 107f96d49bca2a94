/**
 * REINFORCE (Williams, 1992) with an LSTM policy and a learned value baseline (an LSTM critic):
 * after every `episodesPerUpdate` whole episodes, the policy follows `∇log π(a_t|s_t)·(G_t − V(s_t))`
 * with the returns-to-go G_t (bootstrapped from V only where the time limit cut an episode short),
 * and the critic regresses on G_t. The episodes of a batch are one sequence whose recurrent state
 * is reset at each episode's start. The loop is the on-policy chassis's
 * ({@linkcode OnPolicyAgent}) with one copy; the update is A2C's with λ = 1, so its advantages are
 * the Monte Carlo returns-to-go minus the baseline.
 *
 * @example
 * ```ts
 * import { CartPole, REINFORCE } from "@rnnrl/rnnrl";
 * const env = new CartPole();
 * const agent = new REINFORCE(env, { cellUnits: 8, seed: 1 });
 * await agent.learn(env, { steps: 100 });
 * if (agent.steps !== 100) throw new Error("one copy, one step at a time");
 * ```
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import type { EnvCore, EnvSpec } from "../envs/env.ts";
import { positiveInteger, resolveOptions } from "./_options.ts";
import {
  checkOnPolicyOptions,
  ON_POLICY_DEFAULTS,
  OnPolicyAgent,
  type OnPolicyOptions,
  type OnPolicyStats,
} from "./on_policy.ts";

/** Options of {@linkcode REINFORCE}. */
export interface ReinforceOptions extends OnPolicyOptions {
  /** Whole episodes per update. */
  episodesPerUpdate: number;
}

/** REINFORCE's defaults: one episode per update, gradients clipped at 1, otherwise as A2C's. */
export const REINFORCE_DEFAULTS: Readonly<ReinforceOptions> = Object.freeze({
  ...ON_POLICY_DEFAULTS,
  maxGradNorm: 1,
  episodesPerUpdate: 1,
});

/**
 * Resolves REINFORCE options against {@linkcode REINFORCE_DEFAULTS} and checks every field.
 *
 * @throws {TypeError} For an option REINFORCE does not have (naming the nearest one).
 * @throws {RangeError} For a value out of range.
 */
export function resolveReinforceOptions(
  options: Partial<ReinforceOptions> = {},
): ReinforceOptions {
  const o = resolveOptions("REINFORCE", REINFORCE_DEFAULTS, options);
  checkOnPolicyOptions(o);
  positiveInteger(o.episodesPerUpdate, "episodesPerUpdate");
  return o;
}

/**
 * REINFORCE with a learned baseline, on one environment.
 *
 * @example
 * ```ts
 * import { REINFORCE } from "@rnnrl/rnnrl";
 * const agent = new REINFORCE({ observationSize: 4, actionCount: 2 }, { cellUnits: 8, seed: 1 });
 * const { action, state } = await agent.act(Float32Array.of(0, 0, 0.01, 0), agent.initialState());
 * agent.disposeState(state);
 * if (action !== 0 && action !== 1) throw new Error("one of two actions");
 * ```
 */
export class REINFORCE extends OnPolicyAgent<ReinforceOptions> {
  /** The defaults, which fill in options that a state saved before they existed lacks. */
  protected override optionDefaults(): object {
    return REINFORCE_DEFAULTS;
  }

  /** Builds the networks for an environment's sizes. */
  constructor(
    env: EnvSpec | EnvCore<unknown>,
    options: Partial<ReinforceOptions> = {},
    backend?: Backend,
  ) {
    super("reinforce", "REINFORCE", env, resolveReinforceOptions(options), 1, backend);
  }

  /** A rollout is `episodesPerUpdate` whole episodes: it ends where the last one did. */
  protected rolloutComplete(): boolean {
    return this.rolloutEpisodes >= this.options.episodesPerUpdate &&
      this.episodeStarts.every((m) => m === 0);
  }

  /** The actor-critic update with λ = 1: Monte Carlo returns minus the baseline. */
  protected update(read: boolean): Promise<OnPolicyStats | null> {
    return this.actorCriticUpdate(1, read);
  }
}
