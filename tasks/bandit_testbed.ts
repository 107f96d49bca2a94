/**
 * `deno task bandit-testbed [--runs 2000] [--steps 1000] [--seed 0] --out DIR`: runs the
 * 10-armed testbed of Sutton & Barto for the default methods (greedy, epsilon-greedy, UCB,
 * optimistic greedy, gradient bandit, Thompson sampling) and writes `DIR/testbed.json`:
 * `{"runs":R,"steps":S,"methods":{"epsilon=0":{"reward":[…],"optimal":[…]},…}}`, each array
 * averaged over the runs. The same seed writes the same file, byte for byte.
 *
 * Needs `--allow-read --allow-write`.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../lib/io/atomic_write.ts";
import { defineCli, exitWithTaskRunner, parseCli, runCli } from "../lib/io/cli.ts";
import { fileSystemError, RunDirError } from "../lib/io/errors.ts";
import { writeTestbedReport } from "../lib/report/html.ts";
import { runTestbed, testbedToJson, windowMean } from "../lib/rl/bandit_testbed.ts";

/** The command line of the task. */
const BANDIT_TESTBED_CLI = defineCli({
  name: "deno task bandit-testbed",
  summary: "Runs the 10-armed testbed (Sutton & Barto, chapter 2) and writes DIR/testbed.json.",
  flags: {
    runs: {
      type: "integer",
      min: 1,
      max: 1_000_000,
      default: 2000,
      description: "Bandit problems averaged over",
    },
    steps: {
      type: "integer",
      min: 1,
      max: 1_000_000,
      default: 1000,
      description: "Pulls per problem",
    },
    seed: { type: "integer", min: 0, max: 4294967295, default: 0, description: "Random seed" },
    out: {
      type: "string",
      required: true,
      placeholder: "DIR",
      description: "Directory for testbed.json (created if missing)",
    },
  },
});

/**
 * The task's body: parses `args`, runs the testbed, writes `DIR/testbed.json` and prints a
 * summary of the last ten steps per method (or of all steps when there are fewer than ten).
 *
 * @param args The command-line arguments.
 * @param print Where the summary goes (default: stdout).
 * @returns The path of the file written.
 */
export async function banditTestbed(
  args: readonly string[],
  print: (line: string) => void = console.log,
): Promise<string> {
  const { flags } = parseCli(BANDIT_TESTBED_CLI, args);
  for (const name of ["testbed.json", "report.html"]) {
    if (await exists(join(flags.out, name))) {
      throw new RunDirError(
        `Cannot write ${join(flags.out, name)}: it exists (results are never overwritten; ` +
          "choose another --out)",
      );
    }
  }
  const started = performance.now();
  const result = runTestbed({ runs: flags.runs, steps: flags.steps, seed: flags.seed });
  const seconds = (performance.now() - started) / 1000;
  const json = testbedToJson(result);

  try {
    await Deno.mkdir(flags.out, { recursive: true });
  } catch (error) {
    throw new RunDirError(
      `Cannot create output directory ${flags.out}: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  const path = join(flags.out, "testbed.json");
  try {
    await writeFileAtomic(path, JSON.stringify(json) + "\n");
  } catch (error) {
    throw new RunDirError(`Cannot write ${path}: ${(error as Error).message.split("\n")[0]}`);
  }
  const reportPath = join(flags.out, "report.html");
  await writeTestbedReport(json, reportPath);

  const first = Math.max(1, flags.steps - 9);
  print(
    `${flags.runs} runs × ${flags.steps} steps in ${seconds.toFixed(1)} s; ` +
      `steps ${first}–${flags.steps}:`,
  );
  const width = Math.max(...Object.keys(result.methods).map((name) => name.length));
  for (const [name, curve] of Object.entries(result.methods)) {
    const { reward, optimal } = windowMean(curve, first, flags.steps);
    print(
      `  ${name.padEnd(width)}  reward ${reward.toFixed(3)}  optimal ${
        (100 * optimal).toFixed(1)
      }%`,
    );
  }
  print(`wrote ${path} and ${reportPath}`);
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    // A path through a file cannot exist; creating the folder reports that properly.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw fileSystemError(`Cannot write ${path}`, error);
  }
}

if (import.meta.main) {
  exitWithTaskRunner("what it wrote is whole; run it again into another --out");
  await runCli(() => banditTestbed(Deno.args));
}
