/**
 * A sweep's runs trained by the workers of a work queue (lib/run/work_queue.ts) instead of this
 * process's pool: `deno task sweep --queue nats://HOST:PORT`. The sweep puts each run that is not
 * finished on the queue (once: a run whose message is still there, waiting or taken, is not put
 * again), then waits for the results. Each finished run's directory is fetched from the queue into
 * the sweep's directory, where it is an ordinary run directory, the same as one trained here; a
 * failed run is named in one line, and a re-started sweep puts it on the queue again.
 *
 * Interrupting the sweep stops only the waiting: the runs go on on the workers, and the same
 * command collects them later.
 *
 * @module
 */

import { fileSystemError, RunDirError } from "../io/errors.ts";
import { runtimeVersions } from "../io/run_dir.ts";
import { readPlanFile, writePlanFile } from "./plan_dir.ts";
import { unpackRunArchive } from "./run_archive.ts";
import { runStatus } from "./run_pool.ts";
import { newSweepId, RUN_JOB_FORMAT, type RunResult, type WorkQueue } from "./work_queue.ts";

/** Where a sweep's runs went: `OUT/queue.json`. */
export interface QueueRecord {
  /** Always {@linkcode QUEUE_FORMAT}. */
  format: typeof QUEUE_FORMAT;
  /** The server, "HOST:PORT". */
  server: string;
  /** The sweep's id on the queue. */
  sweep: string;
}

/** The format of {@linkcode QueueRecord} files. */
export const QUEUE_FORMAT = "rnnrl-queue/1";
/** The file that says a sweep runs on a queue. */
export const QUEUE_FILE = "queue.json";

/**
 * Reads `OUT/queue.json`, or undefined when the sweep does not run on a queue.
 *
 * @param out The sweep's directory.
 * @returns The record, checked.
 * @throws {RunDirError} When the file is damaged.
 */
export async function readQueueRecord(out: string): Promise<QueueRecord | undefined> {
  return await readPlanFile<QueueRecord>(out, QUEUE_FILE, (value) => {
    const record = value as Partial<QueueRecord> | null;
    const ok = record?.format === QUEUE_FORMAT && typeof record.server === "string" &&
      typeof record.sweep === "string" && /^[0-9a-f]{12}$/.test(record.sweep);
    return ok ? null : `it is not a record of format ${QUEUE_FORMAT}`;
  });
}

/**
 * The queue record of a sweep: the saved one, or a new one written for a sweep starting now.
 *
 * @param out The sweep's directory.
 * @param server The server the command line named.
 * @param saved The saved record, if any.
 * @returns The record.
 * @throws {RunDirError} When the saved record names another server.
 */
export async function queueRecordFor(
  out: string,
  server: string,
  saved: QueueRecord | undefined,
): Promise<QueueRecord> {
  if (saved) {
    if (saved.server !== server) {
      throw new RunDirError(
        `Cannot continue the sweep in ${out}: its runs are on the queue at nats://${saved.server}, ` +
          `not nats://${server}`,
      );
    }
    return saved;
  }
  const record: QueueRecord = { format: QUEUE_FORMAT, server, sweep: newSweepId() };
  await writePlanFile(out, QUEUE_FILE, record);
  return record;
}

/** One run of the sweep, as the queue carries it. */
export interface QueueRun {
  /** Its name in progress lines. */
  name: string;
  /** Its run directory in the sweep's directory. */
  dir: string;
  /** Its `deno task train` arguments (without `--out`). */
  args: string[];
}

/** Options of {@linkcode runOnQueue}. */
export interface RunOnQueueOptions {
  /** The start of the first progress line. */
  title: string;
  /** The sweep's id on the queue. */
  sweep: string;
  /** Stops the waiting (not the runs). */
  signal?: AbortSignal;
  /** Where progress goes (default: stderr). */
  log?: (line: string) => void;
}

/** How a session of a queued sweep ended (the shape of plan_dir.ts's `PlanSession`). */
export interface QueueOutcome {
  runs: number;
  skipped: number;
  finished: number;
  failed: { index: number; message: string }[];
  interrupted?: string;
  unfinished: number;
}

/**
 * Puts the unfinished runs on the queue and collects their results (see the module
 * documentation).
 *
 * @param queue The open queue.
 * @param runs The sweep's runs, in the plan's order (their index is their place here).
 * @param options The title, the sweep's id, the signal and the log.
 * @returns How the session ended.
 */
export async function runOnQueue(
  queue: WorkQueue,
  runs: readonly QueueRun[],
  options: RunOnQueueOptions,
): Promise<QueueOutcome> {
  const log = options.log ?? ((line: string) => console.error(line));
  const { sweep, signal } = options;
  const statuses = await Promise.all(runs.map((run) => runStatus(run.dir)));
  const pending = new Set(runs.flatMap((_, i) => statuses[i] === "finished" ? [] : [i]));
  const outcome: QueueOutcome = {
    runs: runs.length,
    skipped: runs.length - pending.size,
    finished: 0,
    failed: [],
    unfinished: 0,
  };
  let published = 0;
  let retried = 0;
  for (const index of pending) {
    const result = await queue.result(sweep, index);
    if (result?.status === "finished") continue; // collected below, through the watch
    if (result?.status === "failed") {
      await queue.forgetResult(sweep, index);
      retried++;
    }
    if (await queue.isQueued(sweep, index)) continue;
    await queue.publish({
      format: RUN_JOB_FORMAT,
      sweep,
      index,
      name: runs[index].name,
      args: runs[index].args,
      version: String(runtimeVersions().rnnrl),
    });
    published++;
  }
  log(
    options.title +
      (outcome.skipped ? `; ${outcome.skipped} finished already` : "") +
      (pending.size
        ? `; ${pending.size} on the queue at nats://${queue.server} (${published} put there now` +
          (retried ? `, ${retried} of them failed before` : "") + `), waiting for workers`
        : ""),
  );
  if (pending.size === 0) return outcome;

  let done = outcome.skipped;
  let settle!: () => void;
  let failure: unknown;
  const allIn = new Promise<void>((resolve) => settle = resolve);
  // Results arrive one at a time; each is handled before the next (a run fetched whole).
  const stop = await queue.watchResults(sweep, async (index: number, result: RunResult) => {
    if (!pending.has(index) || failure !== undefined) return;
    const run = runs[index];
    try {
      if (result.status === "finished") {
        await collect(queue, sweep, index, run);
        outcome.finished++;
        log(
          `[${++done}/${runs.length}] ${run.name}: mean return ${result.meanReturn.toFixed(3)} ` +
            `over ${result.episodes} episodes, ${result.seconds.toFixed(1)} s on ` +
            `${result.worker}` +
            (result.resumedFrom === null ? "" : ` (resumed from step ${result.resumedFrom})`),
        );
      } else {
        outcome.failed.push({ index, message: result.message });
        log(`[${++done}/${runs.length}] ${run.name} failed on ${result.worker}: ${result.message}`);
      }
    } catch (error) {
      failure = error;
      settle();
      return;
    }
    pending.delete(index);
    if (pending.size === 0) settle();
  });
  const onAbort = () => settle();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await allIn;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    stop();
  }
  if (failure !== undefined) throw failure;
  if (pending.size > 0) {
    outcome.interrupted = typeof signal?.reason === "string" ? signal.reason : "an abort";
    outcome.unfinished = pending.size;
  }
  return outcome;
}

/** Fetches a finished run's directory from the queue into the sweep's, then frees the queue's. */
async function collect(queue: WorkQueue, sweep: string, index: number, run: QueueRun) {
  const archive = await queue.getArchive(sweep, index);
  if (!archive) {
    throw new RunDirError(
      `Cannot fetch ${run.name}: its result is recorded on the queue but its run directory is not`,
    );
  }
  await unpackRunArchive(archive, run.dir, `the finished run ${run.name}`).catch((error) => {
    throw error instanceof RunDirError ? error : fileSystemError(`Cannot write ${run.dir}`, error);
  });
  if (await runStatus(run.dir) !== "finished") {
    throw new RunDirError(`Cannot fetch ${run.name}: its stored run directory has no eval.json`);
  }
  await queue.deleteArchive(sweep, index);
}
