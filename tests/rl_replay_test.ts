import assert from "node:assert/strict";
import { Rng } from "../lib/io/rng.ts";
import type { AgentState } from "../lib/rl/state.ts";
import { NStepAccumulator, ReplayBuffer, type Transition } from "../lib/rl/replay.ts";
import { rampValue } from "../lib/rl/schedules.ts";

function transition(i: number, flags: Partial<Transition> = {}): Transition {
  return {
    observation: Float32Array.of(i, -i),
    action: i % 3,
    reward: i / 2,
    nextObservation: Float32Array.of(i + 0.5, -i - 0.5),
    terminated: false,
    truncated: false,
    ...flags,
  };
}

Deno.test("ReplayBuffer keeps terminated and truncated apart, with the true final observation", () => {
  const replay = new ReplayBuffer({ capacity: 8, observationSize: 2 });
  replay.add(transition(0));
  replay.add(transition(1, { terminated: true }));
  replay.add(
    transition(2, { truncated: true, nextObservation: Float32Array.of(99, 98) }),
  );
  replay.add(transition(3, { terminated: true, truncated: true }));
  assert.deepEqual([...replay.terminated.subarray(0, 4)], [0, 1, 0, 1]);
  assert.deepEqual([...replay.truncated.subarray(0, 4)], [0, 0, 1, 1]);
  assert.deepEqual([...replay.nextObservations.subarray(4, 6)], [99, 98]);
  // Every sampled row is consistent with what was stored at its index.
  const batch = replay.sample(64, new Rng(3));
  for (let b = 0; b < 64; b++) {
    const i = batch.indices[b];
    assert.ok(i >= 0 && i < 4);
    assert.equal(batch.observations[2 * b], i);
    assert.equal(batch.actions[b], i % 3);
    assert.equal(batch.rewards[b], i / 2);
    assert.equal(batch.terminated[b], i === 1 || i === 3 ? 1 : 0);
    assert.equal(batch.truncated[b], i >= 2 ? 1 : 0);
    assert.equal(batch.nextObservations[2 * b], i === 2 ? 99 : i + 0.5);
  }
  assert.deepEqual(new Set(batch.indices), new Set([0, 1, 2, 3]));
});

Deno.test("ReplayBuffer wraps around, overwriting the oldest transitions", () => {
  const replay = new ReplayBuffer({ capacity: 4, observationSize: 2 });
  for (let i = 0; i < 6; i++) replay.add(transition(i));
  assert.equal(replay.size, 4);
  assert.equal(replay.position, 2);
  // Slots 0 and 1 now hold transitions 4 and 5; slots 2 and 3 still hold 2 and 3.
  assert.deepEqual([...replay.observations].filter((_, k) => k % 2 === 0), [4, 5, 2, 3]);
  const seen = new Set(replay.sample(200, new Rng(1)).observations.filter((_, k) => k % 2 === 0));
  assert.deepEqual([...seen].sort(), [2, 3, 4, 5]);
});

Deno.test("ReplayBuffer sampling is uniform and determined by the generator", () => {
  const replay = new ReplayBuffer({ capacity: 10, observationSize: 2 });
  for (let i = 0; i < 10; i++) replay.add(transition(i));
  const a = replay.sample(5000, new Rng(7)).indices;
  const b = replay.sample(5000, new Rng(7)).indices;
  assert.deepEqual(a, b);
  const counts = new Array(10).fill(0);
  for (const i of a) counts[i]++;
  // Each count is Binomial(5000, 0.1): mean 500, sd 21; 6 sd either side.
  for (const c of counts) assert.ok(c > 373 && c < 627, `count ${c}`);
});

Deno.test("ReplayBuffer state round-trips, including a wrapped ring", () => {
  const replay = new ReplayBuffer({ capacity: 4, observationSize: 2 });
  for (let i = 0; i < 6; i++) replay.add(transition(i, { truncated: i === 4, steps: 1 + i }));
  const { json, arrays } = replay.getState("r.");
  const state: AgentState = { json: {}, arrays };
  const copy = new ReplayBuffer({ capacity: 4, observationSize: 2 });
  copy.setState(state, "r.", json);
  assert.equal(copy.size, 4);
  assert.equal(copy.position, 2);
  assert.deepEqual(copy.sample(50, new Rng(2)), replay.sample(50, new Rng(2)));
  assert.throws(() => copy.setState(state, "r.", { size: 5, position: 0 }), RangeError);
});

Deno.test("ReplayBuffer rejects observations of the wrong size", () => {
  const replay = new ReplayBuffer({ capacity: 4, observationSize: 3 });
  assert.throws(() => replay.add(transition(0)), TypeError);
  assert.throws(() => replay.sample(1, new Rng(0)), RangeError);
});

Deno.test("NStepAccumulator folds discounted rewards and bootstraps truncation from the final state", () => {
  const acc = new NStepAccumulator({ n: 3, gamma: 0.5, observationSize: 2 });
  const out: Transition[] = [];
  for (let i = 0; i < 4; i++) out.push(...acc.push(transition(i)));
  // Rewards are i / 2: the first 3-step return is 0 + 0.5·0.5 + 0.25·1 = 0.5.
  assert.equal(out.length, 2);
  assert.equal(out[0].reward, 0.5);
  assert.equal(out[0].steps, 3);
  assert.deepEqual([...out[0].nextObservation], [2.5, -2.5]);
  assert.equal(out[1].reward, 0.5 + 0.5 * 1 + 0.25 * 1.5);
  assert.equal(acc.pending, 2);
  // A truncation flushes the two pending transitions and the new one, each with k < n rewards.
  const final = Float32Array.of(42, 43);
  const flushed = acc.push(transition(4, { truncated: true, nextObservation: final }));
  assert.deepEqual(flushed.map((t) => t.steps), [3, 2, 1]);
  assert.deepEqual(flushed.map((t) => t.reward), [1 + 0.5 * 1.5 + 0.25 * 2, 1.5 + 0.5 * 2, 2]);
  for (const t of flushed) {
    assert.deepEqual([...t.nextObservation], [42, 43]);
    assert.equal(t.truncated, true);
    assert.equal(t.terminated, false);
  }
  assert.equal(acc.pending, 0);
  // A terminal step ends the returns of the pending transitions too.
  acc.push(transition(5));
  const ended = acc.push(transition(6, { terminated: true }));
  assert.deepEqual(ended.map((t) => t.terminated), [true, true]);
});

Deno.test("NStepAccumulator state round-trips its pending transitions", () => {
  const acc = new NStepAccumulator({ n: 4, gamma: 0.9, observationSize: 2 });
  for (let i = 0; i < 3; i++) acc.push(transition(i));
  const { json, arrays } = acc.getState("n.");
  const copy = new NStepAccumulator({ n: 4, gamma: 0.9, observationSize: 2 });
  copy.setState({ json: {}, arrays }, "n.", json);
  const next = transition(3, { terminated: true });
  assert.deepEqual(copy.push(next), acc.push(next));
});

Deno.test("rampValue moves linearly and then holds", () => {
  const ramp = { start: 1, end: 0.04, steps: 8000 };
  assert.equal(rampValue(ramp, 0), 1);
  assert.ok(Math.abs(rampValue(ramp, 4000) - 0.52) < 1e-12);
  assert.equal(rampValue(ramp, 8000), 0.04);
  assert.equal(rampValue(ramp, 1e9), 0.04);
  assert.equal(rampValue({ start: 3, end: 2, steps: 0 }, 0), 2);
});
