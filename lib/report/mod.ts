/**
 * Reports of training runs: one self-contained HTML file per report, charts made with Vega-Lite
 * and rendered to inline SVG in Deno, so they show offline and without JavaScript.
 *
 * @example
 * ```ts ignore
 * import { writeReport } from "@rnnrl/rnnrl/report";
 * await writeReport(["runs/cartpole-dqn"], "runs/cartpole-dqn/report.html");
 * ```
 *
 * @module
 */

export { renderReport, renderTestbedReport, writeReport, writeTestbedReport } from "./html.ts";
export type { ReportOptions, TestbedReportOptions } from "./html.ts";
export {
  benchmarkCurveSpec,
  compareRunsSpec,
  cumulativeRegretSpec,
  episodeReturnSpec,
  evalCurveSpec,
  evalReturnsSpec,
  intervalChartSpec,
  loggedReturnSpec,
  renderSvg,
  testbedSpecs,
  trainFieldSpec,
  winRateSpec,
  withinProblemSpec,
} from "./charts.ts";
export type {
  EpisodeChartOptions,
  IntervalRow,
  ModelCurve,
  RenderSvgOptions,
  RunGroup,
  VegaLiteSpec,
} from "./charts.ts";
export type {
  BenchmarkCell,
  BenchmarkMetric,
  BenchmarkMetricTable,
  BenchmarkRunScores,
} from "./benchmark_scores.ts";
export { cartPoleReplaySvg, minesweeperReplaySvg } from "./replay.ts";
export { recordReplay, type ReplayRecorder } from "./recorder.ts";
export type { ReplayDrawing } from "./replay.ts";
export {
  aggregateScores,
  bootstrapInterval,
  curveBand,
  interquartileMean,
  mean,
  median,
  normalizeScores,
  optimalityGap,
  performanceProfile,
  probabilityOfImprovement,
  stepsToThreshold,
  stratifiedBootstrapInterval,
} from "./stats.ts";
export type {
  AggregateOptions,
  AggregateScores,
  BandPoint,
  BootstrapOptions,
  CurveBandOptions,
  CurvePoint,
  Interval,
  ProfilePoint,
  ScoreMatrix,
  ScoreRange,
  Scores,
  StepsToThresholdOptions,
} from "./stats.ts";
export { parseMetrics, parseReplay, parseTestbed, readRun, readTestbed } from "./run_data.ts";
export type {
  CartPoleReplay,
  EpisodeEntry,
  EvalRecord,
  MinesweeperFrame,
  MinesweeperReplay,
  ParsedMetrics,
  ReadRunOptions,
  Replay,
  RunData,
  Testbed,
  TrainRecord,
  WallTime,
} from "./run_data.ts";
