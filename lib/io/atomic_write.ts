/**
 * Crash-safe file replacement: write a temporary file beside the target, flush it to the disk,
 * then rename it over the target. A rename within one directory is atomic on POSIX file systems,
 * so a process killed at any moment (even by SIGKILL) leaves either the old file or the new one,
 * never a torn mixture; at worst a stale temporary file remains.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

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
 *
 * @example
 * ```ts
 * import { writeFileAtomic } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/state.json`, '{"step":1}');
 * await writeFileAtomic(`${dir}/state.json`, '{"step":2}');
 * if (await Deno.readTextFile(`${dir}/state.json`) !== '{"step":2}') throw new Error("replaced");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
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
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dirname(path));
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
