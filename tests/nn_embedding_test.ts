// The Embedding layer and its backend ops on the CPU: the lookup's layout, the vocabulary check,
// gradients against float64 central differences (the table's scatter-add with repeated ids, and
// the passed-through columns), forward parity with onnxruntime-web (a bare `Gather` graph, and
// exported models feed-forward and recurrent), and a round trip through a model's configuration
// and a checkpoint file.
import assert from "node:assert/strict";
import { cpuData, createCpuBackend } from "../lib/backend/cpu.ts";
import type { Tensor } from "../lib/backend/backend.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../lib/io/checkpoint.ts";
import { Rng } from "../lib/io/rng.ts";
import { Dense } from "../lib/nn/dense.ts";
import { Embedding } from "../lib/nn/embedding.ts";
import { GRU } from "../lib/nn/gru.ts";
import { LSTM } from "../lib/nn/lstm.ts";
import { type RecurrentState, Sequential } from "../lib/nn/sequential.ts";
import { exportOnnx } from "../lib/onnx/export.ts";
import { intAttribute, OnnxGraphBuilder } from "../lib/onnx/graph.ts";
import { OnnxPolicy } from "../lib/onnx/policy.ts";
import { createOrtSession, runOrt } from "../lib/onnx/runtime.ts";
import { maxAbsDiff } from "./helpers/mod.ts";

const cpu = createCpuBackend();
const f64 = createCpuBackend({ precision: "float64" });

/** `rows` rows of `ids` random ids in 0..V−1 followed by `passed` N(0, 1) features. */
function idRows(rng: Rng, rows: number, ids: number, passed: number, vocabulary: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let l = 0; l < ids; l++) out.push(rng.int(vocabulary));
    for (let k = 0; k < passed; k++) out.push(rng.normal());
  }
  return out;
}

Deno.test("embeddingForward lays out each row's vectors in id order, then the passed columns", async () => {
  const table = cpu.tensor([0, 1, 10, 11, 20, 21], [3, 2]); // V = 3, E = 2
  const x = cpu.tensor([2, 0, 0.5, -1, 1, 1, 7, 8], [2, 4]); // two ids, two features a row
  const out = cpu.embeddingForward(x, table, 2);
  assert.deepEqual(out.shape, [2, 6]);
  assert.deepEqual(Array.from(await cpu.read(out)), [20, 21, 0, 1, 0.5, -1, 10, 11, 10, 11, 7, 8]);
  const all = cpu.embeddingForward(cpu.tensor([1, 2], [1, 2]), table, 2);
  assert.deepEqual(Array.from(await cpu.read(all)), [10, 11, 20, 21]);
});

Deno.test("embeddingForward refuses an id that is not a whole number in the vocabulary", () => {
  const table = cpu.zeros([3, 2]);
  for (const bad of [3, -1, 1.5, NaN]) {
    assert.throws(
      () => cpu.embeddingForward(cpu.tensor([0, bad], [1, 2]), table, 2),
      new RegExp(
        `^RangeError: Cannot look up embeddings: id ${bad} \\(row 0, column 1\\) is not an integer in 0\\.\\.2$`,
      ),
    );
  }
  assert.throws(
    () => cpu.embeddingForward(cpu.zeros([1, 2]), table, 3),
    /ids is 3, expected an integer in 1\.\.2/,
  );
  assert.throws(
    () => cpu.embeddingBackward(cpu.zeros([2, 2]), cpu.zeros([2, 5]), 3, 2),
    /^TypeError: Cannot back-propagate embeddings: the gradient has shape \[2, 5\]/,
  );
});

Deno.test("Embedding layer: sizes, the ids option, and a vocabulary check at build", () => {
  const model = new Sequential(cpu, {
    inputSize: 5,
    layers: [new Embedding({ vocabulary: 4, size: 3, ids: 2 }), new Dense({ units: 2 })],
    seed: 1,
  });
  const layer = model.layers[0] as Embedding;
  assert.equal(layer.units, 2 * 3 + 3);
  assert.deepEqual(layer.config, { type: "embedding", vocabulary: 4, size: 3, ids: 2 });
  assert.deepEqual(model.parameters.map((p) => p.name), [
    "layers.0.table",
    "layers.1.w",
    "layers.1.b",
  ]);
  const all = new Sequential(cpu, {
    inputSize: 3,
    layers: [new Embedding({ vocabulary: 2, size: 4 })],
  });
  assert.equal(all.outputSize, 12, "every input is an id by default");
  assert.throws(
    () =>
      new Sequential(cpu, {
        inputSize: 2,
        layers: [new Embedding({ vocabulary: 2, size: 1, ids: 3 })],
      }),
    /^RangeError: Cannot build an Embedding layer: 3 ids, but the input has 2 entries$/,
  );
  assert.throws(
    () => new Embedding({ vocabulary: 0, size: 2 }),
    /vocabulary must be a positive integer/,
  );
  assert.throws(
    () => new Embedding({ vocabulary: 2, size: 1.5 }),
    /size must be a positive integer/,
  );
});

/** Central differences of `loss` in every element of `wrt` against `analytic`. */
function checkGradient(name: string, wrt: Tensor, analytic: Tensor, loss: () => number): void {
  const x = cpuData(wrt), g = cpuData(analytic), h = 1e-6;
  assert.equal(g.length, x.length, `${name}: gradient size`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + h;
    const up = loss();
    x[i] = saved - h;
    const down = loss();
    x[i] = saved;
    const numeric = (up - down) / (2 * h);
    const error = Math.abs(numeric - g[i]) / (1e-7 + Math.abs(numeric) + Math.abs(g[i]));
    worst = Math.max(worst, Math.abs(numeric - g[i]) > 1e-8 ? error : 0);
  }
  assert.ok(worst < 1e-6, `${name}: worst relative error ${worst}`);
}

Deno.test("Embedding gradients match float64 finite differences: repeated ids, passed columns, an LSTM after it", () => {
  const rng = new Rng(3);
  const [steps, batch, ids, passed, vocabulary] = [4, 3, 3, 2, 5];
  const model = new Sequential(f64, {
    inputSize: ids + passed,
    layers: [
      new Embedding({ vocabulary, size: 4, ids }),
      new LSTM({ units: 5 }),
      new Dense({ units: 3, activation: "tanh" }),
    ],
    seed: 4,
  });
  // Ids repeat within rows and across steps, and id 4 is never used (its gradient is 0).
  const data = idRows(rng, steps * batch, ids, passed, 4);
  data[0] = data[1] = 2;
  const x = f64.tensor(data, [steps, batch, ids + passed]);
  const weights = f64.tensor(Array.from({ length: steps * batch * 3 }, () => rng.normal()), [
    steps,
    batch,
    3,
  ]);
  const loss = () => {
    const { output, state } = model.forward(x);
    model.disposeState(state);
    const d = cpuData(output), w = cpuData(weights);
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i] * w[i];
    return s;
  };
  const { state } = model.forward(x, { training: true });
  model.disposeState(state);
  const { dInput, dState } = model.backward(weights);
  model.disposeState(dState);
  const table = model.parameters[0];
  checkGradient("the table", table.value, table.grad!, loss);
  const grad = cpuData(table.grad!);
  assert.ok(grad.subarray(16, 20).every((g) => g === 0), "an unused id gets no gradient");
  assert.ok(grad.subarray(8, 12).some((g) => g !== 0), "a used id does");
  for (const p of model.parameters.slice(1)) checkGradient(p.name, p.value, p.grad!, loss);
  // The passed columns get their gradient; the id columns none.
  const dx = cpuData(dInput), I = ids + passed;
  const x64 = cpuData(x);
  for (let r = 0; r < steps * batch; r++) {
    for (let l = 0; l < ids; l++) assert.equal(dx[r * I + l], 0);
    for (let k = ids; k < I; k++) {
      const saved = x64[r * I + k];
      x64[r * I + k] = saved + 1e-6;
      const up = loss();
      x64[r * I + k] = saved - 1e-6;
      const down = loss();
      x64[r * I + k] = saved;
      const numeric = (up - down) / 2e-6;
      assert.ok(Math.abs(numeric - dx[r * I + k]) <= 1e-6 * (1 + Math.abs(numeric)));
    }
  }
});

Deno.test("embeddingBackward sums each id's uses into its row, in a fixed order", async () => {
  const x = cpu.tensor([1, 1, 0, 1], [2, 2]);
  const dOut = cpu.tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4]); // E = 2
  const { dTable, dInput } = cpu.embeddingBackward(x, dOut, 3, 2);
  assert.deepEqual(Array.from(await cpu.read(dTable)), [5, 6, 1 + 3 + 7, 2 + 4 + 8, 0, 0]);
  assert.deepEqual(Array.from(await cpu.read(dInput)), [0, 0, 0, 0]);
});

Deno.test("embeddingForward equals onnxruntime-web's Gather of the table by the cast ids", async () => {
  const rng = new Rng(7);
  const [rows, ids, vocabulary, size] = [6, 4, 9, 5];
  const tableData = Float32Array.from({ length: vocabulary * size }, () => rng.normal());
  const idData = Float32Array.from(idRows(rng, rows, ids, 0, vocabulary));
  const g = new OnnxGraphBuilder({ name: "gather" });
  g.addInput("ids", [rows, ids]);
  const table = g.addInitializer("table", tableData, [vocabulary, size]);
  const indices =
    g.addNode("Cast", ["ids"], ["indices"], { attributes: [intAttribute("to", 7)] })[0];
  const gathered = g.addNode("Gather", [table, indices], ["vectors"], {
    attributes: [intAttribute("axis", 0)],
  })[0];
  g.addOutput(gathered, [rows, ids, size]);
  const session = await createOrtSession(g.encodeModel());
  try {
    const result = await runOrt(session, { ids: { data: idData, dims: [rows, ids] } });
    const ours = await cpu.read(
      cpu.embeddingForward(
        cpu.tensor(idData, [rows, ids]),
        cpu.tensor(tableData, [vocabulary, size]),
        ids,
      ),
    );
    assert.deepEqual(result.vectors.dims, [rows, ids, size]);
    assert.deepEqual(
      Array.from(result.vectors.data),
      Array.from(ours),
      "a gather copies: the same bits",
    );
  } finally {
    await session.release();
  }
});

/** rnnrl's forward of a model from zero state, read back. */
async function native(model: Sequential, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const { output, state } = model.forward(cpu.tensor(x, shape));
  model.disposeState(state as RecurrentState);
  const out = await cpu.read(output);
  cpu.dispose(output);
  return out;
}

Deno.test("exportOnnx Embedding models (feed-forward, and before an LSTM or a GRU) match the native forward", async () => {
  const rng = new Rng(11);
  const [ids, passed, vocabulary] = [3, 3, 7];
  const cases: [string, () => Sequential, boolean][] = [
    ["Embedding → Dense", () =>
      new Sequential(cpu, {
        inputSize: ids + passed,
        layers: [
          new Embedding({ vocabulary, size: 4, ids }),
          new Dense({ units: 3, activation: "relu" }),
          new Dense({ units: 2 }),
        ],
        seed: 1,
      }), false],
    ["Embedding (every input an id) → Dense", () =>
      new Sequential(cpu, {
        inputSize: ids,
        layers: [new Embedding({ vocabulary, size: 2 }), new Dense({ units: 2 })],
        seed: 2,
      }), false],
    ["Embedding → LSTM → Dense", () =>
      new Sequential(cpu, {
        inputSize: ids + passed,
        layers: [
          new Embedding({ vocabulary, size: 4, ids }),
          new LSTM({ units: 6 }),
          new Dense({ units: 5 }),
        ],
        seed: 3,
      }), true],
    ["Embedding → GRU → Dense", () =>
      new Sequential(cpu, {
        inputSize: ids + passed,
        layers: [
          new Embedding({ vocabulary, size: 3, ids }),
          new GRU({ units: 6 }),
          new Dense({ units: 5 }),
        ],
        seed: 4,
      }), true],
  ];
  for (const [name, build, recurrent] of cases) {
    const model = build();
    const policy = await OnnxPolicy.load(await exportOnnx(model));
    try {
      for (const lead of recurrent ? [[5, 3], [1, 1]] : [[4], [1]]) {
        const rows = lead.reduce((a, b) => a * b, 1);
        const x = Float32Array.from(idRows(rng, rows, ids, model.inputSize - ids, vocabulary));
        const shape = [...lead, model.inputSize];
        const ours = await native(model, x, shape);
        const theirs = await policy.run(
          x,
          shape,
          recurrent ? policy.initialState(lead[1]) : undefined,
        );
        assert.ok(
          maxAbsDiff(theirs.output, ours) <= 1e-5,
          `${name} [${shape}]: ${maxAbsDiff(theirs.output, ours)}`,
        );
      }
    } finally {
      await policy.release();
    }
  }
});

Deno.test("an Embedding model survives its configuration and a checkpoint file, bit for bit", async () => {
  const rng = new Rng(5);
  const model = new Sequential(cpu, {
    inputSize: 4,
    layers: [
      new Embedding({ vocabulary: 6, size: 3, ids: 2 }),
      new GRU({ units: 4 }),
      new Dense({ units: 2 }),
    ],
    seed: 9,
  });
  const bytes = encodeCheckpoint({
    header: { config: model.config as unknown as Record<string, never> },
    arrays: await model.getParameters(),
  });
  const decoded = decodeCheckpoint(bytes);
  const copy = Sequential.fromConfig(cpu, decoded.header.config as never, 123);
  copy.setParameters(decoded.arrays.map((a) => ({ ...a, data: a.data as Float32Array })));
  assert.deepEqual(copy.config, model.config);
  const x = Float32Array.from(idRows(rng, 6, 2, 2, 6));
  assert.deepEqual(
    Array.from(await native(copy, x, [3, 2, 4])),
    Array.from(await native(model, x, [3, 2, 4])),
  );
});
