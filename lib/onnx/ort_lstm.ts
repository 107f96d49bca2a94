/**
 * Runs one LSTM layer, given in rnnrl's layout, through onnxruntime-web's ONNX `LSTM` operator:
 * an implementation nobody here wrote, for checking rnnrl's own forward pass against it.
 *
 * @module
 */

import { OnnxGraphBuilder, type OnnxLstmWeights } from "./graph.ts";
import { createOrtSession } from "./runtime.ts";

/** Options of {@linkcode runOrtLstm}. */
export interface RunOrtLstmOptions {
  /** The number of time steps T. */
  steps: number;
  /** The batch size B. */
  batch: number;
  /** The input width I. */
  inputSize: number;
  /** The hidden width H. */
  hiddenSize: number;
  /** The initial hidden state `[B, H]` (default zeros). */
  h0?: Float32Array;
  /** The initial cell state `[B, H]` (default zeros). */
  c0?: Float32Array;
}

/** What {@linkcode runOrtLstm} returns. */
export interface RunOrtLstmResult {
  /** The hidden state after every step, `[T, B, H]`. */
  h: Float32Array;
  /** The final hidden state, `[B, H]`. */
  hLast: Float32Array;
  /** The final cell state, `[B, H]`. */
  cLast: Float32Array;
}

/**
 * Runs an LSTM over a time-major sequence in onnxruntime-web (wasm, float32).
 *
 * @param weights The parameters in rnnrl's layout: `w [I,4H]`, `u [H,4H]`, `b [4H]`, gates
 * (i, f, g, o).
 * @param x The input sequence, `[T, B, I]`.
 * @returns All hidden states and the final hidden and cell states.
 * @throws {TypeError} When an array's length does not match the shape.
 *
 * @example
 * ```ts
 * import { runOrtLstm } from "./ort_lstm.ts";
 * const H = 2, I = 3;
 * const out = await runOrtLstm(
 *   { w: new Float32Array(I * 4 * H), u: new Float32Array(H * 4 * H), b: new Float32Array(4 * H) },
 *   new Float32Array(I),
 *   { steps: 1, batch: 1, inputSize: I, hiddenSize: H },
 * );
 * // Zero weights: every gate is sigmoid(0) = 0.5 or tanh(0) = 0, so c = 0 and h = 0.
 * if (out.hLast.some((v) => v !== 0)) throw new Error("zero weights give zero state");
 * ```
 */
export async function runOrtLstm(
  weights: OnnxLstmWeights,
  x: Float32Array,
  options: RunOrtLstmOptions,
): Promise<RunOrtLstmResult> {
  const { steps, batch, inputSize, hiddenSize } = options;
  for (const [what, value] of Object.entries({ steps, batch, inputSize, hiddenSize })) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Cannot run ONNX LSTM: ${what} is ${value}`);
    }
  }
  const stateSize = batch * hiddenSize;
  const h0 = options.h0 ?? new Float32Array(stateSize);
  const c0 = options.c0 ?? new Float32Array(stateSize);
  const expect = (what: string, data: Float32Array, size: number) => {
    if (!(data instanceof Float32Array) || data.length !== size) {
      throw new TypeError(
        `Cannot run ONNX LSTM: ${what} has ${data.length} elements, expected ${size}`,
      );
    }
  };
  expect("x", x, steps * batch * inputSize);
  expect("h0", h0, stateSize);
  expect("c0", c0, stateSize);

  const g = new OnnxGraphBuilder({ name: "lstm" });
  g.addInput("x", [steps, batch, inputSize]);
  g.addInput("h0", [1, batch, hiddenSize]);
  g.addInput("c0", [1, batch, hiddenSize]);
  const out = g.lstm("x", {
    weights,
    inputSize,
    hiddenSize,
    initialH: "h0",
    initialC: "c0",
    y: "y",
    yH: "y_h",
    yC: "y_c",
  });
  g.addOutput(out.y, [steps, 1, batch, hiddenSize]);
  g.addOutput(out.yH, [1, batch, hiddenSize]);
  g.addOutput(out.yC, [1, batch, hiddenSize]);

  const session = await createOrtSession(g.encodeModel());
  try {
    const result = await session.run({
      x: { data: x, dims: [steps, batch, inputSize] },
      h0: { data: h0, dims: [1, batch, hiddenSize] },
      c0: { data: c0, dims: [1, batch, hiddenSize] },
    });
    // Y is [T, 1, B, H]: with one direction its memory is exactly [T, B, H].
    return {
      h: Float32Array.from(result.y.data),
      hLast: Float32Array.from(result.y_h.data),
      cLast: Float32Array.from(result.y_c.data),
    };
  } finally {
    await session.release();
  }
}
