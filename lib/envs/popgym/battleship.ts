/**
 * POPGym's Battleship: sink a hidden fleet, told only whether each shot hit.
 *
 * At reset four ships of lengths 2, 3, 3 and 4 (12 cells) are placed on a B × B board, one after
 * the other, each by drawing a cell, an axis and a direction uniformly and redrawing until the
 * ship lies on the board without overlapping an earlier one (ships may touch). Each step shoots at
 * one cell: a hit on a ship cell not shot before pays +1/12; anything else — water, or any cell
 * shot before — pays −1/(B² − 12). Repeating a cell is allowed and penalised, as POPGym does, so
 * there is no action mask. The episode terminates, with `won`, once all 12 ship cells are hit,
 * and is truncated after B² steps (both flags are set if the last possible shot sinks the fleet).
 * A perfect game returns 1, and shooting every cell once returns exactly 0.
 *
 * - Observation: 2 floats, a one-hot of the last shot's result (index 1: a hit). The reset shows
 *   index 0, as if a shot had missed. The observation does not say where the shot went: POPGym
 *   marks this game as needing the previous action (`observePreviousAction`, which shows it as a
 *   one-hot of its row and a one-hot of its column).
 * - Actions: B², the cells, row-major: `row · B + column` (POPGym's `[row, column]`).
 * - Random: the fleet's placement, drawn at reset.
 *
 * | difficulty | board B | steps B² | hit  | miss or repeat |
 * | ---------- | ------- | -------- | ---- | -------------- |
 * | easy       | 8       | 64       | 1/12 | −1/52          |
 * | medium     | 10      | 100      | 1/12 | −1/88          |
 * | hard       | 12      | 144      | 1/12 | −1/132         |
 *
 * POPGym's scale does not keep every return in [−1, 1]: a game of B² misses returns
 * −B²/(B² − 12) (−1.23 on the easy board). Only a policy that almost never hits gets there; a
 * uniformly random one stays far inside.
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

/** The board size of each difficulty of {@linkcode Battleship}. */
export const BATTLESHIP_LEVELS: Readonly<Record<PopgymDifficulty, { readonly board: number }>> = {
  easy: { board: 8 },
  medium: { board: 10 },
  hard: { board: 12 },
};

/** The lengths of the ships, in the order they are placed. */
export const BATTLESHIP_SHIPS: readonly number[] = [2, 3, 3, 4];

const SHIP_CELLS = BATTLESHIP_SHIPS.reduce((a, b) => a + b, 0);

/**
 * POPGym's Battleship (see the module documentation for the rule and the levels).
 *
 * @example
 * ```ts
 * import { Battleship } from "@rnnrl/rnnrl";
 * const env = new Battleship({ difficulty: "easy", seed: 7 });
 * env.reset();
 * let total = 0;
 * for (const cell of env.ships().flat()) total += env.step(cell).reward; // an oracle
 * if (Math.abs(total - 1) > 1e-9) throw new Error("twelve hits return 1");
 * ```
 */
export class Battleship extends PopgymEnv<WinInfo> {
  /** The board's side, B. */
  readonly board: number;
  /** The episode length, B². */
  readonly maxEpisodeSteps: number;
  #ships: number[][] = [];
  #isShip: Uint8Array;
  #shot: Uint8Array;
  #hits = 0;

  /** Creates the game; call `reset` before stepping. */
  constructor(options: PopgymOptions = {}) {
    const difficulty = difficultyOf("Battleship", options.difficulty);
    const b = BATTLESHIP_LEVELS[difficulty].board;
    super("Battleship", {
      id: `battleship-${difficulty}`,
      gameSize: 2,
      actionCount: b * b,
      actionFactors: [b, b],
    }, options);
    this.board = b;
    this.maxEpisodeSteps = b * b;
    this.#isShip = new Uint8Array(b * b);
    this.#shot = new Uint8Array(b * b);
  }

  /** The cells of each ship, in placement order: hidden from the agent, for tests and oracles. */
  ships(): number[][] {
    return this.#ships.map((cells) => [...cells]);
  }

  /** A new environment with the same settings and an RNG of its own. */
  clone(): Battleship {
    return new Battleship(this.options());
  }

  /** Places the fleet and shows a miss. */
  protected begin(out: Float32Array): WinInfo {
    this.#isShip.fill(0);
    this.#ships = BATTLESHIP_SHIPS.map((length) => this.#place(length));
    this.#shot.fill(0);
    this.#hits = 0;
    out[0] = 1;
    return { won: false };
  }

  /** Shoots at a cell and shows whether it was a new hit. */
  protected play(action: number, out: Float32Array): PopgymOutcome<WinInfo> {
    const hit = this.#isShip[action] === 1 && this.#shot[action] === 0;
    this.#shot[action] = 1;
    if (hit) this.#hits++;
    out[hit ? 1 : 0] = 1;
    const won = this.#hits === SHIP_CELLS;
    return {
      reward: hit ? 1 / SHIP_CELLS : -1 / (this.maxEpisodeSteps - SHIP_CELLS),
      terminated: won,
      truncated: this.elapsedSteps === this.maxEpisodeSteps,
      info: { won },
    };
  }

  /** The game part of the snapshot. */
  protected saveGame(): JsonObject {
    return { ships: this.ships(), shot: [...this.#shot] };
  }

  /** Checks and restores the game part of a snapshot. */
  protected loadGame(saved: SavedState, elapsedSteps: number): void {
    const cells = this.board * this.board;
    if (elapsedSteps > this.maxEpisodeSteps) saved.fail("elapsedSteps", "past the time limit");
    const fleet = saved.value("ships");
    if (!Array.isArray(fleet) || fleet.length !== BATTLESHIP_SHIPS.length) {
      saved.fail("ships", `expected ${BATTLESHIP_SHIPS.length} ships`);
    }
    const isShip = new Uint8Array(cells);
    const ships = fleet.map((ship, k) => {
      const ok = Array.isArray(ship) && ship.length === BATTLESHIP_SHIPS[k] &&
        ship.every((c) => Number.isInteger(c) && c >= 0 && c < cells && !isShip[c]) &&
        this.#straight(ship);
      if (!ok) saved.fail("ships", `ship ${k} is not ${BATTLESHIP_SHIPS[k]} cells in a line`);
      for (const c of ship as number[]) isShip[c] = 1;
      return [...ship as number[]];
    });
    const shot = saved.ints("shot", 0, 1, cells);
    const shots = shot.reduce((a, b) => a + b, 0);
    if (shots > elapsedSteps) saved.fail("shot", "more cells shot than steps taken");
    this.#ships = ships;
    this.#isShip = isShip;
    this.#shot = Uint8Array.from(shot);
    this.#hits = shot.reduce((n, s, c) => n + (s & isShip[c]), 0);
  }

  /** Places a ship by POPGym's rejection rule and returns its cells. */
  #place(length: number): number[] {
    const b = this.board;
    for (;;) {
      const row = this.rng.int(b);
      const column = this.rng.int(b);
      const vertical = this.rng.int(2) === 0;
      const sign = this.rng.int(2) === 0 ? 1 : -1;
      const cells: number[] = [];
      for (let i = 0; i < length; i++) {
        const r = vertical ? row + sign * i : row;
        const c = vertical ? column : column + sign * i;
        if (r < 0 || r >= b || c < 0 || c >= b || this.#isShip[r * b + c]) break;
        cells.push(r * b + c);
      }
      if (cells.length < length) continue;
      cells.sort((x, y) => x - y);
      for (const cell of cells) this.#isShip[cell] = 1;
      return cells;
    }
  }

  /** True when the cells, in any order, are consecutive along one row or one column. */
  #straight(ship: number[]): boolean {
    const b = this.board;
    const cells = [...ship].sort((x, y) => x - y);
    const row = Math.floor(cells[0] / b);
    const across = cells.every((c, i) => c === cells[0] + i && Math.floor(c / b) === row);
    const down = cells.every((c, i) => c === cells[0] + i * b);
    return across || down;
  }
}
