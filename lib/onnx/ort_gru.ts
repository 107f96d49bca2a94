/**
 * Runs one GRU layer, given in rnnrl's layout, through onnxruntime-web's ONNX `GRU` operator:
 * an implementation nobody here wrote, for checking rnnrl's own forward pass against it.
 *
 * @module
 */

import { OnnxGraphBuilder, type OnnxGruWeights } from "./graph.ts";
import { createOrtSession } from "./runtime.ts";

/** Options of {@linkcode runOrtGru}. */
export interface RunOrtGruOptions {
  /** The number of time steps T. */
  steps: number;
  /** The batch size B. */
  batch: number;
  /** The input width I. */
  inputSize: number;
  /** The hidden width H. */
  hiddenSize: number;
  /** The operator's `linear_before_reset` (default true, rnnrl's GRU default). */
  linearBeforeReset?: boolean;
  /** The initial hidden state `[B, H]`; absent, the operator's `initial_h` is left out (zeros). */
  h0?: Float32Array;
}

/** What {@linkcode runOrtGru} returns. */
export interface RunOrtGruResult {
  /** The hidden state after every step, `[T, B, H]`. */
  h: Float32Array;
  /** The final hidden state, `[B, H]`. */
  hLast: Float32Array;
}

/**
 * Runs a GRU over a time-major sequence in onnxruntime-web (wasm, float32).
 *
 * @param weights The parameters in rnnrl's layout: `w [I,3H]`, `u [H,3H]`, `bw [3H]`,
 * `bu [3H]`, gates (z, r, h).
 * @param x The input sequence, `[T, B, I]`.
 * @returns All hidden states and the final one.
 * @throws {TypeError} When an array's length does not match the shape.
 *
 * @example
 * ```ts
 * import { runOrtGru } from "./ort_gru.ts";
 * const H = 2, I = 3;
 * const zeros = (n: number) => new Float32Array(n);
 * const out = await runOrtGru(
 *   { w: zeros(I * 3 * H), u: zeros(H * 3 * H), bw: zeros(3 * H), bu: zeros(3 * H) },
 *   new Float32Array(I),
 *   { steps: 1, batch: 1, inputSize: I, hiddenSize: H, h0: Float32Array.of(1, -1) },
 * );
 * // Zero weights: z = 0.5 and the candidate tanh(0) = 0, so h = 0.5 · h0.
 * if (out.hLast.join() !== "0.5,-0.5") throw new Error("h = z ⊙ h0");
 * ```
 */
export async function runOrtGru(
  weights: OnnxGruWeights,
  x: Float32Array,
  options: RunOrtGruOptions,
): Promise<RunOrtGruResult> {
  const { steps, batch, inputSize, hiddenSize } = options;
  for (const [what, value] of Object.entries({ steps, batch, inputSize, hiddenSize })) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`Cannot run ONNX GRU: ${what} is ${value}`);
    }
  }
  const expect = (what: string, data: Float32Array, size: number) => {
    if (!(data instanceof Float32Array) || data.length !== size) {
      throw new TypeError(
        `Cannot run ONNX GRU: ${what} has ${data.length} elements, expected ${size}`,
      );
    }
  };
  expect("x", x, steps * batch * inputSize);
  if (options.h0) expect("h0", options.h0, batch * hiddenSize);

  const g = new OnnxGraphBuilder({ name: "gru" });
  g.addInput("x", [steps, batch, inputSize]);
  if (options.h0) g.addInput("h0", [1, batch, hiddenSize]);
  const out = g.gru("x", {
    weights,
    inputSize,
    hiddenSize,
    linearBeforeReset: options.linearBeforeReset ?? true,
    initialH: options.h0 ? "h0" : undefined,
    y: "y",
    yH: "y_h",
  });
  g.addOutput(out.y, [steps, 1, batch, hiddenSize]);
  g.addOutput(out.yH, [1, batch, hiddenSize]);

  const session = await createOrtSession(g.encodeModel());
  try {
    const feeds = { x: { data: x, dims: [steps, batch, inputSize] } };
    const result = await session.run(
      options.h0 ? { ...feeds, h0: { data: options.h0, dims: [1, batch, hiddenSize] } } : feeds,
    );
    // Y is [T, 1, B, H]: with one direction its memory is exactly [T, B, H].
    return { h: Float32Array.from(result.y.data), hLast: Float32Array.from(result.y_h.data) };
  } finally {
    await session.release();
  }
}
