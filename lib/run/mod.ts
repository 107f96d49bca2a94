/**
 * The application layer (Deno only): the trainer behind `deno task train` (run directories,
 * checkpoints, resuming, the final evaluation and the report), agents saved to and loaded from
 * files, the presets, the registries of
 * environments and algorithms by their command-line names, and the memory benchmark behind
 * `deno task benchmark` (its plans, its parallel runner and its results).
 *
 * @module
 */

export {
  ALGO_NAMES,
  type AlgoName,
  type BaselineAgent,
  type BaselineOptions,
  type CoreEnvName,
  createAgent,
  createEnv,
  type CreateEnvOptions,
  ENV_NAMES,
  type EnvName,
  prepareEnv,
  runBaseline,
} from "./registry.ts";
export { loadMnistDigits } from "./mnist_digits.ts";
export {
  DEFAULT_TRAIN_STEPS,
  NETWORK_NAMES,
  type NetworkName,
  POPGYM_PPO_PRESET,
  presetEnvOptions,
  presetFor,
  TRAIN_PRESETS,
  type TrainPreset,
} from "./presets.ts";
export { readRunConfig, type ResolvedConfig, type TrainConfig } from "./run_config.ts";
export {
  type LoadedRun,
  loadRun,
  NumericalError,
  train,
  TrainingInterrupted,
  type TrainOptions,
  type TrainSummary,
} from "./trainer.ts";
export { loadAgent, readAgentState, saveAgent } from "./agent_files.ts";
export {
  BENCHMARK_ALGOS,
  BENCHMARK_ENV_NAMES,
  BENCHMARK_FILE,
  BENCHMARK_FORMAT,
  BENCHMARK_NORMALIZATION,
  BENCHMARK_SUITE_NAMES,
  BENCHMARK_SUITES,
  type BenchmarkAlgo,
  type BenchmarkChoices,
  type BenchmarkEnvName,
  type BenchmarkPlan,
  type BenchmarkRun,
  benchmarkRuns,
  type BenchmarkSuite,
  type NormalizationRange,
  normalizedReturn,
  readPlan,
  resolvePlan,
} from "./benchmark.ts";
export {
  type BenchmarkOutcome,
  runBenchmark,
  type RunBenchmarkOptions,
} from "./benchmark_runner.ts";
export {
  BENCHMARK_BOOTSTRAP,
  BENCHMARK_RESULT_FILES,
  type BenchmarkResults,
  summarizeBenchmark,
  type SummaryOutcome,
} from "./benchmark_summary.ts";
