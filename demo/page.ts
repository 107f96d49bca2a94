/// <reference lib="dom" />

/**
 * The browser demo's page: an LSTM actor-critic (A2C, the "cartpole-masked" preset) learns
 * CartPole without velocities, live, on WebGPU where the browser has an adapter and on the CPU
 * otherwise. Its learning curve is a Vega-Lite chart that grows with every episode, and the pole
 * is drawn as the agent plays its greedy policy of the moment.
 *
 * `deno task demo` (tasks/demo.ts, demo/build.ts) bundles this file into `demo.js`. It imports the
 * library as a user's page would, as "@rnnrl/rnnrl": the page's import map points that at
 * `rnnrl.js`, the core bundled for the browser. The page's settings come from a JSON block in
 * index.html, and the address can change them: `?steps=N` (the training budget), `?backend=cpu`
 * or `?backend=webgpu` (instead of the choice by what the browser has).
 *
 * What the page did is in `window.__demo` and `<body data-demo>` (loading, training, done or
 * error), for tests.
 *
 * @module
 */

import {
  A2C,
  type A2cOptions,
  type AgentPolicyState,
  type Backend,
  CartPole,
  createCpuBackend,
  createWebGpuBackend,
} from "@rnnrl/rnnrl";
import { vega } from "../lib/report/_vega.ts";
import { expressionInterpreter } from "./_vega_interpreter.ts";

/** The settings tasks/demo.ts writes into the page. */
export interface DemoConfig {
  /** Environment steps to train for. */
  steps: number;
  /** Seeds the agent and the training environment (the display episodes use seed + 1). */
  seed: number;
  /** The agent's options (A2C's preset for "cartpole-masked"). */
  agent: Partial<A2cOptions>;
  /** The learning curve: a Vega-Lite spec compiled to Vega, fed through its "episodes" data. */
  chart: Record<string, unknown>;
}

/** What the page reports about itself, as `window.__demo`. */
export interface DemoStatus {
  /** loading, training, done or error. */
  phase: "loading" | "training" | "done" | "error";
  /** "webgpu" or "cpu", once chosen. */
  backend: string | null;
  /** What the page says about the backend. */
  backendLabel: string;
  /** Environment steps trained. */
  steps: number;
  /** Training episodes finished. */
  episodes: number;
  /** Points in the learning curve. */
  points: number;
  /** The mean return of the last 20 training episodes. */
  recentReturn: number | null;
  /** Environment steps per second of wall-clock time since training began. */
  stepsPerSecond: number;
  /** Greedy display steps played. */
  displaySteps: number;
  /** The error that stopped the page, if one did. */
  error: string | null;
}

const status: DemoStatus = {
  phase: "loading",
  backend: null,
  backendLabel: "",
  steps: 0,
  episodes: 0,
  points: 0,
  recentReturn: null,
  stepsPerSecond: 0,
  displaySteps: 0,
  error: null,
};
(globalThis as { __demo?: DemoStatus }).__demo = status;

/** The display runs at CartPole's own pace: one step per 20 ms of simulated time. */
const DISPLAY_STEP_MS = 20;
/** At most this many display steps between two frames (when training is slow). */
const DISPLAY_MAX_STEPS = 10;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`The page has no #${id}`);
  return found as T;
}

function setPhase(phase: DemoStatus["phase"]): void {
  status.phase = phase;
  document.body.dataset.demo = phase;
}

/** WebGPU where the browser has an adapter (or where `?backend=webgpu` asks), else the CPU. */
async function openBackend(choice: string): Promise<{ backend: Backend; label: string }> {
  let reason = "asked for with ?backend=cpu";
  if (choice !== "cpu") {
    if ((navigator as { gpu?: unknown }).gpu === undefined) {
      reason = "this browser has no WebGPU";
    } else {
      try {
        const backend = await createWebGpuBackend();
        return { backend, label: `WebGPU (adapter: ${backend.device})` };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        reason = /no adapter found/.test(message)
          ? "this browser offers no WebGPU adapter"
          : message;
      }
    }
    if (choice === "webgpu") throw new Error(`Cannot use WebGPU: ${reason}`);
  }
  return { backend: createCpuBackend(), label: `the CPU backend (${reason})` };
}

/** Draws the cart and the pole, as the report's replay does. */
function drawCartPole(canvas: HTMLCanvasElement, x: number, theta: number, action: number): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const xLimit = 2.4, scale = canvas.width / (2 * xLimit);
  const groundY = canvas.height - 50, cartW = 50, cartH = 28;
  const cx = canvas.width / 2 + x * scale;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#888";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, groundY);
  ctx.lineTo(canvas.width, groundY);
  ctx.stroke();
  ctx.fillStyle = "#334";
  ctx.fillRect(cx - cartW / 2, groundY - cartH, cartW, cartH);
  const poleLength = scale; // CartPole-v1's pole is 1 m long (half-length 0.5)
  const top = groundY - cartH;
  ctx.strokeStyle = "#c84";
  ctx.lineWidth = 8;
  ctx.beginPath();
  ctx.moveTo(cx, top);
  ctx.lineTo(cx + Math.sin(theta) * poleLength, top - Math.cos(theta) * poleLength);
  ctx.stroke();
  ctx.fillStyle = "#c33";
  const arrow = action === 1 ? 1 : -1;
  ctx.beginPath();
  ctx.moveTo(cx + arrow * (cartW / 2 + 18), groundY - cartH / 2);
  ctx.lineTo(cx + arrow * (cartW / 2 + 4), groundY - cartH / 2 - 8);
  ctx.lineTo(cx + arrow * (cartW / 2 + 4), groundY - cartH / 2 + 8);
  ctx.fill();
}

function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

async function main(): Promise<void> {
  const config = JSON.parse(element("demo-config").textContent ?? "") as DemoConfig;
  const query = new URLSearchParams(location.search);
  const budget = Math.max(1, Math.floor(Number(query.get("steps")) || config.steps));

  const { backend, label } = await openBackend(query.get("backend") ?? "auto");
  status.backend = backend.name;
  status.backendLabel = label;
  element("backend").textContent = `Training on ${label}.`;

  const view = new vega.View(vega.parse(config.chart as vega.Spec, undefined, { ast: true }), {
    renderer: "svg",
    container: element("chart"),
    expr: expressionInterpreter,
  });
  await view.runAsync();

  const env = new CartPole({ seed: config.seed, maskVelocity: true });
  const agent = new A2C(env, { ...config.agent, seed: config.seed }, backend);
  const rollout = (agent.options.envs ?? 8) * (agent.options.rolloutSteps ?? 16);

  // The display: the greedy policy of the moment, on episodes of its own.
  const show = new CartPole({ seed: config.seed + 1, maskVelocity: true });
  let observation = show.reset().observation;
  let memory: AgentPolicyState = agent.initialState();
  let displayReturn = 0, lastDisplayReturn: number | null = null, action = 0;
  const canvas = element<HTMLCanvasElement>("cart");
  let drawnAt = performance.now();
  /** Plays the display's steps due since the last frame (CartPole's pace), and draws it. */
  const play = async () => {
    const now = performance.now();
    const due = Math.min(
      DISPLAY_MAX_STEPS,
      Math.max(1, Math.round((now - drawnAt) / DISPLAY_STEP_MS)),
    );
    drawnAt = now;
    for (let k = 0; k < due; k++) {
      const step = await agent.act(observation, memory);
      memory = step.state;
      action = step.action;
      const result = show.step(action);
      displayReturn += result.reward;
      observation = result.observation;
      status.displaySteps++;
      if (result.terminated || result.truncated) {
        agent.disposeState(memory);
        memory = agent.initialState();
        observation = show.reset().observation;
        lastDisplayReturn = displayReturn;
        displayReturn = 0;
      }
    }
    const frame = show.frame();
    if (frame.kind === "cartpole") drawCartPole(canvas, frame.state[0], frame.state[2], action);
    element("display").textContent = `The greedy policy plays: this episode ${displayReturn}` +
      (lastDisplayReturn === null ? "" : `, the one before ${lastDisplayReturn}`) + ".";
  };

  const returns: number[] = [];
  const fresh: { step: number; return: number }[] = [];
  const started = performance.now();
  setPhase("training");
  while (agent.steps < budget) {
    await agent.learn(env, {
      steps: Math.min(rollout, budget - agent.steps),
      onEpisode: (episode) => {
        fresh.push({ step: episode.step, return: episode.return });
        returns.push(episode.return);
      },
    });
    if (fresh.length > 0) await view.insert("episodes", fresh.splice(0)).runAsync();
    await play();

    const recent = returns.slice(-20);
    status.steps = agent.steps;
    status.episodes = returns.length;
    status.points = view.data("episodes").length;
    status.recentReturn = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : null;
    status.stepsPerSecond = agent.steps / ((performance.now() - started) / 1000);
    element("status").textContent = `Step ${agent.steps.toLocaleString("en")} of ` +
      `${budget.toLocaleString("en")}, ${returns.length} episodes` +
      (status.recentReturn === null ? "" : `, mean return of the last 20: ` +
        status.recentReturn.toFixed(1)) +
      ` — ${Math.round(status.stepsPerSecond)} steps/s.`;
    await nextFrame();
  }
  setPhase("done");
  element("status").textContent += " Training is done; the greedy policy plays on.";
  for (;;) {
    await play();
    await nextFrame();
  }
}

main().catch((error) => {
  status.error = error instanceof Error ? error.message : String(error);
  const line = document.getElementById("status");
  if (line) line.textContent = `Error: ${status.error}`;
  setPhase("error");
});
