/**
 * Command-line plumbing shared by the tasks: typed flag specifications parsed with `parseArgs`
 * from `node:util` (strict), one-line messages for every mistake a user can make, help text
 * generated from the specification, and {@linkcode runCli}, which turns a user's mistake into one
 * line on stderr and exit code 2 while letting bugs crash with their stack.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileSystemError, osErrorCode, StopError, UsageError, UserError } from "./errors.ts";

export { UsageError };

/** What every flag specification has. */
export interface FlagBase {
  /** One line for the help text. */
  description: string;
}

/** An integer flag, such as `--steps 100000` (also accepts `1e5`). */
export interface IntegerFlag extends FlagBase {
  /** The kind of value. */
  type: "integer";
  /** The value when the flag is absent. */
  default?: number;
  /** The smallest allowed value. */
  min?: number;
  /** The largest allowed value. */
  max?: number;
  /** The flag must be given (ignored when there is a default). */
  required?: boolean;
}

/** A number flag, such as `--gamma 0.99`. */
export interface NumberFlag extends FlagBase {
  /** The kind of value. */
  type: "number";
  /** The value when the flag is absent. */
  default?: number;
  /** The lower bound. */
  min?: number;
  /** The upper bound. */
  max?: number;
  /** The lower bound itself is not allowed. */
  minExclusive?: boolean;
  /** The upper bound itself is not allowed. */
  maxExclusive?: boolean;
  /** The flag must be given (ignored when there is a default). */
  required?: boolean;
}

/** A free-form string flag, such as `--out runs/a`. */
export interface StringFlag extends FlagBase {
  /** The kind of value. */
  type: "string";
  /** The value when the flag is absent. */
  default?: string;
  /** The flag must be given (ignored when there is a default). */
  required?: boolean;
  /** The name of the value in the help text (default "value"). */
  placeholder?: string;
  /**
   * The flag may be given any number of times; its value is then the list of the values given, in
   * order (`[]` when absent, so `default` and `required` do not apply).
   */
  multiple?: boolean;
}

/** A flag that takes one of a fixed list of values, such as `--backend cpu`. */
export interface ChoiceFlag<C extends string = string> extends FlagBase {
  /** The kind of value. */
  type: "choice";
  /** The allowed values. */
  choices: readonly C[];
  /** How the help text names the values when they are too many to list (default: all of them). */
  choicesSummary?: string;
  /** The value when the flag is absent. */
  default?: C;
  /** The flag must be given (ignored when there is a default). */
  required?: boolean;
}

/** A switch such as `--resume`: true when given, false otherwise. */
export interface BooleanFlag extends FlagBase {
  /** The kind of value. */
  type: "boolean";
}

/** Any flag specification. */
export type FlagSpec = IntegerFlag | NumberFlag | StringFlag | ChoiceFlag | BooleanFlag;

/** The positional arguments a command takes, such as the run directories of `report`. */
export interface PositionalSpec {
  /** Their name in help and messages, e.g. "run". */
  name: string;
  /** One line for the help text. */
  description: string;
  /** The fewest allowed (default 0). */
  min?: number;
  /** The most allowed (default unlimited). */
  max?: number;
}

/** A command's specification. */
export interface CliSpec {
  /** How the command is invoked, e.g. "deno task train". */
  name: string;
  /** What the command does, for the help text. */
  summary: string;
  /** The flags, by name as typed (kebab-case: "learning-rate"). `help` is reserved. */
  flags: Record<string, FlagSpec>;
  /** The positional arguments; none are allowed when absent. */
  positionals?: PositionalSpec;
}

/** Turns "learning-rate" into "learningRate". */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** The type a flag's value parses to. */
export type FlagValue<F> = F extends { type: "boolean" } ? boolean
  : F extends { multiple: true } ? string[]
  : F extends { type: "integer" | "number" } ? number
  : F extends { type: "choice"; choices: readonly (infer C)[] } ? C
  : string;

/** Whether a flag always has a value: a switch, a flag with a default, or a required flag. */
export type AlwaysSet<F> = F extends { type: "boolean" } ? true
  : F extends { multiple: true } ? true
  : F extends { default: string | number } ? true
  : F extends { required: true } ? true
  : false;

/** The parsed flags: camelCase keys; `undefined` for an absent flag with no default. */
export type FlagValues<Flags> = {
  -readonly [K in keyof Flags & string as CamelCase<K>]: AlwaysSet<Flags[K]> extends true
    ? FlagValue<Flags[K]>
    : FlagValue<Flags[K]> | undefined;
};

/** What {@linkcode parseCli} returns. */
export interface ParsedCli<Flags> {
  /** The flags, with defaults filled in. */
  flags: FlagValues<Flags>;
  /** The positional arguments. */
  positionals: string[];
}

/**
 * Thrown by {@linkcode parseCli} when the arguments ask for help; {@linkcode runCli} prints its
 * text on stdout and exits with code 0.
 */
export class HelpRequest extends Error {
  /** The help text. */
  readonly text: string;
  /** Creates the request with the text to print. */
  constructor(text: string) {
    super("Help was requested");
    this.name = "HelpRequest";
    this.text = text;
  }
}

/**
 * Returns a specification unchanged, with its literal types kept (choice lists, flag kinds), so
 * that {@linkcode parseCli} can type its result.
 *
 * @param spec The command's specification.
 * @returns `spec`.
 */
export function defineCli<const S extends CliSpec>(spec: S): S {
  return spec;
}

/**
 * Parses command-line arguments against a specification.
 *
 * @param spec The command's specification.
 * @param args The arguments, usually `Deno.args`.
 * @returns The typed flags and the positional arguments.
 * @throws {UsageError} With a one-line message for an unknown flag, a missing or invalid value, a
 * flag given twice, a missing required flag, or the wrong number of positional arguments.
 * @throws {HelpRequest} When the arguments hold `--help` or `-h`.
 *
 * @example
 * ```ts
 * import { defineCli, parseCli } from "./cli.ts";
 * const spec = defineCli({
 *   name: "deno task train",
 *   summary: "Trains an agent.",
 *   flags: {
 *     env: { type: "choice", choices: ["cartpole", "bandit"], default: "cartpole", description: "The task" },
 *     steps: { type: "integer", min: 1, default: 1000, description: "Environment steps" },
 *     "learning-rate": { type: "number", min: 0, minExclusive: true, default: 1e-3, description: "Step size" },
 *     resume: { type: "boolean", description: "Continue the run in --out" },
 *   },
 * });
 * const { flags } = parseCli(spec, ["--steps", "5e4", "--env=bandit", "--resume"]);
 * if (flags.steps !== 50000 || flags.env !== "bandit" || !flags.resume) throw new Error("parsed");
 * if (flags.learningRate !== 1e-3) throw new Error("default");
 * ```
 */
export function parseCli<const S extends CliSpec>(
  spec: S,
  args: readonly string[],
): ParsedCli<S["flags"]> {
  if ("help" in spec.flags) {
    throw new TypeError(`Cannot parse ${spec.name}: the flag --help is reserved`);
  }
  const dashDash = args.indexOf("--");
  const options = args.slice(0, dashDash === -1 ? args.length : dashDash);
  if (options.includes("--help") || options.includes("-h")) throw new HelpRequest(helpText(spec));

  const parsed = strictParse(spec, args);
  const seen = new Set<string>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option" || isMultiple(spec.flags[token.name])) continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once`);
    seen.add(token.name);
  }

  const flags: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    const raw = (parsed.values as Record<string, string | boolean | string[] | undefined>)[name];
    flags[camelCase(name)] = flagValue(name, flag, raw);
  }
  const positionals = parsed.positionals;
  if (spec.positionals !== undefined) checkPositionals(spec.positionals, positionals.length);
  return { flags: flags as FlagValues<S["flags"]>, positionals };
}

/** Parses with `parseArgs` in strict mode; a failure becomes a UsageError naming the mistake. */
function strictParse(spec: CliSpec, args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      options: parseArgsOptions(spec),
      strict: true,
      tokens: true,
      allowPositionals: spec.positionals !== undefined,
    });
  } catch (error) {
    throw new UsageError(diagnose(spec, args) ?? firstLine(error));
  }
}

/** Every flag is a string to parseArgs, except switches; values are checked afterwards. */
function parseArgsOptions(
  spec: CliSpec,
): Record<string, { type: "string" | "boolean"; multiple?: boolean }> {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean }> = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    options[name] = { type: flag.type === "boolean" ? "boolean" : "string" };
    if (isMultiple(flag)) options[name].multiple = true;
  }
  return options;
}

/** Whether a flag may be repeated (a string flag with `multiple`). */
function isMultiple(flag: FlagSpec | undefined): boolean {
  return flag?.type === "string" && flag.multiple === true;
}

function flagValue(
  name: string,
  flag: FlagSpec,
  raw: string | boolean | (string | boolean)[] | undefined,
): unknown {
  if (flag.type === "boolean") return raw === true;
  if (isMultiple(flag)) {
    const values = raw === undefined ? [] : (raw as string[]).map(String);
    if (values.includes("")) throw new UsageError(`--${name} needs a non-empty value`);
    return values;
  }
  if (raw === undefined) {
    if (flag.default === undefined && flag.required) throw new UsageError(`--${name} is required`);
    return flag.default;
  }
  const value = String(raw);
  const bad = () =>
    new UsageError(`--${name} must be ${describeValue(flag)}, got ${JSON.stringify(value)}`);
  switch (flag.type) {
    case "string":
      if (value === "") throw new UsageError(`--${name} needs a non-empty value`);
      return value;
    case "choice":
      if (!flag.choices.includes(value)) {
        throw new UsageError(
          `--${name} must be ${describeValue(flag)}; got ${JSON.stringify(value)}`,
        );
      }
      return value;
    case "integer": {
      const number = parseNumber(value);
      if (number === undefined || !Number.isSafeInteger(number) || !inRange(number, flag)) {
        throw bad();
      }
      return number + 0; // no -0
    }
    case "number": {
      const number = parseNumber(value);
      if (number === undefined || !inRange(number, flag)) throw bad();
      return number + 0; // no -0
    }
  }
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a number the way number and integer flags do: decimal notation only (`5e4` is 50000),
 * no hex, no empty string, no whitespace, no Infinity or NaN.
 *
 * @param text The text.
 * @returns The number, or undefined when the text is not one.
 *
 * @example
 * ```ts
 * import { parseNumber } from "./cli.ts";
 * if (parseNumber("5e4") !== 50000) throw new Error("decimal notation");
 * if (parseNumber("0x10") !== undefined || parseNumber(" 8") !== undefined) throw new Error("refused");
 * ```
 */
export function parseNumber(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : undefined;
}

function inRange(value: number, flag: IntegerFlag | NumberFlag): boolean {
  const minExclusive = flag.type === "number" && flag.minExclusive;
  const maxExclusive = flag.type === "number" && flag.maxExclusive;
  if (flag.min !== undefined && (minExclusive ? value <= flag.min : value < flag.min)) return false;
  if (flag.max !== undefined && (maxExclusive ? value >= flag.max : value > flag.max)) return false;
  return true;
}

/** Describes what a flag accepts, as in "a positive integer" or "a number in [0, 1)". */
function describeValue(flag: FlagSpec): string {
  switch (flag.type) {
    case "boolean":
      return "a switch (no value)";
    case "string":
      return "a non-empty string";
    case "choice":
      return flag.choicesSummary ?? `one of ${flag.choices.join(", ")}`;
    case "integer":
    case "number": {
      const noun = flag.type;
      const article = noun === "integer" ? "an" : "a";
      const { min, max } = flag;
      const minOpen = flag.type === "number" && !!flag.minExclusive;
      const maxOpen = flag.type === "number" && !!flag.maxExclusive;
      if (min !== undefined && max !== undefined) {
        return `${article} ${noun} in ${minOpen ? "(" : "["}${min}, ${max}${maxOpen ? ")" : "]"}`;
      }
      if (min !== undefined) {
        if (min === 0) return `a ${minOpen ? "positive" : "non-negative"} ${noun}`;
        if (min === 1 && noun === "integer") return "a positive integer";
        return `${article} ${noun} ${minOpen ? ">" : ">="} ${min}`;
      }
      if (max !== undefined) return `${article} ${noun} ${maxOpen ? "<" : "<="} ${max}`;
      return `${article} ${noun}`;
    }
  }
}

/** Finds the first mistake in `args`, walking the same tokens parseArgs sees, for a clear message. */
function diagnose(spec: CliSpec, args: readonly string[]): string | undefined {
  const { tokens } = parseArgs({
    args: [...args],
    options: parseArgsOptions(spec),
    strict: false,
    tokens: true,
    allowPositionals: true,
  });
  for (const token of tokens) {
    if (token.kind === "positional") {
      if (spec.positionals === undefined) {
        return `unexpected argument ${JSON.stringify(token.value)} (${spec.name} takes only flags)`;
      }
      continue;
    }
    if (token.kind !== "option") continue;
    const flag = spec.flags[token.name];
    if (flag === undefined) return unknownFlag(spec, token.rawName, token.name);
    if (flag.type === "boolean" && token.value !== undefined) {
      return `--${token.name} takes no value, got ${JSON.stringify(token.value)}`;
    }
    if (flag.type !== "boolean" && token.value === undefined) {
      return `--${token.name} needs a value`;
    }
    if (flag.type !== "boolean" && !token.inlineValue && token.value?.startsWith("-")) {
      // Strict parsing refuses "--seed -1": the value looks like a flag.
      return `--${token.name} needs a value (write --${token.name}=${token.value} for a value ` +
        `that starts with "-")`;
    }
  }
  return undefined;
}

function unknownFlag(spec: CliSpec, rawName: string, name: string): string {
  const names = Object.keys(spec.flags);
  let guess = "";
  let best = Infinity;
  for (const candidate of names) {
    const distance = editDistance(candidate, name);
    if (distance < best && distance <= Math.max(1, Math.floor(candidate.length / 3))) {
      best = distance;
      guess = `did you mean --${candidate}? `;
    }
  }
  return `unknown flag ${rawName} (${guess}valid: ${
    names.map((n) => `--${n}`).join(", ")
  }, --help)`;
}

/** Edit distance counting a swap of neighbours as one edit, to suggest the flag meant. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

function checkPositionals(spec: PositionalSpec, count: number): void {
  const { min = 0, max = Infinity, name } = spec;
  if (count < min) {
    throw new UsageError(
      `expected at least ${min} <${name}> argument${min === 1 ? "" : "s"}, got ${count}`,
    );
  }
  if (count > max) {
    throw new UsageError(
      `expected at most ${max} <${name}> argument${max === 1 ? "" : "s"}, got ${count}`,
    );
  }
}

function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0];
}

/**
 * Generates a command's help text from its specification: usage, summary, and one line per flag
 * with its kind of value, its constraint and its default.
 *
 * @param spec The command's specification.
 * @returns The text, ending with a newline.
 *
 * @example
 * ```ts
 * import { helpText } from "./cli.ts";
 * const text = helpText({
 *   name: "deno task eval",
 *   summary: "Evaluates a trained policy.",
 *   flags: { episodes: { type: "integer", min: 1, default: 100, description: "Episodes to run" } },
 * });
 * if (!text.includes("--episodes <integer>")) throw new Error(text);
 * ```
 */
export function helpText(spec: CliSpec): string {
  const rows: [string, string][] = Object.entries(spec.flags).map(([name, flag]) => {
    const notes: string[] = [];
    if (flag.type === "boolean") return [`--${name}`, flag.description];
    if (flag.type !== "string") notes.push(describeValue(flag));
    if (flag.default !== undefined) notes.push(`default: ${flag.default}`);
    else if (flag.required) notes.push("required");
    const value = flag.type === "string"
      ? flag.placeholder ?? "value"
      : flag.type === "choice"
      ? "name"
      : flag.type;
    if (isMultiple(flag)) notes.push("repeatable");
    const notesText = notes.length > 0 ? ` (${notes.join("; ")})` : "";
    return [`--${name} <${value}>`, `${flag.description}${notesText}`];
  });
  rows.push(["-h, --help", "Show this help"]);

  const positional = spec.positionals;
  let usage = `Usage: ${spec.name} [flags]`;
  if (positional !== undefined) {
    const one = `<${positional.name}>`;
    usage += ` ${(positional.min ?? 0) > 0 ? one : `[${one}]`}`;
    if ((positional.max ?? Infinity) > 1) usage += "...";
  }
  const lines = [usage, "", spec.summary, ""];
  if (positional !== undefined) {
    lines.push("Arguments:", `  <${positional.name}>  ${positional.description}`, "");
  }
  lines.push("Flags:");
  const width = Math.min(30, Math.max(...rows.map(([left]) => left.length)));
  for (const [left, right] of rows) {
    // A flag too long for the column gets its description on the next line.
    lines.push(
      left.length > width
        ? `  ${left}\n  ${" ".repeat(width)}  ${right}`
        : `  ${left.padEnd(width)}  ${right}`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * Runs a value-checking call on behalf of the user: a TypeError or RangeError it throws (say, from
 * an environment's constructor rejecting `--width 0`) becomes a {@linkcode UsageError}, so the
 * command reports it in one line and exits 2 instead of crashing as if it were a bug. Works for
 * synchronous calls and for promises.
 *
 * @param fn The call, e.g. `() => new Minesweeper({ width, height, mines })`.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { fromUserInput } from "./cli.ts";
 * import { UsageError } from "./errors.ts";
 * try {
 *   fromUserInput(() => new Array(-1));
 *   throw new Error("unreachable");
 * } catch (error) {
 *   if (!(error instanceof UsageError)) throw error;
 * }
 * ```
 */
export function fromUserInput<T>(fn: () => T): T {
  const convert = (error: unknown): never => {
    if (error instanceof RangeError || error instanceof TypeError) {
      throw new UsageError(firstLine(error), { cause: error });
    }
    throw error;
  };
  try {
    const result = fn();
    return (result instanceof Promise ? result.catch(convert) : result) as T;
  } catch (error) {
    return convert(error);
  }
}

/** Options of {@linkcode runCli}, mainly for tests. */
export interface RunCliOptions {
  /** Ends the process (default `Deno.exit`). */
  exit?: (code: number) => void;
  /** Writes one line to stderr (default `console.error`). */
  writeError?: (line: string) => void;
  /** Writes text to stdout (default: to `Deno.stdout`). */
  writeOutput?: (text: string) => void;
}

/**
 * Runs a command's main function. A {@linkcode UserError} (a {@linkcode UsageError}, a
 * `CheckpointError`, a `RunDirError`, a `FileError`) prints `error: <message>` on stderr and exits
 * with code 2; a `StopError` (a full disk, a diverged run, an interruption) prints its message the
 * same way and exits with its own code; an error of the operating system that no one worded (a
 * name too long, a permission denied, no space left) is worded here, exit code 2, or 1 when space
 * ran out; a {@linkcode HelpRequest} prints the help on stdout and exits with 0; any other error
 * is a bug and is rethrown, so Deno prints its stack and exits with code 1.
 *
 * @param main The command.
 * @param options Replacements for exit and the output streams.
 *
 * @example
 * ```ts
 * import { runCli } from "./cli.ts";
 * import { UsageError } from "./errors.ts";
 * let code = -1;
 * let line = "";
 * await runCli(() => {
 *   throw new UsageError("--steps must be a positive integer, got \"abc\"");
 * }, { exit: (c) => (code = c), writeError: (l) => (line = l) });
 * if (code !== 2 || line !== 'error: --steps must be a positive integer, got "abc"') throw new Error(line);
 * ```
 */
export async function runCli(
  main: () => unknown,
  options: RunCliOptions = {},
): Promise<void> {
  const exit = options.exit ?? Deno.exit;
  const writeError = options.writeError ?? ((line: string) => console.error(line));
  const writeOutput = options.writeOutput ?? writeStdout;
  try {
    await main();
  } catch (error) {
    if (error instanceof HelpRequest) {
      writeOutput(error.text);
      exit(0);
      return;
    }
    if (error instanceof UserError) {
      writeError(`error: ${firstLine(error)}`);
      exit(2);
      return;
    }
    if (error instanceof StopError) {
      writeError(`error: ${firstLine(error)}`);
      exit(error.exitCode);
      return;
    }
    if (osErrorCode(error) !== undefined) {
      const worded = fileSystemError(osOperation(error as Error), error);
      writeError(`error: ${firstLine(worded)}`);
      exit(worded instanceof StopError ? worded.exitCode : 2);
      return;
    }
    throw error;
  }
}

/** "Cannot open runs/a" from Deno's "… (os error 2): open 'runs/a'", or a plain "Cannot continue". */
function osOperation(error: Error): string {
  const match = /\(os error \d+\): (\w+) '([^']*)'/.exec(error.message);
  if (!match) return "Cannot continue";
  const verbs: Record<string, string> = { readfile: "read", writefile: "write", mkdir: "create" };
  return `Cannot ${verbs[match[1]] ?? match[1]} ${match[2]}`;
}

/**
 * Ends this process as soon as the `deno task` runner that started it is gone, so that no task
 * writes on after the command a user killed. `deno task NAME` starts `deno run …` as its child and
 * passes SIGINT and SIGTERM on to it, but a SIGKILL of the runner cannot be passed on: the child
 * is handed to another parent, and `Deno.ppid` changes. This checks every 100 ms (whenever the
 * event loop turns) and exits with code 1 and `message` on stderr.
 *
 * It watches only under `deno task`, which sets INIT_CWD (read with permission, never prompted
 * for); run directly, a process keeps running when its shell exits, as nohup expects.
 *
 * @param message The line to print, naming what was left behind.
 * @returns Whether it watches.
 */
export function exitWithTaskRunner(message: string): boolean {
  let under: boolean;
  try {
    const granted = Deno.permissions.querySync({ name: "env", variable: "INIT_CWD" }).state;
    under = granted === "granted" && Deno.env.get("INIT_CWD") !== undefined;
  } catch {
    under = false;
  }
  if (!under) return false;
  const parent = Deno.ppid;
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    console.error(`error: Stopped: the deno task process (pid ${parent}) is gone; ${message}`);
    Deno.exit(1);
  }, 100);
  Deno.unrefTimer(timer);
  return true;
}

/**
 * Aborts the returned signal on SIGINT or SIGTERM, so that a task stops politely: training stops
 * at its next boundary with a checkpoint. A signal repeated within a second counts once: a
 * terminal's Ctrl-C reaches `deno task` and this process together, and `deno task` passes it on as
 * well. A later one exits at once (code 130 or 143); every file is written atomically, so that
 * loses only the work since the last checkpoint.
 *
 * @returns The signal; its `reason` is the signal's name, "SIGINT" or "SIGTERM".
 */
export function abortOnSignals(): AbortSignal {
  const controller = new AbortController();
  let first = 0;
  const stop = (name: "SIGINT" | "SIGTERM") => {
    const now = performance.now();
    if (!controller.signal.aborted) {
      first = now;
      controller.abort(name);
    } else if (now - first > 1000) {
      console.error(`error: ${name} again: stopped at once, without a checkpoint`);
      Deno.exit(name === "SIGINT" ? 130 : 143);
    }
  };
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => stop("SIGTERM"));
  Deno.addSignalListener("SIGINT", () => stop("SIGINT"));
  return controller.signal;
}

function writeStdout(text: string): void {
  const bytes = new TextEncoder().encode(text);
  for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
}
