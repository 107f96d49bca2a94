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
 * import { CheckpointError, UserError } from "./mod.ts";
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
