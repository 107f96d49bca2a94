/**
 * `deno task export --run runs/NAME [--web]`: writes the run's policy as `runs/NAME/policy.onnx`
 * (opset 17, the recurrent state as explicit inputs and outputs), and with `--web` a folder
 * `runs/NAME/web/` in which the policy plays CartPole in a browser, offline.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../lib/io/atomic_write.ts";
import { defineCli, parseCli, runCli, UsageError } from "../lib/io/cli.ts";
import { runFile } from "../lib/io/run_dir.ts";
import { writeWebPlayer } from "../lib/onnx/web_player.ts";
import { exportPolicy, loadRun } from "../lib/run/trainer.ts";

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
  const { config, agent } = await loadRun(flags.run, { backend: "cpu" });
  let bytes: Uint8Array;
  try {
    bytes = await exportPolicy(agent);
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
  const path = runFile(flags.run, "policy");
  await writeFileAtomic(path, bytes);
  const written = [path];
  if (flags.web) {
    if (config.env !== "cartpole" && config.env !== "cartpole-masked") {
      throw new UsageError(`--web plays CartPole only; this run trained on ${config.env}`);
    }
    written.push(...await writeWebPlayer(join(flags.run, "web"), bytes));
  }
  return written;
}

if (import.meta.main) {
  await runCli(async () => {
    for (const path of await exportFromArgs(Deno.args)) console.log(`wrote ${path}`);
  });
}
