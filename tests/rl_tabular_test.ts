import assert from "node:assert/strict";
import { CartPole } from "../lib/envs/cartpole.ts";
import type { Env, ResetResult, StepResult } from "../lib/envs/env.ts";
import { cartPoleDiscretizer, Discretizer, IndexEncoder } from "../lib/rl/discretize.ts";
import {
  resolveTabularOptions,
  TabularAgent,
  type TabularAgentOptions,
  TabularQ,
} from "../lib/rl/q_learning.ts";

/**
 * A corridor of `length` states; action 1 moves right, 0 left (state 0 stays put). Moving right
 * from the last state ends the episode with reward 1; every other step pays 0.
 * With discount γ: V*(s) = γ^(length − 1 − s), Q*(s, 1) = V*(s) for the last state and
 * γ·V*(s + 1) = V*(s) before it, Q*(s, 0) = γ·V*(max(s − 1, 0)).
 */
class Chain implements Env<Record<string, never>> {
  readonly id = "chain";
  readonly observationSize = 1;
  readonly actionCount = 2;
  #state = 0;
  #t = 0;
  constructor(readonly length: number, readonly maxEpisodeSteps: number) {}
  reset(): ResetResult<Record<string, never>> {
    this.#state = 0;
    this.#t = 0;
    return { observation: Float32Array.of(0), info: {} };
  }
  step(action: number): StepResult<Record<string, never>> {
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
class CliffWalk implements Env<Record<string, never>> {
  readonly id = "cliff-walk";
  readonly observationSize = 1;
  readonly actionCount = 4;
  row = 3;
  col = 0;
  #t = 0;
  reset(): ResetResult<Record<string, never>> {
    this.row = 3;
    this.col = 0;
    this.#t = 0;
    return { observation: Float32Array.of(36), info: {} };
  }
  step(action: number): StepResult<Record<string, never>> {
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
function greedyPath(agent: TabularAgent): { cells: [number, number][]; reward: number } {
  const env = new CliffWalk();
  let { observation } = env.reset();
  const cells: [number, number][] = [[3, 0]];
  let reward = 0;
  for (let t = 0; t < 60; t++) {
    const step = env.step(agent.table.greedyAction(agent.encoder.encode(observation)));
    observation = step.observation;
    reward += step.reward;
    cells.push([env.row, env.col]);
    if (step.terminated) break;
  }
  return { cells, reward };
}

/** Learns `steps` steps and returns the returns of the episodes that ended. */
async function learnReturns(agent: TabularAgent, env: Env<unknown>, steps: number) {
  const returns: number[] = [];
  await agent.learn(env, { steps, onEpisode: (e) => void returns.push(e.return) });
  return returns;
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

Deno.test("TabularAgent.epsilon follows a constant or a linear ramp over learned steps", async () => {
  const chain = new Chain(5, 10);
  const constant = new TabularAgent(chain, { states: 5, epsilon: 0.3 });
  await constant.learn(chain, { steps: 50 });
  assert.equal(constant.epsilon, 0.3);
  const ramp = new TabularAgent(chain, { states: 5, epsilon: { start: 1, end: 0.2, steps: 100 } });
  assert.equal(ramp.epsilon, 1);
  await ramp.learn(chain, { steps: 25 });
  assert.ok(Math.abs(ramp.epsilon - 0.8) < 1e-15);
  await ramp.learn(chain, { steps: 100 });
  assert.equal(ramp.epsilon, 0.2);
  assert.throws(
    () => resolveTabularOptions({ epsilon: { start: 1, end: 2, steps: 5 } }),
    RangeError,
  );
  assert.throws(
    () => resolveTabularOptions({ epsilon: { start: 1, end: 0, steps: -1 } }),
    RangeError,
  );
});

Deno.test("TabularQ update uses the max target for Q-learning and Q(s', a') for SARSA", () => {
  const options = { algorithm: "q-learning" as const, stepSize: 0.5, gamma: 0.9, initialValue: 0 };
  const q = new TabularQ(2, 2, options);
  q.update(1, 0, 2, 1, true); // Q(1, 0) = 0.5 · 2 = 1
  q.update(1, 1, 4, 1, true); // Q(1, 1) = 2
  assert.equal(q.update(0, 0, 1, 1, false), 1 + 0.9 * 2); // the TD error
  assert.equal(q.value(0, 0), 0.5 * (1 + 0.9 * 2));
  const s = new TabularQ(2, 2, { ...options, algorithm: "sarsa" });
  s.update(1, 0, 2, 1, true);
  s.update(1, 1, 4, 1, true);
  s.update(0, 0, 1, 1, false, 0); // bootstraps from Q(1, 0) = 1, not the max
  assert.equal(s.value(0, 0), 0.5 * (1 + 0.9 * 1));
  assert.throws(() => s.update(0, 0, 1, 1, false), RangeError);
  assert.throws(() => q.update(2, 0, 1, 1, true), RangeError);
  assert.throws(() => resolveTabularOptions({ gamma: 2 }), RangeError);
  assert.throws(() => resolveTabularOptions({ epsilon: -1 }), RangeError);
  assert.throws(() => resolveTabularOptions({ algorithm: "td" as "sarsa" }), RangeError);
  assert.throws(
    () => resolveTabularOptions({ stepsize: 0.1 } as Partial<TabularAgentOptions>),
    /Cannot use option stepsize with q-learning: did you mean stepSize\?/,
  );
});

Deno.test("TabularAgent Q-learning converges to the optimal Q values of a chain", async () => {
  const length = 5;
  const gamma = 0.9;
  // Off-policy: a uniformly random behaviour still learns Q*. Time limits bootstrap, so
  // truncating episodes at 20 steps must not bias the values.
  const chain = new Chain(length, 20);
  const agent = new TabularAgent(chain, {
    states: length,
    stepSize: 0.2,
    gamma,
    epsilon: 1,
    seed: 3,
  });
  const returns = await learnReturns(agent, chain, 30_000);
  assert.ok(returns.length > 100);
  const v = (s: number) => gamma ** (length - 1 - s);
  for (let s = 0; s < length; s++) {
    const right = s === length - 1 ? 1 : gamma * v(s + 1);
    const left = gamma * v(Math.max(s - 1, 0));
    const value = (a: number) => agent.table.value(s, a);
    assert.ok(Math.abs(value(1) - right) < 1e-4, `Q(${s}, right) = ${value(1)}`);
    assert.ok(Math.abs(value(0) - left) < 1e-4, `Q(${s}, left) = ${value(0)}`);
    assert.equal((await agent.act(Float32Array.of(s), undefined)).action, 1);
  }
  const evaluation = await agent.evaluate(new Chain(length, 20), { episodes: 3 });
  assert.deepEqual(evaluation.returns, [1, 1, 1]);
  assert.deepEqual(evaluation.lengths, [5, 5, 5]);
});

Deno.test("TabularAgent learns Sutton and Barto's cliff-walking paths: Q-learning risky, SARSA safe", async () => {
  for (const seed of [1, 2, 3]) {
    const options = { states: 48, stepSize: 0.2, gamma: 1, epsilon: 0.1, seed };
    const env = new CliffWalk();
    const q = new TabularAgent(env, { ...options, algorithm: "q-learning" });
    const s = new TabularAgent(env, { ...options, algorithm: "sarsa" });
    const qReturns = (await learnReturns(q, new CliffWalk(), 20_000)).slice(100);
    const sReturns = (await learnReturns(s, new CliffWalk(), 20_000)).slice(100);
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

Deno.test("TabularAgent continues identically from its saved state", async () => {
  const options = { states: 48, algorithm: "sarsa" as const, stepSize: 0.3, gamma: 1, seed: 4 };
  const env = new CliffWalk();
  const a = new TabularAgent(env, options);
  await a.learn(env, { steps: 3000 });
  const b = TabularAgent.fromState(await a.getState());
  assert.deepEqual(b.options, a.options);
  assert.equal(b.steps, 3000);
  const ra = await learnReturns(a, env, 2000);
  const rb = await learnReturns(b, new CliffWalk(), 2000);
  assert.deepEqual(rb, ra);
  assert.deepEqual(await b.getState(), await a.getState());
  const saved = await a.getState();
  assert.throws(
    () => new TabularAgent(env, { ...options, states: 47 }).setState(saved),
    /saved with states 48, not 47/,
  );
  await assert.rejects(() => b.learn(new Chain(3, 5), { steps: 10 }), TypeError);
});

Deno.test("TabularAgent Q-learning balances discretised CartPole; without velocities it cannot", async () => {
  for (const seed of [1, 2]) {
    const env = new CartPole();
    const agent = new TabularAgent(env, {
      seed,
      stepSize: 0.1,
      gamma: 0.99,
      epsilon: { start: 1, end: 0.01, steps: 100_000 },
    });
    const episodes: number[] = [];
    await agent.learn(env, { steps: 200_000, onEpisode: (e) => void episodes.push(e.episode) });
    assert.deepEqual(episodes, episodes.map((_, i) => i + 1));
    const result = await agent.evaluate(new CartPole(), { episodes: 100, seed: 12345 });
    assert.ok(result.meanReturn >= 150, `seed ${seed}: mean return ${result.meanReturn}`);
    assert.deepEqual(await agent.evaluate(new CartPole(), { episodes: 100, seed: 12345 }), result);
  }
  // The masked task observes [x, θ] only: a memoryless table stays far from balancing.
  const env = new CartPole({ maskVelocity: true });
  const masked = new TabularAgent(env, {
    seed: 1,
    epsilon: { start: 1, end: 0.01, steps: 100_000 },
  });
  await masked.learn(env, { steps: 200_000 });
  const result = await masked.evaluate(new CartPole({ maskVelocity: true }), {
    episodes: 100,
    seed: 1,
  });
  assert.ok(result.meanReturn < 100, `masked mean return ${result.meanReturn}`);
  assert.equal(masked.encoder.stateCount, cartPoleDiscretizer({ maskVelocity: true }).stateCount);
});
