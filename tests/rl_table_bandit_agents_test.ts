import assert from "node:assert/strict";
import { join } from "node:path";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { Bandit } from "../lib/envs/bandit.ts";
import { CartPole } from "../lib/envs/cartpole.ts";
import type { Env } from "../lib/envs/env.ts";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../lib/io/checkpoint.ts";
import type { Agent, EpisodeReport, LearnOptions, TrainReport } from "../lib/rl/agent.ts";
import { BanditAgent, type BanditAlgo } from "../lib/rl/bandit_agent.ts";
import { EnvCursor } from "../lib/rl/env_cursor.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import { TabularAgent } from "../lib/rl/q_learning.ts";
import type { AgentState } from "../lib/rl/state.ts";
import { presetFor } from "../lib/run/presets.ts";
import { type AlgoName, createAgent, type EnvName } from "../lib/run/registry.ts";
import { train, type TrainConfig } from "../lib/run/trainer.ts";

const backend = createCpuBackend();

/** A state through the checkpoint format and back, as a resumed process would see it. */
function throughCheckpoint(state: AgentState): AgentState {
  const bytes = encodeCheckpoint({ header: state.json, arrays: state.arrays });
  const back = decodeCheckpoint(bytes, { finiteOnly: true });
  return { json: back.header, arrays: back.arrays };
}

type Report = ["episode", EpisodeReport] | ["train", TrainReport];

function recorder(reports: Report[]): Omit<LearnOptions, "steps"> {
  return {
    onEpisode: (r) => void reports.push(["episode", { ...r }]),
    onUpdate: (r) => void reports.push(["train", { ...r }]),
  };
}

/**
 * Learns `total` steps in one call, and the same in two calls with a save, a checkpoint round
 * trip, a fresh agent and a fresh environment in between; both must agree exactly.
 */
async function assertResumesExactly(
  make: () => Agent,
  makeEnv: (seed: number) => Env<unknown>,
  split: number,
  total: number,
): Promise<AgentState> {
  const whole: Report[] = [];
  const reference = make();
  await reference.learn(makeEnv(1), { steps: total, ...recorder(whole) });

  const parts: Report[] = [];
  const first = make();
  await first.learn(makeEnv(1), { steps: split, ...recorder(parts) });
  const saved = throughCheckpoint(await first.getState());
  const episodeActions = saved.arrays.find((a) => a.name === "env.actions")!;
  assert.ok(episodeActions.data.length > 0, "the split falls inside an episode");
  const second = make();
  second.setState(saved);
  assert.equal(second.steps, split);
  // Another environment object, seeded otherwise: the agent puts it back where the episode was.
  await second.learn(makeEnv(99), { steps: total - split, ...recorder(parts) });

  assert.ok(whole.some(([kind]) => kind === "episode"), "episodes finished");
  assert.deepEqual(parts, whole);
  const expected = await reference.getState();
  assert.deepEqual(await second.getState(), expected);
  return expected;
}

Deno.test("TabularAgent continues a run exactly after getState, a checkpoint and setState", async () => {
  for (const algorithm of ["q-learning", "sarsa"] as const) {
    const options = { algorithm, seed: 3, logInterval: 500 };
    const state = await assertResumesExactly(
      () => new TabularAgent(new CartPole(), options),
      (seed) => new CartPole({ seed }),
      4321,
      9000,
    );
    assert.equal(state.json.kind, algorithm);
    // The table really is float64: its bytes hold values no float32 can.
    const q = state.arrays.find((a) => a.name === "q")!;
    const values = new Float64Array(new Uint8Array(q.data).buffer);
    assert.ok(values.some((v) => v !== 0 && Math.fround(v) !== v));
  }
});

Deno.test("TabularAgent learns the same whatever the chunks of learn", async () => {
  const run = async (chunks: number[]) => {
    const agent = new TabularAgent(new CartPole(), { algorithm: "sarsa", seed: 5 });
    const env = new CartPole();
    for (const steps of chunks) await agent.learn(env, { steps });
    return agent.getState();
  };
  assert.deepEqual(await run([1, 999, 2500, 1500]), await run([5000]));
});

Deno.test("TabularAgent Q-learning preset balances CartPole; SARSA's mostly does", async () => {
  const cases: [AlgoName, number][] = [["q-learning", 475], ["sarsa", 400]];
  for (const [algo, threshold] of cases) {
    const env = new CartPole();
    const preset = presetFor("cartpole", algo);
    const agent = createAgent(algo, env, { ...preset.options, seed: 0 }, backend);
    await agent.learn(env, { steps: preset.steps });
    const evaluation = await agent.evaluate(new CartPole(), { episodes: 20, seed: 1000 });
    assert.ok(evaluation.meanReturn >= threshold, `${algo}: ${evaluation.meanReturn}`);
    // Greedy evaluation draws nothing from the agent: it is repeatable and leaves the agent be.
    const before = await agent.getState();
    assert.deepEqual(
      await agent.evaluate(new CartPole(), { episodes: 20, seed: 1000 }),
      evaluation,
    );
    assert.deepEqual(await agent.getState(), before);
  }
});

Deno.test("TabularAgent reports the mean squared TD error every logInterval steps", async () => {
  const env = new CartPole();
  const agent = new TabularAgent(env, { seed: 1, logInterval: 250 });
  const reports: TrainReport[] = [];
  await agent.learn(env, { steps: 1000, onUpdate: (r) => void reports.push(r) });
  assert.deepEqual(reports.map((r) => r.step), [250, 500, 750, 1000]);
  for (const r of reports) assert.ok(r.loss !== undefined && r.loss > 0 && Number.isFinite(r.loss));
  assert.equal(reports[3].epsilon, agent.epsilon);
});

Deno.test("BanditAgent continues a problem exactly after getState and setState", async () => {
  const cases: [BanditAlgo, Record<string, number>][] = [
    ["epsilon-greedy", { epsilon: 0.1 }],
    ["ucb", { c: 1 }],
    ["thompson", {}],
    ["gradient-bandit", { stepSize: 0.2 }],
  ];
  for (const [algo, options] of cases) {
    await assertResumesExactly(
      () => new BanditAgent(new Bandit(), { algorithm: algo, ...options, seed: 4 }),
      (seed) => new Bandit({ seed }),
      1234,
      2500,
    );
  }
});

Deno.test("BanditAgent logs each stretch's mean reward and optimal fraction by pull within the problem", async () => {
  // The same run logged every pull gives each pull's reward and whether it was optimal; grouping
  // those by hand must give the statistics of a run logged every 300 pulls, exactly.
  const run = async (logInterval: number) => {
    const agent = new BanditAgent(new Bandit(), { algorithm: "ucb", c: 2, logInterval, seed: 7 });
    const reports: TrainReport[] = [];
    await agent.learn(new Bandit(), { steps: 2000, onUpdate: (r) => void reports.push(r) });
    return reports;
  };
  const pulls = await run(1);
  assert.equal(pulls.length, 2000);
  assert.deepEqual(pulls.slice(998, 1002).map((r) => r.pull), [999, 1000, 1, 2]);
  for (const r of pulls) assert.ok(r.optimalAction === 0 || r.optimalAction === 1);
  const expected: TrainReport[] = [];
  for (let start = 0; start < 2000; start += 1000) {
    // Stretches of 300 within each 1000-pull problem, the last one 100 pulls long.
    for (const [from, to] of [[0, 300], [300, 600], [600, 900], [900, 1000]]) {
      const stretch = pulls.slice(start + from, start + to);
      let reward = 0;
      let optimal = 0;
      for (const r of stretch) {
        reward += r.reward!;
        optimal += r.optimalAction!;
      }
      expected.push({
        step: start + to,
        pull: to,
        reward: reward / stretch.length,
        optimalAction: optimal / stretch.length,
      });
    }
  }
  assert.deepEqual(await run(300), expected);
  assert.ok(expected[3].optimalAction! > expected[0].optimalAction!, "UCB learns the problem");
});

Deno.test("BanditAgent with UCB collects more reward than greedy on the same problems", async () => {
  const meanReturn = async (algo: BanditAlgo, options: Record<string, number>) => {
    const env = new Bandit();
    const agent = new BanditAgent(env, { algorithm: algo, ...options, seed: 2 });
    const returns: number[] = [];
    await agent.learn(env, { steps: 100_000, onEpisode: (e) => void returns.push(e.return) });
    assert.equal(returns.length, 100);
    return returns.reduce((a, b) => a + b, 0) / returns.length;
  };
  const greedy = await meanReturn("epsilon-greedy", { epsilon: 0 });
  const ucb = await meanReturn("ucb", { c: 2 });
  // Sutton and Barto's figure 2.4: about 1.0 per pull for greedy, 1.4 for UCB (c = 2).
  assert.ok(greedy > 700 && greedy < 1150, `greedy ${greedy}`);
  assert.ok(ucb > greedy + 200, `UCB ${ucb}, greedy ${greedy}`);
});

Deno.test("BanditAgent meets each problem with a fresh learner and acts on its estimates", async () => {
  const env = new Bandit({ maxEpisodeSteps: 50 });
  const agent = new BanditAgent(env, { algorithm: "ucb", seed: 1 });
  await agent.learn(env, { steps: 120 });
  // 20 pulls into the third problem: UCB has tried each of the 10 arms at least once.
  const counts = (agent.learner.save() as { counts: number[] }).counts;
  assert.equal(counts.reduce((a, b) => a + b, 0), 20);
  assert.ok(counts.every((n) => n >= 1));
});

Deno.test("BanditAgent evaluates by running its algorithm online on fresh problems", async () => {
  const agent = new BanditAgent(new Bandit(), { algorithm: "ucb", seed: 1 });
  const result = await evaluate(new Bandit(), agent, { episodes: 40, seed: 5 });
  // UCB (c = 2) collects about 1.4 per pull over 1000 pulls (Sutton and Barto's figure 2.4);
  // a policy that ignored the rewards would collect 0 on average.
  assert.ok(result.meanReturn > 1150, `UCB evaluation ${result.meanReturn}`);
});

Deno.test("createAgent rejects algorithms on environments they cannot play", () => {
  const cases: [AlgoName, Env<unknown>, RegExp][] = [
    [
      "ucb",
      new CartPole(),
      /^Cannot train ucb on cartpole: bandit algorithms play the bandit environment only$/,
    ],
    ["thompson", new Minesweeper(), /^Cannot train thompson on minesweeper: bandit algorithms/],
    [
      "q-learning",
      new Minesweeper(),
      /^Cannot train q-learning on minesweeper: tabular .*cartpole/,
    ],
    [
      "sarsa",
      new Bandit(),
      /^Cannot train sarsa on bandit: tabular algorithms discretise cartpole/,
    ],
  ];
  for (const [algo, env, message] of cases) {
    assert.throws(() => createAgent(algo, env, {}, backend), (e: Error) => {
      assert.ok(e instanceof RangeError, `${algo}: ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(
    () => createAgent("ucb", new Bandit(), { epsilon: 0.1 }, backend),
    /^TypeError: Cannot use option epsilon with ucb: its options are c, stepSize, initialValue, algorithm, logInterval, seed$/,
  );
  assert.throws(
    () => createAgent("q-learning", new CartPole(), { hiddenSizes: [4] }, backend),
    TypeError,
  );
  assert.throws(() => createAgent("ucb", new Bandit(), { c: -1 }, backend), RangeError);
  assert.throws(() => createAgent("sarsa", new CartPole(), { gamma: 2 }, backend), RangeError);
  assert.throws(
    () => createAgent("thompson", new Bandit(), { likelihood: "bernoulli" }, backend),
    /Cannot use thompson with likelihood "bernoulli" on a gaussian bandit/,
  );
  // The command line's --learning-rate sets the step size.
  const agent = createAgent("q-learning", new CartPole(), { learningRate: 0.3 }, backend);
  assert.equal((agent as TabularAgent).options.stepSize, 0.3);
});

Deno.test("EnvCursor replays a seeded episode where it cannot snapshot, and refuses another environment", () => {
  // An environment without snapshots: CartPole's dynamics, its getState and setState hidden.
  const opaque = (options = {}) => {
    const cartpole = new CartPole(options);
    return {
      id: cartpole.id,
      observationSize: cartpole.observationSize,
      actionCount: cartpole.actionCount,
      reset: (o?: { seed?: number }) => cartpole.reset(o),
      step: (a: number) => cartpole.step(a),
    };
  };
  const cursor = new EnvCursor({ seed: 3, reseed: "every" });
  cursor.begin(opaque());
  for (let i = 0; i < 5; i++) cursor.step(i % 2);
  const saved = cursor.getState("e.");
  const copy = new EnvCursor({ seed: 0 });
  copy.setState(saved, "e.");
  assert.throws(
    () => copy.begin(opaque({ integrator: "semi-implicit-euler" })),
    /^TypeError: Cannot restore the episode: replaying its 5 actions does not arrive/,
  );
  const again = new EnvCursor({ seed: 0 });
  again.setState(saved, "e.");
  const { observation, fresh } = again.begin(opaque());
  assert.deepEqual(observation, cursor.observation);
  assert.equal(fresh, false);
  assert.equal(again.episodeReturn, 5);
  // Seeded only at the first reset, a later episode cannot be replayed: a fresh one starts.
  const first = new EnvCursor({ seed: 3 });
  first.begin(opaque());
  while (first.step(0).ended === null);
  first.next();
  first.step(1);
  const later = new EnvCursor({ seed: 3 });
  later.setState(first.getState("e."), "e.");
  assert.equal(later.begin(opaque()).fresh, true);
  assert.equal(later.episodeLength, 0);
});

Deno.test("train resumes a tabular and a bandit run mid-episode to the same results", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rl_adapters_" });
  try {
    const config = (env: EnvName, algo: AlgoName, steps: number, every: number): TrainConfig => ({
      env,
      algo,
      seed: 1,
      steps,
      backend: "cpu",
      envOptions: {},
      agent: presetFor(env, algo).options,
      checkpointEvery: every,
      evalEpisodes: 5,
      evalSeed: 7,
      evalEvery: 0,
      evalEveryEpisodes: 10,
      stopOnReturn: null,
    });
    const configs = [
      config("cartpole", "q-learning", 30_000, 7_000),
      config("bandit", "ucb", 20_000, 7_777),
    ];
    for (const config of configs) {
      const out = join(dir, config.algo);
      const quiet = { log: () => {}, terminal: false };
      await train(config, { out, ...quiet });
      const metrics = await Deno.readTextFile(join(out, "metrics.jsonl"));
      const evaluation = JSON.parse(await Deno.readTextFile(join(out, "eval.json")));
      // As if the process had died after the last-but-one checkpoint (inside an episode).
      await Deno.rename(join(out, "checkpoint.prev.bin"), join(out, "checkpoint.bin"));
      await Deno.remove(join(out, "eval.json"));
      const resumed = await train(config, { out, resume: true, ...quiet });
      assert.equal(await Deno.readTextFile(join(out, "metrics.jsonl")), metrics);
      const { wallTimeSeconds: _a, ...expected } = evaluation;
      const { wallTimeSeconds: _b, ...actual } = JSON.parse(
        await Deno.readTextFile(join(out, "eval.json")),
      );
      assert.deepEqual(actual, expected);
      assert.equal(resumed.evaluation.meanReturn, evaluation.meanReturn);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task train runs a bandit algorithm end to end and rejects a mismatched pair", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rl_adapters_cli_" });
  const trainTs = new URL("../tasks/train.ts", import.meta.url).pathname;
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", "--allow-env", trainTs, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
  try {
    const out = join(dir, "run");
    const ok = await run(
      ["--env", "bandit", "--algo", "ucb", "--steps", "5000", "--out", out, "--eval-episodes", "5"],
    );
    assert.equal(ok.code, 0, new TextDecoder().decode(ok.stderr));
    const evaluation = JSON.parse(await Deno.readTextFile(join(out, "eval.json")));
    assert.equal(evaluation.episodes, 5);
    assert.equal(evaluation.returns.length, 5);
    assert.ok((await Deno.stat(join(out, "report.html"))).size > 0);
    const episodes = (await Deno.readTextFile(join(out, "metrics.jsonl"))).trim().split("\n")
      .map((line) => JSON.parse(line)).filter((m) => m.kind === "episode");
    assert.deepEqual(episodes.map((e) => e.length), [1000, 1000, 1000, 1000, 1000]);

    const bad = await run(["--env", "cartpole", "--algo", "ucb", "--out", join(dir, "bad")]);
    assert.equal(bad.code, 2);
    assert.equal(
      new TextDecoder().decode(bad.stderr).trim(),
      "error: Cannot train ucb on cartpole: bandit algorithms play the bandit environment only",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
