/**
 * Square matrix multiplies: rnnrl (cpu, webgpu) against TensorFlow.js (cpu, webgpu), in one run.
 * Every bench ends with a read or a sync, so the work is really done. 4096³ runs only on a
 * hardware adapter (on llvmpipe or the CPU it would take minutes). FLOPs per call: 2·n³.
 *
 *     deno task bench bench/matmul_bench.ts
 *
 * @module
 */

import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import type { Backend } from "../lib/backend/backend.ts";
import { createTfjsMatmul, hasWebGpuAdapter } from "./peers.ts";
import { randomData } from "./_workloads.ts";

const gpuAvailable = await hasWebGpuAdapter();
const adapter = gpuAvailable ? await navigator.gpu.requestAdapter() : null;
const hardware = adapter !== null && !adapter.info.isFallbackAdapter;
const backends: Backend[] = [createCpuBackend()];
if (gpuAvailable) backends.push(await createWebGpuBackend());

for (const size of hardware ? [1024, 4096] : [1024]) {
  const group = `matmul ${size}x${size}x${size}`;
  for (const backend of backends) {
    if (size > 1024 && backend.name === "cpu") continue;
    const a = backend.tensor(randomData(size * size, 4), [size, size]);
    const b = backend.tensor(randomData(size * size, 5), [size, size]);
    const run = async () => {
      const c = backend.matmul(a, b);
      await backend.read(backend.sum(c));
      backend.dispose(c);
    };
    await run();
    Deno.bench({ name: `rnnrl ${backend.name}`, group, n: 10, warmup: 1, fn: run });
  }
  for (const tfBackend of gpuAvailable ? ["cpu", "webgpu"] as const : ["cpu"] as const) {
    if (size > 1024 && tfBackend === "cpu") continue;
    const peer = await createTfjsMatmul(tfBackend, size);
    Deno.bench({ name: `tfjs ${tfBackend}`, group, n: 5, warmup: 1, fn: () => peer.run() });
  }
}
