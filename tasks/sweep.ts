/**
 * `deno task sweep`: one environment and algorithm, every setting of a grid of `deno task train`
 * flags × every seed, trained in parallel, then compared in one table and one report.
 *
 *     deno task sweep [--env cartpole] [--algo dqn] [--seeds 1-5,9] [--grid FLAG=V1,V2 ...]
 *                     [--steps N] [--eval-every N] [--eval-episodes N] [--final-eval-episodes N]
 *                     [--workers N | --queue nats://HOST:PORT [--redeliver-after S]]
 *                     [--backend cpu] [--threshold X] [--out DIR] [--summarize-only]
 *
 * `--grid learning-rate=1e-3,3e-4 --grid hidden=64,128` makes four settings, the cartesian
 * product; each flag is a `deno task train` flag, each value checked as train checks it. Each run
 * is the run directory `OUT/<setting>/seed-<s>` that `deno task train --env E --algo A --seed S
 * <the setting's flags> --steps … --eval-every … --eval-every-episodes … --eval-episodes …
 * --backend …` would write. `OUT/sweep.json` records the plan; the same command again continues
 * the sweep (finished runs are skipped, stopped ones resumed), flags left out take the plan's
 * values, and a flag that differs from the plan is refused. At the end, `OUT/results.md` (also
 * printed on stdout), `OUT/results.json` and `OUT/report.html` hold the comparison;
 * `--summarize-only --out OUT [--threshold X]` writes them again from the runs there.
 *
 * With `--queue nats://HOST:PORT` the runs are not trained here: they go on the NATS JetStream
 * work queue there, `deno task worker --queue nats://HOST:PORT` processes on any machines train
 * them, and the sweep waits and fetches each finished run directory into `OUT` (lib/run/
 * queue_sweep.ts; `OUT/queue.json` says where the runs went). A worker that dies mid-run has its
 * run handed to another after `--redeliver-after` seconds (default 60) without word from it,
 * resumed from the last checkpoint it stored. Interrupting such a sweep stops only the waiting.
 *
 * Progress goes to stderr, a line a run. A run that fails is named in one line and the others go
 * on; the sweep then exits with code 1. A user's mistake prints one line and exits with code 2,
 * before anything trains. SIGINT (Ctrl-C) or SIGTERM stops the runs in progress at their next
 * boundary with a checkpoint and exits with code 130 or 143; the same command continues.
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
  runCli,
  UsageError,
} from "../lib/io/cli.ts";
import { fileSystemError, RunDirError, StopError } from "../lib/io/errors.ts";
import { defaultRunName } from "../lib/io/run_dir.ts";
import {
  isDirectory,
  lockPlanDir,
  refuseForeign,
  throwUnlessComplete,
} from "../lib/run/plan_dir.ts";
import { ALGO_NAMES, ENV_CHOICES_SUMMARY, ENV_NAMES } from "../lib/run/registry.ts";
import { runPool } from "../lib/run/run_pool.ts";
import {
  checkSweepPlan,
  gridSettings,
  parseGridAxis,
  parseSeedList,
  readSweepPlan,
  resolveSweepPlan,
  SWEEP_FILE,
  type SweepChoices,
  type SweepPlan,
  writeSweepPlan,
} from "../lib/run/sweep.ts";
import { summarizeSweep } from "../lib/run/sweep_summary.ts";
import {
  type QueueOutcome,
  queueRecordFor,
  readQueueRecord,
  runOnQueue,
} from "../lib/run/queue_sweep.ts";
import { DEFAULT_REDELIVER_SECONDS, parseQueueUrl, WorkQueue } from "../lib/run/work_queue.ts";

/** The command line of the task. */
const SWEEP_CLI = defineCli({
  name: "deno task sweep",
  summary: "Trains every setting of a grid of deno task train flags × every seed in parallel, " +
    "then writes their comparison (results.md, results.json) and report (report.html).",
  flags: {
    env: {
      type: "choice",
      choices: ENV_NAMES,
      choicesSummary: ENV_CHOICES_SUMMARY,
      description: "The environment (default cartpole)",
    },
    algo: { type: "choice", choices: ALGO_NAMES, description: "The algorithm (default dqn)" },
    seeds: {
      type: "string",
      placeholder: "S,A-B,...",
      description: "The seeds: integers and ranges (default 1,2,3)",
    },
    grid: {
      type: "string",
      multiple: true,
      placeholder: "FLAG=V1,V2",
      description: "A deno task train flag and its values; the settings are every combination " +
        "(values with commas: separate them by ;)",
    },
    steps: { type: "integer", min: 1, description: "Environment steps a run (default: preset's)" },
    "eval-every": {
      type: "integer",
      min: 1,
      description: "Steps between evaluations during training, the curves (default: none; the " +
        "curves are then the training episodes)",
    },
    "eval-episodes": {
      type: "integer",
      min: 1,
      description: "Episodes of each evaluation during training (default: train's, 10)",
    },
    "final-eval-episodes": {
      type: "integer",
      min: 1,
      description: "Episodes of each run's final evaluation, eval.json (default: train's, 100)",
    },
    workers: { type: "integer", min: 1, description: "Runs at once (default: the CPUs)" },
    queue: {
      type: "string",
      placeholder: "nats://HOST:PORT",
      description: "Put the runs on this NATS JetStream work queue for deno task worker " +
        "processes to train, and collect them, instead of training them here",
    },
    "redeliver-after": {
      type: "number",
      min: 0.5,
      description: "With --queue: seconds without word from a worker before its run goes to " +
        `another (default ${DEFAULT_REDELIVER_SECONDS})`,
    },
    backend: {
      type: "choice",
      choices: BACKEND_CHOICES,
      description: "Where every run trains (default cpu)",
    },
    threshold: {
      type: "number",
      description: "A return to reach: the results give each setting's steps to reach it",
    },
    out: {
      type: "string",
      placeholder: "DIR",
      description: "The sweep's directory (default runs/sweep-<date-time>); an existing one is " +
        "continued",
    },
    "summarize-only": {
      type: "boolean",
      description: "Write the results of the runs in --out again, training nothing",
    },
  },
});

type Flags = ReturnType<typeof parseCli<typeof SWEEP_CLI>>["flags"];

/** The plan's fields the command line chose. */
function choicesOf(flags: Flags): SweepChoices {
  const choices: SweepChoices = {};
  if (flags.env !== undefined) choices.env = flags.env;
  if (flags.algo !== undefined) choices.algo = flags.algo;
  if (flags.seeds !== undefined) choices.seeds = parseSeedList(flags.seeds);
  if (flags.grid.length > 0) {
    choices.grid = flags.grid.map(parseGridAxis);
    gridSettings(choices.grid); // refuses an axis given twice
  }
  if (flags.steps !== undefined) choices.steps = flags.steps;
  if (flags.evalEvery !== undefined) choices.evalEvery = flags.evalEvery;
  if (flags.evalEpisodes !== undefined) choices.evalEpisodes = flags.evalEpisodes;
  if (flags.finalEvalEpisodes !== undefined) choices.finalEvalEpisodes = flags.finalEvalEpisodes;
  if (flags.backend !== undefined) choices.backend = flags.backend as BackendChoice;
  if (flags.threshold !== undefined) choices.threshold = flags.threshold;
  return choices;
}

/** `--summarize-only`: the results of the runs in --out, written again. */
async function summarizeOnly(flags: Flags, out: string | undefined): Promise<void> {
  const allowed = new Set(["summarizeOnly", "out", "threshold", "grid"]);
  const others = Object.entries(flags).filter(([key, value]) =>
    !allowed.has(key) && value !== undefined
  );
  if (others.length > 0 || flags.grid.length > 0) {
    const key = others.length > 0 ? others[0][0] : "grid";
    const flag = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new UsageError(
      `--summarize-only takes only --out and --threshold, not --${flag} (the plan is saved)`,
    );
  }
  if (out === undefined) {
    throw new UsageError("--summarize-only needs --out, the sweep's directory");
  }
  if (!await isDirectory(out)) throw new RunDirError(`Cannot summarize ${out}: it does not exist`);
  const lock = await lockPlanDir(out, "deno task sweep");
  try {
    const plan = await readSweepPlan(out);
    if (!plan) throw new RunDirError(`Cannot summarize ${out}: it holds no ${SWEEP_FILE}`);
    await writeResults(out, { ...plan, threshold: flags.threshold ?? plan.threshold });
  } finally {
    await lock.release();
  }
}

/** Writes the results and prints the table. */
async function writeResults(out: string, plan: SweepPlan): Promise<void> {
  const { files } = await summarizeSweep(out, plan);
  console.log(await Deno.readTextFile(files[1]));
  console.error(`wrote ${files.join(", ")}`);
}

/** "1 seed", "3 seeds". */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * The task's body: parses `args`, then runs (or continues) the sweep and writes its results.
 *
 * @param args The command-line arguments.
 * @param signal Stops the runs in progress politely when aborted.
 */
export async function sweepFromArgs(args: readonly string[], signal?: AbortSignal): Promise<void> {
  const { flags } = parseCli(SWEEP_CLI, args);
  if (flags.summarizeOnly) return await summarizeOnly(flags, flags.out);
  const out = flags.out ?? join("runs", `sweep-${basename(defaultRunName())}`);
  const server = flags.queue === undefined ? undefined : parseQueueUrl(flags.queue);
  if (server !== undefined && flags.workers !== undefined) {
    throw new UsageError(
      "--workers counts the runs trained here; with --queue the deno task worker processes " +
        "train them",
    );
  }
  if (server === undefined && flags.redeliverAfter !== undefined) {
    throw new UsageError("--redeliver-after needs --queue: it is the work queue's wait");
  }
  const choices = choicesOf(flags);
  const existing = await isDirectory(out);
  const saved = existing ? await readSweepPlan(out) : undefined;
  if (existing && !saved) await refuseForeign(out, "a sweep", SWEEP_FILE);
  // Everything the command line chose is checked before anything is written.
  checkSweepPlan(resolveSweepPlan(choices, saved, out));
  if (saved) await checkQueueChoice(out, server);
  const queue = server === undefined
    ? undefined
    : await WorkQueue.open(server, { redeliverSeconds: flags.redeliverAfter });
  try {
    try {
      await Deno.mkdir(out, { recursive: true });
    } catch (error) {
      throw fileSystemError(`Cannot create ${out}`, error);
    }
    const lock = await lockPlanDir(out, "deno task sweep");
    let outcome;
    try {
      // Read again under the lock: another sweep may have planned this directory meanwhile.
      const current = await readSweepPlan(out);
      if (!current) await refuseForeign(out, "a sweep", SWEEP_FILE);
      else await checkQueueChoice(out, server);
      const plan = resolveSweepPlan(choices, current, out);
      if (!current) await writeSweepPlan(out, plan);
      const runs = checkSweepPlan(plan);
      const settings = gridSettings(plan.grid).length;
      const title = `sweep: ${count(runs.length, "run")} (${plan.algo} on ${plan.env}, ` +
        `${count(settings, "setting")} × ${count(plan.seeds.length, "seed")}) into ${out}`;
      if (queue) {
        const record = await queueRecordFor(out, queue.server, await readQueueRecord(out));
        outcome = await runOnQueue(
          queue,
          runs.map(({ run }) => ({
            name: `${run.setting} seed ${run.seed}`,
            dir: join(out, run.dir),
            args: run.args,
          })),
          { title, sweep: record.sweep, signal },
        );
      } else {
        outcome = await runPool(
          runs.map(({ run, config }) => ({
            name: `${run.setting} seed ${run.seed}`,
            dir: join(out, run.dir),
            config,
          })),
          { title, command: "deno task sweep", jobs: flags.workers, signal },
        );
      }
      if (outcome.interrupted === undefined && outcome.finished + outcome.skipped > 0) {
        await writeResults(out, plan);
      }
    } finally {
      await lock.release();
    }
    if (queue) throwUnlessCollected(outcome, out, queue.server);
    throwUnlessComplete(outcome, out, "deno task sweep");
  } finally {
    await queue?.close();
  }
}

/**
 * A sweep runs where it started: on the queue it was put on, or here. Refuses a command line that
 * names another place for a sweep under way.
 */
async function checkQueueChoice(out: string, server: string | undefined): Promise<void> {
  const record = await readQueueRecord(out);
  if (record && server === undefined) {
    throw new UsageError(
      `The sweep in ${out} runs on the work queue at nats://${record.server}: continue it with ` +
        `--queue nats://${record.server}`,
    );
  }
  if (!record && server !== undefined && await readSweepPlan(out)) {
    throw new UsageError(
      `The sweep in ${out} was started without --queue: continue it without, or give another --out`,
    );
  }
  if (record && server !== undefined) await queueRecordFor(out, server, record);
}

/** A queued sweep whose waiting was interrupted: the runs go on without it. */
function throwUnlessCollected(outcome: QueueOutcome, out: string, server: string): void {
  if (outcome.interrupted === undefined) return;
  const done = outcome.finished + outcome.skipped;
  throw new StopError(
    `Stopped waiting (${outcome.interrupted}): ${done} of ${outcome.runs} runs collected; the ` +
      `other ${outcome.unfinished} go on on the workers (collect them with deno task sweep ` +
      `--queue nats://${server} --out ${out})`,
    { exitCode: outcome.interrupted === "SIGTERM" ? 143 : 130 },
  );
}

if (import.meta.main) {
  exitWithTaskRunner(
    "the runs keep their last checkpoints (continue with deno task sweep --out DIR)",
  );
  const signal = abortOnSignals();
  await runCli(() => sweepFromArgs(Deno.args, signal));
  Deno.exit(0);
}
