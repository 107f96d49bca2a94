/**
 * An agent's policy as an ONNX model: {@linkcode exportPolicy} picks the agent's policy network
 * and says in the model's metadata what its output means (logits, a Gaussian's mean, Q-values).
 *
 * @module
 */

import type { Agent } from "../rl/agent.ts";
import { OnPolicyAgent } from "../rl/on_policy.ts";
import { GaussianHead } from "../rl/policy_heads.ts";
import { exportOnnx, type ExportOnnxOptions, ONNX_METADATA_KEYS } from "./export.ts";

/** Where an exported policy came from, recorded in its metadata (see {@linkcode exportPolicy}). */
export interface PolicySource {
  /** The run: the SHA-256 of its config.json. */
  runId: string;
  /** The checkpoint: the SHA-256 of its file, and its step. */
  checkpoint: { sha256: string; step: number };
}

/**
 * An agent's policy as ONNX bytes: the network whose output's argmax is the greedy action, with
 * what its output means recorded (logits for an actor, Q-values for a Q-network), and, given a
 * source, the run and checkpoint it came from (so that `deno task eval --onnx` can refuse a model
 * that is not the run's current one).
 *
 * @param agent The agent.
 * @param source The run and checkpoint it was restored from, to record in the model.
 * @returns The model's bytes (a `.onnx` file).
 * @throws {TypeError} When the agent has no such network (a dueling head, say, combines its
 * outputs after the network; a table or a bandit has none).
 *
 * @example
 * ```ts
 * import { A2C, CartPole } from "@rnnrl/rnnrl";
 * import { exportPolicy, OnnxPolicy } from "@rnnrl/rnnrl/onnx";
 * const agent = new A2C(new CartPole({ maskVelocity: true }), { cellUnits: 8, seed: 1 });
 * const policy = await OnnxPolicy.load(await exportPolicy(agent));
 * if (policy.inputSize !== 2 || policy.stateLayers.length !== 1) throw new Error("[x, θ], an LSTM");
 * await policy.release();
 * ```
 */
export async function exportPolicy(agent: Agent, source?: PolicySource): Promise<Uint8Array> {
  const network = agent.policyNetwork();
  if (!network) {
    throw new TypeError(
      `Cannot export the ${agent.kind} agent: it has no single network whose output's argmax is the action`,
    );
  }
  const metadata = source === undefined ? undefined : {
    [ONNX_METADATA_KEYS.run]: source.runId,
    [ONNX_METADATA_KEYS.checkpoint]: source.checkpoint.sha256,
    [ONNX_METADATA_KEYS.step]: String(source.checkpoint.step),
  };
  if (!(agent instanceof OnPolicyAgent)) {
    return await exportOnnx(network, { output: "q-values", metadata });
  }
  const head = agent.policyHead;
  const policy: ExportOnnxOptions = head instanceof GaussianHead
    ? {
      output: "gaussian-mean",
      policyOutputs: 1,
      actionBounds: [head.low, head.high],
      logStd: head.logStd,
    }
    : { output: "logits", policyOutputs: head.outputSize };
  return await exportOnnx(network, { ...policy, metadata });
}
