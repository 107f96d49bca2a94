/**
 * Crash-safe file replacement: write a temporary file beside the target, flush it to the disk,
 * then rename it over the target. A rename within one directory is atomic on POSIX file systems,
 * so a process killed at any moment (even by SIGKILL) leaves either the old file or the new one,
 * never a torn mixture; at worst a stale temporary file remains.
 *
 * Nothing is written through a symbolic link or in its place: a target that is a link (or a
 * folder, or anything but a regular file) is refused with a {@linkcode FileError}. Failures of the
 * file system itself come back as Deno's errors; `fileSystemError` (errors.ts) words them for the
 * user.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { FileError, fileSystemError } from "./errors.ts";

/** The prefix of every temporary file {@linkcode writeFileAtomic} creates for `target`. */
export function tempPrefix(target: string): string {
  return `.${basename(target)}.tmp-`;
}

/**
 * Replaces the file at `path` with `data` atomically: the file is either entirely old or entirely
 * new whatever happens to the process, and the new contents are on the disk (fsync) before the
 * rename makes them visible. The temporary file lives in the same directory, is named
 * `.<name>.tmp-<pid>-<random>`, and is removed if anything fails.
 *
 * @param path The file to create or replace; its directory must exist.
 * @param data The new contents, as bytes or as text (written as UTF-8).
 * @throws {FileError} When `path` is a symbolic link, a folder or another non-regular file.
 * @throws {Error} Deno's error when the file system refuses (permission, a name too long, a
 * missing folder, no space left); the old file stays, and the temporary file is removed.
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic_write.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/state.json`, '{"step":1}');
 * await writeFileAtomic(`${dir}/state.json`, '{"step":2}');
 * if (await Deno.readTextFile(`${dir}/state.json`) !== '{"step":2}') throw new Error("replaced");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = await writeTemp(path, data);
  try {
    await refuseLink(path);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dirname(path));
}

/**
 * Writes `data` to a new temporary file beside `path` (see {@linkcode writeFileAtomic}) and
 * flushes it to the disk, without putting it in place: the caller renames it over `path`, or
 * removes it.
 *
 * @param path The file the data is meant for; its directory must exist.
 * @param data The contents.
 * @returns The temporary file's path.
 * @throws {Error} Deno's error when the file system refuses; nothing is left behind.
 */
export async function writeTemp(path: string, data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const temp = join(dirname(path), `${tempPrefix(path)}${Deno.pid}-${random}`);
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
  try {
    try {
      for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
      await file.sync();
    } finally {
      file.close();
    }
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  return temp;
}

/**
 * Refuses a path that rnnrl is about to write or replace when something other than a regular
 * file is in its place: a symbolic link (writing would change the file it points to, or replace
 * the link), a folder, a device.
 *
 * @param path The file to be written.
 * @returns Its `lstat`, or null when nothing is there yet.
 * @throws {FileError} Naming what is in the way, or the file system's reason it cannot be looked at.
 *
 * @example
 * ```ts
 * import { refuseLink } from "./atomic_write.ts";
 * import { FileError } from "./errors.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/mine.txt`, "the user's");
 * await Deno.symlink(`${dir}/mine.txt`, `${dir}/metrics.jsonl`);
 * try {
 *   await refuseLink(`${dir}/metrics.jsonl`);
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof FileError)) throw error;
 * }
 * if (await refuseLink(`${dir}/eval.json`) !== null) throw new Error("nothing there yet");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function refuseLink(path: string): Promise<Deno.FileInfo | null> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw fileSystemError(`Cannot write ${path}`, error);
  }
  const what = notRegular(info);
  if (what !== undefined) throw new FileError(`Cannot write ${path}: ${what}`);
  return info;
}

/** {@linkcode refuseLink}, synchronously. */
export function refuseLinkSync(path: string): Deno.FileInfo | null {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw fileSystemError(`Cannot write ${path}`, error);
  }
  const what = notRegular(info);
  if (what !== undefined) throw new FileError(`Cannot write ${path}: ${what}`);
  return info;
}

function notRegular(info: Deno.FileInfo): string | undefined {
  if (info.isSymlink) {
    return "it is a symbolic link (rnnrl never writes through a link or replaces one)";
  }
  if (info.isDirectory) return "it is a directory";
  if (!info.isFile) return "it is not a regular file";
  return undefined;
}

/**
 * Flushes a directory's entries (new names, renames) to the disk, where the platform allows it;
 * elsewhere (Windows) this does nothing.
 *
 * @param path The directory.
 */
export async function syncDirectory(path: string): Promise<void> {
  let dir: Deno.FsFile | undefined;
  try {
    dir = await Deno.open(path, { read: true });
    await dir.sync();
  } catch {
    // Opening or syncing a directory is not possible everywhere; the rename is atomic regardless.
  } finally {
    dir?.close();
  }
}
