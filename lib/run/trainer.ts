/**
 * A training run from start to report: what `deno task train` does, as a library function.
 *
 * The run directory gets `config.json` (every resolved option, versions, backend, adapter),
 * `metrics.jsonl` (episodes and losses), a checkpoint every `checkpointEvery` steps, and at the
 * end `eval.json` (a greedy evaluation), `replay.json` (one evaluation episode) and
 * `report.html`. A resumed run reopens the directory, restores the agent from the checkpoint and
 * cuts the metrics log back to it, so it continues exactly where the checkpoint was taken.
 *
 * @module
 */

import { join } from "node:path";
import type { Backend } from "../backend/backend.ts";
import { type BackendChoice, createBackend } from "../backend/create.ts";
import { isWebGpuAvailable } from "../backend/webgpu/device.ts";
import type { EnvCore } from "../envs/env.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import {
  type Checkpoint,
  CHECKPOINT_FILE,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from "../io/checkpoint.ts";
import { RunDirError, UserError } from "../io/errors.ts";
import { canonicalJson, type JsonObject, type JsonValue } from "../io/json.ts";
import { Progress } from "../io/progress.ts";
import {
  configHash,
  createRunDir,
  MetricsWriter,
  openRunDir,
  readConfig,
  runFile,
  runtimeVersions,
  writeConfig,
  writeEval,
} from "../io/run_dir.ts";
import { exportOnnx } from "../onnx/export.ts";
import { writeReport } from "../report/html.ts";
import { recordReplay } from "../report/recorder.ts";
import type { Agent, EpisodeReport, EvaluationReport, TrainReport } from "../rl/agent.ts";
import { evaluate, type EvaluationResult } from "../rl/evaluation.ts";
import { OnPolicyAgent } from "../rl/on_policy.ts";
import { GaussianHead } from "../rl/policy_heads.ts";
import type { AgentState } from "../rl/state.ts";
import {
  type AlgoName,
  createAgent,
  createEnv,
  type CreateEnvOptions,
  type EnvName,
} from "./registry.ts";

/** Everything that defines a training run; two runs with equal configs give equal results. */
export interface TrainConfig {
  /** The environment. */
  env: EnvName;
  /** The algorithm. */
  algo: AlgoName;
  /** Seeds the agent (networks, exploration, replay) and the training environment. */
  seed: number;
  /** Environment steps to train for. */
  steps: number;
  /** The backend asked for. */
  backend: BackendChoice;
  /** Environment options (Minesweeper's board, say). */
  envOptions: JsonObject;
  /** Agent options that differ from the agent's defaults (the preset plus flags). */
  agent: JsonObject;
  /** Save a checkpoint every this many environment steps. */
  checkpointEvery: number;
  /** Episodes of the final greedy evaluation. */
  evalEpisodes: number;
  /** Seeds the evaluation environment, so every run is evaluated on the same episodes. */
  evalSeed: number;
  /** Evaluate greedily every this many steps during training (default 0: only at the end). */
  evalEvery?: number;
  /** Episodes of each evaluation during training (default 10). */
  evalEveryEpisodes?: number;
  /** Stop once an evaluation during training reaches this mean return (default null: never). */
  stopOnReturn?: number | null;
}

/** A configuration with every optional field filled in. */
type ResolvedConfig = Required<TrainConfig>;

/** Fills in the optional fields of a configuration with their defaults. */
function resolveConfig(config: TrainConfig): ResolvedConfig {
  return {
    ...config,
    evalEvery: config.evalEvery ?? 0,
    evalEveryEpisodes: config.evalEveryEpisodes ?? 10,
    stopOnReturn: config.stopOnReturn ?? null,
  };
}

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

/** Training stopped because a loss, gradient or parameter stopped being a finite number. */
export class NumericalError extends Error {
  /** Names the error. */
  override name = "NumericalError";
}

// Version 2: the checkpoint of the rebuilt agents (one saved-state header, every environment's
// place kept by one cursor). Version 1 checkpoints are refused with a one-line error.
const CHECKPOINT_FORMAT = "rnnrl-train/2";

/**
 * Runs (or resumes) a training run and writes its directory.
 *
 * @throws {UserError} For a bad configuration, a directory that cannot be used, or a damaged
 * checkpoint; nothing saved is overwritten.
 * @throws {NumericalError} When training produced NaN or infinity; the last good checkpoint stays.
 */
export async function train(
  trainConfig: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainSummary> {
  const config = resolveConfig(trainConfig);
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

  let dir: string;
  let metrics: MetricsWriter;
  let priorSeconds = 0;
  let stopped = false; // a callback ended training before the step budget
  if (options.resume) {
    if (!options.out) throw new RunDirError("Cannot resume: --resume needs --out runs/NAME");
    dir = await openRunDir(options.out);
    await checkSameConfig(dir, config);
    if (await hasCheckpoint(dir)) {
      const checkpoint = await loadCheckpoint(dir, { finiteOnly: true });
      const header = checkpoint.header;
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
      stopped = header.stopped === true;
      restoreAgent(agent, checkpoint, dir);
      priorSeconds = Number(header.wallTimeSeconds) || 0;
      metrics = MetricsWriter.open(runFile(dir, "metrics"), {
        truncateTo: Number(header.metricsBytes),
      });
      notices.forEach(log);
      log(`resuming ${dir} at step ${agent.steps} of ${config.steps}`);
    } else {
      // Stopped before its first checkpoint: the same run starts again from step 0.
      metrics = MetricsWriter.open(runFile(dir, "metrics"), { truncateTo: 0 });
      notices.forEach(log);
      log(`resuming ${dir}: no checkpoint was saved yet, so it starts again from step 0`);
    }
  } else {
    dir = await createRunDir({ out: options.out });
    notices.forEach(log);
    await writeConfig(dir, {
      ...configIdentity(config),
      agentOptions: resolvedOptions(agent),
      backendUsed: backend.name,
      device: backend.device,
      versions: runtimeVersions(),
      startedAt: new Date().toISOString(),
    });
    metrics = MetricsWriter.open(runFile(dir, "metrics"));
    log(`training ${config.algo} on ${config.env} for ${config.steps} steps into ${dir}`);
  }

  const started = performance.now();
  const elapsed = () => priorSeconds + (performance.now() - started) / 1000;
  const progress = new Progress({
    total: config.steps,
    startStep: agent.steps,
    terminal: options.terminal,
    write: options.log ? (text) => options.log!(text.replace(/\n$/, "")) : undefined,
  });
  const onEpisode = (report: EpisodeReport) => {
    metrics.write({ kind: "episode", ...report });
    progress.episode(report.return);
    progress.update(report.step);
  };
  const onUpdate = (report: TrainReport) => {
    for (const [quantity, value] of Object.entries(report)) {
      if (typeof value === "number" && !Number.isFinite(value)) {
        throw new NumericalError(
          `Training stopped at step ${report.step}: the ${quantity} is ${value}; ` +
            `the last good checkpoint is kept in ${dir}`,
        );
      }
    }
    metrics.write({ kind: "train", step: report.step, ...definedFields(report) });
    progress.update(report.step);
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
    return config.stopOnReturn === null || meanReturn < config.stopOnReturn;
  };
  const evaluation = config.evalEvery > 0
    ? {
      env: buildEnv(config, config.evalSeed),
      every: config.evalEvery,
      episodes: config.evalEveryEpisodes,
      seed: config.evalSeed,
    }
    : undefined;

  try {
    while (agent.steps < config.steps && !stopped) {
      const untilCheckpoint = config.checkpointEvery - (agent.steps % config.checkpointEvery);
      const chunk = Math.min(untilCheckpoint, config.steps - agent.steps);
      const result = await agent.learn(env, {
        steps: chunk,
        onEpisode,
        onUpdate,
        onEvaluation,
        evaluation,
      });
      stopped = result.stopped;
      progress.update(agent.steps);
      const state = await agent.getState();
      checkFinite(state, agent.steps, dir);
      const metricsBytes = metrics.flush({ sync: true });
      await saveCheckpoint(dir, {
        header: {
          format: CHECKPOINT_FORMAT,
          configHash: hash,
          step: agent.steps,
          metricsBytes,
          wallTimeSeconds: elapsed(),
          stopped,
          agent: state.json,
        },
        arrays: state.arrays,
      });
    }
  } finally {
    metrics.close();
    progress.finish();
  }
  if (stopped) log(`stopped at step ${agent.steps}: an evaluation reached ${config.stopOnReturn}`);

  const recorder = recordReplay(config.evalSeed);
  const result = await evaluate(buildEnv(config, config.evalSeed), agent, {
    episodes: config.evalEpisodes,
    seed: config.evalSeed,
    observer: recorder.observer,
  });
  const replay = recorder.replay();
  const wallTimeSeconds = elapsed();
  await writeEval(dir, { ...result, wallTimeSeconds, step: agent.steps });
  if (replay) await writeFileAtomic(join(dir, "replay.json"), JSON.stringify(replay) + "\n");
  await writeReport([dir], runFile(dir, "report"));
  log(
    `evaluation over ${result.episodes} episodes: mean return ${result.meanReturn.toFixed(2)}` +
      (result.winRate === undefined ? "" : `, win rate ${(100 * result.winRate).toFixed(1)}%`) +
      `; report: ${runFile(dir, "report")}`,
  );
  return { dir, evaluation: result, wallTimeSeconds };
}

/** The fields that define the run (what a resumed run must agree on), in a fixed order. */
function configIdentity(config: ResolvedConfig): JsonObject {
  return {
    env: config.env,
    algo: config.algo,
    seed: config.seed,
    steps: config.steps,
    backend: config.backend,
    envOptions: config.envOptions,
    agent: config.agent,
    checkpointEvery: config.checkpointEvery,
    evalEpisodes: config.evalEpisodes,
    evalSeed: config.evalSeed,
    evalEvery: config.evalEvery,
    evalEveryEpisodes: config.evalEveryEpisodes,
    stopOnReturn: config.stopOnReturn,
  };
}

/** Refuses to resume a run with a configuration other than the one it was started with. */
async function checkSameConfig(dir: string, config: ResolvedConfig): Promise<void> {
  const saved = await readConfig(dir);
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

/**
 * Loads a finished or interrupted run: its configuration and its agent as of the last
 * checkpoint, on the backend the run asked for (or `backend`). Destroy the returned backend when
 * done with the agent.
 *
 * @throws {UserError} When the directory is not a run, or its checkpoint is missing or damaged.
 */
export async function loadRun(
  dir: string,
  options: { backend?: BackendChoice; log?: (line: string) => void } = {},
): Promise<{ config: TrainConfig; agent: Agent; backend: Backend }> {
  await openRunDir(dir, { requireCheckpoint: true });
  const saved = await readConfig(dir);
  const config = {} as Record<string, unknown>;
  for (const key of Object.keys(configIdentity({} as ResolvedConfig))) {
    if (saved[key] === undefined) {
      throw new RunDirError(`Cannot load ${dir}: its config.json has no "${key}"`);
    }
    config[key] = saved[key];
  }
  const trainConfig = config as unknown as TrainConfig;
  const backend = await openBackend(options.backend ?? trainConfig.backend, options.log);
  const agent = buildAgent(trainConfig, buildEnv(trainConfig, trainConfig.seed), backend);
  const checkpoint = await loadCheckpoint(dir, { finiteOnly: true });
  if (checkpoint.header.format !== CHECKPOINT_FORMAT) {
    throw new RunDirError(`Cannot load ${dir}: its checkpoint is not a training checkpoint`);
  }
  restoreAgent(agent, checkpoint, dir);
  return { config: trainConfig, agent, backend };
}

/**
 * An agent's policy as ONNX bytes: the network whose output's argmax is the greedy action, with
 * what its output means recorded (logits for an actor, Q-values for a Q-network).
 *
 * @throws {TypeError} When the agent has no such network (a dueling head, say, combines its
 * outputs after the network; a table or a bandit has none).
 */
export async function exportPolicy(agent: Agent): Promise<Uint8Array> {
  const network = agent.policyNetwork();
  if (!network) {
    throw new TypeError(
      `Cannot export the ${agent.kind} agent: it has no single network whose output's argmax is the action`,
    );
  }
  if (!(agent instanceof OnPolicyAgent)) return await exportOnnx(network, { output: "q-values" });
  const head = agent.policyHead;
  return await exportOnnx(
    network,
    head instanceof GaussianHead
      ? {
        output: "gaussian-mean",
        policyOutputs: 1,
        actionBounds: [head.low, head.high],
        logStd: head.logStd,
      }
      : { output: "logits", policyOutputs: head.outputSize },
  );
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
function checkFinite(state: AgentState, step: number, dir: string): void {
  for (const array of state.arrays) {
    if (!(array.data instanceof Float32Array)) continue;
    for (let i = 0; i < array.data.length; i++) {
      if (!Number.isFinite(array.data[i])) {
        throw new NumericalError(
          `Training stopped at step ${step}: ${array.name} holds ${array.data[i]}; ` +
            `the last good checkpoint is kept in ${dir}`,
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
