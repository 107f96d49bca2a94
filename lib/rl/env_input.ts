/**
 * What `learn` accepts as its environment: one environment, the N copies an agent steps, or a
 * {@linkcode VectorEnv} of them; and the one way copies are made.
 *
 * @module
 */

import type { Env } from "../envs/env.ts";
import { VectorEnv } from "../envs/vector.ts";

/** One environment, an array of copies, or a vector environment. */
export type TrainingEnv = Env<unknown> | readonly Env<unknown>[] | VectorEnv<unknown>;

/** The environments given, as an array (null for a single environment). */
export function givenCopies(input: TrainingEnv): Env<unknown>[] | null {
  if (input instanceof VectorEnv) return [...input.envs];
  if (Array.isArray(input)) return [...(input as readonly Env<unknown>[])];
  return null;
}

/**
 * The single environment of an agent that steps one: `input` itself, or the only element of an
 * array or vector environment of one.
 *
 * @throws {TypeError} For several environments.
 */
export function singleEnv(input: TrainingEnv, agent: string): Env<unknown> {
  const copies = givenCopies(input);
  if (copies === null) return input as Env<unknown>;
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
export function copyEnv(env: Env<unknown>): Env<unknown> {
  if (typeof env.clone === "function") return env.clone();
  throw new TypeError(
    `Cannot copy environment "${env.id}": it has no clone() method; pass an array of environments to learn()`,
  );
}
