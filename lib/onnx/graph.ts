/**
 * A small builder for ONNX graphs: float32 initializers, typed inputs and outputs (with symbolic
 * dimensions such as `"batch"`), nodes, and helpers for the layers rnnrl exports — Gemm, the
 * activations, and an LSTM and a GRU that take rnnrl's weight layouts and write ONNX's.
 *
 * rnnrl's LSTM packs its gates (i, f, g, o) along the last axis: `w` is `[I, 4H]`, `u` is
 * `[H, 4H]` and the single bias `b` is `[4H]`. ONNX's `LSTM` operator orders them (i, o, f, c),
 * stores `W` as `[1, 4H, I]` and `R` as `[1, 4H, H]` (transposed), and splits the bias into
 * `B = [Wb ‖ Rb]` of shape `[1, 8H]`; {@linkcode toOnnxLstmWeights} does the conversion, putting
 * rnnrl's bias in `Wb` and zeros in `Rb`, which is exact.
 *
 * rnnrl's GRU already packs its gates in ONNX's order (z, r, h), with `w` `[I, 3H]`, `u`
 * `[H, 3H]` and two biases `bw` and `bu`, `[3H]` each; {@linkcode toOnnxGruWeights} transposes
 * `w` and `u` into `W [1,3H,I]` and `R [1,3H,H]` and concatenates `B = [bw ‖ bu]`, `[1, 6H]`.
 *
 * @module
 */

import {
  encodeOnnxModel,
  floatRawData,
  int64RawData,
  type OnnxAttribute,
  OnnxAttributeType,
  OnnxDataType,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from "./onnx_proto.ts";

/** The ONNX operator set the builder targets by default. */
export const DEFAULT_OPSET = 17;

/** The IR version that goes with opset 17 (ONNX 1.12). */
export const IR_VERSION = 8;

/** A tensor dimension: a fixed size, or a symbolic name fixed at run time (e.g. `"batch"`). */
export type OnnxDim = number | string;

/** The parameters of one LSTM layer in rnnrl's layout, gates packed (i, f, g, o). */
export interface OnnxLstmWeights {
  /** Input weights, `[I, 4H]` row-major. */
  w: Float32Array;
  /** Recurrent weights, `[H, 4H]` row-major. */
  u: Float32Array;
  /** Bias, `[4H]`. */
  b: Float32Array;
}

/** The LSTM parameters in ONNX's layout (one direction, gates i, o, f, c). */
export interface OnnxLstmTensors {
  /** `W`, `[1, 4H, I]`. */
  w: Float32Array;
  /** `R`, `[1, 4H, H]`. */
  r: Float32Array;
  /** `B = [Wb ‖ Rb]`, `[1, 8H]`. */
  b: Float32Array;
}

/** The parameters of one GRU layer in rnnrl's layout, gates packed (z, r, h). */
export interface OnnxGruWeights {
  /** Input weights, `[I, 3H]` row-major. */
  w: Float32Array;
  /** Recurrent weights, `[H, 3H]` row-major. */
  u: Float32Array;
  /** Input bias, `[3H]`. */
  bw: Float32Array;
  /** Recurrent bias, `[3H]`. */
  bu: Float32Array;
}

/** The GRU parameters in ONNX's layout (one direction, gates z, r, h). */
export interface OnnxGruTensors {
  /** `W`, `[1, 3H, I]`. */
  w: Float32Array;
  /** `R`, `[1, 3H, H]`. */
  r: Float32Array;
  /** `B = [Wb ‖ Rb]`, `[1, 6H]`. */
  b: Float32Array;
}

/** Options of {@linkcode OnnxGraphBuilder}. */
export interface OnnxGraphBuilderOptions {
  /** The graph name (default "rnnrl"). */
  name?: string;
  /** The producer written into the model (default "rnnrl"). */
  producerName?: string;
  /** The producer version (default ""). */
  producerVersion?: string;
  /** The ONNX operator set version (default {@linkcode DEFAULT_OPSET}). */
  opsetVersion?: number;
  /** Documentation stored in the model. */
  docString?: string;
}

/** Options of {@linkcode OnnxGraphBuilder.addNode}. */
export interface OnnxNodeOptions {
  /** The node name (default: a fresh name from the operator). */
  name?: string;
  /** The attributes; build them with {@linkcode intAttribute} and friends. */
  attributes?: OnnxAttribute[];
  /** The operator set domain (default "", the standard one). */
  domain?: string;
}

/** Options of the single-output helpers ({@linkcode OnnxGraphBuilder.relu} and friends). */
export interface OnnxOutputOptions {
  /** The output value name (default: a fresh name). */
  output?: string;
}

/** Options of {@linkcode OnnxGraphBuilder.gemm}: `y = x · w + b` for `x` of shape `[N, in]`. */
export interface OnnxGemmOptions extends OnnxOutputOptions {
  /** Weights `[inFeatures, outFeatures]` row-major (rnnrl's Dense layout). */
  w: Float32Array;
  /** Bias `[outFeatures]`; absent for none. */
  b?: Float32Array;
  /** The input width. */
  inFeatures: number;
  /** The output width. */
  outFeatures: number;
  /** A prefix for the initializer names (default: a fresh "dense" name). */
  prefix?: string;
}

/** Options of {@linkcode OnnxGraphBuilder.lstm}. */
export interface OnnxLstmOptions {
  /** The parameters, in rnnrl's layout. */
  weights: OnnxLstmWeights;
  /** The input width I. */
  inputSize: number;
  /** The hidden width H. */
  hiddenSize: number;
  /** The name of the initial hidden state `[1, B, H]`; absent for zeros. */
  initialH?: string;
  /** The name of the initial cell state `[1, B, H]`; absent for zeros. */
  initialC?: string;
  /** The name of `Y`, all hidden states `[T, 1, B, H]` (default: fresh). */
  y?: string;
  /** The name of `Y_h`, the last hidden state `[1, B, H]` (default: fresh). */
  yH?: string;
  /** The name of `Y_c`, the last cell state `[1, B, H]` (default: fresh). */
  yC?: string;
  /** A prefix for node and initializer names (default: a fresh "lstm" name). */
  prefix?: string;
}

/** Options of {@linkcode OnnxGraphBuilder.gru}. */
export interface OnnxGruOptions {
  /** The parameters, in rnnrl's layout. */
  weights: OnnxGruWeights;
  /** The input width I. */
  inputSize: number;
  /** The hidden width H. */
  hiddenSize: number;
  /** The node's `linear_before_reset` (rnnrl's GRU default is true, ONNX's false). */
  linearBeforeReset: boolean;
  /** The name of the initial hidden state `[1, B, H]`; absent for zeros. */
  initialH?: string;
  /** The name of `Y`, all hidden states `[T, 1, B, H]` (default: fresh). */
  y?: string;
  /** The name of `Y_h`, the last hidden state `[1, B, H]` (default: fresh). */
  yH?: string;
  /** A prefix for node and initializer names (default: a fresh "gru" name). */
  prefix?: string;
}

/** The value names a GRU node produces. */
export interface OnnxGruOutputs {
  /** All hidden states, `[T, 1, B, H]`. */
  y: string;
  /** The last hidden state, `[1, B, H]`. */
  yH: string;
}

/** The value names an LSTM node produces. */
export interface OnnxLstmOutputs {
  /** All hidden states, `[T, 1, B, H]`. */
  y: string;
  /** The last hidden state, `[1, B, H]`. */
  yH: string;
  /** The last cell state, `[1, B, H]`. */
  yC: string;
}

/**
 * An integer attribute.
 *
 * @example
 * ```ts
 * import { intAttribute } from "./graph.ts";
 * if (intAttribute("hidden_size", 4).i !== 4) throw new Error("int");
 * ```
 */
export function intAttribute(name: string, value: number): OnnxAttribute {
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`Cannot make attribute ${name}: ${value} is not an integer`);
  }
  return { name, type: OnnxAttributeType.INT, i: value };
}

/**
 * A float attribute.
 *
 * @example
 * ```ts
 * import { floatAttribute } from "./graph.ts";
 * if (floatAttribute("alpha", 0.5).f !== 0.5) throw new Error("float");
 * ```
 */
export function floatAttribute(name: string, value: number): OnnxAttribute {
  return { name, type: OnnxAttributeType.FLOAT, f: value };
}

/**
 * A list-of-integers attribute.
 *
 * @example
 * ```ts
 * import { intsAttribute } from "./graph.ts";
 * if (intsAttribute("perm", [1, 0]).ints?.length !== 2) throw new Error("ints");
 * ```
 */
export function intsAttribute(name: string, values: readonly number[]): OnnxAttribute {
  for (const value of values) {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`Cannot make attribute ${name}: ${value} is not an integer`);
    }
  }
  return { name, type: OnnxAttributeType.INTS, ints: [...values] };
}

/**
 * A list-of-floats attribute.
 *
 * @example
 * ```ts
 * import { floatsAttribute } from "./graph.ts";
 * if (floatsAttribute("activation_alpha", [1]).floats?.[0] !== 1) throw new Error("floats");
 * ```
 */
export function floatsAttribute(name: string, values: readonly number[]): OnnxAttribute {
  return { name, type: OnnxAttributeType.FLOATS, floats: [...values] };
}

/**
 * A UTF-8 string attribute.
 *
 * @example
 * ```ts
 * import { stringAttribute } from "./graph.ts";
 * if (stringAttribute("direction", "forward").s?.length !== 7) throw new Error("string");
 * ```
 */
export function stringAttribute(name: string, value: string): OnnxAttribute {
  return { name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(value) };
}

/**
 * A list-of-strings attribute.
 *
 * @example
 * ```ts
 * import { stringsAttribute } from "./graph.ts";
 * const a = stringsAttribute("activations", ["Sigmoid", "Tanh", "Tanh"]);
 * if (a.strings?.length !== 3) throw new Error("strings");
 * ```
 */
export function stringsAttribute(name: string, values: readonly string[]): OnnxAttribute {
  const encoder = new TextEncoder();
  return {
    name,
    type: OnnxAttributeType.STRINGS,
    strings: values.map((value) => encoder.encode(value)),
  };
}

// rnnrl's gate blocks are (i, f, g, o); ONNX's are (i, o, f, c). ONNX block k is rnnrl block
// ONNX_TO_RNNRL_GATE[k].
const ONNX_TO_RNNRL_GATE = [0, 3, 1, 2] as const;

/**
 * Converts LSTM parameters from rnnrl's layout (`w [I,4H]`, `u [H,4H]`, `b [4H]`, gates
 * i, f, g, o) to ONNX's (`W [1,4H,I]`, `R [1,4H,H]`, `B [1,8H]`, gates i, o, f, c). The bias
 * goes to `Wb`; `Rb` is zero.
 *
 * @param weights The parameters in rnnrl's layout.
 * @param inputSize The input width I.
 * @param hiddenSize The hidden width H.
 * @returns New arrays in ONNX's layout.
 * @throws {TypeError} When an array's length does not match I and H.
 *
 * @example
 * ```ts
 * import { toOnnxLstmWeights } from "./graph.ts";
 * // I = 1, H = 1: w holds one weight per gate, (i, f, g, o) = (1, 2, 3, 4).
 * const onnx = toOnnxLstmWeights({
 *   w: new Float32Array([1, 2, 3, 4]),
 *   u: new Float32Array(4),
 *   b: new Float32Array(4),
 * }, 1, 1);
 * if (onnx.w.join() !== "1,4,2,3") throw new Error("ONNX order is i, o, f, c");
 * ```
 */
export function toOnnxLstmWeights(
  weights: OnnxLstmWeights,
  inputSize: number,
  hiddenSize: number,
): OnnxLstmTensors {
  checkPositiveInteger("convert LSTM weights", "inputSize", inputSize);
  checkPositiveInteger("convert LSTM weights", "hiddenSize", hiddenSize);
  const h = hiddenSize;
  const g4 = 4 * h;
  checkLength("convert LSTM weights", "w", weights.w, inputSize * g4);
  checkLength("convert LSTM weights", "u", weights.u, h * g4);
  checkLength("convert LSTM weights", "b", weights.b, g4);
  const transposeGates = (source: Float32Array, rows: number): Float32Array => {
    // source[row, gate*H + j] -> out[onnxGate*H + j, row]
    const out = new Float32Array(g4 * rows);
    for (let k = 0; k < 4; k++) {
      const gate = ONNX_TO_RNNRL_GATE[k];
      for (let j = 0; j < h; j++) {
        const outRow = (k * h + j) * rows;
        const column = gate * h + j;
        for (let row = 0; row < rows; row++) out[outRow + row] = source[row * g4 + column];
      }
    }
    return out;
  };
  const b = new Float32Array(2 * g4);
  for (let k = 0; k < 4; k++) {
    const gate = ONNX_TO_RNNRL_GATE[k];
    b.set(weights.b.subarray(gate * h, gate * h + h), k * h);
  }
  return { w: transposeGates(weights.w, inputSize), r: transposeGates(weights.u, h), b };
}

/**
 * Converts GRU parameters from rnnrl's layout (`w [I,3H]`, `u [H,3H]`, `bw [3H]`, `bu [3H]`,
 * gates z, r, h) to ONNX's (`W [1,3H,I]`, `R [1,3H,H]`, `B [1,6H]`, the same gate order). The
 * conversion is exact: a transpose and a concatenation.
 *
 * @param weights The parameters in rnnrl's layout.
 * @param inputSize The input width I.
 * @param hiddenSize The hidden width H.
 * @returns New arrays in ONNX's layout.
 * @throws {TypeError} When an array's length does not match I and H.
 *
 * @example
 * ```ts
 * import { toOnnxGruWeights } from "./graph.ts";
 * // I = 2, H = 1: w is [2, 3], one column per gate (z, r, h).
 * const onnx = toOnnxGruWeights({
 *   w: new Float32Array([1, 2, 3, 4, 5, 6]),
 *   u: new Float32Array(3),
 *   bw: new Float32Array([7, 8, 9]),
 *   bu: new Float32Array([10, 11, 12]),
 * }, 2, 1);
 * if (onnx.w.join() !== "1,4,2,5,3,6") throw new Error("W is w transposed");
 * if (onnx.b.join() !== "7,8,9,10,11,12") throw new Error("B is [bw, bu]");
 * ```
 */
export function toOnnxGruWeights(
  weights: OnnxGruWeights,
  inputSize: number,
  hiddenSize: number,
): OnnxGruTensors {
  checkPositiveInteger("convert GRU weights", "inputSize", inputSize);
  checkPositiveInteger("convert GRU weights", "hiddenSize", hiddenSize);
  const g3 = 3 * hiddenSize;
  checkLength("convert GRU weights", "w", weights.w, inputSize * g3);
  checkLength("convert GRU weights", "u", weights.u, hiddenSize * g3);
  checkLength("convert GRU weights", "bw", weights.bw, g3);
  checkLength("convert GRU weights", "bu", weights.bu, g3);
  const transpose = (source: Float32Array, rows: number): Float32Array => {
    const out = new Float32Array(g3 * rows);
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < g3; col++) out[col * rows + row] = source[row * g3 + col];
    }
    return out;
  };
  const b = new Float32Array(2 * g3);
  b.set(weights.bw);
  b.set(weights.bu, g3);
  return { w: transpose(weights.w, inputSize), r: transpose(weights.u, hiddenSize), b };
}

/**
 * Builds an ONNX model node by node and encodes it.
 *
 * Value names are checked when the model is built: every node input must be a graph input, an
 * initializer or the output of an earlier node, every graph output must be produced, and no name
 * may be defined twice.
 *
 * @example
 * ```ts
 * import { OnnxGraphBuilder } from "./graph.ts";
 * const g = new OnnxGraphBuilder();
 * const x = g.addInput("x", ["batch", 2]);
 * const hidden = g.gemm(x, {
 *   w: new Float32Array([1, 0, 0, 1]),
 *   b: new Float32Array([0, 0]),
 *   inFeatures: 2,
 *   outFeatures: 2,
 * });
 * g.addOutput(g.relu(hidden, { output: "y" }), ["batch", 2]);
 * const bytes = g.encodeModel();
 * if (bytes.length === 0) throw new Error("encoded");
 * ```
 */
export class OnnxGraphBuilder {
  readonly #options: Required<OnnxGraphBuilderOptions>;
  readonly #inputs: OnnxValueInfo[] = [];
  readonly #outputs: OnnxValueInfo[] = [];
  readonly #initializers: OnnxTensor[] = [];
  readonly #nodes: OnnxNode[] = [];
  /** Every value or node name given out, so fresh names never collide. */
  readonly #names = new Set<string>();

  /** Creates an empty graph. */
  constructor(options: OnnxGraphBuilderOptions = {}) {
    const opsetVersion = options.opsetVersion ?? DEFAULT_OPSET;
    checkPositiveInteger("create ONNX graph", "opsetVersion", opsetVersion);
    this.#options = {
      name: options.name ?? "rnnrl",
      producerName: options.producerName ?? "rnnrl",
      producerVersion: options.producerVersion ?? "",
      opsetVersion,
      docString: options.docString ?? "",
    };
  }

  /**
   * Returns a name that no value or node of this graph uses yet: `prefix`, or `prefix_1`,
   * `prefix_2`, … The name is taken once a value or node is defined with it.
   *
   * @param prefix The start of the name.
   */
  freshName(prefix: string): string {
    let name = prefix;
    for (let k = 1; this.#names.has(name); k++) name = `${prefix}_${k}`;
    return name;
  }

  /**
   * Declares a float32 graph input.
   *
   * @param name The input name.
   * @param dims Its shape; strings are symbolic dimensions.
   * @returns The name.
   */
  addInput(name: string, dims: readonly OnnxDim[]): string {
    this.#reserve(name);
    this.#inputs.push(valueInfo(name, dims));
    return name;
  }

  /**
   * Declares a float32 graph output; some node must produce it.
   *
   * @param name The name of the value to output.
   * @param dims Its shape; strings are symbolic dimensions.
   * @returns The name.
   */
  addOutput(name: string, dims: readonly OnnxDim[]): string {
    if (this.#outputs.some((output) => output.name === name)) {
      throw new TypeError(`Cannot add ONNX output: ${name} is already an output`);
    }
    this.#outputs.push(valueInfo(name, dims));
    return name;
  }

  /**
   * Adds a constant float32 tensor. The data is copied.
   *
   * @param name The tensor name.
   * @param data The elements, row-major.
   * @param dims The shape; its product must be `data.length`.
   * @returns The name.
   */
  addInitializer(name: string, data: Float32Array, dims: readonly number[]): string {
    checkDims(`add initializer ${name}`, dims);
    checkLength(`add initializer ${name}`, "data", data, product(dims));
    this.#reserve(name);
    this.#initializers.push({
      name,
      dims: [...dims],
      dataType: OnnxDataType.FLOAT,
      rawData: floatRawData(data),
    });
    return name;
  }

  /**
   * Adds a constant int64 tensor (for shape and axes operands).
   *
   * @param name The tensor name.
   * @param data The elements, row-major; safe integers.
   * @param dims The shape; its product must be `data.length`.
   * @returns The name.
   */
  addInt64Initializer(name: string, data: readonly number[], dims: readonly number[]): string {
    checkDims(`add initializer ${name}`, dims);
    if (data.length !== product(dims)) {
      throw new TypeError(
        `Cannot add initializer ${name}: ${data.length} elements for shape [${dims}]`,
      );
    }
    this.#reserve(name);
    this.#initializers.push({
      name,
      dims: [...dims],
      dataType: OnnxDataType.INT64,
      rawData: int64RawData(data),
    });
    return name;
  }

  /**
   * Adds a node. Inputs may be `""` to skip an optional operand.
   *
   * @param opType The operator, e.g. `"Gemm"`.
   * @param inputs The names of its operands.
   * @param outputs The names of its results; each must be new.
   * @returns The output names.
   */
  addNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    options: OnnxNodeOptions = {},
  ): string[] {
    if (outputs.length === 0) throw new TypeError(`Cannot add ${opType} node: it has no outputs`);
    for (const output of outputs) this.#reserve(output);
    const name = options.name ?? this.freshName(opType.toLowerCase());
    this.#reserve(name);
    const node: OnnxNode = { name, opType, input: [...inputs], output: [...outputs] };
    if (options.domain !== undefined && options.domain !== "") node.domain = options.domain;
    if (options.attributes !== undefined && options.attributes.length > 0) {
      node.attribute = options.attributes.map((attribute) => ({ ...attribute }));
    }
    this.#nodes.push(node);
    return [...outputs];
  }

  /**
   * Adds a fully connected layer `y = x · w + b` as a `Gemm` node; `x` must be `[N, inFeatures]`.
   *
   * @param x The input name.
   * @returns The output name, `[N, outFeatures]`.
   */
  gemm(x: string, options: OnnxGemmOptions): string {
    const { inFeatures, outFeatures } = options;
    checkPositiveInteger("add Gemm", "inFeatures", inFeatures);
    checkPositiveInteger("add Gemm", "outFeatures", outFeatures);
    const prefix = this.#prefix(options.prefix, "dense");
    const w = this.addInitializer(`${prefix}.w`, options.w, [inFeatures, outFeatures]);
    const inputs = [x, w];
    if (options.b !== undefined) {
      inputs.push(this.addInitializer(`${prefix}.b`, options.b, [outFeatures]));
    }
    const output = options.output ?? this.freshName(`${prefix}.y`);
    return this.addNode("Gemm", inputs, [output], { name: `${prefix}.gemm` })[0];
  }

  /** Adds `Relu`. @returns The output name. */
  relu(x: string, options: OnnxOutputOptions = {}): string {
    return this.#unary("Relu", x, options);
  }

  /** Adds `Tanh`. @returns The output name. */
  tanh(x: string, options: OnnxOutputOptions = {}): string {
    return this.#unary("Tanh", x, options);
  }

  /** Adds `Sigmoid`. @returns The output name. */
  sigmoid(x: string, options: OnnxOutputOptions = {}): string {
    return this.#unary("Sigmoid", x, options);
  }

  /**
   * Adds `Squeeze` (opset 13 and later: axes as an int64 operand).
   *
   * @param x The input name.
   * @param axes The size-1 axes to remove.
   * @returns The output name.
   */
  squeeze(x: string, axes: readonly number[], options: OnnxOutputOptions = {}): string {
    const axesName = this.addInt64Initializer(this.freshName("axes"), axes, [axes.length]);
    const output = options.output ?? this.freshName(`${x}.squeezed`);
    return this.addNode("Squeeze", [x, axesName], [output])[0];
  }

  /**
   * Adds `Unsqueeze` (opset 13 and later: axes as an int64 operand).
   *
   * @param x The input name.
   * @param axes The axes of the output that are new size-1 axes.
   * @returns The output name.
   */
  unsqueeze(x: string, axes: readonly number[], options: OnnxOutputOptions = {}): string {
    const axesName = this.addInt64Initializer(this.freshName("axes"), axes, [axes.length]);
    const output = options.output ?? this.freshName(`${x}.unsqueezed`);
    return this.addNode("Unsqueeze", [x, axesName], [output])[0];
  }

  /**
   * Adds a forward ONNX `LSTM` node from parameters in rnnrl's layout. `x` is time-major
   * `[T, B, I]`; the initial states, when given, are `[1, B, H]`.
   *
   * @param x The input sequence name.
   * @returns The names of `Y [T,1,B,H]`, `Y_h [1,B,H]` and `Y_c [1,B,H]`.
   */
  lstm(x: string, options: OnnxLstmOptions): OnnxLstmOutputs {
    const { inputSize, hiddenSize } = options;
    const onnx = toOnnxLstmWeights(options.weights, inputSize, hiddenSize);
    const prefix = this.#prefix(options.prefix, "lstm");
    const w = this.addInitializer(`${prefix}.W`, onnx.w, [1, 4 * hiddenSize, inputSize]);
    const r = this.addInitializer(`${prefix}.R`, onnx.r, [1, 4 * hiddenSize, hiddenSize]);
    const b = this.addInitializer(`${prefix}.B`, onnx.b, [1, 8 * hiddenSize]);
    const outputs: OnnxLstmOutputs = {
      y: options.y ?? this.freshName(`${prefix}.Y`),
      yH: options.yH ?? this.freshName(`${prefix}.Y_h`),
      yC: options.yC ?? this.freshName(`${prefix}.Y_c`),
    };
    // Operands: X, W, R, B, sequence_lens (none), initial_h, initial_c. Trailing blanks dropped.
    const inputs = [x, w, r, b, "", options.initialH ?? "", options.initialC ?? ""];
    while (inputs[inputs.length - 1] === "") inputs.pop();
    this.addNode("LSTM", inputs, [outputs.y, outputs.yH, outputs.yC], {
      name: `${prefix}.lstm`,
      attributes: [
        intAttribute("hidden_size", hiddenSize),
        stringAttribute("direction", "forward"),
      ],
    });
    return outputs;
  }

  /**
   * Adds a forward ONNX `GRU` node from parameters in rnnrl's layout. `x` is time-major
   * `[T, B, I]`; the initial state, when given, is `[1, B, H]`.
   *
   * @param x The input sequence name.
   * @returns The names of `Y [T,1,B,H]` and `Y_h [1,B,H]`.
   */
  gru(x: string, options: OnnxGruOptions): OnnxGruOutputs {
    const { inputSize, hiddenSize } = options;
    const onnx = toOnnxGruWeights(options.weights, inputSize, hiddenSize);
    const prefix = this.#prefix(options.prefix, "gru");
    const w = this.addInitializer(`${prefix}.W`, onnx.w, [1, 3 * hiddenSize, inputSize]);
    const r = this.addInitializer(`${prefix}.R`, onnx.r, [1, 3 * hiddenSize, hiddenSize]);
    const b = this.addInitializer(`${prefix}.B`, onnx.b, [1, 6 * hiddenSize]);
    const outputs: OnnxGruOutputs = {
      y: options.y ?? this.freshName(`${prefix}.Y`),
      yH: options.yH ?? this.freshName(`${prefix}.Y_h`),
    };
    // Operands: X, W, R, B, sequence_lens (none), initial_h. Trailing blanks dropped.
    const inputs = [x, w, r, b, "", options.initialH ?? ""];
    while (inputs[inputs.length - 1] === "") inputs.pop();
    this.addNode("GRU", inputs, [outputs.y, outputs.yH], {
      name: `${prefix}.gru`,
      attributes: [
        intAttribute("hidden_size", hiddenSize),
        stringAttribute("direction", "forward"),
        intAttribute("linear_before_reset", options.linearBeforeReset ? 1 : 0),
      ],
    });
    return outputs;
  }

  /**
   * Assembles the model after checking that every value is defined before it is used.
   *
   * @returns The model as a plain object, ready for {@linkcode encodeOnnxModel}.
   * @throws {TypeError} When a node reads an undefined value or an output is never produced.
   */
  toModel(): OnnxModel {
    const defined = new Set<string>();
    for (const input of this.#inputs) defined.add(input.name ?? "");
    for (const tensor of this.#initializers) defined.add(tensor.name ?? "");
    this.#nodes.forEach((node) => {
      for (const input of node.input ?? []) {
        if (input !== "" && !defined.has(input)) {
          throw new TypeError(
            `Cannot build ONNX graph: node ${node.name} (${node.opType}) reads undefined value ${input}`,
          );
        }
      }
      for (const output of node.output ?? []) defined.add(output);
    });
    for (const output of this.#outputs) {
      if (!defined.has(output.name ?? "")) {
        throw new TypeError(`Cannot build ONNX graph: output ${output.name} is never produced`);
      }
    }
    const options = this.#options;
    return {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: options.opsetVersion }],
      producerName: options.producerName,
      producerVersion: options.producerVersion,
      docString: options.docString,
      graph: {
        name: options.name,
        node: this.#nodes.map((node) => ({ ...node })),
        initializer: [...this.#initializers],
        input: [...this.#inputs],
        output: [...this.#outputs],
      },
    };
  }

  /**
   * Builds and serializes the model.
   *
   * @returns The bytes of a `.onnx` file.
   */
  encodeModel(): Uint8Array {
    return encodeOnnxModel(this.toModel());
  }

  #unary(opType: string, x: string, options: OnnxOutputOptions): string {
    const output = options.output ?? this.freshName(`${x}.${opType.toLowerCase()}`);
    return this.addNode(opType, [x], [output])[0];
  }

  /** Reserves a fresh prefix for a layer's names, or checks the one the caller chose. */
  #prefix(chosen: string | undefined, fallback: string): string {
    const prefix = chosen ?? this.freshName(fallback);
    this.#reserve(prefix);
    return prefix;
  }

  #reserve(name: string): void {
    if (name === "") throw new TypeError("Cannot name an ONNX value: the name is empty");
    if (this.#names.has(name)) {
      throw new TypeError(`Cannot name an ONNX value: ${name} is already defined`);
    }
    this.#names.add(name);
  }
}

function valueInfo(name: string, dims: readonly OnnxDim[]): OnnxValueInfo {
  const dim = dims.map((d) => {
    if (typeof d === "string") {
      if (d === "") throw new TypeError(`Cannot declare ${name}: a symbolic dimension is empty`);
      return { dimParam: d };
    }
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`Cannot declare ${name}: dimension ${d} is not a size`);
    }
    return { dimValue: d };
  });
  return { name, type: { tensorType: { elemType: OnnxDataType.FLOAT, shape: { dim } } } };
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function checkDims(action: string, dims: readonly number[]): void {
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(`Cannot ${action}: dimension ${d} is not a size`);
    }
  }
}

function checkPositiveInteger(action: string, what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`Cannot ${action}: ${what} is ${value}`);
  }
}

function checkLength(action: string, what: string, data: Float32Array, expected: number): void {
  if (!(data instanceof Float32Array)) {
    throw new TypeError(`Cannot ${action}: ${what} is not a Float32Array`);
  }
  if (data.length !== expected) {
    throw new TypeError(
      `Cannot ${action}: ${what} has ${data.length} elements, expected ${expected}`,
    );
  }
}
