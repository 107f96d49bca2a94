/**
 * ONNX: a model or an agent's policy exported to ONNX, exported models run in onnxruntime-web as a
 * `Policy`, and the offline web player in which an exported CartPole policy plays.
 *
 * @module
 */

export {
  exportOnnx,
  type ExportOnnxOptions,
  ONNX_METADATA_KEYS,
  ONNX_OBSERVATION,
  ONNX_OUTPUT,
  ONNX_OUTPUT_KINDS,
  type OnnxOutputKind,
} from "./export.ts";
export { exportPolicy, type PolicySource } from "./agent_export.ts";
export {
  OnnxPolicy,
  onnxPolicy,
  type OnnxPolicyAct,
  type OnnxPolicyLoadOptions,
  type OnnxPolicyRun,
  type OnnxPolicyState,
  type OnnxStateLayer,
} from "./policy.ts";
export { WEB_PLAYER_FILES, type WebPlayerOptions, writeWebPlayer } from "./web_player.ts";
