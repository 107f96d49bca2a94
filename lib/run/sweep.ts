/**
 * What a sweep is: one environment and algorithm, a grid of `deno task train` flags (every
 * combination of their values is a setting) and a list of seeds, each setting trained with each
 * seed. The plan (`OUT/sweep.json`) records it, and a re-started sweep must agree with it. Each run
 * is `deno task train`'s own: its configuration is built from the train command line
 * (`trainArgs`) by lib/run/train_cli.ts, so a run trained alone with the same flags is the same
 * run, byte for byte. `deno task sweep` (tasks/sweep.ts) runs a plan through lib/run/run_pool.ts;
 * lib/run/sweep_summary.ts writes its results.
 *
 * @module
 */

import { join } from "node:path";
import { BACKEND_CHOICES, type BackendChoice } from "../backend/create.ts";
import { parseCli, parseNumber, UsageError } from "../io/cli.ts";
import { readPlanFile, writePlanFile } from "./plan_dir.ts";
import { ALGO_NAMES, type AlgoName, ENV_NAMES, type EnvName } from "./registry.ts";
import { checkTrainConfig, type ResolvedConfig } from "./run_config.ts";
import { newTrainConfigFromArgs, TRAIN_CLI } from "./train_cli.ts";

/** One flag of a grid and the values it takes, as `deno task train` reads them. */
export interface GridAxis {
  /** The train flag, without its dashes: "learning-rate". */
  flag: string;
  /** Its values, each written as the setting's name shows it ("0.001" for "1e-3"). */
  values: string[];
}

/** What a sweep runs: `OUT/sweep.json` holds it. */
export interface SweepPlan {
  /** The format of the file. */
  format: typeof SWEEP_FORMAT;
  /** The environment of every run. */
  env: EnvName;
  /** The algorithm of every run. */
  algo: AlgoName;
  /** The seeds of every setting. */
  seeds: number[];
  /** The grid; its settings are the cartesian product of its axes (none: the preset alone). */
  grid: GridAxis[];
  /** Environment steps a run, or null for the preset's. */
  steps: number | null;
  /** Steps between evaluations during training, or null for none (train's default). */
  evalEvery: number | null;
  /** Episodes of each evaluation during training, or null for train's default. */
  evalEpisodes: number | null;
  /** Episodes of the final evaluation (eval.json), or null for train's default. */
  finalEvalEpisodes: number | null;
  /** The backend every run trains on. */
  backend: BackendChoice;
  /** The return whose first reaching the results time, or null. */
  threshold: number | null;
}

/** The format of {@linkcode SweepPlan} files. */
export const SWEEP_FORMAT = "rnnrl-sweep/1";

/** The file of the plan in a sweep's directory. */
export const SWEEP_FILE = "sweep.json";

/** What a command line chose; every field left out takes the saved plan's, or the default. */
export type SweepChoices = Partial<Omit<SweepPlan, "format">>;

/** The flags the sweep sets itself, which a grid may not vary. */
const OWN_FLAGS = new Set([
  "env",
  "algo",
  "seed",
  "steps",
  "eval-every",
  "eval-every-episodes",
  "eval-episodes",
  "backend",
  "out",
  "resume",
]);

/** The flag of each field, for messages. */
const FLAGS: Record<keyof SweepChoices, string> = {
  env: "--env",
  algo: "--algo",
  seeds: "--seeds",
  grid: "--grid",
  steps: "--steps",
  evalEvery: "--eval-every",
  evalEpisodes: "--eval-episodes",
  finalEvalEpisodes: "--final-eval-episodes",
  backend: "--backend",
  threshold: "--threshold",
};

/**
 * The seeds of `--seeds`: integers and ranges `a-b` (both ends in), separated by commas.
 *
 * @param text The flag's value, e.g. "1-3,7".
 * @returns The seeds, in the order given.
 * @throws {UsageError} When a part is not a seed or a range, or a seed comes twice.
 *
 * @example
 * ```ts
 * import { parseSeedList } from "./sweep.ts";
 * if (parseSeedList("1-3,7").join() !== "1,2,3,7") throw new Error();
 * ```
 */
export function parseSeedList(text: string): number[] {
  const seed = (s: string) => {
    const n = parseNumber(s);
    return n !== undefined && Number.isSafeInteger(n) && n >= 0 && n <= 4294967295 ? n : undefined;
  };
  const seeds: number[] = [];
  for (const part of text.split(",")) {
    const range = /^([^-]+)-([^-]+)$/.exec(part);
    const [from, to] = range ? [seed(range[1]), seed(range[2])] : [seed(part), seed(part)];
    if (from === undefined || to === undefined || to < from) {
      throw new UsageError(
        `--seeds must be seeds in [0, 4294967295] or ranges like 1-10, separated by commas, ` +
          `got "${text}"`,
      );
    }
    for (let s = from; s <= to; s++) seeds.push(s);
  }
  const repeated = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (repeated !== undefined) throw new UsageError(`--seeds names ${repeated} twice`);
  return seeds;
}

/**
 * One `--grid` axis, `flag=v1,v2,...` (values separated by `;` instead when one holds a comma:
 * `hidden=64,64;128,128`), each value checked as `deno task train` checks its flag.
 *
 * @param text The flag's value.
 * @returns The axis, numbers written as JavaScript writes them.
 * @throws {UsageError} When the flag is not train's, is the sweep's own, or a value is refused.
 *
 * @example
 * ```ts
 * import { parseGridAxis } from "./sweep.ts";
 * const axis = parseGridAxis("learning-rate=1e-3,3e-4");
 * if (axis.flag !== "learning-rate" || axis.values.join() !== "0.001,0.0003") throw new Error();
 * ```
 */
export function parseGridAxis(text: string): GridAxis {
  const equals = text.indexOf("=");
  if (equals <= 0 || equals === text.length - 1) {
    throw new UsageError(`--grid must be FLAG=V1,V2,... (a deno task train flag), got "${text}"`);
  }
  const flag = text.slice(0, equals).replace(/^--/, "");
  const list = text.slice(equals + 1);
  const spec = (TRAIN_CLI.flags as Record<string, { type: string }>)[flag];
  if (OWN_FLAGS.has(flag)) {
    throw new UsageError(`--grid ${text}: --${flag} is set by the sweep itself, not by a grid`);
  }
  if (spec === undefined) {
    // deno task train's own words for an unknown flag, with its did-you-mean.
    prefixed(text, () => parseCli(TRAIN_CLI, [`--${flag}`]));
  }
  const raw = list.split(list.includes(";") ? ";" : ",");
  const values = raw.map((value) => {
    if (spec.type === "boolean") {
      if (value !== "true" && value !== "false") {
        throw new UsageError(`--grid ${text}: --${flag} is a switch: its values are true, false`);
      }
      return value;
    }
    const { flags } = prefixed(text, () => parseCli(TRAIN_CLI, [`--${flag}=${value}`]));
    return String((flags as Record<string, unknown>)[camel(flag)]);
  });
  const repeated = values.find((v, i) => values.indexOf(v) !== i);
  if (repeated !== undefined) throw new UsageError(`--grid ${text} names ${repeated} twice`);
  return { flag, values };
}

/** Runs `fn`, a refusal of train's parser worded after the grid axis that caused it. */
function prefixed<T>(text: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`--grid ${text}: ${error.message}`);
    throw error;
  }
}

function camel(flag: string): string {
  return flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** One setting of a grid: a value for each axis. */
export interface SweepSetting {
  /** Its name and directory: `learning-rate=0.001,hidden=64`, or `preset` with no grid. */
  name: string;
  /** The flag and value of each axis, in the grid's order. */
  values: [flag: string, value: string][];
}

/**
 * The settings of a grid: the cartesian product of its axes, the first axis varying slowest.
 *
 * @param grid The axes; none gives the one setting `preset`.
 * @returns The settings.
 * @throws {UsageError} When an axis comes twice.
 *
 * @example
 * ```ts
 * import { gridSettings } from "./sweep.ts";
 * const names = gridSettings([
 *   { flag: "learning-rate", values: ["0.001", "0.0003"] },
 *   { flag: "hidden", values: ["64", "128"] },
 * ]).map((s) => s.name);
 * if (names[1] !== "learning-rate=0.001,hidden=128" || names.length !== 4) throw new Error();
 * ```
 */
export function gridSettings(grid: readonly GridAxis[]): SweepSetting[] {
  const flags = grid.map((axis) => axis.flag);
  const repeated = flags.find((f, i) => flags.indexOf(f) !== i);
  if (repeated !== undefined) throw new UsageError(`--grid varies ${repeated} twice`);
  let combos: [string, string][][] = [[]];
  for (const axis of grid) {
    combos = combos.flatMap((combo) =>
      axis.values.map((v) => [...combo, [axis.flag, v] as [string, string]])
    );
  }
  return combos.map((values) => ({
    name: values.length === 0
      ? "preset"
      : values.map(([flag, value]) => `${flag}=${value}`).join(",").replace(
        /[^A-Za-z0-9._=,+-]/g,
        "_",
      ),
    values: values as [string, string][],
  }));
}

/** One run of a sweep: a setting and a seed. */
export interface SweepRun {
  /** The setting's name. */
  setting: string;
  /** The seed. */
  seed: number;
  /** The run directory, relative to the sweep's: `<setting>/seed-<seed>`. */
  dir: string;
  /** The `deno task train` arguments of the run (without `--out`). */
  args: string[];
}

/**
 * Every run of a plan, setting by setting, seed by seed.
 *
 * @param plan The plan.
 * @returns The runs.
 */
export function sweepRuns(plan: SweepPlan): SweepRun[] {
  return gridSettings(plan.grid).flatMap((setting) =>
    plan.seeds.map((seed) => ({
      setting: setting.name,
      seed,
      dir: join(setting.name, `seed-${seed}`),
      args: trainArgs(plan, setting, seed),
    }))
  );
}

/**
 * The `deno task train` command line of a run: the environment, algorithm and seed, the setting's
 * flags, then the sweep's budget, evaluations and backend (only those the plan sets).
 *
 * @param plan The plan.
 * @param setting One of its settings.
 * @param seed One of its seeds.
 * @returns The arguments.
 */
export function trainArgs(plan: SweepPlan, setting: SweepSetting, seed: number): string[] {
  const args = ["--env", plan.env, "--algo", plan.algo, "--seed", String(seed)];
  for (const [flag, value] of setting.values) {
    const spec = (TRAIN_CLI.flags as Record<string, { type: string }>)[flag];
    if (spec.type === "boolean") {
      if (value === "true") args.push(`--${flag}`);
    } else args.push(`--${flag}=${value}`);
  }
  const optional: [string, number | null][] = [
    ["--steps", plan.steps],
    ["--eval-every", plan.evalEvery],
    ["--eval-every-episodes", plan.evalEpisodes],
    ["--eval-episodes", plan.finalEvalEpisodes],
  ];
  for (const [flag, value] of optional) if (value !== null) args.push(flag, String(value));
  args.push("--backend", plan.backend);
  return args;
}

/**
 * Builds and checks every run's configuration before anything trains, as `deno task train` would
 * for its command line: a mistake is named once, worded as train words it.
 *
 * @param plan The plan.
 * @returns Each run with its configuration, in {@linkcode sweepRuns}' order.
 * @throws {UserError} Naming the first problem.
 */
export function checkSweepPlan(plan: SweepPlan): { run: SweepRun; config: ResolvedConfig }[] {
  return sweepRuns(plan).map((run) => {
    let config: ResolvedConfig;
    try {
      config = checkTrainConfig(newTrainConfigFromArgs(run.args).config);
    } catch (error) {
      if (error instanceof UsageError && plan.grid.length > 0) {
        throw new UsageError(`setting ${run.setting}: ${error.message}`);
      }
      throw error;
    }
    if (config.evalEvery > config.steps) {
      throw new UsageError(
        `--eval-every ${config.evalEvery} is more than the ${config.steps} steps of a run: ` +
          "no evaluation would run during training",
      );
    }
    return { run, config };
  });
}

/** The defaults of a new plan. */
const DEFAULTS = {
  env: "cartpole",
  algo: "dqn",
  seeds: [1, 2, 3],
  backend: "cpu",
} as const;

/**
 * The plan of a sweep: the choices of the command line over the saved plan of a re-started sweep,
 * or over the defaults (cartpole, dqn, seeds 1, 2, 3, the preset alone, train's budget and
 * evaluations, the CPU).
 *
 * @param choices What the command line chose (an empty grid counts as not chosen).
 * @param saved The plan of the sweep being continued, if any.
 * @param out The sweep's directory, for messages.
 * @returns The plan.
 * @throws {UsageError} When a choice differs from the saved plan, naming the first that does.
 *
 * @example
 * ```ts
 * import { resolveSweepPlan } from "./sweep.ts";
 * const plan = resolveSweepPlan({ steps: 600 });
 * try {
 *   resolveSweepPlan({ steps: 800 }, plan, "runs/s");
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!/--steps 600, not --steps 800/.test((error as Error).message)) throw error;
 * }
 * ```
 */
export function resolveSweepPlan(
  choices: SweepChoices,
  saved?: SweepPlan,
  out = "the sweep directory",
): SweepPlan {
  const given: SweepChoices = { ...choices };
  if (given.grid?.length === 0) delete given.grid;
  if (saved) {
    for (const key of Object.keys(FLAGS) as (keyof SweepChoices)[]) {
      if (given[key] === undefined) continue;
      if (JSON.stringify(given[key]) !== JSON.stringify(saved[key])) {
        throw new UsageError(
          `Cannot continue the sweep in ${out}: it was planned with ${
            describe(key, saved[key])
          }, ` +
            `not ${describe(key, given[key])} (give the same flags, or another --out)`,
        );
      }
    }
    return saved;
  }
  return {
    format: SWEEP_FORMAT,
    env: given.env ?? DEFAULTS.env,
    algo: given.algo ?? DEFAULTS.algo,
    seeds: given.seeds ?? [...DEFAULTS.seeds],
    grid: given.grid ?? [],
    steps: given.steps ?? null,
    evalEvery: given.evalEvery ?? null,
    evalEpisodes: given.evalEpisodes ?? null,
    finalEvalEpisodes: given.finalEvalEpisodes ?? null,
    backend: given.backend ?? DEFAULTS.backend,
    threshold: given.threshold ?? null,
  };
}

/** A field's value as its flags would give it: "--steps 600", "--grid a=1,2 --grid b=3". */
function describe(key: keyof SweepChoices, value: unknown): string {
  const flag = FLAGS[key];
  if (value === null || (Array.isArray(value) && value.length === 0)) return `no ${flag}`;
  if (key === "grid") {
    return (value as GridAxis[]).map((axis) =>
      `--grid ${axis.flag}=${
        axis.values.join(axis.values.some((v) => v.includes(",")) ? ";" : ",")
      }`
    ).join(" ");
  }
  return `${flag} ${Array.isArray(value) ? value.join(",") : String(value)}`;
}

/**
 * Reads a sweep's plan, or undefined when the directory holds none (a new sweep).
 *
 * @param out The sweep's directory.
 * @returns The plan, checked.
 * @throws {RunDirError} When sweep.json is not a plan (damaged, or of another version).
 */
export async function readSweepPlan(out: string): Promise<SweepPlan | undefined> {
  return await readPlanFile<SweepPlan>(out, SWEEP_FILE, planProblem);
}

/**
 * Writes a plan to `OUT/sweep.json`, atomically.
 *
 * @param out The sweep's directory.
 * @param plan The plan.
 */
export async function writeSweepPlan(out: string, plan: SweepPlan): Promise<void> {
  await writePlanFile(out, SWEEP_FILE, plan);
}

/** What is wrong with a parsed sweep.json, or null. */
function planProblem(value: unknown): string | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return "it is not a JSON object";
  }
  const plan = value as Record<string, unknown>;
  if (plan.format !== SWEEP_FORMAT) {
    return `its format is ${JSON.stringify(plan.format)}, not "${SWEEP_FORMAT}"`;
  }
  const count = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  const orNull = (v: unknown, min: number) => v === null || count(v, min);
  const checks: [string, boolean][] = [
    ["env", ENV_NAMES.includes(plan.env as EnvName)],
    ["algo", ALGO_NAMES.includes(plan.algo as AlgoName)],
    [
      "seeds",
      Array.isArray(plan.seeds) && plan.seeds.length > 0 &&
      plan.seeds.every((s) => count(s, 0) && (s as number) <= 4294967295),
    ],
    [
      "grid",
      Array.isArray(plan.grid) &&
      plan.grid.every((axis) =>
        axis !== null && typeof axis === "object" && typeof axis.flag === "string" &&
        Array.isArray(axis.values) && axis.values.length > 0 &&
        axis.values.every((v: unknown) => typeof v === "string")
      ),
    ],
    ["steps", orNull(plan.steps, 1)],
    ["evalEvery", orNull(plan.evalEvery, 1)],
    ["evalEpisodes", orNull(plan.evalEpisodes, 1)],
    ["finalEvalEpisodes", orNull(plan.finalEvalEpisodes, 1)],
    ["backend", BACKEND_CHOICES.includes(plan.backend as BackendChoice)],
    ["threshold", plan.threshold === null || Number.isFinite(plan.threshold)],
  ];
  for (const [key, ok] of checks) if (!ok) return `its "${key}" is not what a plan holds`;
  return null;
}
