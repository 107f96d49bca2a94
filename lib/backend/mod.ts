/**
 * Backends: the `Backend` interface, the CPU reference backend, the WebGPU backend, and
 * selection by name.
 *
 * @module
 */

export {
  type Activation,
  type AdamStep,
  type Backend,
  type BackendName,
  type CardGameStepTensors,
  type CartPoleStepTensors,
  type EmbeddingGradients,
  type GruCache,
  type GruForwardOptions,
  type GruForwardResult,
  type GruGradients,
  type GruWeights,
  type LossResult,
  type LstmCache,
  type LstmForwardResult,
  type LstmGradients,
  type LstmWeights,
  type MatmulOptions,
  type PatchDims,
  type PatchOptions,
  type PendulumStepTensors,
  type RmspropStep,
  type Tensor,
} from "./backend.ts";
export { CARTPOLE_STATE_SIZE, type CartPoleStepParams } from "./cartpole_f32.ts";
export { PENDULUM_STATE_SIZE, type PendulumStepParams } from "./pendulum_f32.ts";
export { type CardGame, type CardGameStepParams } from "./cards_f32.ts";
export {
  checkConvGeometry,
  checkPoolGeometry,
  type ConvDims,
  type ConvGeometry,
  type PoolDims,
  type PoolGeometry,
} from "./conv_geometry.ts";
export {
  CpuBackend,
  type CpuBackendOptions,
  CpuTensor,
  createCpuBackend,
  type FloatArray,
  type LiveTensorInfo,
} from "./cpu.ts";
export {
  createWebGpuBackend,
  isWebGpuAvailable,
  type RecurrentKernels,
  WebGpuBackend,
  type WebGpuBackendOptions,
  type WebGpuStats,
  WebGpuTensor,
} from "./webgpu/mod.ts";
export {
  BACKEND_CHOICES,
  type BackendChoice,
  createBackend,
  type CreateBackendOptions,
} from "./create.ts";
