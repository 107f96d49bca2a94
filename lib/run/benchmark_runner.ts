/**
 * Runs a benchmark's plan: every run (environment × model × seed) trained by `train` into its run
 * directory, `jobs` at a time, in the pool of Web Workers of lib/run/run_pool.ts. Runs are
 * independent and seeded, so the results do not depend on `jobs` or on the order runs finish in.
 *
 * A re-started benchmark continues where it stopped: a run whose `eval.json` exists is finished
 * and skipped, a run directory without one is resumed (`train`'s `resume`: from its checkpoint,
 * or from step 0 when it had saved none), and the other runs start. A run that fails — a damaged
 * run directory, a full disk, a diverged agent, a crashed worker — is reported in one line, and
 * the others go on. When `signal` aborts, every run in progress stops at its next boundary with a
 * checkpoint, no run starts, and the runner returns; a re-start resumes them.
 *
 * Progress goes to `log`: a line when the benchmark starts, and one a run as it ends, with the
 * overall count; a run's own training progress is not shown.
 *
 * @module
 */

import { join } from "node:path";
import { UsageError } from "../io/errors.ts";
import {
  benchmarkConfig,
  type BenchmarkPlan,
  type BenchmarkRun,
  benchmarkRuns,
} from "./benchmark.ts";
import { checkTrainConfig, type TrainConfig } from "./run_config.ts";
import { runPool } from "./run_pool.ts";

/** Options of {@linkcode runBenchmark}. */
export interface RunBenchmarkOptions {
  /** The benchmark's directory. */
  out: string;
  /** Runs trained at once (default: the number of CPUs). */
  jobs?: number;
  /** Stops the runs in progress politely, and starts no other. */
  signal?: AbortSignal;
  /** Where progress goes (default: stderr). */
  log?: (line: string) => void;
}

/** How a benchmark's session ended. */
export interface BenchmarkOutcome {
  /** The runs of the plan. */
  runs: number;
  /** Those finished before this session started. */
  skipped: number;
  /** Those this session finished. */
  finished: number;
  /** Those that failed, with their one-line reasons. */
  failed: { run: BenchmarkRun; message: string }[];
  /** The signal's reason when the session was interrupted ("SIGINT"), else undefined. */
  interrupted?: string;
  /** The runs left unfinished by the interruption. */
  unfinished: number;
}

/**
 * Checks every run's configuration before anything trains: a bad budget or interval is the
 * user's mistake, named once, not a failure of every run.
 *
 * @param plan The plan.
 * @returns The configuration of each of its runs, in {@linkcode benchmarkRuns}' order.
 * @throws {UserError} Naming the first problem.
 */
export function checkBenchmarkPlan(plan: BenchmarkPlan): TrainConfig[] {
  return benchmarkRuns(plan).map((run) => {
    const config = checkTrainConfig(benchmarkConfig(plan, run));
    if (config.evalEvery > config.steps) {
      throw new UsageError(
        `--eval-every ${config.evalEvery} is more than the ${config.steps} steps of ${run.env}: ` +
          "no evaluation would run during training",
      );
    }
    return config;
  });
}

/**
 * Trains every run of a plan that is not finished (see the module documentation).
 *
 * @param plan The plan (its benchmark.json is the caller's to write).
 * @param options The directory, the parallelism, the signal and the log.
 * @returns How the session ended.
 * @throws {UsageError} When a run's configuration is not valid (before anything trains).
 */
export async function runBenchmark(
  plan: BenchmarkPlan,
  options: RunBenchmarkOptions,
): Promise<BenchmarkOutcome> {
  const runs = benchmarkRuns(plan);
  const configs = checkBenchmarkPlan(plan);
  const pool = await runPool(
    runs.map((run, i) => ({
      name: `${run.env} ${run.model} seed ${run.seed}`,
      dir: join(options.out, run.dir),
      config: configs[i],
    })),
    {
      title:
        `benchmark: ${count(runs.length, "run")} (${count(plan.envs.length, "environment")} × ` +
        `${count(plan.models.length, "model")} × ${count(plan.seeds.length, "seed")}) into ` +
        options.out,
      command: "deno task benchmark",
      jobs: options.jobs,
      signal: options.signal,
      log: options.log,
    },
  );
  return {
    ...pool,
    failed: pool.failed.map(({ index, message }) => ({ run: runs[index], message })),
  };
}

/** "1 seed", "3 seeds". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
