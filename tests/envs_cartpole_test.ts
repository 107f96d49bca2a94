import assert from "node:assert/strict";
import { BatchedCartPole, CartPole } from "../lib/envs/cartpole.ts";
import { Rng } from "../lib/io/rng.ts";
import { assertRejects, assertResumes, randomAction, RNG_EDITS } from "./helpers/env_snapshot.ts";

type State = [number, number, number, number];

/**
 * Gymnasium's CartPoleEnv.step (classic_control/cartpole.py), written out again here so the
 * tests do not share the implementation's code. np.square(v) is v * v.
 */
function gymnasiumStep(state: State, action: number, integrator: string): State {
  const gravity = 9.8;
  const masscart = 1.0;
  const masspole = 0.1;
  const total_mass = masspole + masscart;
  const length = 0.5;
  const polemass_length = masspole * length;
  const force_mag = 10.0;
  const tau = 0.02;
  let [x, x_dot, theta, theta_dot] = state;
  const force = action === 1 ? force_mag : -force_mag;
  const costheta = Math.cos(theta);
  const sintheta = Math.sin(theta);
  const temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
  const thetaacc = (gravity * sintheta - costheta * temp) /
    (length * (4.0 / 3.0 - masspole * (costheta * costheta) / total_mass));
  const xacc = temp - polemass_length * thetaacc * costheta / total_mass;
  if (integrator === "euler") {
    x = x + tau * x_dot;
    x_dot = x_dot + tau * xacc;
    theta = theta + tau * theta_dot;
    theta_dot = theta_dot + tau * thetaacc;
  } else {
    x_dot = x_dot + tau * xacc;
    x = x + tau * x_dot;
    theta_dot = theta_dot + tau * thetaacc;
    theta = theta + tau * theta_dot;
  }
  return [x, x_dot, theta, theta_dot];
}

const THETA_THRESHOLD = 12 * 2 * Math.PI / 360;

function gymnasiumTerminated([x, , theta]: State): boolean {
  return x < -2.4 || x > 2.4 || theta < -THETA_THRESHOLD || theta > THETA_THRESHOLD;
}

/** The next float64 above `x` (for positive x). */
function nextUp(x: number): number {
  const f = new Float64Array([x]);
  const bits = new BigUint64Array(f.buffer);
  bits[0] += 1n;
  return f[0];
}

/** States chosen to exercise every term: upright, tilted, fast, near the limits. */
const STATES: State[] = [
  [0, 0, 0, 0],
  [0.01, -0.02, 0.03, -0.04],
  [-1.3, 0.7, 0.15, -1.9],
  [2.3, 1.5, -0.2, 2.5],
  [-2.35, -2.0, 0.19, 0.05],
  [0.5, 3.0, -0.1, -3.0],
];

function assertSameNumbers(actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Object.is(actual[i], expected[i]),
      `element ${i}: ${actual[i]} !== ${expected[i]}`,
    );
  }
}

for (const integrator of ["euler", "semi-implicit-euler"] as const) {
  Deno.test(`CartPole step matches Gymnasium's equations with ${integrator}`, () => {
    const env = new CartPole({ integrator });
    for (const state of STATES) {
      for (const action of [0, 1]) {
        env.reset();
        env.state = [...state];
        const expected = gymnasiumStep(state, action, integrator);
        const step = env.step(action);
        assertSameNumbers(env.state, expected);
        assertSameNumbers(step.observation, Float32Array.from(expected));
        assert.ok(step.observation instanceof Float32Array);
        assert.equal(step.terminated, gymnasiumTerminated(expected));
        assert.equal(step.reward, 1);
        assert.equal(step.truncated, false);
      }
    }
  });
}

Deno.test("CartPole step chains from the state it left, step by step", () => {
  const env = new CartPole();
  let expected: State = [0.02, 0.1, -0.03, 0.2];
  env.reset();
  env.state = [...expected];
  for (let t = 0; t < 20; t++) {
    const action = t % 3 === 0 ? 0 : 1;
    expected = gymnasiumStep(env.state, action, "euler");
    const { terminated } = env.step(action);
    assertSameNumbers(env.state, expected);
    if (terminated) break;
  }
});

Deno.test("CartPole thresholds are strict: exactly 2.4 and 12° go on, just beyond ends", () => {
  // With Euler and zero velocities, x and theta do not move during the step.
  const env = new CartPole();
  const cases: [State, boolean][] = [
    [[2.4, 0, 0, 0], false],
    [[-2.4, 0, 0, 0], false],
    [[nextUp(2.4), 0, 0, 0], true],
    [[-nextUp(2.4), 0, 0, 0], true],
    [[0, 0, THETA_THRESHOLD, 0], false],
    [[0, 0, -THETA_THRESHOLD, 0], false],
    [[0, 0, nextUp(THETA_THRESHOLD), 0], true],
    [[0, 0, -nextUp(THETA_THRESHOLD), 0], true],
  ];
  for (const [state, terminal] of cases) {
    env.reset();
    env.state = [...state];
    const step = env.step(1);
    assert.equal(env.state[0], state[0]);
    assert.equal(env.state[2], state[2]);
    assert.equal(step.terminated, terminal, `state ${state}`);
    assert.equal(step.reward, 1, "the terminal step is rewarded too");
  }
});

Deno.test("CartPole truncates at maxEpisodeSteps (500) and then refuses to step", () => {
  const env = new CartPole();
  env.reset({ seed: 3 });
  for (let t = 1; t <= 500; t++) {
    env.state = [0, 0, 0, 0]; // keep it balanced so only the time limit can end it
    const step = env.step(t % 2);
    assert.equal(step.terminated, false);
    assert.equal(step.truncated, t === 500, `step ${t}`);
  }
  assert.throws(() => env.step(0), /episode has ended/);
  env.reset();
  assert.equal(env.step(0).truncated, false);
  const short = new CartPole({ maxEpisodeSteps: 3 });
  short.reset();
  assert.deepEqual([1, 2, 3].map(() => short.step(0).truncated), [false, false, true]);
});

Deno.test("CartPole refuses to step after termination or before reset", () => {
  const env = new CartPole();
  assert.throws(() => env.step(0), /call reset\(\) before the first step/);
  env.reset();
  env.state = [3, 0, 0, 0];
  assert.equal(env.step(0).terminated, true);
  assert.throws(() => env.step(0), /episode has ended; call reset\(\) first/);
});

Deno.test("CartPole rejects invalid actions with a RangeError", () => {
  const env = new CartPole();
  env.reset();
  for (const action of [-1, 2, 0.5, NaN, Infinity]) {
    assert.throws(() => env.step(action), RangeError);
  }
  assert.throws(() => env.step("1" as unknown as number), RangeError);
  assert.throws(() => new CartPole({ integrator: "rk4" as "euler" }), RangeError);
  assert.throws(() => new CartPole({ maxEpisodeSteps: 0 }), RangeError);
});

Deno.test("CartPole with maskVelocity observes [x, theta] only", () => {
  const env = new CartPole({ maskVelocity: true });
  assert.equal(env.observationSize, 2);
  assert.equal(env.id, "cartpole-masked");
  const { observation } = env.reset({ seed: 9 });
  assertSameNumbers(observation, Float32Array.from([env.state[0], env.state[2]]));
  const state: State = [0.1, 0.2, 0.03, -0.4];
  env.state = [...state];
  const expected = gymnasiumStep(state, 1, "euler");
  const step = env.step(1);
  assertSameNumbers(step.observation, Float32Array.from([expected[0], expected[2]]));
});

Deno.test("CartPole reset draws each variable in ±0.05 and repeats with the seed", () => {
  const env = new CartPole({ seed: 11 });
  let lo = Infinity;
  let hi = -Infinity;
  for (let e = 0; e < 500; e++) {
    const { observation } = env.reset();
    assertSameNumbers(observation, Float32Array.from(env.state));
    for (const v of env.state) {
      assert.ok(v >= -0.05 && v < 0.05, `${v}`);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  assert.ok(lo < -0.049 && hi > 0.049, "the whole interval is used");
  const a = new CartPole().reset({ seed: 5 }).observation;
  const b = new CartPole({ seed: 77 }).reset({ seed: 5 }).observation;
  const c = new CartPole().reset({ seed: 6 }).observation;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

/** Random states inside the limits, some close to them, for the batch comparisons. */
function randomStates(rng: Rng, n: number): Float64Array {
  const s = new Float64Array(4 * n);
  for (let i = 0; i < n; i++) {
    s[4 * i] = rng.uniformIn(-2.39, 2.39);
    s[4 * i + 1] = rng.uniformIn(-2, 2);
    s[4 * i + 2] = rng.uniformIn(-0.2, 0.2);
    s[4 * i + 3] = rng.uniformIn(-2, 2);
  }
  return s;
}

for (
  const options of [{}, { integrator: "semi-implicit-euler" as const }, { maskVelocity: true }]
) {
  Deno.test(`BatchedCartPole equals scalar CartPole per env ${JSON.stringify(options)}`, () => {
    const n = 64;
    const rng = new Rng(21);
    const batch = new BatchedCartPole(n, { ...options, maxEpisodeSteps: 30 });
    batch.reset({ seed: 1 });
    batch.state.set(randomStates(rng, n));
    const scalars = Array.from(
      { length: n },
      () => new CartPole({ ...options, maxEpisodeSteps: 30 }),
    );
    const sync = (i: number): void => {
      scalars[i].reset();
      scalars[i].state = Array.from(batch.state.subarray(4 * i, 4 * i + 4)) as State;
      scalars[i].elapsedSteps = batch.elapsedSteps[i];
    };
    for (let i = 0; i < n; i++) sync(i);
    const size = batch.observationSize;
    let ended = 0;
    for (let t = 0; t < 60; t++) {
      const actions = Uint8Array.from({ length: n }, () => rng.int(2));
      const out = batch.step(actions);
      for (let i = 0; i < n; i++) {
        const step = scalars[i].step(actions[i]);
        assert.equal(out.terminated[i], step.terminated ? 1 : 0);
        assert.equal(out.truncated[i], step.truncated ? 1 : 0);
        assert.equal(out.rewards[i], step.reward);
        const row = step.terminated || step.truncated
          ? out.finalObservations.subarray(size * i, size * (i + 1))
          : out.observations.subarray(size * i, size * (i + 1));
        assertSameNumbers(row, step.observation);
        if (step.terminated || step.truncated) {
          ended++;
          sync(i);
        } else {
          assertSameNumbers(batch.state.subarray(4 * i, 4 * i + 4), scalars[i].state);
        }
      }
    }
    assert.ok(ended > 20, `episodes ended and were reset (${ended})`);
  });
}

Deno.test("BatchedCartPole autoresets in the same step and truncates at the limit", () => {
  const batch = new BatchedCartPole(3, { maxEpisodeSteps: 4, seed: 2 });
  const first = batch.reset().slice();
  assertSameNumbers(first, Float32Array.from(batch.state));
  batch.state.set([3, 0, 0, 0], 0); // env 0 leaves the track on its first step
  for (let t = 1; t <= 4; t++) {
    batch.state.set([0, 0, 0, 0], 4); // env 1 stays balanced until the time limit
    const out = batch.step([1, 0, 1]);
    if (t === 1) {
      assert.deepEqual([...out.terminated], [1, 0, 0]);
      assert.equal(out.finalObservations[0], 3, "Euler leaves x where it was");
      assertSameNumbers(
        out.observations.subarray(0, 4),
        Float32Array.from(batch.state.subarray(0, 4)),
      );
      for (const v of batch.state.subarray(0, 4)) assert.ok(Math.abs(v) <= 0.05);
      assert.equal(batch.elapsedSteps[0], 0);
    }
    assert.equal(out.truncated[1], t === 4 ? 1 : 0, `step ${t}`);
  }
  assert.equal(batch.elapsedSteps[1], 0);
});

Deno.test("BatchedCartPole rejects bad actions before changing any state", () => {
  const batch = new BatchedCartPole(4);
  batch.reset();
  const before = batch.state.slice();
  for (const actions of [[0, 1, 2, 0], [0, 1, 0], [0, NaN, 1, 1], new Int32Array([0, -1, 0, 0])]) {
    assert.throws(() => batch.step(actions), RangeError);
    assertSameNumbers(batch.state, before);
  }
  assert.throws(() => new BatchedCartPole(0), RangeError);
});

Deno.test("CartPole getState and setState continue an episode exactly, RNG included", () => {
  const a = new CartPole({ seed: 4 });
  a.reset();
  for (let t = 0; t < 7; t++) a.step(t % 2);
  const saved = JSON.parse(JSON.stringify(a.getState()));
  const b = new CartPole();
  b.setState(saved);
  for (let t = 0; t < 600; t++) {
    const action = (t * 7) % 3 === 0 ? 1 : 0;
    const left = a.step(action);
    const right = b.step(action);
    assert.deepEqual(right, left);
    if (left.terminated || left.truncated) {
      assert.deepEqual(b.reset(), a.reset(), "the next episode's start comes from the same RNG");
    }
  }
  assert.throws(() => b.setState({ state: [0, 0, 0] }), TypeError);
});

for (
  const options of [
    {},
    { maskVelocity: true, integrator: "semi-implicit-euler" as const, maxEpisodeSteps: 30 },
  ]
) {
  Deno.test(`CartPole snapshots resume every episode exactly ${JSON.stringify(options)}`, () => {
    assertResumes((seed) => new CartPole({ ...options, seed }), [null, 0, 5, 60], 400, 3);
  });
}

Deno.test("CartPole setState refuses malformed states and then changes nothing", () => {
  const env = new CartPole({ seed: 2, maxEpisodeSteps: 100 });
  env.reset();
  for (let t = 0; t < 3; t++) env.step(t % 2);
  assertRejects(env, new CartPole({ maxEpisodeSteps: 100 }), "CartPole", [null, [], "x", 3, {}], [
    [["state"], [0, 0, 0]],
    [["state", 1], NaN],
    [["state", 2], Infinity],
    [["state", 0], "0"],
    [["state"], undefined],
    [["elapsedSteps"], -1],
    [["elapsedSteps"], 1.5],
    [["elapsedSteps"], 101],
    [["elapsedSteps"], 100], // an episode in progress at the time limit
    [["ended"], "false"],
    [["started"], undefined],
    [["started"], false], // never started, yet in progress
    ...RNG_EDITS,
  ]);
});

Deno.test("CartPole clone has the same settings and an RNG that its reset seeds", () => {
  const options = {
    maskVelocity: true,
    integrator: "semi-implicit-euler" as const,
    maxEpisodeSteps: 42,
  };
  const env = new CartPole({ ...options, seed: 5 });
  env.reset();
  env.step(1);
  const copy = env.clone();
  assert.ok(copy instanceof CartPole && copy !== env);
  const keys = ["id", "observationSize", "maskVelocity", "integrator", "maxEpisodeSteps"] as const;
  for (const key of keys) assert.equal(copy[key], env[key], key);
  assert.deepEqual(copy.reset(), new CartPole(options).reset(), "a new RNG, not the original's");
  assert.deepEqual(copy.reset({ seed: 9 }), new CartPole({ ...options, seed: 9 }).reset());
  assert.equal(env.elapsedSteps, 1, "the original is untouched");
  const plain = new CartPole().clone();
  assert.equal(plain.integrator, "euler");
  assert.equal(plain.maxEpisodeSteps, 500);
  assert.equal(plain.maskVelocity, false);
});

Deno.test("CartPole frame is a copy of the state, as the replay recorded it", () => {
  const env = new CartPole({ seed: 3 });
  const rng = new Rng(1);
  for (let episode = 0; episode < 3; episode++) {
    env.reset();
    // The recording before frames: the state after reset, then after every step.
    assert.deepEqual(env.frame(), { kind: "cartpole", state: [...env.state] });
    for (;;) {
      const step = env.step(randomAction(env, rng));
      assert.deepEqual(env.frame(), { kind: "cartpole", state: [...env.state] });
      if (step.terminated || step.truncated) break;
    }
  }
  const frame = env.frame();
  if (frame.kind !== "cartpole") throw new Error("a CartPole frame");
  frame.state[0] = 99;
  assert.notEqual(env.state[0], 99);
});
