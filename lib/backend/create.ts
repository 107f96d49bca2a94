/**
 * Backend selection by name: an explicit map from names to constructors.
 *
 * @module
 */

import type { Backend, BackendName } from "./backend.ts";
import { createCpuBackend } from "./cpu.ts";
import { createWebGpuBackend } from "./webgpu/backend.ts";
import { quietGpuDriver } from "./webgpu/device.ts";

/** What {@linkcode createBackend} accepts: a backend name, or "auto" to pick one. */
export type BackendChoice = "auto" | BackendName;

/** The choices {@linkcode createBackend} accepts, for validation and help text. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", "cpu", "webgpu"];

/** Options of {@linkcode createBackend}. */
export interface CreateBackendOptions {
  /**
   * Where "auto" reports what it took and why (default: one line on stderr). Explicit choices
   * report nothing.
   */
  log?: (message: string) => void;
  /** Let "auto" take a software (fallback) WebGPU adapter such as llvmpipe (default false). */
  allowFallbackAdapter?: boolean;
}

const CONSTRUCTORS: Record<BackendName, () => Backend | Promise<Backend>> = {
  cpu: () => createCpuBackend(),
  webgpu: () => createWebGpuBackend(),
};

/**
 * Creates a backend. "cpu" and "webgpu" give exactly that, and "webgpu" where no adapter exists
 * is an error, never a silent CPU run. "auto" takes WebGPU when a hardware adapter exists, and
 * the CPU otherwise — a software adapter (Mesa's llvmpipe) runs the same kernels more slowly than
 * the CPU backend does — and says which it took.
 *
 * @example
 * ```ts
 * import { createBackend } from "@rnnrl/rnnrl";
 * const backend = await createBackend("cpu");
 * if (backend.name !== "cpu") throw new Error("asked for the CPU");
 * ```
 */
export async function createBackend(
  choice: BackendChoice = "auto",
  options: CreateBackendOptions = {},
): Promise<Backend> {
  if (choice !== "auto") {
    const create = CONSTRUCTORS[choice];
    if (!create) {
      throw new RangeError(
        `Cannot create backend "${choice}": expected one of ${BACKEND_CHOICES.join(", ")}`,
      );
    }
    return await create();
  }
  const log = options.log ?? ((message: string) => console.error(message));
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu) quietGpuDriver();
  const adapter = gpu ? await gpu.requestAdapter({ powerPreference: "high-performance" }) : null;
  if (!adapter) {
    log("backend auto: using cpu (no WebGPU adapter found)");
    return createCpuBackend();
  }
  const fallback = (adapter.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter;
  if (fallback && !options.allowFallbackAdapter) {
    log(
      `backend auto: using cpu (the only WebGPU adapter, ${adapter.info.description}, is a ` +
        "software fallback; pass --backend webgpu to use it anyway)",
    );
    return createCpuBackend();
  }
  const backend = await createWebGpuBackend();
  log(`backend auto: using webgpu on ${backend.device}`);
  return backend;
}
