/**
 * One writer per run directory. Every command that writes into a run directory (training, export,
 * the report into its default place) first takes the directory's lock, `DIR/.lock`; a second one
 * is refused with one line instead of interleaving its writes with the first's.
 *
 * The lock is an advisory lock of the operating system on that file (`flock`), so it lives exactly
 * as long as the process holding it: however the holder ends, even by SIGKILL, the kernel releases
 * it, and a lock file left by a dead process is simply taken over by the next command. The file
 * records who holds it (pid, parent pid, command, start time), for the message the next command
 * prints and for anyone looking; the holder removes it when it is done.
 *
 * @module
 */

import { join } from "node:path";
import { refuseLink } from "./atomic_write.ts";
import { fileSystemError, RunDirError } from "./errors.ts";

/** The lock file of a run directory. */
export const LOCK_FILE = ".lock";

/** What a lock file records about the process that holds the lock. */
export interface RunLockHolder {
  /** The process that writes into the run directory. */
  pid: number;
  /** Its parent when it started (under `deno task`, the task runner). */
  parentPid: number;
  /** What it runs, e.g. "deno task train". */
  command: string;
  /** When it took the lock (ISO 8601). */
  since: string;
}

/** Options of {@linkcode RunLock.acquire}. */
export interface AcquireRunLockOptions {
  /** What the process runs, recorded in the lock file (default "rnnrl"). */
  command?: string;
}

const ATTEMPTS = 10;

/**
 * The lock of a run directory, held by this process until {@linkcode RunLock.release}.
 *
 * @example
 * ```ts
 * import { RunDirError } from "./errors.ts";
 * import { RunLock } from "./run_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await RunLock.acquire(dir, { command: "example" });
 * try {
 *   await RunLock.acquire(dir); // a second writer
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof RunDirError)) throw error;
 * }
 * await lock.release();
 * await (await RunLock.acquire(dir)).release(); // free again
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class RunLock {
  /** The lock file. */
  readonly path: string;
  /** What the lock file said when it was taken over from a process that had ended, if anything. */
  readonly previous: RunLockHolder | undefined;
  #file: Deno.FsFile | undefined;

  private constructor(path: string, file: Deno.FsFile, previous: RunLockHolder | undefined) {
    this.path = path;
    this.#file = file;
    this.previous = previous;
  }

  /**
   * Takes the lock of `dir`, or refuses when another process holds it.
   *
   * @param dir The run directory (it must exist).
   * @param options What to record in the lock file.
   * @returns The lock.
   * @throws {RunDirError} When another process holds the lock, naming it.
   * @throws {FileError} When the lock file cannot be created (a read-only directory, a link in its
   * place).
   */
  static async acquire(dir: string, options: AcquireRunLockOptions = {}): Promise<RunLock> {
    const path = join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      await refuseLink(path);
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true, write: true, create: true });
      } catch (error) {
        throw fileSystemError(`Cannot write to run directory ${dir}`, error);
      }
      try {
        if (!await file.tryLock(true)) {
          const holder = await readLockHolder(dir);
          throw new RunDirError(
            `Cannot use run directory ${dir}: ${describeHolder(holder)} is writing to it ` +
              "(wait for it to finish, or stop it)",
          );
        }
        // The previous holder removes the file as it releases it; a file opened just before that
        // is no longer the lock file, and locking it proves nothing: open the new one instead.
        const opened = await file.stat();
        const current = await Deno.lstat(path).catch(() => null);
        if (current?.isFile && current.ino === opened.ino && current.dev === opened.dev) {
          const previous = await readLockHolder(dir);
          await writeHolder(file, {
            pid: Deno.pid,
            parentPid: Deno.ppid,
            command: options.command ?? "rnnrl",
            since: new Date().toISOString(),
          });
          return new RunLock(path, file, previous);
        }
      } catch (error) {
        file.close();
        throw fileSystemError(`Cannot write to run directory ${dir}`, error);
      }
      file.close();
    }
    throw new RunDirError(`Cannot lock run directory ${dir}: its lock file keeps being replaced`);
  }

  /** True until {@linkcode RunLock.release}. */
  get held(): boolean {
    return this.#file !== undefined;
  }

  /** Removes the lock file and releases the lock; releasing twice does nothing. */
  async release(): Promise<void> {
    const file = this.#file;
    if (file === undefined) return;
    this.#file = undefined;
    // Remove first: a process that opens the file now finds it gone after locking, and retries.
    await Deno.remove(this.path).catch(() => {});
    file.close();
  }
}

/**
 * Reads who holds (or last held) the lock of `dir`.
 *
 * @param dir The run directory.
 * @returns What its lock file records, or undefined when there is none or it is unreadable.
 */
export async function readLockHolder(dir: string): Promise<RunLockHolder | undefined> {
  try {
    const value = JSON.parse(await Deno.readTextFile(join(dir, LOCK_FILE)));
    if (Number.isSafeInteger(value?.pid) && typeof value.command === "string") {
      return value as RunLockHolder;
    }
  } catch {
    // Missing, being written, or not ours: nothing to report.
  }
  return undefined;
}

function describeHolder(holder: RunLockHolder | undefined): string {
  if (holder === undefined) return "another process";
  return `another process (pid ${holder.pid}, ${holder.command}, since ${holder.since})`;
}

async function writeHolder(file: Deno.FsFile, holder: RunLockHolder): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(holder) + "\n");
  await file.truncate(0);
  await file.seek(0, Deno.SeekMode.Start);
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}
