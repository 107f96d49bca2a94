// The WebGPU backend's machinery: tensors and copies, the buffer pool and its deferred release,
// the pipeline cache (no recompiles for new sizes), batched submits and counted readbacks, and
// the errors for a missing adapter and a lost device. Skipped where no adapter exists.
import assert from "node:assert/strict";
import { createWebGpuBackend, type WebGpuBackend } from "../lib/backend/webgpu/mod.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_backend_test: skipped, no WebGPU adapter (navigator.gpu)");
const gpu = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend();
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
if (!ignore) Deno.test.afterAll(() => gpu.destroy());

function test(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore, fn });
}

test("WebGpuBackend tensor, zeros, write, copy, reshape and read round-trip", async () => {
  const t = gpu.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
  assert.deepEqual(t.shape, [2, 3]);
  assert.equal(t.size, 6);
  assert.deepEqual(Array.from(await gpu.read(t)), [1, 2, 3, 4, 5, 6]);
  const z = gpu.zeros([2, 3]);
  gpu.copy(z, t);
  gpu.write(t, [9, 9, 9, 9, 9, 9]);
  assert.deepEqual(Array.from(await gpu.read(z)), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(await gpu.read(gpu.zeros([5]))), [0, 0, 0, 0, 0]);
  const view = gpu.reshape(t, [3, 2]);
  assert.deepEqual(view.shape, [3, 2]);
  gpu.dispose(t);
  // The view keeps the storage alive after the original handle is gone.
  assert.deepEqual(Array.from(await gpu.read(view)), [9, 9, 9, 9, 9, 9]);
  gpu.dispose(view);
  await assert.rejects(gpu.read(view), /disposed/);
  assert.throws(() => gpu.reshape(z, [4]), TypeError);
  assert.throws(() => gpu.tensor([1, 2], [3]), TypeError);
  assert.deepEqual(Array.from(await gpu.read(gpu.tensor([], [0, 3]))), []);
});

test("WebGpuBackend zeros really clears a reused buffer", async () => {
  const a = gpu.tensor([7, 7, 7, 7, 7, 7, 7], [7]);
  await gpu.read(a);
  const before = gpu.stats.buffersReused;
  gpu.dispose(a);
  const z = gpu.zeros([7]);
  assert.equal(gpu.stats.buffersReused, before + 1);
  assert.deepEqual(Array.from(await gpu.read(z)), [0, 0, 0, 0, 0, 0, 0]);
});

test("WebGpuBackend does not hand out a buffer that queued work still reads", async () => {
  const x = gpu.tensor([1, 2, 3], [3]);
  await gpu.sync();
  const y = gpu.scale(x, 2); // queued, not submitted
  gpu.dispose(x);
  // A new upload of the same size: were x's buffer reused now, this write would land before
  // the queued scale ran.
  const other = gpu.tensor([100, 100, 100], [3]);
  assert.deepEqual(Array.from(await gpu.read(y)), [2, 4, 6]);
  assert.deepEqual(Array.from(await gpu.read(other)), [100, 100, 100]);
  // After the submit the buffer is back in the pool and reused.
  const before = gpu.stats.buffersReused;
  gpu.dispose(gpu.tensor([0, 0, 0], [3]));
  assert.equal(gpu.stats.buffersReused, before + 1);
});

test("WebGpuBackend.write waits for queued work that reads the tensor", async () => {
  const x = gpu.tensor([1, 2], [2]);
  const y = gpu.add(x, x); // queued
  gpu.write(x, [10, 20]);
  const z = gpu.add(x, x);
  assert.deepEqual(Array.from(await gpu.read(y)), [2, 4]);
  assert.deepEqual(Array.from(await gpu.read(z)), [20, 40]);
});

test("WebGpuBackend encodes many ops in one submit and reads back once", async () => {
  await gpu.sync();
  const start = gpu.stats;
  let x = gpu.tensor(new Float32Array(64).fill(1), [8, 8]);
  for (let i = 0; i < 20; i++) {
    const y = gpu.matmul(x, x, { activation: "tanh" });
    gpu.dispose(x);
    x = y;
  }
  const total = gpu.sum(x);
  const value = (await gpu.read(total))[0];
  const end = gpu.stats;
  assert.ok(Number.isFinite(value) && value > 0);
  assert.equal(end.readbacks - start.readbacks, 1);
  assert.equal(end.submits - start.submits, 1);
  assert.equal(end.dispatches - start.dispatches, 21);
});

test("WebGpuBackend compiles nothing new for new batch sizes", async () => {
  const run = async (batch: number) => {
    const x = gpu.tensor(new Float32Array(batch * 5).fill(0.5), [batch, 5]);
    const w = gpu.tensor(new Float32Array(5 * 3).fill(0.1), [5, 3]);
    const q = gpu.matmul(x, w, { activation: "relu" });
    const a = gpu.epsilonGreedy(q, 0.1, 1, batch);
    const { loss } = gpu.huberLoss(gpu.gatherRows(q, a), gpu.zeros([batch]), 1);
    return (await gpu.read(loss))[0];
  };
  await run(4);
  const compiled = gpu.stats.pipelinesCompiled;
  for (const batch of [1, 7, 33, 300]) assert.ok(Number.isFinite(await run(batch)));
  assert.equal(gpu.stats.pipelinesCompiled, compiled);
});

test("WebGpuBackend rejects tensors of another backend and bad shapes", () => {
  const other = { shape: [2], size: 2 };
  assert.throws(() => gpu.add(other, other), /another backend/);
  assert.throws(() => gpu.add(gpu.zeros([2]), gpu.zeros([3])), TypeError);
  assert.throws(() => gpu.activate(gpu.zeros([2]), "gelu" as "relu"), RangeError);
  assert.throws(() => gpu.clipByGlobalNorm([gpu.zeros([2])], 0), RangeError);
  return Promise.resolve();
});

Deno.test("createWebGpuBackend without an adapter is one clear error", async () => {
  const original = Object.getOwnPropertyDescriptor(navigator, "gpu");
  Object.defineProperty(navigator, "gpu", {
    value: { requestAdapter: () => Promise.resolve(null) },
    configurable: true,
  });
  try {
    await assert.rejects(
      createWebGpuBackend(),
      (e: Error) => /^Cannot use the WebGPU backend: no adapter found/.test(e.message),
    );
  } finally {
    if (original) Object.defineProperty(navigator, "gpu", original);
    else delete (navigator as { gpu?: unknown }).gpu;
  }
});

test("WebGpuBackend reports a lost device on the next op", async () => {
  const doomed = await createWebGpuBackend();
  const t = doomed.tensor([1], [1]);
  doomed.destroy();
  // device.lost settles asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.throws(() => doomed.scale(t, 2), /^Error: WebGPU device lost: /);
  await assert.rejects(doomed.read(t), /WebGPU device lost: /);
});

test("WebGpuBackend prints each new kernel's WGSL once with printWgsl", async () => {
  const printing = await createWebGpuBackend({ printWgsl: true });
  const printed: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => printed.push(args.join(" "));
  try {
    const x = printing.tensor([1, 2], [2]);
    await printing.read(printing.add(printing.add(x, x), x));
  } finally {
    console.error = original;
    printing.destroy();
  }
  assert.equal(printed.length, 1);
  assert.match(printed[0], /rnnrl WGSL: elementwise_add/);
  assert.match(printed[0], /@compute @workgroup_size\(256, 1, 1\)/);
});

test("WebGpuBackend respects the device's storage binding limit", () => {
  assert.throws(() => gpu.zeros([2 ** 20, 2 ** 12]), RangeError);
  return Promise.resolve();
});
