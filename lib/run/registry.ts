/**
 * The registries of the command line: environments and algorithms by the names `--env` and
 * `--algo` take, and the built-in baselines of `deno task eval --agent`.
 *
 * @module
 */

import type { Backend } from "../backend/backend.ts";
import { Bandit } from "../envs/bandit.ts";
import { CartPole } from "../envs/cartpole.ts";
import { type EnvCore, type EnvSpec, specOf } from "../envs/env.ts";
import {
  Minesweeper,
  MinesweeperMemory,
  type MinesweeperMemoryDifficulty,
  type MinesweeperRewards,
} from "../envs/minesweeper.ts";
import { MnistBandit } from "../envs/mnist_bandit.ts";
import { Pendulum } from "../envs/pendulum.ts";
import { Recommender } from "../envs/recommender.ts";
import {
  POPGYM_ENV_NAMES,
  POPGYM_ENVS,
  POPGYM_GAMES,
  type PopgymEnvName,
} from "../envs/popgym/mod.ts";
import { DiscreteActions } from "../envs/wrappers.ts";
import type { JsonObject } from "../io/json.ts";
import { A2C } from "../rl/a2c.ts";
import type { Agent } from "../rl/agent.ts";
import { BanditAgent, type BanditAgentOptions, type BanditAlgo } from "../rl/bandit_agent.ts";
import { myopicPolicy, popularPolicy, randomPolicy, solverPolicy } from "../rl/baselines.ts";
import { DQN } from "../rl/dqn.ts";
import { loadMnistDigits } from "./mnist_digits.ts";
import { DRQN } from "../rl/drqn.ts";
import { evaluate, type EvaluationResult } from "../rl/evaluation.ts";
import type { Policy } from "../rl/policy.ts";
import { TabularAgent } from "../rl/q_learning.ts";
import { PPO } from "../rl/ppo.ts";
import { ResidentPPO } from "../rl/resident_ppo.ts";
import { REINFORCE } from "../rl/reinforce.ts";

/** rnnrl's own environments, as the command line names them. */
export const CORE_ENV_NAMES: readonly CoreEnvName[] = [
  "cartpole",
  "cartpole-masked",
  "bandit",
  "minesweeper",
  "minesweeper-memory",
  "pendulum",
  "pendulum-masked",
  "recommender",
  "mnist-bandit",
];

/** The name of one of rnnrl's own environments. */
export type CoreEnvName =
  | "cartpole"
  | "cartpole-masked"
  | "bandit"
  | "minesweeper"
  | "minesweeper-memory"
  | "pendulum"
  | "pendulum-masked"
  | "recommender"
  | "mnist-bandit";

/** The environments {@linkcode createEnv} knows: rnnrl's own, then POPGym's 33. */
export const ENV_NAMES: readonly EnvName[] = [...CORE_ENV_NAMES, ...POPGYM_ENV_NAMES];

/**
 * The name of an environment {@linkcode createEnv} can build: one of rnnrl's own, or a POPGym
 * game at a difficulty (`repeat-previous-easy`, …).
 */
export type EnvName = CoreEnvName | PopgymEnvName;

/** The environment names as help texts list them. */
export const ENV_CHOICES_SUMMARY: string = `one of ${CORE_ENV_NAMES.join(", ")}, or POPGym's ` +
  `${POPGYM_GAMES.join(", ")} with -easy, -medium or -hard (repeat-previous-easy, …)`;

/** Whether `name` is one of POPGym's environments. */
export function isPopgymEnv(name: string): name is PopgymEnvName {
  return POPGYM_ENVS.has(name as PopgymEnvName);
}

/** Options of {@linkcode createEnv}; each applies only where it makes sense. */
export interface CreateEnvOptions {
  /** The environment's RNG seed (default 0). */
  seed?: number;
  /** Minesweeper columns (default 9; minesweeper-memory: the difficulty's). */
  width?: number;
  /** Minesweeper rows (default 9; minesweeper-memory: the difficulty's). */
  height?: number;
  /** Minesweeper mines (default 10; minesweeper-memory: the difficulty's). */
  mines?: number;
  /** The minesweeper-memory preset (default "easy"). */
  difficulty?: MinesweeperMemoryDifficulty;
  /** minesweeper-memory: append a one-hot of the clicked cell to the observation (default false). */
  observeAction?: boolean;
  /** minesweeper: overrides of the default rewards. */
  rewards?: Partial<MinesweeperRewards>;
  /** The number of discrete torques for pendulum (default 5: −2, −1, 0, 1, 2). */
  pendulumActions?: number;
  /** pendulum: the continuous torque itself, for agents with a continuous policy (default false). */
  continuous?: boolean;
  /** POPGym's environments: append the previous action to the observation (default false). */
  observePreviousAction?: boolean;
  /** recommender: the catalogue's size, the number of actions (default 20). */
  items?: number;
  /** recommender: the dimension of interests and topics (default 4). */
  interestDimension?: number;
  /** recommender: the recommendations the observation shows (default 8). */
  historyLength?: number;
}

/**
 * Loads what an environment needs before {@linkcode createEnv} can build it: the digits of
 * "mnist-bandit" (about 40 MB of JSON, parsed once); nothing for the others.
 *
 * @example
 * ```ts
 * import { createEnv, prepareEnv } from "@rnnrl/rnnrl/run";
 * await prepareEnv("mnist-bandit");
 * if (createEnv("mnist-bandit").observationSize !== 784) throw new Error("a 28×28 digit");
 * ```
 */
export async function prepareEnv(name: EnvName): Promise<void> {
  if (name === "mnist-bandit") await loadMnistDigits();
}

/**
 * Builds an environment by name: "cartpole", "cartpole-masked" (velocities hidden), "bandit" (the
 * 10-armed testbed), "minesweeper", "minesweeper-memory", "pendulum" and "pendulum-masked"
 * (the angular velocity hidden), whose torque is discretised by {@linkcode DiscreteActions} unless
 * `continuous` is set, "recommender" (a simulated user, {@linkcode Recommender}), "mnist-bandit"
 * (the MNIST contextual bandit, {@linkcode MnistBandit}; {@linkcode prepareEnv} first), and
 * POPGym's games by their names (`repeat-previous-easy`, …).
 *
 * @example
 * ```ts
 * import { createEnv } from "@rnnrl/rnnrl/run";
 * const env = createEnv("cartpole-masked", { seed: 1 });
 * if (env.observationSize !== 2) throw new Error("x and theta only");
 * ```
 */
export function createEnv(name: EnvName, options: CreateEnvOptions = {}): EnvCore<unknown> {
  const { seed } = options;
  switch (name) {
    case "cartpole":
      return new CartPole({ seed });
    case "cartpole-masked":
      return new CartPole({ seed, maskVelocity: true });
    case "bandit":
      return new Bandit({ seed });
    case "minesweeper":
      return new Minesweeper({
        seed,
        width: options.width,
        height: options.height,
        mines: options.mines,
        rewards: options.rewards,
      });
    case "minesweeper-memory":
      return new MinesweeperMemory({
        seed,
        difficulty: options.difficulty,
        width: options.width,
        height: options.height,
        mines: options.mines,
        observeAction: options.observeAction,
      });
    case "pendulum":
    case "pendulum-masked": {
      const pendulum = new Pendulum({ seed, maskVelocity: name === "pendulum-masked" });
      if (options.continuous) return pendulum;
      return new DiscreteActions(pendulum, { count: options.pendulumActions ?? 5 });
    }
    case "mnist-bandit":
      return new MnistBandit({ seed });
    case "recommender":
      return new Recommender({
        seed,
        items: options.items,
        interestDimension: options.interestDimension,
        historyLength: options.historyLength,
      });
    default: {
      const popgym = POPGYM_ENVS.get(name);
      if (popgym) return popgym({ seed, observePreviousAction: options.observePreviousAction });
      throw new RangeError(
        `Cannot create environment "${name}": expected one of ${CORE_ENV_NAMES.join(", ")}, ` +
          `or a POPGym game (${POPGYM_GAMES.join(", ")}) with -easy, -medium or -hard`,
      );
    }
  }
}

/** The algorithms the training task knows, as the command line names them. */
export type AlgoName =
  | "dqn"
  | "drqn"
  | "reinforce"
  | "a2c"
  | "ppo"
  | "q-learning"
  | "sarsa"
  | BanditAlgo;

/** How each algorithm's agent is built from an environment's sizes and partial options. */
const ALGORITHMS: Record<
  AlgoName,
  (spec: EnvSpec, options: JsonObject, backend: Backend) => Agent
> = {
  dqn: (spec, options, backend) => new DQN(spec, options, backend),
  drqn: (spec, options, backend) => new DRQN(spec, options, backend),
  reinforce: (spec, options, backend) => new REINFORCE(spec, options, backend),
  a2c: (spec, options, backend) => new A2C(spec, options, backend),
  ppo: (spec, options, backend) => new PPO(spec, options, backend),
  "q-learning": (spec, options) => new TabularAgent(spec, { ...options, algorithm: "q-learning" }),
  sarsa: (spec, options) => new TabularAgent(spec, { ...options, algorithm: "sarsa" }),
  "epsilon-greedy": (spec, options) => bandit(spec, options, "epsilon-greedy"),
  ucb: (spec, options) => bandit(spec, options, "ucb"),
  thompson: (spec, options) => bandit(spec, options, "thompson"),
  "gradient-bandit": (spec, options) => bandit(spec, options, "gradient-bandit"),
};

/** The algorithms {@linkcode createAgent} accepts, for validation and help text. */
export const ALGO_NAMES: readonly AlgoName[] = Object.keys(ALGORITHMS) as AlgoName[];

function bandit(spec: EnvSpec, options: JsonObject, algorithm: BanditAlgo): Agent {
  return new BanditAgent(spec, { ...options, algorithm } as unknown as BanditAgentOptions);
}

/**
 * Builds an agent by algorithm name for an environment (its sizes, and for the tabular and
 * bandit agents its id). With the option `resident: true`, "ppo" builds a {@linkcode ResidentPPO}
 * on device copies of the environment.
 *
 * @throws {RangeError} For an unknown algorithm, an environment it cannot play, or an option out
 * of range.
 * @throws {TypeError} For an option the algorithm does not have.
 *
 * @example
 * ```ts
 * import { createCpuBackend } from "@rnnrl/rnnrl";
 * import { createAgent, createEnv } from "@rnnrl/rnnrl/run";
 * const agent = createAgent("a2c", createEnv("cartpole"), { envs: 2 }, createCpuBackend());
 * if (agent.kind !== "a2c" || !agent.recurrent) throw new Error("an LSTM actor-critic");
 * ```
 */
export function createAgent(
  algo: AlgoName,
  env: EnvCore<unknown> | EnvSpec,
  options: JsonObject,
  backend: Backend,
): Agent {
  const build = ALGORITHMS[algo];
  if (!build) {
    throw new RangeError(`Cannot create agent "${algo}": expected one of ${ALGO_NAMES.join(", ")}`);
  }
  if (options.resident) {
    // The resident loop keeps its own device copies of the game, so it needs the game itself.
    if (algo !== "ppo") {
      throw new RangeError(`Cannot train ${algo} resident: only ppo has a resident loop`);
    }
    if (!("reset" in env)) {
      throw new RangeError("Cannot build a resident PPO from sizes alone: it copies the game");
    }
    const { resident: _, ...rest } = options;
    return new ResidentPPO(env, rest, backend);
  }
  return build(specOf(env), options, backend);
}

/** The built-in baseline agents of `deno task eval --agent`. */
export type BaselineAgent = "random" | "solver" | "popular" | "myopic";

/** The baselines {@linkcode BaselineAgent} names, for validation and help text. */
export const BASELINE_AGENTS: readonly BaselineAgent[] = ["random", "solver", "popular", "myopic"];

/** Options of {@linkcode runBaseline}. */
export interface BaselineOptions extends CreateEnvOptions {
  /** The environment. */
  env: EnvName;
  /**
   * The agent: "random" (any environment), "solver" (minesweeper only), "popular" or "myopic"
   * (recommender only: the most popular item, and the oracle greedy on the true click probability).
   */
  agent: BaselineAgent;
  /** The number of episodes (default 100). */
  episodes?: number;
}

/** The seed of a baseline policy's RNG, apart from the environment's stream. */
function policySeed(seed: number): number {
  return (seed ^ 0x5bd1e995) >>> 0;
}

/**
 * Evaluates a built-in baseline: what `deno task eval --env NAME --agent random|solver|popular|myopic`
 * prints.
 *
 * @example
 * ```ts
 * import { runBaseline } from "@rnnrl/rnnrl/run";
 * const result = await runBaseline({ env: "minesweeper", agent: "solver", episodes: 50, seed: 1 });
 * if (!(result.winRate! > 0.5)) throw new Error("the solver wins most Beginner games");
 * ```
 */
export async function runBaseline(options: BaselineOptions): Promise<EvaluationResult> {
  const seed = options.seed ?? 0;
  await prepareEnv(options.env);
  const env = createEnv(options.env, { ...options, seed });
  let policy: Policy<undefined>;
  if (options.agent === "random") {
    policy = randomPolicy(env, { seed: policySeed(seed) });
  } else if (options.agent === "solver") {
    if (!(env instanceof Minesweeper)) {
      throw new RangeError(
        `Cannot run the solver on "${options.env}": it plays "minesweeper" only`,
      );
    }
    policy = solverPolicy(env, { seed: policySeed(seed) });
  } else if (options.agent === "popular" || options.agent === "myopic") {
    if (!(env instanceof Recommender)) {
      throw new RangeError(
        `Cannot run the ${options.agent} baseline on "${options.env}": it plays "recommender" only`,
      );
    }
    policy = options.agent === "popular" ? popularPolicy(env) : myopicPolicy(env);
  } else {
    throw new RangeError(
      `Cannot run baseline "${options.agent}": expected one of ${BASELINE_AGENTS.join(", ")}`,
    );
  }
  return await evaluate(env, policy, { episodes: options.episodes, seed });
}
