/**
 * A training run from start to report: what `deno task train` does, as a library function.
 *
 * The run directory gets `config.json` (every resolved option, versions, backend, adapter),
 * `metrics.jsonl` (episodes and losses), a checkpoint every `checkpointEvery` steps, and at the
 * end `eval.json` (a greedy evaluation), `replay.json` (one evaluation episode) and
 * `report.html`. A resumed run reopens the directory, restores the agent from the checkpoint and
 * cuts the metrics log back to it, so it continues exactly where the checkpoint was taken.
 *
 * A run directory has one writer: the trainer holds its lock from start to end. Everything read
 * from it is checked before anything is written, no file is written through a symbolic link, and
 * a run that stops — interrupted through `signal`, out of disk space, or diverged — says in one
 * line what it kept.
 *
 * @module
 */

import { join } from "node:path";
import type { Backend } from "../backend/backend.ts";
import { BACKEND_CHOICES, type BackendChoice, createBackend } from "../backend/create.ts";
import { isWebGpuAvailable } from "../backend/webgpu/device.ts";
import type { EnvCore } from "../envs/env.ts";
import { refuseLink, writeFileAtomic } from "../io/atomic_write.ts";
import {
  type Checkpoint,
  CHECKPOINT_FILE,
  PREVIOUS_CHECKPOINT_FILE,
  readCheckpointFile,
  saveCheckpoint,
} from "../io/checkpoint.ts";
import { sha256Hex } from "../io/digest.ts";
import {
  DiskFullError,
  FileError,
  fileSystemError,
  osErrorCode,
  RunDirError,
  StopError,
  UserError,
} from "../io/errors.ts";
import { canonicalJson, type JsonObject, type JsonValue } from "../io/json.ts";
import { Progress } from "../io/progress.ts";
import {
  configHash,
  createRunDir,
  isRunDir,
  MetricsWriter,
  openRunDir,
  removeStaleTemps,
  RUN_FILES,
  runFile,
  runtimeVersions,
  writeConfig,
  writeEval,
} from "../io/run_dir.ts";
import { RunLock } from "../io/run_lock.ts";
import { ONNX_METADATA_KEYS } from "../onnx/export.ts";
import type { PolicySource } from "../onnx/agent_export.ts";
import { renderReport } from "../report/html.ts";
import { recordReplay } from "../report/recorder.ts";
import { readRun } from "../report/run_data.ts";
import type { Agent, EpisodeReport, EvaluationReport, TrainReport } from "../rl/agent.ts";
import { evaluate, type EvaluationResult } from "../rl/evaluation.ts";
import type { Policy } from "../rl/policy.ts";
import type { AgentState } from "../rl/state.ts";
import { createAgent, createEnv, type CreateEnvOptions, prepareEnv } from "./registry.ts";
import {
  checkTrainConfig,
  configIdentity,
  readRunConfig,
  type ResolvedConfig,
  type TrainConfig,
} from "./run_config.ts";

export {
  checkTrainConfig,
  envsWithOption,
  envTakesOption,
  readRunConfig,
  type ResolvedConfig,
  TRAIN_CONFIG_KEYS,
  type TrainConfig,
} from "./run_config.ts";

/** Options of {@linkcode train}. */
export interface TrainOptions {
  /** The run directory: new (default `runs/<date-time>`) or, with `resume`, an existing one. */
  out?: string;
  /** Continue the run in `out` from its checkpoint. */
  resume?: boolean;
  /** Where progress and notices go (default: stderr). */
  log?: (line: string) => void;
  /** Show a redrawn progress bar (default: when stderr is a terminal). */
  terminal?: boolean;
  /**
   * Stops training politely: at the next update or episode boundary after it is aborted, the
   * trainer saves a checkpoint and throws {@linkcode TrainingInterrupted}. Its `reason`, when a
   * string such as "SIGINT", names the interruption in the message.
   */
  signal?: AbortSignal;
  /** What runs the training, recorded in the run directory's lock (default "rnnrl train"). */
  command?: string;
  /**
   * Called after each checkpoint is saved, before training goes on, with the step it holds: the
   * run directory is then whole (its metrics log ends where the checkpoint says), so a copy taken
   * here resumes exactly. An error it throws stops the run as a failed write would.
   */
  onCheckpoint?: (step: number) => void | Promise<void>;
}

/** What {@linkcode train} returns. */
export interface TrainSummary {
  /** The run directory. */
  dir: string;
  /** The final greedy evaluation. */
  evaluation: EvaluationResult;
  /** Seconds of training, summed over resumed sessions. */
  wallTimeSeconds: number;
}

/** Training stopped because a loss, gradient or parameter stopped being a finite number (exit 1). */
export class NumericalError extends StopError {
  /** Names the error. */
  override name = "NumericalError";
}

/**
 * Training was interrupted (its `signal` aborted) and stopped at a boundary, its checkpoint saved;
 * `--resume` continues it exactly. The exit code is 128 + the signal's number (130 for SIGINT,
 * 143 for SIGTERM).
 */
export class TrainingInterrupted extends StopError {
  /** Names the error. */
  override name = "TrainingInterrupted";
}

// Version 2: the checkpoint of the rebuilt agents (one saved-state header, every environment's
// place kept by one cursor). Version 1 checkpoints are refused with a one-line error.
const CHECKPOINT_FORMAT = "rnnrl-train/2";

/** Hand the event loop a turn (signals, timers) at least this often while training (ms). */
const YIELD_EVERY_MS = 50;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** The files of a run directory the trainer writes or replaces: none may be a link. */
const WRITTEN_FILES = [
  RUN_FILES.metrics,
  RUN_FILES.checkpoint,
  RUN_FILES.previousCheckpoint,
  RUN_FILES.eval,
  RUN_FILES.replay,
  RUN_FILES.report,
] as const;

/** Files only a run that got past its first checkpoint has; a restart from step 0 would lose them. */
const SAVED_WORK = [
  RUN_FILES.previousCheckpoint,
  RUN_FILES.eval,
  RUN_FILES.replay,
  RUN_FILES.report,
  RUN_FILES.policy,
] as const;

/**
 * Runs (or resumes) a training run and writes its directory. The directory is locked for the
 * whole run (one writer), and everything read from it is checked before the first byte is
 * written.
 *
 * @throws {UserError} For a bad configuration, a directory that cannot be used or that another
 * process is writing, or a damaged checkpoint; nothing saved is overwritten.
 * @throws {NumericalError} When training produced NaN or infinity; the last good checkpoint stays.
 * @throws {DiskFullError} When space ran out; the last two checkpoints stay.
 * @throws {TrainingInterrupted} When `signal` aborted; a checkpoint was saved first.
 */
export async function train(
  trainConfig: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainSummary> {
  const config = checkTrainConfig(trainConfig);
  await prepareEnv(config.env);
  // The backend's notice waits until the run directory is known to be usable, so that a user's
  // mistake prints its one error line and nothing else.
  const notices: string[] = [];
  const backend = await openBackend(config.backend, (line) => notices.push(line));
  try {
    return await trainOn(backend, notices, config, options);
  } finally {
    backend.destroy();
  }
}

/** Where the run directory's two checkpoints stand, for the messages of a run that stops. */
interface Saved {
  /** The step of checkpoint.bin, or undefined while there is none. */
  latest?: number;
  /** Whether checkpoint.prev.bin exists. */
  previous: boolean;
}

async function trainOn(
  backend: Backend,
  notices: string[],
  config: ResolvedConfig,
  options: TrainOptions,
): Promise<TrainSummary> {
  const log = options.log ?? ((line: string) => console.error(line));
  const env = buildEnv(config, config.seed);
  const agent = buildAgent(config, env, backend);
  const hash = await configHash(configIdentity(config) as JsonValue);
  const command = options.command ?? "rnnrl train";

  let dir: string;
  let lock: RunLock;
  let metrics: MetricsWriter;
  let priorSeconds = 0;
  let reached = false; // an evaluation reached stopOnReturn: training is over
  const saved: Saved = { previous: false };
  if (options.resume) {
    if (!options.out) throw new RunDirError("Cannot resume: --resume needs --out runs/NAME");
    dir = await openRunDir(options.out);
    lock = await RunLock.acquire(dir, { command });
    try {
      await checkSameConfig(dir, config);
      for (const file of WRITTEN_FILES) await refuseLink(join(dir, file));
      const latest = await readCheckpointIfAny(dir);
      if (latest) {
        const header = latest.header;
        if (header.format !== CHECKPOINT_FORMAT) {
          throw new RunDirError(
            `Cannot resume ${dir}: its checkpoint is of format ${String(header.format)}, ` +
              `not ${CHECKPOINT_FORMAT} (written by another version of rnnrl)`,
          );
        }
        if (header.configHash !== hash) {
          throw new RunDirError(
            `Cannot resume ${dir}: its checkpoint was written for another configuration`,
          );
        }
        reached = header.stopped === true;
        restoreAgent(agent, latest, dir);
        priorSeconds = Number(header.wallTimeSeconds) || 0;
        metrics = MetricsWriter.open(runFile(dir, "metrics"), {
          truncateTo: Number(header.metricsBytes),
        });
        saved.latest = agent.steps;
        saved.previous = await exists(join(dir, PREVIOUS_CHECKPOINT_FILE));
        await removeStaleTemps(dir);
        notices.forEach(log);
        log(`resuming ${dir} at step ${agent.steps} of ${config.steps}`);
      } else {
        await refuseRestartOverSavedWork(dir);
        // Stopped before its first checkpoint: the same run starts again from step 0.
        metrics = MetricsWriter.open(runFile(dir, "metrics"), { truncateTo: 0 });
        await removeStaleTemps(dir);
        notices.forEach(log);
        log(`resuming ${dir}: no checkpoint was saved yet, so it starts again from step 0`);
      }
    } catch (error) {
      await lock.release();
      throw error;
    }
  } else {
    dir = await createRunDir({ out: options.out });
    lock = await RunLock.acquire(dir, { command });
    try {
      // Another process may have made it a run between the two steps: it must still be empty.
      if (await isRunDir(dir)) await createRunDir({ out: dir });
      notices.forEach(log);
      await writeConfig(dir, {
        ...configIdentity(config),
        agentOptions: resolvedOptions(agent),
        backendUsed: backend.name,
        device: backend.device,
        versions: runtimeVersions(),
        startedAt: new Date().toISOString(),
      }).catch((error) => {
        throw fileSystemError(`Cannot write ${runFile(dir, "config")}`, error);
      });
      metrics = MetricsWriter.open(runFile(dir, "metrics"));
    } catch (error) {
      await lock.release();
      throw error;
    }
    log(`training ${config.algo} on ${config.env} for ${config.steps} steps into ${dir}`);
  }
  try {
    return await runAndEvaluate({ config, agent, env, hash, dir, metrics, saved, log }, {
      priorSeconds,
      reached,
      options,
    });
  } finally {
    await lock.release();
  }
}

/** What {@linkcode runAndEvaluate} works on. */
interface Run {
  config: ResolvedConfig;
  agent: Agent;
  env: EnvCore<unknown>;
  hash: string;
  dir: string;
  metrics: MetricsWriter;
  saved: Saved;
  log: (line: string) => void;
}

/** Trains in chunks of `checkpointEvery` steps, checkpointing after each, then evaluates. */
async function runAndEvaluate(
  run: Run,
  state: { priorSeconds: number; reached: boolean; options: TrainOptions },
): Promise<TrainSummary> {
  const { config, agent, env, hash, dir, metrics, saved, log } = run;
  const { options } = state;
  const signal = options.signal;
  let reached = state.reached;
  const started = performance.now();
  const elapsed = () => state.priorSeconds + (performance.now() - started) / 1000;
  const progress = new Progress({
    total: config.steps,
    startStep: agent.steps,
    terminal: options.terminal,
    write: options.log ? (text) => options.log!(text.replace(/\n$/, "")) : undefined,
  });
  // Callbacks return false to stop at the boundary they report, once the signal is aborted; every
  // YIELD_EVERY_MS they also let the event loop run, so that a signal's listener gets to run.
  let lastYield = performance.now();
  const keepGoing = (): boolean | Promise<boolean> => {
    if (signal?.aborted) return false;
    if (performance.now() - lastYield < YIELD_EVERY_MS) return true;
    return new Promise((resolve) =>
      setTimeout(() => {
        lastYield = performance.now();
        resolve(!signal?.aborted);
      }, 0)
    );
  };
  const onEpisode = (report: EpisodeReport) => {
    metrics.write({ kind: "episode", ...report });
    progress.episode(report.return);
    progress.update(report.step);
    return keepGoing();
  };
  const onUpdate = (report: TrainReport) => {
    for (const [quantity, value] of Object.entries(report)) {
      if (typeof value === "number" && !Number.isFinite(value)) {
        throw new NumericalError(
          `Training stopped at step ${report.step}: the ${quantity} is ${value}; ` +
            keptCheckpoint(saved, dir),
        );
      }
    }
    metrics.write({ kind: "train", step: report.step, ...definedFields(report) });
    // A resident loop reports no single episodes, only how many ended and their mean return.
    if (report.episodes !== undefined) progress.episodes(report.episodes, report.meanReturn);
    progress.update(report.step);
    return keepGoing();
  };
  const onEvaluation = (report: EvaluationReport) => {
    const { step, episodes, meanReturn, stdReturn, winRate, returns } = report;
    metrics.write({
      kind: "eval",
      step,
      episodes,
      meanReturn,
      stdReturn,
      ...(winRate === undefined ? {} : { winRate }),
      returns,
    });
    if (config.stopOnReturn !== null && meanReturn >= config.stopOnReturn) {
      reached = true;
      return false;
    }
    return keepGoing();
  };
  const evaluation = config.evalEvery > 0
    ? {
      env: buildEnv(config, config.evalSeed),
      every: config.evalEvery,
      episodes: config.evalEveryEpisodes,
      seed: config.evalSeed,
    }
    : undefined;

  let failure: unknown;
  try {
    while (agent.steps < config.steps && !reached && !signal?.aborted) {
      const untilCheckpoint = config.checkpointEvery - (agent.steps % config.checkpointEvery);
      const chunk = Math.min(untilCheckpoint, config.steps - agent.steps);
      await agent.learn(env, { steps: chunk, onEpisode, onUpdate, onEvaluation, evaluation });
      progress.update(agent.steps);
      const agentState = await agent.getState();
      checkFinite(agentState, agent.steps, saved, dir);
      const metricsBytes = metrics.flush({ sync: true });
      await saveCheckpoint(dir, {
        header: {
          format: CHECKPOINT_FORMAT,
          configHash: hash,
          step: agent.steps,
          metricsBytes,
          wallTimeSeconds: elapsed(),
          stopped: reached,
          agent: agentState.json,
        },
        arrays: agentState.arrays,
      });
      saved.previous ||= saved.latest !== undefined;
      saved.latest = agent.steps;
      await options.onCheckpoint?.(agent.steps);
    }
  } catch (error) {
    failure = error;
  } finally {
    try {
      metrics.close();
    } catch (error) {
      failure ??= error;
    }
    progress.finish();
  }
  if (failure !== undefined) throw stoppedBy(failure, agent.steps, saved, dir);
  if (signal?.aborted) {
    const kept = saved.latest === agent.steps
      ? "its checkpoint is saved"
      : "no checkpoint was saved yet, so resuming starts again from step 0";
    throw interrupted(signal, `at step ${agent.steps}: ${kept}`, dir);
  }
  if (reached) log(`stopped at step ${agent.steps}: an evaluation reached ${config.stopOnReturn}`);

  const recorder = recordReplay(config.evalSeed);
  const result = await evaluate(
    buildEnv(config, config.evalSeed),
    interruptible(agent, signal, dir, agent.steps),
    { episodes: config.evalEpisodes, seed: config.evalSeed, observer: recorder.observer },
  );
  const replay = recorder.replay();
  const wallTimeSeconds = elapsed();
  const guarded = async (file: "eval" | "replay" | "report", work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      const worded = fileSystemError(`Cannot write ${runFile(dir, file)}`, error);
      throw stoppedBy(worded, agent.steps, saved, dir);
    }
  };
  await guarded("eval", () => writeEval(dir, { ...result, wallTimeSeconds, step: agent.steps }));
  if (replay) {
    const text = JSON.stringify(replay) + "\n";
    await guarded("replay", () => writeFileAtomic(runFile(dir, "replay"), text));
  }
  await guarded("report", async () => {
    await writeFileAtomic(runFile(dir, "report"), await renderReport([await readRun(dir)]));
  });
  log(
    `evaluation over ${result.episodes} episodes: mean return ${result.meanReturn.toFixed(2)}` +
      (result.winRate === undefined ? "" : `, win rate ${(100 * result.winRate).toFixed(1)}%`) +
      `; report: ${runFile(dir, "report")}`,
  );
  return { dir, evaluation: result, wallTimeSeconds };
}

/** What the run directory keeps, for the last words of a run that stopped. */
function keptCheckpoint(saved: Saved, dir: string): string {
  if (saved.latest === undefined) {
    return `no checkpoint was saved before it, so resuming ${dir} starts again from step 0`;
  }
  return `the last good checkpoint is kept in ${dir}`;
}

/**
 * A failure of the file system during training (a full disk, a file that became unwritable),
 * worded with what the run directory keeps; any other error comes back unchanged.
 */
function stoppedBy(error: unknown, step: number, saved: Saved, dir: string): unknown {
  const worded = osErrorCode(error) === undefined
    ? error
    : fileSystemError(`Cannot write to ${dir}`, error);
  const fromDisk = worded instanceof DiskFullError ||
    (worded instanceof UserError && osErrorCode(worded.cause) !== undefined);
  if (!fromDisk) return error;
  const kept = saved.latest === undefined
    ? "no checkpoint was saved yet"
    : saved.previous
    ? `its checkpoint of step ${saved.latest} and the one before it are kept`
    : `its checkpoint of step ${saved.latest} is kept`;
  const message = `Training stopped at step ${step}: ${(worded as Error).message}; ${kept} in ` +
    `${dir} (continue with deno task train --resume --out ${dir})`;
  return worded instanceof DiskFullError
    ? new DiskFullError(message, { cause: error })
    : new FileError(message, { cause: error });
}

/** The error of an interrupted run, with the exit code of its signal. */
function interrupted(signal: AbortSignal, what: string, dir: string): TrainingInterrupted {
  const reason = typeof signal.reason === "string" ? signal.reason : "";
  const number = SIGNAL_NUMBERS[reason];
  return new TrainingInterrupted(
    `Interrupted${reason ? ` by ${reason}` : ""} ${what}; continue with ` +
      `deno task train --resume --out ${dir}`,
    { exitCode: number === undefined ? 130 : 128 + number },
  );
}

/** The agent as a policy that stops the final evaluation when `signal` aborts. */
function interruptible<S>(
  policy: Policy<S>,
  signal: AbortSignal | undefined,
  dir: string,
  step: number,
): Policy<S> {
  if (!signal) return policy;
  let lastYield = performance.now();
  const check = () => {
    if (signal.aborted) {
      throw interrupted(
        signal,
        `during the final evaluation: the checkpoint of step ${step} is saved, and resuming ` +
          "evaluates it",
        dir,
      );
    }
  };
  return {
    initialState: () => policy.initialState(),
    disposeState: (state) => policy.disposeState(state),
    async act(observation, state, options) {
      check();
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
        check();
      }
      return await policy.act(observation, state, options);
    },
  };
}

/** The latest checkpoint of a run directory, or undefined when it has none (yet). */
async function readCheckpointIfAny(dir: string): Promise<Checkpoint | undefined> {
  if (!await exists(join(dir, CHECKPOINT_FILE))) return undefined;
  return (await readCheckpointFile(join(dir, CHECKPOINT_FILE), { finiteOnly: true })).checkpoint;
}

/**
 * A run without checkpoint.bin starts again from step 0 only when that loses nothing: when it was
 * stopped before its first checkpoint, it holds no checkpoint.prev.bin, eval.json or report.
 */
async function refuseRestartOverSavedWork(dir: string): Promise<void> {
  if (await exists(join(dir, PREVIOUS_CHECKPOINT_FILE))) {
    throw new RunDirError(
      `Cannot resume ${dir}: it has no ${CHECKPOINT_FILE} but has ${PREVIOUS_CHECKPOINT_FILE}, ` +
        `the checkpoint before it (copy that to ${CHECKPOINT_FILE} to resume from there)`,
    );
  }
  for (const file of SAVED_WORK) {
    if (await exists(join(dir, file))) {
      throw new RunDirError(
        `Cannot resume ${dir}: it has no ${CHECKPOINT_FILE}, yet it holds ${file} of a run that ` +
          "went further; starting again from step 0 would overwrite it (train into another --out)",
      );
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw fileSystemError(`Cannot read ${path}`, error);
  }
}

/** Refuses to resume a run with a configuration other than the one it was started with. */
async function checkSameConfig(dir: string, config: ResolvedConfig): Promise<void> {
  const saved = configIdentity(await readRunConfig(dir));
  const wanted = configIdentity(config);
  for (const [key, value] of Object.entries(wanted)) {
    if (canonicalJson(saved[key]) !== canonicalJson(value)) {
      throw new RunDirError(
        `Cannot resume ${dir}: it was started with ${key} ${canonicalJson(saved[key])}, ` +
          `not ${canonicalJson(value)}`,
      );
    }
  }
}

/** What {@linkcode loadRun} returns. */
export interface LoadedRun {
  /** The run's configuration, as config.json holds it (checked). */
  config: ResolvedConfig;
  /** The agent as of the last checkpoint. */
  agent: Agent;
  /** The backend the agent runs on; destroy it when done with the agent. */
  backend: Backend;
  /** The run: the SHA-256 of its config.json. */
  runId: string;
  /** The checkpoint the agent was restored from: the SHA-256 of its file, and its step. */
  checkpoint: { sha256: string; step: number };
}

/**
 * Loads a finished or interrupted run: its configuration and its agent as of the last
 * checkpoint, on the backend the run asked for (or `backend`). Destroy the returned backend when
 * done with the agent.
 *
 * @throws {UserError} When the directory is not a run, its config.json is not a valid one (or was
 * changed after the checkpoint was written), or its checkpoint is missing or damaged.
 */
export async function loadRun(
  dir: string,
  options: { backend?: BackendChoice; log?: (line: string) => void } = {},
): Promise<LoadedRun> {
  await openRunDir(dir, { requireCheckpoint: true });
  const config = await readRunConfig(dir);
  let runId: string;
  try {
    runId = await sha256Hex(await Deno.readFile(runFile(dir, "config")));
  } catch (error) {
    throw fileSystemError(`Cannot read ${runFile(dir, "config")}`, error);
  }
  const file = await readCheckpointFile(join(dir, CHECKPOINT_FILE), { finiteOnly: true });
  const header = file.checkpoint.header;
  if (header.format !== CHECKPOINT_FORMAT) {
    throw new RunDirError(`Cannot load ${dir}: its checkpoint is not a training checkpoint`);
  }
  // The backend says where the run computes, not what it learned: any may evaluate it.
  const hashes = await Promise.all(
    BACKEND_CHOICES.map((backend) => configHash(configIdentity({ ...config, backend }))),
  );
  if (!hashes.includes(String(header.configHash))) {
    throw new RunDirError(
      `Cannot load ${dir}: its checkpoint was written for another configuration (config.json ` +
        "was changed after training)",
    );
  }
  await prepareEnv(config.env);
  const backend = await openBackend(options.backend ?? config.backend, options.log);
  try {
    const agent = buildAgent(config, buildEnv(config, config.seed), backend);
    restoreAgent(agent, file.checkpoint, dir);
    const step = Number(header.step);
    return { config, agent, backend, runId, checkpoint: { sha256: file.sha256, step } };
  } catch (error) {
    backend.destroy();
    throw error;
  }
}

/**
 * Checks that an exported model belongs to a run's current checkpoint (see
 * {@linkcode exportPolicy}).
 *
 * @param metadata The model's `metadata_props`.
 * @param run The run, as {@linkcode loadRun} loaded it.
 * @param path The model's file, for messages.
 * @throws {UserError} When the model names no source, another run, or another checkpoint.
 */
export function checkPolicySource(
  metadata: Readonly<Record<string, string>>,
  run: PolicySource,
  path: string,
): void {
  const again = "export it again with deno task export";
  const runId = metadata[ONNX_METADATA_KEYS.run];
  const sha256 = metadata[ONNX_METADATA_KEYS.checkpoint];
  const step = metadata[ONNX_METADATA_KEYS.step];
  if (runId === undefined || sha256 === undefined) {
    throw new UserError(
      `Cannot play ${path}: it does not say which run and checkpoint it was exported from ` +
        `(not exported by deno task export); ${again}`,
    );
  }
  if (runId !== run.runId) {
    throw new UserError(
      `Cannot play ${path}: it was exported from another run (run ${runId.slice(0, 12)}, ` +
        `step ${step}), not this one (run ${run.runId.slice(0, 12)}); ${again}`,
    );
  }
  if (sha256 !== run.checkpoint.sha256) {
    throw new UserError(
      `Cannot play ${path}: it was exported from the checkpoint of step ${step}, but the run's ` +
        `checkpoint is now of step ${run.checkpoint.step}; ${again}`,
    );
  }
}

/** The environment of a run, seeded (for evaluation, say). */
export function createRunEnv(config: TrainConfig, seed: number): EnvCore<unknown> {
  return buildEnv(config, seed);
}

/**
 * Creates the backend a run asks for. Asking for WebGPU where no adapter exists is the user's
 * mistake (a one-line error, exit code 2), not a crash.
 */
async function openBackend(
  choice: BackendChoice,
  log: (line: string) => void = () => {},
): Promise<Backend> {
  try {
    return await createBackend(choice, { log });
  } catch (error) {
    if (choice === "webgpu" && error instanceof Error && !await isWebGpuAvailable()) {
      throw new UserError(error.message, { cause: error });
    }
    throw error;
  }
}

function buildEnv(config: TrainConfig, seed: number): EnvCore<unknown> {
  return fromUser(() =>
    createEnv(config.env, { ...(config.envOptions as CreateEnvOptions), seed })
  );
}

function buildAgent(config: TrainConfig, env: EnvCore<unknown>, backend: Backend): Agent {
  return fromUser(() =>
    createAgent(config.algo, env, { ...config.agent, seed: config.seed }, backend)
  );
}

/** Turns RangeError/TypeError from validating user options into a one-line user error. */
function fromUser<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new UserError(error.message);
    }
    throw error;
  }
}

/** The agent's resolved options, for config.json. */
function resolvedOptions(agent: Agent): JsonValue {
  return JSON.parse(JSON.stringify(agent.options));
}

function restoreAgent(agent: Agent, checkpoint: Checkpoint, dir: string): void {
  const state: AgentState = {
    json: checkpoint.header.agent as JsonObject,
    arrays: checkpoint.arrays,
  };
  try {
    agent.setState(state);
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) {
      // The agent's message says what does not fit; say which file it came from.
      throw new RunDirError(`${error.message} (in ${join(dir, CHECKPOINT_FILE)})`);
    }
    throw error;
  }
}

/** Stops before saving a checkpoint that holds NaN or infinity. */
function checkFinite(state: AgentState, step: number, saved: Saved, dir: string): void {
  for (const array of state.arrays) {
    if (!(array.data instanceof Float32Array)) continue;
    for (let i = 0; i < array.data.length; i++) {
      if (!Number.isFinite(array.data[i])) {
        throw new NumericalError(
          `Training stopped at step ${step}: ${array.name} holds ${array.data[i]}; ` +
            keptCheckpoint(saved, dir),
        );
      }
    }
  }
}

function definedFields(report: TrainReport): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(report)) if (value !== undefined) out[key] = value;
  return out;
}
