/**
 * How `deno task train` stops, and who may write into a run directory:
 *
 * - a kill loop against the task runner (`deno task train`, the process a user starts) and against
 *   the `deno run` process itself, with SIGKILL, SIGINT and SIGTERM: after each kill no process is
 *   left writing (the run directory's lock is free and its holder is gone), SIGINT and SIGTERM
 *   leave a checkpoint at the step they stopped at and one line saying how to resume, and the run
 *   resumed after the last kill ends byte for byte like one that was never interrupted;
 * - SIGINT stops an on-policy (A2C) run at an update boundary just as exactly;
 * - a second writer (train --resume, export, report) is refused with one line while a run trains,
 *   the training run is not disturbed, and a lock left by a dead process is taken over.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { type Checkpoint, CHECKPOINT_FILE, decodeCheckpoint } from "../lib/io/checkpoint.ts";
import {
  fingerprint,
  finish,
  lines,
  lockIsFree,
  runTask,
  spawnTask,
  spawnTaskRunner,
  type TaskOutput,
  waitFor,
} from "./helpers/mod.ts";

const EVERY = 1000;

/** DQN on CartPole with a 32×32 network: about 0.3 s per 1000 steps here. */
function dqnArgs(steps: number): string[] {
  return [
    ...["--backend", "cpu", "--seed", "5", "--steps", String(steps), "--hidden", "32,32"],
    ...["--checkpoint-every", String(EVERY), "--eval-episodes", "5"],
  ];
}

/** The checkpoint of `dir`, decoded (and so checked); undefined when there is none. */
async function readCheckpoint(dir: string): Promise<Checkpoint | undefined> {
  const path = join(dir, CHECKPOINT_FILE);
  try {
    return decodeCheckpoint(await Deno.readFile(path), { finiteOnly: true, source: path });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

async function checkpointStep(dir: string): Promise<number> {
  return ((await readCheckpoint(dir))?.header.step as number | undefined) ?? 0;
}

/** The checkpoint without its wall-clock field, for comparison. */
function comparable(checkpoint: Checkpoint | undefined) {
  assert.ok(checkpoint !== undefined, "the checkpoint exists");
  const { wallTimeSeconds: _, ...header } = checkpoint.header;
  return {
    header,
    arrays: checkpoint.arrays.map((a) => ({
      name: a.name,
      shape: a.shape,
      bytes: new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength),
    })),
  };
}

async function evalWithoutTime(dir: string) {
  const { wallTimeSeconds, ...rest } = JSON.parse(await Deno.readTextFile(join(dir, "eval.json")));
  assert.equal(typeof wallTimeSeconds, "number");
  return rest;
}

/** Asserts that `dir` ends exactly as `reference` did: log, evaluation and last checkpoint. */
async function assertSameRun(dir: string, reference: string): Promise<void> {
  assert.deepEqual(
    await Deno.readFile(join(dir, "metrics.jsonl")),
    await Deno.readFile(join(reference, "metrics.jsonl")),
    "metrics.jsonl",
  );
  assert.deepEqual(await evalWithoutTime(dir), await evalWithoutTime(reference));
  assert.deepEqual(
    comparable(await readCheckpoint(dir)),
    comparable(await readCheckpoint(reference)),
  );
  const leftovers = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".")) leftovers.push(entry.name);
  }
  assert.deepEqual(leftovers, [], "no lock or temporary file is left behind");
}

/** The pid the lock of `dir` records, once a process holds it. */
async function lockHolder(dir: string): Promise<number | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(join(dir, ".lock"))).pid;
  } catch {
    return undefined;
  }
}

const hasProc = await Deno.stat("/proc/self").then(() => true, () => false);

/** After a kill: the lock is released, its holder is gone, and nothing in `dir` changes. */
async function assertNoWriterLeft(dir: string, holder: number, what: string): Promise<void> {
  const free = await waitFor(() => lockIsFree(dir), 10_000);
  if (!free) {
    Deno.kill(holder, "SIGKILL"); // do not leave it running past the test
    assert.fail(`${what}: process ${holder} still holds the lock of ${dir} 10 s after the kill`);
  }
  if (hasProc) {
    const gone = await waitFor(
      () => Deno.stat(`/proc/${holder}`).then(() => false, () => true),
      5000,
    );
    assert.ok(gone, `${what}: process ${holder} is still running`);
  }
  const before = await fingerprint(dir);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(await fingerprint(dir), before, `${what}: nothing writes into ${dir} any more`);
}

/** How each round of the kill loop stops the run: whom it signals, and with what. */
const KILLS: { via: "runner" | "process"; signal: Deno.Signal }[] = [
  { via: "runner", signal: "SIGKILL" },
  { via: "process", signal: "SIGINT" },
  { via: "runner", signal: "SIGTERM" },
  { via: "process", signal: "SIGKILL" },
  { via: "runner", signal: "SIGINT" },
  { via: "process", signal: "SIGTERM" },
  { via: "runner", signal: "SIGKILL" },
];

Deno.test({
  name:
    "deno task train killed through its task runner and directly, by SIGKILL, SIGINT and SIGTERM, leaves no writer and ends byte for byte like an uninterrupted run",
  ignore: Deno.build.os === "windows",
  async fn() {
    const steps = 2 * (KILLS.length + 1) * EVERY; // room for rounds that pass two checkpoints
    const root = await Deno.makeTempDir({ prefix: "rnnrl_kill_" });
    try {
      const reference = join(root, "reference");
      const full = await runTask("train", [...dqnArgs(steps), "--out", reference]);
      assert.equal(full.code, 0, full.stderr);

      const dir = join(root, "killed");
      for (let k = 0; k < KILLS.length; k++) {
        const { via, signal } = KILLS[k];
        const what = `kill ${k + 1} (${signal} to the ${via})`;
        const args = k === 0 ? [...dqnArgs(steps), "--out", dir] : ["--resume", "--out", dir];
        const child = via === "runner" ? spawnTaskRunner("train", args) : spawnTask("train", args);
        const output = finish(child);
        let exited = false;
        child.status.then(() => (exited = true));
        // Each round trains past one more checkpoint, then a little further, and is stopped.
        const from = await checkpointStep(dir);
        await waitFor(async () =>
          exited ||
          (await checkpointStep(dir) > from && await lockHolder(dir) !== undefined), 60_000);
        await new Promise((resolve) => setTimeout(resolve, 40 * (k % 3)));
        const holder = await lockHolder(dir);
        assert.ok(!exited && holder !== undefined, `${what}: the run was still training`);
        child.kill(signal);
        await child.status;
        await assertNoWriterLeft(dir, holder, what);
        const out: TaskOutput = await output;

        const checkpoint = await readCheckpoint(dir);
        assert.ok(checkpoint !== undefined, `${what}: checkpoint.bin exists and decodes`);
        const step = checkpoint.header.step as number;
        assert.ok(step > from && step < steps, `${what}: stopped during training, at ${step}`);
        await assert.rejects(Deno.stat(join(dir, "eval.json")), Deno.errors.NotFound);
        if (signal !== "SIGKILL") {
          // A polite stop: a checkpoint where it stopped, and one line saying how to go on.
          assert.equal(out.code, signal === "SIGINT" ? 130 : 143, `${what}: ${out.stderr}`);
          assert.equal(
            lines(out.stderr).at(-1),
            `error: Interrupted by ${signal} at step ${step}: its checkpoint is saved; ` +
              `continue with deno task train --resume --out ${dir}`,
          );
          const lastLine = (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trimEnd()
            .split("\n").at(-1)!;
          assert.ok(JSON.parse(lastLine).step <= step, "the log ends at the checkpoint");
        }
      }

      const resumed = await runTask("train", ["--resume", "--out", dir]);
      assert.equal(resumed.code, 0, resumed.stderr);
      await assertSameRun(dir, reference);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "deno task train of A2C stopped by SIGINT saves at an update boundary and resumes exactly",
  ignore: Deno.build.os === "windows",
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "rnnrl_sigint_a2c_" });
    try {
      // One chunk: without the signal, no checkpoint is taken before the end.
      const args = [
        ...["--env", "cartpole-masked", "--algo", "a2c", "--backend", "cpu", "--seed", "2"],
        ...["--steps", "12000", "--checkpoint-every", "12000", "--eval-episodes", "3"],
      ];
      const reference = join(root, "reference");
      const full = await runTask("train", [...args, "--out", reference]);
      assert.equal(full.code, 0, full.stderr);

      const dir = join(root, "stopped");
      const child = spawnTask("train", [...args, "--out", dir]);
      // Read stderr as it comes, and stop the run once its progress line says 10%.
      let stderr = "";
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      const stdout = new Response(child.stdout).text();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stderr += value;
        if (/steps \(10%\)/.test(stderr)) break;
      }
      child.kill("SIGINT");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        stderr += value;
      }
      const status = await child.status;
      await stdout;
      assert.equal(status.code, 130, stderr);
      const step = (await readCheckpoint(dir))?.header.step as number;
      assert.ok(step > 1000 && step < 12000, `stopped between checkpoints, at step ${step}`);
      assert.match(lines(stderr).at(-1)!, /^error: Interrupted by SIGINT at step \d+: /);

      const resumed = await runTask("train", ["--resume", "--out", dir]);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, new RegExp(`resuming ${dir} at step ${step} of 12000`));
      await assertSameRun(dir, reference);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("a run directory has one writer: a second one is refused in one line, and a dead one's lock is taken over", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_lock_" });
  try {
    const reference = join(root, "reference");
    const full = await runTask("train", [...dqnArgs(4000), "--out", reference]);
    assert.equal(full.code, 0, full.stderr);

    const dir = join(root, "run");
    const child = spawnTask("train", [...dqnArgs(4000), "--out", dir]);
    const output = finish(child);
    const holding = await waitFor(async () => await checkpointStep(dir) >= EVERY, 60_000);
    assert.ok(holding && await lockHolder(dir) !== undefined, "the run trains and holds the lock");
    // Paused, it holds the lock for as long as the other commands need, however slow they start.
    child.kill("SIGSTOP");
    try {
      const busy =
        `error: Cannot use run directory ${dir}: another process \\(pid ${await lockHolder(
          dir,
        )}, deno task train, since [^)]+\\) is writing to it \\(wait for it to finish, or stop it\\)`;
      const refusals: [string, Promise<TaskOutput>, string][] = [
        ["train --resume", runTask("train", ["--resume", "--out", dir]), busy],
        ["export", runTask("export", ["--run", dir]), busy],
        [
          "report",
          runTask("report", [dir]),
          `${busy}; write the report elsewhere with --out FILE.html`,
        ],
        [
          "train --out (a new run)",
          runTask("train", [...dqnArgs(4000), "--out", dir]),
          `error: Cannot create run directory ${dir}: it exists and is not empty \\(pass --resume`,
        ],
      ];
      for (const [what, refused, pattern] of refusals) {
        const out = await refused;
        assert.equal(out.code, 2, `${what}: ${out.stderr}`);
        assert.equal(lines(out.stderr).length, 1, `${what}: one line, got\n${out.stderr}`);
        assert.match(out.stderr, new RegExp(`^${pattern}`), what);
        assert.equal(out.stdout, "", what);
      }
    } finally {
      child.kill("SIGCONT");
    }
    const first = await output;
    assert.equal(first.code, 0, first.stderr);
    await assertSameRun(dir, reference); // nobody else wrote into it

    // A lock file left by a process that ended (the kernel released its lock) is taken over.
    await Deno.writeTextFile(
      join(dir, ".lock"),
      JSON.stringify({ pid: 2147483646, parentPid: 1, command: "deno task train", since: "" }),
    );
    assert.ok(await lockIsFree(dir));
    const again = await runTask("train", ["--resume", "--out", dir]);
    assert.equal(again.code, 0, again.stderr);
    await assertSameRun(dir, reference);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
