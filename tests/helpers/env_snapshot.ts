/**
 * Checks shared by the environments' snapshot tests: a restored environment continues exactly
 * like the one it was saved from, and a malformed state is refused without a trace.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Env } from "../../lib/envs/env.ts";
import type { JsonValue } from "../../lib/io/json.ts";
import { Rng } from "../../lib/io/rng.ts";

/** An environment with snapshots. */
export type SnapshotEnv = Env & {
  getState(): JsonValue;
  setState(state: JsonValue): void;
};

/** Picks an action for an environment in the middle of an episode. */
export type TestPolicy = (env: Env, rng: Rng) => number;

/** A uniformly random valid action: among the mask's where the environment has one. */
export function randomAction(env: Env, rng: Rng): number {
  const mask = env.actionMask?.();
  if (mask === undefined) return rng.int(env.actionCount);
  const valid: number[] = [];
  mask.forEach((ok, a) => ok && valid.push(a));
  return valid[rng.int(valid.length)];
}

/** Options of {@linkcode assertSameRun}. */
export interface SameRunOptions {
  /** The seed of the actions' RNG (default 0). */
  seed?: number;
  /** Reset both before the first step (default false). */
  resetFirst?: boolean;
  /** How `a` picks the actions (default {@linkcode randomAction}). */
  policy?: TestPolicy;
}

/**
 * Plays `steps` actions of a policy in `a` and `b` alike, resetting both without a seed whenever
 * an episode ends (and first, with `resetFirst`), and asserts that every result, snapshot and
 * frame is the same. Returns the number of episodes that ended.
 */
export function assertSameRun(
  a: SnapshotEnv,
  b: SnapshotEnv,
  steps: number,
  options: SameRunOptions = {},
): number {
  const rng = new Rng(options.seed ?? 0);
  const policy = options.policy ?? randomAction;
  assert.deepEqual(b.getState(), a.getState());
  if (options.resetFirst) assert.deepEqual(b.reset(), a.reset());
  let episodes = 0;
  for (let t = 0; t < steps; t++) {
    const action = policy(a, rng);
    const left = a.step(action);
    assert.deepEqual(b.step(action), left, `step ${t}, action ${action}`);
    assert.deepEqual(b.getState(), a.getState(), `the snapshots after step ${t}`);
    if (a.frame) assert.deepEqual(b.frame?.(), a.frame(), `the frames after step ${t}`);
    if (left.terminated || left.truncated) {
      episodes++;
      assert.deepEqual(b.reset(), a.reset(), `the reset after step ${t}`);
    }
  }
  return episodes;
}

/**
 * For each number of warm-up steps, plays them in a new environment (`null`: not even a reset;
 * an episode that ends is reset before the next step, so a snapshot may fall between the two),
 * saves it through JSON text, restores the snapshot into another new one made with a different
 * seed, and asserts with {@linkcode assertSameRun} that the two go on alike for `steps` steps
 * over at least `minEpisodes` episodes.
 */
export function assertResumes(
  make: (seed: number) => SnapshotEnv,
  warmups: (number | null)[],
  steps: number,
  minEpisodes: number,
  policy: TestPolicy = randomAction,
): void {
  for (const warmup of warmups) {
    const a = make(7);
    const rng = new Rng(100);
    let ended = warmup === null;
    if (!ended) a.reset();
    for (let t = 0; t < (warmup ?? 0); t++) {
      if (ended) a.reset();
      const { terminated, truncated } = a.step(policy(a, rng));
      ended = terminated || truncated;
    }
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const b = make(12345);
    b.setState(saved);
    const episodes = assertSameRun(a, b, steps, { seed: 200, resetFirst: ended, policy });
    assert.ok(
      episodes >= minEpisodes,
      `warm-up ${warmup}: ${episodes} episodes, expected at least ${minEpisodes}`,
    );
  }
}

/** A path into a saved state and the value to put there (undefined: delete the key). */
export type Edit = [path: (string | number)[], value: unknown];

/** Edits of the `rng` field that every environment's setState refuses. */
export const RNG_EDITS: readonly Edit[] = [
  [["rng"], undefined],
  [["rng"], null],
  [["rng", "words"], [1, 2, 3]],
  [["rng", "words", 0], -1],
  [["rng", "words", 1], 2 ** 32],
  [["rng", "words", 2], 0.5],
  [["rng", "words"], [0, 0, 0, 0]],
  [["rng", "spareNormal"], "0"],
  [["rng", "spareNormal"], NaN],
  [["rng", "spareNormal"], undefined],
];

/** A deep copy of `saved` with one edit applied. */
export function edited(saved: JsonValue, [path, value]: Edit): JsonValue {
  const copy = structuredClone(saved) as Record<string | number, unknown>;
  let at = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy as JsonValue;
}

/**
 * Asserts that `env`, in the middle of an episode, refuses each state (whole values, or `env.getState()` with one edit) with
 * the TypeError "Cannot restore NAME: the saved state is malformed", and that afterwards its
 * snapshot is what it was and it still plays like a copy restored from before.
 */
export function assertRejects(
  env: SnapshotEnv,
  twin: SnapshotEnv,
  name: string,
  states: JsonValue[],
  edits: Edit[],
  policy: TestPolicy = randomAction,
): void {
  const before = env.getState();
  const message = `Cannot restore ${name}: the saved state is malformed`;
  const bad = [...states, ...edits.map((edit) => edited(before, edit))];
  bad.forEach((state, i) => {
    const what = i < states.length
      ? `state ${Deno.inspect(state)}`
      : `edit ${Deno.inspect(edits[i - states.length])}`;
    assert.throws(() => env.setState(state), (e) => {
      assert.ok(e instanceof TypeError, `${what}: ${e}`);
      assert.equal(e.message, message, what);
      return true;
    }, `${what} is refused`);
    assert.deepEqual(env.getState(), before, `${what} changes nothing`);
  });
  twin.setState(structuredClone(before));
  assertSameRun(env, twin, 100, { seed: 300, policy });
}
