/**
 * `deno task benchmark`: the memory benchmark, after POPGym's — every environment of a suite ×
 * every model (an algorithm with an LSTM, a GRU or no cell) × every seed, trained in parallel,
 * then scored into one table and one report.
 *
 *     deno task benchmark [--suite easy] [--envs a,b] [--algos ppo] [--cells none,lstm,gru]
 *                         [--seeds 1,2,3] [--steps N] [--jobs N] [--eval-every N]
 *                         [--eval-episodes N] [--final-eval-episodes N] [--backend cpu]
 *                         [--out DIR] [--summarize-only]
 *
 * Each run is a run directory `OUT/<env>/<algo>-<cell>/seed-<s>` of `deno task train`'s kind,
 * trained with the preset of its environment and algorithm. `OUT/benchmark.json` records the
 * plan; the same command again continues the benchmark (finished runs are skipped, stopped ones
 * resumed), flags left out take the plan's values, and a flag that differs from the plan is
 * refused. At the end, `OUT/results.md` (also printed on stdout), `OUT/results.json` and
 * `OUT/report.html` hold the scores; `--summarize-only --out OUT` writes them again from the runs
 * there, training nothing.
 *
 * Progress goes to stderr, a line a run. A run that fails is named in one line and the others go
 * on; the benchmark then exits with code 1. A user's mistake prints one line and exits with code
 * 2. SIGINT (Ctrl-C) or SIGTERM stops the runs in progress at their next boundary with a
 * checkpoint and exits with code 130 or 143; the same command continues.
 *
 * @module
 */

import { basename, join } from "node:path";
import { BACKEND_CHOICES, type BackendChoice } from "../lib/backend/create.ts";
import {
  abortOnSignals,
  defineCli,
  exitWithTaskRunner,
  parseCli,
  parseNumber,
  runCli,
  UsageError,
} from "../lib/io/cli.ts";
import { fileSystemError, RunDirError } from "../lib/io/errors.ts";
import { defaultRunName } from "../lib/io/run_dir.ts";
import type { RunLock } from "../lib/io/run_lock.ts";
import { POLICY_CELLS, type PolicyCell } from "../lib/rl/actor_critic.ts";
import {
  BENCHMARK_ALGOS,
  BENCHMARK_ENV_NAMES,
  BENCHMARK_FILE,
  BENCHMARK_SUITE_NAMES,
  type BenchmarkAlgo,
  type BenchmarkChoices,
  type BenchmarkEnvName,
  type BenchmarkPlan,
  readPlan,
  resolvePlan,
  writePlan,
} from "../lib/run/benchmark.ts";
import { checkBenchmarkPlan, runBenchmark } from "../lib/run/benchmark_runner.ts";
import { summarizeBenchmark } from "../lib/run/benchmark_summary.ts";
import {
  isDirectory,
  lockPlanDir,
  refuseForeign as refuseForeignDir,
  throwUnlessComplete,
} from "../lib/run/plan_dir.ts";

/** The command line of the task. */
const BENCHMARK_CLI = defineCli({
  name: "deno task benchmark",
  summary: "Trains every environment × model × seed of a memory benchmark in parallel, then " +
    "writes its table (results.md, results.json) and report (report.html).",
  flags: {
    suite: {
      type: "choice",
      choices: BENCHMARK_SUITE_NAMES,
      description: "The environments: POPGym's games at a level, popgym-easy, or memory " +
        "(default easy)",
    },
    envs: {
      type: "string",
      placeholder: "A,B,...",
      description: "The environments instead of a suite's (POPGym's, cartpole-masked, " +
        "minesweeper-memory)",
    },
    algos: {
      type: "string",
      placeholder: "A,B,...",
      description: `The algorithms, of ${BENCHMARK_ALGOS.join(", ")} (default ppo)`,
    },
    cells: {
      type: "string",
      placeholder: "C,...",
      description: "The cells of every algorithm; none is the MLP (default none,lstm,gru)",
    },
    seeds: { type: "string", placeholder: "S,...", description: "The seeds (default 1,2,3)" },
    steps: {
      type: "integer",
      min: 1,
      description: "Environment steps a run (default: each preset's)",
    },
    jobs: { type: "integer", min: 1, description: "Runs at once (default: the CPUs)" },
    "eval-every": {
      type: "integer",
      min: 1,
      description: "Steps between evaluations during training (default: a twentieth of the steps)",
    },
    "eval-episodes": {
      type: "integer",
      min: 1,
      description: "Episodes of each evaluation during training (default 20)",
    },
    "final-eval-episodes": {
      type: "integer",
      min: 1,
      description: "Episodes of each run's final evaluation, eval.json (default 100)",
    },
    backend: {
      type: "choice",
      choices: BACKEND_CHOICES,
      description: "Where every run trains (default cpu)",
    },
    out: {
      type: "string",
      placeholder: "DIR",
      description: "The benchmark's directory (default runs/benchmark-<date-time>); an existing " +
        "one is continued",
    },
    "summarize-only": {
      type: "boolean",
      description: "Write the results of the runs in --out again, training nothing",
    },
  },
});

type Flags = ReturnType<typeof parseCli<typeof BENCHMARK_CLI>>["flags"];

/** A comma-separated flag's values, each one of `allowed` when given, none twice. */
function listFlag<T extends string>(
  flag: string,
  text: string,
  allowed: readonly T[],
  expected: string,
): T[] {
  const items = text.split(",");
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) {
      throw new UsageError(
        `--${flag}: ${JSON.stringify(item)} is not ${expected}; separate them by commas`,
      );
    }
  }
  refuseRepeats(flag, items);
  return items as T[];
}

function refuseRepeats(flag: string, items: readonly unknown[]): void {
  const repeated = items.find((item, i) => items.indexOf(item) !== i);
  if (repeated !== undefined) throw new UsageError(`--${flag} names ${repeated} twice`);
}

/** The seeds of `--seeds`: integers in [0, 4294967295], separated by commas. */
function parseSeeds(text: string): number[] {
  const seeds = text.split(",").map((s) => parseNumber(s));
  if (
    !seeds.every((s) => s !== undefined && Number.isSafeInteger(s) && s >= 0 && s <= 4294967295)
  ) {
    throw new UsageError(
      `--seeds must be integers in [0, 4294967295] separated by commas, got "${text}"`,
    );
  }
  refuseRepeats("seeds", seeds);
  return seeds as number[];
}

/** The plan's fields the command line chose. */
function choicesOf(flags: Flags): BenchmarkChoices {
  const choices: BenchmarkChoices = {};
  if (flags.suite !== undefined) choices.suite = flags.suite;
  if (flags.envs !== undefined) {
    choices.envs = listFlag<BenchmarkEnvName>(
      "envs",
      flags.envs,
      BENCHMARK_ENV_NAMES,
      "a benchmark environment (POPGym's games with -easy, -medium or -hard, cartpole-masked or " +
        "minesweeper-memory)",
    );
  }
  if (flags.algos !== undefined) {
    choices.algos = listFlag<BenchmarkAlgo>(
      "algos",
      flags.algos,
      BENCHMARK_ALGOS,
      `one of ${BENCHMARK_ALGOS.join(", ")}`,
    );
  }
  if (flags.cells !== undefined) {
    choices.cells = listFlag<PolicyCell>(
      "cells",
      flags.cells,
      POLICY_CELLS,
      `one of ${POLICY_CELLS.join(", ")}`,
    );
  }
  if (flags.seeds !== undefined) choices.seeds = parseSeeds(flags.seeds);
  if (flags.steps !== undefined) choices.steps = flags.steps;
  if (flags.evalEvery !== undefined) choices.evalEvery = flags.evalEvery;
  if (flags.evalEpisodes !== undefined) choices.evalEpisodes = flags.evalEpisodes;
  if (flags.finalEvalEpisodes !== undefined) choices.finalEvalEpisodes = flags.finalEvalEpisodes;
  if (flags.backend !== undefined) choices.backend = flags.backend as BackendChoice;
  return choices;
}

/** Refuses a directory that holds something other than a benchmark. */
async function refuseForeign(out: string): Promise<void> {
  await refuseForeignDir(out, "a benchmark", BENCHMARK_FILE);
}

/** Takes the benchmark directory's lock: one benchmark writes into it at a time. */
async function lockBenchmark(out: string): Promise<RunLock> {
  return await lockPlanDir(out, "deno task benchmark");
}

/** `--summarize-only`: the results of the runs in --out, written again. */
async function summarizeOnly(flags: Flags, out: string | undefined): Promise<void> {
  const others = Object.entries(flags).filter(([key, value]) =>
    key !== "summarizeOnly" && key !== "out" && value !== undefined
  );
  if (others.length > 0) {
    const flag = others[0][0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new UsageError(`--summarize-only takes only --out, not --${flag} (the plan is saved)`);
  }
  if (out === undefined) {
    throw new UsageError("--summarize-only needs --out, the benchmark's directory");
  }
  if (!await isDirectory(out)) throw new RunDirError(`Cannot summarize ${out}: it does not exist`);
  const lock = await lockBenchmark(out);
  try {
    const plan = await readPlan(out);
    if (!plan) throw new RunDirError(`Cannot summarize ${out}: it holds no ${BENCHMARK_FILE}`);
    await writeResults(out, plan);
  } finally {
    await lock.release();
  }
}

/** Writes the results and prints the table. */
async function writeResults(out: string, plan: BenchmarkPlan): Promise<void> {
  const { files } = await summarizeBenchmark(out, plan);
  console.log(await Deno.readTextFile(files[1]));
  console.error(`wrote ${files.join(", ")}`);
}

/**
 * The task's body: parses `args`, then runs (or continues) the benchmark and writes its results.
 *
 * @param args The command-line arguments.
 * @param signal Stops the runs in progress politely when aborted.
 */
export async function benchmarkFromArgs(
  args: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  const { flags } = parseCli(BENCHMARK_CLI, args);
  if (flags.summarizeOnly) return await summarizeOnly(flags, flags.out);
  const out = flags.out ?? join("runs", `benchmark-${basename(defaultRunName())}`);
  const choices = choicesOf(flags);
  const existing = await isDirectory(out);
  const saved = existing ? await readPlan(out) : undefined;
  if (existing && !saved) await refuseForeign(out);
  // Everything the command line chose is checked before anything is written.
  checkBenchmarkPlan(resolvePlan(choices, saved, out));
  try {
    await Deno.mkdir(out, { recursive: true });
  } catch (error) {
    throw fileSystemError(`Cannot create ${out}`, error);
  }
  const lock = await lockBenchmark(out);
  let plan: BenchmarkPlan;
  let outcome;
  try {
    // Read again under the lock: another benchmark may have planned this directory meanwhile.
    const current = await readPlan(out);
    if (!current) await refuseForeign(out);
    plan = resolvePlan(choices, current, out);
    if (!current) await writePlan(out, plan);
    outcome = await runBenchmark(plan, { out, jobs: flags.jobs, signal });
    if (outcome.interrupted === undefined && outcome.finished + outcome.skipped > 0) {
      await writeResults(out, plan);
    }
  } finally {
    await lock.release();
  }
  throwUnlessComplete(outcome, out, "deno task benchmark");
}

if (import.meta.main) {
  exitWithTaskRunner(
    "the runs keep their last checkpoints (continue with deno task benchmark --out DIR)",
  );
  const signal = abortOnSignals();
  await runCli(() => benchmarkFromArgs(Deno.args, signal));
  Deno.exit(0);
}
