import assert from "node:assert/strict";
import type { ContinuousEnv } from "../lib/envs/env.ts";
import { angleNormalize, Pendulum } from "../lib/envs/pendulum.ts";
import { DiscreteActions } from "../lib/envs/wrappers.ts";
import { Rng } from "../lib/io/rng.ts";
import { assertRejects, assertResumes, RNG_EDITS } from "./helpers/env_snapshot.ts";

/** Gymnasium's PendulumEnv.step, written out again (angle_normalize by floor division). */
function gymnasiumStep(th: number, thdot: number, u: number): [number, number, number] {
  const g = 10.0;
  const m = 1.0;
  const l = 1.0;
  const dt = 0.05;
  u = Math.min(2, Math.max(-2, u));
  const normalized = th + Math.PI - 2 * Math.PI * Math.floor((th + Math.PI) / (2 * Math.PI)) -
    Math.PI;
  const costs = normalized ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2;
  let newthdot = thdot + (3 * g / (2 * l) * Math.sin(th) + 3.0 / (m * l ** 2) * u) * dt;
  newthdot = Math.min(8, Math.max(-8, newthdot));
  const newth = th + newthdot * dt;
  return [newth, newthdot, -costs];
}

function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

Deno.test("Pendulum step matches Gymnasium's equations from chosen states", () => {
  const env = new Pendulum();
  const states: [number, number][] = [[0, 0], [Math.PI, 0.5], [-3, -7.9], [2.5, 7.95], [
    10,
    -1,
  ], [-20.3, 3]];
  for (const [th, thdot] of states) {
    for (const u of [-5, -2, -0.7, 0, 1.3, 2, 9]) {
      env.reset();
      env.state = [th, thdot];
      const [newth, newthdot, reward] = gymnasiumStep(th, thdot, u);
      const step = env.step(u);
      close(env.state[0], newth, "theta");
      close(env.state[1], newthdot, "theta dot");
      close(step.reward, reward, "reward");
      assert.deepEqual(
        step.observation,
        Float32Array.from([Math.cos(env.state[0]), Math.sin(env.state[0]), env.state[1]]),
      );
      assert.equal(step.terminated, false);
    }
  }
});

Deno.test("Pendulum clips the speed at 8 and the torque at 2", () => {
  const env = new Pendulum();
  env.reset();
  env.state = [Math.PI / 2, 7.9];
  env.step(2);
  assert.equal(env.state[1], 8);
  env.state = [1, 0];
  const a = env.step(100).reward;
  env.state = [1, 0];
  const b = env.step(2).reward;
  assert.equal(a, b);
  assert.throws(() => env.step(NaN), RangeError);
});

Deno.test("angleNormalize maps angles into [−π, π) like Python's modulo", () => {
  assert.equal(angleNormalize(0), 0);
  close(angleNormalize(3 * Math.PI / 2), -Math.PI / 2, "3π/2");
  close(angleNormalize(-3 * Math.PI / 2), Math.PI / 2, "−3π/2");
  close(angleNormalize(7), 7 - 2 * Math.PI, "7");
  close(angleNormalize(-7), -7 + 2 * Math.PI, "−7");
  assert.equal(angleNormalize(Math.PI), -Math.PI);
});

Deno.test("Pendulum resets θ in [−π, π), θ̇ in [−1, 1) and truncates at 200", () => {
  const env = new Pendulum({ seed: 3 });
  for (let e = 0; e < 200; e++) {
    env.reset();
    const [th, thdot] = env.state;
    assert.ok(th >= -Math.PI && th < Math.PI && thdot >= -1 && thdot < 1);
  }
  for (let t = 1; t <= 200; t++) assert.equal(env.step(0).truncated, t === 200);
  assert.throws(() => env.step(0), /episode has ended/);
});

Deno.test("DiscreteActions spreads n actions evenly over the range, ends included", () => {
  const five = new DiscreteActions(new Pendulum(), { count: 5 });
  assert.deepEqual([...five.values], [-2, -1, 0, 1, 2]);
  for (const count of [2, 3, 7, 11, 32]) {
    const env = new DiscreteActions(new Pendulum(), { count, low: -2, high: 2 });
    assert.equal(env.actionCount, count);
    assert.equal(env.values[0], -2);
    assert.equal(env.values[count - 1], 2);
    const gap = 4 / (count - 1);
    for (let i = 1; i < count; i++) close(env.values[i] - env.values[i - 1], gap, `gap ${i}`);
  }
  const narrow = new DiscreteActions(new Pendulum(), { count: 3, low: -0.5, high: 1 });
  assert.deepEqual([...narrow.values], [-0.5, 0.25, 1]);
  assert.throws(() => new DiscreteActions(new Pendulum(), { count: 1 }), RangeError);
  assert.throws(() => new DiscreteActions(new Pendulum(), { low: 1, high: 1 }), RangeError);
});

Deno.test("DiscreteActions steps the wrapped environment with the mapped torque", () => {
  const inner = new Pendulum();
  const env = new DiscreteActions(inner, { count: 5 });
  const reference = new Pendulum();
  env.reset({ seed: 8 });
  reference.reset({ seed: 8 });
  assert.deepEqual(inner.state, reference.state);
  for (const action of [0, 4, 2, 1, 3]) {
    const a = env.step(action);
    const b = reference.step(action - 2);
    assert.deepEqual(a, b);
  }
  for (const action of [-1, 5, 0.5]) assert.throws(() => env.step(action), RangeError);
});

Deno.test("Pendulum snapshots resume every episode exactly under continuous torques", () => {
  for (const warmup of [0, 1, 17, 40]) {
    const a = new Pendulum({ maxEpisodeSteps: 40, seed: 3 });
    const rng = new Rng(warmup);
    const torque = () => rng.uniformIn(-3, 3); // beyond ±2 too: clipped
    a.reset();
    let ended = false;
    for (let t = 0; t < warmup; t++) ended = a.step(torque()).truncated;
    const b = new Pendulum({ maxEpisodeSteps: 40, seed: 99 });
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    let episodes = 0;
    for (let t = 0; t < 300; t++) {
      if (ended) assert.deepEqual(b.reset(), a.reset());
      const u = torque();
      const left = a.step(u);
      assert.deepEqual(b.step(u), left, `step ${t}`);
      assert.deepEqual(b.getState(), a.getState());
      ended = left.truncated;
      if (ended) episodes++;
    }
    assert.ok(episodes >= 6, `${episodes} episodes`);
  }
});

Deno.test("DiscreteActions snapshots are the wrapped Pendulum's and resume it exactly", () => {
  const make = (seed: number) =>
    new DiscreteActions(new Pendulum({ maxEpisodeSteps: 50, seed }), { count: 7 });
  assertResumes(make, [null, 0, 10, 50, 75], 300, 5);
  const inner = new Pendulum();
  const env = new DiscreteActions(inner);
  env.reset();
  assert.deepEqual(env.getState(), inner.getState());
});

Deno.test("Pendulum setState refuses malformed states and then changes nothing", () => {
  const env = new DiscreteActions(new Pendulum({ seed: 5, maxEpisodeSteps: 200 }));
  env.reset();
  for (let t = 0; t < 3; t++) env.step(t);
  assertRejects(env, new DiscreteActions(new Pendulum()), "Pendulum", [null, [0, 0], "x", {}], [
    ...RNG_EDITS,
    [["state"], [0]],
    [["state", 0], NaN],
    [["state", 1], -Infinity],
    [["state", 1], null],
    [["elapsedSteps"], 201],
    [["elapsedSteps"], 200], // in progress at the time limit
    [["elapsedSteps"], -2],
    [["elapsedSteps"], "3"],
    [["ended"], undefined],
  ]);
});

Deno.test("DiscreteActions cannot snapshot an environment without getState and setState", () => {
  const bare: ContinuousEnv = {
    id: "bare",
    observationSize: 1,
    actionLow: -1,
    actionHigh: 1,
    reset: () => ({ observation: new Float32Array(1), info: {} }),
    step: () => ({
      observation: new Float32Array(1),
      reward: 0,
      terminated: false,
      truncated: false,
      info: {},
    }),
  };
  const env = new DiscreteActions(bare);
  assert.throws(() => env.getState(), {
    name: "TypeError",
    message: 'Cannot save DiscreteActions: "bare" has no getState() and setState() methods',
  });
  assert.throws(() => env.setState({}), {
    name: "TypeError",
    message: 'Cannot restore DiscreteActions: "bare" has no getState() and setState() methods',
  });
  assert.throws(() => env.clone(), TypeError);
});
