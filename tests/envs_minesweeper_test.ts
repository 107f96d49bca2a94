import assert from "node:assert/strict";
import { Minesweeper, MinesweeperMemory } from "../lib/envs/minesweeper.ts";
import { Rng } from "../lib/io/rng.ts";

/** The number of mines around each cell, counted directly from a layout. */
function neighbourCounts(mine: Uint8Array, width: number, height: number): number[] {
  const counts: number[] = [];
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      let k = 0;
      for (let rr = r - 1; rr <= r + 1; rr++) {
        for (let cc = c - 1; cc <= c + 1; cc++) {
          const inside = rr >= 0 && rr < height && cc >= 0 && cc < width;
          if (inside && (rr !== r || cc !== c)) k += mine[rr * width + cc];
        }
      }
      counts.push(k);
    }
  }
  return counts;
}

Deno.test("Minesweeper first click is never a mine, over many seeds and cells", () => {
  const rng = new Rng(1);
  for (const [width, height, mines] of [[9, 9, 10], [4, 4, 12], [16, 16, 40], [5, 3, 14]]) {
    const env = new Minesweeper({ width, height, mines });
    for (let seed = 0; seed < 500; seed++) {
      env.reset({ seed });
      assert.equal(env.mineLayout(), null, "no mines before the first click");
      const cell = rng.int(width * height);
      const step = env.step(cell);
      const layout = env.mineLayout()!;
      assert.equal(layout[cell], 0);
      assert.equal(layout.reduce((a, b) => a + b, 0), mines);
      assert.ok(!step.terminated || step.info.won, "the first click never loses");
    }
  }
});

Deno.test("Minesweeper places the mines uniformly over the cells other than the first click", () => {
  const env = new Minesweeper({ width: 3, height: 3, mines: 1 });
  const hits = new Array(9).fill(0);
  const trials = 8000;
  env.reset({ seed: 4 });
  for (let t = 0; t < trials; t++) {
    if (t > 0) env.reset();
    env.step(4);
    env.mineLayout()!.forEach((m, i) => hits[i] += m);
  }
  assert.equal(hits[4], 0);
  // Each other cell holds the mine with probability 1/8: sd of the frequency ≈ 0.0037.
  for (const i of [0, 1, 2, 3, 5, 6, 7, 8]) {
    assert.ok(Math.abs(hits[i] / trials - 1 / 8) < 0.02, `cell ${i}: ${hits[i]}`);
  }
});

Deno.test("Minesweeper flood fill opens a zero region and its border, win ends the game", () => {
  // 5×5 with a wall of mines on row 2, columns 0..3.
  const env = new Minesweeper({ width: 5, height: 5, mines: 4 });
  env.resetWithLayout([10, 11, 12, 13]);
  let step = env.step(0);
  assert.equal(env.render(), "00000\n23321\n.....\n.....\n.....");
  assert.equal(step.reward, -0.3, "a click with no open neighbour is a guess");
  assert.equal(step.terminated, false);
  step = env.step(14); // (2, 4): a 1, opens only itself
  assert.equal(env.render(), "00000\n23321\n....1\n.....\n.....");
  assert.equal(step.reward, 0.3, "a click next to an open number is progress");
  step = env.step(20); // (4, 0): a zero that opens rows 3 and 4, the last safe cells
  assert.equal(env.render(), "00000\n23321\n....1\n23321\n00000");
  assert.equal(step.reward, 1);
  assert.equal(step.terminated, true);
  assert.equal(step.info.won, true);
  assert.equal(env.won, true);
  assert.throws(() => env.step(10), /episode has ended/);
});

Deno.test("Minesweeper loses on a mine with reward −1", () => {
  const env = new Minesweeper({ width: 5, height: 5, mines: 4 });
  env.resetWithLayout([10, 11, 12, 13]);
  env.step(24);
  const step = env.step(12);
  assert.equal(step.reward, -1);
  assert.equal(step.terminated, true);
  assert.equal(step.info.won, false);
  assert.equal(env.won, false);
});

Deno.test("Minesweeper first click earns 0, or win when it clears the board", () => {
  const env = new Minesweeper({ seed: 2 });
  env.reset();
  const step = env.step(0);
  assert.equal(step.reward, step.terminated ? 1 : 0);
  const full = new Minesweeper({ width: 4, height: 4, mines: 15 });
  full.reset({ seed: 3 });
  const only = full.step(5);
  assert.deepEqual([only.reward, only.terminated, only.info.won], [1, true, true]);
});

Deno.test("Minesweeper rejects revealed cells and out-of-range actions with a RangeError", () => {
  const env = new Minesweeper({ width: 5, height: 5, mines: 4 });
  env.resetWithLayout([10, 11, 12, 13]);
  env.step(0);
  assert.throws(() => env.step(3), /cell 3 \(row 0, column 3\) is already revealed/);
  for (const action of [-1, 25, 2.5, NaN]) assert.throws(() => env.step(action), RangeError);
  assert.throws(() => new Minesweeper({ width: 3, height: 3, mines: 9 }), RangeError);
  assert.throws(() => env.resetWithLayout([1, 1, 2, 3]), RangeError);
  assert.throws(() => env.resetWithLayout([1, 2, 3]), RangeError);
});

Deno.test("Minesweeper action mask and visible board mark the unrevealed cells", () => {
  const env = new Minesweeper({ width: 5, height: 5, mines: 4 });
  env.resetWithLayout([10, 11, 12, 13]);
  env.step(0);
  const mask = env.actionMask();
  const visible = env.visible;
  const expected = [0, 0, 0, 0, 0, 2, 3, 3, 2, 1];
  for (let i = 0; i < 25; i++) {
    assert.equal(mask[i], i < 10 ? 0 : 1);
    assert.equal(visible[i], i < 10 ? expected[i] : -1);
  }
});

Deno.test("Minesweeper encodes the board as one-hot channels or scalars", () => {
  const env = new Minesweeper({ width: 5, height: 5, mines: 4 });
  env.resetWithLayout([10, 11, 12, 13]);
  const { observation } = env.step(14);
  const cells = 25;
  assert.equal(observation.length, 10 * cells);
  for (let i = 0; i < cells; i++) {
    const channel = i === 14 ? 2 : 0; // cell 14 shows a 1 (channel 1 + 1), the rest unrevealed
    for (let c = 0; c < 10; c++) assert.equal(observation[c * cells + i], c === channel ? 1 : 0);
  }
  const scalar = new Minesweeper({ width: 5, height: 5, mines: 4, encoding: "scalar" });
  scalar.resetWithLayout([10, 11, 12, 13]);
  const board = scalar.step(0).observation;
  assert.equal(board.length, cells);
  const open = [0, 0, 0, 0, 0, 2, 3, 3, 2, 1];
  for (let i = 0; i < cells; i++) assert.equal(board[i], i < 10 ? open[i] / 8 : -1);
});

Deno.test("Minesweeper counts agree with the layout and rewards can be overridden", () => {
  const env = new Minesweeper({ rewards: { loss: -5 }, seed: 8 });
  assert.deepEqual(env.rewards, { win: 1, loss: -5, progress: 0.3, guess: -0.3 });
  env.reset();
  env.step(40);
  const counts = neighbourCounts(env.mineLayout()!, 9, 9);
  env.visible.forEach((v, i) => {
    if (v >= 0) assert.equal(v, counts[i]);
  });
  const mine = env.mineLayout()!.indexOf(1);
  assert.equal(env.step(mine).reward, -5);
});

Deno.test("MinesweeperMemory pays +1/L, −0.5/(L−2) for a repeat, −0.5−1/L for a mine", () => {
  const env = new MinesweeperMemory({ difficulty: "easy" });
  assert.deepEqual([env.width, env.height, env.mines, env.maxEpisodeSteps], [4, 4, 2, 14]);
  const { observation } = env.reset({ seed: 12 });
  assert.deepEqual([...observation], new Array(9).fill(0));
  const layout = env.mineLayout();
  const counts = neighbourCounts(layout, 4, 4);
  const safe = layout.indexOf(0);
  let step = env.step(safe);
  assert.equal(step.reward, 1 / 14);
  assert.deepEqual(
    [...step.observation],
    [...new Array(9).keys()].map((k) => +(k === counts[safe])),
  );
  step = env.step(safe);
  assert.equal(step.reward, -0.5 / 12);
  assert.equal(step.terminated, false);
  step = env.step(layout.indexOf(1));
  assert.equal(step.reward, -0.5 - 1 / 14);
  assert.deepEqual([step.terminated, step.info.won], [true, false]);
  assert.throws(() => env.step(0), /episode has ended/);
});

Deno.test("MinesweeperMemory wins after every safe cell and truncates at L steps", () => {
  const env = new MinesweeperMemory({ difficulty: "medium", seed: 5 });
  assert.equal(env.maxEpisodeSteps, 30);
  env.reset();
  const safe = [...env.mineLayout().keys()].filter((i) => env.mineLayout()[i] === 0);
  let total = 0;
  safe.forEach((cell, k) => {
    const step = env.step(cell);
    total += step.reward;
    assert.equal(step.terminated, k === safe.length - 1);
    assert.equal(step.info.won, k === safe.length - 1);
  });
  assert.ok(Math.abs(total - 1) < 1e-12, "a perfect game returns 1");
  // Repeating a safe cell can never win: the episode is cut after L steps.
  env.reset();
  const cell = env.mineLayout().indexOf(0);
  for (let t = 1; t <= 30; t++) {
    const step = env.step(cell);
    assert.equal(step.terminated, false);
    assert.equal(step.truncated, t === 30);
  }
});

Deno.test("MinesweeperMemory can observe its action and rejects out-of-range cells", () => {
  const env = new MinesweeperMemory({ difficulty: "hard", observeAction: true, seed: 1 });
  assert.equal(env.observationSize, 9 + 64);
  env.reset();
  const cell = env.mineLayout().indexOf(0);
  const { observation } = env.step(cell);
  for (let i = 0; i < 64; i++) assert.equal(observation[9 + i], i === cell ? 1 : 0);
  assert.equal(observation.subarray(0, 9).reduce((a, b) => a + b, 0), 1);
  for (const action of [-1, 64, 0.5]) assert.throws(() => env.step(action), RangeError);
  assert.equal(
    (env as { actionMask?: unknown }).actionMask,
    undefined,
    "no mask: memory is the task",
  );
  assert.throws(() => new MinesweeperMemory({ difficulty: "expert" as "easy" }), RangeError);
});
