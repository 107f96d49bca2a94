/**
 * What `learn` accepts as its environment: one environment, the N copies an agent steps, or a
 * {@linkcode VectorEnv} of them; and the one way copies are made.
 *
 * @module
 */

import type { EnvCore, EnvSpec } from "../envs/env.ts";
import { VectorEnv } from "../envs/vector.ts";

/** One environment, an array of copies, or a vector environment. */
export type TrainingEnv = EnvCore<unknown> | readonly EnvCore<unknown>[] | VectorEnv<unknown>;

/** The environments given, as an array (null for a single environment). */
export function givenCopies(input: TrainingEnv): EnvCore<unknown>[] | null {
  if (input instanceof VectorEnv) return [...input.envs];
  if (Array.isArray(input)) return [...(input as readonly EnvCore<unknown>[])];
  return null;
}

/**
 * The single environment of an agent that steps one: `input` itself, or the only element of an
 * array or vector environment of one.
 *
 * @throws {TypeError} For several environments.
 */
export function singleEnv(input: TrainingEnv, agent: string): EnvCore<unknown> {
  const copies = givenCopies(input);
  if (copies === null) return input as EnvCore<unknown>;
  if (copies.length !== 1) {
    throw new TypeError(
      `Cannot learn on ${copies.length} environments: ${agent} steps one environment`,
    );
  }
  return copies[0];
}

/**
 * A fresh copy of an environment with the same settings, through its `clone()` (its RNG is
 * reseeded by whoever resets it).
 *
 * @throws {TypeError} When the environment cannot be copied; pass the copies to `learn` instead.
 */
export function copyEnv(env: EnvCore<unknown>): EnvCore<unknown> {
  if (typeof env.clone === "function") return env.clone();
  throw new TypeError(
    `Cannot copy environment "${env.id}": it has no clone() method; pass an array of environments to learn()`,
  );
}

/**
 * Checks that an environment's action is discrete, for agents that choose among actions.
 *
 * @param kind The agent's command-line name ("dqn").
 * @throws {RangeError} For a continuous action.
 */
export function requireDiscrete(spec: EnvSpec, kind: string): void {
  if (spec.actionBounds) {
    throw new RangeError(
      `Cannot train ${kind} on ${spec.id ?? "this environment"}: its action is continuous, and ` +
        `${kind} chooses among discrete actions`,
    );
  }
}
