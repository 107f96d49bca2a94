/**
 * Run directories and checkpoints (Deno only), as `@rnnrl/rnnrl/run` exports them: run
 * directories with their config, metrics log and evaluation, crash-safe binary checkpoints, and
 * the errors a user or a machine can cause. The seeded RNG and the JSON types are in the core; the
 * command-line parser, the progress line and atomic writes are the tasks' own.
 *
 * @example
 * ```ts
 * import {
 *   createRunDir,
 *   loadCheckpoint,
 *   MetricsWriter,
 *   runFile,
 *   saveCheckpoint,
 * } from "@rnnrl/rnnrl/run";
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

export {
  CheckpointError,
  DiskFullError,
  FileError,
  RunDirError,
  StopError,
  UsageError,
  UserError,
} from "./errors.ts";
export {
  type Checkpoint,
  CHECKPOINT_VERSION,
  type CheckpointArray,
  type CheckpointData,
  type CheckpointDtype,
  decodeCheckpoint,
  type DecodeCheckpointOptions,
  encodeCheckpoint,
  loadCheckpoint,
  type LoadCheckpointOptions,
  saveCheckpoint,
  type SaveCheckpointOptions,
} from "./checkpoint.ts";
export {
  createRunDir,
  type CreateRunDirOptions,
  type EpisodeRecord,
  type FlushOptions,
  isRunDir,
  type MetricRecord,
  MetricsWriter,
  type OpenMetricsOptions,
  openRunDir,
  type OpenRunDirOptions,
  readConfig,
  readEval,
  readMetrics,
  type ReadMetricsOptions,
  RUN_FILES,
  runFile,
  type RunNameOptions,
  type SavedEvaluation,
} from "./run_dir.ts";
