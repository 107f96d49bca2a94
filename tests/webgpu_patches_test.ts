// The WebGPU patch kernels against the CPU backend: unfoldPatches exactly (it only copies) and
// foldPatches to float32 rounding, on square and non-square boards and several radii, and a
// Cellwise model's forward and backward passes. Skipped where no adapter exists.
import assert from "node:assert/strict";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { Rng } from "../lib/io/rng.ts";
import { Cellwise } from "../lib/nn/cellwise.ts";
import { Sequential } from "../lib/nn/sequential.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_patches_test: skipped, no WebGPU adapter (navigator.gpu)");
const gpu = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend();
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
if (!ignore) Deno.test.afterAll(() => gpu.destroy());
const cpu = createCpuBackend();

const CASES: [batch: number, channels: number, height: number, width: number, radius: number][] = [
  [1, 1, 1, 1, 0],
  [3, 2, 4, 4, 1],
  [2, 3, 3, 7, 2],
  [5, 10, 9, 9, 2],
  [2, 2, 6, 2, 3],
];

for (const [batch, channels, height, width, radius] of CASES) {
  Deno.test({
    name:
      `WebGpuBackend.unfoldPatches and foldPatches match the CPU (B=${batch} C=${channels} ${height}×${width} r=${radius})`,
    ignore,
    fn: async () => {
      const rng = new Rng(batch * 31 + height * 7 + radius);
      const geometry = { height, width, radius };
      const inputs = channels * height * width;
      const x = Float32Array.from({ length: batch * inputs }, () => rng.normal(0, 1));
      const expected = await cpu.read(cpu.unfoldPatches(cpu.tensor(x, [batch, inputs]), geometry));
      const gx = gpu.tensor(x, [batch, inputs]);
      const patches = gpu.unfoldPatches(gx, geometry);
      assert.deepEqual(patches.shape, [
        batch * height * width,
        expected.length / (batch * height * width),
      ]);
      assert.deepEqual(Array.from(await gpu.read(patches)), Array.from(expected));

      const y = Float32Array.from({ length: expected.length }, () => rng.normal(0, 1));
      const want = await cpu.read(cpu.foldPatches(cpu.tensor(y, patches.shape), geometry));
      const folded = gpu.foldPatches(gpu.tensor(y, patches.shape), geometry);
      assert.deepEqual(folded.shape, [batch, inputs]);
      const got = await gpu.read(folded);
      for (let i = 0; i < want.length; i++) {
        assert.ok(
          Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])),
          `element ${i}: ${got[i]} vs ${want[i]}`,
        );
      }
      for (const t of [gx, patches, folded]) gpu.dispose(t);
    },
  });
}

Deno.test({
  name: "WebGpuBackend.unfoldPatches rejects an input that does not fit the board",
  ignore,
  fn: () => {
    const x = gpu.zeros([2, 10]);
    assert.throws(() => gpu.unfoldPatches(x, { height: 3, width: 3, radius: 1 }), TypeError);
    gpu.dispose(x);
  },
});

Deno.test({
  name: "Cellwise forward and backward on WebGPU match the CPU backend",
  ignore,
  fn: async () => {
    const rng = new Rng(12);
    const [height, width, channels, batch] = [5, 6, 4, 3];
    const inputSize = channels * height * width;
    const build = (backend: typeof cpu | WebGpuBackend) =>
      new Sequential(backend, {
        inputSize,
        layers: [new Cellwise({ height, width, radius: 2, hidden: [16, 8] })],
        seed: 4,
      });
    const ours = build(cpu), theirs = build(gpu);
    const params = await ours.getParameters();
    for (const p of params) p.data.set(p.data.map(() => rng.normal(0, 0.5)));
    ours.setParameters(params);
    theirs.setParameters(params);
    const x = Float32Array.from({ length: batch * inputSize }, () => rng.normal(0, 1));
    const dy = Float32Array.from({ length: batch * height * width }, () => rng.normal(0, 1));
    const close = (what: string, a: Float32Array, b: Float32Array) => {
      assert.equal(a.length, b.length, what);
      for (let i = 0; i < a.length; i++) {
        assert.ok(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])), `${what}[${i}]`);
      }
    };
    const cpuOut = ours.forward(cpu.tensor(x, [batch, inputSize]), { training: true }).output;
    const gpuX = gpu.tensor(x, [batch, inputSize]);
    const gpuOut = theirs.forward(gpuX, { training: true }).output;
    close("output", await gpu.read(gpuOut), await cpu.read(cpuOut));
    const cpuGrad = ours.backward(cpu.tensor(dy, [batch, height * width])).dInput;
    const gpuDy = gpu.tensor(dy, [batch, height * width]);
    const gpuGrad = theirs.backward(gpuDy).dInput;
    close("dInput", await gpu.read(gpuGrad), await cpu.read(cpuGrad));
    for (let k = 0; k < ours.parameters.length; k++) {
      close(
        ours.parameters[k].name,
        await gpu.read(theirs.parameters[k].grad!),
        await cpu.read(ours.parameters[k].grad!),
      );
    }
    theirs.clearCache();
    for (const t of [gpuX, gpuOut, gpuDy, gpuGrad]) gpu.dispose(t);
  },
});
