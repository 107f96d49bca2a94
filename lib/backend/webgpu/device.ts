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
  quietGpuDriver();
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
  quietGpuDriver();
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** Where {@linkcode quietGpuDriver} points XDG_RUNTIME_DIR: a folder that does not exist. */
const NO_RUNTIME_DIR = "/nonexistent";

/**
 * Keeps the Vulkan driver quiet; call it before an adapter is requested. Mesa's Vulkan drivers
 * (lavapipe among them) look for a Wayland display under `$XDG_RUNTIME_DIR` when the instance is
 * created, and where the variable is unset, as in containers and CI, they print "error:
 * XDG_RUNTIME_DIR is invalid or not set in the environment." twice on stderr. rnnrl draws on no
 * display, so on Linux, where the variable is unset and this process may set it (Deno's env
 * permission for it, queried, never prompted for), this points it at a folder that does not exist:
 * the driver looks there, finds no display, and says nothing. Elsewhere (a browser, a process
 * without the permission, a variable already set) it does nothing.
 */
export function quietGpuDriver(): void {
  if (typeof Deno === "undefined" || Deno.build.os !== "linux") return;
  try {
    const permission = { name: "env", variable: "XDG_RUNTIME_DIR" } as const;
    if (Deno.permissions.querySync(permission).state !== "granted") return;
    if (Deno.env.get("XDG_RUNTIME_DIR") === undefined) {
      Deno.env.set("XDG_RUNTIME_DIR", NO_RUNTIME_DIR);
    }
  } catch {
    // No permission API here (a worker without one): leave the variable alone.
  }
}

/**
 * Whether the environment variable `name` is set to "1", without prompting for permission: an
 * unreadable variable (or no `Deno` at all, in a browser) counts as unset.
 */
export function envFlag(name: string): boolean {
  if (typeof Deno === "undefined") return false;
  try {
    const state = Deno.permissions.querySync({ name: "env", variable: name }).state;
    return state === "granted" && Deno.env.get(name) === "1";
  } catch {
    return false;
  }
}
