/**
 * A sweep's results, from its run directories: every finished run (one with eval.json) is read
 * with lib/report/run_data.ts, its learning curve taken (its periodic evaluations' mean returns,
 * or its episodes' returns when the sweep ran none), and lib/report/sweep_scores.ts and
 * sweep_report.ts turn them into three files in the sweep's directory:
 *
 * - `results.json`: the plan, the bootstrap's settings, every run's final score and each setting's
 *   statistics; it holds no time or path outside the sweep, so the same runs give the same file;
 * - `results.md`: the table in Markdown, under notes that say what it shows;
 * - `report.html`: the table, the IQM and performance-profile charts and the learning curves.
 *
 * A run not finished yet is left out; its setting counts the seeds it has.
 *
 * @module
 */

import { join } from "node:path";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { fileSystemError, RunDirError } from "../io/errors.ts";
import { readRun } from "../report/run_data.ts";
import { renderSweepReport } from "../report/sweep_report.ts";
import {
  sweepMarkdown,
  type SweepRunCurve,
  type SweepScores,
  sweepScores,
} from "../report/sweep_scores.ts";
import { runStatus } from "./run_pool.ts";
import { gridSettings, type SweepPlan, type SweepRun, sweepRuns } from "./sweep.ts";

/** The bootstrap of every interval of the results: fixed, so that they can be reproduced. */
export const SWEEP_BOOTSTRAP = { confidence: 0.95, resamples: 2000, seed: 0 } as const;

/** The files the summary writes into the sweep's directory. */
export const SWEEP_RESULT_FILES = {
  json: "results.json",
  markdown: "results.md",
  report: "report.html",
} as const;

/** What `results.json` holds. */
export interface SweepResults {
  /** The format of the file. */
  format: "rnnrl-sweep-results/1";
  /** The plan (sweep.json). */
  plan: SweepPlan;
  /** The bootstrap behind every interval. */
  bootstrap: typeof SWEEP_BOOTSTRAP;
  /** What the curves are: the periodic evaluations, or the training episodes. */
  curves: "evaluations" | "episodes";
  /** The runs of the plan. */
  planned: number;
  /** The finished runs, each with its final score. */
  runs: { setting: string; seed: number; dir: string; points: number; final: number }[];
  /** The statistics. */
  scores: SweepScores;
}

/** A finished run's curve: its evaluations, or its episodes when it ran none. */
async function curveOf(out: string, run: SweepRun, evaluations: boolean): Promise<SweepRunCurve> {
  const dir = join(out, run.dir);
  let data;
  try {
    data = await readRun(dir);
  } catch (error) {
    if (error instanceof TypeError) throw new RunDirError(error.message);
    throw fileSystemError(`Cannot read ${dir}`, error);
  }
  const curve = evaluations
    ? data.evals.map((e) => ({ step: e.step, value: e.meanReturn }))
    : data.episodes.map((e) => ({ step: e.step, value: e.return }));
  if (curve.length === 0) {
    throw new RunDirError(
      `Cannot score ${dir}: its metrics.jsonl holds no ${evaluations ? "evaluation" : "episode"}`,
    );
  }
  return { setting: run.setting, seed: run.seed, curve };
}

/** The paragraphs under the results' title. */
function notes(plan: SweepPlan, results: SweepResults): string[] {
  const n = (x: number) => x.toLocaleString("en-US");
  const settings = gridSettings(plan.grid).length;
  const what = results.curves === "evaluations"
    ? `greedy evaluations every ${n(plan.evalEvery!)} steps`
    : "training episodes' returns (no --eval-every)";
  return [
    `${plan.algo} on ${plan.env}: ${settings} setting${settings === 1 ? "" : "s"} × ` +
    `${plan.seeds.length} seed${plan.seeds.length === 1 ? "" : "s"} (${plan.seeds.join(", ")}), ` +
    (plan.steps === null ? "the preset's budget" : `${n(plan.steps)} environment steps a run`) +
    `; ${results.runs.length} of ${results.planned} runs finished.`,
    `Curves are the ${what}. A seed's final score is the mean of its curve's last 3 points; ` +
    `final (IQM) is the interquartile mean over seeds with its ${
      100 * SWEEP_BOOTSTRAP.confidence
    }% ` +
    `percentile-bootstrap interval (${SWEEP_BOOTSTRAP.resamples} resamples, seed ` +
    `${SWEEP_BOOTSTRAP.seed}); P(improvement over ${results.scores.baseline}) is the ` +
    "probability that a seed of the setting scores above a seed of the first setting" +
    (plan.threshold === null
      ? "."
      : `; steps to threshold is the first step whose point reaches ${plan.threshold}, the ` +
        "median over the seeds that reach it."),
  ];
}

/**
 * Scores a sweep's finished runs and writes results.json, results.md and report.html into its
 * directory (see the module documentation).
 *
 * @param out The sweep's directory.
 * @param plan Its plan.
 * @param options The time the report shows as "generated".
 * @returns The results and the files written.
 * @throws {RunDirError} When no run is finished, or a finished run's files are damaged.
 */
export async function summarizeSweep(
  out: string,
  plan: SweepPlan,
  options: { generated?: Date } = {},
): Promise<{ results: SweepResults; files: string[] }> {
  const runs = sweepRuns(plan);
  const evaluations = plan.evalEvery !== null;
  const curves: SweepRunCurve[] = [];
  const finished: SweepRun[] = [];
  for (const run of runs) {
    if (await runStatus(join(out, run.dir)) !== "finished") continue;
    curves.push(await curveOf(out, run, evaluations));
    finished.push(run);
  }
  if (curves.length === 0) {
    throw new RunDirError(`Cannot summarize ${out}: none of its ${runs.length} runs has finished`);
  }
  const scores = sweepScores(curves, {
    settings: gridSettings(plan.grid).map((s) => s.name),
    threshold: plan.threshold,
    bootstrap: SWEEP_BOOTSTRAP,
  });
  const finals = new Map(
    scores.settings.flatMap((s) => s.seeds.map((seed, i) => [`${s.setting}/${seed}`, s.finals[i]])),
  );
  const results: SweepResults = {
    format: "rnnrl-sweep-results/1",
    plan,
    bootstrap: SWEEP_BOOTSTRAP,
    curves: evaluations ? "evaluations" : "episodes",
    planned: runs.length,
    runs: finished.map((run, i) => ({
      setting: run.setting,
      seed: run.seed,
      dir: run.dir,
      points: curves[i].curve.length,
      final: finals.get(`${run.setting}/${run.seed}`)!,
    })),
    scores,
  };
  const title = `Sweep: ${plan.algo} on ${plan.env}`;
  const paragraphs = notes(plan, results);
  const html = await renderSweepReport({
    title,
    notes: paragraphs,
    scores,
    curveKind: evaluations ? "evaluation return" : "episode return",
    generated: options.generated,
  });
  const files: [string, string][] = [
    [SWEEP_RESULT_FILES.json, JSON.stringify(results, null, 2) + "\n"],
    [SWEEP_RESULT_FILES.markdown, sweepMarkdown(scores, { title, notes: paragraphs })],
    [SWEEP_RESULT_FILES.report, html],
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
