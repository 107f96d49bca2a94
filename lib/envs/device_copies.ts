/**
 * What {@linkcode DeviceCartPole} and {@linkcode DevicePendulum} share: N copies of an
 * environment whose float32 state rows live in a backend's memory, their checks, their reset
 * from a state drawn on the host, and the disposal of a step's tensors.
 *
 * @module
 */

import type { Backend, Tensor } from "../backend/backend.ts";

/** Writes copy i's observation from a state array into `out`. */
export type ObserveCopy = (state: Float32Array, i: number, out: Float32Array) => void;

/** N copies of an environment stepped by a backend op; subclasses add `step`. */
export abstract class DeviceCopies {
  /** The backend that holds the state and steps it. */
  readonly backend: Backend;
  /** The number of copies. */
  readonly count: number;
  /** The time limit in steps. */
  readonly maxEpisodeSteps: number;
  /** Keys the reset draws. */
  seed: number;
  /** `[count, stateSize]`: each copy's state row (float32), in the backend's memory, in place. */
  readonly state: Tensor;

  /** Checks the count and the time limit and allocates the state (zeros until `reset`). */
  protected constructor(
    name: string,
    backend: Backend,
    count: number,
    stateSize: number,
    options: { maxEpisodeSteps: number; seed?: number },
  ) {
    if (!(Number.isSafeInteger(count) && count >= 1)) {
      throw new RangeError(`Cannot create ${name}: count is ${count}, expected an integer >= 1`);
    }
    const { maxEpisodeSteps } = options;
    // Step counts are float32 in the state: exact up to 2^24.
    if (
      !(Number.isSafeInteger(maxEpisodeSteps) && maxEpisodeSteps >= 1 && maxEpisodeSteps <= 2 ** 24)
    ) {
      throw new RangeError(
        `Cannot create ${name}: maxEpisodeSteps is ${maxEpisodeSteps}, expected an integer in 1..2^24`,
      );
    }
    this.backend = backend;
    this.count = count;
    this.maxEpisodeSteps = maxEpisodeSteps;
    this.seed = (options.seed ?? 0) >>> 0;
    this.state = backend.zeros([count, stateSize]);
  }

  /**
   * Uploads `initial` (every copy's episode-0 state) and returns the observations of it,
   * `[count, observationSize]`, a new tensor the caller disposes.
   */
  protected start(initial: Float32Array, observationSize: number, observe: ObserveCopy): Tensor {
    this.backend.write(this.state, initial);
    const observations = new Float32Array(this.count * observationSize);
    for (let i = 0; i < this.count; i++) observe(initial, i, observations);
    return this.backend.tensor(observations, [this.count, observationSize]);
  }

  /** Checks that a step gets one value per copy. */
  protected checkStep(name: string, values: Tensor, what: string): void {
    if (values.size !== this.count) {
      throw new RangeError(
        `Cannot step ${name}: got ${values.size} ${what} for ${this.count} copies`,
      );
    }
  }

  /** Reads the state back (see {@linkcode DeviceCopies.state}). */
  readState(): Promise<Float32Array> {
    return this.backend.read(this.state);
  }

  /** Releases the state; the copies must not be stepped afterwards. */
  destroy(): void {
    this.backend.dispose(this.state);
  }

  /** Disposes the tensors of one step's result. */
  static dispose<T extends { [K in keyof T]: Tensor }>(backend: Backend, step: T): void {
    for (const t of Object.values(step) as Tensor[]) backend.dispose(t);
  }
}
