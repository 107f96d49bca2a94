/**
 * The directory of a plan of many runs (a benchmark's, a sweep's): whether it exists, the refusal
 * of one that holds something else, its lock (one command writes into it at a time), the plan's
 * file, and how a session over it ends.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { fileSystemError, RunDirError, StopError } from "../io/errors.ts";
import { RunLock } from "../io/run_lock.ts";

/**
 * Whether `path` exists as a directory (false when absent); anything else there is refused.
 *
 * @param path The directory.
 * @returns Whether it exists.
 * @throws {RunDirError} When something other than a directory is there.
 */
export async function isDirectory(path: string): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw fileSystemError(`Cannot open ${path}`, error);
  }
  if (!info.isDirectory) throw new RunDirError(`Cannot use ${path}: it is not a directory`);
  return true;
}

/**
 * Refuses a directory without a plan that holds anything but its lock.
 *
 * @param out The directory.
 * @param what What would start there, for the message: "a benchmark".
 * @param planFile The plan's file: "benchmark.json".
 * @throws {RunDirError} When the directory is not empty.
 */
export async function refuseForeign(out: string, what: string, planFile: string): Promise<void> {
  for await (const entry of Deno.readDir(out)) {
    if (entry.name === ".lock") continue;
    throw new RunDirError(
      `Cannot start ${what} in ${out}: it is not empty and holds no ${planFile} ` +
        "(give a new or empty --out)",
    );
  }
}

/**
 * Takes the directory's lock.
 *
 * @param out The directory.
 * @param command The command that holds it, for the message of another that finds it taken.
 * @returns The lock.
 */
export async function lockPlanDir(out: string, command: string): Promise<RunLock> {
  return await RunLock.acquire(out, { command });
}

/**
 * Reads a plan's JSON file, or undefined when there is none (a new plan).
 *
 * @param out The plan's directory.
 * @param file The plan's file name: "benchmark.json".
 * @param problem What is wrong with the parsed value, or null when it is a plan.
 * @returns The plan, checked.
 * @throws {RunDirError} When the file is not a plan (damaged, or of another version).
 */
export async function readPlanFile<Plan>(
  out: string,
  file: string,
  problem: (value: unknown) => string | null,
): Promise<Plan | undefined> {
  const path = join(out, file);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw fileSystemError(`Cannot read ${path}`, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RunDirError(`Cannot read ${path}: it is not valid JSON`);
  }
  const wrong = problem(value);
  if (wrong) throw new RunDirError(`Cannot read ${path}: ${wrong}`);
  return value as Plan;
}

/**
 * Writes a plan's JSON file, atomically.
 *
 * @param out The plan's directory.
 * @param file The plan's file name.
 * @param plan The plan.
 */
export async function writePlanFile(out: string, file: string, plan: unknown): Promise<void> {
  const path = join(out, file);
  try {
    await writeFileAtomic(path, JSON.stringify(plan, null, 2) + "\n");
  } catch (error) {
    throw fileSystemError(`Cannot write ${path}`, error);
  }
}

/** What a session over a plan's runs reports, whichever runner trained them. */
export interface PlanSession {
  /** The runs of the plan. */
  runs: number;
  /** Those finished before this session started. */
  skipped: number;
  /** Those this session finished. */
  finished: number;
  /** Those that failed. */
  failed: readonly unknown[];
  /** The signal's reason when the session was interrupted ("SIGINT"), else undefined. */
  interrupted?: string;
  /** The runs left unfinished by the interruption. */
  unfinished: number;
}

/**
 * Ends a session that did not finish every run: an interruption (exit code 130, or 143 for
 * SIGTERM) or failed runs (exit code 1), each in one line saying how to go on.
 *
 * @param session How the session ended.
 * @param out The plan's directory.
 * @param command The command that continues it: "deno task benchmark".
 * @throws {StopError} Unless every run finished.
 */
export function throwUnlessComplete(session: PlanSession, out: string, command: string): void {
  const done = session.finished + session.skipped;
  if (session.interrupted !== undefined) {
    const reason = session.interrupted;
    throw new StopError(
      `Interrupted by ${reason}: ${done} of ${session.runs} runs finished, ` +
        `${session.unfinished} left (the runs in progress kept their checkpoints); continue ` +
        `with ${command} --out ${out}`,
      { exitCode: reason === "SIGTERM" ? 143 : 130 },
    );
  }
  if (session.failed.length > 0) {
    throw new StopError(
      `${session.failed.length} of ${session.runs} runs failed (named above)` +
        (done > 0 ? `; the results of the ${done} others are in ${out}` : "") +
        `; the same command retries them`,
      { exitCode: 1 },
    );
  }
}
