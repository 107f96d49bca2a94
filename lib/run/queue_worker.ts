/**
 * A worker of the work queue (lib/run/work_queue.ts), what `deno task worker` runs: it takes one
 * run at a time, trains it in a scratch directory of its own, stores the run directory on the
 * queue after every checkpoint and at the end, and records the run's result once.
 *
 * A run that was handed out before (its worker died, or stopped) resumes from the checkpoint that
 * worker stored, so it continues exactly where that checkpoint was taken; a run whose result is
 * recorded already is acknowledged and skipped. While it trains, the worker tells the queue every
 * quarter of the acknowledgement wait that it is still working; when it is stopped (`signal`), the
 * run in progress stops at its next boundary, its checkpoint is stored, and the run goes back on
 * the queue for another worker at once.
 *
 * @module
 */

import { join } from "node:path";
import type { JsMsg } from "@nats-io/jetstream";
import { StopError, UserError } from "../io/errors.ts";
import { runtimeVersions } from "../io/run_dir.ts";
import { packRunDir, unpackRunArchive } from "./run_archive.ts";
import { checkTrainConfig } from "./run_config.ts";
import { newTrainConfigFromArgs } from "./train_cli.ts";
import { train, TrainingInterrupted } from "./trainer.ts";
import { readJob, type RunResult, type WorkQueue } from "./work_queue.ts";

/** Options of {@linkcode runQueueWorker}. */
export interface QueueWorkerOptions {
  /** The worker's name in results and progress lines. */
  name: string;
  /** Where runs train; each run gets `<workDir>/<sweep>/<index>`, removed when it ends. */
  workDir: string;
  /** Stop after this many runs (finished or failed); default: until stopped. */
  runs?: number;
  /** Stops the worker: the run in progress goes back on the queue with its checkpoint. */
  signal?: AbortSignal;
  /** Where progress goes (default: stderr). */
  log?: (line: string) => void;
}

/** What a worker did. */
export interface QueueWorkerOutcome {
  /** Runs it finished. */
  finished: number;
  /** Runs it recorded as failed. */
  failed: number;
}

/** How long one wait for a run lasts before the worker looks at its signal again (ms). */
const WAIT_MS = 2000;

/**
 * Takes runs from the queue and trains them until stopped or `runs` are done.
 *
 * @param queue The open queue.
 * @param options The worker's name, scratch directory, budget, signal and log.
 * @returns The runs it finished and failed.
 * @throws {StopError} When the queue is lost (the run in progress goes to another worker).
 * @throws {TrainingInterrupted} When `signal` aborted during a run (after it went back).
 */
export async function runQueueWorker(
  queue: WorkQueue,
  options: QueueWorkerOptions,
): Promise<QueueWorkerOutcome> {
  const log = options.log ?? ((line: string) => console.error(line));
  const outcome: QueueWorkerOutcome = { finished: 0, failed: 0 };
  const consumer = await queue.consumer();
  log(`worker ${options.name}: taking runs from nats://${queue.server}`);
  while (
    !options.signal?.aborted && (options.runs ?? Infinity) > outcome.finished + outcome.failed
  ) {
    const message = await consumer.next({ expires: WAIT_MS });
    if (message === null) continue;
    const ended = await takeRun(queue, message, { ...options, log });
    if (ended === "finished") outcome.finished++;
    if (ended === "failed") outcome.failed++;
  }
  return outcome;
}

/** Trains the run of one message; says how it ended. */
async function takeRun(
  queue: WorkQueue,
  message: JsMsg,
  options: QueueWorkerOptions & { log: (line: string) => void },
): Promise<"finished" | "failed" | "skipped"> {
  const { log, name: worker } = options;
  const job = readJob(message);
  if (!job) {
    log(`[${worker}] a message on ${message.subject} is not a run: dropped`);
    message.term("not a run");
    return "skipped";
  }
  const label = `run ${job.sweep}/${job.index} (${job.name})`;
  const deliveries = message.info.deliveryCount;
  let queueLost: unknown;
  const onQueue = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      queueLost ??= error;
      throw error;
    }
  };
  const dir = join(options.workDir, job.sweep, String(job.index));
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  try {
    const ackWaitMs = await onQueue(() => queue.ackWaitMs());
    heartbeat = setInterval(() => message.working(), Math.max(100, ackWaitMs / 4));
    if (await onQueue(() => queue.result(job.sweep, job.index)) !== null) {
      log(`[${worker}] ${label}: its result is recorded already, skipped`);
      await onQueue(() => message.ackAck());
      return "skipped";
    }
    let resumedFrom: number | null = null;
    const fail = async (why: string): Promise<"failed"> => {
      const result: RunResult = { status: "failed", worker, message: why, resumedFrom, deliveries };
      await onQueue(() => queue.recordResult(job.sweep, job.index, result));
      message.term(why);
      log(`[${worker}] ${label} failed: ${why}`);
      return "failed";
    };
    const version = String(runtimeVersions().rnnrl);
    if (job.version !== version) {
      return await fail(`it was planned by rnnrl ${job.version}; this worker runs ${version}`);
    }
    let config;
    try {
      config = checkTrainConfig(newTrainConfigFromArgs(job.args).config);
    } catch (error) {
      return await fail(oneLine(error));
    }
    await Deno.remove(dir, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    const archive = await onQueue(() => queue.getArchive(job.sweep, job.index));
    if (archive) {
      const header = await unpackRunArchive(archive, dir, `the stored checkpoint of ${label}`);
      resumedFrom = header.step;
      log(`[${worker}] ${label}: resumed from the stored checkpoint of step ${header.step}`);
    } else {
      log(`[${worker}] ${label}: started`);
    }
    let lastCheckpoint = resumedFrom;
    const started = performance.now();
    let summary;
    try {
      summary = await train(config, {
        out: dir,
        resume: archive !== null,
        // Always a signal: with one, the trainer yields to the event loop in the final evaluation
        // too, so the heartbeat goes on.
        signal: options.signal ?? new AbortController().signal,
        log: () => {},
        terminal: false,
        command: "deno task worker",
        onCheckpoint: async (step) => {
          const packed = await packRunDir(dir, step);
          await onQueue(() => queue.putArchive(job.sweep, job.index, packed));
          lastCheckpoint = step;
          log(`[${worker}] ${label}: checkpoint of step ${step} stored`);
        },
      });
    } catch (error) {
      if (queueLost !== undefined) throw error;
      if (error instanceof TrainingInterrupted) {
        message.nak();
        log(`[${worker}] ${label}: stopped; back on the queue from step ${lastCheckpoint ?? 0}`);
        throw error;
      }
      return await fail(oneLine(error));
    }
    const packed = await packRunDir(dir, lastCheckpoint);
    await onQueue(() => queue.putArchive(job.sweep, job.index, packed));
    const result: RunResult = {
      status: "finished",
      worker,
      meanReturn: summary.evaluation.meanReturn,
      episodes: summary.evaluation.episodes,
      seconds: (performance.now() - started) / 1000,
      resumedFrom,
      deliveries,
    };
    const recorded = await onQueue(() => queue.recordResult(job.sweep, job.index, result));
    await onQueue(() => message.ackAck());
    log(
      recorded
        ? `[${worker}] ${label}: finished, mean return ${result.meanReturn.toFixed(3)} over ` +
          `${result.episodes} episodes, ${result.seconds.toFixed(1)} s`
        : `[${worker}] ${label}: another worker recorded it first; this copy is dropped`,
    );
    return recorded ? "finished" : "skipped";
  } catch (error) {
    if (queueLost !== undefined) {
      throw new StopError(`Lost the work queue at nats://${queue.server}: ${oneLine(queueLost)}`);
    }
    throw error;
  } finally {
    clearInterval(heartbeat);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** An error in one line: a user's mistake in its own words, anything else with its name. */
function oneLine(error: unknown): string {
  const line = String(error instanceof Error ? error.message : error).split("\n")[0];
  const worded = error instanceof UserError || error instanceof StopError;
  return worded || !(error instanceof Error) ? line : `${error.name}: ${line}`;
}
