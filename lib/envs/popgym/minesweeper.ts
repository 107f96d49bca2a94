/**
 * POPGym's MineSweeper: click every safe cell of a hidden board, told only each click's count.
 *
 * At reset the mines are placed on a uniformly random set of cells (the first click is not
 * protected). Each step clicks one cell; with L = cells − mines, the number of safe cells:
 * - a safe cell not clicked before earns +1/L;
 * - a safe cell clicked before earns −0.5/(L − 2): allowed and penalised, as POPGym does, so
 *   there is no action mask (remembering the clicks is the task);
 * - a mine earns −0.5 − 1/L and terminates the episode.
 * Clicking the last safe cell terminates the episode with `won`; otherwise it is truncated after
 * L steps. A perfect game returns 1; the worst, one safe cell, L − 2 repeats and a mine, returns
 * −1. No click opens other cells.
 *
 * - Observation: K = min(mines + 1, 10) floats, a one-hot of the number of mines in the 3 × 3
 *   block around the clicked cell: for a safe cell, its count of neighbouring mines; for a mine,
 *   that count plus one (POPGym counts the block, the cell itself included). The reset shows
 *   index 0. The observation does not say which cell was clicked: POPGym marks this game as
 *   needing the previous action (`observePreviousAction`, a one-hot of the row and one of the
 *   column).
 * - Actions: the cells, row-major: `row · width + column` (POPGym's `[row, column]`).
 * - Random: the mines, drawn at reset.
 *
 * | difficulty | board | mines | K  | steps L | new safe | repeat  | mine       |
 * | ---------- | ----- | ----- | -- | ------- | -------- | ------- | ---------- |
 * | easy       | 4 × 4 | 2     | 3  | 14      | 1/14     | −0.5/12 | −0.5 − 1/14 |
 * | medium     | 6 × 6 | 6     | 7  | 30      | 1/30     | −0.5/28 | −0.5 − 1/30 |
 * | hard       | 8 × 8 | 10    | 10 | 54      | 1/54     | −0.5/52 | −0.5 − 1/54 |
 *
 * POPGym differs: until proroklab/popgym pull request #38 it compared its step counter with L
 * before counting the step, so episodes were truncated after L + 1 steps, one click more than the
 * safe cells, which can drive a return below −1. Here the limit is L, and a step that ends the
 * game is reported as terminated only, never also as truncated, as the maintainers settled in
 * that pull request.
 *
 * @module
 */

import type { JsonObject } from "../../io/json.ts";
import type { WinInfo } from "../env.ts";
import {
  difficultyOf,
  type PopgymDifficulty,
  PopgymEnv,
  type PopgymOptions,
  type PopgymOutcome,
  type SavedState,
} from "./_shared.ts";

/** The board of each difficulty of {@linkcode PopgymMineSweeper}. */
export const POPGYM_MINESWEEPER_LEVELS: Readonly<
  Record<
    PopgymDifficulty,
    { readonly width: number; readonly height: number; readonly mines: number }
  >
> = {
  easy: { width: 4, height: 4, mines: 2 },
  medium: { width: 6, height: 6, mines: 6 },
  hard: { width: 8, height: 8, mines: 10 },
};

/**
 * POPGym's MineSweeper (see the module documentation for the rule and the levels). Not the
 * classic game with an open board, nor `MinesweeperMemory` (an earlier rendering of this game
 * with a fixed 9-float count and neighbour-only counts).
 *
 * @example
 * ```ts
 * import { PopgymMineSweeper } from "@rnnrl/rnnrl";
 * const env = new PopgymMineSweeper({ difficulty: "easy", seed: 9 });
 * env.reset();
 * const mines = env.mineLayout(); // an oracle: it reads the hidden mines
 * let total = 0;
 * let won = false;
 * mines.forEach((mine, cell) => {
 *   if (mine) return;
 *   const step = env.step(cell);
 *   total += step.reward;
 *   won = step.info.won;
 * });
 * if (!won || Math.abs(total - 1) > 1e-9) throw new Error("14 safe clicks win and return 1");
 * ```
 */
export class PopgymMineSweeper extends PopgymEnv<WinInfo> {
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** Mines on the board. */
  readonly mines: number;
  /** L = cells − mines: the time limit and the reward scale. */
  readonly maxEpisodeSteps: number;
  #mine: Uint8Array;
  #block: Uint8Array;
  #viewed: Uint8Array;
  #viewedCount = 0;

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("PopgymMineSweeper", options.difficulty);
    const { width, height, mines } = POPGYM_MINESWEEPER_LEVELS[difficulty];
    super("PopgymMineSweeper", {
      id: `minesweeper-${difficulty}`,
      gameSize: Math.min(mines + 1, 10),
      actionCount: width * height,
      actionFactors: [height, width],
    }, options);
    this.width = width;
    this.height = height;
    this.mines = mines;
    this.maxEpisodeSteps = width * height - mines;
    this.#mine = new Uint8Array(width * height);
    this.#block = new Uint8Array(width * height);
    this.#viewed = new Uint8Array(width * height);
  }

  /** The mines (1 per mine cell) of this episode: hidden from the agent, for tests and oracles. */
  mineLayout(): Uint8Array {
    return this.#mine.slice();
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): PopgymMineSweeper {
    return new PopgymMineSweeper(this.options());
  }

  /** Places the mines and shows a count of 0. */
  protected begin(out: Float32Array): WinInfo {
    // A partial Fisher–Yates shuffle: the first `mines` cells of a random order.
    const order = Array.from({ length: this.actionCount }, (_, i) => i);
    this.#mine.fill(0);
    for (let k = 0; k < this.mines; k++) {
      const j = k + this.rng.int(order.length - k);
      [order[j], order[k]] = [order[k], order[j]];
      this.#mine[order[k]] = 1;
    }
    this.#countBlocks();
    this.#viewed.fill(0);
    this.#viewedCount = 0;
    out[0] = 1;
    return { won: false };
  }

  /** Clicks a cell and shows its block count. */
  protected play(action: number, out: Float32Array): PopgymOutcome<WinInfo> {
    const L = this.maxEpisodeSteps;
    let reward: number;
    let terminated = false;
    if (this.#mine[action]) {
      reward = -0.5 - 1 / L;
      terminated = true;
    } else if (this.#viewed[action]) {
      reward = -0.5 / (L - 2);
    } else {
      this.#viewed[action] = 1;
      this.#viewedCount++;
      reward = 1 / L;
    }
    const won = this.#viewedCount === L;
    terminated ||= won;
    out[this.#block[action]] = 1;
    return { reward, terminated, truncated: !terminated && this.elapsedSteps === L, info: { won } };
  }

  /** The game part of the snapshot. */
  protected saveGame(): JsonObject {
    return { mine: [...this.#mine], viewed: [...this.#viewed] };
  }

  /** Checks and restores the game part of a snapshot. */
  protected loadGame(saved: SavedState, elapsedSteps: number): void {
    const cells = this.actionCount;
    if (elapsedSteps > this.maxEpisodeSteps) saved.fail("elapsedSteps", "past the time limit");
    const mine = saved.ints("mine", 0, 1, cells);
    if (mine.reduce((a, b) => a + b, 0) !== this.mines) {
      saved.fail("mine", `not ${this.mines} mines`);
    }
    const viewed = saved.ints("viewed", 0, 1, cells);
    if (viewed.some((v, i) => v === 1 && mine[i] === 1)) saved.fail("viewed", "a mine is viewed");
    const count = viewed.reduce((a, b) => a + b, 0);
    if (count > elapsedSteps) saved.fail("viewed", "more cells viewed than steps taken");
    this.#mine = Uint8Array.from(mine);
    this.#viewed = Uint8Array.from(viewed);
    this.#viewedCount = count;
    this.#countBlocks();
  }

  /** Counts the mines in each cell's 3 × 3 block, the cell included. */
  #countBlocks(): void {
    const { width: w, height: h } = this;
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        let k = 0;
        for (let rr = Math.max(0, r - 1); rr <= Math.min(h - 1, r + 1); rr++) {
          for (let cc = Math.max(0, c - 1); cc <= Math.min(w - 1, c + 1); cc++) {
            k += this.#mine[rr * w + cc];
          }
        }
        this.#block[r * w + c] = k;
      }
    }
  }
}
