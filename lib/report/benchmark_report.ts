/**
 * The memory benchmark's HTML report: one self-contained page, built as every rnnrl report is
 * (lib/report/html.ts: Vega-Lite rendered to inline SVG in Deno, a Content-Security-Policy that
 * lets nothing load, every string escaped). It holds the benchmark's tables (the final score,
 * MMER and the final evaluation, with their intervals, IQMs and probabilities of improvement),
 * an aggregate chart of each model's IQM with its interval, and per environment a chart of the
 * learning curves: each model's normalised evaluation return against step, the mean over seeds
 * with its bootstrap band.
 *
 * @module
 */

import { benchmarkCurveSpec, intervalChartSpec, type ModelCurve } from "./charts.ts";
import {
  BENCHMARK_METRIC_TITLES,
  type BenchmarkMetricTable,
  tableRows,
} from "./benchmark_scores.ts";
import { ChartRenderer, escapeHtml, htmlPage } from "./html.ts";

/** What {@linkcode renderBenchmarkReport} shows. */
export interface BenchmarkReportInput {
  /** The page's title. */
  title: string;
  /** Paragraphs under the title: the budget, the seeds, the statistics (plain text). */
  notes: readonly string[];
  /** The models, in column order. */
  models: readonly string[];
  /** The tables, one a metric (lib/report/benchmark_scores.ts). */
  tables: readonly BenchmarkMetricTable[];
  /** The learning curves, one chart an environment. */
  curves: readonly { env: string; subtitle?: string; curves: readonly ModelCurve[] }[];
  /** The time shown as "generated"; defaults to now. */
  generated?: Date;
}

/**
 * Renders the benchmark's report (see the module documentation).
 *
 * @param input The tables, the curves and the words around them.
 * @returns The HTML text.
 *
 * @example
 * ```ts
 * import { renderBenchmarkReport } from "./benchmark_report.ts";
 * const interval = { estimate: 0.5, lower: 0.4, upper: 0.6 };
 * const html = await renderBenchmarkReport({
 *   title: "Memory benchmark", notes: ["1 seed"], models: ["ppo-gru"],
 *   tables: [{
 *     metric: "final", rows: [{ env: "a", cells: [{ model: "ppo-gru", seeds: 1, interval }] }],
 *     iqm: [{ model: "ppo-gru", seeds: 1, interval }], improvement: [],
 *   }],
 *   curves: [{ env: "a", curves: [{ model: "ppo-gru", band: [{ step: 1, mean: 0.5, lower: 0.4, upper: 0.6 }] }] }],
 * });
 * if ((html.match(/<svg/g) ?? []).length !== 2) throw new Error("an aggregate and a curve");
 * ```
 */
export async function renderBenchmarkReport(input: BenchmarkReportInput): Promise<string> {
  const charts = new ChartRenderer();
  const body: string[] = [
    `<section id="results"><h2>Results</h2>`,
    ...input.notes.map((note) => `<p>${escapeHtml(note)}</p>`),
  ];
  for (const table of input.tables) {
    body.push(
      `<h3>${escapeHtml(BENCHMARK_METRIC_TITLES[table.metric])}</h3>`,
      htmlTable(table, input.models),
    );
  }
  body.push(`</section>`);

  const aggregates: string[] = [];
  for (const table of input.tables) {
    const rows = table.iqm.flatMap((cell) =>
      cell.interval ? [{ label: cell.model, ...cell.interval }] : []
    );
    if (rows.length === 0) continue;
    const spec = intervalChartSpec(`IQM of the ${shortName(table.metric)}`, rows, {
      subtitle: "all environments and seeds; 95% stratified-bootstrap interval",
      axisTitle: "normalised score",
    });
    aggregates.push(await charts.figure(spec, `iqm-${table.metric}`));
  }
  if (aggregates.length > 0) {
    body.push(
      `<section id="aggregate"><h2>Aggregate over environments</h2>`,
      `<div class="grid wide">`,
      ...aggregates,
      `</div></section>`,
    );
  }

  body.push(`<section id="curves"><h2>Learning curves</h2><div class="grid wide">`);
  for (const { env, subtitle, curves } of input.curves) {
    if (curves.length === 0 || curves.every((c) => c.band.length === 0)) {
      body.push(`<p class="note">${escapeHtml(env)}: no evaluations yet.</p>`);
      continue;
    }
    body.push(await charts.figure(benchmarkCurveSpec(env, curves, { subtitle }), `curve-${env}`));
  }
  body.push(`</div></section>`);
  return await htmlPage(input.title, body, input.generated ?? new Date());
}

/** A metric's name in a chart's title. */
function shortName(metric: BenchmarkMetricTable["metric"]): string {
  return { final: "final score", mmer: "MMER", eval100: "final evaluation" }[metric];
}

/** A metric's table as HTML, the numbers right-aligned. */
function htmlTable(table: BenchmarkMetricTable, models: readonly string[]): string {
  const [head, ...body] = tableRows(table, models);
  const cell = (text: string, i: number) =>
    `<td${i > 0 ? ' class="num"' : ""}>${escapeHtml(text)}</td>`;
  return `<div class="scroll"><table class="benchmark" data-metric="${table.metric}">\n` +
    `<tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr>\n` +
    body.map((row) => `<tr>${row.map(cell).join("")}</tr>`).join("\n") +
    `\n</table></div>`;
}
