/**
 * Soak: trains DQN on CartPole for a long run (one million environment steps by default) the way
 * `deno task train` does — learning in chunks, logging episodes and losses to a metrics file,
 * saving a crash-safe checkpoint every so often — and samples the process's memory (RSS and V8
 * heap) every `--sample-every` steps. It prints a table, then checks that memory is flat after
 * warm-up: RSS may grow by at most `--max-growth` (default 10%) between the sample at 25% of the
 * run and the last one. Exit code 0 when it holds, 1 when it does not.
 *
 *     deno run --v8-flags=--expose-gc --allow-read --allow-write --allow-env bench/soak.ts
 *       [--steps 1000000] [--sample-every 50000] [--hidden 128,128] [--gradient-steps 128] [--batch-size 64]
 *       [--backend cpu|webgpu] [--checkpoint-every 100000] [--max-growth 0.1]
 *
 * With `--v8-flags=--expose-gc` each sample follows a full garbage collection, so the heap
 * figures are live memory rather than whatever the collector has not reclaimed yet. Without it,
 * RSS also holds garbage not yet collected: a 1M-step run here grew 10.5% (181 → 200 MB) without
 * and 2.3% (184 → 188.5 MB) with it, its live heap 5.9 MB throughout.
 *
 * The network and training schedule default to the CartPole DQN preset (128×128, 128 gradient
 * steps of batch 64 every 256 environment steps); `--hidden` and `--gradient-steps` make a long
 * run affordable on a slow machine.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../lib/backend/create.ts";

import { saveCheckpoint } from "../lib/io/checkpoint.ts";
import { MetricsWriter } from "../lib/io/run_dir.ts";
import type { JsonObject } from "../lib/io/json.ts";
import { presetFor } from "../lib/run/presets.ts";
import { createAgent, createEnv } from "../lib/run/registry.ts";

/** One memory sample. */
interface Sample {
  step: number;
  seconds: number;
  stepsPerSecond: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  meanReturn: number;
}

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    steps: { type: "string", default: "1000000" },
    "sample-every": { type: "string", default: "50000" },
    hidden: { type: "string" },
    "gradient-steps": { type: "string" },
    "batch-size": { type: "string" },
    backend: { type: "string", default: "cpu" },
    "checkpoint-every": { type: "string", default: "100000" },
    "max-growth": { type: "string", default: "0.1" },
    seed: { type: "string", default: "0" },
  },
});

function positive(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(Number.isInteger(value) && value >= 1)) {
    console.error(`error: --${name} must be a positive integer, got ${JSON.stringify(text)}`);
    Deno.exit(2);
  }
  return value;
}

const steps = positive("steps", values.steps)!;
const sampleEvery = positive("sample-every", values["sample-every"])!;
const checkpointEvery = positive("checkpoint-every", values["checkpoint-every"])!;
const maxGrowth = Number(values["max-growth"]);
const backendName = values.backend;
if (backendName !== "cpu" && backendName !== "webgpu") {
  console.error(`error: --backend must be cpu or webgpu, got ${JSON.stringify(backendName)}`);
  Deno.exit(2);
}

const options: JsonObject = { ...presetFor("cartpole", "dqn").options };
if (values.hidden !== undefined) {
  options.hiddenSizes = values.hidden.split(",").map((s) => positive("hidden", s)!);
}
const gradientSteps = positive("gradient-steps", values["gradient-steps"]);
if (gradientSteps !== undefined) options.gradientSteps = gradientSteps;
const batchSize = positive("batch-size", values["batch-size"]);
if (batchSize !== undefined) options.batchSize = batchSize;
options.seed = Number(values.seed);

/** V8's collector, where `--v8-flags=--expose-gc` exposes it: samples then hold live memory. */
const collectGarbage = (globalThis as { gc?: () => void }).gc;

const backend = await createBackend(backendName);
const env = createEnv("cartpole", { seed: options.seed as number });
const agent = createAgent("dqn", env, options, backend);
const dir = await Deno.makeTempDir({ prefix: "rnnrl_soak_" });
const metrics = MetricsWriter.open(join(dir, "metrics.jsonl"));

console.log(
  `soak: DQN on CartPole, ${steps} steps, backend ${backend.name} (${backend.device}), ` +
    `options ${JSON.stringify(options)}`,
);
console.log(
  `sampling memory every ${sampleEvery} steps` +
    (collectGarbage ? " after a full garbage collection" : "") +
    `; checkpoints every ${checkpointEvery} steps in ${dir}`,
);

const MB = 1024 * 1024;
const samples: Sample[] = [];
const recentReturns: number[] = [];
const started = performance.now();
let lastTime = started, lastStep = 0, nextCheckpoint = checkpointEvery, checkpoints = 0;
const header = "     step |  steps/s |  RSS MB | heap used MB | heap total MB | external MB | " +
  "mean return (last 100)";
console.log(header);
console.log("-".repeat(header.length));
try {
  while (agent.steps < steps) {
    const chunk = Math.min(sampleEvery - (agent.steps % sampleEvery), steps - agent.steps);
    await agent.learn(env, {
      steps: chunk,
      onEpisode: (report) => {
        metrics.write({ kind: "episode", ...report });
        recentReturns.push(report.return);
        if (recentReturns.length > 100) recentReturns.shift();
      },
      onUpdate: (report) => {
        const fields: JsonObject = {};
        for (const [key, value] of Object.entries(report)) {
          if (value !== undefined) fields[key] = value;
        }
        metrics.write({ ...fields, kind: "train", step: report.step });
      },
    });
    if (agent.steps >= nextCheckpoint || agent.steps === steps) {
      const state = await agent.getState();
      const metricsBytes = metrics.flush({ sync: true });
      await saveCheckpoint(dir, {
        header: { step: agent.steps, metricsBytes, agent: state.json },
        arrays: state.arrays,
      });
      checkpoints++;
      while (nextCheckpoint <= agent.steps) nextCheckpoint += checkpointEvery;
    }
    const now = performance.now();
    collectGarbage?.();
    const memory = Deno.memoryUsage();
    const sample: Sample = {
      step: agent.steps,
      seconds: (now - started) / 1000,
      stepsPerSecond: (agent.steps - lastStep) / ((now - lastTime) / 1000),
      rss: memory.rss / MB,
      heapUsed: memory.heapUsed / MB,
      heapTotal: memory.heapTotal / MB,
      external: memory.external / MB,
      meanReturn: recentReturns.reduce((a, b) => a + b, 0) / Math.max(1, recentReturns.length),
    };
    samples.push(sample);
    lastTime = now;
    lastStep = agent.steps;
    console.log(
      [
        String(sample.step).padStart(9),
        sample.stepsPerSecond.toFixed(0).padStart(8),
        sample.rss.toFixed(1).padStart(7),
        sample.heapUsed.toFixed(1).padStart(12),
        sample.heapTotal.toFixed(1).padStart(13),
        sample.external.toFixed(1).padStart(11),
        sample.meanReturn.toFixed(1).padStart(10),
      ].join(" | "),
    );
  }
} finally {
  metrics.close();
  await Deno.remove(dir, { recursive: true });
}

const seconds = (performance.now() - started) / 1000;
const warm = samples.find((s) => s.step >= steps / 4) ?? samples[0];
const last = samples[samples.length - 1];
const growth = last.rss / warm.rss - 1;
const peak = Math.max(...samples.filter((s) => s.step >= warm.step).map((s) => s.rss));
console.log(
  `\n${steps} steps in ${seconds.toFixed(1)} s (${(steps / seconds).toFixed(0)} steps/s), ` +
    `${checkpoints} checkpoints; RSS ${warm.rss.toFixed(1)} MB at step ${warm.step} → ` +
    `${last.rss.toFixed(1)} MB at step ${last.step} (${(100 * growth).toFixed(1)}%, ` +
    `peak ${peak.toFixed(1)} MB); heap used ${warm.heapUsed.toFixed(1)} → ` +
    `${last.heapUsed.toFixed(1)} MB`,
);
if (growth > maxGrowth) {
  console.log(
    `FAIL: RSS grew ${(100 * growth).toFixed(1)}% after warm-up (limit ${100 * maxGrowth}%)`,
  );
  Deno.exit(1);
}
console.log(`OK: RSS grew ${(100 * growth).toFixed(1)}% after warm-up (limit ${100 * maxGrowth}%)`);
Deno.exit(0);
