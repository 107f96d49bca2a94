/**
 * The WebGPU backend of rnnrl: WGSL compute kernels behind the `Backend` interface.
 *
 * @example
 * ```ts
 * import { createWebGpuBackend, isWebGpuAvailable } from "@rnnrl/rnnrl";
 * if (await isWebGpuAvailable()) {
 *   const gpu = await createWebGpuBackend();
 *   const q = gpu.tensor([0.1, 0.9, 0.5, 0.2], [2, 2]);
 *   console.log(await gpu.read(gpu.argmaxRows(q)), gpu.stats.readbacks); // [1, 0] 1
 *   gpu.destroy();
 * }
 * ```
 *
 * @module
 */

export {
  createWebGpuBackend,
  WebGpuBackend,
  type WebGpuBackendOptions,
  type WebGpuStats,
  WebGpuTensor,
} from "./backend.ts";
export { isWebGpuAvailable } from "./device.ts";
export type { RecurrentKernels } from "./kernels/kernel.ts";
