/**
 * Training progress on stderr: on a terminal, one line redrawn in place (a bar, episodes, the
 * mean return of the last 100 episodes, steps per second, time left); elsewhere (a log file, CI),
 * a plain line every so many seconds or every so many percent. The clock and the output are
 * injectable, so tests never depend on time.
 *
 * @module
 */

/** Options of {@linkcode Progress}. */
export interface ProgressOptions {
  /** The step count at which the run is done. */
  total: number;
  /** A word in front of every line (default "train"). */
  label?: string;
  /** The step the run starts from (a resumed run's checkpoint step; default 0). */
  startStep?: number;
  /** The episodes already finished before this process started (default 0). */
  startEpisodes?: number;
  /** How many recent episodes the mean return covers (default 100). */
  window?: number;
  /** Redraw a single line in place (default: whether stderr is a terminal). */
  terminal?: boolean;
  /** Writes text (default: to stderr). */
  write?: (text: string) => void;
  /** The clock in milliseconds (default `performance.now`). */
  now?: () => number;
  /** Terminal mode: the least time between redraws, in ms (default 100). */
  redrawMs?: number;
  /** Plain mode: print at least this often, in ms (default 30000). */
  intervalMs?: number;
  /** Plain mode: print whenever another multiple of this percentage is reached (default 10). */
  percentStep?: number;
  /** Terminal mode: the line's width limit (default: the console's width, or 80). */
  columns?: number;
}

/**
 * Reports training progress. Call {@linkcode Progress.update} with the step count as often as you
 * like (it only looks at the clock), {@linkcode Progress.episode} when an episode ends, and
 * {@linkcode Progress.finish} at the end.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * let time = 0;
 * const lines: string[] = [];
 * const progress = new Progress({
 *   total: 1000,
 *   terminal: false,
 *   now: () => time,
 *   write: (text) => lines.push(text),
 * });
 * for (let step = 1; step <= 1000; step++) {
 *   time += 1; // one millisecond a step
 *   if (step % 50 === 0) progress.episode(50);
 *   progress.update(step);
 * }
 * progress.finish();
 * if (lines.length !== 10) throw new Error(`one line per 10%, got ${lines.length}`);
 * ```
 */
export class Progress {
  #total: number;
  #label: string;
  #startStep: number;
  #episodes: number;
  #returns: number[] = [];
  #nextReturn = 0;
  #window: number;
  #terminal: boolean;
  #write: (text: string) => void;
  #now: () => number;
  #redrawMs: number;
  #intervalMs: number;
  #percentStep: number;
  #columns: number;
  #startTime: number;
  #lastOutput: number;
  #lastBucket: number;
  #step: number;
  #printedStep = -1;
  #batchMean: { count: number; meanReturn: number } | null = null;

  /** Creates a reporter; nothing is written until the first update. */
  constructor(options: ProgressOptions) {
    if (!(options.total > 0)) {
      throw new RangeError(`Cannot report progress: total is ${options.total}, expected > 0`);
    }
    this.#total = options.total;
    this.#label = options.label ?? "train";
    this.#startStep = options.startStep ?? 0;
    this.#step = this.#startStep;
    this.#episodes = options.startEpisodes ?? 0;
    this.#window = options.window ?? 100;
    this.#terminal = options.terminal ?? Deno.stderr.isTerminal();
    this.#write = options.write ?? writeStderr;
    this.#now = options.now ?? (() => performance.now());
    this.#redrawMs = options.redrawMs ?? 100;
    this.#intervalMs = options.intervalMs ?? 30000;
    this.#percentStep = options.percentStep ?? 10;
    this.#columns = options.columns ?? consoleColumns();
    this.#startTime = this.#now();
    // A terminal draws at once; a plain log waits for the first interval or percent step.
    this.#lastOutput = this.#terminal ? -Infinity : this.#startTime;
    this.#lastBucket = this.#bucket(this.#startStep);
  }

  /**
   * Records `count` finished episodes known only by their mean return (a resident loop's update
   * reports): they are counted, and the line shows that mean until the next call or episode.
   */
  episodes(count: number, meanReturn: number | undefined): void {
    this.#episodes += count;
    if (count > 0 && meanReturn !== undefined) this.#batchMean = { count, meanReturn };
  }

  /** Records a finished episode's return. */
  episode(episodeReturn: number): void {
    this.#batchMean = null;
    this.#episodes++;
    if (this.#returns.length < this.#window) this.#returns.push(episodeReturn);
    else this.#returns[this.#nextReturn] = episodeReturn;
    this.#nextReturn = (this.#nextReturn + 1) % this.#window;
  }

  /** The mean return of the last `window` episodes, or undefined before the first. */
  get meanReturn(): number | undefined {
    if (this.#returns.length === 0) return undefined;
    let sum = 0;
    for (const r of this.#returns) sum += r;
    return sum / this.#returns.length;
  }

  /**
   * Sets the step count and writes a line when it is time to.
   *
   * @param step The environment steps done so far.
   */
  update(step: number): void {
    this.#step = step;
    const now = this.#now();
    if (this.#terminal) {
      if (now - this.#lastOutput >= this.#redrawMs) this.#draw(now);
      return;
    }
    const bucket = this.#bucket(step);
    if (bucket > this.#lastBucket || now - this.#lastOutput >= this.#intervalMs) {
      this.#lastBucket = bucket;
      this.#print(now);
    }
  }

  /**
   * Writes a message on its own line without garbling the progress line.
   *
   * @param message One line of text.
   */
  log(message: string): void {
    if (this.#terminal) {
      this.#write(`\r\x1b[2K${message}\n`);
      if (this.#lastOutput !== -Infinity) this.#draw(this.#now());
    } else {
      this.#write(`${message}\n`);
    }
  }

  /** Writes the final state and ends the line. */
  finish(): void {
    const now = this.#now();
    if (this.#terminal) {
      this.#draw(now);
      this.#write("\n");
    } else if (this.#printedStep !== this.#step) {
      this.#print(now);
    }
  }

  /**
   * The status as text, without the bar: steps, percent, episodes, mean return, speed, time left.
   *
   * @returns One line.
   */
  status(): string {
    return this.#status(this.#now(), false);
  }

  #bucket(step: number): number {
    return Math.floor((100 * step) / this.#total / this.#percentStep);
  }

  #print(now: number): void {
    this.#lastOutput = now;
    this.#printedStep = this.#step;
    this.#write(`${this.#status(now, false)}\n`);
  }

  #draw(now: number): void {
    this.#lastOutput = now;
    const line = this.#status(now, true);
    this.#write(`\r\x1b[2K${line.slice(0, Math.max(1, this.#columns - 1))}`);
  }

  #status(now: number, bar: boolean): string {
    const step = this.#step;
    const fraction = Math.min(1, Math.max(0, step / this.#total));
    const percent = `${Math.floor(100 * fraction)}%`;
    const seconds = (now - this.#startTime) / 1000;
    const rate = seconds > 0 ? (step - this.#startStep) / seconds : 0;
    const mean = this.meanReturn;
    const parts = [
      bar
        ? `${this.#label} ${progressBar(fraction, 20)} ${count(step)}/${
          count(this.#total)
        } ${percent}`
        : `${this.#label} ${count(step)}/${count(this.#total)} steps (${percent})`,
      `${count(this.#episodes)} episodes`,
      this.#batchMean
        ? `mean return ${this.#batchMean.meanReturn.toFixed(1)} (last ${this.#batchMean.count})`
        : mean === undefined
        ? "mean return -"
        : `mean return ${mean.toFixed(1)} (last ${this.#returns.length})`,
      rate > 0 ? `${count(Math.round(rate))} steps/s` : "- steps/s",
      rate > 0 && step < this.#total
        ? `ETA ${formatDuration((this.#total - step) / rate)}`
        : step >= this.#total
        ? `took ${formatDuration(seconds)}`
        : "ETA -",
    ];
    return parts.join(" | ");
  }
}

/**
 * Formats seconds as "45s", "12m05s" or "3h07m".
 *
 * @param seconds A duration.
 * @returns The duration in words.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * if (formatDuration(725) !== "12m05s") throw new Error(formatDuration(725));
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "-";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const two = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
}

function progressBar(fraction: number, width: number): string {
  const filled = Math.round(fraction * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

function writeStderr(text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let done = 0; done < bytes.length;) done += Deno.stderr.writeSync(bytes.subarray(done));
}
