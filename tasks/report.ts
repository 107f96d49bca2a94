/**
 * `deno task report runs/A [runs/B ...] [--out FILE.html] [--title TEXT] [--window N]`
 *
 * Writes one self-contained HTML report of the given run directories. The default output is
 * `runs/A/report.html` for one run and `./report.html` for several. A directory holding a
 * `testbed.json` (from `deno task bandit-testbed`) and no config.json gets the bandit testbed's
 * report instead. Nothing is written but the report file, which must end in `.html` and whose
 * folder must exist; it is replaced atomically, never through a symbolic link, and when it goes
 * into a run directory that directory's lock is taken for the write (so a report is refused
 * while training writes into the run: write it elsewhere with `--out`). Errors print one line on
 * stderr and exit with code 2.
 *
 * Permissions: `--allow-read` (the runs) and `--allow-write` (the report); vega needs none.
 *
 * @module
 */

import { dirname } from "node:path";
import { refuseLink, writeFileAtomic } from "../lib/io/atomic_write.ts";
import {
  defineCli,
  exitWithTaskRunner,
  fromUserInput,
  parseCli,
  runCli,
  UsageError,
} from "../lib/io/cli.ts";
import { fileSystemError, RunDirError } from "../lib/io/errors.ts";
import { isRunDir } from "../lib/io/run_dir.ts";
import { RunLock } from "../lib/io/run_lock.ts";
import { renderReport, renderTestbedReport } from "../lib/report/html.ts";
import { readRun, readTestbed } from "../lib/report/run_data.ts";
import type { RunData } from "../lib/report/run_data.ts";

/** The command line of the task. */
const REPORT_CLI = defineCli({
  name: "deno task report",
  summary: "Writes one self-contained HTML report of training runs (or of a bandit testbed).",
  flags: {
    out: {
      type: "string",
      placeholder: "FILE.html",
      description: "The report (default runs/A/report.html for one run, ./report.html for several)",
    },
    title: { type: "string", placeholder: "TEXT", description: "The report's heading" },
    window: { type: "integer", min: 1, description: "Episodes in the rolling mean" },
  },
  positionals: { name: "run", description: "Run directories", min: 1 },
});

/** Where {@linkcode main} writes its messages; replaceable in tests. */
export interface ReportIo {
  /** Writes a line of normal output. */
  out: (line: string) => void;
  /** Writes a line of error output. */
  err: (line: string) => void;
}

const CONSOLE_IO: ReportIo = { out: console.log, err: console.error };

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw fileSystemError(`Cannot read ${path}`, error);
  }
}

async function checkOut(out: string): Promise<void> {
  if (!/\.html?$/i.test(out)) {
    throw new UsageError(`Cannot write report: ${out} does not end in .html`);
  }
  let info: Deno.FileInfo | null = null;
  try {
    info = await Deno.lstat(out);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw fileSystemError(`Cannot write report ${out}`, error);
    }
  }
  if (info && !info.isFile && !info.isSymlink) {
    throw new UsageError(`Cannot write report: ${out} is not a file`);
  }
  await refuseLink(out);
  const folder = out.includes("/") ? out.slice(0, out.lastIndexOf("/")) || "/" : ".";
  try {
    await Deno.stat(folder);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UsageError(`Cannot write report: folder ${folder} does not exist`);
    }
    throw fileSystemError(`Cannot write report ${out}`, error);
  }
}

/** Writes the report atomically, holding the lock of the run directory it goes into, if any. */
async function writeOut(out: string, html: string): Promise<void> {
  const folder = dirname(out);
  let lock: RunLock | undefined;
  if (await isRunDir(folder)) {
    lock = await RunLock.acquire(folder, { command: "deno task report" }).catch((error) => {
      if (!(error instanceof RunDirError)) throw error;
      throw new RunDirError(`${error.message}; write the report elsewhere with --out FILE.html`);
    });
  }
  try {
    await writeFileAtomic(out, html);
  } catch (error) {
    throw fileSystemError(`Cannot write report ${out}`, error);
  } finally {
    await lock?.release();
  }
}

/** Parses `args`, reads every run (before writing anything) and writes the report. */
async function writeReportFromArgs(args: readonly string[], io: ReportIo): Promise<void> {
  const { flags, positionals } = parseCli(REPORT_CLI, args);
  const first = positionals[0].replace(/\/+$/, "") || "/";
  const out = flags.out ?? (positionals.length === 1 ? `${first}/report.html` : "report.html");
  let html: string;
  if (
    positionals.length === 1 && !(await isFile(`${first}/config.json`)) &&
    (await isFile(`${first}/testbed.json`))
  ) {
    const testbed = await fromUserInput(() => readTestbed(first));
    await checkOut(out);
    html = await renderTestbedReport(testbed, flags.title ? { title: flags.title } : {});
  } else {
    const runs: RunData[] = [];
    for (const dir of positionals) runs.push(await fromUserInput(() => readRun(dir)));
    await checkOut(out);
    html = await renderReport(runs, { title: flags.title, window: flags.window });
  }
  await writeOut(out, html);
  io.out(`wrote ${out}`);
}

/**
 * Runs the report command.
 *
 * @param args The command-line arguments.
 * @param io Where messages go (the console by default).
 * @returns The exit code: 0, or 2 for an error the user can fix.
 */
export async function main(args: string[], io: ReportIo = CONSOLE_IO): Promise<number> {
  let code = 0;
  await runCli(() => writeReportFromArgs(args, io), {
    exit: (c) => (code = c),
    writeError: io.err,
    writeOutput: (text) => io.out(text.replace(/\n$/, "")),
  });
  return code;
}

if (import.meta.main) {
  exitWithTaskRunner("the report is either the old one or the new one, whole");
  Deno.exit(await main(Deno.args));
}
