/**
 * The scores of a memory benchmark (POPGym-style: environments × models × seeds) and their table.
 *
 * Each run is scored from its evaluations, their mean returns already normalised to the
 * benchmark's common scale:
 *
 * - `final`: the mean of the last three periodic evaluations (fewer when fewer ran), the score
 *   of the policy training ended with, smoothed over a little evaluation noise;
 * - `mmer`: POPGym's MMER, the max over the periodic evaluations of their mean return
 *   ("max-mean episodic return"). The max of noisy estimates is biased upwards: a run whose
 *   evaluations all estimate the same policy still scores above that policy's true mean, the
 *   more so the fewer episodes an evaluation has and the more evaluations there are;
 * - `eval100`: the mean of the final evaluation (`eval.json`, 100 episodes by default).
 *
 * The table gives, for each environment and model, the mean of a score over seeds with its 95%
 * percentile-bootstrap interval over seeds; for each model the interquartile mean over every
 * environment and seed with its stratified-bootstrap interval (rliable's IQM); and for each
 * recurrent model the probability of improvement over the MLP (cell "none") of its algorithm.
 * Every interval is drawn from a fixed seed, so the same runs give the same table bit for bit.
 *
 * @module
 */

import {
  aggregateScores,
  bootstrapInterval,
  type Interval,
  mean,
  probabilityOfImprovement,
} from "./stats.ts";

/** The periodic evaluations `final` averages. */
export const FINAL_EVALUATIONS = 3;

/**
 * The `final` score of a run: the mean of its last {@linkcode FINAL_EVALUATIONS} periodic
 * evaluations' mean returns (all of them when fewer ran).
 *
 * @param evaluations The evaluations' mean returns, normalised, in step order.
 * @returns The score.
 * @throws {RangeError} When there is no evaluation.
 *
 * @example
 * ```ts
 * import { finalScore } from "./benchmark_scores.ts";
 * if (finalScore([0, 0.5, 0.25, 1]) !== 0.5833333333333334) throw new Error("the last three");
 * if (finalScore([0.5]) !== 0.5) throw new Error("one");
 * ```
 */
export function finalScore(evaluations: readonly number[]): number {
  if (evaluations.length === 0) throw new RangeError("Cannot score a run: it has no evaluations");
  const last = evaluations.slice(-FINAL_EVALUATIONS);
  return last.reduce((sum, v) => sum + v, 0) / last.length;
}

/**
 * The `mmer` score of a run: the largest mean return of its periodic evaluations (POPGym's
 * max-mean episodic return; biased upwards by evaluation noise, see the module documentation).
 *
 * @param evaluations The evaluations' mean returns, normalised.
 * @returns The score.
 * @throws {RangeError} When there is no evaluation.
 *
 * @example
 * ```ts
 * import { maxMeanEpisodicReturn } from "./benchmark_scores.ts";
 * if (maxMeanEpisodicReturn([-0.5, 0.25, 0]) !== 0.25) throw new Error("the best evaluation");
 * ```
 */
export function maxMeanEpisodicReturn(evaluations: readonly number[]): number {
  if (evaluations.length === 0) throw new RangeError("Cannot score a run: it has no evaluations");
  return Math.max(...evaluations);
}

/** The scores of one run. */
export interface BenchmarkRunScores {
  /** The environment. */
  env: string;
  /** The model, `<algo>-<cell>`. */
  model: string;
  /** The seed. */
  seed: number;
  /** The run directory, relative to the benchmark's. */
  dir: string;
  /** Environment steps trained. */
  steps: number;
  /** The number of periodic evaluations. */
  evaluations: number;
  /** The mean of the last three evaluations (normalised). */
  final: number;
  /** The best evaluation's mean return (normalised). */
  mmer: number;
  /** The final evaluation's mean return (normalised). */
  eval100: number;
}

/** The scores {@linkcode BenchmarkRunScores} holds, by their key. */
export type BenchmarkMetric = "final" | "mmer" | "eval100";

/** The metrics of a benchmark's table, in its order. */
export const BENCHMARK_METRICS: readonly BenchmarkMetric[] = ["final", "mmer", "eval100"];

/** One cell of a table: the mean over seeds and its interval, or null without a run. */
export interface BenchmarkCell {
  /** The model. */
  model: string;
  /** The seeds scored. */
  seeds: number;
  /** The mean over seeds with its percentile-bootstrap interval, or null with no seed. */
  interval: Interval | null;
}

/** One metric's table. */
export interface BenchmarkMetricTable {
  /** The metric. */
  metric: BenchmarkMetric;
  /** One row an environment, one cell a model. */
  rows: { env: string; cells: BenchmarkCell[] }[];
  /**
   * Per model, the IQM over environment × seed with its stratified-bootstrap interval, from the
   * seeds that have a run of every environment (`seeds` of them); null when no seed has.
   */
  iqm: BenchmarkCell[];
  /** Per recurrent model with an MLP of its algorithm: P(model > MLP) and its interval. */
  improvement: { model: string; over: string; interval: Interval | null }[];
}

/** Options of {@linkcode benchmarkTables}. */
export interface BenchmarkTableOptions {
  /** The environments, in row order. */
  envs: readonly string[];
  /** The models, in column order. */
  models: readonly string[];
  /** The seed of every bootstrap (default 0). */
  seed?: number;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** The coverage of every interval (default 0.95). */
  confidence?: number;
}

/**
 * The tables of a benchmark, one a metric (see the module documentation).
 *
 * @param runs The scores of the runs; environments or models outside the options are ignored.
 * @param options The rows, the columns and the bootstrap.
 * @returns One table a metric, in {@linkcode BENCHMARK_METRICS}' order.
 *
 * @example
 * ```ts
 * import { benchmarkTables } from "./benchmark_scores.ts";
 * const run = (env: string, model: string, seed: number, score: number) =>
 *   ({ env, model, seed, dir: "", steps: 1, evaluations: 1, final: score, mmer: score, eval100: score });
 * const runs = [1, 2].flatMap((seed) => [
 *   run("a", "ppo-none", seed, 0.1 * seed), run("a", "ppo-gru", seed, 0.5 + 0.1 * seed),
 * ]);
 * const [final] = benchmarkTables(runs, { envs: ["a"], models: ["ppo-none", "ppo-gru"] });
 * if (Math.abs(final.rows[0].cells[1].interval!.estimate - 0.65) > 1e-12) throw new Error("mean");
 * if (final.improvement[0].interval!.estimate !== 1) throw new Error("the GRU wins every pair");
 * ```
 */
export function benchmarkTables(
  runs: readonly BenchmarkRunScores[],
  options: BenchmarkTableOptions,
): BenchmarkMetricTable[] {
  const bootstrap = {
    seed: options.seed ?? 0,
    resamples: options.resamples,
    confidence: options.confidence,
  };
  const scoresOf = (env: string, model: string) =>
    runs.filter((r) => r.env === env && r.model === model).sort((a, b) => a.seed - b.seed);
  return BENCHMARK_METRICS.map((metric) => {
    const rows = options.envs.map((env) => ({
      env,
      cells: options.models.map((model) => {
        const values = scoresOf(env, model).map((r) => r[metric]);
        return {
          model,
          seeds: values.length,
          interval: values.length === 0 ? null : bootstrapInterval(values, mean, bootstrap),
        };
      }),
    }));
    // scores[seed][env] of the seeds that ran every environment.
    const matrix = (model: string): number[][] => {
      const seeds = [...new Set(runs.filter((r) => r.model === model).map((r) => r.seed))]
        .sort((a, b) => a - b);
      const out: number[][] = [];
      for (const seed of seeds) {
        const row = options.envs.map((env) =>
          runs.find((r) => r.env === env && r.model === model && r.seed === seed)?.[metric]
        );
        if (row.every((v) => v !== undefined)) out.push(row as number[]);
      }
      return out;
    };
    const iqm = options.models.map((model) => {
      const scores = matrix(model);
      return {
        model,
        seeds: scores.length,
        interval: scores.length === 0 ? null : aggregateScores(scores, bootstrap).interquartileMean,
      };
    });
    const improvement = options.models.flatMap((model) => {
      const over = mlpOf(model);
      if (over === null || over === model || !options.models.includes(over)) return [];
      const x = matrix(model), y = matrix(over);
      const interval = x.length === 0 || y.length === 0
        ? null
        : probabilityOfImprovement(x, y, bootstrap);
      return [{ model, over, interval }];
    });
    return { metric, rows, iqm, improvement };
  });
}

/** The MLP of a model's algorithm: `ppo-lstm` → `ppo-none`; null for a name without a cell. */
function mlpOf(model: string): string | null {
  const dash = model.lastIndexOf("-");
  return dash < 0 ? null : `${model.slice(0, dash)}-none`;
}

/** How each metric's table is titled, and what it says about the metric. */
export const BENCHMARK_METRIC_TITLES: Readonly<Record<BenchmarkMetric, string>> = {
  final: `Final score: the mean of the last ${FINAL_EVALUATIONS} evaluations during training`,
  mmer: "MMER: the best evaluation's mean return (POPGym's max-mean episodic return; " +
    "biased upwards by evaluation noise)",
  eval100: "Final evaluation: the mean return of eval.json",
};

/**
 * A cell as the tables show it: `mean [lower, upper]` to three decimals, or "—".
 *
 * @param interval The cell's interval.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { formatInterval } from "./benchmark_scores.ts";
 * const text = formatInterval({ estimate: 0.5, lower: 0.25, upper: 0.75 });
 * if (text !== "0.500 [0.250, 0.750]") throw new Error(text);
 * ```
 */
export function formatInterval(interval: Interval | null): string {
  if (interval === null) return "—";
  const f = (x: number) => (Object.is(+x.toFixed(3), -0) ? 0 : x).toFixed(3);
  return `${f(interval.estimate)} [${f(interval.lower)}, ${f(interval.upper)}]`;
}

/** One table as rows of text cells: a header, a row an environment, the IQM, the improvements. */
export function tableRows(table: BenchmarkMetricTable, models: readonly string[]): string[][] {
  const rows = [["environment", ...models]];
  for (const row of table.rows) {
    rows.push([row.env, ...row.cells.map((c) => withSeeds(c, table.rows))]);
  }
  rows.push(["IQM (all envs)", ...table.iqm.map((c) => formatInterval(c.interval))]);
  const overs = [...new Set(table.improvement.map((i) => i.over))];
  for (const over of overs) {
    rows.push([
      `P(improvement over ${over})`,
      ...models.map((model) => {
        const found = table.improvement.find((i) => i.model === model && i.over === over);
        return found ? formatInterval(found.interval) : "";
      }),
    ]);
  }
  return rows;
}

/** A cell's text, with its number of seeds when it has fewer than the fullest cell. */
function withSeeds(cell: BenchmarkCell, rows: BenchmarkMetricTable["rows"]): string {
  const most = Math.max(...rows.flatMap((r) => r.cells.map((c) => c.seeds)));
  const text = formatInterval(cell.interval);
  if (cell.seeds >= most || !cell.interval) return text;
  return `${text} (${cell.seeds} seed${cell.seeds === 1 ? "" : "s"})`;
}

/**
 * The tables as Markdown: a heading, the notes (the budget, the seeds, the statistics), then one
 * section a metric.
 *
 * @param tables The tables, from {@linkcode benchmarkTables}.
 * @param options The heading, the notes and the columns.
 * @returns The Markdown text, ending with a newline.
 */
export function benchmarkMarkdown(
  tables: readonly BenchmarkMetricTable[],
  options: { title: string; notes: readonly string[]; models: readonly string[] },
): string {
  const lines = [`# ${options.title}`, "", ...options.notes.flatMap((n) => [n, ""])];
  for (const table of tables) {
    lines.push(`## ${BENCHMARK_METRIC_TITLES[table.metric]}`, "");
    const [head, ...body] = tableRows(table, options.models);
    const escape = (cell: string) => cell.replaceAll("|", "\\|");
    lines.push(`| ${head.map(escape).join(" | ")} |`);
    lines.push(`| :-- | ${head.slice(1).map(() => "--:").join(" | ")} |`);
    for (const row of body) lines.push(`| ${row.map(escape).join(" | ")} |`);
    lines.push("");
  }
  return lines.join("\n");
}
