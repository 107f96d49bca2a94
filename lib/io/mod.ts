/**
 * Input and output for training runs: the seeded RNG, crash-safe binary checkpoints, run
 * directories with their config, metrics log and evaluation, the shared command-line parser, and
 * the progress line.
 *
 * @example
 * ```ts
 * import { createRunDir, loadCheckpoint, MetricsWriter, runFile, saveCheckpoint } from "./mod.ts";
 * const root = await Deno.makeTempDir();
 * const dir = await createRunDir({ root });
 * const log = MetricsWriter.open(runFile(dir, "metrics"));
 * log.write({ kind: "episode", step: 12, episode: 1, return: 12, length: 12 });
 * const metricsBytes = log.flush({ sync: true });
 * await saveCheckpoint(dir, {
 *   header: { step: 12, metricsBytes },
 *   arrays: [{ name: "w", shape: [2], data: new Float32Array([0.1, 0.2]) }],
 * });
 * log.close();
 * const checkpoint = await loadCheckpoint(dir);
 * if (checkpoint.header.metricsBytes !== metricsBytes) throw new Error("saved");
 * await Deno.remove(root, { recursive: true });
 * ```
 *
 * @module
 */

export { Rng, type RngState } from "./rng.ts";
export {
  CheckpointError,
  DiskFullError,
  FileError,
  fileSystemError,
  isNoSpace,
  osErrorCode,
  RunDirError,
  StopError,
  UsageError,
  UserError,
} from "./errors.ts";
export { assertJsonValue, canonicalJson, type JsonObject, type JsonValue } from "./json.ts";
export { crc32 } from "./crc32.ts";
export { sha256Hex } from "./digest.ts";
export { refuseLink, writeFileAtomic } from "./atomic_write.ts";
export {
  type AcquireRunLockOptions,
  LOCK_FILE,
  readLockHolder,
  RunLock,
  type RunLockHolder,
} from "./run_lock.ts";
export {
  type Checkpoint,
  CHECKPOINT_FILE,
  CHECKPOINT_MAGIC,
  CHECKPOINT_VERSION,
  type CheckpointArray,
  type CheckpointData,
  type CheckpointDtype,
  type CheckpointFile,
  decodeCheckpoint,
  type DecodeCheckpointOptions,
  encodeCheckpoint,
  getArray,
  type GetArrayOptions,
  hasCheckpoint,
  loadCheckpoint,
  type LoadCheckpointOptions,
  PREVIOUS_CHECKPOINT_FILE,
  readCheckpointFile,
  saveCheckpoint,
  type SaveCheckpointOptions,
} from "./checkpoint.ts";
export {
  configHash,
  createRunDir,
  type CreateRunDirOptions,
  defaultRunName,
  type EpisodeRecord,
  type FlushOptions,
  isRunDir,
  type MetricRecord,
  MetricsWriter,
  type OpenMetricsOptions,
  openRunDir,
  type OpenRunDirOptions,
  parseEvaluation,
  parseMetricsLines,
  readConfig,
  readEval,
  readMetrics,
  type ReadMetricsOptions,
  removeStaleTemps,
  RUN_FILES,
  runFile,
  type RunNameOptions,
  runtimeVersions,
  type SavedEvaluation,
  writeConfig,
  writeEval,
} from "./run_dir.ts";
export {
  type AlwaysSet,
  type BooleanFlag,
  type CamelCase,
  type ChoiceFlag,
  type CliSpec,
  defineCli,
  exitWithTaskRunner,
  type FlagBase,
  type FlagSpec,
  type FlagValue,
  type FlagValues,
  fromUserInput,
  HelpRequest,
  helpText,
  type IntegerFlag,
  type NumberFlag,
  parseCli,
  type ParsedCli,
  type PositionalSpec,
  runCli,
  type RunCliOptions,
  type StringFlag,
} from "./cli.ts";
export { formatDuration, Progress, type ProgressOptions } from "./progress.ts";
