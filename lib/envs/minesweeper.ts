/**
 * Minesweeper, as the classic game with the whole board observed ({@linkcode Minesweeper}) and as
 * POPGym's memory task that observes only the clicked cell's count ({@linkcode MinesweeperMemory}).
 *
 * Cells are numbered row-major: action `row · width + column` clicks that cell.
 *
 * @module
 */

import type { JsonObject, JsonValue } from "../io/json.ts";
import { Rng } from "../io/rng.ts";
import { checkBoard, type NeighborTable, neighborTable } from "./_grid.ts";
import { rngJson, SavedState } from "./_snapshot.ts";
import type { Env, EnvFrame, ResetOptions, ResetResult, StepResult } from "./env.ts";

/** The rewards of {@linkcode Minesweeper}. */
export interface MinesweeperRewards {
  /** The move that opens the last safe cell (default +1). */
  win: number;
  /** Clicking a mine (default −1). */
  loss: number;
  /** A safe click next to an open cell, so informed by a number (default +0.3). */
  progress: number;
  /** A safe click with no open neighbour, a guess without information (default −0.3). */
  guess: number;
}

/** How {@linkcode Minesweeper} encodes the board: see the class documentation. */
export type MinesweeperEncoding = "onehot" | "scalar";

/** Options of {@linkcode Minesweeper}. */
export interface MinesweeperOptions {
  /** Columns (default 9). */
  width?: number;
  /** Rows (default 9). */
  height?: number;
  /** Mines (default 10; at most width·height − 1). */
  mines?: number;
  /** The observation encoding (default "onehot"). */
  encoding?: MinesweeperEncoding;
  /** Overrides of the default rewards. */
  rewards?: Partial<MinesweeperRewards>;
  /** The seed of the environment's RNG (default 0); `reset({ seed })` reseeds it. */
  seed?: number;
}

/** The info of {@linkcode Minesweeper} and {@linkcode MinesweeperMemory} (a type alias). */
export type MinesweeperInfo = {
  /** True once every safe cell is open. */
  won: boolean;
};

/** The default rewards, after common DQN Minesweeper projects. */
export const MINESWEEPER_REWARDS: Readonly<MinesweeperRewards> = {
  win: 1,
  loss: -1,
  progress: 0.3,
  guess: -0.3,
};

/** The number of one-hot channels per cell: unrevealed, then counts 0..8. */
const CHANNELS = 10;

function checkCell(name: string, action: number, cells: number): void {
  if (!(Number.isInteger(action) && action >= 0 && action < cells)) {
    throw new RangeError(
      `Cannot step ${name}: action is ${action}, expected an integer in 0..${cells - 1}`,
    );
  }
}

/** The number of ones. */
function ones(bits: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bits.length; i++) n += bits[i];
  return n;
}

/** True when some cell is 1 in both. */
function overlap(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] & b[i]) return true;
  return false;
}

function countMines(mine: Uint8Array, table: NeighborTable, out: Int8Array): void {
  for (let i = 0; i < mine.length; i++) {
    let k = 0;
    for (let p = table.start[i]; p < table.start[i + 1]; p++) k += mine[table.cells[p]];
    out[i] = k;
  }
}

/**
 * The classic game of Minesweeper with the whole board observed.
 *
 * - Mines are placed at the first click, never on the clicked cell (the first click is always
 *   safe). The candidates are drawn at `reset`, so the layout depends on the seed and on the
 *   first click only, and the RNG's use never depends on the actions.
 * - Clicking a cell with no neighbouring mine opens its whole zero region and the region's border
 *   (flood fill).
 * - Rewards (see {@linkcode MINESWEEPER_REWARDS}): `win` for the move that opens the last safe
 *   cell, `loss` for a mine (the episode terminates either way), otherwise `progress` for a safe
 *   click next to an open cell and `guess` for one with no open neighbour. The first click, safe
 *   by rule and a guess by necessity, earns 0 (or `win` if it opens the whole board).
 * - Actions are cells, `row · width + column`. Clicking an open cell, an index out of range or a
 *   non-integer is a RangeError; {@linkcode Minesweeper.actionMask} marks the unrevealed cells.
 *   After the episode ends, `step` throws until `reset`. No episode needs a time limit: every
 *   valid click opens at least one cell.
 *
 * Observation encodings:
 * - "onehot" (default): `10 · cells` floats, channel-major (`[10, height, width]`, the layout of a
 *   convolution's input): channel 0 is 1 where a cell is unrevealed, channel 1 + k is 1 where a
 *   revealed cell has k neighbouring mines (k = 0..8); exactly one channel is 1 per cell.
 * - "scalar": `cells` floats, −1 for an unrevealed cell and k/8 for a revealed one.
 *
 * @example
 * ```ts
 * import { Minesweeper } from "@rnnrl/rnnrl";
 * const env = new Minesweeper({ width: 9, height: 9, mines: 10 });
 * env.reset({ seed: 1 });
 * const { terminated } = env.step(40); // the centre: the first click is always safe
 * if (terminated && !env.won) throw new Error("the first click cannot lose");
 * if (env.actionMask()[40] !== 0) throw new Error("an open cell is masked out");
 * ```
 */
export class Minesweeper implements Env<MinesweeperInfo> {
  /** "minesweeper". */
  readonly id: string = "minesweeper";
  /** `10 · cells` ("onehot") or `cells` ("scalar"). */
  readonly observationSize: number;
  /** The number of cells, one action each. */
  readonly actionCount: number;
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** Mines on the board. */
  readonly mines: number;
  /** The observation encoding. */
  readonly encoding: MinesweeperEncoding;
  /** The rewards in use. */
  readonly rewards: Readonly<MinesweeperRewards>;

  #table: NeighborTable;
  #rng: Rng;
  #candidates: Int32Array;
  #shuffle: Int32Array;
  #mine: Uint8Array;
  #count: Int8Array;
  #revealed: Uint8Array;
  #revealedCount = 0;
  #placed = false;
  #ended = true;
  #won = false;
  #lastClick: number | null = null;
  #stack: Int32Array;

  /** Creates the game; call {@linkcode Minesweeper.reset} before the first click. */
  constructor(options: MinesweeperOptions = {}) {
    const width = options.width ?? 9;
    const height = options.height ?? 9;
    const mines = options.mines ?? 10;
    checkBoard("Minesweeper", width, height, mines, width * height - 1);
    const encoding = options.encoding ?? "onehot";
    if (encoding !== "onehot" && encoding !== "scalar") {
      throw new RangeError(
        `Cannot create Minesweeper: encoding is "${encoding}", expected "onehot" or "scalar"`,
      );
    }
    const rewards = { ...MINESWEEPER_REWARDS, ...options.rewards };
    for (const [key, value] of Object.entries(rewards)) {
      if (!Number.isFinite(value)) {
        throw new RangeError(`Cannot create Minesweeper: reward ${key} is ${value}`);
      }
    }
    const cells = width * height;
    this.width = width;
    this.height = height;
    this.mines = mines;
    this.encoding = encoding;
    this.rewards = rewards;
    this.actionCount = cells;
    this.observationSize = encoding === "onehot" ? CHANNELS * cells : cells;
    this.#table = neighborTable(width, height);
    this.#rng = new Rng(options.seed ?? 0);
    this.#candidates = new Int32Array(mines + 1);
    this.#shuffle = new Int32Array(cells);
    this.#mine = new Uint8Array(cells);
    this.#count = new Int8Array(cells);
    this.#revealed = new Uint8Array(cells);
    this.#stack = new Int32Array(cells);
  }

  /** Whether the current episode has been won. */
  get won(): boolean {
    return this.#won;
  }

  /** Starts a new game; the mines are placed at the first click. */
  reset(options: ResetOptions = {}): ResetResult<MinesweeperInfo> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    // A partial Fisher–Yates shuffle: mines + 1 distinct candidate cells in random order. The
    // first click takes the place of the last candidate if it is among the first `mines`, which
    // leaves a uniform layout over the cells other than the click.
    const shuffle = this.#shuffle;
    for (let i = 0; i < shuffle.length; i++) shuffle[i] = i;
    for (let k = 0; k < this.#candidates.length; k++) {
      const j = k + this.#rng.int(shuffle.length - k);
      const t = shuffle[j];
      shuffle[j] = shuffle[k];
      shuffle[k] = t;
      this.#candidates[k] = t;
    }
    this.#startEpisode();
    this.#placed = false;
    return { observation: this.observe(), info: { won: false } };
  }

  /**
   * Starts a new game on a given layout (a list of mine cells), for tests and replays. The first
   * click is not protected: the layout is used as given.
   */
  resetWithLayout(mineCells: ArrayLike<number>): ResetResult<MinesweeperInfo> {
    const cells = this.actionCount;
    const mine = new Uint8Array(cells);
    for (let k = 0; k < mineCells.length; k++) {
      const c = mineCells[k];
      if (!(Number.isInteger(c) && c >= 0 && c < cells) || mine[c]) {
        throw new RangeError(
          `Cannot reset Minesweeper to a layout: cell ${c} is out of range or repeated`,
        );
      }
      mine[c] = 1;
    }
    if (mineCells.length !== this.mines) {
      throw new RangeError(
        `Cannot reset Minesweeper to a layout: got ${mineCells.length} mines, expected ${this.mines}`,
      );
    }
    this.#startEpisode();
    this.#mine.set(mine);
    countMines(this.#mine, this.#table, this.#count);
    this.#placed = true;
    return { observation: this.observe(), info: { won: false } };
  }

  /** Clicks cell `action` (`row · width + column`). */
  step(action: number): StepResult<MinesweeperInfo> {
    checkCell("Minesweeper", action, this.actionCount);
    if (this.#ended) {
      throw new Error("Cannot step Minesweeper: the episode has ended; call reset() first");
    }
    if (this.#revealed[action]) {
      const row = Math.floor(action / this.width);
      const column = action % this.width;
      throw new RangeError(
        `Cannot step Minesweeper: cell ${action} (row ${row}, column ${column}) is already revealed`,
      );
    }
    this.#lastClick = action;
    const first = !this.#placed;
    if (first) this.#placeMines(action);
    const r = this.rewards;
    if (this.#mine[action]) {
      this.#ended = true;
      return {
        observation: this.observe(),
        reward: r.loss,
        terminated: true,
        truncated: false,
        info: { won: false },
      };
    }
    let informed = false;
    const t = this.#table;
    for (let p = t.start[action]; p < t.start[action + 1]; p++) {
      if (this.#revealed[t.cells[p]]) informed = true;
    }
    this.#open(action);
    if (this.#revealedCount === this.actionCount - this.mines) {
      this.#won = true;
      this.#ended = true;
      return {
        observation: this.observe(),
        reward: r.win,
        terminated: true,
        truncated: false,
        info: { won: true },
      };
    }
    return {
      observation: this.observe(),
      reward: first ? 0 : informed ? r.progress : r.guess,
      terminated: false,
      truncated: false,
      info: { won: false },
    };
  }

  /** 1 for each unrevealed cell (a valid click), 0 for open ones. */
  actionMask(): Uint8Array {
    const mask = new Uint8Array(this.actionCount);
    for (let i = 0; i < mask.length; i++) mask[i] = this.#revealed[i] ^ 1;
    return mask;
  }

  /** The board as the player sees it: −1 for an unrevealed cell, else its count 0..8. */
  get visible(): Int8Array {
    const out = new Int8Array(this.actionCount);
    for (let i = 0; i < out.length; i++) out[i] = this.#revealed[i] ? this.#count[i] : -1;
    return out;
  }

  /** The mines (1 per mine cell), or null before the first click places them. */
  mineLayout(): Uint8Array | null {
    return this.#placed ? this.#mine.slice() : null;
  }

  /** A new environment with the same board size, encoding and rewards (for vector training). */
  clone(): Minesweeper {
    return new Minesweeper({
      width: this.width,
      height: this.height,
      mines: this.mines,
      encoding: this.encoding,
      rewards: this.rewards,
    });
  }

  /**
   * The present moment for the report's replay: the visible board (−1 hidden, else the count),
   * with a clicked mine shown as 9.
   */
  frame(): EnvFrame {
    const board = Array.from(this.visible);
    const click = this.#lastClick;
    if (click !== null && this.#mine[click]) board[click] = 9;
    return { kind: "minesweeper", width: this.width, height: this.height, board };
  }

  /**
   * Everything that determines the rest of the game and the next ones, as JSON (checkpoints):
   * the RNG, the candidate mine cells drawn at reset, the mines (0/1 per cell, all 0 before the
   * first click), the revealed cells (0/1), the last click and the flags.
   */
  getState(): JsonObject {
    return {
      rng: rngJson(this.#rng),
      candidates: Array.from(this.#candidates),
      mines: Array.from(this.#mine),
      revealed: Array.from(this.#revealed),
      placed: this.#placed,
      ended: this.#ended,
      won: this.#won,
      lastClick: this.#lastClick,
    };
  }

  /**
   * Restores a state from {@linkcode Minesweeper.getState} of a board of the same size; throws a
   * TypeError for anything else and then leaves the game as it was.
   */
  setState(saved: JsonValue): void {
    const s = new SavedState("Minesweeper", saved);
    const cells = this.actionCount;
    const safe = cells - this.mines;
    const rng = s.rng();
    const candidates = s.integers("candidates", this.mines + 1, cells - 1);
    const mine = s.bits("mines", cells);
    const revealed = s.bits("revealed", cells);
    const placed = s.flag("placed");
    const ended = s.flag("ended");
    const won = s.flag("won");
    const lastClick = s.countOrNull("lastClick", cells - 1);
    const opened = ones(revealed);
    // The candidates are used at the first click, so they must then be distinct.
    s.check(placed || ended || new Set(candidates).size === candidates.length);
    s.check(placed ? ones(mine) === this.mines : ones(mine) === 0 && opened === 0);
    s.check(!overlap(mine, revealed));
    s.check(ended || opened < safe);
    s.check(!won || (ended && opened === safe));
    // The last click opened its cell, or hit a mine and lost.
    s.check(
      lastClick === null ||
        (placed && (revealed[lastClick] === 1 || (mine[lastClick] === 1 && ended && !won))),
    );
    this.#rng = rng;
    this.#candidates.set(candidates);
    this.#mine.set(mine);
    countMines(this.#mine, this.#table, this.#count);
    this.#revealed.set(revealed);
    this.#revealedCount = opened;
    this.#placed = placed;
    this.#ended = ended;
    this.#won = won;
    this.#lastClick = lastClick;
  }

  /** The observation of the current board in the chosen encoding. */
  observe(): Float32Array {
    const cells = this.actionCount;
    const out = new Float32Array(this.observationSize);
    const onehot = this.encoding === "onehot";
    for (let i = 0; i < cells; i++) {
      if (onehot) out[(this.#revealed[i] ? 1 + this.#count[i] : 0) * cells + i] = 1;
      else out[i] = this.#revealed[i] ? this.#count[i] / 8 : -1;
    }
    return out;
  }

  /** The visible board as text: `.` unrevealed, digits for open cells, one row a line. */
  render(): string {
    const rows: string[] = [];
    for (let r = 0; r < this.height; r++) {
      let line = "";
      for (let c = 0; c < this.width; c++) {
        const i = r * this.width + c;
        line += this.#revealed[i] ? String(this.#count[i]) : ".";
      }
      rows.push(line);
    }
    return rows.join("\n");
  }

  #startEpisode(): void {
    this.#mine.fill(0);
    this.#count.fill(0);
    this.#revealed.fill(0);
    this.#revealedCount = 0;
    this.#ended = false;
    this.#won = false;
    this.#lastClick = null;
  }

  #placeMines(click: number): void {
    const m = this.mines;
    for (let k = 0; k < m; k++) {
      const c = this.#candidates[k];
      this.#mine[c === click ? this.#candidates[m] : c] = 1;
    }
    countMines(this.#mine, this.#table, this.#count);
    this.#placed = true;
  }

  /** Opens a safe cell and, through zero cells, the region around it. */
  #open(cell: number): void {
    const t = this.#table;
    const stack = this.#stack;
    const revealed = this.#revealed;
    let top = 0;
    revealed[cell] = 1;
    this.#revealedCount++;
    stack[top++] = cell;
    while (top > 0) {
      const c = stack[--top];
      if (this.#count[c] !== 0) continue;
      for (let p = t.start[c]; p < t.start[c + 1]; p++) {
        const nb = t.cells[p];
        if (!revealed[nb]) {
          // A zero cell's neighbours are never mines.
          revealed[nb] = 1;
          this.#revealedCount++;
          stack[top++] = nb;
        }
      }
    }
  }
}

/** POPGym's difficulties of {@linkcode MinesweeperMemory}: 4×4/2, 6×6/6 and 8×8/10. */
export type MinesweeperMemoryDifficulty = "easy" | "medium" | "hard";

/** The board of each {@linkcode MinesweeperMemoryDifficulty}. */
export const MINESWEEPER_MEMORY_BOARDS: Readonly<
  Record<MinesweeperMemoryDifficulty, { width: number; height: number; mines: number }>
> = {
  easy: { width: 4, height: 4, mines: 2 },
  medium: { width: 6, height: 6, mines: 6 },
  hard: { width: 8, height: 8, mines: 10 },
};

/** Options of {@linkcode MinesweeperMemory}. */
export interface MinesweeperMemoryOptions {
  /** The board preset (default "easy"); `width`, `height` and `mines` override it. */
  difficulty?: MinesweeperMemoryDifficulty;
  /** Columns. */
  width?: number;
  /** Rows. */
  height?: number;
  /** Mines (at most width·height − 3). */
  mines?: number;
  /**
   * Append a one-hot of the clicked cell to the observation (default false). POPGym provides
   * the previous action through a wrapper; without it the agent must remember its own clicks.
   */
  observeAction?: boolean;
  /** The seed of the environment's RNG (default 0); `reset({ seed })` reseeds it. */
  seed?: number;
}

/**
 * POPGym's MineSweeper: the board is never shown; each click returns only the clicked cell's
 * number of neighbouring mines, so the agent must remember what it has seen.
 *
 * With L = cells − mines (the most safe clicks there are):
 * - a new safe cell pays +1/L; a mine pays −0.5 − 1/L and terminates; clicking a cell already
 *   clicked pays −0.5/(L − 2) (it is allowed: avoiding it is the memory task, so there is no
 *   action mask);
 * - the episode terminates with `won` when every safe cell has been clicked, and is truncated
 *   after L steps (POPGym's check runs before its step counter advances, which truncates one step
 *   later; here the limit is exactly L);
 * - mines are placed uniformly at reset, with no first-click protection (as in POPGym).
 * No click opens neighbours.
 *
 * The observation is a one-hot of the count (9 floats, counts 0..8; all zeros after reset), plus
 * with `observeAction` a one-hot of the clicked cell. (POPGym's count on a mine includes the mine
 * itself; here it is always the neighbours' count, and a mine ends the episode anyway.)
 *
 * @example
 * ```ts
 * import { MinesweeperMemory } from "@rnnrl/rnnrl";
 * const env = new MinesweeperMemory({ difficulty: "easy" }); // 4×4 with 2 mines, L = 14
 * env.reset({ seed: 3 });
 * const { reward } = env.step(0);
 * if (reward !== 1 / 14 && reward !== -0.5 - 1 / 14) throw new Error("safe or mine");
 * ```
 */
export class MinesweeperMemory implements Env<MinesweeperInfo> {
  /** "minesweeper-memory". */
  readonly id: string = "minesweeper-memory";
  /** 9, plus the number of cells with `observeAction`. */
  readonly observationSize: number;
  /** The number of cells. */
  readonly actionCount: number;
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** Mines on the board. */
  readonly mines: number;
  /** L = cells − mines: the time limit and the reward scale. */
  readonly maxEpisodeSteps: number;
  /** Whether the clicked cell is part of the observation. */
  readonly observeAction: boolean;
  /** Steps taken in the current episode. */
  elapsedSteps = 0;

  #table: NeighborTable;
  #rng: Rng;
  #shuffle: Int32Array;
  #mine: Uint8Array;
  #count: Int8Array;
  #viewed: Uint8Array;
  #viewedCount = 0;
  #ended = true;

  /** Creates the game; call {@linkcode MinesweeperMemory.reset} before the first click. */
  constructor(options: MinesweeperMemoryOptions = {}) {
    const difficulty = options.difficulty ?? "easy";
    if (!Object.hasOwn(MINESWEEPER_MEMORY_BOARDS, difficulty)) {
      throw new RangeError(
        `Cannot create MinesweeperMemory: difficulty is "${difficulty}", expected easy, medium or hard`,
      );
    }
    const preset = MINESWEEPER_MEMORY_BOARDS[difficulty];
    const width = options.width ?? preset.width;
    const height = options.height ?? preset.height;
    const mines = options.mines ?? preset.mines;
    checkBoard("MinesweeperMemory", width, height, mines, width * height - 3);
    const cells = width * height;
    this.width = width;
    this.height = height;
    this.mines = mines;
    this.actionCount = cells;
    this.maxEpisodeSteps = cells - mines;
    this.observeAction = options.observeAction ?? false;
    this.observationSize = 9 + (this.observeAction ? cells : 0);
    this.#table = neighborTable(width, height);
    this.#rng = new Rng(options.seed ?? 0);
    this.#shuffle = new Int32Array(cells);
    this.#mine = new Uint8Array(cells);
    this.#count = new Int8Array(cells);
    this.#viewed = new Uint8Array(cells);
  }

  /** A new environment with the same board and observation (for vector training). */
  clone(): MinesweeperMemory {
    return new MinesweeperMemory({
      width: this.width,
      height: this.height,
      mines: this.mines,
      observeAction: this.observeAction,
    });
  }

  /** Places new mines and starts an episode; the first observation is all zeros. */
  reset(options: ResetOptions = {}): ResetResult<MinesweeperInfo> {
    if (options.seed !== undefined) this.#rng = new Rng(options.seed);
    const shuffle = this.#shuffle;
    for (let i = 0; i < shuffle.length; i++) shuffle[i] = i;
    this.#mine.fill(0);
    for (let k = 0; k < this.mines; k++) {
      const j = k + this.#rng.int(shuffle.length - k);
      const t = shuffle[j];
      shuffle[j] = shuffle[k];
      shuffle[k] = t;
      this.#mine[t] = 1;
    }
    countMines(this.#mine, this.#table, this.#count);
    this.#viewed.fill(0);
    this.#viewedCount = 0;
    this.elapsedSteps = 0;
    this.#ended = false;
    return { observation: new Float32Array(this.observationSize), info: { won: false } };
  }

  /** The mines (1 per mine cell) of the current episode. */
  mineLayout(): Uint8Array {
    return this.#mine.slice();
  }

  /**
   * Everything that determines the rest of the episode and the next ones, as JSON (checkpoints):
   * the RNG, the mines (0/1 per cell), the safe cells clicked so far (0/1), the step counter and
   * whether the episode has ended.
   */
  getState(): JsonObject {
    return {
      rng: rngJson(this.#rng),
      mines: Array.from(this.#mine),
      viewed: Array.from(this.#viewed),
      elapsedSteps: this.elapsedSteps,
      ended: this.#ended,
    };
  }

  /**
   * Restores a state from {@linkcode MinesweeperMemory.getState} of a board of the same size;
   * throws a TypeError for anything else and then leaves the game as it was.
   */
  setState(saved: JsonValue): void {
    const s = new SavedState("MinesweeperMemory", saved);
    const cells = this.actionCount;
    const L = this.maxEpisodeSteps;
    const rng = s.rng();
    const mine = s.bits("mines", cells);
    const viewed = s.bits("viewed", cells);
    const elapsedSteps = s.count("elapsedSteps", L);
    const ended = s.flag("ended");
    const viewedCount = ones(viewed);
    // The mines are placed at reset: all of them, or none before the first reset.
    s.check(ones(mine) === this.mines || (ended && ones(mine) === 0));
    s.check(!overlap(mine, viewed) && viewedCount <= elapsedSteps);
    s.check(ended || (elapsedSteps < L && viewedCount < L));
    this.#rng = rng;
    this.#mine.set(mine);
    countMines(this.#mine, this.#table, this.#count);
    this.#viewed.set(viewed);
    this.#viewedCount = viewedCount;
    this.elapsedSteps = elapsedSteps;
    this.#ended = ended;
  }

  /** Clicks cell `action`; only an index out of range (or not an integer) is invalid. */
  step(action: number): StepResult<MinesweeperInfo> {
    checkCell("MinesweeperMemory", action, this.actionCount);
    if (this.#ended) {
      throw new Error("Cannot step MinesweeperMemory: the episode has ended; call reset() first");
    }
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
    this.elapsedSteps++;
    const truncated = this.elapsedSteps >= L;
    this.#ended = terminated || truncated;
    const observation = new Float32Array(this.observationSize);
    observation[this.#count[action]] = 1;
    if (this.observeAction) observation[9 + action] = 1;
    return { observation, reward, terminated, truncated, info: { won } };
  }
}
