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
import { createEnv, type CreateEnvOptions, type EnvName } from "../envs/baselines.ts";
import type { Env } from "../envs/env.ts";
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
import { writeReport } from "../report/html.ts";
import type { Agent, AgentState, TrainReport } from "./agent.ts";
import { evaluatePolicy, type EvaluationPolicy, type EvaluationResult } from "./evaluation.ts";
import { type AlgoName, createAgent } from "./presets.ts";

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

const CHECKPOINT_FORMAT = "rnnrl-train/1";

/**
 * Runs (or resumes) a training run and writes its directory.
 *
 * @throws {UserError} For a bad configuration, a directory that cannot be used, or a damaged
 * checkpoint; nothing saved is overwritten.
 * @throws {NumericalError} When training produced NaN or infinity; the last good checkpoint stays.
 */
export async function train(
  config: TrainConfig,
  options: TrainOptions = {},
): Promise<TrainSummary> {
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
  config: TrainConfig,
  options: TrainOptions,
): Promise<TrainSummary> {
  const log = options.log ?? ((line: string) => console.error(line));
  const env = buildEnv(config, config.seed);
  const agent = buildAgent(config, env, backend);
  const hash = await configHash(configIdentity(config) as JsonValue);

  let dir: string;
  let metrics: MetricsWriter;
  let priorSeconds = 0;
  if (options.resume) {
    if (!options.out) throw new RunDirError("Cannot resume: --resume needs --out runs/NAME");
    dir = await openRunDir(options.out);
    await checkSameConfig(dir, config);
    if (await hasCheckpoint(dir)) {
      const checkpoint = await loadCheckpoint(dir, { finiteOnly: true });
      const header = checkpoint.header;
      if (header.format !== CHECKPOINT_FORMAT || header.configHash !== hash) {
        throw new RunDirError(
          `Cannot resume ${dir}: its checkpoint was written for another configuration`,
        );
      }
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
  const onEpisode = (report: { step: number; episode: number; return: number; length: number }) => {
    metrics.write({ kind: "episode", ...report });
    progress.episode(report.return);
    progress.update(report.step);
  };
  const onTrain = (report: TrainReport) => {
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

  try {
    while (agent.steps < config.steps) {
      const untilCheckpoint = config.checkpointEvery - (agent.steps % config.checkpointEvery);
      const chunk = Math.min(untilCheckpoint, config.steps - agent.steps);
      await agent.learn(env, { steps: chunk, onEpisode, onTrain });
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
          agent: state.json,
        },
        arrays: state.arrays,
      });
    }
  } finally {
    metrics.close();
    progress.finish();
  }

  const evalEnv = buildEnv(config, config.evalSeed);
  const { result, replay } = await evaluatePolicy(evalEnv, agentPolicy(agent), {
    episodes: config.evalEpisodes,
    seed: config.evalSeed,
    record: true,
  });
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
function configIdentity(config: TrainConfig): JsonObject {
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
  };
}

/** Refuses to resume a run with a configuration other than the one it was started with. */
async function checkSameConfig(dir: string, config: TrainConfig): Promise<void> {
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
  for (const key of Object.keys(configIdentity({} as TrainConfig))) {
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

/** The environment of a run, seeded (for evaluation, say). */
export function createRunEnv(config: TrainConfig, seed: number): Env {
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

function buildEnv(config: TrainConfig, seed: number): Env {
  return fromUser(() =>
    createEnv(config.env, { ...(config.envOptions as CreateEnvOptions), seed })
  );
}

function buildAgent(config: TrainConfig, env: Env, backend: Backend): Agent {
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
  const options = (agent as { options?: unknown }).options;
  return options === undefined ? null : JSON.parse(JSON.stringify(options));
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

/** Acts greedily with an agent, carrying its recurrent state through each episode. */
export function agentPolicy(agent: Agent): EvaluationPolicy {
  let state = agent.initialState();
  return {
    reset: () => {
      state = agent.initialState();
    },
    act: async (observation: Float32Array, mask?: Uint8Array) => {
      const result = await agent.act(observation, state, mask);
      state = result.state;
      return result.action;
    },
  };
}
