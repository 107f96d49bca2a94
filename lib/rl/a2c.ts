/**
 * A2C, the synchronous advantage actor-critic (Mnih et al., 2016), with LSTM actor and critic
 * over N environment copies and generalized advantage estimation (Schulman et al., 2016): rollouts
 * of `rolloutSteps` steps per copy, GAE(λ) advantages bootstrapped from the critic at the
 * rollout's end and wherever an episode was truncated (never where it terminated), an entropy
 * bonus, a weighted value loss, global gradient clipping and Adam (or RMSprop). The loop is the
 * on-policy chassis's ({@linkcode OnPolicyAgent}); this file is the options and when a rollout
 * ends.
 *
 * @example
 * ```ts
 * import { A2C, CartPole } from "@rnnrl/rnnrl";
 * const env = new CartPole({ maskVelocity: true });
 * const agent = new A2C(env, { envs: 4, rolloutSteps: 8, cellUnits: 16, hiddenSizes: [], seed: 1 });
 * await agent.learn(env, { steps: 256 });
 * const { meanReturn } = await agent.evaluate(env, { episodes: 2, seed: 7 });
 * if (!(meanReturn >= 8)) throw new Error("CartPole episodes last at least 8 steps");
 * ```
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import type { EnvCore, EnvSpec } from "../envs/env.ts";
import { inRange, positiveInteger, resolveOptions } from "./_options.ts";
import {
  checkOnPolicyOptions,
  ON_POLICY_DEFAULTS,
  OnPolicyAgent,
  type OnPolicyOptions,
  type OnPolicyStats,
} from "./on_policy.ts";

/** Options of {@linkcode A2C}. */
export interface A2cOptions extends OnPolicyOptions {
  /** The number of environment copies N stepped together. */
  envs: number;
  /** Steps per copy in a rollout (n): an update every n·N environment steps. */
  rolloutSteps: number;
  /** The λ of generalized advantage estimation (1: n-step returns, 0: one-step TD). */
  gaeLambda: number;
}

/**
 * A2C's defaults: 8 copies, 16-step rollouts, GAE with λ = 0.98, Adam, standardised
 * observations and advantages, LSTMs of 64 units, each followed by a 64-unit ReLU layer.
 */
export const A2C_DEFAULTS: Readonly<A2cOptions> = Object.freeze({
  ...ON_POLICY_DEFAULTS,
  envs: 8,
  rolloutSteps: 16,
  gaeLambda: 0.98,
});

/**
 * Resolves A2C options against {@linkcode A2C_DEFAULTS} and checks every field.
 *
 * @throws {TypeError} For an option A2C does not have (naming the nearest one) or a wrong type.
 * @throws {RangeError} For a value out of range.
 */
export function resolveA2cOptions(options: Partial<A2cOptions> = {}): A2cOptions {
  const o = resolveOptions("A2C", A2C_DEFAULTS, options);
  checkOnPolicyOptions(o);
  positiveInteger(o.envs, "envs");
  positiveInteger(o.rolloutSteps, "rolloutSteps");
  inRange(o.gaeLambda, 0, 1, "gaeLambda");
  return o;
}

/**
 * A2C over `envs` copies of an environment.
 *
 * @example
 * ```ts
 * import { A2C } from "@rnnrl/rnnrl";
 * const agent = new A2C({ observationSize: 2, actionCount: 2 }, { cellUnits: 8, seed: 3 });
 * let state = agent.initialState();
 * const step = await agent.act(Float32Array.of(0, 0.01), state);
 * state = step.state;
 * agent.disposeState(state);
 * if (step.action !== 0 && step.action !== 1) throw new Error("one of two actions");
 * ```
 */
export class A2C extends OnPolicyAgent<A2cOptions> {
  /** The defaults, which fill in options that a state saved before they existed lacks. */
  protected override optionDefaults(): object {
    return A2C_DEFAULTS;
  }

  /** Builds the networks for an environment's sizes. */
  constructor(
    env: EnvSpec | EnvCore<unknown>,
    options: Partial<A2cOptions> = {},
    backend?: Backend,
  ) {
    const o = resolveA2cOptions(options);
    super("a2c", "A2C", env, o, o.envs, backend);
  }

  /** A rollout is `rolloutSteps` vector steps. */
  protected rolloutComplete(): boolean {
    return this.rollout.steps >= this.options.rolloutSteps;
  }

  /** The advantage actor-critic update with GAE(λ). */
  protected update(read: boolean): Promise<OnPolicyStats | null> {
    return this.actorCriticUpdate(this.options.gaeLambda, read);
  }
}
