/**
 * `deno task train`'s command line: its flags (`TRAIN_CLI`) and how they become a run's
 * `TrainConfig` — the preset of the environment and algorithm, then each flag over it, each
 * refused in one line where it does not apply. tasks/train.ts is a thin command over it, and the
 * sweep (lib/run/sweep.ts) builds every run's configuration from a train command line through
 * it, so that a sweep's run is exactly the run `deno task train` would make.
 *
 * @module
 */

import type { BackendChoice } from "../backend/create.ts";
import { BACKEND_CHOICES } from "../backend/create.ts";
import { defineCli, parseCli, parseNumber, UsageError } from "../io/cli.ts";
import type { JsonObject } from "../io/json.ts";
import { openRunDir } from "../io/run_dir.ts";
import { EXPLORATIONS } from "../rl/boltzmann.ts";
import { PPO_DEFAULTS } from "../rl/ppo.ts";
import {
  NETWORK_NAMES,
  type NetworkName,
  presetFor,
  presetNetworks,
  presetWithNetwork,
  type TrainPreset,
} from "./presets.ts";
import {
  ALGO_NAMES,
  type AlgoName,
  ENV_CHOICES_SUMMARY,
  ENV_NAMES,
  type EnvName,
} from "./registry.ts";
import { envsWithOption, envTakesOption, readRunConfig, type TrainConfig } from "./run_config.ts";

/** The command line of `deno task train`. */
export const TRAIN_CLI = defineCli({
  name: "deno task train",
  summary: "Trains an agent, then evaluates it and writes its run directory and report.",
  flags: {
    env: {
      type: "choice",
      choices: ENV_NAMES,
      choicesSummary: ENV_CHOICES_SUMMARY,
      description: "The environment (default cartpole)",
    },
    algo: { type: "choice", choices: ALGO_NAMES, description: "The algorithm (default dqn)" },
    seed: { type: "integer", min: 0, max: 4294967295, description: "Random seed (default 0)" },
    steps: { type: "integer", min: 1, description: "Environment steps (default: the preset's)" },
    backend: {
      type: "choice",
      choices: BACKEND_CHOICES,
      description: "auto takes a hardware WebGPU adapter, else the CPU (default auto)",
    },
    out: {
      type: "string",
      placeholder: "DIR",
      description: "The run directory (default runs/<date-time>); must be new unless --resume",
    },
    resume: { type: "boolean", description: "Continue the run in --out from its checkpoint" },
    "checkpoint-every": {
      type: "integer",
      min: 1,
      description: "Steps between checkpoints (default 10000)",
    },
    "eval-episodes": {
      type: "integer",
      min: 1,
      description: "Episodes of the final greedy evaluation (default 100)",
    },
    "eval-seed": {
      type: "integer",
      min: 0,
      max: 4294967295,
      description: "Seed of the evaluation episodes (default 1000)",
    },
    "eval-every": {
      type: "integer",
      min: 1,
      description: "Evaluate greedily every N steps during training (default: only at the end)",
    },
    "eval-every-episodes": {
      type: "integer",
      min: 1,
      description: "Episodes of each evaluation during training (default 10)",
    },
    "stop-on-return": {
      type: "number",
      description: "Stop once an evaluation during training reaches this mean return",
    },
    "log-every": {
      type: "integer",
      min: 1,
      description: "Log training statistics every N updates (default: the algorithm's)",
    },
    "learning-rate": {
      type: "number",
      min: 0,
      minExclusive: true,
      description: "The optimizer's step size",
    },
    gamma: { type: "number", min: 0, max: 1, description: "The discount factor, in [0, 1]" },
    "batch-size": { type: "integer", min: 1, description: "Samples per gradient step" },
    envs: {
      type: "integer",
      min: 1,
      description: "Environment copies stepped together (ppo and a2c; many for --resident)",
    },
    hidden: {
      type: "string",
      placeholder: "N[,N...]",
      description: "Hidden layer sizes, e.g. 64,64",
    },
    cell: {
      type: "choice",
      choices: ["lstm", "gru", "none"],
      description: "The recurrent cell of a2c, reinforce, ppo (none: an MLP) and drqn",
    },
    "cell-units": { type: "integer", min: 1, description: "Units of the recurrent cell" },
    network: {
      type: "choice",
      choices: NETWORK_NAMES,
      description: "dqn's Q-network where the preset offers several (default the preset's)",
    },
    exploration: {
      type: "choice",
      choices: EXPLORATIONS,
      description: "How dqn, drqn, q-learning and sarsa explore: epsilon-greedy or boltzmann",
    },
    temperature: {
      type: "number",
      min: 0,
      minExclusive: true,
      description: "The temperature of --exploration boltzmann (default: the preset's, else 1)",
    },
    actions: {
      type: "choice",
      choices: ["discrete", "continuous"],
      description: "pendulum's torque: 5 discrete levels, or continuous (ppo, a2c, reinforce)",
    },
    "observe-previous-action": {
      type: "boolean",
      description: "POPGym's environments: append the previous action to the observation",
    },
    resident: {
      type: "boolean",
      description:
        "ppo only: environments, rollouts and updates stay on the backend (cartpole, cartpole-masked, repeat-previous-*, count-recall-*)",
    },
    width: { type: "integer", min: 1, description: "Minesweeper columns" },
    height: { type: "integer", min: 1, description: "Minesweeper rows" },
    mines: { type: "integer", min: 1, description: "Minesweeper mines" },
    difficulty: {
      type: "choice",
      choices: ["easy", "medium", "hard"],
      description: "minesweeper-memory board (default easy)",
    },
    items: {
      type: "integer",
      min: 2,
      description: "recommender: items in the catalogue (default 20)",
    },
    "interest-dimension": {
      type: "integer",
      min: 1,
      description: "recommender: dimension of interests and topics (default 4)",
    },
    "history-length": {
      type: "integer",
      min: 1,
      description: "recommender: recommendations the observation shows (default 8)",
    },
  },
});

/** The parsed flags of {@linkcode TRAIN_CLI}. */
export type TrainFlags = ReturnType<typeof parseCli<typeof TRAIN_CLI>>["flags"];

/** The flags that set agent options, by the option they set. */
function agentOverrides(flags: TrainFlags): JsonObject {
  const out: JsonObject = {};
  if (flags.learningRate !== undefined) out.learningRate = flags.learningRate;
  if (flags.gamma !== undefined) out.gamma = flags.gamma;
  if (flags.batchSize !== undefined) out.batchSize = flags.batchSize;
  if (flags.envs !== undefined) out.envs = flags.envs;
  if (flags.hidden !== undefined) out.hiddenSizes = parseSizes(flags.hidden);
  if (flags.logEvery !== undefined) out.logInterval = flags.logEvery;
  if (flags.cell !== undefined) out.cell = flags.cell;
  if (flags.cellUnits !== undefined) out.cellUnits = flags.cellUnits;
  if (flags.exploration !== undefined) out.exploration = flags.exploration;
  if (flags.temperature !== undefined) out.temperature = flags.temperature;
  return out;
}

/**
 * `--temperature` is Boltzmann exploration's: refused where the agent explores otherwise.
 *
 * @param flags The parsed flags.
 * @param agent The agent options the run will take.
 * @throws {UsageError} When `--temperature` is given for an agent that does not explore by it.
 */
export function checkTemperature(flags: TrainFlags, agent: JsonObject): void {
  if (flags.temperature !== undefined && agent.exploration !== "boltzmann") {
    throw new UsageError("--temperature applies to --exploration boltzmann only");
  }
}

/** The environment options that a flag of the same name sets, with the flag. */
const ENV_FLAGS = [
  ["width", "width"],
  ["height", "height"],
  ["mines", "mines"],
  ["difficulty", "difficulty"],
  ["items", "items"],
  ["interestDimension", "interest-dimension"],
  ["historyLength", "history-length"],
] as const;

/** The flags that set environment options; each is refused for an environment without it. */
function envOverrides(flags: TrainFlags, env: EnvName): JsonObject {
  const out: JsonObject = {};
  for (const [key, flag] of ENV_FLAGS) {
    if (flags[key] === undefined) continue;
    if (!envTakesOption(env, key)) {
      throw new UsageError(
        `--${flag} does not apply to --env ${env} (only to ${envsWithOption(key).join(", ")})`,
      );
    }
    out[key] = flags[key]!;
  }
  if (flags.observePreviousAction) {
    if (!envTakesOption(env, "observePreviousAction")) {
      throw new UsageError(
        `--observe-previous-action does not apply to --env ${env} (only to POPGym's environments)`,
      );
    }
    out.observePreviousAction = true;
  }
  if (flags.actions !== undefined) {
    if (!envTakesOption(env, "continuous")) {
      throw new UsageError(
        `--actions does not apply to --env ${env} (only to ${
          envsWithOption("continuous").join(", ")
        })`,
      );
    }
    out.continuous = flags.actions === "continuous";
  }
  return out;
}

/** Sizes as integer flags take them (decimal notation, no spaces or hex), separated by commas. */
function parseSizes(text: string): number[] {
  const sizes = text.split(",").map((s) => parseNumber(s));
  if (!sizes.every((n) => n !== undefined && Number.isSafeInteger(n) && n >= 1)) {
    throw new UsageError(`--hidden must be positive integers separated by commas, got "${text}"`);
  }
  return sizes as number[];
}

/**
 * A cellwise or convolutional Q-network over a board (the Minesweeper presets') follows
 * `--width` and `--height`.
 */
function fitCellwiseToBoard(agent: JsonObject, flags: TrainFlags): JsonObject {
  const out = { ...agent };
  for (const key of ["cellwise", "convolution"]) {
    const board = agent[key];
    if (!board || typeof board !== "object" || Array.isArray(board)) continue;
    out[key] = {
      ...board,
      ...(flags.width === undefined ? {} : { width: flags.width }),
      ...(flags.height === undefined ? {} : { height: flags.height }),
    };
  }
  return out;
}

/**
 * An embedding over the recommender's history (the recommender preset's) follows `--items` (the
 * vocabulary is the items and the empty slot) and `--history-length` (the ids).
 */
function fitEmbeddingToHistory(agent: JsonObject, flags: TrainFlags): JsonObject {
  const embedding = agent.embedding;
  if (!embedding || typeof embedding !== "object" || Array.isArray(embedding)) return agent;
  return {
    ...agent,
    embedding: {
      ...embedding,
      ...(flags.items === undefined ? {} : { vocabulary: flags.items + 1 }),
      ...(flags.historyLength === undefined ? {} : { ids: flags.historyLength }),
    },
  };
}

/**
 * The preset of a pair, with the Q-network `--network` chose.
 *
 * @throws {UsageError} When the pair's preset does not offer that network.
 */
function presetWithChosenNetwork(
  env: EnvName,
  algo: AlgoName,
  network: NetworkName | undefined,
): TrainPreset {
  const preset = presetFor(env, algo);
  if (network === undefined) return preset;
  const chosen = algo === "dqn" ? presetWithNetwork(preset, network) : undefined;
  if (!chosen) {
    const offered = algo === "dqn" ? presetNetworks(preset).join(", ") : "none (dqn only)";
    throw new UsageError(
      `--network ${network} is not offered for ${algo} on ${env}; offered: ${offered}`,
    );
  }
  return chosen;
}

/**
 * The configuration of a new run: the preset, then the flags.
 *
 * @param flags The parsed flags.
 * @returns The run's configuration, before the trainer's own checks.
 * @throws {UsageError} When a flag does not apply to the environment.
 */
export function newConfig(flags: TrainFlags): TrainConfig {
  const env: EnvName = flags.env ?? "cartpole";
  const algo: AlgoName = flags.algo ?? "dqn";
  const preset = presetWithChosenNetwork(env, algo, flags.network as NetworkName | undefined);
  if (flags.resident) return residentConfig(flags, env, algo, preset);
  return {
    env,
    algo,
    seed: flags.seed ?? 0,
    steps: flags.steps ?? preset.steps,
    backend: (flags.backend ?? "auto") as BackendChoice,
    envOptions: { ...preset.envOptions, ...envOverrides(flags, env) },
    agent: fitEmbeddingToHistory(
      fitCellwiseToBoard({ ...preset.options, ...agentOverrides(flags) }, flags),
      flags,
    ),
    checkpointEvery: flags.checkpointEvery ?? preset.checkpointEvery ?? 10_000,
    evalEpisodes: flags.evalEpisodes ?? 100,
    evalSeed: flags.evalSeed ?? 1000,
    evalEvery: flags.evalEvery ?? 0,
    evalEveryEpisodes: flags.evalEveryEpisodes ?? 10,
    stopOnReturn: flags.stopOnReturn ?? null,
  };
}

/** The games whose copies can live on the device, for `--resident`. */
export const RESIDENT_ENVS: readonly EnvName[] = ENV_NAMES.filter((name) =>
  name === "cartpole" || name === "cartpole-masked" || name === "pendulum" ||
  name === "pendulum-masked" || name.startsWith("repeat-previous-") ||
  name.startsWith("count-recall-")
);

/**
 * A new `--resident` run's configuration: PPO's preset on a game with device copies, without the
 * previous-action observation the device games do not show.
 *
 * @throws {UsageError} For another algorithm or environment, or `--observe-previous-action`.
 */
function residentConfig(
  flags: TrainFlags,
  env: EnvName,
  algo: AlgoName,
  preset: TrainPreset,
): TrainConfig {
  if (algo !== "ppo") throw new UsageError(`--resident applies to --algo ppo only, not ${algo}`);
  if (!RESIDENT_ENVS.includes(env)) {
    throw new UsageError(
      `--resident has no device copies of --env ${env} (only of cartpole, cartpole-masked, ` +
        "pendulum, pendulum-masked, repeat-previous-* and count-recall-*)",
    );
  }
  if (flags.observePreviousAction) {
    throw new UsageError("--observe-previous-action does not apply to --resident games");
  }
  const { observePreviousAction: _, ...envOptions } = preset.envOptions ?? {};
  const config = newConfig({ ...flags, resident: false });
  return {
    ...config,
    envOptions: { ...envOptions, ...envOverrides(flags, env) },
    // A logged update costs one read-back: about one per 2 048 steps keeps the report's curves
    // and the loop fast (every 8th update of cartpole's 8 × 32 steps, every one of pendulum's
    // 4 × 1 024).
    agent: {
      ...config.agent,
      resident: true,
      ...(flags.logEvery === undefined ? { logInterval: residentLogInterval(config.agent) } : {}),
    },
  };
}

/** Steps between the resident loop's logged updates, about. */
const RESIDENT_LOG_STEPS = 2048;

/** The updates between logged ones for a resident run of these agent options (at least 1). */
function residentLogInterval(agent: JsonObject): number {
  const defaults = PPO_DEFAULTS as unknown as JsonObject;
  const envs = (agent.envs ?? defaults.envs) as number;
  const steps = (agent.rolloutSteps ?? defaults.rolloutSteps) as number;
  return Math.max(1, Math.round(RESIDENT_LOG_STEPS / (envs * steps)));
}

/**
 * The configuration of a resumed run: the run's own, with any flag given on the command line
 * laid over it (the trainer then refuses a run whose saved settings differ).
 *
 * @param flags The parsed flags.
 * @param dir The run directory.
 * @returns The run's configuration.
 */
export async function resumedConfig(flags: TrainFlags, dir: string): Promise<TrainConfig> {
  if (flags.network !== undefined) {
    throw new UsageError("--network chooses a new run's Q-network; a resumed run keeps its own");
  }
  const saved = await readRunConfig(await openRunDir(dir));
  const env = flags.env ?? saved.env;
  const config = {
    env,
    algo: flags.algo ?? saved.algo,
    seed: flags.seed ?? saved.seed,
    steps: flags.steps ?? saved.steps,
    backend: flags.backend ?? saved.backend,
    envOptions: { ...saved.envOptions, ...envOverrides(flags, env) },
    agent: { ...saved.agent, ...agentOverrides(flags) },
    checkpointEvery: flags.checkpointEvery ?? saved.checkpointEvery,
    evalEpisodes: flags.evalEpisodes ?? saved.evalEpisodes,
    evalSeed: flags.evalSeed ?? saved.evalSeed,
    evalEvery: flags.evalEvery ?? saved.evalEvery,
    evalEveryEpisodes: flags.evalEveryEpisodes ?? saved.evalEveryEpisodes,
    stopOnReturn: flags.stopOnReturn ?? saved.stopOnReturn,
  };
  return config as TrainConfig;
}

/**
 * The configuration `deno task train` builds from its arguments for a new run (no `--resume`),
 * with the same one-line refusals: what the sweep trains for each of its runs.
 *
 * @param args A train command line, e.g. `["--env", "cartpole", "--seed", "1"]`.
 * @returns The parsed flags and the run's configuration.
 * @throws {UsageError} Naming the first mistake, worded as `deno task train` words it.
 *
 * @example
 * ```ts
 * import { newTrainConfigFromArgs } from "./train_cli.ts";
 * const { config } = newTrainConfigFromArgs(["--algo", "dqn", "--seed", "3", "--hidden", "16"]);
 * if (config.seed !== 3 || String(config.agent.hiddenSizes) !== "16") throw new Error();
 * ```
 */
export function newTrainConfigFromArgs(
  args: readonly string[],
): { flags: TrainFlags; config: TrainConfig } {
  const { flags } = parseCli(TRAIN_CLI, args);
  if (flags.resume) throw new UsageError("--resume continues one run: give it to deno task train");
  checkStopOnReturn(flags);
  const config = newConfig(flags);
  checkTemperature(flags, config.agent);
  return { flags, config };
}

/**
 * `--stop-on-return` acts on the evaluations during training: refused without `--eval-every` for
 * a new run.
 *
 * @param flags The parsed flags.
 * @throws {UsageError} When `--stop-on-return` is given without `--eval-every` to a new run.
 */
export function checkStopOnReturn(flags: TrainFlags): void {
  if (flags.stopOnReturn !== undefined && flags.evalEvery === undefined && !flags.resume) {
    throw new UsageError("--stop-on-return needs --eval-every: it acts on the evaluations");
  }
}
