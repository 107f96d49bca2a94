/**
 * The configuration of a training run: its fields, the check of every one of them, and reading it
 * back from a run directory's `config.json`, checked the same way before anything is written.
 *
 * @module
 */

import { BACKEND_CHOICES, type BackendChoice } from "../backend/create.ts";
import { RunDirError, UserError } from "../io/errors.ts";
import { canonicalJson, type JsonObject, type JsonValue } from "../io/json.ts";
import { readConfig } from "../io/run_dir.ts";
import { POPGYM_ENV_NAMES, type PopgymEnvName } from "../envs/popgym/mod.ts";
import {
  ALGO_NAMES,
  type AlgoName,
  type CreateEnvOptions,
  ENV_NAMES,
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
  /** Environment options (Minesweeper's board, say); only those the environment has. */
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
export type ResolvedConfig = Required<TrainConfig>;

/** The fields of a configuration, in the order config.json and checks list them. */
export const TRAIN_CONFIG_KEYS: readonly (keyof TrainConfig)[] = [
  "env",
  "algo",
  "seed",
  "steps",
  "backend",
  "envOptions",
  "agent",
  "checkpointEvery",
  "evalEpisodes",
  "evalSeed",
  "evalEvery",
  "evalEveryEpisodes",
  "stopOnReturn",
];

/**
 * The options each environment takes (`createEnv`'s); any other is refused rather than stored and
 * ignored. Every environment is listed, so a new one cannot be left unchecked.
 */
const ENV_OPTIONS: Record<EnvName, readonly (keyof CreateEnvOptions)[]> = {
  cartpole: [],
  "cartpole-masked": [],
  bandit: [],
  minesweeper: ["width", "height", "mines", "rewards"],
  "minesweeper-memory": ["difficulty", "width", "height", "mines", "observeAction"],
  pendulum: ["pendulumActions", "continuous"],
  "pendulum-masked": ["pendulumActions", "continuous"],
  recommender: ["items", "interestDimension", "historyLength"],
  "mnist-bandit": [],
  ...popgymOptions(),
};

/** POPGym's environments take the previous-action observation. */
function popgymOptions(): Record<PopgymEnvName, readonly (keyof CreateEnvOptions)[]> {
  const options = {} as Record<PopgymEnvName, readonly (keyof CreateEnvOptions)[]>;
  for (const name of POPGYM_ENV_NAMES) options[name] = ["observePreviousAction"];
  return options;
}

/**
 * The environments that take an option, for messages: `envsWithOption("width")` is
 * `["minesweeper", "minesweeper-memory"]`.
 *
 * @param option An option of `createEnv`.
 * @returns The environments' names.
 */
export function envsWithOption(option: string): EnvName[] {
  return (Object.keys(ENV_OPTIONS) as EnvName[]).filter((env) =>
    (ENV_OPTIONS[env] as readonly string[]).includes(option)
  );
}

/**
 * Tells whether an environment takes an option.
 *
 * @param env The environment.
 * @param option An option of `createEnv`.
 * @returns Whether `createEnv(env, { [option]: … })` uses it.
 *
 * @example
 * ```ts
 * import { envTakesOption } from "./run_config.ts";
 * if (envTakesOption("cartpole", "width")) throw new Error("CartPole has no board");
 * if (!envTakesOption("minesweeper", "width")) throw new Error("Minesweeper has one");
 * ```
 */
export function envTakesOption(env: EnvName, option: string): boolean {
  return (ENV_OPTIONS[env] as readonly string[] | undefined)?.includes(option) ?? false;
}

const UINT32 = "an integer in [0, 4294967295]";
const POSITIVE = "a positive integer";

/** What each field must be: a test and its wording. */
const RULES: Record<keyof TrainConfig, { ok: (v: unknown) => boolean; expected: string }> = {
  env: {
    ok: (v) => (ENV_NAMES as readonly unknown[]).includes(v),
    expected: `one of ${ENV_NAMES.join(", ")}`,
  },
  algo: {
    ok: (v) => (ALGO_NAMES as readonly unknown[]).includes(v),
    expected: `one of ${ALGO_NAMES.join(", ")}`,
  },
  seed: { ok: (v) => isInteger(v, 0, 4294967295), expected: UINT32 },
  steps: { ok: (v) => isInteger(v, 1), expected: POSITIVE },
  backend: {
    ok: (v) => (BACKEND_CHOICES as readonly unknown[]).includes(v),
    expected: `one of ${BACKEND_CHOICES.join(", ")}`,
  },
  envOptions: { ok: isObject, expected: "a JSON object" },
  agent: { ok: isObject, expected: "a JSON object" },
  checkpointEvery: { ok: (v) => isInteger(v, 1), expected: POSITIVE },
  evalEpisodes: { ok: (v) => isInteger(v, 1), expected: POSITIVE },
  evalSeed: { ok: (v) => isInteger(v, 0, 4294967295), expected: UINT32 },
  evalEvery: { ok: (v) => isInteger(v, 0), expected: "an integer >= 0 (0: only at the end)" },
  evalEveryEpisodes: { ok: (v) => isInteger(v, 1), expected: POSITIVE },
  stopOnReturn: {
    ok: (v) => v === null || (typeof v === "number" && Number.isFinite(v)),
    expected: "a number, or null",
  },
};

function isInteger(v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean {
  return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
}

function isObject(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The first problem of a configuration, or null: a field that is not what it must be, or an
 * environment option the environment does not take.
 */
function findProblem(config: Record<string, unknown>): { key: string; detail: string } | null {
  for (const key of TRAIN_CONFIG_KEYS) {
    const value = config[key];
    if (!RULES[key].ok(value)) {
      return { key, detail: `${describe(value)}, expected ${RULES[key].expected}` };
    }
  }
  const env = config.env as EnvName;
  for (const option of Object.keys(config.envOptions as JsonObject)) {
    if (!envTakesOption(env, option)) {
      return {
        key: "envOptions",
        detail: `${describe(config.envOptions)}, but ${env} has no option "${option}"`,
      };
    }
  }
  return null;
}

function describe(value: unknown): string {
  return value === undefined ? "undefined" : canonicalJson(value as JsonValue);
}

/** Fills in the optional fields of a configuration with their defaults. */
function withDefaults(config: TrainConfig): ResolvedConfig {
  return {
    ...config,
    evalEvery: config.evalEvery ?? 0,
    evalEveryEpisodes: config.evalEveryEpisodes ?? 10,
    stopOnReturn: config.stopOnReturn ?? null,
  };
}

/**
 * Checks every field of a configuration and fills in the optional ones.
 *
 * @param config The configuration, from a caller.
 * @returns The configuration with its defaults.
 * @throws {UserError} Naming the first field that is not what it must be.
 *
 * @example
 * ```ts
 * import { checkTrainConfig } from "./run_config.ts";
 * const config = {
 *   env: "cartpole", algo: "dqn", seed: 0, steps: 1000, backend: "cpu", envOptions: {},
 *   agent: {}, checkpointEvery: 0, evalEpisodes: 10, evalSeed: 1000,
 * } as const;
 * try {
 *   checkTrainConfig(config);
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error as Error).message.startsWith("Cannot train: checkpointEvery is 0")) throw error;
 * }
 * ```
 */
export function checkTrainConfig(config: TrainConfig): ResolvedConfig {
  const resolved = withDefaults(config);
  const problem = findProblem(resolved as unknown as Record<string, unknown>);
  if (problem) throw new UserError(`Cannot train: ${problem.key} is ${problem.detail}`);
  return resolved;
}

/** The fields that define the run (what a resumed run must agree on), in a fixed order. */
export function configIdentity(config: ResolvedConfig): JsonObject {
  const out: JsonObject = {};
  for (const key of TRAIN_CONFIG_KEYS) out[key] = config[key] as JsonValue;
  return out;
}

/**
 * Reads a run's `config.json` as a training configuration, checking every field as
 * {@linkcode checkTrainConfig} does, so that nothing a user edited (a `checkpointEvery` of 0, a
 * negative seed, an option the environment does not take) reaches the trainer. Every field must be
 * there: the trainer writes them all.
 *
 * @param dir The run directory.
 * @returns The configuration.
 * @throws {RunDirError} When config.json is missing, not JSON, not rnnrl's, or holds a bad field:
 * `Cannot load runs/a: its config.json has "checkpointEvery" 0, expected a positive integer`.
 */
export async function readRunConfig(dir: string): Promise<ResolvedConfig> {
  const saved = await readConfig(dir);
  for (const key of TRAIN_CONFIG_KEYS) {
    if (saved[key] === undefined) {
      throw new RunDirError(`Cannot load ${dir}: its config.json has no "${key}"`);
    }
  }
  const problem = findProblem(saved);
  if (problem) {
    throw new RunDirError(
      `Cannot load ${dir}: its config.json has "${problem.key}" ${problem.detail}`,
    );
  }
  const config = {} as Record<string, unknown>;
  for (const key of TRAIN_CONFIG_KEYS) config[key] = saved[key];
  return config as unknown as ResolvedConfig;
}
