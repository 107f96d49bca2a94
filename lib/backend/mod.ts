/**
 * Backends: the `Backend` interface, the CPU reference backend, the WebGPU backend, and
 * selection by name.
 *
 * @module
 */

export * from "./backend.ts";
export {
  CpuBackend,
  type CpuBackendOptions,
  cpuData,
  CpuTensor,
  createCpuBackend,
  type FloatArray,
  type LiveTensorInfo,
} from "./cpu.ts";
export {
  createWebGpuBackend,
  isWebGpuAvailable,
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
