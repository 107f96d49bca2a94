/**
 * Errors a user can cause. Command-line tasks print such an error's message as one line on stderr
 * and exit with code 2 (see `runCli` in cli.ts); every other error is a bug and crashes with a stack.
 *
 * @module
 */

/**
 * The base class of every error a user can cause: a bad flag, a damaged checkpoint, a run
 * directory that is missing or in the way. Its message is written for the user, on one line.
 *
 * @example
 * ```ts
 * import { CheckpointError, UserError } from "@rnnrl/rnnrl/run";
 * const error = new CheckpointError("Cannot read checkpoint: checksum mismatch");
 * if (!(error instanceof UserError)) throw new Error("a CheckpointError is a UserError");
 * ```
 */
export class UserError extends Error {
  /** Creates the error; `message` should be one line. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UserError";
  }
}

/** A bad command line: an unknown flag, a value of the wrong kind or out of range. */
export class UsageError extends UserError {
  /** Creates the error; `message` should be one line. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** A checkpoint that is missing, truncated, corrupted or of an unknown format or version. */
export class CheckpointError extends UserError {
  /** Creates the error; `message` should be one line. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CheckpointError";
  }
}

/** A run directory that is missing, damaged, or in the way of a new run. */
export class RunDirError extends UserError {
  /** Creates the error; `message` should be one line. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RunDirError";
  }
}

/**
 * A file or folder that cannot be used as asked: missing, a symbolic link where rnnrl writes, not
 * readable or writable, a name too long for the file system. A user's problem to fix (exit 2).
 *
 * @example
 * ```ts
 * import { FileError, UserError } from "@rnnrl/rnnrl/run";
 * if (!(new FileError("Cannot write a: it is a symbolic link") instanceof UserError)) {
 *   throw new Error("a FileError is a UserError");
 * }
 * ```
 */
export class FileError extends UserError {
  /** Creates the error; `message` should be one line. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileError";
  }
}

/**
 * The base class of the errors that stop a command for a reason that is not the user's mistake
 * but not a bug either — a full disk, training that diverged, an interruption. Command-line tasks
 * print the message as one line on stderr and exit with {@linkcode StopError.exitCode}.
 *
 * @example
 * ```ts
 * import { DiskFullError, StopError } from "@rnnrl/rnnrl/run";
 * const error = new DiskFullError("Cannot write a: the disk is full");
 * if (!(error instanceof StopError) || error.exitCode !== 1) throw new Error("exit code 1");
 * ```
 */
export class StopError extends Error {
  /** The exit code a command ends with. */
  readonly exitCode: number;
  /** Creates the error; `message` should be one line. */
  constructor(message: string, options?: ErrorOptions & { exitCode?: number }) {
    super(message, options);
    this.name = "StopError";
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A write failed for lack of space: a full disk, a quota, or a file-size limit (exit 1). */
export class DiskFullError extends StopError {
  /** Creates the error; `message` should be one line. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, { ...options, exitCode: 1 });
    this.name = "DiskFullError";
  }
}

// errno values of Linux and macOS, for errors whose `code` Deno leaves unset.
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  13: "EACCES",
  17: "EEXIST",
  20: "ENOTDIR",
  21: "EISDIR",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  63: "ENAMETOOLONG", // macOS
  69: "EDQUOT", // macOS
  122: "EDQUOT",
};

/**
 * The operating system's name for the error behind `error` ("ENOSPC", "EACCES", …), from Deno's
 * `code` or from the "(os error N)" its message ends with; undefined for anything else, and for
 * Deno's own permission refusals (`NotCapable`), which are the task's configuration, not the
 * machine's.
 *
 * @param error Anything thrown.
 * @returns The errno name, or undefined.
 *
 * @example
 * ```ts
 * import { osErrorCode } from "./errors.ts";
 * if (osErrorCode(new Error("File too large (os error 27)")) !== "EFBIG") throw new Error("27");
 * if (osErrorCode(new TypeError("not an os error")) !== undefined) throw new Error("none");
 * ```
 */
export function osErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || isNotCapable(error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return code;
  const match = /\(os error (\d+)\)/.exec(error.message);
  return match ? ERRNO_NAMES[Number(match[1])] ?? `errno ${match[1]}` : undefined;
}

function isNotCapable(error: Error): boolean {
  return typeof Deno !== "undefined" && error instanceof Deno.errors.NotCapable;
}

/** True when `error` is a write that failed for lack of space (ENOSPC, EDQUOT, EFBIG). */
export function isNoSpace(error: unknown): boolean {
  const code = osErrorCode(error);
  return code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
}

/**
 * Turns an operating-system error into one line for the user: a {@linkcode DiskFullError} when
 * space ran out, else a {@linkcode FileError}. Anything that is not an operating-system error (a
 * bug, or a Deno permission refusal) is returned unchanged, to be rethrown.
 *
 * @param what What was being done, e.g. "Cannot write runs/a/eval.json".
 * @param error What was thrown.
 * @param kind The class of the error for anything but lack of space (default FileError).
 * @returns The error to throw.
 *
 * @example
 * ```ts
 * import { DiskFullError, fileSystemError } from "./errors.ts";
 * const error = fileSystemError("Cannot write a", new Error("No space left on device (os error 28)"));
 * if (!(error instanceof DiskFullError)) throw error;
 * if (error.message !== "Cannot write a: the disk is full (No space left on device)") throw error;
 * ```
 */
export function fileSystemError(
  what: string,
  error: unknown,
  kind: new (message: string, options?: ErrorOptions) => UserError = FileError,
): Error {
  if (error instanceof UserError || error instanceof StopError) return error;
  const code = osErrorCode(error);
  if (code === undefined) return error as Error;
  const reason = osReason(error as Error);
  if (isNoSpace(error)) {
    const full = code === "EFBIG" ? "a file-size limit was reached" : "the disk is full";
    return new DiskFullError(`${what}: ${full} (${reason})`, { cause: error });
  }
  return new kind(`${what}: ${reason}`, { cause: error });
}

/** The reason of an operating-system error without Deno's "(os error N): op 'path'" tail. */
function osReason(error: Error): string {
  const line = error.message.split("\n")[0];
  return line.replace(/ \(os error \d+\).*$/, "") || line;
}
