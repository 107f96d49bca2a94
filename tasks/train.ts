/**
 * `deno task train`: trains an agent and writes its run directory and report.
 *
 *     deno task train [--env cartpole] [--algo dqn] [--seed 0] [--steps N] [--backend auto]
 *                     [--out runs/NAME] [--resume] [algorithm and environment flags]
 *
 * With no flags it trains the CartPole DQN preset into `runs/<date-time>/`. Flags left out take
 * the preset of the environment and algorithm; with `--resume` they take the run's own settings,
 * and a flag that contradicts them is an error. A user's mistake prints one line on stderr and
 * exits with code 2; a run that produces NaN stops with exit code 1 and keeps its last good
 * checkpoint.
 *
 * @module
 */

import type { BackendChoice } from "../lib/backend/create.ts";
import { BACKEND_CHOICES } from "../lib/backend/create.ts";
import { defineCli, parseCli, runCli, UsageError } from "../lib/io/cli.ts";
import type { JsonObject } from "../lib/io/json.ts";
import { openRunDir, readConfig } from "../lib/io/run_dir.ts";
import { presetFor } from "../lib/run/presets.ts";
import { ALGO_NAMES, type AlgoName, ENV_NAMES, type EnvName } from "../lib/run/registry.ts";
import { NumericalError, train, type TrainConfig } from "../lib/run/trainer.ts";

/** The command line of the task. */
export const TRAIN_CLI = defineCli({
  name: "deno task train",
  summary: "Trains an agent, then evaluates it and writes its run directory and report.",
  flags: {
    env: { type: "choice", choices: ENV_NAMES, description: "The environment (default cartpole)" },
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
    actions: {
      type: "choice",
      choices: ["discrete", "continuous"],
      description: "pendulum's torque: 5 discrete levels, or continuous (ppo, a2c, reinforce)",
    },
    width: { type: "integer", min: 1, description: "Minesweeper columns" },
    height: { type: "integer", min: 1, description: "Minesweeper rows" },
    mines: { type: "integer", min: 1, description: "Minesweeper mines" },
    difficulty: {
      type: "choice",
      choices: ["easy", "medium", "hard"],
      description: "minesweeper-memory board (default easy)",
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
  return out;
}

function envOverrides(flags: Flags): JsonObject {
  const out: JsonObject = {};
  for (const key of ["width", "height", "mines", "difficulty"] as const) {
    if (flags[key] !== undefined) out[key] = flags[key]!;
  }
  if (flags.actions !== undefined) out.continuous = flags.actions === "continuous";
  return out;
}

function parseSizes(text: string): number[] {
  const sizes = text.split(",").map((s) => Number(s.trim()));
  if (sizes.length === 0 || !sizes.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UsageError(`--hidden must be positive integers separated by commas, got "${text}"`);
  }
  return sizes;
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
    envOptions: { ...preset.envOptions, ...envOverrides(flags) },
    agent: fitCellwiseToBoard({ ...preset.options, ...agentOverrides(flags) }, flags),
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
  const saved = await readConfig(await openRunDir(dir));
  const config = {
    env: flags.env ?? saved.env,
    algo: flags.algo ?? saved.algo,
    seed: flags.seed ?? saved.seed,
    steps: flags.steps ?? saved.steps,
    backend: flags.backend ?? saved.backend,
    envOptions: { ...(saved.envOptions as JsonObject), ...envOverrides(flags) },
    agent: { ...(saved.agent as JsonObject), ...agentOverrides(flags) },
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
 * @returns The exit code.
 */
export async function trainFromArgs(args: readonly string[]): Promise<void> {
  const { flags } = parseCli(TRAIN_CLI, args);
  if (flags.resume && flags.out === undefined) {
    throw new UsageError("--resume needs --out, the run directory to continue");
  }
  if (flags.stopOnReturn !== undefined && flags.evalEvery === undefined && !flags.resume) {
    throw new UsageError("--stop-on-return needs --eval-every: it acts on the evaluations");
  }
  const config = flags.resume ? await resumedConfig(flags, flags.out!) : newConfig(flags);
  await train(config, { out: flags.out, resume: flags.resume });
}

if (import.meta.main) {
  await runCli(async () => {
    try {
      await trainFromArgs(Deno.args);
    } catch (error) {
      if (!(error instanceof NumericalError)) throw error;
      console.error(`error: ${(error as Error).message}`);
      Deno.exit(1);
    }
  });
  // A WebGPU device can keep the event loop alive; the run is over.
  Deno.exit(0);
}
