/**
 * The symmetries of a rectangular board, as permutations of its cells, and their action on a
 * replayed batch. A game such as Minesweeper plays the same when its board is rotated or
 * mirrored, so a transition seen from another side is another valid transition: replaying each
 * one under a random symmetry gives a per-cell Q-network up to eight views of every experience.
 *
 * @module
 */

import type { Rng } from "../io/rng.ts";
import type { ReplayBatch } from "./replay.ts";

/** How an observation lays out a board's channels (see `Conv2D`'s `inputLayout`). */
export type BoardLayout = "channels-first" | "channels-last";

/** A board: its size and how an observation stores its channels. */
export interface BoardShape {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** The observation's layout. */
  layout: BoardLayout;
}

/** Where a symmetry sends cell (row, column) of a height × width board. */
type CellMap = (row: number, column: number, height: number, width: number) => [number, number];

// The four that keep a rectangle's shape, then the four that exist only when it is square.
const RECTANGLE_MAPS: readonly CellMap[] = [
  (r, c) => [r, c], // identity
  (r, c, _h, w) => [r, w - 1 - c], // mirror left–right
  (r, c, h) => [h - 1 - r, c], // mirror top–bottom
  (r, c, h, w) => [h - 1 - r, w - 1 - c], // half turn
];
const SQUARE_MAPS: readonly CellMap[] = [
  (r, c) => [c, r], // transpose
  (r, c, h, w) => [w - 1 - c, h - 1 - r], // anti-transpose
  (r, c, h) => [c, h - 1 - r], // quarter turn clockwise
  (r, c, _h, w) => [w - 1 - c, r], // quarter turn counterclockwise
];

/**
 * The symmetries of a height × width board as cell permutations: `perm[cell]` is where the
 * symmetry moves the cell (row-major numbering). Eight for a square board (the dihedral group),
 * four otherwise; the identity comes first.
 */
export function boardSymmetries(height: number, width: number): Int32Array[] {
  const maps = height === width ? [...RECTANGLE_MAPS, ...SQUARE_MAPS] : RECTANGLE_MAPS;
  return maps.map((map) => {
    const perm = new Int32Array(height * width);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const [r2, c2] = map(r, c, height, width);
        perm[r * width + c] = r2 * width + c2;
      }
    }
    return perm;
  });
}

/** Writes `source`'s board moved by `perm` into `target` (one observation each). */
export function permuteBoard(
  source: Float32Array,
  target: Float32Array,
  perm: Int32Array,
  layout: BoardLayout,
): void {
  const cells = perm.length, channels = source.length / cells;
  if (!Number.isInteger(channels) || target.length !== source.length) {
    throw new RangeError(
      `Cannot permute a board: ${source.length} values into ${target.length} for ${cells} cells`,
    );
  }
  for (let cell = 0; cell < cells; cell++) {
    const to = perm[cell];
    for (let ch = 0; ch < channels; ch++) {
      if (layout === "channels-first") target[ch * cells + to] = source[ch * cells + cell];
      else target[to * channels + ch] = source[cell * channels + ch];
    }
  }
}

/**
 * Moves each row of a batch whose actions are the board's cells by a symmetry drawn uniformly
 * from `symmetries` (one draw of `rng` per row): its observation, next observation, action and,
 * when given, its next-state mask (`[B, cells]`, moved in place). The batch's arrays are replaced.
 */
export function applyRandomSymmetries(
  batch: ReplayBatch,
  nextMasks: Uint8Array | undefined,
  board: BoardShape,
  symmetries: readonly Int32Array[],
  rng: Rng,
): void {
  const B = batch.actions.length, cells = board.height * board.width;
  const D = batch.observations.length / B;
  const observations = new Float32Array(batch.observations.length);
  const nextObservations = new Float32Array(batch.nextObservations.length);
  const mask = new Uint8Array(cells);
  for (let b = 0; b < B; b++) {
    const perm = symmetries[rng.int(symmetries.length)];
    const row = (a: Float32Array) => a.subarray(b * D, (b + 1) * D);
    permuteBoard(row(batch.observations), row(observations), perm, board.layout);
    permuteBoard(row(batch.nextObservations), row(nextObservations), perm, board.layout);
    batch.actions[b] = perm[batch.actions[b]];
    if (nextMasks) {
      const own = nextMasks.subarray(b * cells, (b + 1) * cells);
      for (let cell = 0; cell < cells; cell++) mask[perm[cell]] = own[cell];
      own.set(mask);
    }
  }
  batch.observations = observations;
  batch.nextObservations = nextObservations;
}
