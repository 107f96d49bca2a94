/**
 * Acquiring the WebGPU adapter and device, once per backend. The device is requested with the
 * adapter's own limits for the few limits the kernels care about (buffer sizes, storage buffers
 * per stage, workgroups per dimension), and those limits are then read from the device.
 *
 * @module
 */

/** Options of {@linkcode requestGpuDevice}. */
export interface GpuDeviceOptions {
  /** Which adapter to ask for (default "high-performance"). */
  powerPreference?: GPUPowerPreference;
}

/** An adapter and the device requested from it. */
export interface GpuDevice {
  /** The adapter. */
  adapter: GPUAdapter;
  /** The device. */
  device: GPUDevice;
  /** A human-readable name of the adapter, e.g. "llvmpipe (LLVM 15.0.6, 256 bits) (fallback)". */
  description: string;
  /** Whether the adapter runs on the CPU (a fallback adapter, llvmpipe, SwiftShader, WARP). */
  cpuEmulated: boolean;
}

/** The limits requested at the adapter's maximum. */
const RAISED_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupsPerDimension",
] as const;

/** The message of the error thrown where no adapter exists. */
function noAdapter(detail: string): Error {
  return new Error(`Cannot use the WebGPU backend: no adapter found (${detail})`);
}

/**
 * Requests the adapter and the device.
 *
 * @throws {Error} "Cannot use the WebGPU backend: no adapter found (...)" where WebGPU or an
 * adapter is missing.
 */
export async function requestGpuDevice(options: GpuDeviceOptions = {}): Promise<GpuDevice> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) throw noAdapter("navigator.gpu is not defined in this runtime");
  const adapter = await gpu.requestAdapter({
    powerPreference: options.powerPreference ?? "high-performance",
  });
  if (!adapter) throw noAdapter("navigator.gpu.requestAdapter() returned null");
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits, label: "rnnrl" });
  const info = adapter.info;
  const name = info?.description || [info?.vendor, info?.device].filter(Boolean).join(" ") ||
    "unknown adapter";
  const fallback = (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ??
    false;
  return {
    adapter,
    device,
    description: fallback ? `${name} (fallback adapter)` : name,
    cpuEmulated: fallback || /llvmpipe|lavapipe|softpipe|swiftshader|warp|basic render/i.test(name),
  };
}

/**
 * Whether a WebGPU adapter exists here.
 *
 * @example
 * ```ts
 * import { isWebGpuAvailable } from "@rnnrl/rnnrl";
 * console.log((await isWebGpuAvailable()) ? "WebGPU is available" : "no WebGPU adapter");
 * ```
 */
export async function isWebGpuAvailable(): Promise<boolean> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/**
 * Whether the environment variable `name` is set to "1", without prompting for permission: an
 * unreadable variable counts as unset.
 */
export function envFlag(name: string): boolean {
  try {
    const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
    return state === "granted" && Deno.env.get(name) === "1";
  } catch {
    return false;
  }
}
