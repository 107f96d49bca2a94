/**
 * The pipeline cache: one compute pipeline per distinct WGSL text. Kernels are first looked up
 * by their short cache key (so the WGSL is generated once per key); two keys that produce the
 * same text share one pipeline. Sizes live in uniforms, so a new batch size compiles nothing.
 *
 * Pipelines get explicit bind group layouts (binding 0 the uniform block, then the storage
 * buffers), labelled with the kernel's key. With `printWgsl`, every newly compiled shader is
 * printed to stderr.
 *
 * @module
 */

import type { Kernel } from "./kernels/kernel.ts";

/** A compiled kernel. */
export interface CachedPipeline {
  /** The kernel it was compiled from. */
  readonly kernel: Kernel;
  /** The compute pipeline. */
  readonly pipeline: GPUComputePipeline;
  /** The layout of its bind group 0. */
  readonly layout: GPUBindGroupLayout;
}

/** Options of {@linkcode PipelineCache}. */
export interface PipelineCacheOptions {
  /** Print the WGSL of each newly compiled kernel to stderr. */
  printWgsl?: boolean;
}

/** Compiles kernels once and hands out their pipelines. */
export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #printWgsl: boolean;
  readonly #byKey = new Map<string, CachedPipeline>();
  readonly #byText = new Map<string, CachedPipeline>();
  readonly #layouts = new Map<string, GPUBindGroupLayout>();
  #compiled = 0;

  /** A cache compiling on `device`. */
  constructor(device: GPUDevice, options: PipelineCacheOptions = {}) {
    this.#device = device;
    this.#printWgsl = options.printWgsl ?? false;
  }

  /** How many pipelines have been compiled (distinct WGSL texts). */
  get compiled(): number {
    return this.#compiled;
  }

  /** The pipeline of `key`, building the kernel with `build` and compiling it on first use. */
  get(key: string, build: () => Kernel): CachedPipeline {
    const hit = this.#byKey.get(key);
    if (hit) return hit;
    const kernel = build();
    let entry = this.#byText.get(kernel.wgsl);
    if (!entry) {
      entry = this.#compile(kernel);
      this.#byText.set(kernel.wgsl, entry);
    }
    this.#byKey.set(key, entry);
    return entry;
  }

  #compile(kernel: Kernel): CachedPipeline {
    if (this.#printWgsl) {
      console.error(`// ---- rnnrl WGSL: ${kernel.key} ----\n${kernel.wgsl}`);
    }
    const layout = this.#layout(kernel);
    const module = this.#device.createShaderModule({ code: kernel.wgsl, label: kernel.key });
    const pipeline = this.#device.createComputePipeline({
      label: kernel.key,
      layout: this.#device.createPipelineLayout({ bindGroupLayouts: [layout], label: kernel.key }),
      compute: { module, entryPoint: "main" },
    });
    this.#compiled++;
    return { kernel, pipeline, layout };
  }

  #layout(kernel: Kernel): GPUBindGroupLayout {
    const signature = kernel.bindings.join(",");
    let layout = this.#layouts.get(signature);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
        ...kernel.bindings.map((access, i): GPUBindGroupLayoutEntry => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: access === "read" ? "read-only-storage" : "storage" },
        })),
      ];
      layout = this.#device.createBindGroupLayout({ entries, label: `layout(${signature})` });
      this.#layouts.set(signature, layout);
    }
    return layout;
  }
}
