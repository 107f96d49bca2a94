/**
 * rnnrl: recurrent deep reinforcement learning for Deno and the browser.
 *
 * The core: backends (WebGPU, CPU), layers (LSTM, GRU, Dense) and optimizers, environments
 * (CartPole, bandits, Minesweeper, Pendulum, POPGym's games), agents (DQN, DRQN, REINFORCE, A2C,
 * PPO, tabular methods and bandits) and their evaluation. It loads no plotting or ONNX code and
 * touches no `Deno.*`, `node:` module or file system when imported, so it runs unchanged in a
 * browser. Beside it: `@rnnrl/rnnrl/onnx` (ONNX export, the ONNX policy, the web player),
 * `@rnnrl/rnnrl/report` (Vega-Lite charts, HTML reports) and `@rnnrl/rnnrl/run` (the trainer, run
 * directories, checkpoints and agent files; Deno only).
 *
 * @example
 * ```ts
 * import { Adam, createCpuBackend, Dense, LSTM, Sequential } from "@rnnrl/rnnrl";
 *
 * const backend = createCpuBackend();
 * const model = new Sequential(backend, {
 *   inputSize: 2,
 *   layers: [new LSTM({ units: 32 }), new Dense({ units: 3 })],
 *   seed: 1,
 * });
 * const optimizer = new Adam({ learningRate: 1e-3 });
 * const x = backend.tensor(new Float32Array(8 * 4 * 2).fill(0.1), [8, 4, 2]); // T=8, B=4
 * const { output } = model.forward(x, { training: true });
 * const { grad } = backend.mseLoss(output, backend.zeros(output.shape));
 * model.backward(grad);
 * optimizer.step(model);
 * ```
 *
 * @module
 */

export * from "./lib/backend/mod.ts";
export * from "./lib/nn/mod.ts";
export * from "./lib/envs/mod.ts";
export * from "./lib/rl/mod.ts";
export { Rng, type RngState } from "./lib/io/rng.ts";
export type { JsonObject, JsonValue } from "./lib/io/json.ts";
