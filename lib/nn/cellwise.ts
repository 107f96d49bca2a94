/**
 * A translation-invariant layer for boards: one small MLP, shared by every cell, scores each cell
 * from its square neighbourhood. It is a convolution in effect (the first Dense layer is a
 * `(2r + 1)×(2r + 1)` kernel, the others 1×1), so every board teaches the shared weights once per
 * cell.
 *
 * @module
 */

import {
  type Activation,
  ACTIVATIONS,
  type Backend,
  checkPatchOptions,
  type Tensor,
} from "../backend/backend.ts";
import type { Rng } from "../io/rng.ts";
import { Dense } from "./dense.ts";
import type { ForwardOptions, Layer, LayerBackward, LayerConfig, LayerForward } from "./layer.ts";
import type { Parameter } from "./parameter.ts";

/** Options of {@linkcode Cellwise}. */
export interface CellwiseOptions {
  /** Rows of the board. */
  height: number;
  /** Columns of the board. */
  width: number;
  /** How far each cell's neighbourhood reaches: a side of `2·radius + 1` cells. */
  radius: number;
  /** Sizes of the shared hidden layers (default none: a linear map of the patch). */
  hidden?: number[];
  /** The hidden layers' activation (default "relu"); the last layer is linear. */
  activation?: Activation;
}

/**
 * Scores every cell of a board with one shared MLP over the cell's neighbourhood. The input is
 * `[B, C·H·W]` channel-major (channel c of cell i at `c·H·W + i`, Minesweeper's one-hot layout);
 * each cell's `(2r + 1)²` neighbours, with an "outside the board" flag each (see
 * {@linkcode Backend.unfoldPatches}), go through the hidden Dense layers and a last Dense layer of
 * one unit, giving the output `[B, H·W]`: one value per cell, e.g. the Q-value of clicking it.
 * Leading axes other than the last are treated as a batch.
 *
 * @example
 * ```ts
 * import { Cellwise, createCpuBackend, Sequential } from "@rnnrl/rnnrl";
 * const model = new Sequential(createCpuBackend(), {
 *   inputSize: 2 * 3 * 4, // 2 channels on a 3×4 board
 *   layers: [new Cellwise({ height: 3, width: 4, radius: 1, hidden: [8] })],
 *   seed: 1,
 * });
 * const { output } = model.forward(model.backend.zeros([5, 24]));
 * if (output.shape.join() !== "5,12") throw new Error("one value per cell expected");
 * ```
 */
export class Cellwise implements Layer {
  /** Cellwise layers carry no state. */
  readonly recurrent: boolean = false;
  /** No state. */
  readonly stateNames: readonly string[] = [];
  /** No state. */
  readonly stateSizes: readonly number[] = [];
  /** Rows of the board. */
  readonly height: number;
  /** Columns of the board. */
  readonly width: number;
  /** The neighbourhood's reach. */
  readonly radius: number;
  /** Sizes of the shared hidden layers. */
  readonly hidden: readonly number[];
  /** The hidden layers' activation. */
  readonly activation: Activation;
  /** The shared per-cell layers, the hidden ones then one linear unit. */
  readonly cellLayers: readonly Dense[];
  #backend: Backend | null = null;
  #channels = 0;
  #rows = 0; // boards of the last training forward; 0: none cached, −1: forwardPatches

  /** Describes the layer; {@linkcode Sequential} builds it. */
  constructor(options: CellwiseOptions) {
    checkPatchOptions(options, "make a Cellwise layer");
    const { height, width, radius } = options;
    const hidden = options.hidden ?? [];
    if (!Array.isArray(hidden) || !hidden.every((h) => Number.isSafeInteger(h) && h >= 1)) {
      throw new RangeError(
        `Cannot make a Cellwise layer: hidden sizes must be positive integers, got ${
          JSON.stringify(hidden)
        }`,
      );
    }
    const activation = options.activation ?? "relu";
    if (!ACTIVATIONS.includes(activation)) {
      throw new RangeError(
        `Cannot make a Cellwise layer: activation must be one of ${
          ACTIVATIONS.join(", ")
        }, got ${activation}`,
      );
    }
    this.height = height;
    this.width = width;
    this.radius = radius;
    this.hidden = Object.freeze([...hidden]);
    this.activation = activation;
    this.cellLayers = [
      ...hidden.map((units) => new Dense({ units, activation })),
      new Dense({ units: 1 }),
    ];
  }

  /** One output per cell: `height · width`. */
  get units(): number {
    return this.height * this.width;
  }

  /** The channels per cell; valid after {@linkcode Cellwise.build}. */
  get channels(): number {
    return this.#channels;
  }

  /** Features of one cell's patch: `(2r + 1)² · (channels + 1)`. */
  get patchSize(): number {
    const side = 2 * this.radius + 1;
    return side * side * (this.#channels + 1);
  }

  /** The shared layers' weights and biases, first layer first. */
  get parameters(): readonly Parameter[] {
    return this.cellLayers.flatMap((l) => l.parameters);
  }

  /** The serialisable description. */
  get config(): LayerConfig {
    return {
      type: "cellwise",
      height: this.height,
      width: this.width,
      radius: this.radius,
      hidden: [...this.hidden],
      activation: this.activation,
    };
  }

  /**
   * Builds the shared layers for a patch of the input's channels.
   *
   * @throws {RangeError} When `inputSize` is not a whole number of channels of the board.
   */
  build(backend: Backend, inputSize: number, rng: Rng, prefix: string): void {
    const cells = this.height * this.width;
    const channels = inputSize / cells;
    if (!(Number.isInteger(channels) && channels >= 1)) {
      throw new RangeError(
        `Cannot build a Cellwise layer: ${inputSize} inputs are not a whole number of channels of a ${this.height}×${this.width} board`,
      );
    }
    this.#backend = backend;
    this.#channels = channels;
    let size = this.patchSize;
    this.cellLayers.forEach((layer, k) => {
      layer.build(backend, size, rng, `${prefix}.${k}`);
      size = layer.units;
    });
  }

  /** Cellwise layers have no state. */
  initialState(_batch: number): undefined {
    return undefined;
  }

  /** Scores every cell: `[..., C·H·W]` → `[..., H·W]`. */
  forward(input: Tensor, _state: undefined, options: ForwardOptions): LayerForward {
    const backend = this.#requireBuilt();
    const inputSize = this.#channels * this.units;
    if (input.shape[input.shape.length - 1] !== inputSize) {
      throw new TypeError(
        `Cannot apply a Cellwise layer: expected ${inputSize} input features, got shape [${
          input.shape.join(", ")
        }]`,
      );
    }
    const lead = input.shape.slice(0, -1);
    const rows = input.size / inputSize;
    const board = backend.reshape(input, [rows, inputSize]);
    let x = backend.unfoldPatches(board, this);
    backend.dispose(board);
    this.clearCache();
    for (const layer of this.cellLayers) {
      // Each Dense keeps its own handles for backward, so its input can go now.
      const y = layer.forward(x, undefined, options).output;
      backend.dispose(x);
      x = y;
    }
    const output = backend.reshape(x, [...lead, this.units]);
    backend.dispose(x);
    if (options.training) this.#rows = rows;
    return { output };
  }

  /** Back-propagates through the shared layers and folds the patch gradients onto the input. */
  backward(dOutput: Tensor): LayerBackward {
    const backend = this.#requireBuilt();
    if (this.#rows <= 0) {
      throw new Error("Cannot run Cellwise backward: no training forward pass to back-propagate");
    }
    if (dOutput.size !== this.#rows * this.units) {
      throw new TypeError(
        `Cannot run Cellwise backward: the gradient has ${dOutput.size} values, expected ${
          this.#rows * this.units
        }`,
      );
    }
    let d = backend.reshape(dOutput, [this.#rows * this.units, 1]);
    for (let k = this.cellLayers.length - 1; k >= 0; k--) {
      const next = this.cellLayers[k].backward(d).dInput;
      backend.dispose(d);
      d = next;
    }
    const folded = backend.foldPatches(d, this);
    backend.dispose(d);
    const dInput = backend.reshape(folded, [
      ...dOutput.shape.slice(0, -1),
      this.#channels * this.units,
    ]);
    backend.dispose(folded);
    return { dInput };
  }

  /**
   * The patch of one chosen cell per board, computed on the CPU: row n is the row
   * `n·H·W + cells[n]` of {@linkcode Backend.unfoldPatches} of `boards`. With
   * {@linkcode Cellwise.forwardPatches}, it scores only the cells a loss needs (a Q-learning update
   * needs Q(s, a) of the taken cell alone) at `1/(H·W)` of the cost of scoring whole boards.
   *
   * @param boards `N` boards, `[N, C·H·W]` flat, channel-major.
   * @param cells One cell index per board.
   * @returns The patches, `[N, patchSize]` flat.
   */
  patchesAt(boards: ArrayLike<number>, cells: ArrayLike<number>): Float32Array {
    this.#requireBuilt();
    const C = this.#channels, H = this.height, W = this.width, r = this.radius;
    const cellCount = H * W, side = 2 * r + 1, F = this.patchSize, n = cells.length;
    if (boards.length !== n * C * cellCount) {
      throw new TypeError(
        `Cannot take patches: ${boards.length} values are not ${n} boards of ${C * cellCount}`,
      );
    }
    const out = new Float32Array(n * F);
    for (let b = 0; b < n; b++) {
      const cell = cells[b];
      if (!(Number.isInteger(cell) && cell >= 0 && cell < cellCount)) {
        throw new RangeError(`Cannot take patches: cell ${cell} is not in 0..${cellCount - 1}`);
      }
      const y = Math.floor(cell / W), x = cell % W;
      for (let k = 0; k < side * side; k++) {
        const yy = y + Math.floor(k / side) - r, xx = x + (k % side) - r;
        const at = b * F + k * (C + 1);
        if (yy < 0 || yy >= H || xx < 0 || xx >= W) {
          out[at + C] = 1;
          continue;
        }
        const j = b * C * cellCount + yy * W + xx;
        for (let c = 0; c < C; c++) out[at + c] = boards[j + c * cellCount];
      }
    }
    return out;
  }

  /**
   * Runs the shared layers on patches (`[N, patchSize]`, e.g. from {@linkcode Cellwise.patchesAt})
   * and returns one value per patch, `[N, 1]`. In training, {@linkcode Cellwise.backwardPatches}
   * back-propagates it.
   */
  forwardPatches(patches: Tensor, options: ForwardOptions): Tensor {
    const backend = this.#requireBuilt();
    this.clearCache();
    let x = patches;
    for (const layer of this.cellLayers) {
      const y = layer.forward(x, undefined, options).output;
      if (x !== patches) backend.dispose(x);
      x = y;
    }
    if (options.training) this.#rows = -1; // patch mode: only backwardPatches applies
    return x;
  }

  /**
   * Back-propagates the last training {@linkcode Cellwise.forwardPatches}: stores the parameter
   * gradients and returns the gradient with respect to the patches.
   */
  backwardPatches(dOutput: Tensor): Tensor {
    const backend = this.#requireBuilt();
    if (this.#rows !== -1) {
      throw new Error(
        "Cannot run Cellwise backwardPatches: no training forwardPatches to back-propagate",
      );
    }
    let d = dOutput;
    for (let k = this.cellLayers.length - 1; k >= 0; k--) {
      const next = this.cellLayers[k].backward(d).dInput;
      if (d !== dOutput) backend.dispose(d);
      d = next;
    }
    return d;
  }

  /** Releases what the shared layers cached. */
  clearCache(): void {
    for (const layer of this.cellLayers) layer.clearCache();
    this.#rows = 0;
  }

  #requireBuilt(): Backend {
    if (!this.#backend) throw new Error("Cannot use a Cellwise layer before it is built");
    return this.#backend;
  }
}
