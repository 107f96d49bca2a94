/**
 * `deno task worker`: trains the runs that `deno task sweep --queue` puts on a NATS JetStream work
 * queue, one at a time, on this machine; start as many as there are machines and cores.
 *
 *     deno task worker --queue nats://HOST:PORT [--runs N] [--name NAME] [--work-dir DIR]
 *
 * Each run trains in a scratch directory of its own (under `--work-dir`, default a new temporary
 * directory, removed at the end) and goes back to the queue whole: its run directory after every
 * checkpoint and when it ends, and its result, recorded once. A run that another worker left
 * (killed, or its machine gone) comes back to this one after the queue's wait and resumes from
 * the checkpoint stored last (lib/run/queue_worker.ts).
 *
 * The worker runs until stopped, or until it has ended `--runs` runs. SIGINT or SIGTERM stops the
 * run in progress at its next boundary, stores its checkpoint, puts the run back on the queue for
 * another worker, and exits with code 130 or 143. A user's mistake (a bad flag, a server that
 * cannot be reached) prints one line and exits with code 2.
 *
 * @module
 */

import { abortOnSignals, defineCli, exitWithTaskRunner, parseCli, runCli } from "../lib/io/cli.ts";
import { fileSystemError } from "../lib/io/errors.ts";
import { runQueueWorker } from "../lib/run/queue_worker.ts";
import { parseQueueUrl, WorkQueue } from "../lib/run/work_queue.ts";
import { TrainingInterrupted } from "../lib/run/trainer.ts";
import { UsageError } from "../lib/io/cli.ts";

/** The command line of the task. */
const WORKER_CLI = defineCli({
  name: "deno task worker",
  summary: "Trains the runs of deno task sweep --queue from a NATS JetStream work queue, one at " +
    "a time, until stopped.",
  flags: {
    queue: {
      type: "string",
      placeholder: "nats://HOST:PORT",
      description: "The work queue's server (required)",
    },
    runs: { type: "integer", min: 1, description: "Stop after this many runs (default: never)" },
    name: {
      type: "string",
      placeholder: "NAME",
      description: "The worker's name in results and progress (default worker-<pid>)",
    },
    "work-dir": {
      type: "string",
      placeholder: "DIR",
      description: "Where runs train (default: a new temporary directory, removed at the end)",
    },
  },
});

/**
 * The task's body: parses `args`, connects, and trains runs until stopped.
 *
 * @param args The command-line arguments.
 * @param signal Stops the worker politely when aborted.
 */
export async function workerFromArgs(args: readonly string[], signal?: AbortSignal): Promise<void> {
  const { flags } = parseCli(WORKER_CLI, args);
  if (flags.queue === undefined) {
    throw new UsageError("deno task worker needs --queue nats://HOST:PORT, the sweep's queue");
  }
  const server = parseQueueUrl(flags.queue);
  const name = flags.name ?? `worker-${Deno.pid}`;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) {
    throw new UsageError(`--name must be 1 to 64 letters, digits or ._- , got "${name}"`);
  }
  const queue = await WorkQueue.open(server);
  const ownDir = flags.workDir === undefined;
  let workDir: string;
  try {
    if (flags.workDir !== undefined) await Deno.mkdir(flags.workDir, { recursive: true });
    workDir = flags.workDir ?? await Deno.makeTempDir({ prefix: "rnnrl-worker-" });
  } catch (error) {
    await queue.close();
    throw fileSystemError(`Cannot create ${flags.workDir ?? "a temporary directory"}`, error);
  }
  try {
    const outcome = await runQueueWorker(queue, { name, workDir, runs: flags.runs, signal });
    console.error(
      `worker ${name}: ${outcome.finished} runs finished, ${outcome.failed} failed` +
        (signal?.aborted ? ` (stopped by ${String(signal.reason)})` : ""),
    );
  } catch (error) {
    if (error instanceof TrainingInterrupted) {
      // The run went back on the queue; say so in the worker's words, with the signal's code.
      error.message = `Stopped by ${String(signal?.reason)}: the run in progress is back on ` +
        "the queue with its last checkpoint";
    }
    throw error;
  } finally {
    await queue.close();
    if (ownDir) await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  exitWithTaskRunner("the run in progress goes to another worker after the queue's wait");
  const signal = abortOnSignals();
  await runCli(() => workerFromArgs(Deno.args, signal));
  Deno.exit(0);
}
