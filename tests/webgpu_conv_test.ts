// The WebGPU convolution and pooling kernels against the CPU backend: convPatches and maxPool
// exactly (they only copy and compare), the patches' adjoint bit for bit (both add in the same
// order, rounding to float32 after every addition), the pooling gradient exactly, on both input
// layouts, several kernels, paddings and remainders; and a Conv2D → MaxPool2D → Conv2D → Dense
// model's forward and backward passes, and one before a GRU. Skipped where no adapter exists.
import assert from "node:assert/strict";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { Rng } from "../lib/io/rng.ts";
import { Conv2D, MaxPool2D } from "../lib/nn/conv2d.ts";
import { Dense } from "../lib/nn/dense.ts";
import { GRU } from "../lib/nn/gru.ts";
import { Sequential } from "../lib/nn/sequential.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_conv_test: skipped, no WebGPU adapter (navigator.gpu)");
const gpu = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend();
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
if (!ignore) Deno.test.afterAll(() => gpu.destroy());
const cpu = createCpuBackend();

function normals(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

const CONV_CASES: [
  batch: number,
  channels: number,
  height: number,
  width: number,
  kernel: number,
  padding: number,
  channelsFirst: boolean,
][] = [
  [1, 1, 1, 1, 1, 0, false],
  [2, 3, 5, 4, 3, 1, true],
  [3, 2, 9, 9, 3, 1, false],
  [2, 4, 6, 7, 2, 0, false],
  [1, 10, 9, 9, 5, 2, true],
  [4, 1, 28, 28, 3, 1, false],
];

for (const [batch, channels, height, width, kernel, padding, channelsFirst] of CONV_CASES) {
  Deno.test({
    name:
      `WebGpuBackend.convPatches and convPatchesAdjoint match the CPU (B=${batch} C=${channels} ${height}×${width} k=${kernel} p=${padding}${
        channelsFirst ? " channels-first" : ""
      })`,
    ignore,
    fn: async () => {
      const rng = new Rng(batch * 31 + height * width + kernel);
      const geometry = { height, width, channels, kernel, padding, channelsFirst };
      const inputs = channels * height * width;
      const x = normals(rng, batch * inputs);
      const want = cpu.convPatches(cpu.tensor(x, [batch, inputs]), geometry);
      const gx = gpu.tensor(x, [batch, inputs]);
      const patches = gpu.convPatches(gx, geometry);
      assert.deepEqual(patches.shape, want.shape);
      assert.deepEqual(Array.from(await gpu.read(patches)), Array.from(await cpu.read(want)));

      const y = normals(rng, want.size);
      const folded = gpu.convPatchesAdjoint(gpu.tensor(y, want.shape), geometry);
      const wantFolded = cpu.convPatchesAdjoint(cpu.tensor(y, want.shape), geometry);
      assert.deepEqual(folded.shape, [batch, inputs]);
      assert.deepEqual(
        Array.from(await gpu.read(folded)),
        Array.from(await cpu.read(wantFolded)),
        "the same float32 additions in the same order: the same bits",
      );
      for (const t of [gx, patches, folded]) gpu.dispose(t);
    },
  });
}

const POOL_CASES: [batch: number, channels: number, height: number, width: number, size: number][] =
  [
    [1, 1, 2, 2, 2],
    [2, 3, 5, 4, 2],
    [3, 8, 28, 28, 2],
    [2, 2, 9, 9, 3],
  ];

for (const [batch, channels, height, width, size] of POOL_CASES) {
  Deno.test({
    name:
      `WebGpuBackend.maxPool and maxPoolBackward match the CPU (B=${batch} C=${channels} ${height}×${width} s=${size})`,
    ignore,
    fn: async () => {
      const rng = new Rng(batch * 7 + height + size);
      const geometry = { height, width, channels, size };
      const inputs = channels * height * width;
      // Small integers, so that windows hold ties: the first maximum must win on both.
      const x = Array.from({ length: batch * inputs }, () => rng.int(4));
      const want = cpu.maxPool(cpu.tensor(x, [batch, inputs]), geometry);
      const gx = gpu.tensor(x, [batch, inputs]);
      const pooled = gpu.maxPool(gx, geometry);
      assert.deepEqual(pooled.shape, want.shape);
      assert.deepEqual(Array.from(await gpu.read(pooled)), Array.from(await cpu.read(want)));
      const dy = normals(rng, want.size);
      const dx = gpu.maxPoolBackward(gx, gpu.tensor(dy, want.shape), geometry);
      const wantDx = cpu.maxPoolBackward(
        cpu.tensor(x, [batch, inputs]),
        cpu.tensor(dy, want.shape),
        geometry,
      );
      assert.deepEqual(Array.from(await gpu.read(dx)), Array.from(await cpu.read(wantDx)));
      for (const t of [gx, pooled, dx]) gpu.dispose(t);
    },
  });
}

/** Forward and backward of the same model on both backends, outputs and gradients compared. */
async function compareModels(
  build: (backend: typeof cpu | WebGpuBackend) => Sequential,
  shape: number[],
  rng: Rng,
): Promise<void> {
  const onCpu = build(cpu), onGpu = build(gpu);
  const x = normals(rng, shape.reduce((a, b) => a * b, 1));
  const outShape = [...shape.slice(0, -1), onCpu.outputSize];
  const dy = normals(rng, outShape.reduce((a, b) => a * b, 1));
  const run = async (model: Sequential) => {
    const backend = model.backend;
    const input = backend.tensor(x, shape);
    const { output, state } = model.forward(input, { training: true });
    const grad = backend.tensor(dy, outShape);
    const { dInput, dState } = model.backward(grad);
    const result: Record<string, Float32Array> = {
      output: await backend.read(output),
      dInput: await backend.read(dInput),
    };
    for (const p of model.parameters) result[p.name] = await backend.read(p.grad!);
    model.clearCache();
    model.disposeState(state);
    model.disposeState(dState);
    for (const t of [input, output, grad, dInput]) backend.dispose(t);
    return result;
  };
  const want = await run(onCpu), got = await run(onGpu);
  for (const key of Object.keys(want)) {
    for (let i = 0; i < want[key].length; i++) {
      assert.ok(
        Math.abs(got[key][i] - want[key][i]) <= 1e-4 * (1 + Math.abs(want[key][i])),
        `${key} ${i}: ${got[key][i]} vs ${want[key][i]}`,
      );
    }
  }
}

Deno.test({
  name: "Conv2D → MaxPool2D → Conv2D → Dense forward and backward on WebGPU match the CPU backend",
  ignore,
  fn: async () => {
    await compareModels(
      (backend) =>
        new Sequential(backend, {
          inputSize: 3 * 9 * 8,
          layers: [
            new Conv2D({
              filters: 6,
              kernelSize: 3,
              height: 9,
              width: 8,
              inputLayout: "channels-first",
              activation: "relu",
            }),
            new MaxPool2D({ size: 2 }),
            new Conv2D({ filters: 4, kernelSize: 3, activation: "tanh" }),
            new Dense({ units: 5 }),
          ],
          seed: 3,
        }),
      [5, 3 * 9 * 8],
      new Rng(4),
    );
  },
});

Deno.test({
  name: "Conv2D → MaxPool2D → GRU → Dense on sequences on WebGPU matches the CPU backend",
  ignore,
  fn: async () => {
    await compareModels(
      (backend) =>
        new Sequential(backend, {
          inputSize: 6 * 6,
          layers: [
            new Conv2D({ filters: 3, kernelSize: 3, height: 6, width: 6, activation: "relu" }),
            new MaxPool2D({ size: 2 }),
            new GRU({ units: 6 }),
            new Dense({ units: 2 }),
          ],
          seed: 5,
        }),
      [4, 3, 36],
      new Rng(6),
    );
  },
});
