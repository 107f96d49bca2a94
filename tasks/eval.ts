/**
 * `deno task eval`: evaluates a policy and prints the result as one JSON line on stdout,
 * `{"episodes":N,"meanReturn":M,"stdReturn":S,"seed":K,"returns":[...]}` plus `"winRate"` where
 * the game has wins (the object `eval.json` holds).
 *
 *     deno task eval --env NAME --agent random|solver [--episodes N] [--seed N]
 *                    [--width N --height N --mines N] [--difficulty easy|medium|hard]
 *
 * Needs no permissions. A user's mistake prints one line on stderr and exits with code 2.
 *
 * @module
 */

import { ENV_NAMES } from "../lib/envs/baselines.ts";
import { type BaselineAgent, type EvaluationResult, runBaseline } from "../lib/rl/evaluation.ts";
import { defineCli, fromUserInput, parseCli, runCli, UsageError } from "../lib/io/cli.ts";

const AGENTS: readonly BaselineAgent[] = ["random", "solver"];

/** The command line of the task. */
const EVAL_CLI = defineCli({
  name: "deno task eval",
  summary: "Evaluates a built-in baseline agent and prints the result as one JSON line.",
  flags: {
    env: { type: "choice", choices: ENV_NAMES, description: "The environment" },
    agent: {
      type: "choice",
      choices: AGENTS,
      description: "The baseline (solver plays minesweeper only)",
    },
    episodes: { type: "integer", min: 1, default: 100, description: "Episodes to play" },
    seed: {
      type: "integer",
      min: 0,
      max: 4294967295,
      default: 0,
      description: "Seeds the environment once, before the first episode",
    },
    width: {
      type: "integer",
      min: 1,
      description: "Minesweeper columns (default 9; minesweeper-memory: the difficulty's)",
    },
    height: {
      type: "integer",
      min: 1,
      description: "Minesweeper rows (default 9; minesweeper-memory: the difficulty's)",
    },
    mines: {
      type: "integer",
      min: 0,
      description: "Minesweeper mines (default 10; minesweeper-memory: the difficulty's)",
    },
    difficulty: {
      type: "choice",
      choices: ["easy", "medium", "hard"],
      description: "minesweeper-memory board: easy 4x4/2, medium 6x6/6, hard 8x8/10 (default easy)",
    },
  },
});

/**
 * The task's body: parses `args` and evaluates the baseline they name.
 *
 * @param args The command-line arguments.
 * @returns The evaluation, as printed.
 * @throws {UsageError} For a missing or bad flag, or a combination the environments refuse.
 */
export async function evaluateFromArgs(args: readonly string[]): Promise<EvaluationResult> {
  const { flags } = parseCli(EVAL_CLI, args);
  if (flags.env === undefined) throw new UsageError("--env is required");
  if (flags.agent === undefined) throw new UsageError("--agent is required");
  const { env, agent } = flags;
  return await fromUserInput(() =>
    runBaseline({
      env,
      agent,
      episodes: flags.episodes,
      seed: flags.seed,
      width: flags.width,
      height: flags.height,
      mines: flags.mines,
      difficulty: flags.difficulty,
    })
  );
}

if (import.meta.main) {
  await runCli(async () => console.log(JSON.stringify(await evaluateFromArgs(Deno.args))));
}
