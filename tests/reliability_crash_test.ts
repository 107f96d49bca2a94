/**
 * Crash safety of `deno task train`: a run SIGKILLed at five moments during training and resumed
 * each time with `--resume` never has a corrupt checkpoint, and ends with the same metrics log,
 * evaluation and checkpoint arrays, bit for bit, as a run that was never interrupted; and a run
 * whose checkpoint.bin is damaged recovers from checkpoint.prev.bin.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type Checkpoint,
  CHECKPOINT_FILE,
  decodeCheckpoint,
  PREVIOUS_CHECKPOINT_FILE,
} from "../lib/io/checkpoint.ts";
import { finish, runTask, spawnTask } from "./helpers/mod.ts";

const STEPS = 6000;
const EVERY = 1000;
/** DQN on CartPole with the preset's 128×128 network: about 0.5 s per 1000 steps here. */
const ARGS = [
  ...["--backend", "cpu", "--seed", "3", "--steps", String(STEPS)],
  ...["--checkpoint-every", String(EVERY), "--eval-episodes", "5"],
];
/** After the k-th kill's checkpoint (1000·k) appears, wait this long (ms) and kill. */
const DELAYS_MS = [0, 60, 150, 30, 100];

/** Reads and checks a checkpoint file; undefined when it does not exist. */
async function readValid(path: string): Promise<Checkpoint | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  return decodeCheckpoint(bytes, { finiteOnly: true, source: path });
}

/** The step of the latest checkpoint of `dir`, or 0. */
async function checkpointStep(dir: string): Promise<number> {
  const checkpoint = await readValid(join(dir, CHECKPOINT_FILE));
  return checkpoint === undefined ? 0 : checkpoint.header.step as number;
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
      type: a.data.constructor.name,
      bytes: new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength),
    })),
  };
}

async function evalWithoutTime(dir: string) {
  const { wallTimeSeconds, ...rest } = JSON.parse(await Deno.readTextFile(join(dir, "eval.json")));
  assert.equal(typeof wallTimeSeconds, "number");
  return rest;
}

Deno.test("deno task train killed five times and resumed ends bit for bit like an uninterrupted run", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_crash_" });
  try {
    const reference = join(root, "reference");
    const crashed = join(root, "crashed");
    const full = await runTask("train", [...ARGS, "--out", reference]);
    assert.equal(full.code, 0, full.stderr);

    const killedAt: number[] = [];
    for (let k = 1; k <= DELAYS_MS.length; k++) {
      const args = k === 1 ? [...ARGS, "--out", crashed] : ["--resume", "--out", crashed];
      const child = spawnTask("train", args);
      const output = finish(child);
      let exited = false;
      child.status.then(() => (exited = true));
      // Wait for checkpoint k·1000 (the previous kill left k−1 or more), then a little longer.
      while (!exited && await checkpointStep(crashed) < k * EVERY) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await new Promise((resolve) => setTimeout(resolve, DELAYS_MS[k - 1]));
      try {
        child.kill("SIGKILL");
      } catch {
        assert.fail(`run ${k} ended before it was killed: ${(await output).stderr}`);
      }
      const { signal } = await output;
      assert.equal(signal, "SIGKILL");

      // The kill landed during training: no evaluation yet, and a checkpoint short of the end.
      const latest = await readValid(join(crashed, CHECKPOINT_FILE));
      const previous = await readValid(join(crashed, PREVIOUS_CHECKPOINT_FILE));
      assert.ok(latest !== undefined, "checkpoint.bin exists and decodes");
      const step = latest.header.step as number;
      assert.ok(step >= k * EVERY && step < STEPS, `killed during training (checkpoint ${step})`);
      if (previous !== undefined) assert.equal(previous.header.step, step - EVERY);
      await assert.rejects(Deno.stat(join(crashed, "eval.json")), Deno.errors.NotFound);
      killedAt.push(step);
    }
    assert.equal(killedAt.length, 5);

    const resumed = await runTask("train", ["--resume", "--out", crashed]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming ${crashed} at step ${killedAt[4]} of`));

    assert.deepEqual(
      await Deno.readFile(join(crashed, "metrics.jsonl")),
      await Deno.readFile(join(reference, "metrics.jsonl")),
      "metrics.jsonl",
    );
    assert.deepEqual(await evalWithoutTime(crashed), await evalWithoutTime(reference));
    for (const file of [CHECKPOINT_FILE, PREVIOUS_CHECKPOINT_FILE]) {
      assert.deepEqual(
        comparable(await readValid(join(crashed, file))),
        comparable(await readValid(join(reference, file))),
        file,
      );
    }
    // Recovery from a damaged checkpoint.bin: checkpoint.prev.bin copied over it resumes one
    // checkpoint earlier (metrics.jsonl cut back to it) and still ends like the reference.
    await Deno.writeFile(join(crashed, CHECKPOINT_FILE), new Uint8Array(100));
    const damaged = await runTask("train", ["--resume", "--out", crashed]);
    assert.equal(damaged.code, 2);
    await Deno.copyFile(join(crashed, PREVIOUS_CHECKPOINT_FILE), join(crashed, CHECKPOINT_FILE));
    const recovered = await runTask("train", ["--resume", "--out", crashed]);
    assert.equal(recovered.code, 0, recovered.stderr);
    assert.match(recovered.stderr, new RegExp(`resuming ${crashed} at step ${STEPS - EVERY} of`));
    assert.deepEqual(
      await Deno.readFile(join(crashed, "metrics.jsonl")),
      await Deno.readFile(join(reference, "metrics.jsonl")),
      "metrics.jsonl after recovery",
    );
    assert.deepEqual(await evalWithoutTime(crashed), await evalWithoutTime(reference));
    assert.deepEqual(
      comparable(await readValid(join(crashed, CHECKPOINT_FILE))),
      comparable(await readValid(join(reference, CHECKPOINT_FILE))),
      "checkpoint after recovery",
    );

    const leftovers = [];
    for await (const entry of Deno.readDir(crashed)) {
      if (entry.name.startsWith(".")) leftovers.push(entry.name);
    }
    assert.deepEqual(leftovers, [], "no temporary files are left behind");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
