/**
 * Vega-Lite specifications of the report's charts, and their rendering to static SVG.
 *
 * Each `…Spec` function turns run data into a Vega-Lite spec with its data inlined, downsampled so
 * that a chart holds at most a few thousand marks whatever the run's length. {@linkcode renderSvg}
 * compiles a spec with vega-lite and renders it with vega's headless view (`renderer: "none"`,
 * `toSVG()`), which needs no canvas, no fonts, no network and no Deno permissions.
 *
 * @module
 */

import { type TopLevelSpec, vega, vl } from "./_vega.ts";
import { alignRuns, bucketStats, minMaxIndices, rollingMean, strideIndices } from "./_series.ts";
import type { SavedEvaluation } from "../io/run_dir.ts";
import type { EpisodeEntry, EvalRecord, Testbed, TrainRecord } from "./run_data.ts";

/**
 * A Vega-Lite specification as plain JSON (the `vega-lite` package's `TopLevelSpec`, which the
 * spec builders here are checked against).
 */
export type VegaLiteSpec = { [key: string]: unknown };

/** Checks a literal against vega-lite's types and hands it out as plain JSON. */
function lite(spec: TopLevelSpec): VegaLiteSpec {
  return spec as unknown as VegaLiteSpec;
}

/** Width and height of a full-width chart, in pixels. */
const WIDE = { width: 860, height: 240 };
/** Width and height of a chart in a two-column grid, in pixels. */
const SMALL = { width: 280, height: 150 };
/** Most points a line keeps. */
const LINE_POINTS = 1000;
/** Buckets for scatter downsampling (up to two points each). */
const SCATTER_BUCKETS = 600;
/** Buckets for band charts (mean line, min–max band). */
const BAND_BUCKETS = 250;

const STEP_AXIS = {
  title: "environment step",
  format: "~s",
  labelExpr: "datum.value === 0 ? '0' : datum.label",
};
const BASE = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  background: "white",
  config: {
    font: "sans-serif",
    axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e8e8e8" },
    legend: { labelFontSize: 11, titleFontSize: 12, orient: "bottom", labelLimit: 400 },
    title: { fontSize: 14, anchor: "start", subtitleFontSize: 11, subtitleColor: "#555" },
    view: { stroke: "#ccc" },
  },
} as const;

/** Options shared by the episode charts. */
export interface EpisodeChartOptions {
  /** The number of episodes in the rolling mean (default 100). */
  window?: number;
  /** The chart's title. */
  title?: string;
}

/**
 * Episode return against environment step: each episode as a faint point (downsampled, keeping
 * each bucket's lowest and highest) and the rolling mean as a line.
 *
 * @param episodes Finished episodes, ordered by step.
 * @param options The rolling window and title.
 * @returns A Vega-Lite spec.
 * @example
 * ```ts
 * import { episodeReturnSpec, renderSvg } from "@rnnrl/rnnrl/report";
 * const svg = await renderSvg(episodeReturnSpec([{ step: 10, episode: 1, return: 10, length: 10 }]));
 * if (!svg.startsWith("<svg")) throw new Error("rendered");
 * ```
 */
export function episodeReturnSpec(
  episodes: readonly EpisodeEntry[],
  options: EpisodeChartOptions = {},
): VegaLiteSpec {
  const window = options.window ?? 100;
  const returns = episodes.map((e) => e.return);
  const rolling = rollingMean(returns, window);
  const rawLabel = "episode return";
  const meanLabel = `rolling mean (${window} ${window === 1 ? "episode" : "episodes"})`;
  const raw = minMaxIndices(returns, SCATTER_BUCKETS).map((i) => ({
    step: episodes[i].step,
    value: returns[i],
    series: rawLabel,
  }));
  const mean = strideIndices(rolling.length, LINE_POINTS).map((i) => ({
    step: episodes[i].step,
    value: rolling[i],
    series: meanLabel,
  }));
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    scale: { domain: [rawLabel, meanLabel], range: ["#6baed6", "#08306b"] },
  } as const;
  const x = { field: "step", type: "quantitative", axis: STEP_AXIS } as const;
  const y = { field: "value", type: "quantitative", title: "return" } as const;
  return lite({
    ...BASE,
    ...WIDE,
    title: {
      text: options.title ?? "Episode return",
      subtitle: `${episodes.length} episodes` +
        (raw.length < returns.length ? `; points downsampled to ${raw.length}` : ""),
    },
    layer: [
      {
        data: { values: raw },
        mark: { type: "circle", size: 12, opacity: 0.55, aria: false },
        encoding: { x, y, color },
      },
      {
        data: { values: mean },
        mark: { type: "line", strokeWidth: 2 },
        encoding: { x, y, color },
      },
    ],
  });
}

/**
 * The mean return of the episodes that ended between logged updates, against environment step:
 * the episode chart of a run that logs no single episodes (the resident loop counts them on the
 * device and reads back only their number and mean). Each point weighs one logged update.
 *
 * @param train Training records, ordered by step; those without `meanReturn` are left out.
 * @returns A Vega-Lite spec.
 */
export function loggedReturnSpec(train: readonly TrainRecord[]): VegaLiteSpec {
  const points = train.filter((r) => "meanReturn" in r.values);
  const episodes = points.reduce((sum, r) => sum + (r.values.episodes ?? 0), 0);
  const values = strideIndices(points.length, LINE_POINTS).map((i) => ({
    step: points[i].step,
    meanReturn: points[i].values.meanReturn,
  }));
  const x = { field: "step", type: "quantitative", axis: STEP_AXIS } as const;
  return lite({
    ...BASE,
    ...WIDE,
    title: {
      text: "Episode return",
      subtitle: `mean over the episodes that ended between logged updates: ${points.length} ` +
        `records of ${episodes} episodes`,
    },
    data: { values },
    mark: {
      type: "line",
      color: "#08306b",
      strokeWidth: 2,
      ...(values.length <= FEW_POINTS ? { point: { color: "#08306b", size: 24 } } : {}),
    },
    encoding: { x, y: { field: "meanReturn", type: "quantitative", title: "mean return" } },
  });
}

/** One group of runs in {@linkcode compareRunsSpec}. */
export interface RunGroup {
  /** The group's label in the legend. */
  label: string;
  /** Each run's episodes, ordered by step. */
  runs: (readonly EpisodeEntry[])[];
}

/**
 * Several runs compared: per group, the mean over runs of each run's rolling-mean return, with a
 * band from the lowest to the highest run. Runs are aligned on 200 bins of environment steps, up
 * to the last step every run of the group reached.
 *
 * @param groups The groups of runs (e.g. seeds of one configuration).
 * @param options The rolling window and title.
 * @returns A Vega-Lite spec.
 */
export function compareRunsSpec(
  groups: readonly RunGroup[],
  options: EpisodeChartOptions = {},
): VegaLiteSpec {
  const window = options.window ?? 100;
  const values: { step: number; mean: number; min: number; max: number; group: string }[] = [];
  for (const group of groups) {
    const aligned = alignRuns(
      group.runs.map((episodes) => ({
        steps: episodes.map((e) => e.step),
        values: rollingMean(episodes.map((e) => e.return), window),
      })),
      200,
    );
    for (const point of aligned) values.push({ ...point, group: group.label });
  }
  const x = { field: "step", type: "quantitative", axis: STEP_AXIS } as const;
  const color = { field: "group", type: "nominal", title: null } as const;
  const sizes = groups.map((g) => g.runs.length).join(", ");
  return lite({
    ...BASE,
    ...WIDE,
    title: {
      text: options.title ?? "Episode return",
      subtitle: `rolling mean return (${window} episodes): mean over runs (line), ` +
        `min–max (band); runs per group: ${sizes}; up to the last step all reached`,
    },
    data: { values },
    layer: [
      {
        mark: { type: "area", opacity: 0.2 },
        encoding: {
          x,
          y: { field: "min", type: "quantitative", title: "return" },
          y2: { field: "max" },
          color,
        },
      },
      {
        mark: { type: "line", strokeWidth: 2 },
        encoding: { x, y: { field: "mean", type: "quantitative" }, color },
      },
    ],
  });
}

/**
 * One training statistic (a field of the "train" records) against step: the mean per bucket of
 * consecutive updates as a line, and the bucket's min–max as a band.
 *
 * @param train Training records, ordered by step.
 * @param field The field to plot, such as "loss", "epsilon" or "qMean".
 * @returns A Vega-Lite spec (small, for a two-column grid).
 */
export function trainFieldSpec(train: readonly TrainRecord[], field: string): VegaLiteSpec {
  const points = train.filter((r) => field in r.values);
  const stats = bucketStats(
    points.map((r) => r.step),
    points.map((r) => r.values[field]),
    BAND_BUCKETS,
  );
  const x = { field: "step", type: "quantitative", axis: STEP_AXIS } as const;
  return lite({
    ...BASE,
    ...SMALL,
    title: {
      text: field,
      // A record is one logging of the statistics (every logInterval updates), not one update.
      subtitle: stats.length < points.length
        ? `${points.length} records in ${stats.length} buckets: mean, min–max band`
        : `${points.length} ${points.length === 1 ? "record" : "records"}`,
    },
    data: { values: stats },
    layer: [
      {
        mark: { type: "area", opacity: 0.25, color: "#fdae6b" },
        encoding: {
          x,
          y: { field: "min", type: "quantitative", title: field, scale: { zero: false } },
          y2: { field: "max" },
        },
      },
      {
        // Points as well on short runs, where a line through one or two records shows nothing.
        mark: {
          type: "line",
          color: "#d94801",
          strokeWidth: 1.5,
          ...(stats.length <= FEW_POINTS ? { point: { color: "#d94801", size: 24 } } : {}),
        },
        encoding: { x, y: { field: "mean", type: "quantitative" } },
      },
    ],
  });
}

/** Up to this many points a line is drawn with its points marked. */
const FEW_POINTS = 30;

/**
 * A bandit statistic against the pull within a problem, averaged over the problems played: the
 * "train" records that carry a `pull` (the problem's pull count at the end of their stretch) are
 * grouped by it, as Sutton and Barto's testbed averages its runs step by step.
 *
 * @param train Training records; those without `pull` or `field` are left out.
 * @param field "reward" (mean reward per pull) or "optimalAction" (fraction of optimal pulls,
 * shown in percent).
 * @returns A Vega-Lite spec (small, for a two-column grid).
 */
export function withinProblemSpec(train: readonly TrainRecord[], field: string): VegaLiteSpec {
  const sums = new Map<number, { sum: number; n: number }>();
  for (const { values } of train) {
    const pull = values.pull;
    const value = values[field];
    if (pull === undefined || value === undefined) continue;
    const entry = sums.get(pull) ?? { sum: 0, n: 0 };
    entry.sum += value;
    entry.n++;
    sums.set(pull, entry);
  }
  const percent = field === "optimalAction";
  const points = [...sums].sort(([a], [b]) => a - b).map(([pull, { sum, n }]) => ({
    pull,
    value: percent ? (100 * sum) / n : sum / n,
  }));
  const problems = Math.max(0, ...[...sums.values()].map((e) => e.n));
  const title = percent ? "% optimal action" : "average reward per pull";
  return lite({
    ...BASE,
    ...SMALL,
    title: {
      text: title,
      subtitle: `mean over ${problems} ${problems === 1 ? "problem" : "problems"}`,
    },
    data: { values: points },
    mark: {
      type: "line",
      color: "#d94801",
      strokeWidth: 1.5,
      ...(points.length <= FEW_POINTS ? { point: { color: "#d94801", size: 24 } } : {}),
    },
    encoding: {
      x: { field: "pull", type: "quantitative", title: "pull within the problem" },
      y: {
        field: "value",
        type: "quantitative",
        title: percent ? "% optimal action" : "reward per pull",
        scale: { zero: percent },
      },
    },
  });
}

/**
 * Cumulative regret against step: the running sum of the episodes' regrets (a contextual
 * bandit's rounds), with the line of a policy that always missed for scale where `perRound`,
 * the regret of one uniformly random round, is given.
 *
 * @param episodes Episodes with a regret, ordered by step.
 * @param options `perRound`: the expected regret of a uniformly random round.
 * @returns A Vega-Lite spec.
 *
 * @example
 * ```ts
 * import { cumulativeRegretSpec } from "@rnnrl/rnnrl/report";
 * const spec = cumulativeRegretSpec([
 *   { step: 1, episode: 1, return: 0, length: 1, regret: 1 },
 *   { step: 2, episode: 2, return: 1, length: 1, regret: 0 },
 * ]);
 * if (JSON.stringify(spec).indexOf("cumulative regret") < 0) throw new Error("titled");
 * ```
 */
export function cumulativeRegretSpec(
  episodes: readonly EpisodeEntry[],
  options: { perRound?: number } = {},
): VegaLiteSpec {
  const sums: number[] = [];
  let total = 0;
  for (const e of episodes) sums.push(total += e.regret ?? 0);
  const agent = "agent";
  const values = strideIndices(episodes.length, LINE_POINTS).map((i) => ({
    step: episodes[i].step,
    regret: sums[i],
    series: agent,
  }));
  const series = [agent];
  if (options.perRound !== undefined && episodes.length > 0) {
    const random = `uniform random (${formatNumber(options.perRound)} a round)`;
    series.push(random);
    for (const i of [0, episodes.length - 1]) {
      values.push({ step: episodes[i].step, regret: options.perRound * (i + 1), series: random });
    }
  }
  return lite({
    ...BASE,
    ...WIDE,
    title: {
      text: "Cumulative regret",
      subtitle: `${episodes.length} rounds; final ${formatNumber(total)}`,
    },
    data: { values },
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: { field: "step", type: "quantitative", axis: STEP_AXIS },
      y: { field: "regret", type: "quantitative", title: "cumulative regret" },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain: series, range: ["#08306b", "#bdbdbd"] },
      },
      strokeDash: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain: series, range: [[1, 0], [4, 3]] },
      },
    },
  });
}

/**
 * Evaluations during training: mean evaluation return against step, as a line with points.
 *
 * @param evals Eval records, ordered by step.
 * @returns A Vega-Lite spec.
 */
export function evalCurveSpec(evals: readonly EvalRecord[]): VegaLiteSpec {
  const values = strideIndices(evals.length, LINE_POINTS).map((i) => evals[i]);
  return lite({
    ...BASE,
    ...SMALL,
    title: { text: "Evaluation during training", subtitle: `${evals.length} evaluations` },
    data: { values },
    mark: { type: "line", point: true, color: "#2ca25f" },
    encoding: {
      x: { field: "step", type: "quantitative", axis: STEP_AXIS },
      y: { field: "meanReturn", type: "quantitative", title: "mean return" },
    },
  });
}

/**
 * The final evaluation's returns as a histogram, with a rule at their mean.
 *
 * @param result The parsed eval.json.
 * @returns A Vega-Lite spec.
 */
export function evalReturnsSpec(result: SavedEvaluation): VegaLiteSpec {
  const values = result.returns.map((r) => ({ return: r }));
  return lite({
    ...BASE,
    ...SMALL,
    title: {
      text: "Final evaluation",
      subtitle: `${result.returns.length} episodes, seed ${result.seed}: ` +
        `mean ${formatMeanSpread(result.meanReturn, result.stdReturn)}`,
    },
    layer: [
      {
        data: { values },
        mark: { type: "bar", color: "#74c476" },
        encoding: {
          x: { field: "return", type: "quantitative", bin: { maxbins: 30 }, title: "return" },
          y: {
            aggregate: "count",
            type: "quantitative",
            title: "episodes",
            axis: { tickMinStep: 1, format: "d" },
          },
        },
      },
      {
        data: { values: [{ mean: result.meanReturn }] },
        mark: { type: "rule", color: "#006d2c", strokeWidth: 2, strokeDash: [4, 3] },
        encoding: { x: { field: "mean", type: "quantitative" } },
      },
    ],
  });
}

/**
 * The win rate over training: the rolling fraction of training episodes won, and the win rate
 * of evaluations during training where they report one.
 *
 * @param episodes Episodes, ordered by step; only those with `won` count.
 * @param evals Eval records; only those with `winRate` are drawn.
 * @param options The rolling window and title.
 * @returns A Vega-Lite spec.
 */
export function winRateSpec(
  episodes: readonly EpisodeEntry[],
  evals: readonly EvalRecord[],
  options: EpisodeChartOptions = {},
): VegaLiteSpec {
  const window = options.window ?? 100;
  const games = episodes.filter((e) => e.won !== undefined);
  const rate = rollingMean(games.map((e) => (e.won ? 1 : 0)), window);
  const trainLabel = `training (rolling, ${window} episodes)`;
  const evalLabel = "evaluation";
  const values = strideIndices(rate.length, LINE_POINTS).map((i) => ({
    step: games[i].step,
    rate: rate[i],
    series: trainLabel,
  }));
  for (const e of evals) {
    if (e.winRate !== undefined) values.push({ step: e.step, rate: e.winRate, series: evalLabel });
  }
  return lite({
    ...BASE,
    ...WIDE,
    title: { text: options.title ?? "Win rate", subtitle: `${games.length} games in training` },
    data: { values },
    mark: { type: "line", point: { size: 12 }, strokeWidth: 2 },
    encoding: {
      x: { field: "step", type: "quantitative", axis: STEP_AXIS },
      y: {
        field: "rate",
        type: "quantitative",
        title: "win rate",
        axis: { format: ".0%" },
        scale: { domain: [0, 1] },
      },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain: [trainLabel, evalLabel], range: ["#6a51a3", "#2ca25f"] },
      },
    },
  });
}

/**
 * The bandit testbed's figures (Sutton & Barto, figures 2.2 and 2.4): average reward and the
 * percentage of optimal actions against step, one line per method.
 *
 * @param testbed The parsed testbed.json.
 * @returns The two specs.
 */
export function testbedSpecs(testbed: Testbed): { reward: VegaLiteSpec; optimal: VegaLiteSpec } {
  const indices = strideIndices(testbed.steps, LINE_POINTS);
  const methods = Object.keys(testbed.methods);
  const rows = (key: "reward" | "optimal") =>
    methods.flatMap((method) =>
      indices.map((i) => ({ step: i + 1, value: testbed.methods[method][key][i], method }))
    );
  const color = { field: "method", type: "nominal", title: null, sort: methods } as const;
  const x = { field: "step", type: "quantitative", title: "step" } as const;
  const subtitle = `${testbed.runs} runs of ${testbed.steps} steps, averaged`;
  return {
    reward: lite({
      ...BASE,
      ...WIDE,
      title: { text: "Average reward", subtitle },
      data: { values: rows("reward") },
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: { x, y: { field: "value", type: "quantitative", title: "average reward" }, color },
    }),
    optimal: lite({
      ...BASE,
      ...WIDE,
      title: { text: "% optimal action", subtitle },
      data: { values: rows("optimal") },
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: {
        x,
        y: {
          field: "value",
          type: "quantitative",
          title: "% optimal action",
          axis: { format: ".0%" },
          scale: { domain: [0, 1] },
        },
        color,
      },
    }),
  };
}

/** One model's learning curve in {@linkcode benchmarkCurveSpec}: a band over seeds. */
export interface ModelCurve {
  /** The model's name in the legend. */
  model: string;
  /** The mean over seeds at each step, with its interval (stats.ts' `curveBand`). */
  band: readonly { step: number; mean: number; lower: number; upper: number }[];
}

/**
 * A benchmark environment's learning curves: per model, the normalised evaluation return against
 * step, the mean over seeds as a line and its bootstrap interval over seeds as a band. Models keep
 * their colour from chart to chart (the legend lists them in the order given).
 *
 * @param title The chart's title (the environment).
 * @param curves One curve a model.
 * @param options The subtitle, and the axes' titles (default: environment step, normalised
 * return).
 * @returns A Vega-Lite spec.
 * @example
 * ```ts
 * import { benchmarkCurveSpec, renderSvg } from "@rnnrl/rnnrl/report";
 * const band = [{ step: 100, mean: 0.1, lower: 0, upper: 0.2 }, { step: 200, mean: 0.3, lower: 0.2, upper: 0.4 }];
 * const svg = await renderSvg(benchmarkCurveSpec("repeat-first-easy", [{ model: "ppo-gru", band }]));
 * if (!svg.includes("ppo-gru")) throw new Error("the legend names the model");
 * ```
 */
export function benchmarkCurveSpec(
  title: string,
  curves: readonly ModelCurve[],
  options: { subtitle?: string; xTitle?: string; yTitle?: string } = {},
): VegaLiteSpec {
  const models = curves.map((c) => c.model);
  const values = curves.flatMap((c) => c.band.map((p) => ({ ...p, model: c.model })));
  const axis = options.xTitle === undefined ? STEP_AXIS : { ...STEP_AXIS, title: options.xTitle };
  const x = { field: "step", type: "quantitative", axis } as const;
  const color = {
    field: "model",
    type: "nominal",
    title: null,
    scale: { domain: models },
  } as const;
  return lite({
    ...BASE,
    width: 420,
    height: 220,
    title: { text: title, subtitle: options.subtitle ?? "" },
    data: { values },
    layer: [
      {
        mark: { type: "area", opacity: 0.18 },
        encoding: {
          x,
          y: {
            field: "lower",
            type: "quantitative",
            title: options.yTitle ?? "normalised return",
            scale: { zero: false },
          },
          y2: { field: "upper" },
          color,
        },
      },
      {
        mark: { type: "line", strokeWidth: 2, point: { size: 14 } },
        encoding: { x, y: { field: "mean", type: "quantitative" }, color },
      },
    ],
  });
}

/** One bar of {@linkcode intervalChartSpec}: an estimate and its interval. */
export interface IntervalRow {
  /** The row's label (a model). */
  label: string;
  /** The point estimate. */
  estimate: number;
  /** The interval's lower end. */
  lower: number;
  /** The interval's upper end. */
  upper: number;
}

/**
 * Estimates with their intervals, one row a label: a point at the estimate and an error bar from
 * the lower to the upper end (the benchmark's IQM per model, say).
 *
 * @param title The chart's title.
 * @param rows The rows, in display order.
 * @param options The subtitle and the axis title.
 * @returns A Vega-Lite spec (small, for a two-column grid).
 * @example
 * ```ts
 * import { intervalChartSpec, renderSvg } from "@rnnrl/rnnrl/report";
 * const rows = [{ label: "ppo-none", estimate: 0.1, lower: 0, upper: 0.2 }];
 * if (!(await renderSvg(intervalChartSpec("IQM", rows))).includes("ppo-none")) throw new Error();
 * ```
 */
export function intervalChartSpec(
  title: string,
  rows: readonly IntervalRow[],
  options: { subtitle?: string; axisTitle?: string } = {},
): VegaLiteSpec {
  const labels = rows.map((r) => r.label);
  const y = { field: "label", type: "nominal", title: null, sort: labels } as const;
  const color = {
    field: "label",
    type: "nominal",
    legend: null,
    scale: { domain: labels },
  } as const;
  return lite({
    ...BASE,
    width: 380,
    height: Math.max(60, 28 * rows.length),
    title: { text: title, subtitle: options.subtitle ?? "" },
    data: { values: rows.map((r) => ({ ...r })) },
    layer: [
      {
        mark: { type: "rule", strokeWidth: 2 },
        encoding: {
          y,
          x: {
            field: "lower",
            type: "quantitative",
            title: options.axisTitle ?? "score",
            scale: { zero: false },
          },
          x2: { field: "upper" },
          color,
        },
      },
      {
        mark: { type: "point", filled: true, size: 60 },
        encoding: { y, x: { field: "estimate", type: "quantitative" }, color },
      },
    ],
  });
}

/** Options of {@linkcode renderSvg}. */
export interface RenderSvgOptions {
  /**
   * A prefix for every `id` in the SVG (and the references to them), so that several charts can
   * share one HTML page: vega numbers its clip paths from 1 in every SVG.
   */
  idPrefix?: string;
}

/**
 * Compiles a Vega-Lite spec and renders it to a standalone SVG string. Titles and labels are
 * XML-escaped by vega.
 *
 * @param spec The Vega-Lite spec, data inlined.
 * @param options An id prefix.
 * @returns The SVG markup.
 */
export async function renderSvg(
  spec: VegaLiteSpec,
  options: RenderSvgOptions = {},
): Promise<string> {
  const compiled = vl.compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    // Geometry to 0.01 px: vega writes full float64 digits, which double the file's size.
    const svg = (await view.toSVG()).replace(
      / (d|transform)="([^"]*)"/g,
      (_, name, value: string) =>
        ` ${name}="${value.replace(/-?\d+\.\d{3,}(e-?\d+)?/g, (x) => String(+(+x).toFixed(2)))}"`,
    );
    const prefix = options.idPrefix;
    if (!prefix) return svg;
    return svg
      .replace(/ id="([^"]+)"/g, (_, id) => ` id="${prefix}${id}"`)
      .replace(/url\(#([^)]+)\)/g, (_, id) => `url(#${prefix}${id})`);
  } finally {
    view.finalize();
  }
}

/**
 * A number shortened for display: integers as they are, others to 4 significant digits.
 *
 * @param x The number.
 * @returns Its text.
 */
export function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(4)));
}

/**
 * "mean ± spread" for display. A spread below a billionth of the mean is rounding noise (the
 * standard deviation of equal returns, 1.554e-15), shown as 0.
 *
 * @param mean The mean.
 * @param spread Its standard deviation.
 * @returns Their text.
 */
export function formatMeanSpread(mean: number, spread: number): string {
  const noise = Math.abs(spread) <= 1e-9 * Math.max(1, Math.abs(mean));
  return `${formatNumber(mean)} ± ${noise ? "0" : formatNumber(spread)}`;
}
