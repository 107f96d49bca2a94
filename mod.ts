/**
 * rnnrl: recurrent deep reinforcement learning for Deno.
 *
 * LSTM value functions and policies (DQN, DRQN, REINFORCE, A2C), tabular methods and bandits,
 * trained on CartPole, bandits and Minesweeper, on WebGPU or the CPU.
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
export * from "./lib/io/mod.ts";
export * from "./lib/report/mod.ts";
export * from "./lib/run/mod.ts";
