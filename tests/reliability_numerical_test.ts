/**
 * A run that diverges stops with exit code 1 and a message naming the step and the quantity, and
 * keeps its last good checkpoint: finite, decodable, and still good to resume and evaluate.
 *
 * A learning rate of 1e38 makes Adam move every weight by about 1e38 per update, so float32
 * overflows within the first updates (DQN's CartPole preset starts learning after step 1000).
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../lib/io/checkpoint.ts";
import { presetFor } from "../lib/run/presets.ts";
import { NumericalError, train, type TrainConfig } from "../lib/run/trainer.ts";
import { lines, runTask } from "./helpers/mod.ts";

const DIVERGING = [
  ...["--backend", "cpu", "--steps", "3000", "--checkpoint-every", "1000"],
  ...["--hidden", "16", "--batch-size", "16", "--learning-rate", "1e38", "--eval-episodes", "2"],
];

/** Checks that the run holds only its step-1000 checkpoint, every float in it finite. */
async function assertLastGoodCheckpoint(dir: string): Promise<void> {
  const checkpoint = await loadCheckpoint(dir, { finiteOnly: true });
  assert.equal(checkpoint.header.step, 1000);
  let floats = 0;
  for (const array of checkpoint.arrays) {
    if (array.data instanceof Float32Array) floats += array.data.length;
  }
  assert.ok(floats > 1000, "the checkpoint holds the networks and the replay");
  await assert.rejects(Deno.stat(join(dir, "checkpoint.prev.bin")), Deno.errors.NotFound);
  await assert.rejects(Deno.stat(join(dir, "eval.json")), Deno.errors.NotFound);
}

Deno.test("deno task train --learning-rate 1e38 stops with exit code 1 naming the step and the loss, keeping the last good checkpoint", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_nan_" });
  try {
    const dir = join(root, "run");
    const first = await runTask("train", [...DIVERGING, "--out", dir]);
    assert.equal(first.code, 1, first.stderr);
    const last = lines(first.stderr).at(-1)!;
    const match = last.match(
      /^error: Training stopped at step (\d+): the (loss|qMean) is (NaN|-?Infinity); the last good checkpoint is kept in (.+)$/,
    );
    assert.ok(match, last);
    const step = Number(match[1]);
    assert.ok(step > 1000 && step < 2000, `diverged within the first updates, at step ${step}`);
    assert.equal(match[4], dir);
    assert.ok(!first.stderr.includes("    at "), "no stack trace");
    await assertLastGoodCheckpoint(dir);

    // The kept checkpoint is good: evaluation runs, and a resumed run diverges the same way.
    const evaluated = await runTask("eval", ["--run", dir, "--episodes", "2"]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.equal(JSON.parse(evaluated.stdout).episodes, 2);
    const resumed = await runTask("train", ["--resume", "--out", dir]);
    assert.equal(resumed.code, 1, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resuming ${dir} at step 1000 of 3000`));
    assert.equal(lines(resumed.stderr).at(-1), last);
    await assertLastGoodCheckpoint(dir);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("train stops before saving a checkpoint whose parameters overflowed, naming the step and the array", async () => {
  // With no loss reports (logInterval beyond the run), only the parameter check can catch it.
  const root = await Deno.makeTempDir({ prefix: "rnnrl_nan_params_" });
  try {
    const dir = join(root, "run");
    const config: TrainConfig = {
      env: "cartpole",
      algo: "dqn",
      seed: 0,
      steps: 3000,
      backend: "cpu",
      envOptions: {},
      agent: {
        ...presetFor("cartpole", "dqn").options,
        hiddenSizes: [16],
        batchSize: 16,
        learningRate: 1e38,
        logInterval: 1_000_000,
      },
      checkpointEvery: 1000,
      evalEpisodes: 2,
      evalSeed: 1000,
    };
    const error = await train(config, { out: dir, log: () => {} }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(error instanceof NumericalError, String(error));
    assert.match(
      error.message,
      /^Training stopped at step 2000: \S+ holds (NaN|-?Infinity); the last good checkpoint is kept in /,
    );
    const metrics = await Deno.readTextFile(join(dir, "metrics.jsonl"));
    assert.ok(metrics.includes('"kind":"episode"'), "episodes were logged");
    assert.ok(!metrics.includes('"kind":"train"'), "no loss was reported");
    await assertLastGoodCheckpoint(dir);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("train with a finite learning rate runs the same configuration to the end", async () => {
  // The control: with the preset's learning rate, the same run neither throws nor stops early.
  const root = await Deno.makeTempDir({ prefix: "rnnrl_nan_control_" });
  try {
    const dir = join(root, "run");
    const out = await runTask("train", [
      ...DIVERGING.filter((a) => a !== "1e38" && a !== "--learning-rate"),
      "--out",
      dir,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const checkpoint = await loadCheckpoint(dir, { finiteOnly: true });
    assert.equal(checkpoint.header.step, 3000);
    const metrics = (await Deno.readTextFile(join(dir, "metrics.jsonl"))).trim().split("\n");
    assert.ok(metrics.some((line) => JSON.parse(line).kind === "train"), "losses were reported");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("deno task train that diverges before its first checkpoint says that none was saved", async () => {
  const root = await Deno.makeTempDir({ prefix: "rnnrl_nan_early_" });
  try {
    const dir = join(root, "run");
    const args = [
      ...DIVERGING.map((a) => (a === "1000" ? "3000" : a)), // one checkpoint, at the end
      "--out",
      dir,
    ];
    const first = await runTask("train", args);
    assert.equal(first.code, 1, first.stderr);
    const last = lines(first.stderr).at(-1)!;
    assert.match(
      last,
      new RegExp(
        "^error: Training stopped at step \\d+: the (loss|qMean) is (NaN|-?Infinity); no " +
          `checkpoint was saved before it, so resuming ${dir} starts again from step 0$`,
      ),
    );
    await assert.rejects(Deno.stat(join(dir, "checkpoint.bin")), Deno.errors.NotFound);
    // As it says: resuming starts again from step 0, and diverges the same way.
    const resumed = await runTask("train", ["--resume", "--out", dir]);
    assert.equal(resumed.code, 1, resumed.stderr);
    assert.match(resumed.stderr, /no checkpoint was saved yet, so it starts again from step 0/);
    assert.equal(lines(resumed.stderr).at(-1), last);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
