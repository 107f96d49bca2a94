/**
 * Grid helpers shared by the Minesweeper games and the solver (internal).
 *
 * @module
 */

/** Each cell's up-to-8 neighbours: `cells[start[i] .. start[i + 1])` for cell `row·width + col`. */
export interface NeighborTable {
  /** Offsets into `cells`, length `width·height + 1`. */
  start: Int32Array;
  /** The neighbour indices, concatenated. */
  cells: Int32Array;
}

/** Builds the 8-neighbourhood table of a `width × height` grid. */
export function neighborTable(width: number, height: number): NeighborTable {
  const n = width * height;
  const start = new Int32Array(n + 1);
  const cells: number[] = [];
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      start[r * width + c] = cells.length;
      for (let dr = -1; dr <= 1; dr++) {
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if ((dr !== 0 || dc !== 0) && rr >= 0 && rr < height && cc >= 0 && cc < width) {
            cells.push(rr * width + cc);
          }
        }
      }
    }
  }
  start[n] = cells.length;
  return { start, cells: Int32Array.from(cells) };
}

/** Checks a board size and mine count; `maxMines` is the most the game allows. */
export function checkBoard(
  name: string,
  width: number,
  height: number,
  mines: number,
  maxMines: number,
): void {
  for (const [key, value] of [["width", width], ["height", height]] as const) {
    if (!(Number.isInteger(value) && value >= 1 && value <= 1024)) {
      throw new RangeError(
        `Cannot create ${name}: ${key} is ${value}, expected an integer in 1..1024`,
      );
    }
  }
  if (!(Number.isInteger(mines) && mines >= 0 && mines <= maxMines)) {
    throw new RangeError(
      `Cannot create ${name}: mines is ${mines}, expected an integer in 0..${maxMines} ` +
        `on a ${width}×${height} board`,
    );
  }
}
