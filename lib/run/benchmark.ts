/**
 * The memory benchmark's plan, after POPGym's (Morad et al., ICLR 2023): suites of memory tasks,
 * the models compared on them (an algorithm with a recurrent cell, or with none: the MLP), the
 * seeds and the budget; how each run of the plan — an environment, a model and a seed — becomes
 * a training configuration and a run directory `OUT/<env>/<algo>-<cell>/seed-<s>`; the plan's
 * record `OUT/benchmark.json`, which a re-started benchmark must agree with; and the
 * normalisation that puts every environment's returns on one scale, so that scores can be
 * pooled across environments.
 *
 * `deno task benchmark` (tasks/benchmark.ts) runs a plan; lib/run/benchmark_runner.ts trains its
 * runs in parallel and lib/run/benchmark_summary.ts scores them.
 *
 * @module
 */

import { join } from "node:path";
import { BACKEND_CHOICES, type BackendChoice } from "../backend/create.ts";
import { POPGYM_ENV_NAMES, type PopgymEnvName } from "../envs/popgym/mod.ts";
import { UsageError } from "../io/errors.ts";
import type { JsonObject } from "../io/json.ts";
import { POLICY_CELLS, type PolicyCell } from "../rl/actor_critic.ts";
import { readPlanFile, writePlanFile } from "./plan_dir.ts";
import { presetEnvOptions, presetFor } from "./presets.ts";
import type { TrainConfig } from "./run_config.ts";

/** The environments the benchmark knows: POPGym's 33, and rnnrl's own two memory tasks. */
export type BenchmarkEnvName = PopgymEnvName | "cartpole-masked" | "minesweeper-memory";

/** A score range: a return `r` scores `(r − min) / (max − min)`. */
export interface NormalizationRange {
  /** The return that scores 0. */
  min: number;
  /** The return that scores 1. */
  max: number;
}

const IDENTITY: NormalizationRange = { min: 0, max: 1 };

/**
 * How each environment's returns are normalised before they are compared or pooled: a return `r`
 * scores `(r − min) / (max − min)`. POPGym scales every game's rewards so that a return lies in
 * [−1, 1] (1: a perfect memory), so its games keep their returns (identity). CartPole without
 * velocities pays 1 a step for up to 500 steps: its score is the return divided by 500, in
 * [0, 1]. minesweeper-memory's rewards are already fractions of 1 (identity). An environment
 * outside this table cannot be benchmarked: its scores would not be comparable.
 */
export const BENCHMARK_NORMALIZATION: Readonly<Record<BenchmarkEnvName, NormalizationRange>> = {
  ...Object.fromEntries(POPGYM_ENV_NAMES.map((name) => [name, IDENTITY])) as Record<
    PopgymEnvName,
    NormalizationRange
  >,
  "cartpole-masked": { min: 0, max: 500 },
  "minesweeper-memory": IDENTITY,
};

/** The environments of {@linkcode BENCHMARK_NORMALIZATION}, in its order. */
export const BENCHMARK_ENV_NAMES: readonly BenchmarkEnvName[] = Object.keys(
  BENCHMARK_NORMALIZATION,
) as BenchmarkEnvName[];

/**
 * A return as a benchmark score (see {@linkcode BENCHMARK_NORMALIZATION}).
 *
 * @param env The environment.
 * @param value A return (an episode's, or a mean of episodes').
 * @returns The normalised score.
 *
 * @example
 * ```ts
 * import { normalizedReturn } from "@rnnrl/rnnrl/run";
 * if (normalizedReturn("cartpole-masked", 250) !== 0.5) throw new Error("a half of 500");
 * if (normalizedReturn("repeat-first-easy", -0.25) !== -0.25) throw new Error("as it is");
 * ```
 */
export function normalizedReturn(env: BenchmarkEnvName, value: number): number {
  const range = BENCHMARK_NORMALIZATION[env];
  if (!range) throw new RangeError(`Cannot normalise a return of "${env}": it has no range`);
  return (value - range.min) / (range.max - range.min);
}

/** The suites of {@linkcode BENCHMARK_SUITES}. */
export type BenchmarkSuite = "easy" | "medium" | "hard" | "popgym-easy" | "memory";

/** The suites, in the order help texts list them. */
export const BENCHMARK_SUITE_NAMES: readonly BenchmarkSuite[] = [
  "easy",
  "medium",
  "hard",
  "popgym-easy",
  "memory",
];

/**
 * The POPGym games of the `easy`, `medium` and `hard` suites: the eight that train in minutes on
 * a CPU (Battleship, Concentration and MultiarmedBandit are left to `popgym-easy`).
 */
const SUITE_GAMES = [
  "repeat-previous",
  "repeat-first",
  "count-recall",
  "autoencode",
  "stateless-cartpole",
  "noisy-stateless-cartpole",
  "higher-lower",
  "minesweeper",
] as const;

const atLevel = (level: string) =>
  SUITE_GAMES.map((game) => `${game}-${level}` as PopgymEnvName) as readonly BenchmarkEnvName[];

/**
 * The environments of each suite: `easy`, `medium` and `hard` are eight POPGym games (repeat
 * previous, repeat first, count recall, autoencode, stateless and noisy stateless CartPole,
 * higher/lower and minesweeper) at that level; `popgym-easy` is all eleven POPGym games at easy;
 * `memory` is rnnrl's own memory tasks, CartPole without velocities and POPGym-style minesweeper
 * on the board its presets use.
 */
export const BENCHMARK_SUITES: Readonly<Record<BenchmarkSuite, readonly BenchmarkEnvName[]>> = {
  easy: atLevel("easy"),
  medium: atLevel("medium"),
  hard: atLevel("hard"),
  "popgym-easy": POPGYM_ENV_NAMES.filter((name) => name.endsWith("-easy")),
  memory: ["cartpole-masked", "minesweeper-memory"],
};

/** The algorithms a benchmark compares: those whose policy takes any cell, or none. */
export type BenchmarkAlgo = "ppo" | "a2c" | "reinforce";

/** The algorithms of {@linkcode BenchmarkAlgo}. */
export const BENCHMARK_ALGOS: readonly BenchmarkAlgo[] = ["ppo", "a2c", "reinforce"];

/** What a benchmark runs: `OUT/benchmark.json` holds it. */
export interface BenchmarkPlan {
  /** The format of the file. */
  format: typeof BENCHMARK_FORMAT;
  /** The suite, or null when `--envs` named the environments. */
  suite: BenchmarkSuite | null;
  /** The environments, in the table's order. */
  envs: BenchmarkEnvName[];
  /** The algorithms. */
  algos: BenchmarkAlgo[];
  /** The cells, each trained with every algorithm ("none": the MLP). */
  cells: PolicyCell[];
  /** The models, `<algo>-<cell>`, algorithm by algorithm (derived from algos and cells). */
  models: string[];
  /** The seeds of every environment and model. */
  seeds: number[];
  /** Environment steps a run, or null for each environment and algorithm's preset budget. */
  steps: number | null;
  /** Steps between evaluations during training, or null for a twentieth of the steps. */
  evalEvery: number | null;
  /** Episodes of each evaluation during training. */
  evalEpisodes: number;
  /** Episodes of the final evaluation, `eval.json`. */
  finalEvalEpisodes: number;
  /** The backend every run trains on. */
  backend: BackendChoice;
}

/** The format of {@linkcode BenchmarkPlan} files. */
export const BENCHMARK_FORMAT = "rnnrl-benchmark/1";

/** The file of the plan in a benchmark's directory. */
export const BENCHMARK_FILE = "benchmark.json";

/** What a command line chose; every field left out takes the saved plan's, or the default. */
export type BenchmarkChoices = Partial<
  Pick<
    BenchmarkPlan,
    | "suite"
    | "envs"
    | "algos"
    | "cells"
    | "seeds"
    | "steps"
    | "evalEvery"
    | "evalEpisodes"
    | "finalEvalEpisodes"
    | "backend"
  >
>;

/** The defaults of a new plan. */
const DEFAULTS = {
  suite: "easy",
  algos: ["ppo"],
  cells: ["none", "lstm", "gru"],
  seeds: [1, 2, 3],
  steps: null,
  evalEvery: null,
  evalEpisodes: 20,
  finalEvalEpisodes: 100,
  backend: "cpu",
} as const;

/** The seed of every run's evaluation episodes, so that all are evaluated on the same episodes. */
const EVAL_SEED = 1000;

/** The flag of each field, for messages. */
const FLAGS: Record<keyof BenchmarkChoices, string> = {
  suite: "--suite",
  envs: "--envs",
  algos: "--algos",
  cells: "--cells",
  seeds: "--seeds",
  steps: "--steps",
  evalEvery: "--eval-every",
  evalEpisodes: "--eval-episodes",
  finalEvalEpisodes: "--final-eval-episodes",
  backend: "--backend",
};

/** A model's name: the algorithm and the cell, `ppo-lstm`. */
export function modelName(algo: BenchmarkAlgo, cell: PolicyCell): string {
  return `${algo}-${cell}`;
}

/**
 * The plan of a benchmark: the choices of the command line over the saved plan of a re-started
 * benchmark, or over the defaults (suite easy, PPO, cells none, lstm and gru, seeds 1, 2, 3, the
 * presets' budgets, an evaluation every twentieth of the budget over 20 episodes, a final one
 * over 100, the CPU).
 *
 * @param choices What the command line chose.
 * @param saved The plan of the benchmark being continued, if any.
 * @param out The benchmark's directory, for messages.
 * @returns The plan.
 * @throws {UsageError} When a choice differs from the saved plan, naming the first that does.
 *
 * @example
 * ```ts
 * import { resolvePlan } from "@rnnrl/rnnrl/run";
 * const plan = resolvePlan({ envs: ["repeat-first-easy"], seeds: [1, 2] });
 * if (plan.models.join() !== "ppo-none,ppo-lstm,ppo-gru" || plan.suite !== null) throw new Error();
 * try {
 *   resolvePlan({ steps: 800 }, { ...plan, steps: 600 }, "runs/b");
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!/--steps 600, not --steps 800/.test((error as Error).message)) throw error;
 * }
 * ```
 */
export function resolvePlan(
  choices: BenchmarkChoices,
  saved?: BenchmarkPlan,
  out = "the benchmark directory",
): BenchmarkPlan {
  if (choices.suite !== undefined && choices.envs !== undefined && choices.suite !== null) {
    throw new UsageError("--envs replaces the suite's environments: give --suite or --envs");
  }
  const given: BenchmarkChoices = { ...choices };
  if (given.envs !== undefined) given.suite = null;
  else if (given.suite) given.envs = [...BENCHMARK_SUITES[given.suite]];
  if (saved) {
    for (const key of Object.keys(FLAGS) as (keyof BenchmarkChoices)[]) {
      if (given[key] === undefined) continue;
      if (JSON.stringify(given[key]) !== JSON.stringify(saved[key])) {
        // A suite against environments named by --envs: say which environments.
        const as = (plan: BenchmarkChoices) =>
          key === "suite" && plan.suite === null
            ? describe("envs", plan.envs)
            : describe(key, plan[key]);
        throw new UsageError(
          `Cannot continue the benchmark in ${out}: it was planned with ${as(saved)}, ` +
            `not ${as(given)} (give the same flags, or another --out)`,
        );
      }
    }
    return saved;
  }
  const suite = given.suite === undefined ? DEFAULTS.suite : given.suite;
  const algos = given.algos ?? [...DEFAULTS.algos];
  const cells = given.cells ?? [...DEFAULTS.cells];
  return {
    format: BENCHMARK_FORMAT,
    suite,
    envs: given.envs ?? [...BENCHMARK_SUITES[suite ?? DEFAULTS.suite]],
    algos,
    cells,
    models: algos.flatMap((algo) => cells.map((cell) => modelName(algo, cell))),
    seeds: given.seeds ?? [...DEFAULTS.seeds],
    steps: given.steps === undefined ? DEFAULTS.steps : given.steps,
    evalEvery: given.evalEvery === undefined ? DEFAULTS.evalEvery : given.evalEvery,
    evalEpisodes: given.evalEpisodes ?? DEFAULTS.evalEpisodes,
    finalEvalEpisodes: given.finalEvalEpisodes ?? DEFAULTS.finalEvalEpisodes,
    backend: given.backend ?? DEFAULTS.backend,
  };
}

/** A field's value as its flag would give it: "--steps 600", "--envs a,b", "no --steps". */
function describe(key: keyof BenchmarkChoices, value: unknown): string {
  const flag = FLAGS[key];
  if (value === null) return `no ${flag}`;
  return `${flag} ${Array.isArray(value) ? value.join(",") : String(value)}`;
}

/** One run of a plan: an environment, a model and a seed. */
export interface BenchmarkRun {
  /** The environment. */
  env: BenchmarkEnvName;
  /** The algorithm. */
  algo: BenchmarkAlgo;
  /** The cell ("none": the MLP). */
  cell: PolicyCell;
  /** The model's name, `<algo>-<cell>`. */
  model: string;
  /** The seed. */
  seed: number;
  /** The run directory, relative to the benchmark's: `<env>/<model>/seed-<seed>`. */
  dir: string;
}

/**
 * Every run of a plan, environment by environment, model by model, seed by seed.
 *
 * @param plan The plan.
 * @returns The runs.
 */
export function benchmarkRuns(plan: BenchmarkPlan): BenchmarkRun[] {
  const runs: BenchmarkRun[] = [];
  for (const env of plan.envs) {
    for (const algo of plan.algos) {
      for (const cell of plan.cells) {
        const model = modelName(algo, cell);
        for (const seed of plan.seeds) {
          runs.push({ env, algo, cell, model, seed, dir: join(env, model, `seed-${seed}`) });
        }
      }
    }
  }
  return runs;
}

/**
 * The training configuration of a run: the preset of its environment and algorithm
 * (`presetFor`, with the environment options its presets are tuned for), the model's cell, the
 * plan's budget (or the preset's), an evaluation every `evalEvery` steps (or a twentieth of the
 * budget, rounded) over `evalEpisodes` episodes, and a final one over `finalEvalEpisodes`, all
 * runs on the same evaluation episodes.
 *
 * @param plan The plan.
 * @param run One of its runs.
 * @returns What `train` takes.
 */
export function benchmarkConfig(plan: BenchmarkPlan, run: BenchmarkRun): TrainConfig {
  const preset = presetFor(run.env, run.algo);
  const steps = plan.steps ?? preset.steps;
  return {
    env: run.env,
    algo: run.algo,
    seed: run.seed,
    steps,
    backend: plan.backend,
    envOptions: presetEnvOptions(run.env, run.algo),
    agent: { ...preset.options, cell: run.cell },
    checkpointEvery: preset.checkpointEvery ?? 10_000,
    evalEpisodes: plan.finalEvalEpisodes,
    evalSeed: EVAL_SEED,
    evalEvery: plan.evalEvery ?? Math.max(1, Math.round(steps / 20)),
    evalEveryEpisodes: plan.evalEpisodes,
    stopOnReturn: null,
  };
}

/**
 * Reads a benchmark's plan, or undefined when the directory holds none (a new benchmark).
 *
 * @param out The benchmark's directory.
 * @returns The plan, checked.
 * @throws {RunDirError} When benchmark.json is not a plan (damaged, or of another version).
 */
export async function readPlan(out: string): Promise<BenchmarkPlan | undefined> {
  return await readPlanFile<BenchmarkPlan>(out, BENCHMARK_FILE, planProblem);
}

/** Writes a plan to `OUT/benchmark.json`, atomically. */
export async function writePlan(out: string, plan: BenchmarkPlan): Promise<void> {
  await writePlanFile(out, BENCHMARK_FILE, plan);
}

/** What is wrong with a parsed benchmark.json, or null. */
function planProblem(value: unknown): string | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return "it is not a JSON object";
  }
  const plan = value as JsonObject;
  if (plan.format !== BENCHMARK_FORMAT) {
    return `its format is ${JSON.stringify(plan.format)}, not "${BENCHMARK_FORMAT}"`;
  }
  const listOf = (key: string, allowed: readonly unknown[]) =>
    Array.isArray(plan[key]) && (plan[key] as unknown[]).length > 0 &&
    (plan[key] as unknown[]).every((v) => allowed.includes(v));
  const count = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  const checks: [string, boolean][] = [
    ["suite", plan.suite === null || BENCHMARK_SUITE_NAMES.includes(plan.suite as BenchmarkSuite)],
    ["envs", listOf("envs", BENCHMARK_ENV_NAMES)],
    ["algos", listOf("algos", BENCHMARK_ALGOS)],
    ["cells", listOf("cells", POLICY_CELLS)],
    [
      "seeds",
      Array.isArray(plan.seeds) && plan.seeds.length > 0 &&
      plan.seeds.every((s) => count(s, 0) && (s as number) <= 4294967295),
    ],
    ["steps", plan.steps === null || count(plan.steps, 1)],
    ["evalEvery", plan.evalEvery === null || count(plan.evalEvery, 1)],
    ["evalEpisodes", count(plan.evalEpisodes, 1)],
    ["finalEvalEpisodes", count(plan.finalEvalEpisodes, 1)],
    ["backend", BACKEND_CHOICES.includes(plan.backend as BackendChoice)],
  ];
  for (const [key, ok] of checks) if (!ok) return `its "${key}" is not what a plan holds`;
  const models = (plan.algos as BenchmarkAlgo[]).flatMap((algo) =>
    (plan.cells as PolicyCell[]).map((cell) => modelName(algo, cell))
  );
  if (JSON.stringify(models) !== JSON.stringify(plan.models)) {
    return `its "models" are not its algos with its cells`;
  }
  return null;
}
