/**
 * A sweep's HTML report: one self-contained page, built as the benchmark's is (lib/report/html.ts:
 * Vega-Lite rendered to inline SVG, nothing loaded, every string escaped). It holds the sweep's
 * table (lib/report/sweep_scores.ts), the final scores' IQM per setting with its interval, the
 * performance profile of the final scores, and the learning curves: each setting's mean over
 * seeds with its bootstrap band.
 *
 * @module
 */

import { benchmarkCurveSpec, intervalChartSpec } from "./charts.ts";
import { ChartRenderer, escapeHtml, htmlPage } from "./html.ts";
import { type SweepScores, sweepTableRows } from "./sweep_scores.ts";

/** What {@linkcode renderSweepReport} shows. */
export interface SweepReportInput {
  /** The page's title. */
  title: string;
  /** Paragraphs under the title (plain text). */
  notes: readonly string[];
  /** The statistics. */
  scores: SweepScores;
  /** What the curves show, for the charts' subtitles: "evaluation return" or "episode return". */
  curveKind: string;
  /** The time shown as "generated"; defaults to now. */
  generated?: Date;
}

/**
 * Renders the sweep's report (see the module documentation).
 *
 * @param input The statistics and the words around them.
 * @returns The HTML text.
 *
 * @example
 * ```ts
 * import { renderSweepReport } from "./sweep_report.ts";
 * import { sweepScores } from "./sweep_scores.ts";
 * const curve = (v: number) => [{ step: 100, value: v }, { step: 200, value: v + 1 }];
 * const scores = sweepScores(
 *   [1, 2].map((seed) => ({ setting: "preset", seed, curve: curve(seed) })),
 *   { settings: ["preset"], threshold: null, bootstrap: { confidence: 0.95, resamples: 100, seed: 0 } },
 * );
 * const html = await renderSweepReport({ title: "Sweep", notes: [], scores, curveKind: "evaluation return" });
 * if ((html.match(/<svg/g) ?? []).length !== 3) throw new Error("IQM, profile and curves");
 * ```
 */
export async function renderSweepReport(input: SweepReportInput): Promise<string> {
  const charts = new ChartRenderer();
  const { scores } = input;
  const [head, ...rows] = sweepTableRows(scores);
  const cell = (text: string, i: number) =>
    `<td${i > 0 ? ' class="num"' : ""}>${escapeHtml(text)}</td>`;
  const body: string[] = [
    `<section id="results"><h2>Results</h2>`,
    ...input.notes.map((note) => `<p>${escapeHtml(note)}</p>`),
    `<div class="scroll"><table class="sweep">`,
    `<tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>`,
    ...rows.map((row) => `<tr>${row.map(cell).join("")}</tr>`),
    `</table></div></section>`,
  ];
  const iqm = intervalChartSpec(
    "IQM of the final score",
    scores.settings.map((s) => ({ label: s.setting, ...s.final })),
    { subtitle: "over seeds; 95% bootstrap interval", axisTitle: input.curveKind },
  );
  const profile = benchmarkCurveSpec(
    "Performance profile",
    scores.profile.map(({ setting, points }) => ({
      model: setting,
      band: points.map((p) => ({
        step: p.threshold,
        mean: p.estimate,
        lower: p.lower,
        upper: p.upper,
      })),
    })),
    {
      subtitle: "fraction of seeds whose final score is above τ; 95% bootstrap band",
      xTitle: `τ (${input.curveKind})`,
      yTitle: "fraction of seeds",
    },
  );
  const curves = benchmarkCurveSpec(
    "Learning curves",
    scores.settings.map((s) => ({ model: s.setting, band: s.band })),
    { subtitle: `${input.curveKind}: mean over seeds, 95% bootstrap band`, yTitle: "return" },
  );
  body.push(
    `<section id="aggregate"><h2>Final scores</h2><div class="grid wide">`,
    await charts.figure(iqm, "iqm-final"),
    await charts.figure(profile, "profile"),
    `</div></section>`,
    `<section id="curves"><h2>Learning curves</h2><div class="grid wide">`,
    await charts.figure(curves, "curves"),
    `</div></section>`,
  );
  return await htmlPage(input.title, body, input.generated ?? new Date());
}
