/**
 * What every agent shares: option checks, the saved-state header, the policy interface and its
 * ownership of recurrent state, action masks, callbacks that stop training, periodic evaluation,
 * and environments written as plain TypeScript types.
 */

import assert from "node:assert/strict";
import type { JsonObject } from "../lib/io/json.ts";
import { type CpuBackend, createCpuBackend } from "../lib/backend/cpu.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import { actionMaskOf, type Env, type ResetResult, type StepResult } from "../lib/envs/env.ts";
import { A2C } from "../lib/rl/a2c.ts";
import type { Agent, EvaluationReport } from "../lib/rl/agent.ts";
import { BanditAgent } from "../lib/rl/bandit_agent.ts";
import { DQN } from "../lib/rl/dqn.ts";
import { DRQN } from "../lib/rl/drqn.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { TabularAgent } from "../lib/rl/q_learning.ts";
import { PPO } from "../lib/rl/ppo.ts";
import { REINFORCE } from "../lib/rl/reinforce.ts";
import { Bandit } from "../lib/envs/bandit.ts";
import { CueEnv, RANDOM_MASK_ACTIONS, RandomMaskEnv } from "./helpers/mod.ts";

/** One small agent of each deep kind, on `backend`. */
function deepAgents(
  env: { observationSize: number; actionCount: number },
  backend = createCpuBackend(),
): Agent[] {
  return [
    new DQN(
      env,
      { hiddenSizes: [8], learningStarts: 20, batchSize: 8, trainFrequency: 4 },
      backend,
    ),
    new DRQN(env, {
      cellUnits: 4,
      hiddenSizes: [],
      learningStarts: 20,
      batchSize: 4,
      sequenceLength: 4,
      burnIn: 2,
      trainFrequency: 4,
    }, backend),
    new A2C(env, { envs: 2, rolloutSteps: 4, cellUnits: 4, hiddenSizes: [] }, backend),
    new REINFORCE(env, { cellUnits: 4, hiddenSizes: [] }, backend),
    new PPO(env, { envs: 2, rolloutSteps: 4, minibatches: 2, epochs: 2, cellUnits: 4 }, backend),
    new PPO(env, { cell: "gru", envs: 2, rolloutSteps: 4, minibatches: 1, cellUnits: 4 }, backend),
    new PPO(env, { cell: "none", envs: 2, rolloutSteps: 4, hiddenSizes: [4] }, backend),
  ];
}

Deno.test("every agent rejects an unknown option, naming the one it meant", () => {
  const spec = { observationSize: 4, actionCount: 2 };
  const cases: [() => unknown, RegExp][] = [
    [
      () => new DQN(spec, { hiddenSize: [8] } as never),
      /option hiddenSize with DQN: did you mean hiddenSizes\?/,
    ],
    [
      () => new DRQN(spec, { lstmUnit: 8 } as never),
      /option lstmUnit with DRQN: did you mean cellUnits\?/,
    ],
    [
      () => new A2C(spec, { gaeLamda: 0.9 } as never),
      /option gaeLamda with A2C: did you mean gaeLambda\?/,
    ],
    [
      () => new REINFORCE(spec, { episodesPerUpdates: 2 } as never),
      /with REINFORCE: did you mean episodesPerUpdate\?/,
    ],
    [
      () => new PPO(spec, { clipRangeValues: 0.2 } as never),
      /option clipRangeValues with PPO: did you mean clipRangeValue\?/,
    ],
    [
      () => new TabularAgent(new CartPole(), { gama: 0.9 } as never),
      /with q-learning: did you mean gamma\?/,
    ],
    [
      () => new BanditAgent(new Bandit(), { algorithm: "ucb", cc: 2 } as never),
      /option cc with ucb: did you mean c\?/,
    ],
  ];
  for (const [build, message] of cases) {
    assert.throws(build, (e: Error) => e instanceof TypeError && message.test(e.message));
  }
});

Deno.test("a saved state restores only into an agent of its kind, options and sizes, naming what differs", async () => {
  const env = new CartPole({ maskVelocity: true });
  const state = await new DRQN(env, { cellUnits: 8 }).getState();
  assert.throws(
    () => new DRQN(env, { cellUnits: 8, gamma: 0.9 }).setState(state),
    /^TypeError: Cannot restore DRQN: the state was saved with gamma 0.99, not 0.9$/,
  );
  assert.throws(
    () =>
      new DRQN(env, { cellUnits: 8, epsilon: { start: 1, end: 0.1, steps: 10_000 } }).setState(
        state,
      ),
    /saved with epsilon.end 0.05, not 0.1$/,
  );
  assert.throws(
    () => new DQN(env).setState(state),
    /Cannot restore DQN from a state of kind "drqn"/,
  );
  assert.throws(
    () => new DRQN(new CartPole(), { cellUnits: 8 }).setState(state),
    /the state is for 2 observations and 2 actions, not 4 and 2/,
  );
  // The static constructors take the options and sizes from the state.
  const copy = DRQN.fromState(state);
  assert.equal(copy.options.cellUnits, 8);
  assert.deepEqual(await copy.getState(), state);
});

Deno.test("a state saved before an option existed restores with that option's default, and only with it", async () => {
  const env = new CartPole({ maskVelocity: true });
  for (const agent of [new DRQN(env, { cellUnits: 8 }), new PPO(env, { cellUnits: 8 })]) {
    const state = await agent.getState();
    // As an older rnnrl saved it: without the newest options.
    const options = { ...(state.json.options as Record<string, unknown>) };
    const older = { ...state, json: { ...state.json, options: options as JsonObject } };
    const dropped = agent instanceof DRQN ? ["exploration", "temperature", "qClip"] : ["embedding"];
    for (const key of dropped) delete options[key];
    const restored = agent instanceof DRQN ? DRQN.fromState(older) : PPO.fromState(older);
    assert.deepEqual((await restored.getState()).arrays, state.arrays, agent.kind);
    assert.deepEqual(restored.options, agent.options, agent.kind);
  }
  const older = await new DRQN(env, { cellUnits: 8 }).getState();
  delete (older.json.options as Record<string, unknown>).exploration;
  assert.throws(
    () => new DRQN(env, { cellUnits: 8, exploration: "boltzmann" }).setState(older),
    /saved with exploration "epsilon", not "boltzmann"$/,
  );
});

Deno.test("act consumes the recurrent state it is given and returns a new one; evaluation leaks nothing", async () => {
  const backend = createCpuBackend({ debug: true }) as CpuBackend;
  const env = new CartPole({ maskVelocity: true });
  for (const agent of deepAgents(env, backend)) {
    const before = backend.liveTensors;
    let state = agent.initialState();
    let { observation } = env.reset({ seed: 1 });
    for (let t = 0; t < 20; t++) {
      const step = await agent.act(observation, state, { mask: actionMaskOf(env) });
      state = step.state;
      const result = env.step(step.action);
      observation = result.observation;
      if (result.terminated || result.truncated) break;
    }
    agent.disposeState(state);
    assert.equal(backend.liveTensors, before, `${agent.kind}: acting leaves tensors behind`);
    await agent.evaluate(new CartPole({ maskVelocity: true }), { episodes: 3, seed: 2 });
    await agent.evaluate(new CartPole({ maskVelocity: true }), {
      episodes: 3,
      seed: 2,
      deterministic: false,
    });
    assert.equal(backend.liveTensors, before, `${agent.kind}: evaluation leaves tensors behind`);
  }
});

Deno.test("learning holds a steady number of tensors: none leaks per step or update", async () => {
  const backend = createCpuBackend({ debug: true }) as CpuBackend;
  const env = new CartPole({ maskVelocity: true });
  for (const agent of deepAgents(env, backend)) {
    await agent.learn(env, { steps: 200 });
    const held = backend.liveTensors;
    await agent.learn(env, { steps: 400 });
    assert.ok(agent.updates > 0, `${agent.kind} made updates`);
    assert.equal(backend.liveTensors, held, `${agent.kind}: learning grows the live tensors`);
  }
});

Deno.test("every discrete agent acts only among the valid actions, learning and evaluating", async () => {
  // RandomMaskEnv throws on an invalid action: finishing is the check.
  for (const agent of deepAgents(new RandomMaskEnv())) {
    await agent.learn(new RandomMaskEnv(), { steps: 300 });
    const result = await agent.evaluate(new RandomMaskEnv(), { episodes: 10, seed: 3 });
    assert.equal(result.episodes, 10, agent.kind);
    await agent.evaluate(new RandomMaskEnv(), { episodes: 5, seed: 3, deterministic: false });
    // With a mask that allows one action, that action it is.
    for (let a = 0; a < RANDOM_MASK_ACTIONS; a++) {
      const mask = new Uint8Array(RANDOM_MASK_ACTIONS);
      mask[a] = 1;
      const step = await agent.act(new Float32Array(4), agent.initialState(), { mask });
      agent.disposeState(step.state);
      assert.equal(step.action, a, `${agent.kind} with only action ${a} valid`);
    }
  }
  // The tabular agent, on a masked game whose observation is the state number.
  const table = new TabularAgent(new MaskedCorridor(), { states: 4, epsilon: 0.5, seed: 1 });
  await table.learn(new MaskedCorridor(), { steps: 2000 });
  const result = await table.evaluate(new MaskedCorridor(), { episodes: 5 });
  assert.deepEqual(result.returns, [1, 1, 1, 1, 1], "the valid way is the only way out");
});

/** A corridor of 4 cells where only "right" (1) is valid except in the last cell (only 0, exit). */
class MaskedCorridor implements Env<Record<string, never>> {
  readonly id = "masked-corridor";
  readonly observationSize = 1;
  readonly actionCount = 3;
  #cell = 0;
  reset(): ResetResult<Record<string, never>> {
    this.#cell = 0;
    return { observation: Float32Array.of(0), info: {} };
  }
  step(action: number): StepResult<Record<string, never>> {
    if (!this.actionMask()[action]) throw new RangeError(`action ${action} is not valid here`);
    const exit = this.#cell === 3;
    if (!exit) this.#cell++;
    return {
      observation: Float32Array.of(this.#cell),
      reward: exit ? 1 : 0,
      terminated: exit,
      truncated: false,
      info: {},
    };
  }
  actionMask(): Uint8Array {
    return this.#cell === 3 ? Uint8Array.of(1, 0, 0) : Uint8Array.of(0, 1, 0);
  }
}

Deno.test("a callback that returns false stops training after the step it saw", async () => {
  const env = new CartPole();
  const agent = new DQN(env, { hiddenSizes: [8] });
  const ends: number[] = [];
  const result = await agent.learn(env, {
    steps: 10_000,
    onEpisode: (e) => {
      ends.push(e.step);
      return ends.length < 3;
    },
  });
  assert.equal(result.stopped, true);
  assert.equal(result.steps, ends[2], "stopped right after the third episode");
  assert.equal(agent.steps, ends[2]);
  // Learning goes on from there when asked again.
  const more = await agent.learn(env, { steps: 10 });
  assert.deepEqual(more, { steps: 10, stopped: false });
});

Deno.test("periodic evaluations come at every multiple of their interval, the same however learn is chunked", async () => {
  const run = async (chunks: number[]) => {
    const env = new CueEnv(2);
    const agent = new A2C(env, {
      envs: 2,
      rolloutSteps: 3,
      cellUnits: 8,
      hiddenSizes: [],
      seed: 4,
    });
    const reports: EvaluationReport[] = [];
    for (const steps of chunks) {
      await agent.learn(env, {
        steps,
        evaluation: { env: new CueEnv(2), every: 120, episodes: 6, seed: 9 },
        onEvaluation: (r) => void reports.push(r),
      });
    }
    return reports;
  };
  const whole = await run([600]);
  assert.deepEqual(whole.map((r) => r.step), [120, 240, 360, 480, 600]);
  assert.ok(whole.every((r) => r.episodes === 6 && r.winRate !== undefined));
  assert.deepEqual(await run([240, 120, 240]), whole);
  // Evaluating does not change what is learned.
  const env = new CueEnv(2);
  const plain = new A2C(env, { envs: 2, rolloutSteps: 3, cellUnits: 8, hiddenSizes: [], seed: 4 });
  await plain.learn(env, { steps: 600 });
  const evaluated = new A2C(env, {
    envs: 2,
    rolloutSteps: 3,
    cellUnits: 8,
    hiddenSizes: [],
    seed: 4,
  });
  await evaluated.learn(new CueEnv(2), {
    steps: 600,
    evaluation: { env: new CueEnv(2), every: 100 },
  });
  assert.deepEqual(await evaluated.getState(), await plain.getState());
});

Deno.test("the hand-written policy loop and the evaluator agree for recurrent agents", async () => {
  for (const agent of deepAgents(new CueEnv(2))) {
    await agent.learn(new CueEnv(2), { steps: 300 });
    const returns: number[] = [];
    const env = new CueEnv(2);
    for (let e = 0; e < 8; e++) {
      let { observation } = env.reset(e === 0 ? { seed: 5 } : {});
      let state = agent.initialState(), total = 0;
      for (;;) {
        const step = await agent.act(observation, state);
        state = step.state;
        const result = env.step(step.action);
        total += result.reward;
        observation = result.observation;
        if (result.terminated || result.truncated) break;
      }
      agent.disposeState(state);
      returns.push(total);
    }
    const result = await evaluate(new CueEnv(2), agent, { episodes: 8, seed: 5 });
    assert.deepEqual(result.returns, returns, agent.kind);
  }
});

/** An environment written as a plain interface: its info has no index signature. */
interface PlainInfo {
  lives: number;
}
interface PlainEnv extends Env<PlainInfo> {
  readonly extra: string;
}

Deno.test("an environment typed as a plain interface fits every agent", async () => {
  const inner = new CartPole();
  const env: PlainEnv = {
    id: "plain",
    extra: "x",
    observationSize: 4,
    actionCount: 2,
    reset: (options) => ({ ...inner.reset(options), info: { lives: 1 } }),
    step: (action) => ({ ...inner.step(action), info: { lives: 1 } }),
    clone: () => env,
  };
  const agents: Agent[] = [...deepAgents(env), new TabularAgent({ ...env, id: "cartpole" })];
  for (const agent of agents) {
    if (agent instanceof A2C) await agent.learn([env, env], { steps: 20 });
    else await agent.learn(env, { steps: 20 });
    assert.equal((await agent.evaluate(env, { episodes: 1 })).episodes, 1);
  }
});

Deno.test("the recurrent state is a required argument of act", () => {
  const agent = new DRQN({ observationSize: 2, actionCount: 2 }, { cellUnits: 4 });
  // Dropping the state, as a loop that forgets it would, does not type-check.
  const forgetful = () =>
    // @ts-expect-error: act needs the state the episode is in
    agent.act(Float32Array.of(0, 0));
  assert.equal(typeof forgetful, "function");
});
