/**
 * A Minesweeper solver: logical deduction, then exact mine probabilities when stuck.
 *
 * @module
 */

import { Rng } from "../io/rng.ts";
import { checkBoard, type NeighborTable, neighborTable } from "./_grid.ts";

/** Options of {@linkcode MinesweeperSolver}. */
export interface MinesweeperSolverOptions {
  /** Columns (default 9). */
  width?: number;
  /** Rows (default 9). */
  height?: number;
  /** Mines on the board (default 10). */
  mines?: number;
  /** The seed that breaks ties between equally safe cells (default 0). */
  seed?: number;
  /**
   * The most search nodes spent enumerating one frontier component (default 200000); past it the
   * component's probabilities are estimated from its constraints instead.
   */
  maxNodes?: number;
}

const UNKNOWN = 0;
const SAFE = 1;
const MINE = 2;
/** Probabilities closer than this are treated as equal (and ≤ this as certainly safe). */
const EPSILON = 1e-9;

/** A revealed number's claim: exactly `need` of `cells` (unknown cells) are mines. */
interface Constraint {
  cells: number[];
  need: number;
}

/** One connected part of the frontier and, after enumeration, its solution counts. */
interface Component {
  cells: number[];
  /** `counts[m]`: consistent assignments with m mines. */
  counts: Float64Array;
  /** `cellCounts[m · size + j]`: of those, how many put a mine on `cells[j]`. */
  cellCounts: Float64Array;
}

/**
 * Plays Minesweeper from what the player sees, the board of {@linkcode Minesweeper.visible}
 * (−1 for unrevealed, else the count).
 *
 * Each move: play a cell already proved safe if there is one; otherwise deduce from the numbers,
 * with single-constraint rules (a number whose mines are all found makes its other unknown
 * neighbours safe; one with as many unknown neighbours as missing mines makes them all mines) and
 * subset rules (if one number's unknown cells are a subset of another's, the difference holds the
 * difference of their missing mines). When that proves nothing safe, it computes each cell's mine
 * probability: the frontier (unknown cells next to a number) splits into independent components
 * whose consistent assignments are enumerated exactly (by backtracking), and the components are
 * combined with the interior (unknown cells next to no number), weighting each total by the
 * number of ways, C(interior, remaining mines), to place the rest of the mines there; an interior
 * cell's probability is the expected number of interior mines over the number of interior cells.
 * It clicks the safest cell, preferring among ties the one with the fewest unrevealed neighbours
 * (the likeliest to open a region, which makes a corner the first click), then at random.
 *
 * Knowledge persists within a game; call {@linkcode MinesweeperSolver.reset} between games (a
 * board with fewer open cells than the last one seen also starts a new game).
 *
 * @example
 * ```ts
 * import { Minesweeper, MinesweeperSolver } from "@rnnrl/rnnrl";
 * const env = new Minesweeper();
 * const solver = new MinesweeperSolver({ width: 9, height: 9, mines: 10 });
 * env.reset({ seed: 5 });
 * let clicks = 0;
 * for (let done = false; !done; clicks++) {
 *   done = env.step(solver.act(env.visible)).terminated; // never an open cell: that would throw
 * }
 * if (clicks > 71) throw new Error("every click opens at least one of the 71 safe cells");
 * // env.won tells whether the solver won.
 * ```
 */
export class MinesweeperSolver {
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** Mines on the board. */
  readonly mines: number;

  #cells: number;
  #table: NeighborTable;
  #rng: Rng;
  #maxNodes: number;
  #known: Int8Array;
  #queue: number[] = [];
  #lastOpen = 0;
  #logFactorial: Float64Array;

  /** Creates a solver for one board size and mine count. */
  constructor(options: MinesweeperSolverOptions = {}) {
    const width = options.width ?? 9;
    const height = options.height ?? 9;
    const mines = options.mines ?? 10;
    checkBoard("MinesweeperSolver", width, height, mines, width * height - 1);
    const maxNodes = options.maxNodes ?? 200000;
    if (!(maxNodes >= 1)) {
      throw new RangeError(`Cannot create MinesweeperSolver: maxNodes is ${maxNodes}`);
    }
    this.width = width;
    this.height = height;
    this.mines = mines;
    this.#cells = width * height;
    this.#table = neighborTable(width, height);
    this.#rng = new Rng(options.seed ?? 0);
    this.#maxNodes = maxNodes;
    this.#known = new Int8Array(this.#cells);
    this.#logFactorial = new Float64Array(this.#cells + 1);
    for (let k = 1; k <= this.#cells; k++) {
      this.#logFactorial[k] = this.#logFactorial[k - 1] + Math.log(k);
    }
  }

  /** Forgets the current game. */
  reset(): void {
    this.#known.fill(UNKNOWN);
    this.#queue = [];
    this.#lastOpen = 0;
  }

  /** Chooses the next cell to click on the visible board. */
  act(visible: Int8Array): number {
    this.#checkBoard(visible);
    let open = 0;
    for (let i = 0; i < visible.length; i++) if (visible[i] >= 0) open++;
    if (open < this.#lastOpen || open === 0) this.reset();
    this.#lastOpen = open;
    const fromQueue = this.#nextSafe(visible);
    if (fromQueue >= 0) return fromQueue;
    if (this.#deduce(visible, this.#known, true)) {
      const cell = this.#nextSafe(visible);
      if (cell >= 0) return cell;
    }
    const p = this.#probabilities(visible, this.#known);
    let best = Infinity;
    for (let i = 0; i < p.length; i++) {
      if (visible[i] >= 0 || this.#known[i] === MINE) continue;
      if (p[i] <= EPSILON) {
        this.#known[i] = SAFE;
        this.#queue.push(i);
      } else if (p[i] >= 1 - EPSILON) this.#known[i] = MINE;
      if (p[i] < best) best = p[i];
    }
    const cell = this.#nextSafe(visible);
    if (cell >= 0) return cell;
    // A guess: the safest cells, then the fewest unrevealed neighbours, then at random.
    let ties: number[] = [];
    let fewest = Infinity;
    for (let i = 0; i < p.length; i++) {
      if (visible[i] >= 0 || this.#known[i] === MINE || p[i] > best + EPSILON) continue;
      const closed = this.#closedNeighbors(visible, i);
      if (closed < fewest) {
        fewest = closed;
        ties = [];
      }
      if (closed === fewest) ties.push(i);
    }
    if (ties.length === 0) {
      throw new RangeError("Cannot choose a move: no unrevealed cell is left");
    }
    return ties[ties.length === 1 ? 0 : this.#rng.int(ties.length)];
  }

  /**
   * Each cell's probability of holding a mine given the visible board, from scratch: 0 for open
   * cells and for cells proved safe, 1 for proved mines. Throws a RangeError if no layout fits.
   */
  probabilities(visible: Int8Array): Float64Array {
    this.#checkBoard(visible);
    const known = new Int8Array(this.#cells);
    this.#deduce(visible, known, false);
    return this.#probabilities(visible, known);
  }

  #checkBoard(visible: Int8Array): void {
    if (visible.length !== this.#cells) {
      throw new RangeError(
        `Cannot read the board: got ${visible.length} cells, expected ${this.#cells}`,
      );
    }
  }

  #nextSafe(visible: Int8Array): number {
    while (this.#queue.length > 0) {
      const cell = this.#queue.pop()!;
      if (visible[cell] < 0) return cell;
    }
    return -1;
  }

  #closedNeighbors(visible: Int8Array, cell: number): number {
    const t = this.#table;
    let k = 0;
    for (let p = t.start[cell]; p < t.start[cell + 1]; p++) if (visible[t.cells[p]] < 0) k++;
    return k;
  }

  /** The constraints of every open number that still has unknown neighbours. */
  #constraints(visible: Int8Array, known: Int8Array): Constraint[] {
    const t = this.#table;
    const out: Constraint[] = [];
    for (let c = 0; c < visible.length; c++) {
      if (visible[c] < 0) continue;
      let need = visible[c];
      const cells: number[] = [];
      for (let p = t.start[c]; p < t.start[c + 1]; p++) {
        const nb = t.cells[p];
        if (visible[nb] >= 0 || known[nb] === SAFE) continue;
        if (known[nb] === MINE) need--;
        else cells.push(nb);
      }
      if (cells.length > 0) out.push({ cells, need });
    }
    return out;
  }

  /**
   * Applies the single-constraint and subset rules until nothing changes (or, with `eager`, until
   * a pass proves some cell safe). Marks `known` and queues safe cells; returns whether any cell
   * was proved safe.
   */
  #deduce(visible: Int8Array, known: Int8Array, eager: boolean): boolean {
    let foundSafe = false;
    const mark = (cells: number[], value: number): void => {
      for (const c of cells) {
        if (known[c] !== UNKNOWN) continue;
        known[c] = value;
        if (value === SAFE) {
          foundSafe = true;
          if (known === this.#known) this.#queue.push(c);
        }
      }
    };
    for (;;) {
      let changed = false;
      let constraints = this.#constraints(visible, known);
      for (const { cells, need } of constraints) {
        if (need === 0) mark(cells, SAFE);
        else if (need === cells.length) mark(cells, MINE);
        else continue;
        changed = true;
      }
      if (changed) {
        if (eager && foundSafe) return true;
        continue;
      }
      constraints = this.#constraints(visible, known);
      const byCell = new Map<number, number[]>();
      constraints.forEach((k, id) => {
        for (const c of k.cells) {
          const list = byCell.get(c);
          if (list) list.push(id);
          else byCell.set(c, [id]);
        }
      });
      for (let a = 0; a < constraints.length; a++) {
        const small = constraints[a];
        const seen = new Set<number>();
        for (const c of small.cells) {
          for (const b of byCell.get(c)!) {
            const big = constraints[b];
            if (b === a || seen.has(b) || big.cells.length <= small.cells.length) continue;
            seen.add(b);
            if (!small.cells.every((x) => big.cells.includes(x))) continue;
            const rest = big.cells.filter((x) => !small.cells.includes(x));
            const restNeed = big.need - small.need;
            if (restNeed === 0) mark(rest, SAFE);
            else if (restNeed === rest.length) mark(rest, MINE);
            else continue;
            changed = true;
          }
        }
      }
      if (!changed || (eager && foundSafe)) return foundSafe;
    }
  }

  /** Mine probabilities of every cell given `known` (which deduction has brought up to date). */
  #probabilities(visible: Int8Array, known: Int8Array): Float64Array {
    const n = this.#cells;
    const p = new Float64Array(n);
    const constraints = this.#constraints(visible, known);
    let remaining = this.mines;
    const isFrontier = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      if (visible[i] < 0 && known[i] === MINE) {
        remaining--;
        p[i] = 1;
      }
    }
    for (const k of constraints) for (const c of k.cells) isFrontier[c] = 1;
    const interior: number[] = [];
    for (let i = 0; i < n; i++) {
      if (visible[i] < 0 && known[i] === UNKNOWN && !isFrontier[i]) interior.push(i);
    }
    const components = this.#components(constraints, remaining);
    const I = interior.length;
    const R = remaining;
    // Interior weights w[t] ∝ C(I, t), scaled by their largest value to stay in range.
    const lf = this.#logFactorial;
    const logC = (t: number): number => lf[I] - lf[t] - lf[I - t];
    let ref = -Infinity;
    for (let t = 0; t <= Math.min(I, R); t++) ref = Math.max(ref, logC(t));
    const w = (t: number): number => (t >= 0 && t <= I ? Math.exp(logC(t) - ref) : 0);
    const convolve = (skip: number): Float64Array => {
      let d = new Float64Array(R + 1);
      d[0] = 1;
      components.forEach((comp, j) => {
        if (j === skip) return;
        const next = new Float64Array(R + 1);
        for (let s = 0; s <= R; s++) {
          if (d[s] === 0) continue;
          for (let m = 0; m < comp.counts.length && s + m <= R; m++) {
            next[s + m] += d[s] * comp.counts[m];
          }
        }
        d = next;
      });
      return d;
    };
    const all = convolve(-1);
    let total = 0;
    let interiorMines = 0;
    for (let s = 0; s <= R; s++) {
      total += all[s] * w(R - s);
      interiorMines += all[s] * w(R - s) * (R - s);
    }
    if (!(total > 0)) {
      throw new RangeError("Cannot compute mine probabilities: no layout fits the board");
    }
    for (const i of interior) p[i] = interiorMines / total / I;
    components.forEach((comp, j) => {
      const others = convolve(j);
      const size = comp.cells.length;
      // g[m]: the weight of everything outside this component when it holds m mines.
      const g = new Float64Array(comp.counts.length);
      let weight = 0;
      for (let m = 0; m < g.length; m++) {
        for (let s = 0; s + m <= R; s++) g[m] += others[s] * w(R - m - s);
        weight += comp.counts[m] * g[m];
      }
      for (let q = 0; q < size; q++) {
        let mass = 0;
        for (let m = 0; m < g.length; m++) mass += comp.cellCounts[m * size + q] * g[m];
        p[comp.cells[q]] = mass / weight;
      }
    });
    return p;
  }

  /** Splits the frontier into independent components and enumerates each. */
  #components(constraints: Constraint[], remaining: number): Component[] {
    const parent = new Map<number, number>();
    const find = (x: number): number => {
      let r = x;
      while (parent.get(r) !== r) r = parent.get(r)!;
      while (parent.get(x) !== r) {
        const next = parent.get(x)!;
        parent.set(x, r);
        x = next;
      }
      return r;
    };
    for (const k of constraints) {
      for (const c of k.cells) if (!parent.has(c)) parent.set(c, c);
      for (let i = 1; i < k.cells.length; i++) parent.set(find(k.cells[i]), find(k.cells[0]));
    }
    const groups = new Map<number, Constraint[]>();
    for (const k of constraints) {
      const root = find(k.cells[0]);
      const list = groups.get(root);
      if (list) list.push(k);
      else groups.set(root, [k]);
    }
    return [...groups.values()].map((group) => this.#enumerate(group, remaining));
  }

  /** Counts the consistent mine assignments of one component, by number of mines. */
  #enumerate(group: Constraint[], remaining: number): Component {
    // Order cells breadth-first through shared constraints so constraints close early.
    const order: number[] = [];
    const index = new Map<number, number>();
    const consOf = new Map<number, number[]>();
    group.forEach((k, id) => {
      for (const c of k.cells) {
        const list = consOf.get(c);
        if (list) list.push(id);
        else consOf.set(c, [id]);
      }
    });
    const queue = [group[0].cells[0]];
    index.set(queue[0], 0);
    while (queue.length > 0) {
      const c = queue.shift()!;
      order.push(c);
      for (const id of consOf.get(c)!) {
        for (const d of group[id].cells) {
          if (!index.has(d)) {
            index.set(d, index.size);
            queue.push(d);
          }
        }
      }
    }
    const size = order.length;
    const cellCons = order.map((c) => consOf.get(c)!);
    const need = group.map((k) => k.need);
    const placed = new Int32Array(group.length);
    const left = Int32Array.from(group, (k) => k.cells.length);
    const maxMines = Math.min(size, remaining);
    const counts = new Float64Array(maxMines + 1);
    const cellCounts = new Float64Array((maxMines + 1) * size);
    const assignment = new Uint8Array(size);
    let nodes = 0;
    const budget = this.#maxNodes;
    const search = (j: number, m: number): boolean => {
      if (++nodes > budget) return false;
      if (j === size) {
        counts[m]++;
        for (let q = 0; q < size; q++) if (assignment[q]) cellCounts[m * size + q]++;
        return true;
      }
      for (let v = 0; v <= 1; v++) {
        if (m + v > maxMines) break;
        let ok = true;
        for (const id of cellCons[j]) {
          placed[id] += v;
          left[id]--;
          if (placed[id] > need[id] || placed[id] + left[id] < need[id]) ok = false;
        }
        assignment[j] = v;
        const completed = !ok || search(j + 1, m + v);
        for (const id of cellCons[j]) {
          placed[id] -= v;
          left[id]++;
        }
        if (!completed) return false;
      }
      return true;
    };
    if (search(0, 0)) return { cells: order, counts, cellCounts };
    return this.#estimate(group, order, remaining);
  }

  /**
   * A component too large to enumerate: each cell's probability is the mean of need/size over its
   * constraints, and the component counts as one assignment holding the rounded expected mines.
   */
  #estimate(group: Constraint[], order: number[], remaining: number): Component {
    const sum = new Map<number, number>();
    const hits = new Map<number, number>();
    for (const k of group) {
      for (const c of k.cells) {
        sum.set(c, (sum.get(c) ?? 0) + k.need / k.cells.length);
        hits.set(c, (hits.get(c) ?? 0) + 1);
      }
    }
    const probs = order.map((c) => sum.get(c)! / hits.get(c)!);
    const expected = Math.min(remaining, Math.round(probs.reduce((a, b) => a + b, 0)));
    const size = order.length;
    const counts = new Float64Array(expected + 1);
    counts[expected] = 1;
    const cellCounts = new Float64Array((expected + 1) * size);
    probs.forEach((q, j) => cellCounts[expected * size + j] = q);
    return { cells: order, counts, cellCounts };
  }
}
