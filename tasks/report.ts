/**
 * `deno task report runs/A [runs/B ...] [--out FILE.html] [--title TEXT] [--window N]`
 *
 * Writes one self-contained HTML report of the given run directories. The default output is
 * `runs/A/report.html` for one run and `./report.html` for several. A directory holding a
 * `testbed.json` (from `deno task bandit-testbed`) and no config.json gets the bandit testbed's
 * report instead. Nothing is written but the report file, which must end in `.html` and whose
 * folder must exist. Errors print one line on stderr and exit with code 2.
 *
 * Permissions: `--allow-read` (the runs) and `--allow-write` (the report); vega needs none.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { renderReport, renderTestbedReport } from "../lib/report/html.ts";
import { readRun, readTestbed } from "../lib/report/run_data.ts";
import type { RunData } from "../lib/report/run_data.ts";

const USAGE = "usage: deno task report runs/A [runs/B ...] [--out FILE.html] [--title TEXT] " +
  "[--window N]";

/** Where {@linkcode main} writes its messages; replaceable in tests. */
export interface ReportIo {
  /** Writes a line of normal output. */
  out: (line: string) => void;
  /** Writes a line of error output. */
  err: (line: string) => void;
}

const CONSOLE_IO: ReportIo = { out: console.log, err: console.error };

class UsageError extends Error {}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function checkOut(out: string): Promise<void> {
  if (!/\.html?$/i.test(out)) {
    throw new UsageError(`Cannot write report: ${out} does not end in .html`);
  }
  let info: Deno.FileInfo | null = null;
  try {
    info = await Deno.stat(out);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  if (info && !info.isFile) throw new UsageError(`Cannot write report: ${out} is not a file`);
  const slash = out.lastIndexOf("/");
  const folder = slash < 0 ? "." : out.slice(0, slash) || "/";
  try {
    if (!(await Deno.stat(folder)).isDirectory) throw new Deno.errors.NotFound();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Cannot write report: folder ${folder} does not exist`);
    }
    throw error;
  }
}

/**
 * Runs the report command.
 *
 * @param args The command-line arguments.
 * @param io Where messages go (the console by default).
 * @returns The exit code: 0, or 2 for an error the user can fix.
 */
export async function main(args: string[], io: ReportIo = CONSOLE_IO): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        title: { type: "string" },
        window: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    if (positionals.length === 0) {
      throw new UsageError(`Cannot write report: no run given; ${USAGE}`);
    }
    let window: number | undefined;
    if (values.window !== undefined) {
      window = Number(values.window);
      if (!(Number.isInteger(window) && window >= 1)) {
        throw new UsageError(
          `Cannot write report: --window is ${values.window}, not a positive integer`,
        );
      }
    }
    const first = positionals[0].replace(/\/+$/, "") || "/";
    const out = values.out ?? (positionals.length === 1 ? `${first}/report.html` : "report.html");
    const title = values.title;
    let html: string;
    if (
      positionals.length === 1 && !(await isFile(`${first}/config.json`)) &&
      (await isFile(`${first}/testbed.json`))
    ) {
      const testbed = await readTestbed(first);
      await checkOut(out);
      html = await renderTestbedReport(testbed, title ? { title } : {});
    } else {
      const runs: RunData[] = [];
      for (const dir of positionals) runs.push(await readRun(dir));
      await checkOut(out);
      html = await renderReport(runs, { title, window });
    }
    await Deno.writeTextFile(out, html);
    io.out(`wrote ${out}`);
    return 0;
  } catch (error) {
    const known = error instanceof UsageError ||
      ((error instanceof TypeError || error instanceof RangeError) &&
        error.message.startsWith("Cannot ")) ||
      error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied ||
      (error instanceof Error && "code" in error &&
        String(error.code).startsWith("ERR_PARSE_ARGS"));
    if (!known) throw error;
    const message = (error as Error).message.split("\n")[0].split(". To specify")[0];
    io.err(`report: ${message}`);
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
