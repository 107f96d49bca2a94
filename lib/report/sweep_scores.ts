/**
 * A sweep's statistics, from its runs' learning curves (one a seed of each setting), all from
 * lib/report/stats.ts with one fixed bootstrap: per setting the mean curve over seeds with its
 * band (`curveBand`), the final score of each seed (`finalScore`: the mean of its last three
 * points) and their interquartile mean with a percentile-bootstrap interval over seeds, the
 * probability of improvement over the first setting, and the steps each seed takes to reach a
 * threshold (`stepsToThreshold`: their median over the seeds that reach it, and how many do);
 * over all settings, a performance profile of the final scores. It knows nothing of plans or run
 * directories (lib/run/sweep_summary.ts reads those).
 *
 * @module
 */

import { finalScore, formatInterval } from "./benchmark_scores.ts";
import {
  type BandPoint,
  bootstrapInterval,
  curveBand,
  type CurvePoint,
  interquartileMean,
  type Interval,
  median,
  performanceProfile,
  probabilityOfImprovement,
  type ProfilePoint,
  stepsToThreshold,
} from "./stats.ts";

/** One run's learning curve: a seed of a setting. */
export interface SweepRunCurve {
  /** The setting's name. */
  setting: string;
  /** The seed. */
  seed: number;
  /** Its evaluations' mean returns (or, without evaluations, its episodes' returns) by step. */
  curve: CurvePoint[];
}

/** A setting's statistics. */
export interface SweepSettingScores {
  /** The setting's name. */
  setting: string;
  /** The seeds that finished. */
  seeds: number[];
  /** Each seed's final score, in the seeds' order. */
  finals: number[];
  /** The interquartile mean of the final scores, with its bootstrap interval over seeds. */
  final: Interval;
  /** P(a seed of this setting scores above one of the first setting), or null for the first. */
  improvement: Interval | null;
  /** The steps to the threshold, or null when no threshold was given. */
  threshold: { median: number | null; reached: number } | null;
  /** The mean curve over seeds with its bootstrap band. */
  band: BandPoint[];
}

/** The statistics of a sweep. */
export interface SweepScores {
  /** One entry a setting with a finished run, in the settings' order. */
  settings: SweepSettingScores[];
  /** The setting every P(improvement) is against: the first. */
  baseline: string;
  /** Per setting, the fraction of its seeds whose final score is above τ, with its band. */
  profile: { setting: string; points: ProfilePoint[] }[];
}

/** Options of {@linkcode sweepScores}. */
export interface SweepScoreOptions {
  /** The settings, in order (the first is the baseline); those without runs are left out. */
  settings: readonly string[];
  /** The return to reach, or null. */
  threshold: number | null;
  /** The bootstrap behind every interval. */
  bootstrap: { confidence: number; resamples: number; seed: number };
  /** Thresholds of the performance profile (default 21 evenly from the lowest to the highest). */
  profileThresholds?: number;
}

/**
 * A sweep's statistics from its runs' curves (see the module documentation).
 *
 * @param runs One curve a finished run, each with at least one point.
 * @param options The settings' order, the threshold and the bootstrap.
 * @returns The statistics.
 * @throws {RangeError} When no run is given.
 *
 * @example
 * ```ts
 * import { sweepScores } from "./sweep_scores.ts";
 * const curve = (v: number) => [{ step: 100, value: v }];
 * const { settings } = sweepScores([
 *   { setting: "a", seed: 1, curve: curve(1) }, { setting: "a", seed: 2, curve: curve(2) },
 *   { setting: "b", seed: 1, curve: curve(3) }, { setting: "b", seed: 2, curve: curve(2) },
 * ], { settings: ["a", "b"], threshold: null, bootstrap: { confidence: 0.95, resamples: 200, seed: 0 } });
 * // b's seeds against a's: 3 > 1, 3 > 2, 2 > 1, and 2 = 2 counts a half: 3.5 of 4.
 * if (settings[1].improvement!.estimate !== 0.875) throw new Error();
 * ```
 */
export function sweepScores(
  runs: readonly SweepRunCurve[],
  options: SweepScoreOptions,
): SweepScores {
  if (runs.length === 0) throw new RangeError("Cannot score a sweep: no run has finished");
  const { bootstrap, threshold } = options;
  const groups = options.settings.flatMap((setting) => {
    const seeds = runs.filter((r) => r.setting === setting);
    return seeds.length ? [{ setting, seeds, finals: seeds.map((r) => finalOf(r.curve)) }] : [];
  });
  const baseline = groups[0];
  const column = (values: readonly number[]) => values.map((v) => [v]);
  const settings = groups.map(({ setting, seeds, finals }): SweepSettingScores => {
    const steps = threshold === null
      ? []
      : seeds.flatMap((r) => stepsToThreshold(r.curve, threshold) ?? []);
    return {
      setting,
      seeds: seeds.map((r) => r.seed),
      finals,
      final: bootstrapInterval(finals, interquartileMean, bootstrap),
      improvement: setting === baseline.setting
        ? null
        : probabilityOfImprovement(column(finals), column(baseline.finals), bootstrap),
      threshold: threshold === null
        ? null
        : { median: steps.length ? median(steps) : null, reached: steps.length },
      band: curveBand(seeds.map((r) => r.curve), bootstrap),
    };
  });
  const all = groups.flatMap((g) => g.finals);
  const lowest = Math.min(...all);
  const highest = Math.max(...all);
  const n = options.profileThresholds ?? 21;
  const taus = Array.from(
    { length: n },
    (_, i) => lowest + (highest - lowest) * (n === 1 ? 0 : i / (n - 1)),
  );
  const profile = groups.map(({ setting, finals }) => ({
    setting,
    points: performanceProfile(column(finals), taus, bootstrap),
  }));
  return { settings, baseline: baseline.setting, profile };
}

/** A run's final score: the mean of its curve's last three points. */
function finalOf(curve: readonly CurvePoint[]): number {
  return finalScore(curve.map((p) => p.value));
}

/**
 * The sweep's table as rows of text cells: a header, then a row a setting.
 *
 * @param scores The statistics.
 * @returns The rows.
 */
export function sweepTableRows(scores: SweepScores): string[][] {
  const withThreshold = scores.settings.some((s) => s.threshold !== null);
  const head = [
    "setting",
    "seeds",
    "final (IQM)",
    `P(improvement over ${scores.baseline})`,
    ...(withThreshold ? ["steps to threshold (median)", "seeds reaching it"] : []),
  ];
  const rows = scores.settings.map((s) => [
    s.setting,
    String(s.seeds.length),
    formatInterval(s.final),
    s.improvement ? formatInterval(s.improvement) : "—",
    ...(s.threshold
      ? [
        s.threshold.median === null ? "—" : String(s.threshold.median),
        `${s.threshold.reached} of ${s.seeds.length}`,
      ]
      : []),
  ]);
  return [head, ...rows];
}

/**
 * The sweep's results as Markdown: a heading, the notes, the table.
 *
 * @param scores The statistics.
 * @param options The heading and the notes.
 * @returns The Markdown text, ending with a newline.
 */
export function sweepMarkdown(
  scores: SweepScores,
  options: { title: string; notes: readonly string[] },
): string {
  const [head, ...body] = sweepTableRows(scores);
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  return [
    `# ${options.title}`,
    "",
    ...options.notes.flatMap((n) => [n, ""]),
    `| ${head.map(escape).join(" | ")} |`,
    `| :-- | ${head.slice(1).map(() => "--:").join(" | ")} |`,
    ...body.map((row) => `| ${row.map(escape).join(" | ")} |`),
    "",
  ].join("\n");
}
