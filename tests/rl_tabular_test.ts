import assert from "node:assert/strict";
import { CartPole } from "../lib/envs/cartpole.ts";
import type { Env, ResetResult, StepResult } from "../lib/envs/env.ts";
import { cartPoleDiscretizer, Discretizer, IndexEncoder } from "../lib/rl/discretize.ts";
import { TabularQ } from "../lib/rl/q_learning.ts";

/**
 * A corridor of `length` states; action 1 moves right, 0 left (state 0 stays put). Moving right
 * from the last state ends the episode with reward 1; every other step pays 0.
 * With discount γ: V*(s) = γ^(length − 1 − s), Q*(s, 1) = V*(s) for the last state and
 * γ·V*(s + 1) = V*(s) before it, Q*(s, 0) = γ·V*(max(s − 1, 0)).
 */
class Chain implements Env {
  readonly id = "chain";
  readonly observationSize = 1;
  readonly actionCount = 2;
  #state = 0;
  #t = 0;
  constructor(readonly length: number, readonly maxEpisodeSteps: number) {}
  reset(): ResetResult {
    this.#state = 0;
    this.#t = 0;
    return { observation: Float32Array.of(0), info: {} };
  }
  step(action: number): StepResult {
    this.#t++;
    const terminated = action === 1 && this.#state === this.length - 1;
    if (!terminated) this.#state = Math.max(0, this.#state + (action === 1 ? 1 : -1));
    return {
      observation: Float32Array.of(this.#state),
      reward: terminated ? 1 : 0,
      terminated,
      truncated: !terminated && this.#t >= this.maxEpisodeSteps,
      info: {},
    };
  }
}

/**
 * Cliff walking (Sutton & Barto example 6.6): a 4 × 12 grid, start at the bottom left, goal at
 * the bottom right, the cells between them a cliff. Actions up, right, down, left; −1 per step,
 * −100 for stepping into the cliff, which also sends the agent back to the start.
 */
class CliffWalk implements Env {
  readonly id = "cliff-walk";
  readonly observationSize = 1;
  readonly actionCount = 4;
  row = 3;
  col = 0;
  #t = 0;
  reset(): ResetResult {
    this.row = 3;
    this.col = 0;
    this.#t = 0;
    return { observation: Float32Array.of(36), info: {} };
  }
  step(action: number): StepResult {
    this.row = Math.min(3, Math.max(0, this.row + [-1, 0, 1, 0][action]));
    this.col = Math.min(11, Math.max(0, this.col + [0, 1, 0, -1][action]));
    this.#t++;
    let reward = -1;
    if (this.row === 3 && this.col > 0 && this.col < 11) {
      reward = -100;
      this.col = 0;
    }
    const terminated = this.row === 3 && this.col === 11;
    return {
      observation: Float32Array.of(this.row * 12 + this.col),
      reward,
      terminated,
      truncated: !terminated && this.#t >= 1000,
      info: {},
    };
  }
}

/** The cells the greedy policy visits from the start, up to 60 steps. */
function greedyPath(agent: TabularQ): { cells: [number, number][]; reward: number } {
  const env = new CliffWalk();
  let { observation } = env.reset();
  const cells: [number, number][] = [[3, 0]];
  let reward = 0;
  for (let t = 0; t < 60; t++) {
    const step = env.step(agent.act(observation));
    observation = step.observation;
    reward += step.reward;
    cells.push([env.row, env.col]);
    if (step.terminated) break;
  }
  return { cells, reward };
}

Deno.test("Discretizer bins each dimension with clipping, last dimension fastest", () => {
  const d = new Discretizer({ bins: [3, 1, 4], low: [-3, 0, 0], high: [3, 1, 8] });
  assert.equal(d.stateCount, 12);
  assert.equal(d.observationSize, 3);
  assert.equal(d.encode(Float32Array.of(-2.5, 123, 1)), 0);
  assert.equal(d.encode(Float32Array.of(0, -9, 7.9)), 4 + 3);
  assert.equal(d.encode(Float32Array.of(99, 0, 99)), 11);
  assert.equal(d.encode(Float32Array.of(-99, 0, -99)), 0);
  assert.equal(d.binOf(0, 1), 2); // [1, 3) is the last bin
  assert.equal(d.binOf(0, 0.999), 1);
  assert.deepEqual(d.options, { bins: [3, 1, 4], low: [-3, 0, 0], high: [3, 1, 8] });
  assert.throws(() => d.encode(Float32Array.of(0, 0)), RangeError);
  assert.throws(() => d.encode(Float32Array.of(Number.NaN, 0, 0)), RangeError);
  assert.throws(() => new Discretizer({ bins: [2], low: [1], high: [1] }), RangeError);
  assert.throws(() => new Discretizer({ bins: [0], low: [0], high: [1] }), RangeError);
  assert.throws(() => new Discretizer({ bins: [2, 2], low: [0], high: [1, 1] }), RangeError);
  assert.equal(cartPoleDiscretizer().stateCount, 432);
  assert.equal(cartPoleDiscretizer({ maskVelocity: true }).observationSize, 2);
});

Deno.test("IndexEncoder reads integer states and rejects others", () => {
  const e = new IndexEncoder(4);
  assert.equal(e.encode(Float32Array.of(3)), 3);
  assert.throws(() => e.encode(Float32Array.of(4)), RangeError);
  assert.throws(() => e.encode(Float32Array.of(1.5)), RangeError);
  assert.throws(() => new IndexEncoder(0), RangeError);
});

Deno.test("TabularQ.epsilon follows a constant or a linear ramp over learned steps", () => {
  const constant = new TabularQ(new IndexEncoder(5), 2, { epsilon: 0.3 });
  constant.learn(new Chain(5, 10), { steps: 50 });
  assert.equal(constant.epsilon, 0.3);
  const ramp = new TabularQ(new IndexEncoder(5), 2, {
    epsilon: { start: 1, end: 0.2, steps: 100 },
  });
  assert.equal(ramp.epsilon, 1);
  ramp.learn(new Chain(5, 10), { steps: 25 });
  assert.ok(Math.abs(ramp.epsilon - 0.8) < 1e-15);
  ramp.learn(new Chain(5, 10), { steps: 100 });
  assert.equal(ramp.epsilon, 0.2);
  assert.throws(
    () => new TabularQ(new IndexEncoder(5), 2, { epsilon: { start: 1, end: 2, steps: 5 } }),
    RangeError,
  );
  assert.throws(
    () => new TabularQ(new IndexEncoder(5), 2, { epsilon: { start: 1, end: 0, steps: -1 } }),
    RangeError,
  );
});

Deno.test("TabularQ update uses the max target for Q-learning and Q(s', a') for SARSA", () => {
  const q = new TabularQ(new IndexEncoder(2), 2, { stepSize: 0.5, gamma: 0.9 });
  q.update(1, 0, 2, 1, true); // Q(1, 0) = 0.5 · 2 = 1
  q.update(1, 1, 4, 1, true); // Q(1, 1) = 2
  assert.equal(q.update(0, 0, 1, 1, false), 1 + 0.9 * 2); // the TD error
  assert.equal(q.value(0, 0), 0.5 * (1 + 0.9 * 2));
  const s = new TabularQ(new IndexEncoder(2), 2, { algorithm: "sarsa", stepSize: 0.5, gamma: 0.9 });
  s.update(1, 0, 2, 1, true);
  s.update(1, 1, 4, 1, true);
  s.update(0, 0, 1, 1, false, 0); // bootstraps from Q(1, 0) = 1, not the max
  assert.equal(s.value(0, 0), 0.5 * (1 + 0.9 * 1));
  assert.throws(() => s.update(0, 0, 1, 1, false), RangeError);
  assert.throws(() => q.update(2, 0, 1, 1, true), RangeError);
  assert.throws(() => new TabularQ(new IndexEncoder(2), 2, { gamma: 2 }), RangeError);
  assert.throws(() => new TabularQ(new IndexEncoder(2), 2, { epsilon: -1 }), RangeError);
  assert.throws(
    () => new TabularQ(new IndexEncoder(2), 2, { algorithm: "td" as "sarsa" }),
    RangeError,
  );
});

Deno.test("TabularQ Q-learning converges to the optimal Q values of a chain", () => {
  const length = 5;
  const gamma = 0.9;
  // Off-policy: a uniformly random behaviour still learns Q*. Time limits bootstrap, so
  // truncating episodes at 20 steps must not bias the values.
  const agent = new TabularQ(new IndexEncoder(length), 2, {
    stepSize: 0.2,
    gamma,
    epsilon: 1,
    seed: 3,
  });
  const { returns } = agent.learn(new Chain(length, 20), { steps: 30_000 });
  assert.ok(returns.length > 100);
  const v = (s: number) => gamma ** (length - 1 - s);
  for (let s = 0; s < length; s++) {
    const right = s === length - 1 ? 1 : gamma * v(s + 1);
    const left = gamma * v(Math.max(s - 1, 0));
    assert.ok(Math.abs(agent.value(s, 1) - right) < 1e-4, `Q(${s}, right) = ${agent.value(s, 1)}`);
    assert.ok(Math.abs(agent.value(s, 0) - left) < 1e-4, `Q(${s}, left) = ${agent.value(s, 0)}`);
    assert.equal(agent.act(Float32Array.of(s)), 1);
  }
  const evaluation = agent.evaluate(new Chain(length, 20), { episodes: 3 });
  assert.deepEqual(evaluation.returns, [1, 1, 1]);
  assert.deepEqual(evaluation.lengths, [5, 5, 5]);
});

Deno.test("TabularQ learns Sutton and Barto's cliff-walking paths: Q-learning risky, SARSA safe", () => {
  for (const seed of [1, 2, 3]) {
    const options = { stepSize: 0.2, gamma: 1, epsilon: 0.1, seed };
    const q = new TabularQ(new IndexEncoder(48), 4, { ...options, algorithm: "q-learning" });
    const s = new TabularQ(new IndexEncoder(48), 4, { ...options, algorithm: "sarsa" });
    const qReturns = q.learn(new CliffWalk(), { steps: 20_000 }).returns.slice(100);
    const sReturns = s.learn(new CliffWalk(), { steps: 20_000 }).returns.slice(100);
    // Q-learning's greedy policy is the optimal path along the cliff edge: 13 steps.
    const qPath = greedyPath(q);
    assert.equal(qPath.reward, -13, `seed ${seed}: Q-learning greedy return ${qPath.reward}`);
    assert.equal(qPath.cells.filter(([row]) => row === 2).length, 12);
    // SARSA learns the value of its ε-greedy behaviour and keeps away from the edge: its greedy
    // path reaches the goal without falling, climbs to row 1 or 0 and walks there, touching the
    // edge row 2 only next to the start and the goal (at most three cells).
    const sPath = greedyPath(s);
    assert.ok(sPath.reward < -13 && sPath.reward >= -19, `seed ${seed}: SARSA ${sPath.reward}`);
    assert.ok(sPath.cells.filter(([row]) => row === 2).length <= 3, `${sPath.cells.join(" ")}`);
    assert.ok(Math.min(...sPath.cells.map(([row]) => row)) <= 1);
    // Online, with exploration, SARSA therefore earns more per episode (figure 6.4: about −25
    // against −50).
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(sReturns) > mean(qReturns) + 10, `${mean(sReturns)} vs ${mean(qReturns)}`);
  }
});

Deno.test("TabularQ continues identically after save, JSON and load", () => {
  const options = { algorithm: "sarsa" as const, stepSize: 0.3, gamma: 1, seed: 4 };
  const a = new TabularQ(new IndexEncoder(48), 4, options);
  a.learn(new CliffWalk(), { steps: 3000 });
  const b = new TabularQ(new IndexEncoder(48), 4);
  b.load(JSON.parse(JSON.stringify(a.save())));
  assert.deepEqual(b.options, a.options);
  assert.equal(b.steps, 3000);
  const ra = a.learn(new CliffWalk(), { steps: 2000 });
  const rb = b.learn(new CliffWalk(), { steps: 2000 });
  assert.deepEqual(rb, ra);
  assert.deepEqual(b.save(), a.save());
  assert.throws(() => new TabularQ(new IndexEncoder(47), 4).load(a.save()), TypeError);
  assert.throws(() => b.load({ ...a.save(), q: a.save().q.slice(1) }), TypeError);
  assert.throws(() => b.load({ ...a.save(), kind: "x" } as never), TypeError);
  assert.throws(() => b.learn(new Chain(3, 5), { steps: 10 }), TypeError);
});

Deno.test("TabularQ Q-learning balances discretised CartPole; without velocities it cannot", () => {
  for (const seed of [1, 2]) {
    const agent = new TabularQ(cartPoleDiscretizer(), 2, {
      seed,
      stepSize: 0.1,
      gamma: 0.99,
      epsilon: { start: 1, end: 0.01, steps: 100_000 },
    });
    const episodes: number[] = [];
    agent.learn(new CartPole(), { steps: 200_000, onEpisode: (e) => episodes.push(e.episode) });
    assert.deepEqual(episodes, episodes.map((_, i) => i + 1));
    const result = agent.evaluate(new CartPole(), { episodes: 100, seed: 12345 });
    assert.ok(result.meanReturn >= 150, `seed ${seed}: mean return ${result.meanReturn}`);
    assert.deepEqual(agent.evaluate(new CartPole(), { episodes: 100, seed: 12345 }), result);
  }
  // The masked task observes [x, θ] only: a memoryless table stays far from balancing.
  const masked = new TabularQ(cartPoleDiscretizer({ maskVelocity: true }), 2, {
    seed: 1,
    epsilon: { start: 1, end: 0.01, steps: 100_000 },
  });
  masked.learn(new CartPole({ maskVelocity: true }), { steps: 200_000 });
  const result = masked.evaluate(new CartPole({ maskVelocity: true }), { episodes: 100, seed: 1 });
  assert.ok(result.meanReturn < 100, `masked mean return ${result.meanReturn}`);
});
