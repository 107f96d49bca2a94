import assert from "node:assert/strict";
import { Minesweeper, MinesweeperMemory } from "../lib/envs/minesweeper.ts";
import type { Env } from "../lib/envs/env.ts";
import type { JsonObject } from "../lib/io/json.ts";
import { Rng } from "../lib/io/rng.ts";
import {
  assertRejects,
  assertResumes,
  assertSameRun,
  randomAction,
  RNG_EDITS,
} from "./helpers/env_snapshot.ts";

/**
 * A player who knows the mines (when they are placed) and picks a safe unrevealed cell 9 times
 * in 10, else any unrevealed cell: it wins many games and loses some.
 */
function mostlySafe(env: Env, rng: Rng): number {
  const game = env as Minesweeper;
  const layout = game.mineLayout();
  if (layout === null || rng.uniform() < 0.1) return randomAction(env, rng);
  const mask = game.actionMask();
  const safe = [...mask.keys()].filter((i) => mask[i] === 1 && layout[i] === 0);
  return safe[rng.int(safe.length)];
}

/**
 * A player who clicks the safe cells in turn, one per step, 19 times in 20, else any cell: it
 * wins about half the games, repeats cells or hits mines in the others.
 */
function mostlyInTurn(env: Env, rng: Rng): number {
  const game = env as MinesweeperMemory;
  const layout = game.mineLayout();
  const safe = [...layout.keys()].filter((i) => layout[i] === 0);
  return rng.uniform() < 0.05 ? rng.int(env.actionCount) : safe[game.elapsedSteps % safe.length];
}

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

for (
  const options of [
    {},
    { width: 4, height: 4, mines: 2, encoding: "scalar" as const },
    { width: 5, height: 3, mines: 14 },
  ]
) {
  Deno.test(`Minesweeper snapshots resume every game exactly ${JSON.stringify(options)}`, () => {
    // 0 warm-up steps: saved before the first click, when the layout is still to be placed.
    const make = (seed: number) => new Minesweeper({ ...options, seed });
    assertResumes(make, [null, 0, 1, 3, 40], 300, 10);
    assertResumes(make, [null, 0, 1, 2, 3, 5, 8, 40], 300, 10, mostlySafe);
  });
}

Deno.test("Minesweeper snapshots keep a layout that resetWithLayout set", () => {
  const a = new Minesweeper({ width: 5, height: 5, mines: 4, seed: 3 });
  a.resetWithLayout([10, 11, 12, 13]);
  a.step(0);
  const b = new Minesweeper({ width: 5, height: 5, mines: 4 });
  b.setState(JSON.parse(JSON.stringify(a.getState())));
  assert.equal(b.render(), a.render());
  assert.deepEqual(b.mineLayout(), a.mineLayout());
  assertSameRun(a, b, 200, { seed: 4 });
});

Deno.test("Minesweeper setState refuses malformed states and then changes nothing", () => {
  const env = new Minesweeper({ seed: 6 });
  env.reset();
  env.step(40);
  const saved = env.getState() as JsonObject;
  assert.equal(saved.ended, false, "the game goes on");
  const mines = saved.mines as number[];
  const revealed = saved.revealed as number[];
  const mine = mines.indexOf(1);
  const open = revealed.indexOf(1);
  const hidden = mines.findIndex((m, i) => m === 0 && revealed[i] === 0);
  const twin = () => new Minesweeper();
  assertRejects(env, twin(), "Minesweeper", [null, [], "board", 0, {}], [
    ...RNG_EDITS,
    [["candidates"], [1, 2, 3]],
    [["candidates", 0], 81],
    [["candidates", 0], 1.5],
    [["candidates", 0], NaN],
    [["mines"], mines.slice(1)],
    [["mines", mine], 2],
    [["mines", mine], 0], // nine mines for ten
    [["mines", open], 1], // a mine on an open cell
    [["mines"], "0".repeat(81)],
    [["revealed"], undefined],
    [["revealed", mine], 1],
    [["revealed", 0], true],
    [["placed"], false], // not placed, yet mines and open cells
    [["ended"], null],
    [["won"], true], // won while the game goes on
    [["lastClick"], 81],
    [["lastClick"], -1],
    [["lastClick"], 0.5],
    [["lastClick"], hidden], // a click that opened nothing
    [["lastClick"], mine], // a lost game still in progress
    [["lastClick"], undefined],
  ]);
  // Before the first click, the candidates are placed at the next click: they must differ.
  const fresh = new Minesweeper({ seed: 6 });
  fresh.reset();
  assertRejects(fresh, twin(), "Minesweeper", [], [
    [["candidates"], new Array(11).fill(5)],
    [["revealed", 0], 1], // an open cell before any click
  ]);
});

Deno.test("Minesweeper frame is the board the replay recorded, a clicked mine as 9", () => {
  let wins = 0, losses = 0;
  for (const [width, height, mines] of [[9, 9, 10], [4, 4, 2], [3, 3, 1]]) {
    const env = new Minesweeper({ width, height, mines, seed: width });
    const rng = new Rng(height);
    // The recording before frames (lib/rl/evaluation.ts's startRecording), as reference.
    const expect = (board: number[]) =>
      assert.deepEqual(env.frame(), {
        kind: "minesweeper",
        width,
        height,
        board,
      });
    for (let episode = 0; episode < 40; episode++) {
      // Some games on a given layout, whose first click may be a mine.
      const layout = rng.shuffle([...Array(width * height).keys()]).slice(0, mines);
      if (episode % 10 === 9) env.resetWithLayout(layout);
      else env.reset();
      expect([...env.visible]);
      for (;;) {
        const action = randomAction(env, rng);
        const step = env.step(action);
        const board = [...env.visible];
        if (env.mineLayout()?.[action] === 1) board[action] = 9;
        expect(board);
        if (step.terminated) {
          if (step.info.won) wins++;
          else losses++;
          break;
        }
      }
    }
  }
  assert.ok(wins > 5 && losses > 5, `${wins} wins and ${losses} losses`);
  const env = new Minesweeper({ width: 5, height: 5, mines: 4 });
  env.resetWithLayout([10, 11, 12, 13]);
  env.step(12);
  const frame = env.frame();
  if (frame.kind !== "minesweeper") throw new Error("a Minesweeper frame");
  assert.equal(frame.board[12], 9);
  assert.throws(() => env.step(0), /episode has ended/);
  assert.deepEqual(env.frame(), frame, "a refused click is not the last click");
  frame.board.fill(7);
  assert.ok(env.visible.every((v) => v !== 7), "the frame is a copy");
});

for (
  const options of [
    { difficulty: "easy" as const },
    { difficulty: "hard" as const, observeAction: true },
  ]
) {
  Deno.test(`MinesweeperMemory snapshots resume every game exactly ${JSON.stringify(options)}`, () => {
    const make = (seed: number) => new MinesweeperMemory({ ...options, seed });
    assertResumes(make, [null, 0, 3, 30], 400, 10);
    assertResumes(make, [null, 0, 1, 3, 7, 14, 30], 400, 10, mostlyInTurn);
  });
}

Deno.test("MinesweeperMemory setState refuses malformed states and then changes nothing", () => {
  const env = new MinesweeperMemory({ seed: 4 }); // 4×4 with 2 mines, L = 14
  env.reset();
  const layout = env.mineLayout();
  const safe = layout.indexOf(0);
  env.step(safe);
  env.step(safe);
  const saved = env.getState() as JsonObject;
  const mines = saved.mines as number[];
  const mine = mines.indexOf(1);
  assertRejects(env, new MinesweeperMemory(), "MinesweeperMemory", [null, [1], "x", true, {}], [
    ...RNG_EDITS,
    [["mines"], mines.slice(1)],
    [["mines", mine], 0], // one mine for two
    [["mines", safe], 1], // a mine on a clicked cell
    [["mines", mine], -1],
    [["viewed"], undefined],
    [["viewed", mine], 1],
    [["viewed"], [...mines.map((m) => 1 - m)]], // 14 safe cells in 2 steps
    [["elapsedSteps"], 15],
    [["elapsedSteps"], 14], // in progress at the time limit
    [["elapsedSteps"], 0], // a cell viewed in no step
    [["elapsedSteps"], NaN],
    [["ended"], 0],
  ]);
});
