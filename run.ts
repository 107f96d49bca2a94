/**
 * `@rnnrl/rnnrl/run` (Deno only): the trainer behind `deno task train` (run directories with their
 * config, metrics log, checkpoints, resume, the final evaluation and the report), agents saved to
 * and loaded from files, the presets and registries behind the command line, and the memory
 * benchmark behind `deno task benchmark`.
 *
 * @example
 * ```ts
 * import { presetFor, train } from "@rnnrl/rnnrl/run";
 *
 * const out = await Deno.makeTempDir();
 * const preset = presetFor("cartpole", "dqn");
 * const summary = await train({
 *   env: "cartpole",
 *   algo: "dqn",
 *   seed: 1,
 *   steps: 1000,
 *   backend: "cpu",
 *   envOptions: {},
 *   agent: { ...preset.options, hiddenSizes: [16] },
 *   checkpointEvery: 500,
 *   evalEpisodes: 5,
 *   evalSeed: 1000,
 * }, { out, log: () => {} });
 * // out now holds config.json, metrics.jsonl, checkpoint.bin, eval.json and report.html.
 * if (summary.evaluation.episodes !== 5) throw new Error("a greedy evaluation over 5 episodes");
 * await Deno.remove(out, { recursive: true });
 * ```
 *
 * @module
 */

export * from "./lib/io/mod.ts";
export * from "./lib/run/mod.ts";
