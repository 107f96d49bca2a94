/**
 * onnxruntime-web, pinned: the one place in the library that names its npm package, so that the
 * library resolves without an import map (imported by path, by URL or from JSR).
 *
 * @module
 */

export * as ort from "npm:onnxruntime-web@1.30.0";

/** The URL the package's entry point resolves to here (a file in Deno's npm cache). */
export function ortEntryUrl(): string {
  return import.meta.resolve("npm:onnxruntime-web@1.30.0");
}
