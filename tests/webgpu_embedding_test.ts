// The WebGPU embedding kernels against the CPU backend: the lookup exactly (it only copies), the
// table's scatter-add bit for bit (both sum every id's uses in the same order), the input's
// gradient, NaN for a bad id, and an Embedding → LSTM model's forward and backward passes.
// Skipped where no adapter exists.
import assert from "node:assert/strict";
import { createCpuBackend } from "../lib/backend/cpu.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../lib/backend/webgpu/mod.ts";
import { Rng } from "../lib/io/rng.ts";
import { Dense } from "../lib/nn/dense.ts";
import { Embedding } from "../lib/nn/embedding.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { Sequential } from "../lib/nn/sequential.ts";

const adapter = await navigator.gpu?.requestAdapter();
const ignore = !adapter;
if (ignore) console.warn("webgpu_embedding_test: skipped, no WebGPU adapter (navigator.gpu)");
const gpu = ignore ? undefined as unknown as WebGpuBackend : await createWebGpuBackend();
// A device still alive when the process exits can crash Mesa's teardown after every test passed.
if (!ignore) Deno.test.afterAll(() => gpu.destroy());
const cpu = createCpuBackend();

const CASES: [rows: number, ids: number, passed: number, vocabulary: number, size: number][] = [
  [1, 1, 0, 1, 1],
  [7, 3, 2, 5, 4],
  [64, 8, 8, 21, 8],
  [300, 2, 1, 3, 17],
];

for (const [rows, ids, passed, vocabulary, size] of CASES) {
  Deno.test({
    name:
      `WebGpuBackend.embeddingForward and embeddingBackward match the CPU (R=${rows} L=${ids} P=${passed} V=${vocabulary} E=${size})`,
    ignore,
    fn: async () => {
      const rng = new Rng(rows * 13 + vocabulary);
      const I = ids + passed, O = ids * size + passed;
      const x = Float32Array.from(
        { length: rows * I },
        (_, i) => i % I < ids ? rng.int(vocabulary) : rng.normal(),
      );
      const table = Float32Array.from({ length: vocabulary * size }, () => rng.normal());
      const dOut = Float32Array.from({ length: rows * O }, () => rng.normal());
      const want = await cpu.read(
        cpu.embeddingForward(cpu.tensor(x, [rows, I]), cpu.tensor(table, [vocabulary, size]), ids),
      );
      const gx = gpu.tensor(x, [rows, I]), gt = gpu.tensor(table, [vocabulary, size]);
      const out = gpu.embeddingForward(gx, gt, ids);
      assert.deepEqual(out.shape, [rows, O]);
      assert.deepEqual(Array.from(await gpu.read(out)), Array.from(want));

      const cpuGrads = cpu.embeddingBackward(
        cpu.tensor(x, [rows, I]),
        cpu.tensor(dOut, [rows, O]),
        vocabulary,
        ids,
      );
      const gd = gpu.tensor(dOut, [rows, O]);
      const gpuGrads = gpu.embeddingBackward(gx, gd, vocabulary, ids);
      assert.deepEqual(gpuGrads.dTable.shape, [vocabulary, size]);
      assert.deepEqual(
        Array.from(await gpu.read(gpuGrads.dTable)),
        Array.from(await cpu.read(cpuGrads.dTable)),
        "the same sums in the same order: the same bits",
      );
      assert.deepEqual(
        Array.from(await gpu.read(gpuGrads.dInput)),
        Array.from(await cpu.read(cpuGrads.dInput)),
      );
      for (const t of [gx, gt, out, gd, gpuGrads.dTable, gpuGrads.dInput]) gpu.dispose(t);
    },
  });
}

Deno.test({
  name: "WebGpuBackend.embeddingBackward gives the same bits on every run (no atomics)",
  ignore,
  fn: async () => {
    const rng = new Rng(2);
    const [rows, ids, vocabulary, size] = [512, 8, 4, 8]; // many uses of every id
    const x = gpu.tensor(Array.from({ length: rows * ids }, () => rng.int(vocabulary)), [
      rows,
      ids,
    ]);
    const d = gpu.tensor(Array.from({ length: rows * ids * size }, () => rng.normal()), [
      rows,
      ids * size,
    ]);
    const first = gpu.embeddingBackward(x, d, vocabulary, ids);
    const reference = await gpu.read(first.dTable);
    for (let run = 0; run < 3; run++) {
      const again = gpu.embeddingBackward(x, d, vocabulary, ids);
      assert.deepEqual(Array.from(await gpu.read(again.dTable)), Array.from(reference));
      gpu.dispose(again.dTable);
      gpu.dispose(again.dInput);
    }
    for (const t of [x, d, first.dTable, first.dInput]) gpu.dispose(t);
  },
});

Deno.test({
  name: "WebGpuBackend.embeddingForward gives NaN for an id outside the vocabulary or not whole",
  ignore,
  fn: async () => {
    const table = gpu.tensor([1, 2, 3, 4], [2, 2]);
    const x = gpu.tensor([1, 2, 0.5, 0, -1, 1], [3, 2]);
    const out = await gpu.read(gpu.embeddingForward(x, table, 2));
    const rows = [0, 1, 2].map((r) =>
      [0, 1].map((l) => Array.from(out.subarray(r * 4 + 2 * l, r * 4 + 2 * l + 2)))
    );
    assert.deepEqual(rows[0][0], [3, 4]);
    assert.ok(rows[0][1].every(Number.isNaN), "id 2 of a vocabulary of 2");
    assert.ok(rows[1][0].every(Number.isNaN), "id 0.5");
    assert.deepEqual(rows[1][1], [1, 2]);
    assert.ok(rows[2][0].every(Number.isNaN), "id −1");
    assert.deepEqual(rows[2][1], [3, 4]);
  },
});

Deno.test({
  name: "Embedding → LSTM → Dense forward and backward on WebGPU match the CPU backend",
  ignore,
  fn: async () => {
    const rng = new Rng(21);
    const [steps, batch, ids, passed, vocabulary] = [6, 4, 4, 4, 9];
    const build = (backend: typeof cpu | WebGpuBackend) =>
      new Sequential(backend, {
        inputSize: ids + passed,
        layers: [
          new Embedding({ vocabulary, size: 5, ids }),
          new LSTM({ units: 8 }),
          new Dense({ units: 3 }),
        ],
        seed: 3,
      });
    const onCpu = build(cpu), onGpu = build(gpu);
    const x = Array.from(
      { length: steps * batch * (ids + passed) },
      (_, i) => i % (ids + passed) < ids ? rng.int(vocabulary) : rng.int(2),
    );
    const dy = Array.from({ length: steps * batch * 3 }, () => rng.normal());
    const run = async (model: Sequential) => {
      const backend = model.backend;
      const input = backend.tensor(x, [steps, batch, ids + passed]);
      const { output, state } = model.forward(input, { training: true });
      const grad = backend.tensor(dy, [steps, batch, 3]);
      const { dInput, dState } = model.backward(grad);
      const result = {
        output: await backend.read(output),
        table: await backend.read(model.parameters[0].grad!),
        dInput: await backend.read(dInput),
      };
      model.clearCache();
      model.disposeState(state);
      model.disposeState(dState);
      for (const t of [input, output, grad, dInput]) backend.dispose(t);
      return result;
    };
    const want = await run(onCpu), got = await run(onGpu);
    for (const key of ["output", "table", "dInput"] as const) {
      for (let i = 0; i < want[key].length; i++) {
        assert.ok(
          Math.abs(got[key][i] - want[key][i]) <= 1e-5 * (1 + Math.abs(want[key][i])),
          `${key} ${i}: ${got[key][i]} vs ${want[key][i]}`,
        );
      }
    }
  },
});
