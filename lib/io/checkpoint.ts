/**
 * Checkpoint files (Deno only): a run directory's `checkpoint.bin` and `checkpoint.prev.bin`,
 * saved crash-safely and read back with their SHA-256. The format and its codec, which work on
 * bytes and touch no file, are in `checkpoint_codec.ts`, re-exported here.
 *
 * @module
 */

import { join } from "node:path";
import { refuseLink, syncDirectory, tempPrefix, writeTemp } from "./atomic_write.ts";
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from "./checkpoint_codec.ts";
import { sha256Hex } from "./digest.ts";
import { CheckpointError, fileSystemError } from "./errors.ts";

export * from "./checkpoint_codec.ts";

/** The file a run directory keeps its latest checkpoint in. */
export const CHECKPOINT_FILE = "checkpoint.bin";

/** The file a run directory keeps the checkpoint before the latest in. */
export const PREVIOUS_CHECKPOINT_FILE = "checkpoint.prev.bin";

/** Options of {@linkcode saveCheckpoint}. */
export interface SaveCheckpointOptions {
  /** Keep the checkpoint being replaced as checkpoint.prev.bin (default true). */
  keepPrevious?: boolean;
}

/**
 * Saves a checkpoint as `dir/checkpoint.bin`, crash-safely and without losing the one before:
 * the new file is first written and synced beside the old one (when that fails, for lack of space
 * say, nothing has changed), then the old one becomes `checkpoint.prev.bin` (by a hard link, so
 * `checkpoint.bin` never disappears) and a rename puts the new one in place. Neither file may be a
 * symbolic link. Temporary files that a killed save left behind are removed first, so the
 * directory must have one writer (the trainer holds the run directory's lock).
 *
 * @param dir The run directory (it must exist).
 * @param checkpoint The state to save.
 * @param options Whether to keep the replaced checkpoint.
 * @throws {FileError} When a file is a link or the file system refuses; nothing has changed.
 * @throws {DiskFullError} When space runs out; both checkpoints on disk are as they were.
 *
 * @example
 * ```ts
 * import { loadCheckpoint, saveCheckpoint } from "@rnnrl/rnnrl/run";
 * const dir = await Deno.makeTempDir();
 * await saveCheckpoint(dir, { header: { step: 1 }, arrays: [] });
 * await saveCheckpoint(dir, { header: { step: 2 }, arrays: [] });
 * if ((await loadCheckpoint(dir)).header.step !== 2) throw new Error("latest");
 * if ((await loadCheckpoint(dir, { previous: true })).header.step !== 1) throw new Error("previous");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveCheckpoint(
  dir: string,
  checkpoint: Checkpoint,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  const bytes = encodeCheckpoint(checkpoint);
  const latest = join(dir, CHECKPOINT_FILE);
  const previous = join(dir, PREVIOUS_CHECKPOINT_FILE);
  const hadLatest = await refuseLink(latest) !== null;
  await refuseLink(previous);
  await removeStaleTemps(dir);
  const temp = await writeTemp(latest, bytes).catch((error) => {
    throw fileSystemError(`Cannot save checkpoint ${latest}`, error);
  });
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  const link = join(dir, `${tempPrefix(previous)}${Deno.pid}-${random}-link`);
  try {
    if ((options.keepPrevious ?? true) && hadLatest) {
      try {
        await Deno.link(latest, link);
      } catch {
        await Deno.copyFile(latest, link); // file systems without hard links
      }
      await Deno.rename(link, previous);
    }
    await Deno.rename(temp, latest);
  } catch (error) {
    await Deno.remove(link).catch(() => {});
    await Deno.remove(temp).catch(() => {});
    throw fileSystemError(`Cannot save checkpoint ${latest}`, error);
  }
  await syncDirectory(dir);
}

/** Options of {@linkcode loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** Load checkpoint.prev.bin, the one before the latest (default false). */
  previous?: boolean;
  /** Reject float32 arrays holding NaN or ±Infinity (default false). */
  finiteOnly?: boolean;
}

/**
 * Loads `dir/checkpoint.bin` (or `dir/checkpoint.prev.bin`).
 *
 * @param dir The run directory.
 * @param options Which checkpoint, and whether to reject non-finite floats.
 * @returns The checkpoint.
 * @throws {CheckpointError} When the file is missing or damaged; the message names the file.
 */
export async function loadCheckpoint(
  dir: string,
  options: LoadCheckpointOptions = {},
): Promise<Checkpoint> {
  const path = join(dir, options.previous ? PREVIOUS_CHECKPOINT_FILE : CHECKPOINT_FILE);
  return (await readCheckpointFile(path, options)).checkpoint;
}

/** What {@linkcode readCheckpointFile} returns. */
export interface CheckpointFile {
  /** The decoded checkpoint. */
  checkpoint: Checkpoint;
  /** The SHA-256 of the file's bytes, in hexadecimal: the identity of this very checkpoint. */
  sha256: string;
}

/**
 * Reads and decodes one checkpoint file, and hashes the bytes it decoded (so that what is derived
 * from the checkpoint, an exported policy say, can name the checkpoint it came from).
 *
 * @param path The file.
 * @param options Whether to reject non-finite floats.
 * @returns The checkpoint and its digest.
 * @throws {CheckpointError} When the file is missing, a directory, or damaged.
 * @throws {FileError} When the file system refuses to read it.
 */
export async function readCheckpointFile(
  path: string,
  options: { finiteOnly?: boolean } = {},
): Promise<CheckpointFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new CheckpointError(`Cannot load checkpoint: ${path} does not exist`);
    }
    if (error instanceof Deno.errors.IsADirectory) {
      throw new CheckpointError(`Cannot load checkpoint: ${path} is a directory`);
    }
    throw fileSystemError(`Cannot read checkpoint ${path}`, error);
  }
  const checkpoint = decodeCheckpoint(bytes, { finiteOnly: options.finiteOnly, source: path });
  return { checkpoint, sha256: await sha256Hex(bytes) };
}

/**
 * Tells whether `dir` holds a checkpoint file (without reading it).
 *
 * @param dir The run directory.
 * @returns True when `dir/checkpoint.bin` exists.
 */
export function hasCheckpoint(dir: string): Promise<boolean> {
  return exists(join(dir, CHECKPOINT_FILE));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function removeStaleTemps(dir: string): Promise<void> {
  const prefixes = [tempPrefix(CHECKPOINT_FILE), tempPrefix(PREVIOUS_CHECKPOINT_FILE)];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && prefixes.some((p) => entry.name.startsWith(p))) {
      await Deno.remove(join(dir, entry.name)).catch(() => {});
    }
  }
}
