/**
 * `@rnnrl/rnnrl/onnx`: a trained policy exported to ONNX, run by onnxruntime-web (wasm, offline),
 * and played in the browser by the web player. It loads onnxruntime-web and protobufjs; the core
 * (`@rnnrl/rnnrl`) loads neither.
 *
 * @example
 * ```ts
 * import { CartPole, DQN, evaluate } from "@rnnrl/rnnrl";
 * import { exportPolicy, OnnxPolicy, onnxPolicy } from "@rnnrl/rnnrl/onnx";
 *
 * const agent = new DQN(new CartPole(), { hiddenSizes: [16], seed: 1 });
 * await agent.learn(new CartPole({ seed: 1 }), { steps: 500 });
 * const session = await OnnxPolicy.load(await exportPolicy(agent)); // the Q-network as ONNX
 * const ort = await evaluate(new CartPole(), onnxPolicy(session), { episodes: 5, seed: 3 });
 * const own = await evaluate(new CartPole(), agent, { episodes: 5, seed: 3 });
 * if (ort.meanReturn !== own.meanReturn) throw new Error("the same greedy actions");
 * await session.release();
 * ```
 *
 * @module
 */

export * from "./lib/onnx/mod.ts";
