/// <reference lib="deno.unstable" />

/**
 * Writes the browser demo (`deno task demo`): an offline folder in which a page trains an LSTM
 * actor-critic on CartPole without velocities, live (demo/page.ts).
 *
 * The folder holds `index.html`, `rnnrl.js` (the core, `mod.ts`, bundled for the browser: what a
 * web page of a user's would load), and `demo.js` (the page's own code, with vega and
 * vega-interpreter). The learning curve is written in Vega-Lite and compiled to Vega here, so
 * the page carries no vega-lite; nothing of onnxruntime-web is needed. The page's
 * Content-Security-Policy lets it load scripts from its own folder only and connect nowhere.
 * Browsers load modules over HTTP only, so the folder is served from localhost (any static server;
 * `deno task demo --serve` is one).
 *
 * Bundling uses `Deno.bundle` (run with `--unstable-bundle`), so the task starts no subprocess.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { refuseLink, writeFileAtomic } from "../lib/io/atomic_write.ts";
import { FileError } from "../lib/io/errors.ts";
import { type TopLevelSpec, vl } from "../lib/report/_vega.ts";
import { presetFor } from "../lib/run/presets.ts";
import type { DemoConfig } from "./page.ts";

/** The files {@linkcode writeDemo} writes into its folder. */
export const DEMO_FILES: readonly string[] = ["index.html", "rnnrl.js", "demo.js"];

/** Options of {@linkcode writeDemo}. */
export interface DemoOptions {
  /** Environment steps the page trains for (default: the preset's budget, 100 000). */
  steps?: number;
  /** Seeds the agent and the environments (default 1). */
  seed?: number;
}

/** What {@linkcode writeDemo} wrote: each file's path and size in bytes. */
export interface DemoFiles {
  /** The folder. */
  dir: string;
  /** The files, in {@linkcode DEMO_FILES}'s order. */
  files: { path: string; bytes: number }[];
}

/** The learning curve: each episode's return as a dot, the mean of the last 20 as a line. */
export function learningCurveSpec(): TopLevelSpec {
  const y = { type: "quantitative" as const, scale: { domain: [0, 500] } };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    background: "white",
    width: 560,
    height: 220,
    title: {
      text: "Training episodes",
      subtitle: "each episode's return (dots) and the mean of the last 20 (line)",
      anchor: "start",
    },
    config: { font: "sans-serif", axis: { gridColor: "#e8e8e8" }, view: { stroke: "#ccc" } },
    data: { name: "episodes" },
    transform: [{
      window: [{ op: "mean", field: "return", as: "mean" }],
      sort: [{ field: "step" }],
      frame: [-19, 0],
    }],
    encoding: {
      x: {
        field: "step",
        type: "quantitative",
        title: "environment step",
        axis: { format: "~s", labelExpr: "datum.value === 0 ? '0' : datum.label" },
      },
    },
    layer: [
      {
        mark: { type: "point", filled: true, size: 14, opacity: 0.35, color: "#4c78a8" },
        encoding: { y: { ...y, field: "return", title: "episode return" } },
      },
      {
        mark: { type: "line", color: "#e45756", strokeWidth: 2 },
        encoding: { y: { ...y, field: "mean" } },
      },
    ],
  };
}

/**
 * Bundles the core and the page, and writes the demo's folder.
 *
 * @param dir The folder (created if missing; the demo's files are replaced).
 * @param options The training budget and seed.
 * @returns The files written and their sizes.
 * @throws {FileError} When the folder or one of its files is a symbolic link or not a folder/file.
 * @throws {Error} When a bundle fails.
 */
export async function writeDemo(dir: string, options: DemoOptions = {}): Promise<DemoFiles> {
  await checkDemoDir(dir);
  const preset = presetFor("cartpole-masked", "a2c");
  const config: DemoConfig = {
    steps: options.steps ?? preset.steps,
    seed: options.seed ?? 1,
    agent: preset.options,
    chart: vl.compile(learningCurveSpec()).spec as unknown as Record<string, unknown>,
  };
  const library = await bundle(new URL("../mod.ts", import.meta.url), []);
  const page = await bundle(new URL("./page.ts", import.meta.url), ["@rnnrl/rnnrl"]);
  const importMap = JSON.stringify({ imports: { "@rnnrl/rnnrl": "./rnnrl.js" } });
  const html = demoHtml(config, importMap, await sha256Base64(importMap));

  await Deno.mkdir(dir, { recursive: true });
  const contents: Record<string, Uint8Array | string> = {
    "index.html": html,
    "rnnrl.js": library,
    "demo.js": page,
  };
  const files: { path: string; bytes: number }[] = [];
  for (const name of DEMO_FILES) {
    const path = `${dir}/${name}`;
    const data = contents[name];
    await writeFileAtomic(path, data);
    files.push({
      path,
      bytes: typeof data === "string" ? new TextEncoder().encode(data).length : data.length,
    });
  }
  return { dir, files };
}

/** Refuses a folder (or a file in it) that is a symbolic link, or anything but a folder. */
async function checkDemoDir(dir: string): Promise<void> {
  const info = await Deno.lstat(dir).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  });
  if (info === null) return;
  if (info.isSymlink) throw new FileError(`Cannot write the demo: ${dir} is a symbolic link`);
  if (!info.isDirectory) throw new FileError(`Cannot write the demo: ${dir} is not a folder`);
  for (const name of DEMO_FILES) await refuseLink(`${dir}/${name}`);
}

/** One entry point bundled for the browser, minified, as ES module text. */
async function bundle(entry: URL, external: string[]): Promise<string> {
  const result = await Deno.bundle({
    entrypoints: [fileURLToPath(entry)],
    platform: "browser",
    format: "esm",
    minify: true,
    external,
    write: false,
  });
  const file = result.outputFiles?.[0];
  if (!result.success || !file) {
    const why = result.errors.map((e) => e.text).join("; ") || "no output";
    throw new Error(`Cannot bundle ${fileURLToPath(entry)}: ${why}`);
  }
  return file.text();
}

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

function demoHtml(config: DemoConfig, importMap: string, importMapHash: string): string {
  // JSON inside a script element: "<" escaped so that no "</script>" can end it early.
  const json = JSON.stringify(config).replace(/</g, "\\u003c");
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${importMapHash}' 'wasm-unsafe-eval'`,
    "style-src 'unsafe-inline'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>rnnrl: an LSTM learns CartPole without velocities, in the browser</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; max-width: 660px; }
  canvas { border: 1px solid #ccc; display: block; margin: 12px 0 4px; }
  #chart { margin: 16px 0; min-height: 280px; }
  .muted { color: #777; }
  body:not([data-demo="loading"]) #hint { display: none; }
</style>
<script type="importmap">${importMap}</script>
<script type="module" src="./demo.js"></script>
</head>
<body data-demo="loading">
<h1>An LSTM learns CartPole without velocities</h1>
<p>The agent sees only the cart's position and the pole's angle, never their velocities, so it
must remember earlier observations to balance the pole. It is an actor-critic (A2C) with an LSTM
of 64 units, learning from eight copies of the environment, trained here by rnnrl in this page.</p>
<p id="backend">Choosing a backend…</p>
<canvas id="cart" width="600" height="220"></canvas>
<p id="display" class="muted"></p>
<div id="chart"></div>
<p id="status">Loading…</p>
<p id="hint" class="muted">If this page stays at “Loading”, it was opened as a file: browsers load
modules only over HTTP. Serve this folder from localhost (<code>deno task demo --serve</code>, or
any static server) and open it there.</p>
<p class="muted">CartPole-v1 as Gymnasium defines it; the settings are rnnrl's A2C preset for
<code>cartpole-masked</code>. Add <code>?steps=N</code> to the address to train for N steps,
<code>?backend=cpu</code> or <code>?backend=webgpu</code> to choose the backend. Charts by
Vega-Lite and vega.</p>
<script type="application/json" id="demo-config">${json}</script>
</body>
</html>
`;
}
