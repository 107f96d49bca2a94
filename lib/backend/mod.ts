/**
 * Backends: the `Backend` interface, the CPU reference backend, and backend selection.
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
} from "./cpu.ts";
