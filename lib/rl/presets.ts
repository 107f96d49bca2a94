/**
 * Which agents `deno task train` can build, and the tuned settings per environment × algorithm
 * that reach the published results with no other flag.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import type { EnvName } from "../envs/baselines.ts";
import type { JsonObject } from "../io/json.ts";
import type { Agent, EnvSpec } from "./agent.ts";
import type { Sequential } from "../nn/sequential.ts";
import { DQN, type DqnOptions, dqnPresets } from "./dqn.ts";
import { DRQN, type DrqnOptions, drqnPresets } from "./drqn.ts";
import {
  A2C,
  type A2cOptions,
  a2cPresets,
  REINFORCE,
  type ReinforceOptions,
  reinforcePresets,
} from "./policy_gradient.ts";
import { TabularAgent, type TabularAgentOptions, type TabularEnvSpec } from "./tabular_agent.ts";
import {
  type BanditAdapterOptions,
  BanditAgentAdapter,
  type BanditAlgo,
  type BanditEnvSpec,
} from "./bandit_agent.ts";

/** The algorithms the training task knows, as the command line names them. */
export type AlgoName =
  | "dqn"
  | "drqn"
  | "reinforce"
  | "a2c"
  | "q-learning"
  | "sarsa"
  | "epsilon-greedy"
  | "ucb"
  | "thompson"
  | "gradient-bandit";

/** The algorithms {@linkcode createAgent} accepts, for validation and help text. */
export const ALGO_NAMES: readonly AlgoName[] = [
  "dqn",
  "drqn",
  "reinforce",
  "a2c",
  "q-learning",
  "sarsa",
  "epsilon-greedy",
  "ucb",
  "thompson",
  "gradient-bandit",
];

/** A preset: how long to train and the agent options that differ from the defaults. */
export interface TrainPreset {
  /** Environment steps to train for. */
  steps: number;
  /** Agent options (partial; the agent fills in its defaults). */
  options: JsonObject;
  /** Environment options the preset is tuned for (a board size, say); flags override them. */
  envOptions?: JsonObject;
  /** Steps between checkpoints when `--checkpoint-every` is not given (default 10 000). */
  checkpointEvery?: number;
}

/** The presets, keyed `"env/algo"`. A pair without an entry trains with the agent's defaults. */
export const TRAIN_PRESETS: Readonly<Record<string, TrainPreset>> = {
  "cartpole/dqn": { steps: 50_000, options: dqnPresets.cartpole as JsonObject },
  "cartpole-masked/dqn": { steps: 100_000, options: dqnPresets.cartpole as JsonObject },
  "cartpole-masked/drqn": {
    steps: 100_000,
    options: drqnPresets["cartpole-masked"] as JsonObject,
  },
  // A checkpoint holds the replay (66 MB here), so it is written less often.
  "minesweeper/dqn": {
    steps: 2_000_000,
    options: dqnPresets.minesweeper as JsonObject,
    checkpointEvery: 100_000,
  },
  "pendulum/dqn": { steps: 30_000, options: dqnPresets.pendulum as JsonObject },
  "minesweeper-memory/dqn": {
    steps: 100_000,
    options: dqnPresets["minesweeper-memory"] as JsonObject,
    envOptions: { difficulty: "medium", observeAction: true },
  },
  "minesweeper-memory/a2c": {
    steps: 3_000_000,
    options: a2cPresets["minesweeper-memory"] as JsonObject,
    envOptions: { difficulty: "medium", observeAction: true },
  },
  "cartpole/a2c": { steps: 100_000, options: a2cPresets.cartpole as JsonObject },
  "cartpole-masked/a2c": { steps: 100_000, options: a2cPresets["cartpole-masked"] as JsonObject },
  "cartpole/reinforce": { steps: 100_000, options: reinforcePresets.cartpole as JsonObject },
  "cartpole-masked/reinforce": {
    steps: 100_000,
    options: reinforcePresets["cartpole-masked"] as JsonObject,
  },
  "cartpole/q-learning": {
    steps: 200_000,
    options: { stepSize: 0.1, gamma: 0.99, epsilon: { start: 1, end: 0.01, steps: 100_000 } },
  },
  "cartpole/sarsa": {
    steps: 400_000,
    options: { stepSize: 0.1, gamma: 0.995, epsilon: { start: 1, end: 0.01, steps: 200_000 } },
  },
  "bandit/epsilon-greedy": { steps: 100_000, options: { epsilon: 0.1 } },
  "bandit/ucb": { steps: 100_000, options: { c: 2 } },
  "bandit/thompson": { steps: 100_000, options: {} },
  "bandit/gradient-bandit": { steps: 100_000, options: { stepSize: 0.1, baseline: true } },
};

/** The steps a run trains for when no preset applies. */
export const DEFAULT_TRAIN_STEPS = 100_000;

/** The preset for an environment and algorithm (the defaults when there is none). */
export function presetFor(env: EnvName, algo: AlgoName): TrainPreset {
  return TRAIN_PRESETS[`${env}/${algo}`] ?? { steps: DEFAULT_TRAIN_STEPS, options: {} };
}

const FACTORIES: Record<AlgoName, (spec: EnvSpec, options: JsonObject, backend: Backend) => Agent> =
  {
    dqn: (spec, options, backend) => new DQN(spec, options as Partial<DqnOptions>, backend),
    drqn: (spec, options, backend) => new DRQN(spec, options as Partial<DrqnOptions>, backend),
    reinforce: (spec, options, backend) =>
      new REINFORCE(spec, options as Partial<ReinforceOptions>, backend),
    a2c: (spec, options, backend) => new A2C(spec, options as Partial<A2cOptions>, backend),
    "q-learning": (spec, options) => tabular(spec, options, "q-learning"),
    sarsa: (spec, options) => tabular(spec, options, "sarsa"),
    "epsilon-greedy": (spec, options) => bandit(spec, options, "epsilon-greedy"),
    ucb: (spec, options) => bandit(spec, options, "ucb"),
    thompson: (spec, options) => bandit(spec, options, "thompson"),
    "gradient-bandit": (spec, options) => bandit(spec, options, "gradient-bandit"),
  };

/**
 * Builds an agent by algorithm name for an environment's sizes.
 *
 * @throws {RangeError} For an unknown algorithm or an option out of range.
 */
export function createAgent(
  algo: AlgoName,
  spec: EnvSpec,
  options: JsonObject,
  backend: Backend,
): Agent {
  const factory = FACTORIES[algo];
  if (!factory) {
    throw new RangeError(`Cannot create agent "${algo}": expected one of ${ALGO_NAMES.join(", ")}`);
  }
  return factory(spec, options, backend);
}

/**
 * The network whose output's argmax is an agent's greedy action, for export to ONNX.
 *
 * @throws {TypeError} When the agent has no such network (a dueling head, say, combines its
 * outputs after the network).
 */
export function policyNetwork(agent: Agent): Sequential {
  const network = (agent as { policyNetwork?: () => Sequential | undefined }).policyNetwork?.();
  if (!network) {
    throw new TypeError(
      `Cannot export the ${agent.kind} agent: it has no single network whose output's argmax is the action`,
    );
  }
  return network;
}

/** A tabular agent; the spec must be the environment (its id picks the discretiser). */
function tabular(spec: EnvSpec, options: JsonObject, algorithm: "q-learning" | "sarsa"): Agent {
  const o = { ...options, algorithm } as Partial<TabularAgentOptions>;
  return new TabularAgent(spec as TabularEnvSpec, o);
}

/** A bandit agent; the spec must be the environment (only the bandit is accepted). */
function bandit(spec: EnvSpec, options: JsonObject, algo: BanditAlgo): Agent {
  return new BanditAgentAdapter(spec as BanditEnvSpec, algo, options as BanditAdapterOptions);
}
