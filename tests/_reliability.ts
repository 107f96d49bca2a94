/**
 * Helpers of the reliability tests: run a `deno task` CLI as a real subprocess with the
 * permissions deno.json grants it, and fingerprint directories to prove nothing was overwritten.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

const DENO_JSON = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json")));

/** The CLIs under tasks/, by their deno.json task name. */
export type TaskName = "train" | "eval" | "export" | "report" | "bandit-testbed";

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
  return { code, signal, stdout: decode(stdout), stderr: decode(stderr) };
}

/** Starts `deno task <task> <args>` as a subprocess (stdout and stderr piped). */
export function spawnTask(
  task: TaskName,
  args: readonly string[],
  options: RunTaskOptions = {},
): Deno.ChildProcess {
  return commandOf(task, args, options).spawn();
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
 * and each directory's path with "dir", so a created, deleted or changed entry shows.
 */
export async function fingerprint(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (path: string, relative: string): Promise<void> => {
    const entries = [];
    for await (const entry of Deno.readDir(path)) entries.push(entry);
    entries.sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const rel = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory) {
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
