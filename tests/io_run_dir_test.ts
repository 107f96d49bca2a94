import assert from "node:assert/strict";
import { join } from "node:path";
import { FileError, RunDirError } from "../lib/io/errors.ts";
import {
  configHash,
  createRunDir,
  defaultRunName,
  isRunDir,
  MetricsWriter,
  openRunDir,
  readConfig,
  readEval,
  readMetrics,
  runFile,
  runtimeVersions,
  writeConfig,
  writeEval,
} from "../lib/io/run_dir.ts";
import { LOCK_FILE, readLockHolder, RunLock } from "../lib/io/run_lock.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejectsRunDir(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.ok(error instanceof RunDirError, `expected RunDirError, got ${error}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"));
    return true;
  });
}

function throwsRunDir(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (error: Error) => {
    assert.ok(error instanceof RunDirError, `expected RunDirError, got ${error}`);
    assert.match(error.message, pattern);
    return true;
  });
}

const episode = (n: number) => ({
  kind: "episode",
  step: 10 * n,
  episode: n,
  return: n + 0.5,
  length: 10,
});

Deno.test("defaultRunName names the run after its local start time", () => {
  const now = new Date(2025, 11, 31, 23, 5, 9);
  assert.equal(defaultRunName({ now }), join("runs", "2025-12-31_23-05-09"));
  assert.equal(defaultRunName({ now, root: "/tmp/r" }), "/tmp/r/2025-12-31_23-05-09");
  assert.match(defaultRunName(), /^runs\/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$/);
});

Deno.test("createRunDir adds a suffix when the default name is taken", async () => {
  await withTempDir(async (root) => {
    const now = new Date(2024, 0, 2, 3, 4, 5);
    const first = await createRunDir({ root, now });
    const second = await createRunDir({ root, now });
    const third = await createRunDir({ root, now });
    assert.equal(first, join(root, "2024-01-02_03-04-05"));
    assert.equal(second, `${first}-2`);
    assert.equal(third, `${first}-3`);
    for (const dir of [first, second, third]) assert.ok((await Deno.stat(dir)).isDirectory);
  });
});

Deno.test("createRunDir takes a new or empty --out and refuses anything else", async () => {
  await withTempDir(async (root) => {
    const nested = join(root, "a", "b", "run");
    assert.equal(await createRunDir({ out: nested }), nested);
    assert.equal(await createRunDir({ out: nested }), nested, "an empty directory is reused");

    await Deno.writeTextFile(join(nested, "notes.txt"), "mine");
    await rejectsRunDir(createRunDir({ out: nested }), /exists and is not empty \(choose another/);
    assert.equal(await Deno.readTextFile(join(nested, "notes.txt")), "mine", "nothing was touched");

    await writeConfig(nested, { env: "cartpole" });
    await rejectsRunDir(createRunDir({ out: nested }), /pass --resume to continue that run/);

    const file = join(root, "file");
    await Deno.writeTextFile(file, "x");
    await rejectsRunDir(createRunDir({ out: file }), /a file of that name exists/);
    await rejectsRunDir(createRunDir({ out: join(file, "run") }), /Cannot create run directory/);
  });
});

Deno.test("isRunDir and openRunDir recognise run directories", async () => {
  await withTempDir(async (root) => {
    const run = join(root, "run");
    await Deno.mkdir(run);
    assert.equal(await isRunDir(run), false);
    assert.equal(await isRunDir(join(root, "missing")), false);
    await rejectsRunDir(openRunDir(join(root, "missing")), /does not exist/);
    await rejectsRunDir(openRunDir(run), /has no config\.json/);

    await Deno.writeTextFile(join(root, "file"), "x");
    assert.equal(await isRunDir(join(root, "file")), false);
    await rejectsRunDir(openRunDir(join(root, "file")), /not a directory/);

    await writeConfig(run, { seed: 1 });
    assert.equal(await isRunDir(run), true);
    assert.equal(await openRunDir(run), run);
    await rejectsRunDir(openRunDir(run, { requireCheckpoint: true }), /no checkpoint\.bin/);
    await Deno.writeFile(runFile(run, "checkpoint"), new Uint8Array(1));
    assert.equal(await openRunDir(run, { requireCheckpoint: true }), run);
  });
});

Deno.test("writeConfig and readConfig round-trip and reject what is not JSON", async () => {
  await withTempDir(async (dir) => {
    const config = {
      options: { env: "cartpole-masked", steps: 100000, gamma: 0.99, resume: false },
      versions: runtimeVersions(),
      backend: "cpu",
      adapter: null,
    };
    await writeConfig(dir, config);
    assert.deepStrictEqual(await readConfig(dir), config);
    assert.ok((await Deno.readTextFile(runFile(dir, "config"))).endsWith("}\n"));
    assert.equal(config.versions.deno, Deno.version.deno);
    assert.match(String(config.versions.rnnrl), /^\d+\.\d+\.\d+/);

    await assert.rejects(writeConfig(dir, { gamma: NaN }), TypeError);
    assert.deepStrictEqual(await readConfig(dir), config, "a failed write keeps the old file");

    await Deno.writeTextFile(runFile(dir, "config"), "{ not json");
    await rejectsRunDir(readConfig(dir), /invalid JSON/);
    await Deno.writeTextFile(runFile(dir, "config"), "[1]");
    await rejectsRunDir(readConfig(dir), /not a JSON object/);
    await Deno.remove(runFile(dir, "config"));
    await rejectsRunDir(readConfig(dir), /does not exist/);
  });
});

Deno.test("configHash ignores key order and tells configurations apart", async () => {
  const a = await configHash({ env: "cartpole", opts: { lr: 0.001, gamma: 0.99 } });
  const b = await configHash({ opts: { gamma: 0.99, lr: 0.001 }, env: "cartpole" });
  const c = await configHash({ env: "cartpole", opts: { lr: 0.002, gamma: 0.99 } });
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(a, b);
  assert.notEqual(a, c);
});

Deno.test("writeEval and readEval round-trip and check the fields", async () => {
  await withTempDir(async (dir) => {
    const result = {
      episodes: 3,
      meanReturn: 2,
      stdReturn: 0.816496580927726,
      seed: 7,
      returns: [1, 2, 3],
      winRate: 0.5,
      lengths: [1, 2, 3],
    };
    await writeEval(dir, result);
    assert.deepStrictEqual(await readEval(dir), result);
    await assert.rejects(writeEval(dir, { ...result, meanReturn: NaN }), TypeError);

    await Deno.writeTextFile(runFile(dir, "eval"), JSON.stringify({ ...result, returns: "x" }));
    await rejectsRunDir(readEval(dir), /"returns" is not an array of numbers/);
    await Deno.writeTextFile(runFile(dir, "eval"), JSON.stringify({ ...result, seed: "7" }));
    await rejectsRunDir(readEval(dir), /"seed" is not a number/);
    await Deno.writeTextFile(runFile(dir, "eval"), JSON.stringify({ ...result, winRate: "1" }));
    await rejectsRunDir(readEval(dir), /"winRate"/);
  });
});

Deno.test("MetricsWriter buffers lines and reports the file length", async () => {
  await withTempDir(async (dir) => {
    const path = runFile(dir, "metrics");
    const log = MetricsWriter.open(path, { bufferBytes: 200 });
    log.write(episode(1));
    const oneLine = JSON.stringify(episode(1)).length + 1;
    assert.equal(log.byteLength, oneLine);
    assert.equal((await Deno.stat(path)).size, 0, "buffered, not yet written");
    for (let n = 2; n <= 4; n++) log.write(episode(n));
    assert.ok((await Deno.stat(path)).size > 0, "a full buffer is written");
    log.write({ kind: "train", step: 40, loss: 0.25, q: [1, 2] });
    const length = log.flush({ sync: true });
    assert.equal(length, (await Deno.stat(path)).size);
    assert.equal(length, log.byteLength);
    log.close();

    const records = await readMetrics(dir);
    assert.deepStrictEqual(records, [
      ...[1, 2, 3, 4].map(episode),
      { kind: "train", step: 40, loss: 0.25, q: [1, 2] },
    ]);
    assert.deepStrictEqual(await readMetrics(dir, { kind: "train" }), [records[4]]);
  });
});

Deno.test("MetricsWriter rejects records that are not plain JSON", async () => {
  await withTempDir(async (dir) => {
    const log = MetricsWriter.open(runFile(dir, "metrics"));
    try {
      assert.throws(() => log.write({ kind: "train", step: 1, loss: NaN }), /loss is NaN/);
      assert.throws(() => log.write({ step: 1 } as never), /string kind/);
      assert.throws(() => log.write({ kind: "x", step: Infinity }), /finite step/);
      assert.equal(log.byteLength, 0);
    } finally {
      log.close();
    }
    assert.equal((await Deno.stat(runFile(dir, "metrics"))).size, 0, "nothing was written");
  });
});

Deno.test("MetricsWriter resumed from a checkpoint writes the log of an uninterrupted run", async () => {
  await withTempDir(async (dir) => {
    // The uninterrupted run: episodes 1..12.
    const straight = join(dir, "straight.jsonl");
    const full = MetricsWriter.open(straight);
    for (let n = 1; n <= 12; n++) full.write(episode(n));
    full.close();

    // The interrupted run: a checkpoint after episode 6, more episodes, then a crash that loses
    // buffered lines and leaves a torn line.
    const path = join(dir, "resumed.jsonl");
    const log = MetricsWriter.open(path);
    for (let n = 1; n <= 6; n++) log.write(episode(n));
    const metricsBytes = log.flush({ sync: true });
    for (let n = 7; n <= 9; n++) log.write(episode(n));
    log.flush();
    log.write(episode(10)); // buffered, never written
    const file = await Deno.open(path, { append: true });
    await file.write(new TextEncoder().encode('{"kind":"episode","st'));
    file.close();

    // Resume: training restarts from the checkpoint's state and replays episodes 7..12.
    const resumed = MetricsWriter.open(path, { truncateTo: metricsBytes });
    assert.equal(resumed.byteLength, metricsBytes);
    for (let n = 7; n <= 12; n++) resumed.write(episode(n));
    resumed.close();
    assert.equal(await Deno.readTextFile(path), await Deno.readTextFile(straight));
    log.close(); // the "crashed" writer's handle, released only now
  });
});

Deno.test("MetricsWriter refuses to resume a log that does not match the checkpoint", async () => {
  await withTempDir(async (dir) => {
    const path = runFile(dir, "metrics");
    const log = MetricsWriter.open(path);
    log.write(episode(1));
    const length = log.flush();
    log.close();
    throwsRunDir(() => MetricsWriter.open(path, { truncateTo: length + 1 }), /fewer than/);
    throwsRunDir(() => MetricsWriter.open(path, { truncateTo: length - 1 }), /does not end a line/);
    for (const bad of [-1, 1.5, NaN, "12" as never]) {
      throwsRunDir(() => MetricsWriter.open(path, { truncateTo: bad }), /is invalid/);
    }
    assert.equal((await Deno.stat(path)).size, length, "refusals change nothing");
    MetricsWriter.open(path, { truncateTo: 0 }).close();
    assert.equal((await Deno.stat(path)).size, 0);
  });
});

Deno.test("readMetrics skips a torn last line and reports a malformed one", async () => {
  await withTempDir(async (dir) => {
    const path = runFile(dir, "metrics");
    await rejectsRunDir(readMetrics(dir), /does not exist/);
    const lines = [episode(1), episode(2)].map((r) => JSON.stringify(r));
    await Deno.writeTextFile(path, lines.join("\n") + "\n" + '{"kind":"epi');
    assert.deepStrictEqual(await readMetrics(dir), [episode(1), episode(2)]);
    await Deno.writeTextFile(path, [lines[0], "", "oops", lines[1], ""].join("\n"));
    await rejectsRunDir(readMetrics(dir), /line 3 is not valid JSON/);
    await Deno.writeTextFile(path, lines[0] + '\n{"kind":"episode"}\n');
    await rejectsRunDir(readMetrics(dir), /line 2 is not a record with kind and step/);
  });
});

Deno.test("RunLock admits one holder, survives its holder's end, and refuses a link", async () => {
  await withTempDir(async (root) => {
    const lock = await RunLock.acquire(root, { command: "test" });
    assert.equal((await readLockHolder(root))?.pid, Deno.pid);
    await assert.rejects(RunLock.acquire(root), (error: Error) => {
      assert.ok(error instanceof RunDirError);
      assert.match(error.message, /another process \(pid \d+, test, since .+\) is writing to it/);
      return true;
    });
    await lock.release();
    await assert.rejects(Deno.stat(join(root, LOCK_FILE)), Deno.errors.NotFound);
    // A lock file whose holder ended (nobody holds its lock) is taken over.
    await Deno.writeTextFile(join(root, LOCK_FILE), '{"pid":1,"command":"gone"}');
    const again = await RunLock.acquire(root);
    assert.equal(again.previous?.command, "gone");
    await again.release();
    await Deno.writeTextFile(join(root, "mine.txt"), "mine");
    await Deno.symlink(join(root, "mine.txt"), join(root, LOCK_FILE));
    await assert.rejects(RunLock.acquire(root), FileError);
    assert.equal(await Deno.readTextFile(join(root, "mine.txt")), "mine");
  });
});

Deno.test("MetricsWriter refuses a symbolic link and a log whose kept lines are damaged", async () => {
  await withTempDir(async (root) => {
    const path = join(root, "metrics.jsonl");
    await Deno.writeTextFile(join(root, "mine.txt"), "mine\n");
    await Deno.symlink(join(root, "mine.txt"), path);
    assert.throws(() => MetricsWriter.open(path), FileError);
    assert.throws(() => MetricsWriter.open(path, { truncateTo: 0 }), FileError);
    assert.equal(await Deno.readTextFile(join(root, "mine.txt")), "mine\n");
    await Deno.remove(path);
    await Deno.writeTextFile(
      path,
      '{"kind":"episode","step":1}\nnot json\n{"kind":"x","step":3}\n',
    );
    assert.throws(() => MetricsWriter.open(path, { truncateTo: 37 }), /line 2 is not valid JSON/);
    assert.throws(
      () => MetricsWriter.open(join(root, "none.jsonl"), { truncateTo: 5 }),
      /does not exist/,
    );
    await assert.rejects(Deno.stat(join(root, "none.jsonl")), Deno.errors.NotFound);
  });
});
