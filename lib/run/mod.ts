/**
 * The application layer (Deno only): the trainer behind `deno task train` (run directories,
 * checkpoints, resuming, the final evaluation and the report), the presets, and the registries of
 * environments and algorithms by their command-line names.
 *
 * @module
 */

export * from "./registry.ts";
export * from "./presets.ts";
export * from "./trainer.ts";
