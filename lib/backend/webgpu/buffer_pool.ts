/**
 * One generic pool of GPU buffers keyed by size and usage. Released buffers wait in a free list
 * and are handed out again for the next request of the same key; sizes are rounded up to 16 bytes
 * (so vec4 bindings always fit). The pool counts what it allocated and what it reused.
 *
 * The pool does not know about pending GPU work: the backend releases a buffer only once no
 * command that still has to be submitted refers to it.
 *
 * @module
 */

/** Counters of a {@linkcode BufferPool}. */
export interface BufferPoolStats {
  /** Buffers created with `device.createBuffer`. */
  buffersAllocated: number;
  /** Requests served from the free list. */
  buffersReused: number;
  /** Bytes of all buffers created. */
  bytesAllocated: number;
  /** Bytes currently in the free list. */
  bytesFree: number;
}

/** The byte size the pool allocates for a request of `bytes`: a multiple of 16, at least 16. */
export function pooledSize(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

/** A pool of GPU buffers keyed by (size, usage). */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #free = new Map<string, GPUBuffer[]>();
  readonly #stats: BufferPoolStats = {
    buffersAllocated: 0,
    buffersReused: 0,
    bytesAllocated: 0,
    bytesFree: 0,
  };

  /** A pool allocating on `device`. */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** A snapshot of the counters. */
  get stats(): BufferPoolStats {
    return { ...this.#stats };
  }

  /** A buffer of at least `bytes` bytes with exactly `usage`, labelled `label`. */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const size = pooledSize(bytes);
    const list = this.#free.get(`${usage}:${size}`);
    const reused = list?.pop();
    if (reused) {
      this.#stats.buffersReused++;
      this.#stats.bytesFree -= size;
      reused.label = label;
      return reused;
    }
    this.#stats.buffersAllocated++;
    this.#stats.bytesAllocated += size;
    return this.#device.createBuffer({ size, usage, label });
  }

  /** Returns a buffer for reuse. It must come from {@linkcode BufferPool.acquire}. */
  release(buffer: GPUBuffer): void {
    const key = `${buffer.usage}:${buffer.size}`;
    let list = this.#free.get(key);
    if (!list) {
      list = [];
      this.#free.set(key, list);
    }
    list.push(buffer);
    this.#stats.bytesFree += buffer.size;
  }

  /** Destroys every free buffer. */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#stats.bytesFree = 0;
  }
}
