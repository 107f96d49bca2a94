/**
 * The application layer (Deno only): the trainer behind `deno task train` (run directories,
 * checkpoints, resuming, the final evaluation and the report), agents saved to and loaded from
 * files, the presets, the registries of
 * environments and algorithms by their command-line names, and the memory benchmark behind
 * `deno task benchmark` (its plans, its parallel runner and its results).
 *
 * @module
 */

export * from "./registry.ts";
export * from "./presets.ts";
export * from "./trainer.ts";
export * from "./agent_files.ts";
export * from "./benchmark.ts";
export * from "./benchmark_runner.ts";
export * from "./benchmark_summary.ts";
