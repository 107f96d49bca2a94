/**
 * The work queue that spreads a sweep's runs over machines: a NATS JetStream server holds them.
 *
 * - The stream `RNNRL_RUNS` (work-queue retention) holds one message a run not yet finished, on
 *   the subject `rnnrl.runs.<sweep>.<index>`; its one durable pull consumer, `rnnrl-workers`, hands
 *   each message to one worker at a time. A worker that takes a run says it is still working every
 *   quarter of the consumer's acknowledgement wait; one that dies stops saying so, and the server
 *   hands the run to another worker once the wait has passed.
 * - The object store `rnnrl-runs` holds each run's directory as one archive (lib/run/run_archive.ts)
 *   under `<sweep>/<index>`: the latest checkpoint while it trains, the finished run at the end. A
 *   worker that takes over a run resumes from it.
 * - The key-value bucket `rnnrl-results` holds each run's outcome under `<sweep>.<index>`, written
 *   once: a worker records a run's end with a create that fails when the key exists, so a run that
 *   two workers finish (one was thought dead) is recorded, and counted, once.
 *
 * The sweep (lib/run/queue_sweep.ts) publishes the runs and collects their results; the workers
 * (lib/run/queue_worker.ts) train them. The server must run with JetStream on (`nats-server -js`).
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  type Consumer,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { type ObjectStore, Objm } from "@nats-io/obj";
import { UsageError, UserError } from "../io/errors.ts";

/** The stream of runs waiting or in progress. */
export const RUNS_STREAM = "RNNRL_RUNS";
/** The consumer every worker takes runs from. */
export const WORKERS_CONSUMER = "rnnrl-workers";
/** The object store of run archives. */
export const ARCHIVE_BUCKET = "rnnrl-runs";
/** The key-value bucket of run outcomes. */
export const RESULTS_BUCKET = "rnnrl-results";
/** The format of a run's message. */
export const RUN_JOB_FORMAT = "rnnrl-job/1";
/** How long a run may go unacknowledged before it goes to another worker, by default (s). */
export const DEFAULT_REDELIVER_SECONDS = 60;

/** A run on the queue: what a worker needs to train it, and where the sweep wants it. */
export interface RunJob {
  /** Always {@linkcode RUN_JOB_FORMAT}. */
  format: typeof RUN_JOB_FORMAT;
  /** The sweep's id on the queue. */
  sweep: string;
  /** The run's index in the sweep. */
  index: number;
  /** The run's name in progress lines: "learning-rate=0.001 seed 2". */
  name: string;
  /** The `deno task train` arguments of the run (without `--out`). */
  args: string[];
  /** The rnnrl version that planned it: a worker of another version refuses it. */
  version: string;
}

/** How a run ended, as its worker recorded it. */
export type RunResult =
  | {
    status: "finished";
    /** The worker that finished it. */
    worker: string;
    /** The final evaluation's mean return and episodes. */
    meanReturn: number;
    episodes: number;
    /** Seconds of the worker's last session on it. */
    seconds: number;
    /** The checkpoint step the worker resumed it from, or null when it started it. */
    resumedFrom: number | null;
    /** How many times the queue had handed the run out, this worker included. */
    deliveries: number;
  }
  | {
    status: "failed";
    worker: string;
    /** Why, in one line. */
    message: string;
    resumedFrom: number | null;
    deliveries: number;
  };

/**
 * Reads `--queue`: `nats://HOST[:PORT]` (port 4222 when left out).
 *
 * @param text The flag's value.
 * @returns The server as the client takes it, "HOST:PORT".
 * @throws {UsageError} When it is not such an address.
 *
 * @example
 * ```ts
 * import { parseQueueUrl } from "./work_queue.ts";
 * if (parseQueueUrl("nats://127.0.0.1") !== "127.0.0.1:4222") throw new Error();
 * ```
 */
export function parseQueueUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (
    !url || url.protocol !== "nats:" || url.hostname === "" || url.pathname.replace(/^\/$/, "") ||
    url.search || url.hash || url.username
  ) {
    throw new UsageError(`--queue must be nats://HOST:PORT, got "${text}"`);
  }
  return `${url.hostname}:${url.port || "4222"}`;
}

/** The subject of a run's message. */
export function runSubject(sweep: string, index: number): string {
  return `rnnrl.runs.${sweep}.${index}`;
}

/** The key of a run's result and the name of its archive. */
function runKey(sweep: string, index: number): string {
  return `${sweep}.${index}`;
}

/** A new sweep id: 12 hexadecimal digits, a valid subject token. */
export function newSweepId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode WorkQueue.open}. */
export interface OpenQueueOptions {
  /**
   * The acknowledgement wait to set on the workers' consumer (s). Left out, an existing consumer
   * keeps its own, and a new one gets {@linkcode DEFAULT_REDELIVER_SECONDS}.
   */
  redeliverSeconds?: number;
}

/** A connection to the work queue, its stream, consumer and buckets made when missing. */
export class WorkQueue {
  /** The server, "HOST:PORT". */
  readonly server: string;
  readonly #connection: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #results: KV;
  readonly #archives: ObjectStore;

  private constructor(
    server: string,
    parts: {
      connection: NatsConnection;
      jsm: JetStreamManager;
      results: KV;
      archives: ObjectStore;
    },
  ) {
    this.server = server;
    this.#connection = parts.connection;
    this.#jsm = parts.jsm;
    this.#js = jetstream(parts.connection);
    this.#results = parts.results;
    this.#archives = parts.archives;
  }

  /**
   * Connects to the server, then makes the stream, the consumer and the buckets it lacks.
   *
   * @param server "HOST:PORT", from {@linkcode parseQueueUrl}.
   * @param options The acknowledgement wait to set.
   * @returns The queue.
   * @throws {UserError} When the server cannot be reached or has JetStream off.
   */
  static async open(server: string, options: OpenQueueOptions = {}): Promise<WorkQueue> {
    let connection: NatsConnection;
    try {
      connection = await connect({ servers: server, timeout: 5000, maxReconnectAttempts: -1 });
    } catch (error) {
      throw new UserError(`Cannot reach the work queue at nats://${server}: ${reason(error)}`);
    }
    try {
      const jsm = await jetstreamManager(connection, { timeout: 10_000 });
      await ensureStream(jsm);
      await ensureConsumer(jsm, options.redeliverSeconds);
      const results = await new Kvm(connection).create(RESULTS_BUCKET, { history: 10 });
      const archives = await new Objm(connection).create(ARCHIVE_BUCKET);
      return new WorkQueue(server, { connection, jsm, results, archives });
    } catch (error) {
      await connection.close().catch(() => {});
      if (error instanceof UserError) throw error;
      throw new UserError(
        `Cannot use the work queue at nats://${server}: ${reason(error)} ` +
          "(is JetStream on? start the server with nats-server -js)",
      );
    }
  }

  /** Puts a run on the queue. */
  async publish(job: RunJob): Promise<void> {
    await this.#js.publish(runSubject(job.sweep, job.index), JSON.stringify(job));
  }

  /** Whether a run's message is on the queue still: waiting, or taken by a worker. */
  async isQueued(sweep: string, index: number): Promise<boolean> {
    const message = await this.#jsm.streams.getMessage(RUNS_STREAM, {
      last_by_subj: runSubject(sweep, index),
    });
    return message !== null;
  }

  /**
   * The consumer's acknowledgement wait now (ms): a sweep may have changed it since the queue
   * was opened.
   */
  async ackWaitMs(): Promise<number> {
    const info = await this.#jsm.consumers.info(RUNS_STREAM, WORKERS_CONSUMER);
    return info.config.ack_wait! / 1e6;
  }

  /** The consumer the workers take runs from. */
  async consumer(): Promise<Consumer> {
    return await this.#js.consumers.get(RUNS_STREAM, WORKERS_CONSUMER);
  }

  /** A run's recorded result, or null while it has none. */
  async result(sweep: string, index: number): Promise<RunResult | null> {
    const entry = await this.#results.get(runKey(sweep, index));
    if (!entry || entry.operation !== "PUT") return null;
    return entry.json<RunResult>();
  }

  /**
   * Records a run's result, unless one is recorded already.
   *
   * @returns Whether this call recorded it.
   */
  async recordResult(sweep: string, index: number, result: RunResult): Promise<boolean> {
    try {
      await this.#results.create(runKey(sweep, index), JSON.stringify(result));
      return true;
    } catch (error) {
      if (await this.result(sweep, index) !== null) return false;
      throw error;
    }
  }

  /** Forgets a run's result (a failed run is tried again). */
  async forgetResult(sweep: string, index: number): Promise<void> {
    await this.#results.delete(runKey(sweep, index));
  }

  /** Every revision of a run's result, oldest first (a run finished once has one). */
  async resultHistory(sweep: string, index: number): Promise<RunResult[]> {
    const revisions: RunResult[] = [];
    for await (const entry of await this.#results.history({ key: runKey(sweep, index) })) {
      if (entry.operation === "PUT") revisions.push(entry.json<RunResult>());
    }
    return revisions;
  }

  /**
   * Calls `onResult` for each result of a sweep recorded now or later, until the returned stop
   * is called.
   */
  async watchResults(
    sweep: string,
    onResult: (index: number, result: RunResult) => void | Promise<void>,
  ): Promise<() => void> {
    const watcher = await this.#results.watch({ key: `${sweep}.*` });
    void (async () => {
      for await (const entry of watcher) {
        if (entry.operation !== "PUT") continue;
        await onResult(Number(entry.key.slice(sweep.length + 1)), entry.json<RunResult>());
      }
    })();
    return () => watcher.stop();
  }

  /** Stores a run's archive, replacing the one before. */
  async putArchive(sweep: string, index: number, archive: Uint8Array): Promise<void> {
    await this.#archives.putBlob({ name: `${sweep}/${index}` }, archive);
  }

  /** A run's archive, or null when none was stored. */
  async getArchive(sweep: string, index: number): Promise<Uint8Array | null> {
    return await this.#archives.getBlob(`${sweep}/${index}`);
  }

  /** Removes a run's archive, once the sweep holds the run. */
  async deleteArchive(sweep: string, index: number): Promise<void> {
    await this.#archives.delete(`${sweep}/${index}`);
  }

  /** Closes the connection, after what was sent has reached the server. */
  async close(): Promise<void> {
    await this.#connection.drain().catch(() => this.#connection.close());
  }
}

/** A message of the queue, read as a run. */
export function readJob(message: JsMsg): RunJob | undefined {
  try {
    const job = message.json<RunJob>();
    const ok = job?.format === RUN_JOB_FORMAT && typeof job.sweep === "string" &&
      Number.isSafeInteger(job.index) && typeof job.name === "string" &&
      Array.isArray(job.args) && job.args.every((a) => typeof a === "string") &&
      typeof job.version === "string";
    return ok ? job : undefined;
  } catch {
    return undefined;
  }
}

async function ensureStream(jsm: JetStreamManager): Promise<void> {
  try {
    await jsm.streams.info(RUNS_STREAM);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.streams.add({
      name: RUNS_STREAM,
      subjects: ["rnnrl.runs.>"],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    });
  }
}

/** Makes the consumer, or sets its wait. */
async function ensureConsumer(jsm: JetStreamManager, seconds?: number): Promise<void> {
  const wanted = seconds === undefined ? undefined : Math.round(seconds * 1e9);
  try {
    const info = await jsm.consumers.info(RUNS_STREAM, WORKERS_CONSUMER);
    if (wanted !== undefined && info.config.ack_wait !== wanted) {
      await jsm.consumers.update(RUNS_STREAM, WORKERS_CONSUMER, { ack_wait: wanted });
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await jsm.consumers.add(RUNS_STREAM, {
      durable_name: WORKERS_CONSUMER,
      ack_policy: AckPolicy.Explicit,
      ack_wait: wanted ?? DEFAULT_REDELIVER_SECONDS * 1e9,
      max_deliver: -1,
    });
  }
}

function isNotFound(error: unknown): boolean {
  return /not found/i.test(reason(error));
}

function reason(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0];
}
