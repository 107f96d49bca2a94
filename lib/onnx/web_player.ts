/**
 * `writeWebPlayer`: a small offline folder in which an exported CartPole policy plays in a
 * browser, through onnxruntime-web's wasm build.
 *
 * The folder holds `index.html` (CartPole-v1's equations and the drawing, inline), the model as
 * `policy.onnx`, and onnxruntime-web's own `ort.wasm.bundle.min.mjs` and
 * `ort-wasm-simd-threaded.wasm`, copied from the npm package in Deno's cache. Browsers load
 * modules and wasm only over HTTP, so serve the folder from any static server on localhost
 * (nothing is fetched from elsewhere), then open `index.html`. `?speed=N` runs N steps a frame and
 * `?episodes=N` stops after N episodes; `<body data-player>` says loading, playing, done or error.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { refuseLink, writeFileAtomic } from "../io/atomic_write.ts";
import { FileError } from "../io/errors.ts";
import { ONNX_METADATA_KEYS, ONNX_OBSERVATION, ONNX_OUTPUT } from "./export.ts";
import { stateLayout } from "./policy.ts";
import { decodeOnnxModel, type OnnxValueInfo } from "./onnx_proto.ts";
import { ortEntryUrl } from "./_ort.ts";

/** onnxruntime-web's files that the player needs, as named in the package's `dist/`. */
export const WEB_PLAYER_RUNTIME_FILES: readonly string[] = [
  "ort.wasm.bundle.min.mjs",
  "ort-wasm-simd-threaded.wasm",
];

/** Options of {@linkcode writeWebPlayer}. */
export interface WebPlayerOptions {
  /** The page title (default "rnnrl CartPole policy"). */
  title?: string;
  /** Seed of the episodes' initial states (default 0). */
  seed?: number;
  /** Where onnxruntime-web's `dist/` folder is (default: found through Deno's module resolution). */
  runtimeDir?: string;
}

/**
 * Writes the player folder. The model must take CartPole's observation (4 values, or 2 for the
 * velocity-masked task `[x, theta]`) and output one value per action (2; a shared actor-critic's
 * value column may follow); recurrent models carry
 * their state from step to step and reset it with each episode.
 *
 * @param dir The folder to write (created if missing; the player's files are overwritten).
 * @param modelBytes A model from `exportOnnx`.
 * @param options The title, the seed and where onnxruntime-web is.
 * @returns The paths written.
 * @throws {TypeError} When the model does not fit CartPole.
 * @throws {Error} When onnxruntime-web's files cannot be found or copied.
 *
 * @example
 * ```ts ignore
 * import { writeWebPlayer } from "@rnnrl/rnnrl/onnx";
 * await writeWebPlayer("runs/cartpole/player", await Deno.readFile("runs/cartpole/policy.onnx"));
 * ```
 */
export async function writeWebPlayer(
  dir: string,
  modelBytes: Uint8Array,
  options: WebPlayerOptions = {},
): Promise<string[]> {
  const model = decodeOnnxModel(modelBytes);
  const inputs = new Map((model.graph?.input ?? []).map((v) => [v.name ?? "", v]));
  const outputs = new Map((model.graph?.output ?? []).map((v) => [v.name ?? "", v]));
  const observation = inputs.get(ONNX_OBSERVATION);
  const output = outputs.get(ONNX_OUTPUT);
  if (!observation || !output) {
    throw new TypeError(
      `Cannot write web player: the model has no "${ONNX_OBSERVATION}" input or "${ONNX_OUTPUT}" output`,
    );
  }
  const obsDims = dims(observation);
  const inputSize = obsDims[obsDims.length - 1];
  const metadata = new Map((model.metadataProps ?? []).map((e) => [e.key, e.value]));
  // A shared actor-critic network's last output column is its value estimate, not an action.
  const actions = Number(metadata.get(ONNX_METADATA_KEYS.policyOutputs) ?? dims(output).at(-1));
  if (!(inputSize === 4 || inputSize === 2) || actions !== 2) {
    throw new TypeError(
      `Cannot write web player: CartPole needs 4 (or 2 masked) inputs and 2 outputs, the model has ${inputSize} and ${actions}`,
    );
  }
  let stateLayers;
  try {
    stateLayers = stateLayout(
      [...inputs.keys()].filter((name) => name !== ONNX_OBSERVATION),
      (name) => inputs.get(name),
      (name) => outputs.has(name),
    );
  } catch (error) {
    throw new TypeError(
      `Cannot write web player: ${
        (error as Error).message.replace(/^Cannot load ONNX policy: /, "")
      }`,
    );
  }
  const config = {
    inputSize,
    recurrent: obsDims.length === 3,
    stateLayers,
    seed: options.seed ?? 0,
    layers: describeLayers(metadata.get(ONNX_METADATA_KEYS.config)),
    version: metadata.get(ONNX_METADATA_KEYS.version) ?? "",
  };

  const runtimeDir = options.runtimeDir ?? findRuntimeDir();
  await checkWebPlayerDir(dir);
  await Deno.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const name of WEB_PLAYER_RUNTIME_FILES) {
    const from = `${runtimeDir}/${name}`;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(from);
    } catch (error) {
      throw new Error(
        `Cannot write web player: cannot copy onnxruntime-web's ${from}: ${
          error instanceof Error ? error.message : error
        }`,
        { cause: error },
      );
    }
    await writeFileAtomic(`${dir}/${name}`, bytes);
    written.push(`${dir}/${name}`);
  }
  await writeFileAtomic(`${dir}/policy.onnx`, modelBytes);
  written.push(`${dir}/policy.onnx`);
  await writeFileAtomic(
    `${dir}/index.html`,
    playerHtml(options.title ?? "rnnrl CartPole policy", config),
  );
  written.push(`${dir}/index.html`);
  return written;
}

/** The files {@linkcode writeWebPlayer} writes into its folder. */
export const WEB_PLAYER_FILES: readonly string[] = [
  ...WEB_PLAYER_RUNTIME_FILES,
  "policy.onnx",
  "index.html",
];

/**
 * Checks, before anything is written, that the web player can go into `dir`: the folder is not a
 * symbolic link (nor a file), and none of the files to write is a link or a folder.
 *
 * @param dir The player's folder (it need not exist).
 * @throws {FileError} Naming what is in the way.
 */
export async function checkWebPlayerDir(dir: string): Promise<void> {
  const info = await Deno.lstat(dir).catch((error) => {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  });
  if (info === null) return;
  if (info.isSymlink) throw new FileError(`Cannot write web player: ${dir} is a symbolic link`);
  if (!info.isDirectory) throw new FileError(`Cannot write web player: ${dir} is not a folder`);
  for (const name of WEB_PLAYER_FILES) await refuseLink(`${dir}/${name}`);
}

/** onnxruntime-web's `dist/` folder, where Deno resolved the package. */
function findRuntimeDir(): string {
  const entry = ortEntryUrl();
  if (!entry.startsWith("file:")) {
    throw new TypeError(
      `Cannot write web player: onnxruntime-web resolves to ${entry}, not a local file; pass runtimeDir`,
    );
  }
  return fileURLToPath(new URL(".", entry)).replace(/[\\/]$/, "");
}

function dims(info: OnnxValueInfo): (number | string | undefined)[] {
  return (info.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimValue ?? d.dimParam);
}

/** "LSTM(16) → Dense(2)" (or "GRU(16) → …") from the exported configuration, or "" when absent. */
function describeLayers(json: string | undefined): string {
  if (!json) return "";
  try {
    const config = JSON.parse(json) as {
      layers: {
        type: string;
        units: number;
        activation?: string;
        vocabulary?: number;
        size?: number;
      }[];
    };
    return config.layers.map((l) =>
      l.type === "lstm" || l.type === "gru"
        ? `${l.type.toUpperCase()}(${l.units})`
        : l.type === "embedding"
        ? `Embedding(${l.vocabulary}×${l.size})`
        : `Dense(${l.units}${l.activation && l.activation !== "linear" ? `, ${l.activation}` : ""})`
    ).join(" → ");
  } catch {
    return "";
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function playerHtml(title: string, config: Record<string, unknown>): string {
  // JSON inside a script: "<" escaped so no "</script>" can close it early.
  const json = JSON.stringify(config).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 24px; color: #222; }
  canvas { border: 1px solid #ccc; display: block; margin: 12px 0; }
  #returns { font-family: ui-monospace, monospace; white-space: pre-wrap; max-width: 600px; }
  .muted { color: #777; }
</style>
</head>
<body data-player="loading">
<h1>${escapeHtml(title)}</h1>
<p class="muted" id="about"></p>
<canvas id="cart" width="600" height="300"></canvas>
<p id="status">Loading the policy…</p>
<p>Returns: <span id="returns"></span></p>
<p class="muted">CartPole-v1 (Gymnasium's equations, Euler integration, 500-step limit), acted on
greedily by the exported policy in onnxruntime-web (wasm, MIT licence, Microsoft). Add
<code>?speed=N</code> to the address to run N steps a frame, <code>?episodes=N</code> to stop
after N episodes.</p>
<script type="module">
import * as ort from "./ort.wasm.bundle.min.mjs";

const CONFIG = ${json};
const player = { ready: false, error: null, episode: 0, step: 0, returns: [], state: [] };
window.__player = player;

// CartPole-v1's constants.
const GRAVITY = 9.8, MASS_CART = 1.0, MASS_POLE = 0.1, TOTAL_MASS = MASS_CART + MASS_POLE;
const HALF_LENGTH = 0.5, POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH, FORCE = 10.0, TAU = 0.02;
const THETA_LIMIT = (12 * 2 * Math.PI) / 360, X_LIMIT = 2.4, MAX_STEPS = 500;

// A small seeded generator (mulberry32) for the initial states.
let seed = CONFIG.seed >>> 0;
function uniform() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

let s, steps, episodeReturn, memory, lastAction = 0;
function reset() {
  s = [0, 0, 0, 0].map(() => uniform() * 0.1 - 0.05);
  steps = 0;
  episodeReturn = 0;
  memory = CONFIG.stateLayers.map((l) => l.parts.map(() => new Float32Array(l.size)));
}

function physics(action) {
  const [x, xDot, theta, thetaDot] = s;
  const force = action === 1 ? FORCE : -FORCE;
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const temp = (force + POLE_MASS_LENGTH * thetaDot * thetaDot * sin) / TOTAL_MASS;
  const thetaAcc = (GRAVITY * sin - cos * temp) /
    (HALF_LENGTH * (4 / 3 - (MASS_POLE * cos * cos) / TOTAL_MASS));
  const xAcc = temp - (POLE_MASS_LENGTH * thetaAcc * cos) / TOTAL_MASS;
  s = [x + TAU * xDot, xDot + TAU * xAcc, theta + TAU * thetaDot, thetaDot + TAU * thetaAcc];
  return s[0] < -X_LIMIT || s[0] > X_LIMIT || s[2] < -THETA_LIMIT || s[2] > THETA_LIMIT;
}

let session;
async function act() {
  const obs = Float32Array.from(CONFIG.inputSize === 2 ? [s[0], s[2]] : s);
  const dims = CONFIG.recurrent ? [1, 1, CONFIG.inputSize] : [1, CONFIG.inputSize];
  const feeds = { observation: new ort.Tensor("float32", obs, dims) };
  CONFIG.stateLayers.forEach((l, k) => l.parts.forEach((part, p) => {
    feeds[part + "_in_" + k] = new ort.Tensor("float32", memory[k][p], [1, l.size]);
  }));
  const out = await session.run(feeds);
  memory = CONFIG.stateLayers.map((l, k) =>
    l.parts.map((part) => Float32Array.from(out[part + "_out_" + k].data))
  );
  const q = out.output.data;
  return q[1] > q[0] ? 1 : 0;
}

async function step() {
  lastAction = await act();
  const terminated = physics(lastAction);
  steps++;
  episodeReturn += 1;
  player.step = steps;
  player.state = [...s];
  if (terminated || steps >= MAX_STEPS) {
    player.returns.push(episodeReturn);
    player.episode++;
    document.getElementById("returns").textContent = player.returns.join(" ");
    reset();
  }
}

const canvas = document.getElementById("cart");
const ctx = canvas.getContext("2d");
function draw() {
  const scale = canvas.width / (2 * X_LIMIT);
  const groundY = 220, cartW = 50, cartH = 28;
  const cx = canvas.width / 2 + s[0] * scale;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#888";
  ctx.beginPath(); ctx.moveTo(0, groundY); ctx.lineTo(canvas.width, groundY); ctx.stroke();
  ctx.fillStyle = "#334";
  ctx.fillRect(cx - cartW / 2, groundY - cartH, cartW, cartH);
  const poleLength = 2 * HALF_LENGTH * scale;
  const top = groundY - cartH;
  ctx.strokeStyle = "#c84";
  ctx.lineWidth = 8;
  ctx.beginPath();
  ctx.moveTo(cx, top);
  ctx.lineTo(cx + Math.sin(s[2]) * poleLength, top - Math.cos(s[2]) * poleLength);
  ctx.stroke();
  ctx.lineWidth = 1;
  ctx.fillStyle = "#c33";
  const arrow = lastAction === 1 ? 1 : -1;
  ctx.beginPath();
  ctx.moveTo(cx + arrow * (cartW / 2 + 18), groundY - cartH / 2);
  ctx.lineTo(cx + arrow * (cartW / 2 + 4), groundY - cartH / 2 - 8);
  ctx.lineTo(cx + arrow * (cartW / 2 + 4), groundY - cartH / 2 + 8);
  ctx.fill();
  const mean = player.returns.length
    ? player.returns.reduce((a, b) => a + b, 0) / player.returns.length : 0;
  document.getElementById("status").textContent = "Episode " + (player.episode + 1) +
    ", step " + steps + " — episodes done: " + player.returns.length +
    (player.returns.length ? ", mean return " + mean.toFixed(1) : "");
}

async function main() {
  try {
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    session = await ort.InferenceSession.create("./policy.onnx", { executionProviders: ["wasm"] });
    const about = CONFIG.layers ? "Policy: " + CONFIG.layers + ". " : "";
    document.getElementById("about").textContent = about + "Observation: " +
      (CONFIG.inputSize === 2 ? "[x, θ] (velocities masked)" : "[x, ẋ, θ, θ̇]") +
      (CONFIG.version ? ". Exported by rnnrl " + CONFIG.version + "." : ".");
    reset();
    player.ready = true;
    document.body.dataset.player = "playing";
    const query = new URLSearchParams(location.search);
    const speed = Math.max(1, Number(query.get("speed")) || 1);
    const episodes = Number(query.get("episodes")) || Infinity;
    while (player.returns.length < episodes) {
      for (let k = 0; k < speed && player.returns.length < episodes; k++) await step();
      draw();
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
    document.body.dataset.player = "done";
  } catch (error) {
    player.error = String(error && error.message || error);
    document.getElementById("status").textContent = "Error: " + player.error;
    document.body.dataset.player = "error";
  }
}
main();
</script>
</body>
</html>
`;
}
