/**
 * vega and vega-lite, pinned: the one place in the library that names their npm packages, so that
 * the library resolves without an import map (imported by path, by URL or from JSR).
 *
 * @module
 */

export * as vega from "npm:vega@6.4.0";
export * as vl from "npm:vega-lite@6.5.0";
export type { TopLevelSpec } from "npm:vega-lite@6.5.0";
