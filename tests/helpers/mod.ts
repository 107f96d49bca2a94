/**
 * The helpers the tests share, in one place: run a `deno task` CLI as a real subprocess with the
 * permissions deno.json grants it, fingerprint directories to prove nothing was overwritten,
 * small test environments (a game with random action masks, a memory cue), policies made from
 * functions, and numeric comparisons.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Env, ResetOptions, ResetResult, StepResult } from "../../lib/envs/env.ts";
import type { JsonValue } from "../../lib/io/json.ts";
import { Rng, type RngState } from "../../lib/io/rng.ts";
import type { Policy } from "../../lib/rl/policy.ts";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

const DENO_JSON = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));

/** The CLIs under tasks/, by their deno.json task name. */
export type TaskName =
  | "train"
  | "eval"
  | "export"
  | "report"
  | "bandit-testbed"
  | "benchmark"
  | "sweep"
  | "worker"
  | "demo";

/**
 * The `deno run` flags and script of a deno.json task, e.g. for "eval"
 * `{ flags: ["--allow-read"], script: "tasks/eval.ts" }`.
 */
export function taskCommand(task: TaskName): { flags: string[]; script: string } {
  const command: string | undefined = DENO_JSON.tasks[task];
  if (command === undefined) throw new Error(`deno.json has no task "${task}"`);
  const words = command.trim().split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run") {
    throw new Error(`task ${task} is not "deno run …": ${command}`);
  }
  const scriptIndex = words.findIndex((w) => w.endsWith(".ts"));
  return { flags: words.slice(2, scriptIndex), script: words[scriptIndex] };
}

/** What a finished subprocess printed and returned. */
export interface TaskOutput {
  /** The exit code. */
  code: number;
  /** The signal that ended it, if any. */
  signal: Deno.Signal | null;
  /** Everything on stdout. */
  stdout: string;
  /** Everything on stderr. */
  stderr: string;
}

/** Options of {@linkcode runTask} and {@linkcode spawnTask}. */
export interface RunTaskOptions {
  /** Extra environment variables (NO_COLOR=1 is always set). */
  env?: Record<string, string>;
}

function taskArgs(task: TaskName, args: readonly string[]): string[] {
  const { flags, script } = taskCommand(task);
  return ["run", ...flags, join(ROOT, script), ...args];
}

function commandOf(task: TaskName, args: readonly string[], options: RunTaskOptions) {
  return new Deno.Command(Deno.execPath(), {
    args: taskArgs(task, args),
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  });
}

/** Runs `deno task <task> <args>` the way deno.json does, as a subprocess, and waits for it. */
export async function runTask(
  task: TaskName,
  args: readonly string[],
  options: RunTaskOptions = {},
): Promise<TaskOutput> {
  const { code, signal, stdout, stderr } = await commandOf(task, args, options).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, signal, stdout: decode(stdout), stderr: withoutDownloads(decode(stderr)) };
}

/**
 * Drops Deno's own "Download https://…" lines: on a fresh cache Deno fetches what a task first
 * needs (esbuild for `Deno.bundle`, for one) and says so on stderr, which is not the task's output.
 */
function withoutDownloads(stderr: string): string {
  return stderr.replace(/^Download https:\/\/\S+\n/gm, "");
}

/** Starts `deno task <task> <args>` as a subprocess (stdout and stderr piped). */
export function spawnTask(
  task: TaskName,
  args: readonly string[],
  options: RunTaskOptions = {},
): Deno.ChildProcess {
  return commandOf(task, args, options).spawn();
}

/**
 * Starts `deno task <task> <args>` itself, as a user does (stdout and stderr piped): the task
 * runner, which starts the `deno run` process of the task as its child.
 */
export function spawnTaskRunner(
  task: TaskName,
  args: readonly string[],
  options: RunTaskOptions = {},
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", task, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).spawn();
}

/**
 * Tells whether no process holds the lock of run directory `dir` (its `.lock`, see
 * lib/io/run_lock.ts): true when there is no lock file, or when one is there but nobody holds it
 * (its holder ended without removing it).
 */
export async function lockIsFree(dir: string): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(dir, ".lock"), { read: true, write: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    throw error;
  }
  try {
    const free = await file.tryLock(true);
    if (free) await file.unlock();
    return free;
  } finally {
    file.close();
  }
}

/** Waits until `condition` holds, checking every 20 ms; false when `ms` pass first. */
export async function waitFor(condition: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return await condition();
}

/** Reads a child's piped stdout and stderr to the end and waits for its status. */
export async function finish(child: Deno.ChildProcess): Promise<TaskOutput> {
  const text = (stream: ReadableStream<Uint8Array<ArrayBuffer>>) => new Response(stream).text();
  const [stdout, stderr, status] = await Promise.all([
    text(child.stdout),
    text(child.stderr),
    child.status,
  ]);
  return { code: status.code, signal: status.signal, stdout, stderr };
}

/**
 * Fingerprints everything under `dir`: each file's path (relative) with the SHA-256 of its bytes,
 * each directory's path with "dir", and each symbolic link's with where it points, so a created,
 * deleted or changed entry shows.
 */
export async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (path: string, relative: string): Promise<void> => {
    const entries = [];
    for await (const entry of Deno.readDir(path)) entries.push(entry);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isSymlink) {
        out[rel] = `link to ${await Deno.readLink(join(path, entry.name))}`;
      } else if (entry.isDirectory) {
        out[rel] = "dir";
        await walk(join(path, entry.name), rel);
      } else {
        out[rel] = await sha256(await Deno.readFile(join(path, entry.name)));
      }
    }
  };
  await walk(dir, "");
  return out;
}

/** The SHA-256 of some bytes, in hexadecimal. */
export async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Copies a directory tree (plain files and folders). */
export async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const source = join(from, entry.name), target = join(to, entry.name);
    if (entry.isDirectory) await copyTree(source, target);
    else await Deno.copyFile(source, target);
  }
}

/** The stderr lines of a run, without the empty string after the last newline. */
export function lines(text: string): string[] {
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all;
}

/** The largest absolute difference between two arrays of the same length. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** A feed-forward policy from a function of the observation (and the action mask). */
export function functionPolicy(
  act: (observation: Float32Array, mask?: Uint8Array) => number,
): Policy<undefined> {
  return {
    initialState: () => undefined,
    disposeState: () => {},
    act: (observation, _state, options = {}) =>
      Promise.resolve({ action: act(observation, options.mask), state: undefined }),
  };
}

/** The number of actions of {@linkcode RandomMaskEnv}. */
export const RANDOM_MASK_ACTIONS = 6;

/**
 * A toy game with a fresh random observation and a random action mask at every step (each action
 * valid with probability 1/2, at least one): invalid actions throw, like Minesweeper's revealed
 * cells. The reward favours some actions by the observation, so a learner has something to learn
 * and an unmasked argmax often falls on an invalid action. Episodes last 8 steps; its whole state
 * can be saved, and it can be cloned.
 */
export class RandomMaskEnv implements Env<Record<string, never>> {
  readonly id = "random-mask";
  readonly observationSize = 4;
  readonly actionCount = RANDOM_MASK_ACTIONS;
  #rng = new Rng(0);
  #observation = new Float32Array(4);
  #mask = new Uint8Array(RANDOM_MASK_ACTIONS);
  #t = 0;

  reset(options: ResetOptions = {}): ResetResult<Record<string, never>> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    this.#t = 0;
    this.#draw();
    return { observation: this.#observation.slice(), info: {} };
  }
  step(action: number): StepResult<Record<string, never>> {
    if (!this.#mask[action]) throw new RangeError(`Cannot step: action ${action} is masked out`);
    const reward = Math.sin(3 * this.#observation[action % 4] + action);
    this.#t++;
    this.#draw();
    return {
      observation: this.#observation.slice(),
      reward,
      terminated: this.#t === 8,
      truncated: false,
      info: {},
    };
  }
  actionMask(): Uint8Array {
    return this.#mask.slice();
  }
  clone(): RandomMaskEnv {
    return new RandomMaskEnv();
  }
  getState(): JsonValue {
    return {
      rng: this.#rng.getState() as unknown as JsonValue,
      observation: [...this.#observation],
      mask: [...this.#mask],
      t: this.#t,
    };
  }
  setState(s: JsonValue): void {
    const o = s as unknown as { rng: RngState; observation: number[]; mask: number[]; t: number };
    this.#rng.setState(o.rng);
    this.#observation = Float32Array.from(o.observation);
    this.#mask = Uint8Array.from(o.mask);
    this.#t = o.t;
  }
  #draw(): void {
    for (let i = 0; i < 4; i++) this.#observation[i] = this.#rng.uniformIn(-1, 1);
    do {
      for (let a = 0; a < RANDOM_MASK_ACTIONS; a++) {
        this.#mask[a] = this.#rng.uniform() < 0.5 ? 1 : 0;
      }
    } while (!this.#mask.some((m) => m === 1));
  }
}

/**
 * A memory task: the first observation shows a cue (+1 or −1, at random), the next `delay`
 * observations are blank, and on the last step the action that matches the cue (0 for −1, 1 for
 * +1) pays 1, the other 0. Only a policy that remembers the cue wins more than half the episodes.
 * The cue is observed in the first value; the second value is 1 on the answering step.
 */
export class CueEnv implements Env<{ won: boolean }> {
  readonly id = "cue";
  readonly observationSize = 2;
  readonly actionCount = 2;
  readonly delay: number;
  #rng = new Rng(0);
  #cue = 1;
  #t = 0;

  constructor(delay = 3) {
    this.delay = delay;
  }
  reset(options: ResetOptions = {}): ResetResult<{ won: boolean }> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    this.#cue = this.#rng.uniform() < 0.5 ? -1 : 1;
    this.#t = 0;
    return { observation: Float32Array.of(this.#cue, 0), info: { won: false } };
  }
  step(action: number): StepResult<{ won: boolean }> {
    this.#t++;
    const last = this.#t > this.delay;
    const won = last && action === (this.#cue > 0 ? 1 : 0);
    return {
      observation: Float32Array.of(0, this.#t === this.delay ? 1 : 0),
      reward: won ? 1 : 0,
      terminated: last,
      truncated: false,
      info: { won },
    };
  }
  clone(): CueEnv {
    return new CueEnv(this.delay);
  }
  getState(): JsonValue {
    return { rng: this.#rng.getState() as unknown as JsonValue, cue: this.#cue, t: this.#t };
  }
  setState(s: JsonValue): void {
    const o = s as unknown as { rng: RngState; cue: number; t: number };
    this.#rng.setState(o.rng);
    this.#cue = o.cue;
    this.#t = o.t;
  }
}
