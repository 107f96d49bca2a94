// The symmetries of a board (rotations and mirror images as cell permutations), their action on
// a board's observation in both layouts, on a replayed batch (observation, action and mask move
// together), and DQN training on Minesweeper transitions seen from every side.
import assert from "node:assert/strict";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { Rng } from "../lib/io/rng.ts";
import { applyRandomSymmetries, boardSymmetries, permuteBoard } from "../lib/rl/board_symmetry.ts";
import { DQN } from "../lib/rl/dqn.ts";
import { evaluate } from "../lib/rl/evaluation.ts";
import type { ReplayBatch } from "../lib/rl/replay.ts";

const compose = (p: Int32Array, q: Int32Array) => p.map((cell) => q[cell]); // p, then q
const key = (p: Int32Array) => Array.from(p).join(",");

Deno.test("a square board has the eight symmetries of the dihedral group, a rectangle four", () => {
  const square = boardSymmetries(4, 4);
  assert.equal(square.length, 8);
  assert.equal(new Set(square.map(key)).size, 8, "all different");
  assert.deepEqual(Array.from(square[0]), Array.from({ length: 16 }, (_, i) => i));
  const keys = new Set(square.map(key));
  for (const p of square) {
    assert.deepEqual([...p].sort((a, b) => a - b), [...square[0]], "a permutation");
    for (const q of square) assert.ok(keys.has(key(compose(p, q))), "closed under composition");
  }
  const rectangle = boardSymmetries(2, 3);
  assert.equal(rectangle.length, 4);
  const rectangleKeys = new Set(rectangle.map(key));
  assert.equal(rectangleKeys.size, 4);
  for (const p of rectangle) {
    for (const q of rectangle) assert.ok(rectangleKeys.has(key(compose(p, q))));
  }
});

Deno.test("permuteBoard turns a board a quarter clockwise in either layout", () => {
  // 1 2 3        7 4 1
  // 4 5 6  --->  8 5 2
  // 7 8 9        9 6 3
  const clockwise = boardSymmetries(3, 3).find((p) => p[0] === 2 && p[2] === 8 && p[8] === 6)!;
  assert.ok(clockwise, "the quarter turn is among the symmetries");
  const board = [1, 2, 3, 4, 5, 6, 7, 8, 9], turned = [7, 4, 1, 8, 5, 2, 9, 6, 3];
  // Two channels: the values and their negatives.
  const first = Float32Array.from([...board, ...board.map((v) => -v)]);
  const out = new Float32Array(18);
  permuteBoard(first, out, clockwise, "channels-first");
  assert.deepEqual(Array.from(out), [...turned, ...turned.map((v) => -v)]);
  const last = Float32Array.from(board.flatMap((v) => [v, -v]));
  permuteBoard(last, out, clockwise, "channels-last");
  assert.deepEqual(Array.from(out), turned.flatMap((v) => [v, -v]));
  assert.throws(
    () => permuteBoard(new Float32Array(10), new Float32Array(10), clockwise, "channels-last"),
    /10 values into 10 for 9 cells/,
  );
});

Deno.test("applyRandomSymmetries moves each row's observation, action and mask together", () => {
  const height = 3, width = 3, cells = 9, B = 64;
  // Channel 0 marks the taken cell, channel 1 the one cell the next state leaves valid.
  const observations = new Float32Array(B * 2 * cells);
  const nextObservations = new Float32Array(B * 2 * cells);
  const actions = new Float32Array(B), masks = new Uint8Array(B * cells);
  const rng = new Rng(4);
  for (let b = 0; b < B; b++) {
    const taken = rng.int(cells), valid = rng.int(cells);
    actions[b] = taken;
    observations[b * 2 * cells + taken] = 1;
    nextObservations[b * 2 * cells + cells + valid] = 1;
    masks[b * cells + valid] = 1;
  }
  const batch = { observations, nextObservations, actions: actions.slice() } as ReplayBatch;
  const moved = masks.slice();
  applyRandomSymmetries(
    batch,
    moved,
    { height, width, layout: "channels-first" },
    boardSymmetries(height, width),
    new Rng(9),
  );
  let changed = 0;
  for (let b = 0; b < B; b++) {
    const row = batch.observations.subarray(b * 2 * cells, (b + 1) * 2 * cells);
    const next = batch.nextObservations.subarray(b * 2 * cells, (b + 1) * 2 * cells);
    assert.equal(row[batch.actions[b]], 1, "the action follows its cell");
    const valid = moved.subarray(b * cells, (b + 1) * cells).indexOf(1);
    assert.equal(next[cells + valid], 1, "the mask follows the next state's board");
    if (batch.actions[b] !== actions[b]) changed++;
  }
  assert.ok(changed > B / 3, `${changed} of ${B} rows moved`);
});

const BOARD = {
  height: 5,
  width: 5,
  layout: "channels-first" as const,
  kernelSize: 3,
  filters: [16, 16],
  pool: 1,
  perCell: true,
};

Deno.test("DQN with symmetries learns 5×5 Minesweeper, repeats itself, and needs a per-cell network", async () => {
  const board = { width: 5, height: 5, mines: 3 };
  const run = async () => {
    const agent = new DQN(new Minesweeper(board), {
      convolution: { ...BOARD, symmetries: true },
      hiddenSizes: [],
      gamma: 0,
      learningRate: 2e-3,
      batchSize: 32,
      bufferSize: 5000,
      learningStarts: 300,
      trainFrequency: 4,
      epsilon: { start: 1, end: 0.02, steps: 2000 },
      seed: 3,
    });
    await agent.learn(new Minesweeper({ ...board, seed: 1 }), { steps: 4000 });
    return agent;
  };
  const [a, b] = [await run(), await run()];
  const probe = new Minesweeper(board).reset({ seed: 5 }).observation;
  assert.deepEqual(await a.qValues(probe), await b.qValues(probe), "same seed, same network");
  const learned = await evaluate(new Minesweeper(board), a, { episodes: 300, seed: 77 });
  // Random play wins about 4% of these boards (the per-cell test without symmetries measures it).
  assert.ok(learned.winRate! > 0.3, `win rate ${learned.winRate}`);
  assert.throws(
    () =>
      new DQN({ observationSize: 50, actionCount: 3 }, {
        convolution: { ...BOARD, perCell: false, symmetries: true },
        hiddenSizes: [8],
      }),
    /symmetries move a board's cells, so they need a per-cell network/,
  );
});
