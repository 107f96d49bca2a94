/**
 * The command recorder: every op of the WebGPU backend is encoded here, into one command encoder
 * and (between copies) one compute pass, and submitted only when the caller needs a result
 * (`read`, `sync`), when a write must not overtake queued work, or when a batch grows past
 * `maxDispatchesPerSubmit`. Nothing waits on the CPU in between.
 *
 * Uniforms of all dispatches of a batch are packed into one CPU-side arena, uploaded with a single
 * `queue.writeBuffer` just before the submit and bound at per-dispatch offsets.
 *
 * Buffers referenced by commands not yet submitted are tracked: released buffers go back to the
 * pool only after the submit, so a `queue.writeBuffer` into a reused buffer (which runs before
 * any unsubmitted command) can never overwrite data that queued work still has to read.
 *
 * @module
 */

import type { BufferPool } from "./buffer_pool.ts";
import type { PipelineCache } from "./pipeline_cache.ts";
import {
  type Kernel,
  type KernelContext,
  type KernelStrategy,
  type RecurrentKernels,
  uniformBytes,
  type Workgroups,
} from "./kernels/kernel.ts";

/** Counters of a {@linkcode CommandRecorder}. */
export interface RecorderStats {
  /** Compute dispatches encoded. */
  dispatches: number;
  /** `queue.submit` calls. */
  submits: number;
  /** Buffers mapped back to the CPU (each costs a round trip). */
  readbacks: number;
}

/** Options of {@linkcode CommandRecorder}. */
export interface RecorderOptions {
  /** Submit once this many dispatches are pending (default 1024). */
  maxDispatchesPerSubmit?: number;
  /** The kernel family for matmul-like work (default "tiled"). */
  strategy?: KernelStrategy;
  /** How the recurrent layers walk a sequence (default "auto"). */
  recurrent?: RecurrentKernels;
}

/** Encodes kernels, copies and clears into batched command buffers. */
export class CommandRecorder implements KernelContext {
  /** The device limits the kernels respect. */
  readonly limits: { readonly maxComputeWorkgroupsPerDimension: number };
  /** The kernel family for matmul-like work. */
  readonly strategy: KernelStrategy;
  /** How the recurrent layers walk a sequence. */
  readonly recurrent: RecurrentKernels;
  readonly #device: GPUDevice;
  readonly #pipelines: PipelineCache;
  readonly #pool: BufferPool;
  readonly #maxDispatches: number;
  readonly #align: number;
  readonly #arena: GPUBuffer;
  readonly #arenaData: ArrayBuffer;
  readonly #u32: Uint32Array;
  readonly #f32: Float32Array;
  #arenaUsed = 0;
  #encoder: GPUCommandEncoder | undefined;
  #pass: GPUComputePassEncoder | undefined;
  #pendingDispatches = 0;
  readonly #pending = new Set<GPUBuffer>();
  #deferred: GPUBuffer[] = [];
  readonly #stats: RecorderStats = { dispatches: 0, submits: 0, readbacks: 0 };

  /** A recorder over `device`, compiling through `pipelines` and allocating from `pool`. */
  constructor(
    device: GPUDevice,
    pipelines: PipelineCache,
    pool: BufferPool,
    options: RecorderOptions = {},
  ) {
    this.#device = device;
    this.#pipelines = pipelines;
    this.#pool = pool;
    this.limits = {
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    };
    this.#maxDispatches = options.maxDispatchesPerSubmit ?? 1024;
    this.strategy = options.strategy ?? "tiled";
    this.recurrent = options.recurrent ?? "auto";
    this.#align = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    // Room for every dispatch of a full batch (uniform blocks are at most 256 bytes).
    const arenaBytes = this.#align * this.#maxDispatches;
    this.#arena = device.createBuffer({
      size: arenaBytes,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: "rnnrl uniform arena",
    });
    this.#arenaData = new ArrayBuffer(arenaBytes);
    this.#u32 = new Uint32Array(this.#arenaData);
    this.#f32 = new Float32Array(this.#arenaData);
  }

  /** A snapshot of the counters. */
  get stats(): RecorderStats {
    return { ...this.#stats };
  }

  #encoderNow(): GPUCommandEncoder {
    if (!this.#encoder) this.#encoder = this.#device.createCommandEncoder({ label: "rnnrl batch" });
    return this.#encoder;
  }

  #endPass(): void {
    this.#pass?.end();
    this.#pass = undefined;
  }

  /** Encodes one dispatch (see {@linkcode KernelContext.dispatch}). */
  dispatch(
    key: string,
    build: () => Kernel,
    uniforms: readonly number[],
    buffers: readonly GPUBuffer[],
    workgroups: Workgroups,
  ): void {
    const { kernel, pipeline, layout } = this.#pipelines.get(key, build);
    if (uniforms.length !== kernel.uniforms.length || buffers.length !== kernel.bindings.length) {
      throw new TypeError(
        `Cannot dispatch kernel ${key}: expected ${kernel.uniforms.length} uniforms and ` +
          `${kernel.bindings.length} buffers, got ${uniforms.length} and ${buffers.length}`,
      );
    }
    if (workgroups[0] === 0 || workgroups[1] === 0 || workgroups[2] === 0) return;
    const bytes = uniformBytes(kernel);
    if (this.#arenaUsed + bytes > this.#arenaData.byteLength) this.flush();
    const offset = this.#arenaUsed;
    const base = offset / 4;
    kernel.uniforms.forEach(([, type], i) => {
      if (type === "u32") this.#u32[base + i] = uniforms[i];
      else this.#f32[base + i] = uniforms[i];
    });
    this.#arenaUsed += Math.ceil(bytes / this.#align) * this.#align;
    const bindGroup = this.#device.createBindGroup({
      layout,
      label: key,
      entries: [
        { binding: 0, resource: { buffer: this.#arena, offset, size: bytes } },
        ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
      ],
    });
    for (const b of buffers) this.#pending.add(b);
    if (!this.#pass) {
      this.#pass = this.#encoderNow().beginComputePass({ label: "rnnrl kernels" });
    }
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, bindGroup);
    this.#pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    this.#stats.dispatches++;
    if (++this.#pendingDispatches >= this.#maxDispatches) this.flush();
  }

  /** Encodes a buffer-to-buffer copy (offsets and size in bytes, multiples of 4). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.#endPass();
    this.#encoderNow().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.#pending.add(src);
    this.#pending.add(dst);
  }

  /** Encodes zeroing part of a buffer (offset and size in bytes, multiples of 4). */
  clear(buffer: GPUBuffer, offset: number, bytes: number): void {
    if (bytes === 0) return;
    this.#endPass();
    this.#encoderNow().clearBuffer(buffer, offset, bytes);
    this.#pending.add(buffer);
  }

  /** Whether commands not yet submitted refer to `buffer`. */
  isPending(buffer: GPUBuffer): boolean {
    return this.#pending.has(buffer);
  }

  /** Returns `buffer` to the pool, after the next submit if queued work still refers to it. */
  release(buffer: GPUBuffer): void {
    if (this.#pending.has(buffer)) this.#deferred.push(buffer);
    else this.#pool.release(buffer);
  }

  /** Submits everything encoded so far (a no-op when nothing is). */
  flush(): void {
    if (!this.#encoder) return;
    this.#endPass();
    if (this.#arenaUsed > 0) {
      this.#device.queue.writeBuffer(this.#arena, 0, this.#arenaData, 0, this.#arenaUsed);
    }
    this.#device.queue.submit([this.#encoder.finish()]);
    this.#stats.submits++;
    this.#encoder = undefined;
    this.#arenaUsed = 0;
    this.#pendingDispatches = 0;
    this.#pending.clear();
    for (const b of this.#deferred) this.#pool.release(b);
    this.#deferred = [];
  }

  /** Submits pending work with a copy of `bytes` bytes of `buffer`, and maps the copy back. */
  async readBack(buffer: GPUBuffer, bytes: number): Promise<Float32Array> {
    if (bytes === 0) return new Float32Array(0);
    const usage = GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST;
    const staging = this.#pool.acquire(bytes, usage, "rnnrl readback");
    this.copy(buffer, 0, staging, 0, bytes);
    this.flush();
    this.#stats.readbacks++;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      const data = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      return data;
    } finally {
      this.#pool.release(staging);
    }
  }
}
