/**
 * `deno task eval`: evaluates a policy greedily and prints the result as one JSON line on stdout,
 * `{"episodes":N,"meanReturn":M,"stdReturn":S,"seed":K,"returns":[...],...}` plus `"winRate"`
 * where the game has wins (the object `eval.json` holds).
 *
 *     deno task eval --run runs/NAME [--episodes N] [--seed N] [--onnx]
 *     deno task eval --env NAME --agent random|solver|popular|myopic [--episodes N] [--seed N]
 *                    [--width N --height N --mines N] [--difficulty easy|medium|hard]
 *                    [--items N --interest-dimension N --history-length N]
 *
 * With `--run` it plays the run's trained agent, by default through rnnrl's own forward pass and
 * with `--onnx` through an onnxruntime-web session of the exported policy (`policy.onnx` when the
 * run has one, else exported on the fly). The same `--seed` sees the same episodes either way.
 * A `policy.onnx` must be the run's current one: its metadata names the run and the checkpoint it
 * was exported from, and a model exported from another run, or from an older checkpoint of this
 * one (the run was resumed since), is refused, as is a damaged one (its checksum does not match).
 * A user's mistake prints one line on stderr and exits with code 2.
 *
 * @module
 */

import { defineCli, fromUserInput, parseCli, runCli, UsageError } from "../lib/io/cli.ts";
import { FileError, fileSystemError } from "../lib/io/errors.ts";
import { runFile } from "../lib/io/run_dir.ts";
import { exportPolicy } from "../lib/onnx/agent_export.ts";
import { OnnxPolicy, onnxPolicy } from "../lib/onnx/policy.ts";
import { evaluate, type EvaluationResult } from "../lib/rl/evaluation.ts";
import {
  BASELINE_AGENTS,
  type BaselineAgent,
  ENV_CHOICES_SUMMARY,
  ENV_NAMES,
  runBaseline,
} from "../lib/run/registry.ts";
import {
  checkPolicySource,
  createRunEnv,
  envsWithOption,
  envTakesOption,
  type LoadedRun,
  loadRun,
} from "../lib/run/trainer.ts";

const AGENTS: readonly BaselineAgent[] = BASELINE_AGENTS;

/** The environment options of baselines that a flag sets, with the flag. */
const ENV_FLAGS = [
  ["width", "width"],
  ["height", "height"],
  ["mines", "mines"],
  ["difficulty", "difficulty"],
  ["items", "items"],
  ["interestDimension", "interest-dimension"],
  ["historyLength", "history-length"],
] as const;

/** The command line of the task. */
const EVAL_CLI = defineCli({
  name: "deno task eval",
  summary: "Evaluates a trained run or a built-in baseline and prints the result as one JSON line.",
  flags: {
    run: { type: "string", placeholder: "DIR", description: "A run directory to evaluate" },
    onnx: {
      type: "boolean",
      description: "With --run: act through onnxruntime-web on the exported policy",
    },
    env: {
      type: "choice",
      choices: ENV_NAMES,
      choicesSummary: ENV_CHOICES_SUMMARY,
      description: "The environment of a baseline",
    },
    agent: {
      type: "choice",
      choices: AGENTS,
      description:
        "The baseline (solver plays minesweeper only; popular and myopic recommender only)",
    },
    episodes: { type: "integer", min: 1, default: 100, description: "Episodes to play" },
    seed: {
      type: "integer",
      min: 0,
      max: 4294967295,
      description: "Seeds the environment once, before the first episode (default: the run's " +
        "evaluation seed, or 0 for a baseline)",
    },
    width: { type: "integer", min: 1, description: "Minesweeper columns (baselines)" },
    height: { type: "integer", min: 1, description: "Minesweeper rows (baselines)" },
    mines: { type: "integer", min: 0, description: "Minesweeper mines (baselines)" },
    difficulty: {
      type: "choice",
      choices: ["easy", "medium", "hard"],
      description: "minesweeper-memory board: easy 4x4/2, medium 6x6/6, hard 8x8/10 (baselines)",
    },
    items: {
      type: "integer",
      min: 2,
      description: "recommender: items in the catalogue (baselines)",
    },
    "interest-dimension": {
      type: "integer",
      min: 1,
      description: "recommender: dimension of interests and topics (baselines)",
    },
    "history-length": {
      type: "integer",
      min: 1,
      description: "recommender: recommendations the observation shows (baselines)",
    },
  },
});

/**
 * The task's body: parses `args` and evaluates the run or baseline they name.
 *
 * @param args The command-line arguments.
 * @returns The evaluation, as printed.
 * @throws {UsageError} For a missing or bad flag, or a combination that cannot be evaluated.
 */
export async function evaluateFromArgs(args: readonly string[]): Promise<EvaluationResult> {
  const { flags } = parseCli(EVAL_CLI, args);
  if (flags.run !== undefined) {
    for (const [other, flag] of [["env", "env"], ["agent", "agent"], ...ENV_FLAGS] as const) {
      if (flags[other] !== undefined) {
        throw new UsageError(`--${flag} does not apply with --run: the run fixes it`);
      }
    }
    return await evaluateRun(flags.run, flags.episodes, flags.seed, flags.onnx);
  }
  if (flags.onnx) throw new UsageError("--onnx needs --run");
  if (flags.env === undefined) throw new UsageError("--env (or --run) is required");
  if (flags.agent === undefined) throw new UsageError("--agent is required with --env");
  const { env, agent } = flags;
  for (const [key, flag] of ENV_FLAGS) {
    if (flags[key] !== undefined && !envTakesOption(env, key)) {
      throw new UsageError(
        `--${flag} does not apply to --env ${env} (only to ${envsWithOption(key).join(", ")})`,
      );
    }
  }
  return await fromUserInput(() =>
    runBaseline({
      env,
      agent,
      episodes: flags.episodes,
      seed: flags.seed ?? 0,
      width: flags.width,
      height: flags.height,
      mines: flags.mines,
      difficulty: flags.difficulty,
      items: flags.items,
      interestDimension: flags.interestDimension,
      historyLength: flags.historyLength,
    })
  );
}

async function evaluateRun(
  dir: string,
  episodes: number,
  seed: number | undefined,
  onnx: boolean,
): Promise<EvaluationResult> {
  const run = await loadRun(dir);
  const { config, agent, backend } = run;
  try {
    const evalSeed = seed ?? config.evalSeed;
    const env = createRunEnv(config, evalSeed);
    if (!onnx) return await evaluate(env, agent, { episodes, seed: evalSeed });
    const session = await loadPolicy(dir, run);
    try {
      return await evaluate(env, onnxPolicy(session), { episodes, seed: evalSeed });
    } finally {
      await session.release();
    }
  } finally {
    backend.destroy();
  }
}

/**
 * The run's exported policy (`policy.onnx`), checked to be intact and to come from the run's
 * current checkpoint, or one exported on the fly when it has none.
 */
async function loadPolicy(dir: string, run: LoadedRun): Promise<OnnxPolicy> {
  const path = runFile(dir, "policy");
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return await fromUserInput(async () => OnnxPolicy.load(await exportPolicy(run.agent)));
    }
    if (error instanceof Deno.errors.IsADirectory) {
      throw new FileError(`Cannot read ${path}: it is a directory`);
    }
    throw fileSystemError(`Cannot read ${path}`, error);
  }
  const hint = `export it again with deno task export --run ${dir}`;
  const session = await OnnxPolicy.load(bytes, { requireChecksum: true }).catch(
    (error: unknown) => {
      if (!(error instanceof TypeError)) throw error;
      const decode = /^Cannot decode ONNX model: (.*)$/.exec(error.message);
      const reason = decode
        ? `it is not a valid ONNX file (${decode[1]})`
        : error.message.replace(/^Cannot load ONNX policy: /, "");
      throw new UsageError(`Cannot load ${path}: ${reason}; ${hint}`);
    },
  );
  try {
    checkPolicySource(session.metadata, run, path);
  } catch (error) {
    await session.release();
    throw error;
  }
  return session;
}

if (import.meta.main) {
  await runCli(async () => console.log(JSON.stringify(await evaluateFromArgs(Deno.args))));
  Deno.exit(0);
}
