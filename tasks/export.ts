/**
 * `deno task export --run runs/NAME [--web]`: writes the run's policy as `runs/NAME/policy.onnx`
 * (opset 17, the recurrent state as explicit inputs and outputs), and with `--web` a folder
 * `runs/NAME/web/` in which the policy plays CartPole in a browser, offline. The model records the
 * run and the checkpoint it was exported from, and a checksum (`deno task eval --onnx` refuses a
 * model that is damaged or is not the run's current one). The run directory is locked while the
 * files are written, so export refuses to run while training writes into it.
 *
 * @module
 */

import { join } from "node:path";
import { refuseLink, writeFileAtomic } from "../lib/io/atomic_write.ts";
import { defineCli, exitWithTaskRunner, parseCli, runCli, UsageError } from "../lib/io/cli.ts";
import { fileSystemError } from "../lib/io/errors.ts";
import { openRunDir, runFile } from "../lib/io/run_dir.ts";
import { RunLock } from "../lib/io/run_lock.ts";
import { checkWebPlayerDir, writeWebPlayer } from "../lib/onnx/web_player.ts";
import { exportPolicy } from "../lib/onnx/agent_export.ts";
import { loadRun } from "../lib/run/trainer.ts";

/** The command line of the task. */
export const EXPORT_CLI = defineCli({
  name: "deno task export",
  summary: "Exports a trained policy to ONNX (runs/NAME/policy.onnx).",
  flags: {
    run: { type: "string", required: true, placeholder: "DIR", description: "The run directory" },
    web: {
      type: "boolean",
      description: "Also write runs/NAME/web/: the policy playing CartPole in a browser",
    },
  },
});

/**
 * The task's body: parses `args`, loads the run's agent from its checkpoint, and writes the files.
 *
 * @param args The command-line arguments.
 * @returns The paths written.
 */
export async function exportFromArgs(args: readonly string[]): Promise<string[]> {
  const { flags } = parseCli(EXPORT_CLI, args);
  const dir = await openRunDir(flags.run);
  const lock = await RunLock.acquire(dir, { command: "deno task export" });
  try {
    const run = await loadRun(dir, { backend: "cpu" });
    try {
      return await writeExport(dir, run, flags.web);
    } finally {
      run.backend.destroy();
    }
  } finally {
    await lock.release();
  }
}

/** Checks everything, then writes policy.onnx (and the web player). */
async function writeExport(
  dir: string,
  run: Awaited<ReturnType<typeof loadRun>>,
  web: boolean,
): Promise<string[]> {
  if (web && run.config.env !== "cartpole" && run.config.env !== "cartpole-masked") {
    throw new UsageError(`--web plays CartPole only; this run trained on ${run.config.env}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await exportPolicy(run.agent, run);
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
  const path = runFile(dir, "policy");
  await refuseLink(path);
  if (web) await checkWebPlayerDir(join(dir, "web"));
  try {
    await writeFileAtomic(path, bytes);
    return web ? [path, ...await writeWebPlayer(join(dir, "web"), bytes)] : [path];
  } catch (error) {
    throw fileSystemError(`Cannot write to ${dir}`, error);
  }
}

if (import.meta.main) {
  exitWithTaskRunner("policy.onnx is either the old one or the new one, whole");
  await runCli(async () => {
    for (const path of await exportFromArgs(Deno.args)) console.log(`wrote ${path}`);
  });
}
