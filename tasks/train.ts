/**
 * `deno task train`: trains an agent and writes its run directory and report.
 *
 *     deno task train [--env cartpole] [--algo dqn] [--seed 0] [--steps N] [--backend auto]
 *                     [--out runs/NAME] [--resume] [algorithm and environment flags]
 *
 * With no flags it trains the CartPole DQN preset into `runs/<date-time>/`. Flags left out take
 * the preset of the environment and algorithm; with `--resume` they take the run's own settings,
 * and a flag that contradicts them is an error. A user's mistake prints one line on stderr and
 * exits with code 2; a run that produces NaN, or finds the disk full, stops with one line and exit
 * code 1 and keeps its checkpoints.
 *
 * Stopping: SIGINT (Ctrl-C) or SIGTERM stops training at the next update or episode boundary,
 * saves a checkpoint there and exits with one line saying how to resume (exit code 130 or 143).
 * Under `deno task`, a runner process stands between the user and this one; if that runner is
 * killed (even by SIGKILL, which it cannot pass on), this process notices that its parent is gone
 * (its parent pid changes) within a fraction of a second and exits at once, so no writer outlives
 * the command the user killed. The run directory's lock is held by this process and released by
 * the kernel whenever it ends.
 *
 * @module
 */

import { abortOnSignals, exitWithTaskRunner, parseCli, runCli, UsageError } from "../lib/io/cli.ts";
import {
  checkStopOnReturn,
  checkTemperature,
  newConfig,
  resumedConfig,
  TRAIN_CLI,
} from "../lib/run/train_cli.ts";
import { train } from "../lib/run/trainer.ts";

export { TRAIN_CLI };

/**
 * The task's body: parses `args`, then trains (or resumes) a run.
 *
 * @param args The command-line arguments.
 * @param signal Stops training politely (at a boundary, with a checkpoint) when aborted.
 */
export async function trainFromArgs(
  args: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  const { flags } = parseCli(TRAIN_CLI, args);
  if (flags.resume && flags.out === undefined) {
    throw new UsageError("--resume needs --out, the run directory to continue");
  }
  checkStopOnReturn(flags);
  const config = flags.resume ? await resumedConfig(flags, flags.out!) : newConfig(flags);
  checkTemperature(flags, config.agent);
  await train(config, { out: flags.out, resume: flags.resume, signal, command: "deno task train" });
}

if (import.meta.main) {
  exitWithTaskRunner(
    "the run directory keeps its last checkpoint (continue with deno task train --resume)",
  );
  const signal = abortOnSignals();
  await runCli(() => trainFromArgs(Deno.args, signal));
  // A WebGPU device can keep the event loop alive; the run is over.
  Deno.exit(0);
}
