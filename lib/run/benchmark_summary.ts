/**
 * The benchmark's results, from its run directories: every finished run (one with eval.json) is
 * read with lib/report/run_data.ts (its metrics.jsonl through the one parser), its evaluations
 * normalised (`BENCHMARK_NORMALIZATION`) and scored (lib/report/benchmark_scores.ts: `final`,
 * `mmer`, `eval100`), and three files are written into the benchmark's directory:
 *
 * - `results.json`: the plan, each environment and algorithm's budget, the bootstrap's settings,
 *   every run's scores and the tables (each cell's mean over seeds with its interval, each
 *   model's IQM, the probabilities of improvement over the MLP). It holds no time or path outside
 *   the benchmark, so the same runs give the same file, whatever `--jobs` was;
 * - `results.md`: the tables in Markdown, under a header that states the budget and the seeds;
 * - `report.html`: the tables, the aggregate chart and each environment's learning curves.
 *
 * A run not finished yet is left out; its cell counts the seeds it has.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { fileSystemError, RunDirError } from "../io/errors.ts";
import {
  benchmarkMarkdown,
  type BenchmarkMetricTable,
  type BenchmarkRunScores,
  benchmarkTables,
  finalScore,
  maxMeanEpisodicReturn,
} from "../report/benchmark_scores.ts";
import { renderBenchmarkReport } from "../report/benchmark_report.ts";
import type { ModelCurve } from "../report/charts.ts";
import { readRun } from "../report/run_data.ts";
import { curveBand, type CurvePoint } from "../report/stats.ts";
import {
  BENCHMARK_NORMALIZATION,
  benchmarkConfig,
  type BenchmarkPlan,
  type BenchmarkRun,
  benchmarkRuns,
  normalizedReturn,
} from "./benchmark.ts";
import { runStatus } from "./run_pool.ts";
import { isPopgymEnv } from "./registry.ts";

/** The bootstrap of every interval of the results: fixed, so that they can be reproduced. */
export const BENCHMARK_BOOTSTRAP = { confidence: 0.95, resamples: 2000, seed: 0 } as const;

/** The files the summary writes into the benchmark's directory. */
export const BENCHMARK_RESULT_FILES = {
  json: "results.json",
  markdown: "results.md",
  report: "report.html",
} as const;

/** What `results.json` holds. */
export interface BenchmarkResults {
  /** The format of the file. */
  format: "rnnrl-benchmark-results/1";
  /** The plan (benchmark.json). */
  plan: BenchmarkPlan;
  /** Each environment and algorithm's budget and evaluation interval. */
  budgets: { env: string; algo: string; steps: number; evalEvery: number }[];
  /** The bootstrap behind every interval. */
  bootstrap: typeof BENCHMARK_BOOTSTRAP;
  /** The finished runs' scores. */
  runs: BenchmarkRunScores[];
  /** The runs of the plan. */
  planned: number;
  /** One table a metric. */
  tables: BenchmarkMetricTable[];
}

/** A finished run's evaluation curve, normalised, with its scores. */
interface ScoredRun {
  run: BenchmarkRun;
  scores: BenchmarkRunScores;
  curve: CurvePoint[];
}

/** Reads and scores one finished run. */
async function scoreRun(out: string, plan: BenchmarkPlan, run: BenchmarkRun): Promise<ScoredRun> {
  const dir = join(out, run.dir);
  let data;
  try {
    data = await readRun(dir);
  } catch (error) {
    if (error instanceof TypeError) throw new RunDirError(error.message);
    throw fileSystemError(`Cannot read ${dir}`, error);
  }
  const curve = data.evals.map((e) => ({
    step: e.step,
    value: normalizedReturn(run.env, e.meanReturn),
  }));
  if (curve.length === 0) {
    throw new RunDirError(`Cannot score ${dir}: its metrics.jsonl holds no evaluation`);
  }
  const values = curve.map((p) => p.value);
  const scores: BenchmarkRunScores = {
    env: run.env,
    model: run.model,
    seed: run.seed,
    dir: run.dir,
    steps: benchmarkConfig(plan, run).steps,
    evaluations: values.length,
    final: finalScore(values),
    mmer: maxMeanEpisodicReturn(values),
    eval100: normalizedReturn(run.env, data.evalResult!.meanReturn),
  };
  return { run, scores, curve };
}

/** The paragraphs under the results' title: the budget, the seeds, the scale, the statistics. */
function notes(plan: BenchmarkPlan, results: BenchmarkResults): string[] {
  const n = (x: number) => x.toLocaleString("en-US");
  const budgets = [...new Set(results.budgets.map((b) => b.steps))];
  const budget = plan.steps !== null
    ? `${n(plan.steps)} environment steps a run`
    : budgets.length === 1
    ? `${n(budgets[0])} environment steps a run (the presets')`
    : `the presets' budgets (${
      results.budgets.map((b) => `${b.env} ${b.algo}: ${n(b.steps)}`).join(", ")
    } steps)`;
  const intervals = [...new Set(results.budgets.map((b) => b.evalEvery))];
  const scale = plan.envs.map((env) => {
    const r = BENCHMARK_NORMALIZATION[env];
    if (isPopgymEnv(env)) return "POPGym's lie in [−1, 1] and are kept as they are";
    if (r.min === 0 && r.max === 1) return `${env}'s are kept as they are`;
    if (r.min === 0) return `${env}'s are divided by ${n(r.max)}`;
    return `${env}'s are mapped from [${r.min}, ${r.max}] to [0, 1]`;
  });
  const mlps = plan.models.filter((m) => m.endsWith("-none"));
  return [
    `${plan.models.join(", ")} on ${plan.envs.length} environments` +
    (plan.suite ? ` (suite ${plan.suite})` : "") + `: ${budget}, ${plan.seeds.length} ` +
    `seed${plan.seeds.length === 1 ? "" : "s"} ` +
    `(${plan.seeds.join(", ")}); ${results.runs.length} of ${results.planned} runs scored.`,
    `Greedy evaluations every ${intervals.map(n).join(" or ")} steps over ${plan.evalEpisodes} ` +
    `episodes during training, and over ${plan.finalEvalEpisodes} episodes at the end ` +
    "(eval.json); every run is evaluated on the same episodes.",
    `Scores are normalised returns: ${[...new Set(scale)].join("; ")}.`,
    `A cell is the mean over seeds with its ${100 * BENCHMARK_BOOTSTRAP.confidence}% ` +
    `percentile-bootstrap interval over seeds (${BENCHMARK_BOOTSTRAP.resamples} resamples, ` +
    `seed ${BENCHMARK_BOOTSTRAP.seed}). IQM (all envs) is the interquartile mean over every ` +
    "environment and seed, with its stratified-bootstrap interval" +
    (mlps.length
      ? `; P(improvement over ${mlps.join(", ")}) is the probability that a run of the ` +
        "model scores above a run of the MLP of its algorithm on the same environment, " +
        "averaged over environments"
      : "") +
    ".",
  ];
}

/** What {@linkcode summarizeBenchmark} did. */
export interface SummaryOutcome {
  /** The results written to results.json. */
  results: BenchmarkResults;
  /** The files written. */
  files: string[];
}

/**
 * Scores a benchmark's finished runs and writes results.json, results.md and report.html into
 * its directory (see the module documentation).
 *
 * @param out The benchmark's directory.
 * @param plan Its plan.
 * @param options The time the report shows as "generated".
 * @returns The results and the files written.
 * @throws {RunDirError} When no run is finished, or a finished run's files are damaged.
 */
export async function summarizeBenchmark(
  out: string,
  plan: BenchmarkPlan,
  options: { generated?: Date } = {},
): Promise<SummaryOutcome> {
  const runs = benchmarkRuns(plan);
  const scored: ScoredRun[] = [];
  for (const run of runs) {
    if (await runStatus(join(out, run.dir)) !== "finished") continue;
    scored.push(await scoreRun(out, plan, run));
  }
  if (scored.length === 0) {
    throw new RunDirError(`Cannot summarize ${out}: none of its ${runs.length} runs has finished`);
  }
  const budgets = plan.envs.flatMap((env) =>
    plan.algos.map((algo) => {
      const run = runs.find((r) => r.env === env && r.algo === algo)!;
      const config = benchmarkConfig(plan, run);
      return { env, algo, steps: config.steps, evalEvery: config.evalEvery! };
    })
  );
  const tables = benchmarkTables(scored.map((s) => s.scores), {
    envs: plan.envs,
    models: plan.models,
    ...BENCHMARK_BOOTSTRAP,
  });
  const results: BenchmarkResults = {
    format: "rnnrl-benchmark-results/1",
    plan,
    budgets,
    bootstrap: BENCHMARK_BOOTSTRAP,
    runs: scored.map((s) => s.scores),
    planned: runs.length,
    tables,
  };
  const title = `Memory benchmark: ${plan.suite ? `suite ${plan.suite}` : plan.envs.join(", ")}`;
  const paragraphs = notes(plan, results);
  const curves = plan.envs.map((env) => {
    const models: ModelCurve[] = plan.models.flatMap((model) => {
      const seeds = scored.filter((s) => s.run.env === env && s.run.model === model);
      if (seeds.length === 0) return [];
      return [{ model, band: curveBand(seeds.map((s) => s.curve), BENCHMARK_BOOTSTRAP) }];
    });
    return {
      env,
      subtitle: "normalised evaluation return: mean over seeds, 95% bootstrap band over seeds",
      curves: models,
    };
  });
  const html = await renderBenchmarkReport({
    title,
    notes: paragraphs,
    models: plan.models,
    tables,
    curves,
    generated: options.generated,
  });
  const markdown = benchmarkMarkdown(tables, { title, notes: paragraphs, models: plan.models });
  const files: [string, string][] = [
    [BENCHMARK_RESULT_FILES.json, JSON.stringify(results, null, 2) + "\n"],
    [BENCHMARK_RESULT_FILES.markdown, markdown],
    [BENCHMARK_RESULT_FILES.report, html],
  ];
  for (const [file, text] of files) {
    const path = join(out, file);
    try {
      await writeFileAtomic(path, text);
    } catch (error) {
      throw fileSystemError(`Cannot write ${path}`, error);
    }
  }
  return { results, files: files.map(([file]) => join(out, file)) };
}
