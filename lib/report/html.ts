/**
 * The HTML report: one self-contained file that works offline. Every chart is rendered to SVG in
 * Deno and inlined, so the page shows without JavaScript and loads nothing from anywhere (its
 * Content-Security-Policy forbids it). The only script is a small inline one that adds pause and
 * a frame slider to the replay, which animates without it.
 *
 * Every string that comes from a configuration, a run name or an option is HTML-escaped.
 *
 * @module
 */

import { vega, vl } from "./_vega.ts";
import {
  compareRunsSpec,
  cumulativeRegretSpec,
  episodeReturnSpec,
  evalCurveSpec,
  evalReturnsSpec,
  formatMeanSpread,
  formatNumber,
  loggedReturnSpec,
  renderSvg,
  testbedSpecs,
  trainFieldSpec,
  winRateSpec,
  withinProblemSpec,
} from "./charts.ts";
import type { VegaLiteSpec } from "./charts.ts";
import { cartPoleReplaySvg, minesweeperReplaySvg } from "./replay.ts";
import type { ReplayDrawing } from "./replay.ts";
import { writeFileAtomic } from "../io/atomic_write.ts";
import { readRun } from "./run_data.ts";
import type { Replay, RunData, Testbed, TrainRecord } from "./run_data.ts";

/**
 * Escapes text for HTML content and attribute values (`& < > " '`).
 *
 * @param text Any text.
 * @returns The escaped text.
 * @example
 * ```ts
 * import { escapeHtml } from "./html.ts";
 * if (escapeHtml("<b>") !== "&lt;b&gt;") throw new Error("escaped");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Options of {@linkcode renderReport} and {@linkcode writeReport}. */
export interface ReportOptions {
  /** The page title; defaults to "rnnrl report: " and the run names. */
  title?: string;
  /**
   * The number of episodes in rolling means. The default is a twentieth of the shortest run's
   * episodes, between 1 and 100, so that short runs are not flattened by a long window.
   */
  window?: number;
  /**
   * Which runs are pooled in the comparison chart (mean and min–max band): runs with the same
   * key form a group. Defaults to the configuration's `env` and `algo`.
   */
  groupBy?: (run: RunData) => string;
  /** The time shown as "generated"; defaults to now. */
  generated?: Date;
}

/** Train fields shown first, in this order; the others follow alphabetically. */
const TRAIN_FIELD_ORDER = [
  "reward",
  "optimalAction",
  "loss",
  "tdLoss",
  "policyLoss",
  "valueLoss",
  "entropy",
  "approxKl",
  "clipFraction",
  "explainedVariance",
  "clipRange",
  "epsilon",
  "temperature",
  "qMean",
  "qMax",
  "qMin",
  "gradNorm",
  "learningRate",
  "sps",
];
/** Train fields that are counters, not statistics. */
const TRAIN_FIELD_SKIP = new Set(["episode", "update", "updates", "iteration", "pull"]);
/** The most train fields plotted per run. */
const MAX_TRAIN_FIELDS = 12;

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
  max-width: 1120px; margin: 0 auto; padding: 16px 24px 48px; background: #f4f5f7; }
h1 { font-size: 22px; margin: 8px 0 2px; overflow-wrap: anywhere; }
h2 { font-size: 18px; margin: 0 0 10px; overflow-wrap: anywhere; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #666; margin: 0 0 16px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 16px 20px;
  margin: 0 0 18px; }
figure { margin: 8px 0; }
figure.chart svg, figure.replay svg { max-width: 100%; height: auto; display: block; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 4px 16px; }
.grid.wide { grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid #eceff2;
  vertical-align: top; }
th { color: #555; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.config td:first-child { color: #555; white-space: nowrap; }
table.config td:last-child { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
.replay-row { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.controls { display: flex; gap: 10px; align-items: center; margin: 6px 0; }
.controls input { width: 260px; }
figcaption { color: #555; font-size: 13px; }
.note { color: #777; font-style: italic; }
details > summary { cursor: pointer; font-weight: 600; margin: 8px 0; }
footer { color: #888; font-size: 12px; }
`;

/** The replay controls; the page's CSP allows exactly this script (by its hash). */
const SCRIPT = `
for (const fig of document.querySelectorAll("figure.replay")) {
  const svg = fig.querySelector("svg.replay-anim");
  const controls = fig.querySelector(".controls");
  if (!svg || !controls || !svg.pauseAnimations) continue;
  const n = Number(fig.dataset.frames);
  const dt = Number(fig.dataset.frameSeconds);
  const button = controls.querySelector("button");
  const slider = controls.querySelector("input");
  const label = controls.querySelector("span");
  controls.hidden = false;
  const show = () => {
    const f = Math.min(n - 1, Math.floor((svg.getCurrentTime() % (n * dt)) / dt));
    slider.value = String(f);
    label.textContent = "frame " + (f + 1) + " / " + n;
    if (!svg.animationsPaused()) requestAnimationFrame(show);
  };
  button.addEventListener("click", () => {
    if (svg.animationsPaused()) {
      svg.unpauseAnimations();
      button.textContent = "pause";
      requestAnimationFrame(show);
    } else {
      svg.pauseAnimations();
      button.textContent = "play";
    }
  });
  slider.addEventListener("input", () => {
    svg.pauseAnimations();
    button.textContent = "play";
    svg.setCurrentTime((Number(slider.value) + 0.5) * dt);
    show();
  });
  requestAnimationFrame(show);
}
`;

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Renders the charts of one page: each spec to an inline SVG in a `<figure class="chart">`, its
 * ids prefixed so that they stay unique in the page.
 */
export class ChartRenderer {
  #count = 0;

  /**
   * Renders a spec as a figure.
   *
   * @param spec The Vega-Lite spec.
   * @param name The figure's `data-chart` name.
   * @returns The figure's HTML.
   */
  async figure(spec: VegaLiteSpec, name: string): Promise<string> {
    const svg = await renderSvg(spec, { idPrefix: `c${this.#count++}-` });
    return `<figure class="chart" data-chart="${escapeHtml(name)}">${svg}</figure>`;
  }
}

/**
 * A report page: the document with its Content-Security-Policy (nothing may load, only the inline
 * replay script may run), the report's style, the escaped title and generation time, then `body`
 * (HTML, escaped by the caller) and the footer.
 *
 * @param title The page's title and heading (escaped here).
 * @param body The sections, HTML.
 * @param generated The time shown as "generated".
 * @returns The HTML text.
 */
export async function htmlPage(title: string, body: string[], generated: Date): Promise<string> {
  const hash = await sha256Base64(SCRIPT);
  const csp = `default-src 'none'; img-src data:; style-src 'unsafe-inline'; ` +
    `script-src 'sha256-${hash}'`;
  return [
    `<!doctype html>`,
    `<html lang="en">`,
    `<head>`,
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    `</head>`,
    `<body>`,
    `<header><h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">generated ${escapeHtml(generated.toISOString())}</p></header>`,
    ...body,
    `<footer>rnnrl report; charts: Vega-Lite ${escapeHtml(vl.version)} and vega ` +
    `${escapeHtml(vega.version)}, rendered to static SVG.</footer>`,
    `<script>${SCRIPT}</script>`,
    `</body>`,
    `</html>`,
    ``,
  ].join("\n");
}

function configText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return formatNumber(value);
  return JSON.stringify(value) ?? String(value);
}

/** Flattens nested objects to dotted keys; arrays and scalars are leaves. */
function flatten(value: Record<string, unknown>, prefix = ""): [string, string][] {
  const rows: [string, string][] = [];
  for (const [key, v] of Object.entries(value)) {
    const path = prefix + key;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      rows.push(...flatten(v as Record<string, unknown>, `${path}.`));
    } else {
      rows.push([path, configText(v)]);
    }
  }
  return rows;
}

/** Formats seconds as e.g. "42.0 s", "12 min 5 s" or "3 h 20 min". */
function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * The configuration's rows. config.json holds the agent's options twice: as given (`agent`: the
 * preset and flags) and resolved (`agentOptions`: every option, defaults included). The table
 * shows the resolved ones once, as `agent.*`, and marks those nobody gave as defaults.
 */
function configRows(config: Record<string, unknown>): [string, string][] {
  const { agent, agentOptions } = config;
  if (!isPlainObject(agentOptions)) return flatten(config);
  const given = new Set(flatten(isPlainObject(agent) ? agent : {}, "agent.").map(([k]) => k));
  // The algorithm and the seed come from the run's own fields (--algo, --seed), not defaults.
  for (const key of ["algorithm", "seed"]) given.add(`agent.${key}`);
  const resolved = flatten(agentOptions, "agent.").map(([key, value]): [string, string] =>
    given.has(key) ? [key, value] : [key, `${value} (default)`]
  );
  // The resolved options stand where `agent` stands in the file (else where `agentOptions` does).
  const at = "agent" in config ? "agent" : "agentOptions";
  return Object.entries(config).flatMap(([key, value]) => {
    if (key === at) return resolved;
    if (key === "agent" || key === "agentOptions") return [];
    return flatten({ [key]: value });
  });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function configTable(run: RunData): string {
  const rows = configRows(run.config);
  if (run.wallTime) {
    rows.push([
      "wall time",
      `${formatDuration(run.wallTime.seconds)} (${run.wallTime.source})`,
    ]);
  }
  if (run.dir !== undefined) rows.push(["directory", run.dir]);
  const body = rows
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`)
    .join("\n");
  return `<table class="config">\n${body}\n</table>`;
}

function configValue(run: RunData, key: string): string {
  const v = run.config[key];
  return v === undefined ? "" : configText(v);
}

/** Episodes in the summary table's "mean return, last N" column. */
const SUMMARY_EPISODES = 100;

/** The default rolling window: a twentieth of the shortest run, between 1 and 100 episodes. */
function defaultWindow(runs: readonly RunData[]): number {
  const shortest = Math.min(...runs.map((r) => r.episodes.length));
  return Math.max(1, Math.min(100, Math.round(shortest / 20)));
}

/** The number of single episodes, and the mean return of the last `window`. */
function recentEpisodes(run: RunData, window: number): { count: number; mean: number } {
  const last = run.episodes.slice(-window);
  const mean = last.length ? last.reduce((s, e) => s + e.return, 0) / last.length : NaN;
  return { count: run.episodes.length, mean };
}

/**
 * For a run that logs only each update's count and mean return of the episodes that ended (the
 * resident loop): their total, and the mean over the latest records that hold at least `window`.
 */
function loggedEpisodes(
  train: readonly TrainRecord[],
  window: number,
): { count: number; mean: number } {
  const logged = train.filter((r) => (r.values.episodes ?? 0) > 0 && "meanReturn" in r.values);
  const count = logged.reduce((sum, r) => sum + r.values.episodes, 0);
  let episodes = 0, returns = 0;
  for (let k = logged.length - 1; k >= 0 && episodes < window; k--) {
    episodes += logged[k].values.episodes;
    returns += logged[k].values.episodes * logged[k].values.meanReturn;
  }
  return { count, mean: episodes > 0 ? returns / episodes : NaN };
}

function summaryTable(runs: readonly RunData[]): string {
  const window = SUMMARY_EPISODES;
  // Only games with wins (Minesweeper) have a win rate; elsewhere the column would stay empty.
  const hasWins = runs.some((run) => run.evalResult?.winRate !== undefined);
  const head = [
    "run",
    "env",
    "algo",
    "seed",
    "steps",
    "episodes",
    `mean return, last ${window}`,
    "final eval",
    ...(hasWins ? ["win rate (eval)"] : []),
    "wall time",
  ];
  const rows = runs.map((run) => {
    const { count, mean } = run.episodes.length > 0
      ? recentEpisodes(run, window)
      : loggedEpisodes(run.train, window);
    const ev = run.evalResult;
    const steps = [run.episodes.at(-1)?.step, run.train.at(-1)?.step, ev?.step]
      .filter((s): s is number => s !== undefined);
    const lastStep = steps.length > 0 ? Math.max(...steps) : undefined;
    const cells = [
      run.name,
      configValue(run, "env"),
      configValue(run, "algo"),
      configValue(run, "seed"),
      lastStep === undefined ? "" : String(lastStep),
      String(count),
      Number.isNaN(mean) ? "" : formatNumber(mean),
      ev ? `${formatMeanSpread(ev.meanReturn, ev.stdReturn)} (${ev.episodes})` : "",
      ...(hasWins ? [ev?.winRate === undefined ? "" : `${(ev.winRate * 100).toFixed(1)}%`] : []),
      run.wallTime ? formatDuration(run.wallTime.seconds) : "",
    ];
    return `<tr>${
      cells.map((c, i) => `<td${i >= 4 ? ' class="num"' : ""}>${escapeHtml(c)}</td>`).join("")
    }</tr>`;
  });
  return `<div class="scroll"><table class="summary">\n<tr>${
    head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")
  }</tr>\n${rows.join("\n")}\n</table></div>`;
}

function trainFields(run: RunData): string[] {
  const present = new Set<string>();
  for (const record of run.train) {
    for (const key of Object.keys(record.values)) {
      if (!TRAIN_FIELD_SKIP.has(key)) present.add(key);
    }
  }
  // A bandit's statistics are shown by pull within the problem (withinProblemFields) instead.
  if (withinProblemFields(run).length) { for (const f of WITHIN_PROBLEM_FIELDS) present.delete(f); }
  // Without single episodes the logged mean return has the episode chart to itself.
  if (run.episodes.length === 0) present.delete("meanReturn");
  const known = TRAIN_FIELD_ORDER.filter((f) => present.has(f));
  const others = [...present].filter((f) => !TRAIN_FIELD_ORDER.includes(f)).sort();
  return [...known, ...others].slice(0, MAX_TRAIN_FIELDS);
}

/** The expected regret of a uniformly random round, where the report knows it: 1 − 1/10. */
const RANDOM_REGRET_PER_ROUND: Record<string, number> = { "mnist-bandit": 0.9 };

/** The bandit statistics that {@linkcode withinProblemSpec} plots. */
const WITHIN_PROBLEM_FIELDS = ["reward", "optimalAction"];

/** The bandit statistics a run logged by pull within the problem (none for other agents). */
function withinProblemFields(run: RunData): string[] {
  const logged = run.train.filter((r) => r.values.pull !== undefined);
  return WITHIN_PROBLEM_FIELDS.filter((f) => logged.some((r) => r.values[f] !== undefined));
}

function replayFigure(replay: Replay): string {
  let drawing: ReplayDrawing;
  let extra = "";
  const facts: string[] = [];
  if (replay.env === "cartpole") {
    drawing = cartPoleReplaySvg(replay);
    facts.push(`CartPole, ${drawing.frames} frames at 50 per second`);
  } else {
    const ms = minesweeperReplaySvg(replay);
    drawing = ms;
    extra = `<figure class="final"><figcaption>final board</figcaption>${ms.finalSvg}</figure>`;
    facts.push(`Minesweeper ${replay.width}×${replay.height}, ${drawing.frames} frames`);
    if (replay.won !== undefined) facts.push(replay.won ? "won" : "lost");
  }
  if (replay.return !== undefined) facts.push(`return ${formatNumber(replay.return)}`);
  if (replay.seed !== undefined) facts.push(`seed ${replay.seed}`);
  return `<div class="replay-row"><figure class="replay" data-frames="${drawing.frames}" ` +
    `data-frame-seconds="${drawing.frameSeconds}">${drawing.svg}` +
    `<div class="controls" hidden><button type="button">pause</button>` +
    `<input type="range" min="0" max="${drawing.frames - 1}" value="0" aria-label="frame">` +
    `<span></span></div>` +
    `<figcaption>${escapeHtml(facts.join("; "))}</figcaption></figure>${extra}</div>`;
}

async function runSection(
  run: RunData,
  index: number,
  charts: ChartRenderer,
  window: number,
  configOpen: boolean,
): Promise<string> {
  const parts = [`<section class="run" id="run-${index}">`, `<h2>${escapeHtml(run.name)}</h2>`];
  if (run.episodes.length > 0) {
    parts.push(await charts.figure(episodeReturnSpec(run.episodes, { window }), "episode-return"));
  } else if (run.train.some((r) => "meanReturn" in r.values)) {
    parts.push(await charts.figure(loggedReturnSpec(run.train), "logged-return"));
  } else {
    parts.push(`<p class="note">No finished episodes in metrics.jsonl.</p>`);
  }
  const regrets = run.episodes.filter((e) => e.regret !== undefined);
  if (regrets.length > 0) {
    const perRound = RANDOM_REGRET_PER_ROUND[String(run.config.env)];
    parts.push(await charts.figure(cumulativeRegretSpec(regrets, { perRound }), "regret"));
  }
  const hasWins = run.episodes.some((e) => e.won !== undefined) ||
    run.evals.some((e) => e.winRate !== undefined);
  if (hasWins) {
    parts.push(await charts.figure(winRateSpec(run.episodes, run.evals, { window }), "win-rate"));
  }
  const fields = trainFields(run);
  const withinProblem = withinProblemFields(run);
  if (fields.length + withinProblem.length > 0) {
    parts.push(`<h3>Training</h3>`, `<div class="grid">`);
    for (const field of withinProblem) {
      parts.push(await charts.figure(withinProblemSpec(run.train, field), `bandit-${field}`));
    }
    for (const field of fields) {
      parts.push(await charts.figure(trainFieldSpec(run.train, field), `train-${field}`));
    }
    parts.push(`</div>`);
  }
  if (run.evals.length > 0 || run.evalResult) {
    parts.push(`<h3>Evaluation</h3>`, `<div class="grid">`);
    if (run.evals.length > 0) {
      parts.push(await charts.figure(evalCurveSpec(run.evals), "eval-curve"));
    }
    if (run.evalResult) {
      parts.push(await charts.figure(evalReturnsSpec(run.evalResult), "eval-returns"));
    }
    parts.push(`</div>`);
  }
  if (run.replay) parts.push(`<h3>Replay of an evaluation episode</h3>`, replayFigure(run.replay));
  parts.push(
    `<details${configOpen ? " open" : ""}><summary>Configuration</summary>`,
    `<div class="scroll">${configTable(run)}</div></details>`,
    `</section>`,
  );
  return parts.join("\n");
}

function defaultGroup(run: RunData): string {
  const env = run.config.env;
  const algo = run.config.algo;
  if (env === undefined && algo === undefined) return "runs";
  return [env, algo].filter((v) => v !== undefined).map(configText).join(" / ");
}

/**
 * Renders the report of one or more runs as a standalone HTML page: a summary table; with
 * several runs, a comparison chart (mean and min–max band over the runs of each group); per run
 * the episode return with its rolling mean, the win rate where episodes record wins, every
 * numeric training statistic, the evaluations, a replay of an evaluation episode when the run
 * recorded one, and the configuration with the wall time.
 *
 * @param runs The runs, in display order.
 * @param options Title, rolling window, grouping and timestamp.
 * @returns The HTML text.
 * @example
 * ```ts
 * import { renderReport } from "@rnnrl/rnnrl/report";
 * const html = await renderReport([{
 *   name: "demo", config: { env: "cartpole" }, train: [], evals: [],
 *   episodes: [{ step: 12, episode: 1, return: 12, length: 12 }],
 * }]);
 * if (!html.includes("<svg")) throw new Error("rendered");
 * ```
 */
export async function renderReport(
  runs: readonly RunData[],
  options: ReportOptions = {},
): Promise<string> {
  if (runs.length === 0) throw new RangeError("Cannot render report: no runs given");
  const window = options.window ?? defaultWindow(runs);
  if (!(Number.isInteger(window) && window >= 1)) {
    throw new RangeError(`Cannot render report: window is ${window}`);
  }
  const title = options.title ?? `rnnrl report: ${runs.map((r) => r.name).join(", ")}`;
  const charts = new ChartRenderer();
  const body = [`<section id="summary"><h2>Summary</h2>${summaryTable(runs)}</section>`];
  if (runs.length > 1) {
    const groupBy = options.groupBy ?? defaultGroup;
    const groups = new Map<string, RunData[]>();
    for (const run of runs) {
      const key = groupBy(run);
      groups.set(key, [...(groups.get(key) ?? []), run]);
    }
    const spec = compareRunsSpec(
      [...groups].map(([label, members]) => ({ label, runs: members.map((r) => r.episodes) })),
      { window },
    );
    body.push(
      `<section id="compare"><h2>Runs compared</h2>`,
      await charts.figure(spec, "compare"),
      `</section>`,
    );
  }
  for (let i = 0; i < runs.length; i++) {
    body.push(await runSection(runs[i], i, charts, window, runs.length === 1));
  }
  return await htmlPage(title, body, options.generated ?? new Date());
}

/**
 * Reads run directories and writes their report to `outPath` (the only file written). Needs
 * read permission on the runs and write permission on `outPath`.
 *
 * @param runDirs The run directories.
 * @param outPath The HTML file to write.
 * @param options As for {@linkcode renderReport}.
 * @throws {TypeError} When a directory is missing or not a run directory.
 * @example
 * ```ts ignore
 * import { writeReport } from "@rnnrl/rnnrl/report";
 * await writeReport(["runs/a", "runs/b"], "report.html");
 * ```
 */
export async function writeReport(
  runDirs: readonly string[],
  outPath: string,
  options: ReportOptions = {},
): Promise<void> {
  const runs: RunData[] = [];
  for (const dir of runDirs) runs.push(await readRun(dir));
  await writeFileAtomic(outPath, await renderReport(runs, options));
}

/** Options of {@linkcode renderTestbedReport}. */
export interface TestbedReportOptions {
  /** The page title (default "Bandit testbed"). */
  title?: string;
  /** The time shown as "generated"; defaults to now. */
  generated?: Date;
}

/**
 * Renders the bandit testbed's report: a table of each method's late performance and Sutton &
 * Barto's two figures, average reward and % optimal action against step.
 *
 * @param testbed The testbed's averages (see {@linkcode Testbed}).
 * @param options Title and timestamp.
 * @returns The HTML text.
 * @example
 * ```ts
 * import { renderTestbedReport } from "@rnnrl/rnnrl/report";
 * const html = await renderTestbedReport({
 *   runs: 1, steps: 2, methods: { "epsilon=0.1": { reward: [0, 1], optimal: [0, 1] } },
 * });
 * if ((html.match(/<svg/g) ?? []).length !== 2) throw new Error("two charts");
 * ```
 */
export async function renderTestbedReport(
  testbed: Testbed,
  options: TestbedReportOptions = {},
): Promise<string> {
  const charts = new ChartRenderer();
  const specs = testbedSpecs(testbed);
  const tail = Math.max(1, Math.floor(testbed.steps / 10));
  const mean = (xs: number[]) => xs.slice(-tail).reduce((s, x) => s + x, 0) / tail;
  const rows = Object.entries(testbed.methods).map(([method, m]) =>
    `<tr><td>${escapeHtml(method)}</td><td class="num">${formatNumber(mean(m.reward))}</td>` +
    `<td class="num">${(mean(m.optimal) * 100).toFixed(1)}%</td></tr>`
  );
  const body = [
    `<section id="summary"><h2>Summary</h2>`,
    `<p>${testbed.runs} runs of ${testbed.steps} steps; means over the last ${tail} steps.</p>`,
    `<table class="summary"><tr><th>method</th><th>average reward</th>` +
    `<th>% optimal action</th></tr>\n${rows.join("\n")}\n</table></section>`,
    `<section id="figures"><h2>Learning curves</h2>`,
    await charts.figure(specs.reward, "testbed-reward"),
    await charts.figure(specs.optimal, "testbed-optimal"),
    `</section>`,
  ];
  return await htmlPage(options.title ?? "Bandit testbed", body, options.generated ?? new Date());
}

/**
 * Writes the bandit testbed's report to `outPath` (the only file written).
 *
 * @param testbed The testbed's averages.
 * @param outPath The HTML file to write.
 * @param options Title and timestamp.
 * @example
 * ```ts ignore
 * import { writeTestbedReport } from "@rnnrl/rnnrl/report";
 * await writeTestbedReport(testbed, "runs/testbed/report.html");
 * ```
 */
export async function writeTestbedReport(
  testbed: Testbed,
  outPath: string,
  options: TestbedReportOptions = {},
): Promise<void> {
  await writeFileAtomic(outPath, await renderTestbedReport(testbed, options));
}
