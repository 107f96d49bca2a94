/**
 * Run directories: where a training run keeps `config.json`, `metrics.jsonl`, `eval.json`, its
 * checkpoints and `report.html`.
 *
 * Resuming is exact for the metrics log: a checkpoint records the log's byte length at the moment
 * it was taken (`MetricsWriter.flush()` returns it), and the resumed run reopens the log truncated to
 * that length, dropping the lines written after the checkpoint. Those lines are written again by the
 * resumed run, so its log equals the log of an uninterrupted run (given records that depend only on
 * the run's state, not on the wall clock).
 *
 * @module
 */

import { dirname, join } from "node:path";
import denoConfig from "../../deno.json" with { type: "json" };
import { refuseLinkSync, tempPrefix, writeFileAtomic } from "./atomic_write.ts";
import { CHECKPOINT_FILE } from "./checkpoint.ts";
import { FileError, fileSystemError as wordError, RunDirError } from "./errors.ts";
import { LOCK_FILE } from "./run_lock.ts";
import { assertJsonValue, canonicalJson, type JsonObject, type JsonValue } from "./json.ts";
import type { EvaluationResult } from "../rl/evaluation.ts";

export { RunDirError };

/** The files of a run directory. */
export const RUN_FILES: {
  readonly config: "config.json";
  readonly metrics: "metrics.jsonl";
  readonly eval: "eval.json";
  readonly checkpoint: "checkpoint.bin";
  readonly previousCheckpoint: "checkpoint.prev.bin";
  readonly report: "report.html";
  readonly policy: "policy.onnx";
  readonly replay: "replay.json";
} = {
  config: "config.json",
  metrics: "metrics.jsonl",
  eval: "eval.json",
  checkpoint: "checkpoint.bin",
  previousCheckpoint: "checkpoint.prev.bin",
  report: "report.html",
  policy: "policy.onnx",
  replay: "replay.json",
};

/**
 * Returns the path of one of a run directory's files.
 *
 * @param dir The run directory.
 * @param file Which file.
 * @returns The path, e.g. `runs/a/metrics.jsonl`.
 *
 * @example
 * ```ts
 * import { runFile } from "@rnnrl/rnnrl/run";
 * if (runFile("runs/a", "eval") !== "runs/a/eval.json") throw new Error("joined");
 * ```
 */
export function runFile(dir: string, file: keyof typeof RUN_FILES): string {
  return join(dir, RUN_FILES[file]);
}

/** Options of {@linkcode defaultRunName} and {@linkcode createRunDir}. */
export interface RunNameOptions {
  /** The time to name the run after (default now, in local time). */
  now?: Date;
  /** The directory that holds runs (default "runs"). */
  root?: string;
}

/**
 * Names a run after the local time it started: `runs/YYYY-MM-DD_HH-MM-SS`.
 *
 * @param options The time and the directory of runs.
 * @returns The path.
 *
 * @example
 * ```ts
 * import { defaultRunName } from "./run_dir.ts";
 * const name = defaultRunName({ now: new Date(2025, 0, 2, 3, 4, 5) });
 * if (name !== "runs/2025-01-02_03-04-05") throw new Error(name);
 * ```
 */
export function defaultRunName(options: RunNameOptions = {}): string {
  const now = options.now ?? new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  const stamp = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}_` +
    `${two(now.getHours())}-${two(now.getMinutes())}-${two(now.getSeconds())}`;
  return join(options.root ?? "runs", stamp);
}

/** Options of {@linkcode createRunDir}. */
export interface CreateRunDirOptions extends RunNameOptions {
  /** The directory to create; default a new {@linkcode defaultRunName} (with -2, -3… if taken). */
  out?: string;
}

/**
 * Creates the directory of a new run. A directory named by `out` may exist only if it is empty;
 * a default name that is taken gets a suffix (-2, -3, …). Creation is atomic (mkdir), so two runs
 * started in the same second get different directories.
 *
 * @param options The directory, or the time and root to name it after.
 * @returns The path of the new, empty directory.
 * @throws {RunDirError} When `out` exists and is not an empty directory, or cannot be created.
 *
 * @example
 * ```ts
 * import { createRunDir, RunDirError } from "@rnnrl/rnnrl/run";
 * const root = await Deno.makeTempDir();
 * const dir = await createRunDir({ root });
 * await Deno.writeTextFile(`${dir}/config.json`, "{}");
 * try {
 *   await createRunDir({ out: dir });
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof RunDirError)) throw error;
 * }
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function createRunDir(options: CreateRunDirOptions = {}): Promise<string> {
  if (options.out !== undefined) {
    if (await makeDir(options.out)) return options.out;
    await refuseUnlessEmpty(options.out);
    return options.out;
  }
  const base = defaultRunName(options);
  for (let attempt = 1; attempt <= 1000; attempt++) {
    const path = attempt === 1 ? base : `${base}-${attempt}`;
    if (await makeDir(path)) return path;
  }
  throw new RunDirError(`Cannot create a run directory: ${base} and 999 variants are taken`);
}

/** Creates `path` (and its parents); false when it already exists. */
async function makeDir(path: string): Promise<boolean> {
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    await Deno.mkdir(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw fileSystemError(`Cannot create run directory ${path}`, error);
  }
}

async function refuseUnlessEmpty(path: string): Promise<void> {
  const info = await Deno.stat(path).catch((error) => {
    throw fileSystemError(`Cannot create run directory ${path}`, error);
  });
  if (!info.isDirectory) {
    throw new RunDirError(`Cannot create run directory ${path}: a file of that name exists`);
  }
  for await (const entry of Deno.readDir(path)) {
    if (entry.name === LOCK_FILE) continue; // left by a run killed before its config was written
    const hint = await isRunDir(path)
      ? "pass --resume to continue that run, or choose another --out"
      : "choose another --out";
    throw new RunDirError(
      `Cannot create run directory ${path}: it exists and is not empty (${hint})`,
    );
  }
}

/**
 * Turns an operating-system error into a RunDirError (a DiskFullError when space ran out); Deno
 * permission errors and anything else stay as they are (bugs).
 */
function fileSystemError(what: string, error: unknown): Error {
  return wordError(what, error, RunDirError);
}

/**
 * Removes the temporary files that writes killed half-way left in a run directory
 * (`.<file>.tmp-…` of each of its files). Call it only while holding the directory's lock: then no
 * write is in progress and every such file is stale.
 *
 * @param dir The run directory.
 * @returns The names removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const prefixes = Object.values(RUN_FILES).map((name) => tempPrefix(name));
  const removed: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !prefixes.some((prefix) => entry.name.startsWith(prefix))) continue;
      await Deno.remove(join(dir, entry.name));
      removed.push(entry.name);
    }
  } catch (error) {
    throw fileSystemError(`Cannot clean up run directory ${dir}`, error);
  }
  return removed;
}

/**
 * Tells whether `path` is a run directory: a directory holding `config.json`.
 *
 * @param path The path to test.
 * @returns True for a run directory.
 */
export async function isRunDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory && (await Deno.stat(runFile(path, "config"))).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
      return false;
    }
    throw fileSystemError(`Cannot open run directory ${path}`, error);
  }
}

/** Options of {@linkcode openRunDir}. */
export interface OpenRunDirOptions {
  /** Require a checkpoint to resume from (default false). */
  requireCheckpoint?: boolean;
}

/**
 * Checks that `path` is an existing run directory (for resuming, evaluating, exporting, reporting).
 *
 * @param path The run directory.
 * @param options Whether it must hold a checkpoint.
 * @returns `path`.
 * @throws {RunDirError} When it does not exist, is not a run directory, or lacks a checkpoint.
 */
export async function openRunDir(path: string, options: OpenRunDirOptions = {}): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new RunDirError(`Cannot open run directory ${path}: it does not exist`);
    }
    throw fileSystemError(`Cannot open run directory ${path}`, error);
  }
  if (!info.isDirectory) {
    throw new RunDirError(`Cannot open run directory ${path}: it is not a directory`);
  }
  if (!await isRunDir(path)) {
    throw new RunDirError(`Cannot open run directory ${path}: it has no ${RUN_FILES.config}`);
  }
  if (options.requireCheckpoint) {
    try {
      await Deno.stat(join(path, CHECKPOINT_FILE));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        throw fileSystemError(`Cannot read ${join(path, CHECKPOINT_FILE)}`, error);
      }
      throw new RunDirError(
        `Cannot use run directory ${path}: it has no ${CHECKPOINT_FILE} (no checkpoint was saved yet)`,
      );
    }
  }
  return path;
}

/**
 * Returns the versions a run records in its config: rnnrl's, Deno's, V8's, TypeScript's, and the
 * operating system and architecture.
 *
 * @returns A JSON object of versions.
 */
export function runtimeVersions(): JsonObject {
  return {
    rnnrl: denoConfig.version,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    arch: Deno.build.arch,
  };
}

/**
 * Writes `config.json` atomically, as indented JSON. A run's config holds every resolved option,
 * the versions ({@linkcode runtimeVersions}), the backend and the adapter it ran on.
 *
 * @param dir The run directory.
 * @param config The configuration (plain JSON).
 * @throws {TypeError} When the config is not plain JSON.
 */
export async function writeConfig(dir: string, config: JsonObject): Promise<void> {
  await writeJsonFile(runFile(dir, "config"), config, "config");
}

/**
 * Reads `config.json`.
 *
 * @param dir The run directory.
 * @returns The configuration.
 * @throws {RunDirError} When the file is missing or is not a JSON object.
 */
export function readConfig(dir: string): Promise<JsonObject> {
  return readJsonObject(runFile(dir, "config"));
}

/**
 * Hashes a configuration (SHA-256 of its JSON with sorted keys), so a resumed run can check that
 * its checkpoint was written under the same configuration.
 *
 * @param config The configuration.
 * @returns 64 hexadecimal digits.
 *
 * @example
 * ```ts
 * import { configHash } from "./run_dir.ts";
 * if (await configHash({ a: 1, b: 2 }) !== await configHash({ b: 2, a: 1 })) {
 *   throw new Error("key order does not matter");
 * }
 * ```
 */
export async function configHash(config: JsonValue): Promise<string> {
  const text = new TextEncoder().encode(canonicalJson(config));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", text));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * What `eval.json` holds: the final evaluation ({@linkcode EvaluationResult}, the object
 * `deno task eval` prints), with the step it was taken at and the run's wall time.
 */
export type SavedEvaluation = EvaluationResult & {
  /** The agent's environment steps when it was evaluated. */
  step?: number;
  /** Seconds of training, summed over resumed sessions. */
  wallTimeSeconds?: number;
};

/**
 * Writes `eval.json` atomically.
 *
 * @param dir The run directory.
 * @param result The evaluation.
 * @throws {TypeError} When the result is not plain JSON (a NaN mean, for instance).
 */
export async function writeEval(dir: string, result: SavedEvaluation): Promise<void> {
  await writeJsonFile(runFile(dir, "eval"), result, "eval result");
}

/**
 * Checks a parsed `eval.json`: the numbers and arrays of an evaluation, of the right types.
 *
 * @param value The parsed JSON.
 * @param where The file, for messages.
 * @returns The same object, typed.
 * @throws {TypeError} When a required field is missing or of the wrong type.
 *
 * @example
 * ```ts
 * import { parseEvaluation } from "./run_dir.ts";
 * const e = parseEvaluation({ episodes: 1, meanReturn: 2, stdReturn: 0, seed: 0, returns: [2], lengths: [2] });
 * if (e.meanReturn !== 2) throw new Error("parsed");
 * ```
 */
export function parseEvaluation(value: unknown, where = "eval.json"): SavedEvaluation {
  const v = value as Record<string, unknown> | null;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new TypeError(`Cannot read ${where}: it is not a JSON object`);
  }
  const isNumber = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  for (const key of ["episodes", "meanReturn", "stdReturn", "seed"]) {
    if (!isNumber(v[key])) throw new TypeError(`Cannot read ${where}: "${key}" is not a number`);
  }
  for (const key of ["returns", "lengths"]) {
    const array = v[key];
    if (key === "lengths" && array === undefined) continue; // written before lengths were kept
    if (!Array.isArray(array) || !array.every(isNumber)) {
      throw new TypeError(`Cannot read ${where}: "${key}" is not an array of numbers`);
    }
  }
  for (const key of ["winRate", "step", "wallTimeSeconds"]) {
    if (v[key] !== undefined && !isNumber(v[key])) {
      throw new TypeError(`Cannot read ${where}: "${key}" is not a number`);
    }
  }
  return v as unknown as SavedEvaluation;
}

/**
 * Reads `eval.json` and checks its fields.
 *
 * @param dir The run directory.
 * @returns The evaluation.
 * @throws {RunDirError} When the file is missing or malformed.
 */
export async function readEval(dir: string): Promise<SavedEvaluation> {
  const path = runFile(dir, "eval");
  const value = await readJsonObject(path);
  try {
    return parseEvaluation(value, path);
  } catch (error) {
    throw new RunDirError((error as Error).message);
  }
}

async function writeJsonFile(path: string, value: unknown, what: string): Promise<void> {
  assertJsonValue(value, what);
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

async function readJsonObject(path: string): Promise<JsonObject> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new RunDirError(`Cannot read ${path}: it does not exist`);
    }
    throw fileSystemError(`Cannot read ${path}`, error);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RunDirError(`Cannot read ${path}: invalid JSON (${(error as Error).message})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new RunDirError(`Cannot read ${path}: it is not a JSON object`);
  }
  return value as JsonObject;
}

/** One line of `metrics.jsonl`. */
export interface MetricRecord {
  /** What the line records: "episode", "train", "eval", … */
  kind: string;
  /** The environment step the record belongs to. */
  step: number;
  /** The record's other fields. */
  [key: string]: JsonValue;
}

/** The record every finished training episode writes. */
export interface EpisodeRecord extends MetricRecord {
  /** Always "episode". */
  kind: "episode";
  /** The episode's number, from 1. */
  episode: number;
  /** The undiscounted return. */
  return: number;
  /** The number of steps. */
  length: number;
}

/** Options of {@linkcode MetricsWriter.open}. */
export interface OpenMetricsOptions {
  /**
   * Resume: cut the file to this many bytes first, the `metricsBytes` a checkpoint recorded. Without
   * it, records are appended to whatever the file holds.
   */
  truncateTo?: number;
  /** Write buffered records to the file once they exceed this many bytes (default 16384). */
  bufferBytes?: number;
}

/** Options of {@linkcode MetricsWriter.flush}. */
export interface FlushOptions {
  /** Also fsync the file, as before taking a checkpoint (default false). */
  sync?: boolean;
}

const NEWLINE = 10;

/**
 * Appends records to `metrics.jsonl`, one JSON object a line, buffering small writes. Writes are
 * synchronous so that the training loop's order is the file's order.
 *
 * @example
 * ```ts
 * import { MetricsWriter, readMetrics } from "@rnnrl/rnnrl/run";
 * const dir = await Deno.makeTempDir();
 * const log = MetricsWriter.open(`${dir}/metrics.jsonl`);
 * log.write({ kind: "episode", step: 20, episode: 1, return: 20, length: 20 });
 * const metricsBytes = log.flush({ sync: true }); // record this in the checkpoint
 * log.write({ kind: "episode", step: 45, episode: 2, return: 25, length: 25 });
 * log.close();
 * // A resumed run cuts the log back to the checkpoint and writes episode 2 again.
 * MetricsWriter.open(`${dir}/metrics.jsonl`, { truncateTo: metricsBytes }).close();
 * if ((await readMetrics(dir)).length !== 1) throw new Error("truncated to the checkpoint");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class MetricsWriter {
  /** The file written to. */
  readonly path: string;
  #file: Deno.FsFile;
  #written: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #bufferBytes: number;
  #encoder = new TextEncoder();

  private constructor(path: string, file: Deno.FsFile, written: number, bufferBytes: number) {
    this.path = path;
    this.#file = file;
    this.#written = written;
    this.#bufferBytes = bufferBytes;
  }

  /**
   * Opens (creating if needed) a metrics log for appending.
   *
   * @param path The file, usually `runFile(dir, "metrics")`.
   * @param options Where to cut the file when resuming, and the buffer size.
   * @returns The writer.
   * @throws {RunDirError} When `truncateTo` is not a byte count, lies beyond the file's end, or
   * does not fall at the end of a line (the log does not match the checkpoint).
   */
  static open(path: string, options: OpenMetricsOptions = {}): MetricsWriter {
    const { truncateTo, bufferBytes = 16384 } = options;
    if (truncateTo !== undefined && !(Number.isSafeInteger(truncateTo) && truncateTo >= 0)) {
      throw new RunDirError(
        `Cannot resume ${path}: the checkpoint's length ${truncateTo} is invalid`,
      );
    }
    // Never through a link: opening one would append to (or truncate) the file it points to.
    const before = refuseLinkSync(path);
    if (before === null && truncateTo !== undefined && truncateTo > 0) {
      throw new RunDirError(
        `Cannot resume ${path}: it does not exist, but the checkpoint recorded ${truncateTo} bytes ` +
          "of it",
      );
    }
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { read: true, append: true, create: before === null });
    } catch (error) {
      throw fileSystemError(`Cannot open ${path}`, error);
    }
    try {
      const opened = file.statSync();
      const now = refuseLinkSync(path);
      if (now === null || now.ino !== opened.ino || now.dev !== opened.dev) {
        throw new FileError(`Cannot open ${path}: it was replaced while being opened`);
      }
      let size = opened.size;
      if (truncateTo !== undefined) {
        if (size < truncateTo) {
          throw new RunDirError(
            `Cannot resume ${path}: it holds ${size} bytes, fewer than the ${truncateTo} the ` +
              "checkpoint recorded",
          );
        }
        if (truncateTo > 0 && !endsLine(file, truncateTo)) {
          throw new RunDirError(
            `Cannot resume ${path}: byte ${truncateTo}, where the checkpoint says it ended, ` +
              "does not end a line",
          );
        }
        checkKeptLines(file, truncateTo, path);
        file.truncateSync(truncateTo);
        size = truncateTo;
      }
      return new MetricsWriter(path, file, size, bufferBytes);
    } catch (error) {
      file.close();
      throw fileSystemError(`Cannot open ${path}`, error);
    }
  }

  /** The length the file has once buffered records are written: what a checkpoint records. */
  get byteLength(): number {
    return this.#written + this.#pendingBytes;
  }

  /**
   * Appends one record as a line.
   *
   * @param record The record; plain JSON (a NaN loss is a TypeError: decide what to log first).
   * @throws {TypeError} When the record is not plain JSON or lacks a string kind and a step.
   */
  write(record: MetricRecord): void {
    if (typeof record?.kind !== "string" || !Number.isFinite(record.step)) {
      throw new TypeError("Cannot write metrics record: it needs a string kind and a finite step");
    }
    assertJsonValue(record, "metrics record");
    const line = this.#encoder.encode(JSON.stringify(record) + "\n");
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= this.#bufferBytes) this.flush();
  }

  /**
   * Writes buffered records to the file.
   *
   * @param options Whether to fsync too.
   * @returns The file's length in bytes: record it in a checkpoint as `metricsBytes`.
   */
  flush(options: FlushOptions = {}): number {
    try {
      for (const line of this.#pending) {
        for (let done = 0; done < line.length;) done += this.#file.writeSync(line.subarray(done));
        this.#written += line.length;
        this.#pendingBytes -= line.length;
      }
      this.#pending = [];
      if (options.sync) this.#file.syncSync();
    } catch (error) {
      // What was written of a line stays in the file; a resumed run cuts the log back anyway.
      this.#pending = [];
      this.#pendingBytes = 0;
      throw fileSystemError(`Cannot write ${this.path}`, error);
    }
    return this.#written;
  }

  /** Flushes and closes the file (and closes it even when the flush fails). */
  close(): void {
    try {
      this.flush();
    } finally {
      this.#file.close();
    }
  }
}

function endsLine(file: Deno.FsFile, length: number): boolean {
  const byte = new Uint8Array(1);
  file.seekSync(length - 1, Deno.SeekMode.Start);
  return file.readSync(byte) === 1 && byte[0] === NEWLINE;
}

/** Checks that the first `length` bytes of the log, the part a resumed run keeps, are records. */
function checkKeptLines(file: Deno.FsFile, length: number, path: string): void {
  const bytes = new Uint8Array(length);
  file.seekSync(0, Deno.SeekMode.Start);
  for (let done = 0; done < length;) {
    const read = file.readSync(bytes.subarray(done));
    if (read === null) break;
    done += read;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new RunDirError(`Cannot resume ${path}: it is not valid UTF-8`);
  }
  try {
    parseMetricsLines(text, path);
  } catch (error) {
    throw new RunDirError(`Cannot resume ${(error as Error).message.replace(/^Cannot read /, "")}`);
  }
}

/** Options of {@linkcode readMetrics}. */
export interface ReadMetricsOptions {
  /** Keep only records of this kind. */
  kind?: string;
}

/**
 * Parses the text of a `metrics.jsonl` file: one JSON object a line, each with a string `kind`
 * and a numeric `step`. Blank lines are skipped. A last line without its newline is a record cut
 * short (the writer ends every record with one, so only a run killed while writing leaves such a
 * line) and is dropped, whatever it holds. Any other line that is not such a record is an error.
 *
 * @param text The file's contents.
 * @param where The file, for messages.
 * @returns The records in file order, each with its line number (from 1).
 * @throws {TypeError} For a damaged line, naming its number.
 *
 * @example
 * ```ts
 * import { parseMetricsLines } from "./run_dir.ts";
 * const lines = parseMetricsLines('{"kind":"episode","step":20}\n{"kind":"ep');
 * if (lines.length !== 1 || lines[0].line !== 1) throw new Error("the torn last line is dropped");
 * ```
 */
export function parseMetricsLines(
  text: string,
  where = "metrics.jsonl",
): { line: number; record: MetricRecord }[] {
  const lines = text.split("\n");
  lines.pop(); // the empty string after the last newline, or a torn last line
  const records: { line: number; record: MetricRecord }[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(lines[i]);
    } catch {
      throw new TypeError(`Cannot read ${where}: line ${i + 1} is not valid JSON`);
    }
    const record = value as MetricRecord;
    if (
      record === null || typeof record !== "object" || Array.isArray(record) ||
      typeof record.kind !== "string" || typeof record.step !== "number"
    ) {
      throw new TypeError(`Cannot read ${where}: line ${i + 1} is not a record with kind and step`);
    }
    records.push({ line: i + 1, record });
  }
  return records;
}

/**
 * Reads a run's `metrics.jsonl` (see {@linkcode parseMetricsLines} for the rules).
 *
 * @param dir The run directory.
 * @param options Which kind of record to keep.
 * @returns The records, in file order.
 * @throws {RunDirError} When the file is missing or a complete line is malformed.
 */
export async function readMetrics(
  dir: string,
  options: ReadMetricsOptions = {},
): Promise<MetricRecord[]> {
  const path = runFile(dir, "metrics");
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new RunDirError(`Cannot read ${path}: it does not exist`);
    }
    throw fileSystemError(`Cannot read ${path}`, error);
  }
  let lines: { record: MetricRecord }[];
  try {
    lines = parseMetricsLines(text, path);
  } catch (error) {
    throw new RunDirError((error as Error).message);
  }
  return lines.map((l) => l.record).filter((r) =>
    options.kind === undefined || r.kind === options.kind
  );
}
