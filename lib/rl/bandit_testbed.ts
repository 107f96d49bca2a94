/**
 * The 10-armed testbed of Sutton & Barto (section 2.3), batched over runs.
 *
 * Each run is a new bandit problem: the arms' true values q*(a) are drawn from N(0, 1) (or another
 * mean) and a pull of arm a pays N(q*(a), 1). Every method meets the same problems. The state of
 * all runs lives in flat typed arrays (run r's arm a at index r·arms + a) and each time step
 * advances every run before the next step starts, accumulating the mean reward and the fraction
 * of runs that pulled their optimal arm. Each run has its own agent and reward RNGs, seeded from
 * (seed, method name, run), so a run's trajectory does not depend on how many runs there are or
 * which other methods are compared, and it is exactly what the scalar agent of
 * {@linkcode createTestbedAgent} does with those seeds.
 *
 * @example
 * ```ts
 * import { runTestbed, windowMean } from "./bandit_testbed.ts";
 * const result = runTestbed({
 *   runs: 50,
 *   steps: 200,
 *   methods: [{ name: "epsilon=0.1", kind: "epsilon-greedy", options: { epsilon: 0.1 } }],
 * });
 * const late = windowMean(result.methods["epsilon=0.1"], 101, 200);
 * if (!(late.reward > 0.5)) throw new Error("epsilon-greedy learns");
 * ```
 *
 * @module
 */

import { Rng } from "../io/rng.ts";
import {
  argmaxRandom,
  type BanditLearner,
  EpsilonGreedy,
  type EpsilonGreedyOptions,
  GaussianThompson,
  type GaussianThompsonOptions,
  GradientBandit,
  type GradientBanditOptions,
  sampleCategorical,
  softmaxInto,
  Ucb,
  type UcbOptions,
} from "./bandits.ts";

/** One method of the testbed: a readable name, an agent kind and its options (without a seed). */
export type TestbedMethod =
  | { name: string; kind: "epsilon-greedy"; options: Omit<EpsilonGreedyOptions, "seed"> }
  | { name: string; kind: "ucb"; options: Omit<UcbOptions, "seed"> }
  | { name: string; kind: "thompson-gaussian"; options: Omit<GaussianThompsonOptions, "seed"> }
  | { name: string; kind: "gradient"; options: Omit<GradientBanditOptions, "seed"> };

/** Options of {@linkcode runTestbed}. */
export interface TestbedOptions {
  /** The number of independent bandit problems averaged over. Default 2000. */
  runs?: number;
  /** The number of pulls per run. Default 1000. */
  steps?: number;
  /** The number of arms. Default 10. */
  arms?: number;
  /** The seed every RNG is derived from. Default 0. */
  seed?: number;
  /** The mean of the distribution of true values q*(a) (figure 2.5 uses 4). Default 0. */
  trueMean?: number;
  /** The standard deviation of the reward noise around q*(a). Default 1. */
  rewardStd?: number;
  /** The methods to compare; names must be unique. Default {@linkcode defaultTestbedMethods}. */
  methods?: TestbedMethod[];
}

/** One method's learning curves, each entry averaged over the runs. */
export interface TestbedCurve {
  /** Mean reward at each step. */
  reward: Float64Array;
  /** Fraction of runs that pulled their optimal arm at each step. */
  optimal: Float64Array;
}

/** What {@linkcode runTestbed} returns. */
export interface TestbedResult {
  /** The number of runs averaged over. */
  runs: number;
  /** The number of steps per run. */
  steps: number;
  /** The curves by method name, in the order the methods were given. */
  methods: Record<string, TestbedCurve>;
}

/** The contents of `testbed.json`, the format the report reads (lib/report's `Testbed`). */
export interface TestbedJson {
  /** The number of runs averaged over. */
  runs: number;
  /** The number of steps per run. */
  steps: number;
  /** The curves by method name: `steps` mean rewards and `steps` optimal-action fractions each. */
  methods: Record<string, { reward: number[]; optimal: number[] }>;
}

/** The seeds of one run of one method; see {@linkcode testbedSeeds}. */
export interface TestbedSeeds {
  /** Seeds the RNG that draws the run's true values (shared by all methods). */
  problem: number;
  /** Seeds the agent's RNG. */
  agent: number;
  /** Seeds the RNG of the reward noise. */
  reward: number;
}

/**
 * The methods compared by default: greedy and epsilon-greedy with sample averages (figure 2.2),
 * UCB with c = 2 (figure 2.4), optimistic greedy (figure 2.3), the gradient bandit with a baseline
 * (figure 2.5, here on the mean-0 testbed) and Gaussian Thompson sampling with the testbed's own
 * prior N(0, 1) and noise 1.
 *
 * @returns A new array of methods.
 *
 * @example
 * ```ts
 * import { defaultTestbedMethods } from "@rnnrl/rnnrl";
 * if (defaultTestbedMethods()[0].name !== "epsilon=0") throw new Error("greedy first");
 * ```
 */
export function defaultTestbedMethods(): TestbedMethod[] {
  return [
    { name: "epsilon=0", kind: "epsilon-greedy", options: { epsilon: 0 } },
    { name: "epsilon=0.01", kind: "epsilon-greedy", options: { epsilon: 0.01 } },
    { name: "epsilon=0.1", kind: "epsilon-greedy", options: { epsilon: 0.1 } },
    { name: "ucb c=2", kind: "ucb", options: { c: 2 } },
    {
      name: "optimistic Q1=5 alpha=0.1",
      kind: "epsilon-greedy",
      options: { epsilon: 0, initialValue: 5, stepSize: 0.1 },
    },
    { name: "gradient alpha=0.1 baseline", kind: "gradient", options: { stepSize: 0.1 } },
    { name: "thompson gaussian", kind: "thompson-gaussian", options: {} },
  ];
}

/**
 * Derives the seeds of run `run` of the method named `method` from the testbed seed. The problem
 * seed ignores the method, so every method meets the same true values.
 *
 * @param seed The testbed seed.
 * @param method The method's name.
 * @param run The run's index.
 * @returns The three seeds.
 *
 * @example
 * ```ts
 * import { testbedSeeds } from "./bandit_testbed.ts";
 * const a = testbedSeeds(0, "epsilon=0", 3);
 * const b = testbedSeeds(0, "ucb c=2", 3);
 * if (a.problem !== b.problem || a.agent === b.agent) throw new Error("shared problems only");
 * ```
 */
export function testbedSeeds(seed: number, method: string, run: number): TestbedSeeds {
  const base = fmix32(fmix32(seed >>> 0) ^ run);
  const named = fmix32(base ^ hashString(method));
  return {
    problem: fmix32(base ^ 0x243f6a88),
    agent: fmix32(named ^ 1),
    reward: fmix32(named ^ 2),
  };
}

/**
 * Creates the scalar agent that plays one run of a testbed method: the batched testbed behaves
 * exactly like this agent seeded with {@linkcode testbedSeeds}' `agent` seed.
 *
 * @param method The method.
 * @param arms The number of arms.
 * @param seed The agent's seed.
 * @returns A new agent.
 *
 * @example
 * ```ts
 * import { createTestbedAgent } from "./bandit_testbed.ts";
 * const agent = createTestbedAgent({ name: "ucb", kind: "ucb", options: { c: 1 } }, 10, 0);
 * if (agent.arms !== 10) throw new Error("ten arms");
 * ```
 */
export function createTestbedAgent(
  method: TestbedMethod,
  arms: number,
  seed: number,
): BanditLearner {
  switch (method.kind) {
    case "epsilon-greedy":
      return new EpsilonGreedy(arms, { ...method.options, seed });
    case "ucb":
      return new Ucb(arms, { ...method.options, seed });
    case "thompson-gaussian":
      return new GaussianThompson(arms, { ...method.options, seed });
    case "gradient":
      return new GradientBandit(arms, { ...method.options, seed });
    default:
      throw new TypeError(
        `Cannot create testbed agent: unknown kind ${
          JSON.stringify((method as { kind?: unknown }).kind)
        }`,
      );
  }
}

/**
 * Runs the testbed: every method on the same `runs` bandit problems for `steps` pulls each.
 * The default 2000 runs × 1000 steps for the seven default methods takes a few seconds.
 *
 * @param options What to run.
 * @returns The averaged learning curves.
 */
export function runTestbed(options: TestbedOptions = {}): TestbedResult {
  const runs = options.runs ?? 2000;
  const steps = options.steps ?? 1000;
  const arms = options.arms ?? 10;
  const seed = options.seed ?? 0;
  const trueMean = options.trueMean ?? 0;
  const rewardStd = options.rewardStd ?? 1;
  const methods = options.methods ?? defaultTestbedMethods();
  checkInteger(runs, "runs", 1);
  checkInteger(steps, "steps", 1);
  checkInteger(arms, "arms", 1);
  if (!Number.isInteger(seed)) {
    throw new RangeError(`Cannot run testbed: seed is ${seed}, expected an integer`);
  }
  if (!Number.isFinite(trueMean)) {
    throw new RangeError(`Cannot run testbed: trueMean is ${trueMean}, expected a finite number`);
  }
  if (!(rewardStd >= 0 && Number.isFinite(rewardStd))) {
    throw new RangeError(`Cannot run testbed: rewardStd is ${rewardStd}, expected ≥ 0`);
  }
  const names = new Set<string>();
  for (const method of methods) {
    if (typeof method?.name !== "string" || method.name === "" || names.has(method.name)) {
      throw new TypeError(
        `Cannot run testbed: method names must be unique and non-empty, got ${
          JSON.stringify(method?.name)
        }`,
      );
    }
    names.add(method.name);
    createTestbedAgent(method, arms, 0); // validates the options
  }

  // The problems: true values per run (same for every method) and each run's optimal arm.
  const trueValues = new Float64Array(runs * arms);
  const optimalArm = new Int32Array(runs);
  for (let r = 0; r < runs; r++) {
    const rng = new Rng(testbedSeeds(seed, "", r).problem);
    let best = 0;
    for (let a = 0; a < arms; a++) {
      const q = rng.normal(trueMean, 1);
      trueValues[r * arms + a] = q;
      if (q > trueValues[r * arms + best]) best = a;
    }
    optimalArm[r] = best;
  }

  const result: TestbedResult = { runs, steps, methods: {} };
  for (const method of methods) {
    const agentRngs: Rng[] = [];
    const rewardRngs: Rng[] = [];
    for (let r = 0; r < runs; r++) {
      const seeds = testbedSeeds(seed, method.name, r);
      agentRngs.push(new Rng(seeds.agent));
      rewardRngs.push(new Rng(seeds.reward));
    }
    const batch: Batch = {
      runs,
      steps,
      arms,
      rewardStd,
      trueValues,
      optimalArm,
      agentRngs,
      rewardRngs,
      curve: { reward: new Float64Array(steps), optimal: new Float64Array(steps) },
    };
    switch (method.kind) {
      case "epsilon-greedy":
        runEpsilonGreedy(batch, method.options);
        break;
      case "ucb":
        runUcb(batch, method.options);
        break;
      case "thompson-gaussian":
        runGaussianThompson(batch, method.options);
        break;
      case "gradient":
        runGradient(batch, method.options);
        break;
    }
    for (let t = 0; t < steps; t++) {
      batch.curve.reward[t] /= runs;
      batch.curve.optimal[t] /= runs;
    }
    result.methods[method.name] = batch.curve;
  }
  return result;
}

/**
 * The mean of a curve's reward and optimal fraction over steps `first`..`last` (1-based, both
 * included), e.g. 991..1000 for the last ten steps of the standard testbed.
 *
 * @param curve One method's curves.
 * @param first The first step, from 1.
 * @param last The last step, at most the curve's length.
 * @returns The window means.
 *
 * @example
 * ```ts
 * import { windowMean } from "./bandit_testbed.ts";
 * const curve = { reward: Float64Array.of(1, 2, 3), optimal: Float64Array.of(0, 0.5, 1) };
 * const { reward, optimal } = windowMean(curve, 2, 3);
 * if (reward !== 2.5 || optimal !== 0.75) throw new Error("window means");
 * ```
 */
export function windowMean(
  curve: { reward: ArrayLike<number>; optimal: ArrayLike<number> },
  first: number,
  last: number,
): { reward: number; optimal: number } {
  if (!(Number.isInteger(first) && Number.isInteger(last) && first >= 1 && first <= last)) {
    throw new RangeError(`Cannot average window: steps ${first}..${last} are not 1 ≤ first ≤ last`);
  }
  if (last > curve.reward.length) {
    throw new RangeError(
      `Cannot average window: step ${last} is past the curve's ${curve.reward.length} steps`,
    );
  }
  let reward = 0;
  let optimal = 0;
  for (let t = first - 1; t < last; t++) {
    reward += curve.reward[t];
    optimal += curve.optimal[t];
  }
  const n = last - first + 1;
  return { reward: reward / n, optimal: optimal / n };
}

/**
 * Converts a result to the `testbed.json` format:
 * `{"runs":R,"steps":S,"methods":{"epsilon=0":{"reward":[…],"optimal":[…]},…}}`.
 *
 * @param result What {@linkcode runTestbed} returned.
 * @returns A plain object for `JSON.stringify`.
 *
 * @example
 * ```ts
 * import { runTestbed, testbedToJson } from "@rnnrl/rnnrl";
 * const json = testbedToJson(runTestbed({ runs: 2, steps: 3 }));
 * if (json.methods["ucb c=2"].optimal.length !== 3) throw new Error("one entry per step");
 * ```
 */
export function testbedToJson(result: TestbedResult): TestbedJson {
  const methods: TestbedJson["methods"] = {};
  for (const [name, curve] of Object.entries(result.methods)) {
    methods[name] = { reward: Array.from(curve.reward), optimal: Array.from(curve.optimal) };
  }
  return { runs: result.runs, steps: result.steps, methods };
}

// ---------------------------------------------------------------------------------------------
// The batched loops. Each mirrors its scalar agent in bandits.ts operation for operation
// (the same RNG calls in the same order, the same floating-point expressions), which the tests
// check by comparing single runs against the scalar agents.

interface Batch {
  runs: number;
  steps: number;
  arms: number;
  rewardStd: number;
  trueValues: Float64Array;
  optimalArm: Int32Array;
  agentRngs: Rng[];
  rewardRngs: Rng[];
  curve: TestbedCurve;
}

function runEpsilonGreedy(batch: Batch, options: Omit<EpsilonGreedyOptions, "seed">): void {
  const { runs, steps, arms, rewardStd, trueValues, optimalArm, agentRngs, rewardRngs } = batch;
  const epsilon = options.epsilon ?? 0.1;
  const stepSize = options.stepSize ?? null;
  const estimates = new Float64Array(runs * arms).fill(options.initialValue ?? 0);
  const counts = new Float64Array(runs * arms);
  for (let t = 0; t < steps; t++) {
    let rewardSum = 0;
    let optimalCount = 0;
    for (let r = 0; r < runs; r++) {
      const rng = agentRngs[r];
      const o = r * arms;
      const a = epsilon > 0 && rng.uniform() < epsilon
        ? rng.int(arms)
        : argmaxRandom(estimates, rng, o, arms);
      const reward = rewardRngs[r].normal(trueValues[o + a], rewardStd);
      const n = ++counts[o + a];
      const alpha = stepSize ?? 1 / n;
      estimates[o + a] += alpha * (reward - estimates[o + a]);
      rewardSum += reward;
      if (a === optimalArm[r]) optimalCount++;
    }
    batch.curve.reward[t] = rewardSum;
    batch.curve.optimal[t] = optimalCount;
  }
}

function runUcb(batch: Batch, options: Omit<UcbOptions, "seed">): void {
  const { runs, steps, arms, rewardStd, trueValues, optimalArm, agentRngs, rewardRngs } = batch;
  const c = options.c ?? 2;
  const stepSize = options.stepSize ?? null;
  const estimates = new Float64Array(runs * arms).fill(options.initialValue ?? 0);
  const counts = new Float64Array(runs * arms);
  const scores = new Float64Array(arms);
  for (let t = 0; t < steps; t++) {
    const logT = Math.log(t + 1);
    let rewardSum = 0;
    let optimalCount = 0;
    for (let r = 0; r < runs; r++) {
      const o = r * arms;
      for (let b = 0; b < arms; b++) {
        const n = counts[o + b];
        scores[b] = n === 0 ? Infinity : estimates[o + b] + c * Math.sqrt(logT / n);
      }
      const a = argmaxRandom(scores, agentRngs[r]);
      const reward = rewardRngs[r].normal(trueValues[o + a], rewardStd);
      const n = ++counts[o + a];
      const alpha = stepSize ?? 1 / n;
      estimates[o + a] += alpha * (reward - estimates[o + a]);
      rewardSum += reward;
      if (a === optimalArm[r]) optimalCount++;
    }
    batch.curve.reward[t] = rewardSum;
    batch.curve.optimal[t] = optimalCount;
  }
}

function runGaussianThompson(batch: Batch, options: Omit<GaussianThompsonOptions, "seed">): void {
  const { runs, steps, arms, rewardStd, trueValues, optimalArm, agentRngs, rewardRngs } = batch;
  const priorStd = options.priorStd ?? 1;
  const noiseStd = options.noiseStd ?? 1;
  const noisePrecision = 1 / (noiseStd * noiseStd);
  const means = new Float64Array(runs * arms).fill(options.priorMean ?? 0);
  const precisions = new Float64Array(runs * arms).fill(1 / (priorStd * priorStd));
  const samples = new Float64Array(arms);
  for (let t = 0; t < steps; t++) {
    let rewardSum = 0;
    let optimalCount = 0;
    for (let r = 0; r < runs; r++) {
      const rng = agentRngs[r];
      const o = r * arms;
      for (let b = 0; b < arms; b++) {
        samples[b] = means[o + b] + rng.normal() / Math.sqrt(precisions[o + b]);
      }
      const a = argmaxRandom(samples, rng);
      const reward = rewardRngs[r].normal(trueValues[o + a], rewardStd);
      const precision = precisions[o + a] + noisePrecision;
      means[o + a] = (precisions[o + a] * means[o + a] + noisePrecision * reward) / precision;
      precisions[o + a] = precision;
      rewardSum += reward;
      if (a === optimalArm[r]) optimalCount++;
    }
    batch.curve.reward[t] = rewardSum;
    batch.curve.optimal[t] = optimalCount;
  }
}

function runGradient(batch: Batch, options: Omit<GradientBanditOptions, "seed">): void {
  const { runs, steps, arms, rewardStd, trueValues, optimalArm, agentRngs, rewardRngs } = batch;
  const stepSize = options.stepSize ?? 0.1;
  const useBaseline = options.baseline ?? true;
  const preferences = new Float64Array(runs * arms);
  const policy = new Float64Array(runs * arms);
  const averageReward = new Float64Array(runs);
  for (let t = 0; t < steps; t++) {
    const count = t + 1;
    let rewardSum = 0;
    let optimalCount = 0;
    for (let r = 0; r < runs; r++) {
      const o = r * arms;
      softmaxInto(preferences, policy, o, arms);
      const a = sampleCategorical(policy, o, arms, agentRngs[r].uniform());
      const reward = rewardRngs[r].normal(trueValues[o + a], rewardStd);
      const baseline = useBaseline ? (count === 1 ? reward : averageReward[r]) : 0;
      const step = stepSize * (reward - baseline);
      for (let b = 0; b < arms; b++) {
        preferences[o + b] += b === a ? step * (1 - policy[o + b]) : -step * policy[o + b];
      }
      averageReward[r] += (reward - averageReward[r]) / count;
      rewardSum += reward;
      if (a === optimalArm[r]) optimalCount++;
    }
    batch.curve.reward[t] = rewardSum;
    batch.curve.optimal[t] = optimalCount;
  }
}

function checkInteger(x: number, name: string, min: number): void {
  if (!(Number.isInteger(x) && x >= min)) {
    throw new RangeError(`Cannot run testbed: ${name} is ${x}, expected an integer ≥ ${min}`);
  }
}

/** The MurmurHash3 32-bit finaliser: a bijection that mixes every input bit into every output bit. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a over the UTF-16 code units of a string. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
