/**
 * A pool of Web Workers that trains a list of runs, each into its run directory, `jobs` at a time
 * (lib/run/run_worker.ts; a worker trains one run a message, then the next). Runs are independent
 * and seeded, so the results do not depend on `jobs` or on the order runs finish in. The
 * benchmark (lib/run/benchmark_runner.ts) and the sweep (lib/run/sweep_runner.ts) are lists of
 * runs handed to this pool.
 *
 * A re-started list continues where it stopped: a run whose `eval.json` exists is finished and
 * skipped, a run directory without one is resumed (`train`'s `resume`: from its checkpoint, or
 * from step 0 when it had saved none), and the other runs start. A run that fails — a damaged run
 * directory, a full disk, a diverged agent, a crashed worker — is reported in one line, and the
 * others go on. When `signal` aborts, every run in progress stops at its next boundary with a
 * checkpoint, no run starts, and the pool returns; a re-start resumes them.
 *
 * Progress goes to `log`: a line when the pool starts (the caller's title, then what is finished
 * already, what is to resume and how many run at once), and one a run as it ends, with the overall
 * count; a run's own training progress is not shown.
 *
 * @module
 */

import { join } from "node:path";
import { fileSystemError } from "../io/errors.ts";
import { isRunDir, RUN_FILES } from "../io/run_dir.ts";
import type { TrainConfig } from "./run_config.ts";

/** A message to a worker: train a run, or stop. */
export type WorkerRequest =
  | {
    type: "run";
    id: number;
    config: TrainConfig;
    out: string;
    resume: boolean;
    /** The command named by the run directory's lock, e.g. "deno task benchmark". */
    command: string;
  }
  | { type: "stop"; reason: string };

/** A worker's answer to a run: its final evaluation, or why it did not finish. */
export type WorkerReply =
  | { type: "done"; id: number; meanReturn: number; episodes: number; seconds: number }
  | { type: "failed"; id: number; message: string; interrupted: boolean };

/** Where a run of a plan stands, from its directory. */
export type RunStatus = "finished" | "resume" | "new";

/**
 * Where a run stands: finished when its directory holds eval.json, to resume when it is a run
 * directory without one, new otherwise.
 *
 * @param dir The run directory.
 * @returns Its status.
 */
export async function runStatus(dir: string): Promise<RunStatus> {
  try {
    await Deno.lstat(join(dir, RUN_FILES.eval));
    return "finished";
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
      throw fileSystemError(`Cannot read ${join(dir, RUN_FILES.eval)}`, error);
    }
  }
  return await isRunDir(dir) ? "resume" : "new";
}

/** One run of a pool. */
export interface PoolRun {
  /** Its name in the progress lines, e.g. "repeat-first-easy ppo-gru seed 1". */
  name: string;
  /** Its run directory. */
  dir: string;
  /** Its configuration, checked. */
  config: TrainConfig;
}

/** Options of {@linkcode runPool}. */
export interface RunPoolOptions {
  /** The start of the first progress line, e.g. "benchmark: 8 runs (…) into OUT". */
  title: string;
  /** The command named by each run directory's lock. */
  command: string;
  /** Runs trained at once (default: the number of CPUs). */
  jobs?: number;
  /** Stops the runs in progress politely, and starts no other. */
  signal?: AbortSignal;
  /** Where progress goes (default: stderr). */
  log?: (line: string) => void;
}

/** How a pool's session ended. */
export interface PoolOutcome {
  /** The runs given. */
  runs: number;
  /** Those finished before this session started. */
  skipped: number;
  /** Those this session finished. */
  finished: number;
  /** Those that failed: their index in the list, with their one-line reasons. */
  failed: { index: number; message: string }[];
  /** The signal's reason when the session was interrupted ("SIGINT"), else undefined. */
  interrupted?: string;
  /** The runs left unfinished by the interruption. */
  unfinished: number;
}

/**
 * Trains every run of a list that is not finished (see the module documentation).
 *
 * @param runs The runs, their configurations checked by the caller.
 * @param options The title, the parallelism, the signal and the log.
 * @returns How the session ended.
 */
export async function runPool(
  runs: readonly PoolRun[],
  options: RunPoolOptions,
): Promise<PoolOutcome> {
  const log = options.log ?? ((line: string) => console.error(line));
  const statuses = await Promise.all(runs.map((run) => runStatus(run.dir)));
  const todo = runs.flatMap((_, i) => statuses[i] === "finished" ? [] : [i]);
  const skipped = runs.length - todo.length;
  const resumed = statuses.filter((s) => s === "resume").length;
  const jobs = Math.max(1, Math.min(options.jobs ?? navigator.hardwareConcurrency, todo.length));
  log(
    options.title +
      (skipped ? `; ${skipped} finished already` : "") +
      (resumed ? `; ${resumed} to resume` : "") +
      (todo.length ? `; ${jobs} at a time` : ""),
  );
  const outcome: PoolOutcome = {
    runs: runs.length,
    skipped,
    finished: 0,
    failed: [],
    unfinished: 0,
  };
  if (todo.length === 0) return outcome;

  const signal = options.signal;
  const workers = Array.from({ length: jobs }, () => new RunWorker());
  const stop = () => {
    const reason = typeof signal?.reason === "string" ? signal.reason : "an abort";
    for (const worker of workers) worker.stop(reason);
  };
  signal?.addEventListener("abort", stop, { once: true });
  let next = 0;
  let done = skipped;
  const lane = async (worker: RunWorker) => {
    while (next < todo.length && !signal?.aborted) {
      const index = todo[next++];
      const run = runs[index];
      const reply = await worker.run({
        type: "run",
        id: index,
        config: run.config,
        out: run.dir,
        resume: statuses[index] === "resume",
        command: options.command,
      });
      if (reply.type === "done") {
        outcome.finished++;
        log(
          `[${++done}/${runs.length}] ${run.name}: mean return ${reply.meanReturn.toFixed(3)} ` +
            `over ${reply.episodes} episodes, ${reply.seconds.toFixed(1)} s`,
        );
      } else if (!(reply.interrupted && signal?.aborted)) {
        outcome.failed.push({ index, message: reply.message });
        log(`[${++done}/${runs.length}] ${run.name} failed: ${reply.message}`);
      }
    }
  };
  try {
    await Promise.all(workers.map(lane));
  } finally {
    signal?.removeEventListener("abort", stop);
    for (const worker of workers) worker.terminate();
  }
  if (signal?.aborted) {
    outcome.interrupted = typeof signal.reason === "string" ? signal.reason : "an abort";
    outcome.unfinished = runs.length - skipped - outcome.finished - outcome.failed.length;
  }
  return outcome;
}

/**
 * One worker of the pool, restarted when it crashes: a crash (an error no run caught, a module
 * that did not load) becomes the failure of the run it was training.
 */
class RunWorker {
  #worker!: Worker;
  #waiting: { id: number; resolve: (reply: WorkerReply) => void } | undefined;

  constructor() {
    this.#spawn();
  }

  #spawn(): void {
    const worker = new Worker(new URL("./run_worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<WorkerReply>) => this.#settle(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#crashed(event.message || String(event.error));
    };
    worker.onmessageerror = () => this.#crashed("a message could not be read");
    this.#worker = worker;
  }

  #crashed(message: string): void {
    this.#worker.terminate();
    this.#spawn();
    const id = this.#waiting?.id ?? -1;
    this.#settle({
      type: "failed",
      id,
      message: `its worker crashed: ${message}`,
      interrupted: false,
    });
  }

  #settle(reply: WorkerReply): void {
    const waiting = this.#waiting;
    if (!waiting || waiting.id !== reply.id) return;
    this.#waiting = undefined;
    waiting.resolve(reply);
  }

  /** Trains one run and resolves with the worker's reply. */
  run(request: Extract<WorkerRequest, { type: "run" }>): Promise<WorkerReply> {
    return new Promise((resolve) => {
      this.#waiting = { id: request.id, resolve };
      this.#worker.postMessage(request);
    });
  }

  /** Stops the run in progress at its next boundary, and any run sent after. */
  stop(reason: string): void {
    this.#worker.postMessage({ type: "stop", reason } satisfies WorkerRequest);
  }

  /** Ends the worker. */
  terminate(): void {
    this.#worker.terminate();
  }
}
