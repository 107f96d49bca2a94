/**
 * `deno task train`: trains an agent and writes its run directory and report.
 *
 *     deno task train [--env cartpole] [--algo dqn] [--seed 0] [--steps N] [--backend auto]
 *                     [--out runs/NAME] [--resume] [algorithm and environment flags]
 *
 * With no flags it trains the CartPole DQN preset into `runs/<date-time>/`. Flags left out take
 * the preset of the environment and algorithm; with `--resume` they take the run's own settings,
 * and a flag that contradicts them is an error. A user's mistake prints one line on stderr and
 * exits with code 2; a run that produces NaN, or finds the disk full, stops with one line and exit
 * code 1 and keeps its checkpoints.
 *
 * Stopping: SIGINT (Ctrl-C) or SIGTERM stops training at the next update or episode boundary,
 * saves a checkpoint there and exits with one line saying how to resume (exit code 130 or 143).
 * Under `deno task`, a runner process stands between the user and this one; if that runner is
 * killed (even by SIGKILL, which it cannot pass on), this process notices that its parent is gone
 * (its parent pid changes) within a fraction of a second and exits at once, so no writer outlives
 * the command the user killed. The run directory's lock is held by this process and released by
 * the kernel whenever it ends.
 *
 * @module
 */

import type { BackendChoice } from "../lib/backend/create.ts";
import { BACKEND_CHOICES } from "../lib/backend/create.ts";
import {
  abortOnSignals,
  defineCli,
  exitWithTaskRunner,
  parseCli,
  parseNumber,
  runCli,
  UsageError,
} from "../lib/io/cli.ts";
import type { JsonObject } from "../lib/io/json.ts";
import { openRunDir } from "../lib/io/run_dir.ts";
import { EXPLORATIONS } from "../lib/rl/boltzmann.ts";
import { presetFor } from "../lib/run/presets.ts";
import {
  ALGO_NAMES,
  type AlgoName,
  ENV_CHOICES_SUMMARY,
  ENV_NAMES,
  type EnvName,
} from "../lib/run/registry.ts";
import {
  envsWithOption,
  envTakesOption,
  readRunConfig,
  train,
  type TrainConfig,
} from "../lib/run/trainer.ts";

/** The command line of the task. */
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

type Flags = ReturnType<typeof parseCli<typeof TRAIN_CLI>>["flags"];

/** The flags that set agent options, by the option they set. */
function agentOverrides(flags: Flags): JsonObject {
  const out: JsonObject = {};
  if (flags.learningRate !== undefined) out.learningRate = flags.learningRate;
  if (flags.gamma !== undefined) out.gamma = flags.gamma;
  if (flags.batchSize !== undefined) out.batchSize = flags.batchSize;
  if (flags.hidden !== undefined) out.hiddenSizes = parseSizes(flags.hidden);
  if (flags.logEvery !== undefined) out.logInterval = flags.logEvery;
  if (flags.cell !== undefined) out.cell = flags.cell;
  if (flags.cellUnits !== undefined) out.cellUnits = flags.cellUnits;
  if (flags.exploration !== undefined) out.exploration = flags.exploration;
  if (flags.temperature !== undefined) out.temperature = flags.temperature;
  return out;
}

/** `--temperature` is Boltzmann exploration's: refused where the agent explores otherwise. */
function checkTemperature(flags: Flags, agent: JsonObject): void {
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
function envOverrides(flags: Flags, env: EnvName): JsonObject {
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

/** A cellwise Q-network (the Minesweeper preset's) follows `--width` and `--height`. */
function fitCellwiseToBoard(agent: JsonObject, flags: Flags): JsonObject {
  const cellwise = agent.cellwise;
  if (!cellwise || typeof cellwise !== "object" || Array.isArray(cellwise)) return agent;
  return {
    ...agent,
    cellwise: {
      ...cellwise,
      ...(flags.width === undefined ? {} : { width: flags.width }),
      ...(flags.height === undefined ? {} : { height: flags.height }),
    },
  };
}

/**
 * An embedding over the recommender's history (the recommender preset's) follows `--items` (the
 * vocabulary is the items and the empty slot) and `--history-length` (the ids).
 */
function fitEmbeddingToHistory(agent: JsonObject, flags: Flags): JsonObject {
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

/** The configuration of a new run: the preset, then the flags. */
function newConfig(flags: Flags): TrainConfig {
  const env: EnvName = flags.env ?? "cartpole";
  const algo: AlgoName = flags.algo ?? "dqn";
  const preset = presetFor(env, algo);
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

/**
 * The configuration of a resumed run: the run's own, with any flag given on the command line
 * laid over it (the trainer then refuses a run whose saved settings differ).
 */
async function resumedConfig(flags: Flags, dir: string): Promise<TrainConfig> {
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
 * The task's body: parses `args`, then trains (or resumes) a run.
 *
 * @param args The command-line arguments.
 * @param signal Stops training politely (at a boundary, with a checkpoint) when aborted.
 */
export async function trainFromArgs(
  args: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  const { flags } = parseCli(TRAIN_CLI, args);
  if (flags.resume && flags.out === undefined) {
    throw new UsageError("--resume needs --out, the run directory to continue");
  }
  if (flags.stopOnReturn !== undefined && flags.evalEvery === undefined && !flags.resume) {
    throw new UsageError("--stop-on-return needs --eval-every: it acts on the evaluations");
  }
  const config = flags.resume ? await resumedConfig(flags, flags.out!) : newConfig(flags);
  checkTemperature(flags, config.agent);
  await train(config, { out: flags.out, resume: flags.resume, signal, command: "deno task train" });
}

if (import.meta.main) {
  exitWithTaskRunner(
    "the run directory keeps its last checkpoint (continue with deno task train --resume)",
  );
  const signal = abortOnSignals();
  await runCli(() => trainFromArgs(Deno.args, signal));
  // A WebGPU device can keep the event loop alive; the run is over.
  Deno.exit(0);
}
