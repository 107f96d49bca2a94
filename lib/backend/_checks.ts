/**
 * Argument checks shared by every backend, so that each op rejects the same inputs with the same
 * message whichever backend runs it.
 *
 * @module
 */

import {
  type Activation,
  ACTIVATIONS,
  formatShape,
  type GruWeights,
  type LstmWeights,
  type MatmulOptions,
  type Tensor,
} from "./backend.ts";

/** Throws a TypeError unless `t` has exactly `shape`. */
export function expectShape(t: Tensor, shape: readonly number[], what: string): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new TypeError(
      `Cannot use ${what}: expected shape ${formatShape(shape)}, got ${formatShape(t.shape)}`,
    );
  }
}

/** Throws a TypeError, naming both shapes, unless `a` and `b` have the same shape. */
export function expectSameShape(a: Tensor, b: Tensor, what: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new TypeError(
      `Cannot ${what}: shapes are ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
}

/** Throws a RangeError unless `low <= high` (so neither is NaN); infinite bounds are fine. */
export function expectBounds(low: number, high: number, what: string): void {
  if (!(typeof low === "number" && typeof high === "number" && low <= high)) {
    throw new RangeError(`Cannot ${what}: bounds are ${low} and ${high}, expected low <= high`);
  }
}

/** Throws a TypeError unless `a` and `b` hold as many elements. */
export function expectSameSize(a: Tensor, b: Tensor, what: string): void {
  if (a.size !== b.size) throw new TypeError(`Cannot ${what}: sizes are ${a.size} and ${b.size}`);
}

/** Checks that `src` fits into `dst` from element `offset` on (a whole number). */
export function expectCopyRange(dst: Tensor, src: Tensor, offset: number): void {
  if (!(Number.isInteger(offset) && offset >= 0 && offset + src.size <= dst.size)) {
    throw new RangeError(
      `Cannot copy ${src.size} values into a tensor of ${dst.size} at offset ${offset}`,
    );
  }
}

/** The rows and columns of a rank-2 tensor; a TypeError for any other rank. */
export function matrixDims(t: Tensor, what: string): [number, number] {
  if (t.shape.length !== 2) {
    throw new TypeError(`Cannot use ${what} as a matrix: shape is ${formatShape(t.shape)}`);
  }
  return [t.shape[0], t.shape[1]];
}

/** Throws unless `count` is a whole number ≥ 0 (the length of a tensor `op` makes). */
export function expectCount(count: number, op: string): void {
  if (!(Number.isInteger(count) && count >= 0)) {
    throw new RangeError(`Cannot make ${op} of ${count} values: expected a whole number >= 0`);
  }
}

/** Throws a RangeError for an activation the backends do not know. */
export function expectActivation(activation: Activation): void {
  if (!ACTIVATIONS.includes(activation)) {
    throw new RangeError(`Cannot apply activation "${activation}"`);
  }
}

/** Checks the operands of a matmul and returns its sizes: `op(A)` is m×k, `op(B)` is k×n. */
export function matmulDims(
  a: Tensor,
  b: Tensor,
  options: MatmulOptions,
): { m: number; n: number; k: number } {
  const [ar, ac] = matrixDims(a, "the left operand");
  const [br, bc] = matrixDims(b, "the right operand");
  const m = options.transposeA ? ac : ar;
  const k = options.transposeA ? ar : ac;
  const kb = options.transposeB ? bc : br;
  const n = options.transposeB ? br : bc;
  if (k !== kb) throw new TypeError(`Cannot multiply matrices: inner sizes are ${k} and ${kb}`);
  if (options.bias) expectShape(options.bias, [n], "the bias");
  expectActivation(options.activation ?? "linear");
  return { m, n, k };
}

/** Checks the arguments of an LSTM forward pass and returns its sizes. */
export function lstmDims(
  x: Tensor,
  h0: Tensor,
  c0: Tensor,
  weights: LstmWeights,
  mask?: Tensor,
): { steps: number; batch: number; inputs: number; hidden: number } {
  if (x.shape.length !== 3) {
    throw new TypeError(
      `Cannot run the LSTM: input must be [T, B, I], got ${formatShape(x.shape)}`,
    );
  }
  const [steps, batch, inputs] = x.shape;
  const hidden = weights.u.shape[0];
  const g4 = 4 * hidden;
  expectShape(weights.w, [inputs, g4], "the LSTM input weights");
  expectShape(weights.u, [hidden, g4], "the LSTM recurrent weights");
  expectShape(weights.b, [g4], "the LSTM bias");
  expectShape(h0, [batch, hidden], "the initial hidden state");
  expectShape(c0, [batch, hidden], "the initial cell state");
  if (mask) expectShape(mask, [steps, batch], "the LSTM mask");
  return { steps, batch, inputs, hidden };
}

/** Checks the arguments of a GRU forward pass and returns its sizes. */
export function gruDims(
  x: Tensor,
  h0: Tensor,
  weights: GruWeights,
  mask?: Tensor,
): { steps: number; batch: number; inputs: number; hidden: number } {
  if (x.shape.length !== 3) {
    throw new TypeError(`Cannot run the GRU: input must be [T, B, I], got ${formatShape(x.shape)}`);
  }
  const [steps, batch, inputs] = x.shape;
  const hidden = weights.u.shape[0];
  const g3 = 3 * hidden;
  expectShape(weights.w, [inputs, g3], "the GRU input weights");
  expectShape(weights.u, [hidden, g3], "the GRU recurrent weights");
  expectShape(weights.bw, [g3], "the GRU input bias");
  expectShape(weights.bu, [g3], "the GRU recurrent bias");
  expectShape(h0, [batch, hidden], "the initial hidden state");
  if (mask) expectShape(mask, [steps, batch], "the GRU mask");
  return { steps, batch, inputs, hidden };
}

/** Checks the arguments of a GRU backward pass against its cache and returns its sizes. */
export function gruBackwardDims(
  cache: { x: Tensor; gates: Tensor },
  weights: GruWeights,
  dh: Tensor,
  dhLast?: Tensor,
): { steps: number; batch: number; inputs: number; hidden: number } {
  const [steps, batch, inputs] = cache.x.shape;
  const hidden = weights.u.shape[0];
  const g3 = 3 * hidden;
  expectShape(weights.w, [inputs, g3], "the GRU input weights");
  expectShape(weights.u, [hidden, g3], "the GRU recurrent weights");
  expectShape(cache.gates, [steps, batch, g3], "the GRU cache");
  expectShape(dh, [steps, batch, hidden], "the GRU output gradient");
  if (dhLast) expectShape(dhLast, [batch, hidden], "the final hidden-state gradient");
  return { steps, batch, inputs, hidden };
}

/** Checks that every list holds one tensor per parameter, each of the parameter's size. */
export function expectLists(what: string, params: Tensor[], ...others: Tensor[][]): void {
  for (const list of others) {
    if (list.length !== params.length) {
      throw new TypeError(
        `Cannot ${what}: ${params.length} parameters but a list of ${list.length} tensors`,
      );
    }
  }
  params.forEach((p, k) => {
    for (const list of others) expectSameSize(p, list[k], what);
  });
}

/** The sizes of an embedding op, as {@linkcode embeddingDims} derives and checks them. */
export interface EmbeddingDims {
  /** Rows R. */
  rows: number;
  /** Input columns I. */
  inputs: number;
  /** Id columns L (the first L of I). */
  ids: number;
  /** Passed-through columns I − L. */
  passed: number;
  /** The vocabulary V. */
  vocabulary: number;
  /** The embedding size E. */
  size: number;
  /** Output columns L·E + I − L. */
  outputs: number;
}

/**
 * Checks the operands of an embedding op: `x` `[R, I]` with `ids` in 1..I, and either the table
 * `[V, E]` (forward) or the upstream gradient `[R, L·E + I − L]` and the vocabulary (backward).
 */
export function embeddingDims(
  x: Tensor,
  ids: number,
  table: { table: Tensor } | { dOutput: Tensor; vocabulary: number },
): EmbeddingDims {
  const [rows, inputs] = matrixDims(x, "the embedding input");
  if (!(Number.isSafeInteger(ids) && ids >= 1 && ids <= inputs)) {
    throw new RangeError(
      `Cannot look up embeddings: ids is ${ids}, expected an integer in 1..${inputs}`,
    );
  }
  const passed = inputs - ids;
  if ("table" in table) {
    const [vocabulary, size] = matrixDims(table.table, "the embedding table");
    return { rows, inputs, ids, passed, vocabulary, size, outputs: ids * size + passed };
  }
  const vocabulary = table.vocabulary;
  if (!(Number.isSafeInteger(vocabulary) && vocabulary >= 1)) {
    throw new RangeError(
      `Cannot back-propagate embeddings: the vocabulary is ${vocabulary}, expected a positive integer`,
    );
  }
  const [gradRows, outputs] = matrixDims(table.dOutput, "the embedding gradient");
  const size = (outputs - passed) / ids;
  if (gradRows !== rows || !(Number.isInteger(size) && size >= 1)) {
    throw new TypeError(
      `Cannot back-propagate embeddings: the gradient has shape ${
        formatShape(table.dOutput.shape)
      }, expected [${rows}, ${ids}·E + ${passed}]`,
    );
  }
  return { rows, inputs, ids, passed, vocabulary, size, outputs };
}
