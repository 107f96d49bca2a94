/**
 * A run directory as one blob, to move it between machines whole: the work queue's workers store
 * a run's latest checkpoint this way and the sweep fetches the finished run the same way
 * (lib/run/work_queue.ts). Only the files of a run directory travel (`RUN_FILES`: never its lock,
 * a temporary file or anything else), each with its SHA-256, so an archive that was cut short or
 * damaged is refused before a byte of it is written.
 *
 * The layout: a 4-byte little-endian length, that many bytes of JSON (the format, the checkpoint
 * step the archive was taken at, the name, size and digest of each file), then the files' bytes in
 * that order.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { sha256Hex } from "../io/digest.ts";
import { fileSystemError, RunDirError } from "../io/errors.ts";
import { RUN_FILES } from "../io/run_dir.ts";

/** The format of run archives. */
export const RUN_ARCHIVE_FORMAT = "rnnrl-run-archive/1";

/** What an archive's header says. */
export interface RunArchiveHeader {
  /** Always {@linkcode RUN_ARCHIVE_FORMAT}. */
  format: typeof RUN_ARCHIVE_FORMAT;
  /** The step of the checkpoint the directory held when it was packed, or null for none. */
  step: number | null;
  /** The files, in the order their bytes follow the header. */
  files: { name: string; size: number; sha256: string }[];
}

const RUN_FILE_NAMES: readonly string[] = Object.values(RUN_FILES);

/**
 * Packs the run files of a directory into one archive.
 *
 * @param dir The run directory.
 * @param step The step of its latest checkpoint, or null.
 * @returns The archive's bytes.
 * @throws {FileError} When a file cannot be read.
 */
export async function packRunDir(dir: string, step: number | null): Promise<Uint8Array> {
  const files: RunArchiveHeader["files"] = [];
  const contents: Uint8Array[] = [];
  for (const name of RUN_FILE_NAMES) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(join(dir, name));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw fileSystemError(`Cannot read ${join(dir, name)}`, error);
    }
    files.push({ name, size: bytes.length, sha256: await sha256Hex(bytes) });
    contents.push(bytes);
  }
  const header: RunArchiveHeader = { format: RUN_ARCHIVE_FORMAT, step, files };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const total = 4 + json.length + contents.reduce((sum, bytes) => sum + bytes.length, 0);
  const archive = new Uint8Array(total);
  new DataView(archive.buffer).setUint32(0, json.length, true);
  archive.set(json, 4);
  let offset = 4 + json.length;
  for (const bytes of contents) {
    archive.set(bytes, offset);
    offset += bytes.length;
  }
  return archive;
}

/**
 * Reads an archive's header and files, every digest checked.
 *
 * @param archive The archive's bytes.
 * @param what Names the archive in messages ("the checkpoint of run 3").
 * @returns The header and each file's bytes.
 * @throws {RunDirError} When the archive is not one, was cut short, or a file's digest is wrong.
 */
export async function readRunArchive(
  archive: Uint8Array,
  what: string,
): Promise<{ header: RunArchiveHeader; files: Map<string, Uint8Array> }> {
  const damaged = (why: string) => new RunDirError(`Cannot unpack ${what}: ${why}`);
  if (archive.length < 4) throw damaged("it is shorter than its header");
  const length = new DataView(archive.buffer, archive.byteOffset).getUint32(0, true);
  if (4 + length > archive.length) throw damaged("it is shorter than its header");
  let header: RunArchiveHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(archive.subarray(4, 4 + length)));
  } catch {
    throw damaged("its header is not JSON");
  }
  if (header?.format !== RUN_ARCHIVE_FORMAT || !Array.isArray(header.files)) {
    throw damaged(`it is not a run archive of format ${RUN_ARCHIVE_FORMAT}`);
  }
  const files = new Map<string, Uint8Array>();
  let offset = 4 + length;
  for (const file of header.files) {
    if (!RUN_FILE_NAMES.includes(file.name) || files.has(file.name)) {
      throw damaged(`it holds ${JSON.stringify(file.name)}, which is not a run file`);
    }
    if (!Number.isSafeInteger(file.size) || file.size < 0 || offset + file.size > archive.length) {
      throw damaged(`it was cut short in ${file.name}`);
    }
    const bytes = archive.subarray(offset, offset + file.size);
    if (await sha256Hex(bytes) !== file.sha256) throw damaged(`${file.name} is damaged`);
    files.set(file.name, bytes);
    offset += file.size;
  }
  if (offset !== archive.length) throw damaged("it holds bytes after its last file");
  return { header, files };
}

/**
 * Unpacks an archive into a directory (made if missing), each file written atomically; the
 * archive is checked whole first, so a damaged one writes nothing.
 *
 * @param archive The archive's bytes.
 * @param dir The directory.
 * @param what Names the archive in messages.
 * @returns The archive's header.
 * @throws {RunDirError} When the archive is damaged.
 * @throws {FileError} When a file cannot be written.
 */
export async function unpackRunArchive(
  archive: Uint8Array,
  dir: string,
  what: string,
): Promise<RunArchiveHeader> {
  const { header, files } = await readRunArchive(archive, what);
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    throw fileSystemError(`Cannot create ${dir}`, error);
  }
  for (const [name, bytes] of files) {
    try {
      await writeFileAtomic(join(dir, name), bytes);
    } catch (error) {
      throw fileSystemError(`Cannot write ${join(dir, name)}`, error);
    }
  }
  return header;
}
