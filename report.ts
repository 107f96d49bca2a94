/**
 * `@rnnrl/rnnrl/report`: Vega-Lite specifications of training curves, their rendering to static
 * SVG, and self-contained offline HTML reports of run directories. It loads vega and vega-lite;
 * the core (`@rnnrl/rnnrl`) does not.
 *
 * @example
 * ```ts
 * import { episodeReturnSpec, renderSvg } from "@rnnrl/rnnrl/report";
 *
 * const returns = [12, 30, 25, 60, 80];
 * const episodes = returns.map((r, i) => ({ step: 100 * (i + 1), episode: i + 1, return: r, length: r }));
 * const svg = await renderSvg(episodeReturnSpec(episodes, { window: 2 }));
 * if (!svg.startsWith("<svg")) throw new Error("an SVG chart");
 * ```
 *
 * @module
 */

export * from "./lib/report/mod.ts";
