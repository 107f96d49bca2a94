/**
 * The Web Worker that trains the runs of a pool (started by lib/run/run_pool.ts, for the benchmark
 * and the sweep, with the permissions of the process that starts it). Each "run" message is one run: `train` of
 * lib/run/trainer.ts into its run directory, new or resumed, its progress kept quiet; the reply
 * says how it ended, in one line when it failed. A "stop" message aborts the run in progress (it
 * stops at its next boundary and keeps a checkpoint) and refuses the runs sent after it.
 *
 * @module
 */

import { StopError, UserError } from "../io/errors.ts";
import type { WorkerReply, WorkerRequest } from "./run_pool.ts";
import { train, TrainingInterrupted } from "./trainer.ts";

/** The worker's side of its messages. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage: (message: WorkerReply) => void;
};

let stopped: string | undefined;
let controller: AbortController | undefined;

scope.onmessage = (event) => {
  const request = event.data;
  if (request.type === "stop") {
    stopped = request.reason;
    controller?.abort(request.reason);
    return;
  }
  void runOne(request);
};

async function runOne(request: Extract<WorkerRequest, { type: "run" }>): Promise<void> {
  if (stopped !== undefined) {
    scope.postMessage({
      type: "failed",
      id: request.id,
      message: "not started",
      interrupted: true,
    });
    return;
  }
  controller = new AbortController();
  const started = performance.now();
  try {
    const summary = await train(request.config, {
      out: request.out,
      resume: request.resume,
      signal: controller.signal,
      log: () => {},
      terminal: false,
      command: request.command,
    });
    scope.postMessage({
      type: "done",
      id: request.id,
      meanReturn: summary.evaluation.meanReturn,
      episodes: summary.evaluation.episodes,
      seconds: (performance.now() - started) / 1000,
    });
  } catch (error) {
    const line = String(error instanceof Error ? error.message : error).split("\n")[0];
    // A user's mistake or a stop is worded for the user; anything else is a bug, named as one.
    const worded = error instanceof UserError || error instanceof StopError;
    scope.postMessage({
      type: "failed",
      id: request.id,
      message: worded || !(error instanceof Error) ? line : `${error.name}: ${line}`,
      interrupted: error instanceof TrainingInterrupted,
    });
  } finally {
    controller = undefined;
  }
}
