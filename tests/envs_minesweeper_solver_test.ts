import assert from "node:assert/strict";
import { Minesweeper } from "../lib/envs/minesweeper.ts";
import { MinesweeperSolver } from "../lib/envs/minesweeper_solver.ts";
import { Rng } from "../lib/io/rng.ts";

/**
 * Exact mine probabilities by brute force: every layout of `mines` mines on the board that agrees
 * with the visible numbers (open cells hold no mine and show their neighbour counts), equally
 * likely; returns each cell's fraction of layouts with a mine there.
 */
function bruteForce(visible: Int8Array, width: number, height: number, mines: number): number[] {
  const n = width * height;
  const freq = new Array(n).fill(0);
  let layouts = 0;
  const mine = new Uint8Array(n);
  const consistent = (): boolean => {
    for (let i = 0; i < n; i++) {
      if (visible[i] < 0) continue;
      if (mine[i]) return false;
      const r = Math.floor(i / width);
      const c = i % width;
      let k = 0;
      for (let rr = r - 1; rr <= r + 1; rr++) {
        for (let cc = c - 1; cc <= c + 1; cc++) {
          if (rr >= 0 && rr < height && cc >= 0 && cc < width) k += mine[rr * width + cc];
        }
      }
      if (k !== visible[i]) return false;
    }
    return true;
  };
  const choose = (from: number, left: number): void => {
    if (left === 0) {
      if (!consistent()) return;
      layouts++;
      for (let i = 0; i < n; i++) freq[i] += mine[i];
      return;
    }
    for (let i = from; i <= n - left; i++) {
      if (visible[i] >= 0) continue;
      mine[i] = 1;
      choose(i + 1, left - 1);
      mine[i] = 0;
    }
  };
  choose(0, mines);
  return freq.map((f) => f / layouts);
}

/** Random positions reached by random safe clicks on random small boards. */
function* positions(count: number): Generator<{ env: Minesweeper; visible: Int8Array }> {
  const rng = new Rng(17);
  const boards = [[5, 4, 4], [5, 5, 5], [4, 4, 3], [6, 4, 6]];
  let produced = 0;
  while (produced < count) {
    const [width, height, mines] = boards[produced % boards.length];
    const env = new Minesweeper({ width, height, mines });
    env.reset({ seed: rng.nextUint32() });
    const clicks = 1 + rng.int(3);
    let alive = true;
    for (let k = 0; k < clicks && alive; k++) {
      const mask = env.actionMask();
      const layout = env.mineLayout();
      const safe = [...mask.keys()].filter((i) => mask[i] && (!layout || !layout[i]));
      const step = env.step(safe[rng.int(safe.length)]);
      alive = !step.terminated;
    }
    if (!alive) continue;
    produced++;
    yield { env, visible: env.visible };
  }
}

Deno.test("MinesweeperSolver probabilities equal brute-force enumeration", () => {
  let uncertain = 0;
  for (const { env, visible } of positions(40)) {
    const solver = new MinesweeperSolver({
      width: env.width,
      height: env.height,
      mines: env.mines,
    });
    const p = solver.probabilities(visible);
    const exact = bruteForce(visible, env.width, env.height, env.mines);
    for (let i = 0; i < exact.length; i++) {
      assert.ok(
        Math.abs(p[i] - exact[i]) < 1e-9,
        `cell ${i}: ${p[i]} vs ${exact[i]}\n${env.render()}`,
      );
      if (exact[i] > 0 && exact[i] < 1) uncertain++;
    }
  }
  assert.ok(uncertain > 100, "the positions are not all trivially solved");
});

Deno.test("MinesweeperSolver clicks one of the safest cells, a proved-safe one when it exists", () => {
  let forced = 0;
  for (const { env, visible } of positions(40)) {
    const exact = bruteForce(visible, env.width, env.height, env.mines);
    const solver = new MinesweeperSolver({
      width: env.width,
      height: env.height,
      mines: env.mines,
    });
    const cell = solver.act(visible);
    assert.equal(visible[cell], -1, "it clicks an unrevealed cell");
    const safest = Math.min(...exact.filter((_, i) => visible[i] < 0));
    assert.ok(Math.abs(exact[cell] - safest) < 1e-9, `picked p=${exact[cell]}, best ${safest}`);
    if (safest === 0) forced++;
  }
  assert.ok(forced > 5, "some positions have a provably safe cell");
});

Deno.test("MinesweeperSolver finds subset-rule deductions (the 1-2-1 pattern)", () => {
  // A 3×3 board: row 0 unknown, row 1 shows 1 2 1, row 2 zeros. The subset rule (the 1 on the
  // left covers two of the 2's three cells) puts a mine on the right, then the left.
  const visible = Int8Array.from([-1, -1, -1, 1, 2, 1, 0, 0, 0]);
  const solver = new MinesweeperSolver({ width: 3, height: 3, mines: 2 });
  assert.deepEqual([...solver.probabilities(visible)], [1, 0, 1, 0, 0, 0, 0, 0, 0]);
  assert.equal(solver.act(visible), 1);
  assert.throws(
    () => solver.probabilities(Int8Array.from([-1, -1, -1, 3, 3, 3, 0, 0, 0])),
    /no layout fits/,
  );
  assert.throws(() => solver.act(new Int8Array(8)), RangeError);
});

Deno.test("MinesweeperSolver estimates components past its search budget", () => {
  for (const { env, visible } of positions(10)) {
    const solver = new MinesweeperSolver({
      width: env.width,
      height: env.height,
      mines: env.mines,
      maxNodes: 1,
    });
    const p = solver.probabilities(visible);
    for (let i = 0; i < p.length; i++) {
      assert.ok(p[i] >= 0 && p[i] <= 1, `${p[i]}`);
      if (visible[i] >= 0) assert.equal(p[i], 0);
    }
    assert.equal(visible[solver.act(visible)], -1);
  }
});

Deno.test("MinesweeperSolver wins at least 85% of 10,000 Beginner games", () => {
  // Published strong solvers win about 91.7% of Beginner games with a safe first click. With
  // 10,000 games the standard error of the rate is about 0.3%.
  const env = new Minesweeper({ width: 9, height: 9, mines: 10 });
  const solver = new MinesweeperSolver({ width: 9, height: 9, mines: 10, seed: 1 });
  const games = 10000;
  let wins = 0;
  env.reset({ seed: 2024 });
  for (let g = 0; g < games; g++) {
    if (g > 0) env.reset();
    solver.reset();
    for (;;) {
      if (env.step(solver.act(env.visible)).terminated) break;
    }
    if (env.won) wins++;
  }
  assert.ok(wins / games >= 0.85, `win rate ${wins / games}`);
});
