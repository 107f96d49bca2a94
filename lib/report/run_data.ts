/**
 * Reading what a training run left in its directory, for the report.
 *
 * A run directory holds `config.json` (every resolved option), `metrics.jsonl` (one JSON object a
 * line) and, optionally, `eval.json` (the final greedy evaluation) and `replay.json` (one recorded
 * evaluation episode). This module reads and checks them; the formats are those of DESIGN.md.
 *
 * Metrics lines the report reads (other kinds and other fields are ignored):
 *
 *     {"kind":"episode","step":S,"episode":E,"return":R,"length":L,"won"?:true|false,"regret"?:G}
 *     {"kind":"train","step":S,"loss":…,"epsilon":…,"qMean":…, …any other numeric fields}
 *     {"kind":"eval","step":S,"meanReturn":M,"winRate"?:W}
 *
 * Any record may also carry `"time"`: seconds since the run started; the last one found is the
 * run's wall time (see {@linkcode RunData.wallTime} for the other sources).
 *
 * `replay.json` is one evaluation episode, in one of two shapes:
 *
 *     {"env":"cartpole","frames":[[x, xDot, theta, thetaDot], …]}
 *     {"env":"minesweeper","width":W,"height":H,"frames":[{"board":[…],"action":a}, …]}
 *
 * A CartPole frame is the state before each step, then the final state (Gymnasium's `state`, in
 * metres and radians). A Minesweeper frame is the board after the click `action` (the cell index
 * `row * width + col`, or null for the starting board); `board` lists the cells row by row
 * (`width * height` numbers, or `height` rows of `width`): -1 unrevealed, 0..8 the count of
 * neighbouring mines, 9 a mine. Both shapes may add `"return"` and `"seed"` (numbers) and, for
 * Minesweeper, `"won"` (boolean); the report shows them under the replay.
 *
 * @module
 */

import { parseEvaluation, parseMetricsLines, type SavedEvaluation } from "../io/run_dir.ts";

/** One finished training episode (`"kind":"episode"` in metrics.jsonl). */
export interface EpisodeEntry {
  /** The environment step at which the episode ended. */
  step: number;
  /** The episode's number. */
  episode: number;
  /** The undiscounted return. */
  return: number;
  /** The number of steps in the episode. */
  length: number;
  /** Whether the game was won, where the game has wins. */
  won?: boolean;
  /** The episode's regret, where the environment reports one (a contextual bandit's). */
  regret?: number;
}

/** One training update (`"kind":"train"`): the step and every numeric field besides it. */
export interface TrainRecord {
  /** The environment step of the update. */
  step: number;
  /** The numeric fields of the record, such as loss, epsilon, qMean and qMax. */
  values: Record<string, number>;
}

/** One evaluation during training (`"kind":"eval"`). */
export interface EvalRecord {
  /** The environment step at which the evaluation ran. */
  step: number;
  /** The mean return over the evaluation episodes. */
  meanReturn: number;
  /** The fraction of evaluation episodes won, where the game has wins. */
  winRate?: number;
}

/** A recorded CartPole episode: one `[x, xDot, theta, thetaDot]` state per frame. */
export interface CartPoleReplay {
  /** The environment. */
  env: "cartpole";
  /** The states, first to last. */
  frames: [number, number, number, number][];
  /** The episode's return, when recorded. */
  return?: number;
  /** The seed of the episode, when recorded. */
  seed?: number;
}

/** One Minesweeper frame: the board after a click. */
export interface MinesweeperFrame {
  /** The cells row by row: -1 unrevealed, 0..8 neighbouring mines, 9 a mine. */
  board: number[];
  /** The clicked cell (`row * width + col`), or null for the starting board. */
  action: number | null;
}

/** A recorded Minesweeper episode. */
export interface MinesweeperReplay {
  /** The environment. */
  env: "minesweeper";
  /** The number of columns. */
  width: number;
  /** The number of rows. */
  height: number;
  /** The boards, first to last. */
  frames: MinesweeperFrame[];
  /** Whether the game was won, when recorded. */
  won?: boolean;
  /** The episode's return, when recorded. */
  return?: number;
  /** The seed of the episode, when recorded. */
  seed?: number;
}

/** A recorded evaluation episode (`replay.json`). */
export type Replay = CartPoleReplay | MinesweeperReplay;

/** The wall time of a run and where it was read from. */
export interface WallTime {
  /** Seconds from the start of the run to its last record. */
  seconds: number;
  /** Where the figure comes from, e.g. `metrics.jsonl "time"` or `file times (approximate)`. */
  source: string;
}

/** Everything the report shows about one run. */
export interface RunData {
  /** The run's name (by default its directory's base name). */
  name: string;
  /** The run directory, when read from disk. */
  dir?: string;
  /** The resolved configuration (`config.json`). */
  config: Record<string, unknown>;
  /** Finished training episodes, ordered by step. */
  episodes: EpisodeEntry[];
  /** Training updates, ordered by step. */
  train: TrainRecord[];
  /** Evaluations during training, ordered by step. */
  evals: EvalRecord[];
  /** The final evaluation (`eval.json`), when present. */
  evalResult?: SavedEvaluation;
  /** A recorded evaluation episode (`replay.json`), when present. */
  replay?: Replay;
  /**
   * The run's wall time, from the first source found: `config.json` or `eval.json`
   * `"wallTimeSeconds"`, the last metrics `"time"`, `config.json` `"startedAt"` and
   * `"finishedAt"` (ISO dates), or else the modification times of config.json and metrics.jsonl.
   */
  wallTime?: WallTime;
}

/** The bandit testbed's averages (`testbed.json`). */
export interface Testbed {
  /** The number of independent runs averaged. */
  runs: number;
  /** The number of steps per run. */
  steps: number;
  /** Per method: the average reward and the fraction of optimal actions at each step. */
  methods: Record<string, { reward: number[]; optimal: number[] }>;
}

/** What {@linkcode parseMetrics} returns. */
export interface ParsedMetrics {
  /** Finished episodes, ordered by step. */
  episodes: EpisodeEntry[];
  /** Training updates, ordered by step. */
  train: TrainRecord[];
  /** Evaluations, ordered by step. */
  evals: EvalRecord[];
  /** The last `"time"` field found (seconds since the start), if any. */
  lastTime?: number;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === "number" && Number.isFinite(x);
}

function byStep<T extends { step: number }>(a: T, b: T): number {
  return a.step - b.step;
}

/**
 * Parses the text of a metrics.jsonl file with the run directory's one parser
 * ({@linkcode parseMetricsLines}: a last line without its newline is dropped, any other damaged
 * line is an error), then checks and sorts the records the report reads. Other kinds are
 * ignored; a known record without its numeric fields is an error.
 *
 * @param text The file's contents.
 * @returns The episode, train and eval records, each sorted by step (stable).
 * @throws {TypeError} For a damaged line, naming its number.
 * @example
 * ```ts
 * import { parseMetrics } from "@rnnrl/rnnrl/report";
 * const m = parseMetrics('{"kind":"episode","step":20,"episode":1,"return":20,"length":20}\n');
 * if (m.episodes[0].return !== 20) throw new Error("parsed");
 * ```
 */
export function parseMetrics(text: string): ParsedMetrics {
  const episodes: EpisodeEntry[] = [];
  const train: TrainRecord[] = [];
  const evals: EvalRecord[] = [];
  let lastTime: number | undefined;
  for (const { line, record } of parseMetricsLines(text)) {
    const bad = (what: string) => new TypeError(`Cannot read metrics.jsonl: line ${line} ${what}`);
    if (isFiniteNumber(record.time)) lastTime = record.time;
    const kind = record.kind, step = record.step;
    if (kind === "episode") {
      for (const key of ["episode", "return", "length"]) {
        if (!isFiniteNumber(record[key])) throw bad(`is an episode without a numeric ${key}`);
      }
      const episode: EpisodeEntry = {
        step,
        episode: record.episode as number,
        return: record.return as number,
        length: record.length as number,
      };
      if (typeof record.won === "boolean") episode.won = record.won;
      if (isFiniteNumber(record.regret)) episode.regret = record.regret;
      episodes.push(episode);
    } else if (kind === "train") {
      const values: Record<string, number> = {};
      for (const [key, value] of Object.entries(record)) {
        if (key !== "step" && key !== "time" && isFiniteNumber(value)) values[key] = value;
      }
      train.push({ step, values });
    } else if (kind === "eval") {
      if (!isFiniteNumber(record.meanReturn)) throw bad("is an eval without a numeric meanReturn");
      const evalRecord: EvalRecord = { step, meanReturn: record.meanReturn };
      if (isFiniteNumber(record.winRate)) evalRecord.winRate = record.winRate;
      evals.push(evalRecord);
    }
  }
  episodes.sort(byStep);
  train.sort(byStep);
  evals.sort(byStep);
  return lastTime === undefined ? { episodes, train, evals } : { episodes, train, evals, lastTime };
}

function optionalMeta(value: Record<string, unknown>, where: string): void {
  for (const key of ["return", "seed"]) {
    if (value[key] !== undefined && !isFiniteNumber(value[key])) {
      throw new TypeError(`Cannot read ${where}: "${key}" is not a number`);
    }
  }
}

/**
 * Checks a parsed `replay.json` (the formats are in this module's documentation). A Minesweeper
 * board given as rows is flattened.
 *
 * @param value The parsed JSON.
 * @returns The replay, typed.
 * @throws {TypeError} For an unknown environment or a malformed frame.
 * @example
 * ```ts
 * import { parseReplay } from "@rnnrl/rnnrl/report";
 * const r = parseReplay({ env: "cartpole", frames: [[0, 0, 0.01, 0]] });
 * if (r.frames.length !== 1) throw new Error("parsed");
 * ```
 */
export function parseReplay(value: unknown): Replay {
  const where = "replay.json";
  if (!isObject(value)) throw new TypeError(`Cannot read ${where}: it is not a JSON object`);
  const frames = value.frames;
  if (!Array.isArray(frames) || frames.length === 0) {
    throw new TypeError(`Cannot read ${where}: "frames" is not a non-empty array`);
  }
  optionalMeta(value, where);
  if (value.env === "cartpole") {
    frames.forEach((frame, i) => {
      if (!Array.isArray(frame) || frame.length !== 4 || !frame.every(isFiniteNumber)) {
        throw new TypeError(`Cannot read ${where}: frame ${i} is not four numbers`);
      }
    });
    return value as unknown as CartPoleReplay;
  }
  if (value.env === "minesweeper") {
    const { width, height } = value;
    if (!Number.isInteger(width) || !Number.isInteger(height) || +width! < 1 || +height! < 1) {
      throw new TypeError(`Cannot read ${where}: "width" and "height" are not positive integers`);
    }
    const w = width as number;
    const h = height as number;
    if (value.won !== undefined && typeof value.won !== "boolean") {
      throw new TypeError(`Cannot read ${where}: "won" is not a boolean`);
    }
    const parsed: MinesweeperFrame[] = frames.map((frame, i) => {
      if (!isObject(frame)) {
        throw new TypeError(`Cannot read ${where}: frame ${i} is not an object`);
      }
      const rawBoard = frame.board;
      const board = Array.isArray(rawBoard) && rawBoard.every(Array.isArray)
        ? (rawBoard as unknown[][]).flat()
        : rawBoard;
      if (
        !Array.isArray(board) || board.length !== w * h ||
        !board.every((c) => Number.isInteger(c) && c >= -1 && c <= 9)
      ) {
        throw new TypeError(
          `Cannot read ${where}: frame ${i} board is not ${w * h} cells in -1..9`,
        );
      }
      const action = frame.action ?? null;
      const isCell = typeof action === "number" && Number.isInteger(action) && action >= 0 &&
        action < w * h;
      if (action !== null && !isCell) {
        throw new TypeError(`Cannot read ${where}: frame ${i} action is not a cell index`);
      }
      return { board: board as number[], action: action as number | null };
    });
    return { ...value, frames: parsed } as unknown as MinesweeperReplay;
  }
  throw new TypeError(`Cannot read ${where}: "env" is ${JSON.stringify(value.env)}`);
}

/**
 * Checks a parsed `testbed.json`.
 *
 * @param value The parsed JSON.
 * @returns The testbed, typed.
 * @throws {TypeError} When a method's arrays are missing or not `steps` numbers long.
 * @example
 * ```ts
 * import { parseTestbed } from "@rnnrl/rnnrl/report";
 * const t = parseTestbed({ runs: 1, steps: 1, methods: { "epsilon=0": { reward: [1], optimal: [1] } } });
 * if (t.steps !== 1) throw new Error("parsed");
 * ```
 */
export function parseTestbed(value: unknown): Testbed {
  const where = "testbed.json";
  if (!isObject(value)) throw new TypeError(`Cannot read ${where}: it is not a JSON object`);
  if (!isFiniteNumber(value.runs) || !Number.isInteger(value.steps) || +value.steps! < 1) {
    throw new TypeError(`Cannot read ${where}: "runs" or "steps" is not a number`);
  }
  const steps = value.steps as number;
  if (!isObject(value.methods) || Object.keys(value.methods).length === 0) {
    throw new TypeError(`Cannot read ${where}: "methods" is not a non-empty object`);
  }
  for (const [name, method] of Object.entries(value.methods)) {
    for (const key of ["reward", "optimal"]) {
      const series = isObject(method) ? method[key] : undefined;
      if (!Array.isArray(series) || series.length !== steps || !series.every(isFiniteNumber)) {
        throw new TypeError(
          `Cannot read ${where}: ${JSON.stringify(name)}.${key} is not ${steps} numbers`,
        );
      }
    }
  }
  return value as unknown as Testbed;
}

async function readJson(path: string, name: string): Promise<unknown> {
  const text = await Deno.readTextFile(path);
  try {
    return JSON.parse(text);
  } catch {
    throw new TypeError(`Cannot read ${name}: ${path} is not valid JSON`);
  }
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function joinPath(dir: string, file: string): string {
  return dir.endsWith("/") ? dir + file : `${dir}/${file}`;
}

/** The last path component of a directory path, ignoring trailing slashes. */
function baseName(dir: string): string {
  const parts = dir.replace(/\/+$/, "").split("/");
  return parts[parts.length - 1] || dir;
}

function findWallTime(
  config: Record<string, unknown>,
  evalJson: Record<string, unknown> | undefined,
  lastTime: number | undefined,
  configInfo: Deno.FileInfo,
  metricsInfo: Deno.FileInfo,
): WallTime | undefined {
  if (isFiniteNumber(config.wallTimeSeconds)) {
    return { seconds: config.wallTimeSeconds, source: 'config.json "wallTimeSeconds"' };
  }
  if (evalJson && isFiniteNumber(evalJson.wallTimeSeconds)) {
    return { seconds: evalJson.wallTimeSeconds, source: 'eval.json "wallTimeSeconds"' };
  }
  if (lastTime !== undefined) return { seconds: lastTime, source: 'metrics.jsonl "time"' };
  if (typeof config.startedAt === "string" && typeof config.finishedAt === "string") {
    const seconds = (Date.parse(config.finishedAt) - Date.parse(config.startedAt)) / 1000;
    if (Number.isFinite(seconds)) return { seconds, source: "config.json startedAt–finishedAt" };
  }
  const start = configInfo.birthtime ?? configInfo.mtime;
  if (start && metricsInfo.mtime) {
    const seconds = (metricsInfo.mtime.getTime() - start.getTime()) / 1000;
    if (seconds >= 0) return { seconds, source: "file times (approximate)" };
  }
  return undefined;
}

/** Options of {@linkcode readRun}. */
export interface ReadRunOptions {
  /** The run's name in the report; defaults to the directory's base name. */
  name?: string;
}

/**
 * Reads a run directory: config.json and metrics.jsonl (both required), eval.json and
 * replay.json (optional). Needs read permission on the directory.
 *
 * @param dir The run directory.
 * @param options The run's display name.
 * @returns The run's data, records sorted by step.
 * @throws {TypeError} When the directory is missing, is not a run directory, or a file is damaged.
 * @example
 * ```ts ignore
 * import { readRun } from "@rnnrl/rnnrl/report";
 * const run = await readRun("runs/cartpole-dqn");
 * console.log(run.episodes.length);
 * ```
 */
export async function readRun(dir: string, options: ReadRunOptions = {}): Promise<RunData> {
  const info = await statOrNull(dir);
  if (info === null) throw new TypeError(`Cannot read run: ${dir} does not exist`);
  if (!info.isDirectory) throw new TypeError(`Cannot read run: ${dir} is not a directory`);
  const configPath = joinPath(dir, "config.json");
  const metricsPath = joinPath(dir, "metrics.jsonl");
  const configInfo = await statOrNull(configPath);
  const metricsInfo = await statOrNull(metricsPath);
  if (configInfo === null || metricsInfo === null) {
    const missing = configInfo === null ? "config.json" : "metrics.jsonl";
    throw new TypeError(`Cannot read run: ${dir} is not a run directory (no ${missing})`);
  }
  const config = await readJson(configPath, "config.json");
  if (!isObject(config)) {
    throw new TypeError(`Cannot read config.json: ${configPath} is not an object`);
  }
  let metrics: ParsedMetrics;
  try {
    metrics = parseMetrics(await Deno.readTextFile(metricsPath));
  } catch (error) {
    if (error instanceof TypeError) throw new TypeError(`${error.message} (in ${dir})`);
    throw error;
  }
  const run: RunData = {
    name: options.name ?? baseName(dir),
    dir,
    config,
    episodes: metrics.episodes,
    train: metrics.train,
    evals: metrics.evals,
  };
  let evalJson: Record<string, unknown> | undefined;
  const evalPath = joinPath(dir, "eval.json");
  if (await statOrNull(evalPath)) {
    run.evalResult = parseEvaluation(await readJson(evalPath, "eval.json"));
    evalJson = run.evalResult as unknown as Record<string, unknown>;
  }
  const replayPath = joinPath(dir, "replay.json");
  if (await statOrNull(replayPath)) {
    run.replay = parseReplay(await readJson(replayPath, "replay.json"));
  }
  const wallTime = findWallTime(config, evalJson, metrics.lastTime, configInfo, metricsInfo);
  if (wallTime) run.wallTime = wallTime;
  return run;
}

/**
 * Reads and checks `DIR/testbed.json`.
 *
 * @param dir The directory the bandit testbed wrote.
 * @returns The testbed.
 * @throws {TypeError} When the file is missing or damaged.
 */
export async function readTestbed(dir: string): Promise<Testbed> {
  const path = joinPath(dir, "testbed.json");
  if (!(await statOrNull(path))) throw new TypeError(`Cannot read testbed: ${path} does not exist`);
  return parseTestbed(await readJson(path, "testbed.json"));
}
