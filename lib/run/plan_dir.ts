/**
 * The directory of a plan of many runs (a benchmark's, a sweep's): whether it exists, the refusal
 * of one that holds something else, and its lock (one command writes into it at a time).
 *
 * @module
 */

import { fileSystemError, RunDirError } from "../io/errors.ts";
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
