// The CPU backend's unfoldPatches and foldPatches: a small case checked by hand, fold as the exact
// adjoint of unfold (<unfold(x), y> = <x, fold(y)>) on several geometries, and the argument checks.
import assert from "node:assert/strict";
import { cpuData, createCpuBackend } from "../lib/backend/cpu.ts";
import { Rng } from "../lib/io/rng.ts";

const cpu = createCpuBackend();
const cpu64 = createCpuBackend({ precision: "float64" });

Deno.test("CpuBackend.unfoldPatches matches a hand-checked 2×3 board", async () => {
  // Two channels on a 2×3 board: channel 0 is 1..6, channel 1 is 10..60, row-major cells.
  const x = cpu.tensor([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60], [1, 12]);
  const patches = cpu.unfoldPatches(x, { height: 2, width: 3, radius: 1 });
  assert.deepEqual(patches.shape, [6, 9 * 3]);
  const data = await cpu.read(patches);
  const row = (i: number) => Array.from(data.subarray(i * 27, (i + 1) * 27));
  const out = [0, 0, 1];
  // Cell 0 (top left): only offsets (0, 0), (0, +1), (+1, 0), (+1, +1) are on the board.
  assert.deepEqual(row(0), [
    ...out,
    ...out,
    ...out, //
    ...out,
    1,
    10,
    0,
    2,
    20,
    0, //
    ...out,
    4,
    40,
    0,
    5,
    50,
    0,
  ]);
  // Cell 4 (bottom middle): the row above is on the board, the row below is outside.
  assert.deepEqual(row(4), [
    1,
    10,
    0,
    2,
    20,
    0,
    3,
    30,
    0, //
    4,
    40,
    0,
    5,
    50,
    0,
    6,
    60,
    0, //
    ...out,
    ...out,
    ...out,
  ]);
  // Radius 0: each cell alone with a zero outside flag.
  const single = await cpu.read(cpu.unfoldPatches(x, { height: 2, width: 3, radius: 0 }));
  assert.deepEqual(Array.from(single.subarray(0, 9)), [1, 10, 0, 2, 20, 0, 3, 30, 0]);
});

Deno.test("CpuBackend.foldPatches sums every copy of an element on a hand-checked board", async () => {
  // All-ones patches on a 1×3 board, radius 1: the middle cell is in 3 patches, the ends in 2.
  const ones = cpu.tensor(new Float32Array(3 * 9 * 2).fill(1), [3, 18]);
  const folded = cpu.foldPatches(ones, { height: 1, width: 3, radius: 1 });
  assert.deepEqual(folded.shape, [1, 3]);
  assert.deepEqual(Array.from(await cpu.read(folded)), [2, 3, 2]);
});

for (
  const [batch, channels, height, width, radius] of [
    [1, 1, 1, 1, 0],
    [2, 3, 4, 5, 1],
    [3, 2, 5, 3, 2],
    [2, 10, 9, 9, 2],
    [1, 2, 2, 7, 3],
  ]
) {
  Deno.test(
    `CpuBackend.foldPatches is the adjoint of unfoldPatches (B=${batch} C=${channels} ${height}×${width} r=${radius})`,
    () => {
      const rng = new Rng(batch * 100 + radius);
      const geometry = { height, width, radius };
      const size = batch * channels * height * width;
      const x = cpu64.tensor(Array.from({ length: size }, () => rng.normal(0, 1)), [
        batch,
        size / batch,
      ]);
      const patches = cpu64.unfoldPatches(x, geometry);
      const side = 2 * radius + 1;
      assert.deepEqual(patches.shape, [batch * height * width, side * side * (channels + 1)]);
      const y = cpu64.tensor(
        Array.from({ length: patches.size }, () => rng.normal(0, 1)),
        patches.shape,
      );
      const folded = cpu64.foldPatches(y, geometry);
      assert.deepEqual(folded.shape, x.shape);
      const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
        let s = 0;
        for (let k = 0; k < a.length; k++) s += a[k] * b[k];
        return s;
      };
      // The outside flags carry no input, so they drop out of <unfold(x), y> only where the
      // flag is multiplied: subtract their contribution, which fold has no place for.
      const p = cpuData(patches), yd = cpuData(y);
      let flags = 0;
      for (let k = channels; k < p.length; k += channels + 1) flags += p[k] * yd[k];
      const left = dot(p, yd) - flags;
      const right = dot(cpuData(x), cpuData(folded));
      assert.ok(Math.abs(left - right) <= 1e-9 * (1 + Math.abs(left)), `${left} vs ${right}`);
    },
  );
}

Deno.test("CpuBackend.unfoldPatches and foldPatches reject shapes that do not fit the board", () => {
  assert.throws(
    () => cpu.unfoldPatches(cpu.zeros([2, 10]), { height: 3, width: 3, radius: 1 }),
    TypeError,
  );
  assert.throws(
    () => cpu.unfoldPatches(cpu.zeros([2, 9]), { height: 3, width: 3, radius: -1 }),
    RangeError,
  );
  assert.throws(
    () => cpu.unfoldPatches(cpu.zeros([18]), { height: 3, width: 3, radius: 1 }),
    TypeError,
  );
  assert.throws(
    () => cpu.foldPatches(cpu.zeros([9, 17]), { height: 3, width: 3, radius: 1 }),
    TypeError,
  );
  assert.throws(
    () => cpu.foldPatches(cpu.zeros([10, 18]), { height: 3, width: 3, radius: 1 }),
    TypeError,
  );
  assert.throws(
    () => cpu.unfoldPatches(cpu.zeros([2, 9]), { height: 0, width: 9, radius: 1 }),
    RangeError,
  );
});
