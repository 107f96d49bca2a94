/**
 * Exports a {@linkcode Sequential} model to ONNX (opset 17).
 *
 * Dense layers become `Gemm` (feed-forward models) or `MatMul` + `Add` (recurrent models, whose
 * Dense layers apply to `[T, B, H]` sequences), activations become `Relu`, `Tanh` and `Sigmoid`,
 * an Embedding layer becomes `Gather` from its table (its id columns `Slice`d off the float
 * observation and `Cast` to int64 in the graph, so the input stays float; the passed-through
 * columns `Concat`enated after the vectors), Conv2D and MaxPool2D layers become `Conv` (with
 * its activation) and `MaxPool` on an NCHW image (`Reshape`d, and `Transpose`d from
 * channels-last, where a run of them starts; `Transpose`d back and flattened where it ends),
 * LSTM layers become ONNX's `LSTM` operator, GRU layers ONNX's `GRU` operator (with
 * `linear_before_reset` as the layer has it), and a Cellwise layer (feed-forward models only)
 * becomes its patch gather (`Reshape`, `Pad`, `Add` of the outside flag, `Gather` with a constant
 * neighbour table, `Transpose`, `Reshape`), its shared layers as `Gemm` over every cell's patch,
 * and a last `Reshape` to one value per cell. Every recurrent layer's state is an explicit
 * graph input and output, one per state tensor the layer declares (an LSTM's `h` and `c`, a GRU's
 * `h`), so the
 * model can act one step at a time:
 *
 * | name                  | shape       | meaning                                          |
 * | --------------------- | ----------- | ------------------------------------------------ |
 * | `observation`         | `[T, B, I]` | the input sequence (`[B, I]` when feed-forward)  |
 * | `<part>_in_k`         | `[B, H_k]`  | the state of the k-th recurrent layer (from 0)   |
 * | `output`              | `[T, B, O]` | the last layer's output (`[B, O]` feed-forward)  |
 * | `<part>_out_k`        | `[B, H_k]`  | the k-th recurrent layer's state after the steps |
 *
 * `k` counts recurrent layers only: in `[Dense, LSTM, Dense]` the LSTM's state is `h_in_0` and
 * `c_in_0`; in `[LSTM, GRU, Dense]` the GRU's is `h_in_1`. The model's metadata (`metadata_props`)
 * records the rnnrl version, the input and output names, the layer configuration as JSON, and,
 * where the exporter was told, how to act from the output: what it is (logits, a Gaussian's mean,
 * or Q-values), how many of its leading columns are the policy's (a shared actor-critic network
 * puts its value last), and a Gaussian's action bounds and log standard deviation;
 * `deno task export` adds the run and the checkpoint the weights came from. Its last entry,
 * `rnnrl.sha256`, is a checksum of every byte before it (seal.ts), so a damaged file is refused
 * when it is loaded.
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import { ACTIVATIONS } from "../backend/backend.ts";
import type { Layer } from "../nn/layer.ts";
import { readParameters } from "../nn/parameter.ts";
import type { Sequential } from "../nn/sequential.ts";
import {
  DEFAULT_OPSET,
  intAttribute,
  intsAttribute,
  type OnnxDim,
  OnnxGraphBuilder,
} from "./graph.ts";
import {
  convNodes,
  imageFromRows,
  leadDims,
  maxPoolNodes,
  type OnnxImage,
  rowsFromImage,
} from "./conv_export.ts";
import { encodeOnnxModel, type OnnxStringEntry } from "./onnx_proto.ts";
import { ONNX_SEAL_KEY, sealOnnxModel } from "./seal.ts";

/** The name of the observation input of an exported model. */
export const ONNX_OBSERVATION = "observation";

/** The name of the output of an exported model. */
export const ONNX_OUTPUT = "output";

/** Metadata keys that {@linkcode exportOnnx} writes into `metadata_props`. */
export const ONNX_METADATA_KEYS = {
  /** The rnnrl version that wrote the model. */
  version: "rnnrl.version",
  /** The model's `SequentialConfig` (input size and layer descriptions) as JSON. */
  config: "rnnrl.config",
  /** The graph input names, as a JSON array. */
  inputs: "rnnrl.inputs",
  /** The graph output names, as a JSON array. */
  outputs: "rnnrl.outputs",
  /** The Sequential layer index of each recurrent layer (state k belongs to layer stateLayers[k]). */
  stateLayers: "rnnrl.state_layers",
  /**
   * What the output is, where known: "logits" (a softmax policy), "gaussian-mean" (the mean of
   * a Gaussian policy over a continuous action) or "q-values" (a Q-network).
   */
  output: "rnnrl.output",
  /**
   * How many leading output columns are the policy's (the rest is a shared network's value
   * estimate); absent when all are.
   */
  policyOutputs: "rnnrl.policy_outputs",
  /** A Gaussian policy's action bounds `[low, high]` as JSON: actions are clipped to them. */
  actionBounds: "rnnrl.action_bounds",
  /** A Gaussian policy's log standard deviation (state-independent), for sampling. */
  logStd: "rnnrl.log_std",
  /** The run the weights came from: the SHA-256 of its config.json (`deno task export`). */
  run: "rnnrl.run",
  /** The checkpoint the weights came from: the SHA-256 of its file (`deno task export`). */
  checkpoint: "rnnrl.checkpoint",
  /** The step of that checkpoint (`deno task export`). */
  step: "rnnrl.step",
  /** The checksum of every byte before it; always the last entry. */
  sha256: ONNX_SEAL_KEY,
} as const;

/** What an exported model's output is, for a caller that acts from it. */
export type OnnxOutputKind = "logits" | "gaussian-mean" | "q-values";

/** The output kinds {@linkcode OnnxOutputKind} names. */
export const ONNX_OUTPUT_KINDS: readonly OnnxOutputKind[] = ["logits", "gaussian-mean", "q-values"];

/** Options of {@linkcode exportOnnx}. */
export interface ExportOnnxOptions {
  /** The batch dimension: a fixed size, or a symbolic name (default "batch"). */
  batch?: number | string;
  /** The time dimension of recurrent models: a fixed size, or a symbolic name (default "time"). */
  steps?: number | string;
  /** The ONNX operator set, 14 or later (default 17, the one tested). */
  opset?: number;
  /** What the output is, recorded in the metadata (default: not recorded). */
  output?: OnnxOutputKind;
  /** The leading output columns that are the policy's, when a value column follows them. */
  policyOutputs?: number;
  /** A Gaussian policy's action bounds. */
  actionBounds?: readonly [number, number];
  /** A Gaussian policy's log standard deviation. */
  logStd?: number;
  /** More `metadata_props` entries, such as where the weights came from; keys must be new. */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * The graph name of one state tensor of the k-th recurrent layer of an exported model.
 *
 * @param part The tensor's name in its layer (an LSTM's "h" or "c").
 * @param k The layer's ordinal among the model's recurrent layers, from 0.
 * @param direction The state going in or coming out.
 *
 * @example
 * ```ts
 * import { onnxStateName } from "./export.ts";
 * if (onnxStateName("c", 1, "out") !== "c_out_1") throw new Error("names");
 * ```
 */
export function onnxStateName(part: string, k: number, direction: "in" | "out"): string {
  return `${part}_${direction}_${k}`;
}

/**
 * The part, layer ordinal and direction a graph name stands for, or null for a name that is not a
 * state's (the inverse of {@linkcode onnxStateName}).
 */
export function parseOnnxStateName(
  name: string,
): { part: string; k: number; direction: "in" | "out" } | null {
  const match = /^([a-z][a-z0-9]*)_(in|out)_(\d+)$/.exec(name);
  return match
    ? { part: match[1], k: Number(match[3]), direction: match[2] as "in" | "out" }
    : null;
}

/**
 * Writes a model as ONNX bytes (a `.onnx` file). The weights are read from the model's backend
 * at the time of the call.
 *
 * @param model The model; its layers must be Dense (linear, relu, tanh or sigmoid), Embedding,
 * LSTM, GRU, or Cellwise in a model without recurrent layers.
 * @param options The batch and time dimensions and the opset.
 * @returns The encoded model.
 * @throws {TypeError} When a layer cannot be exported, e.g.
 * `Cannot export layer 2 to ONNX: unsupported layer type "conv"`.
 *
 * @example
 * ```ts
 * import { createCpuBackend, Dense, LSTM, Sequential } from "@rnnrl/rnnrl";
 * import { exportOnnx, OnnxPolicy } from "@rnnrl/rnnrl/onnx";
 * const model = new Sequential(createCpuBackend(), {
 *   inputSize: 4,
 *   layers: [new LSTM({ units: 8 }), new Dense({ units: 2 })],
 *   seed: 1,
 * });
 * const policy = await OnnxPolicy.load(await exportOnnx(model));
 * let state = policy.initialState(1);
 * const step = await policy.run(new Float32Array([0.1, 0, -0.2, 0]), [1, 1, 4], state);
 * state = step.state; // carried to the next step
 * if (step.output.length !== 2) throw new Error("two outputs");
 * await policy.release();
 * ```
 */
export async function exportOnnx(
  model: Sequential,
  options: ExportOnnxOptions = {},
): Promise<Uint8Array> {
  const batch = checkDim("batch", options.batch ?? "batch");
  const steps = checkDim("steps", options.steps ?? "time");
  const opset = options.opset ?? DEFAULT_OPSET;
  if (!(Number.isSafeInteger(opset) && opset >= 14)) {
    throw new RangeError(`Cannot export to ONNX: opset ${opset} is below 14, the oldest supported`);
  }
  model.layers.forEach(checkExportable);
  const cellwise = model.layers.findIndex((l) => l.config.type === "cellwise");
  if (cellwise >= 0 && model.recurrent) {
    throw new TypeError(
      `Cannot export layer ${cellwise} to ONNX: a cellwise layer is exported in feed-forward models only`,
    );
  }

  const recurrent = model.recurrent;
  const g = new OnnxGraphBuilder({
    name: "rnnrl_policy",
    producerVersion: denoConfig.version,
    opsetVersion: opset,
    docString: "An rnnrl Sequential model",
  });
  const lead: OnnxDim[] = recurrent ? [steps, batch] : [batch];
  let x = g.addInput(ONNX_OBSERVATION, [...lead, model.inputSize]);
  const stateLayers: number[] = [];
  const stateInputs: string[] = [];
  const stateOutputs: { name: string; size: number }[] = [];
  let inputSize = model.inputSize;
  // Between consecutive Conv2D and MaxPool2D layers the activations stay an NCHW image.
  let image: OnnxImage | null = null;
  let leadShape: string | undefined; // the int64 [T, B] of a recurrent model's input
  const observation = x;

  for (let i = 0; i < model.layers.length; i++) {
    const layer = model.layers[i];
    const config = layer.config;
    const last = i === model.layers.length - 1;
    const prefix = `layers.${i}`;
    const params = await readParameters(layer.parameters, model.backend);
    if (config.type === "conv2d" || config.type === "maxpool2d") {
      image ??= imageFromRows(g, x, {
        height: config.height,
        width: config.width,
        channels: inputSize / (config.height * config.width),
        channelsFirst: config.type === "conv2d" && config.inputLayout === "channels-first",
      }, prefix);
      if (config.type === "conv2d") {
        const { filters, kernelSize: k } = config;
        image = convNodes(g, image, {
          w: expectShapeOf(params, i, 0, [k * k * image.channels, filters]),
          b: expectShapeOf(params, i, 1, [filters]),
          filters,
          kernel: k,
          padding: config.padding === "same" ? (k - 1) / 2 : 0,
          activation: config.activation,
          prefix,
        });
      } else {
        image = maxPoolNodes(g, image, { size: config.size, prefix });
      }
      inputSize = layer.units;
      if (last || !isImageLayer(model.layers[i + 1])) {
        if (recurrent) leadShape ??= leadDims(g, observation, prefix);
        x = rowsFromImage(g, image, {
          prefix,
          lead: leadShape,
          output: last ? ONNX_OUTPUT : undefined,
        });
        image = null;
      }
      continue;
    }
    const expectShape = (k: number, shape: number[]) => expectShapeOf(params, i, k, shape);
    if (config.type === "cellwise") {
      const cells = config.height * config.width;
      const layers: { w: Float32Array; b: Float32Array; units: number }[] = [];
      let features = (2 * config.radius + 1) ** 2 * (inputSize / cells + 1);
      [...config.hidden, 1].forEach((units, k) => {
        layers.push({
          w: expectShape(2 * k, [features, units]),
          b: expectShape(2 * k + 1, [units]),
          units,
        });
        features = units;
      });
      x = cellwiseNodes(g, x, {
        ...config,
        channels: inputSize / cells,
        layers,
        prefix,
        output: last ? ONNX_OUTPUT : undefined,
      });
      inputSize = cells;
    } else if (config.type === "embedding") {
      const { vocabulary, size, ids } = config;
      const table = expectShape(0, [vocabulary, size]);
      x = embeddingNodes(g, x, {
        table,
        vocabulary,
        size,
        ids,
        inputSize,
        rank: lead.length + 1,
        prefix,
        output: last ? ONNX_OUTPUT : undefined,
      });
      inputSize = ids * size + inputSize - ids;
    } else if (config.type === "dense") {
      const units = config.units;
      const w = expectShape(0, [inputSize, units]);
      const b = expectShape(1, [units]);
      const linear = config.activation === "linear";
      const out = last && linear ? ONNX_OUTPUT : undefined;
      const affine = recurrent
        ? matmulAdd(g, x, { w, b, inFeatures: inputSize, outFeatures: units, prefix, out })
        : g.gemm(x, { w, b, inFeatures: inputSize, outFeatures: units, prefix, output: out });
      const act = { output: last ? ONNX_OUTPUT : undefined };
      if (config.activation === "relu") x = g.relu(affine, act);
      else if (config.activation === "tanh") x = g.tanh(affine, act);
      else if (config.activation === "sigmoid") x = g.sigmoid(affine, act);
      else x = affine;
      inputSize = units;
    } else if (config.type === "gru") {
      const hiddenSize = config.units;
      const k = stateLayers.length;
      const hIn = onnxStateName(layer.stateNames[0], k, "in");
      const hOut = onnxStateName(layer.stateNames[0], k, "out");
      const weights = {
        w: expectShape(0, [inputSize, 3 * hiddenSize]),
        u: expectShape(1, [hiddenSize, 3 * hiddenSize]),
        bw: expectShape(2, [3 * hiddenSize]),
        bu: expectShape(3, [3 * hiddenSize]),
      };
      g.addInput(hIn, [batch, hiddenSize]);
      stateInputs.push(hIn);
      // ONNX's GRU takes and gives its state as [num_directions = 1, B, H].
      const out = g.gru(x, {
        weights,
        inputSize,
        hiddenSize,
        linearBeforeReset: config.linearBeforeReset,
        prefix,
        initialH: g.unsqueeze(hIn, [0]),
      });
      x = g.squeeze(out.y, [1], { output: last ? ONNX_OUTPUT : undefined });
      g.squeeze(out.yH, [0], { output: hOut });
      stateLayers.push(i);
      stateOutputs.push({ name: hOut, size: hiddenSize });
      inputSize = hiddenSize;
    } else {
      const hiddenSize = config.units;
      const k = stateLayers.length;
      const [hIn, cIn] = layer.stateNames.map((part) => onnxStateName(part, k, "in"));
      const [hOut, cOut] = layer.stateNames.map((part) => onnxStateName(part, k, "out"));
      const weights = {
        w: expectShape(0, [inputSize, 4 * hiddenSize]),
        u: expectShape(1, [hiddenSize, 4 * hiddenSize]),
        b: expectShape(2, [4 * hiddenSize]),
      };
      g.addInput(hIn, [batch, hiddenSize]);
      g.addInput(cIn, [batch, hiddenSize]);
      stateInputs.push(hIn, cIn);
      // ONNX's LSTM takes and gives states as [num_directions = 1, B, H].
      const out = g.lstm(x, {
        weights,
        inputSize,
        hiddenSize,
        prefix,
        initialH: g.unsqueeze(hIn, [0]),
        initialC: g.unsqueeze(cIn, [0]),
      });
      x = g.squeeze(out.y, [1], { output: last ? ONNX_OUTPUT : undefined });
      g.squeeze(out.yH, [0], { output: hOut });
      g.squeeze(out.yC, [0], { output: cOut });
      stateLayers.push(i);
      stateOutputs.push({ name: hOut, size: hiddenSize });
      stateOutputs.push({ name: cOut, size: hiddenSize });
      inputSize = hiddenSize;
    }
  }
  g.addOutput(x, [...lead, inputSize]);
  for (const s of stateOutputs) g.addOutput(s.name, [batch, s.size]);

  const onnx = g.toModel();
  const inputs = [ONNX_OBSERVATION, ...stateInputs];
  const metadata: Record<string, string> = {
    [ONNX_METADATA_KEYS.version]: denoConfig.version,
    [ONNX_METADATA_KEYS.config]: JSON.stringify(model.config),
    [ONNX_METADATA_KEYS.inputs]: JSON.stringify(inputs),
    [ONNX_METADATA_KEYS.outputs]: JSON.stringify([ONNX_OUTPUT, ...stateOutputs.map((s) => s.name)]),
    [ONNX_METADATA_KEYS.stateLayers]: JSON.stringify(stateLayers),
    ...policyMetadata(options, model.outputSize),
  };
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    if (key in metadata || key === ONNX_SEAL_KEY || typeof value !== "string") {
      throw new TypeError(
        `Cannot export to ONNX: metadata ${JSON.stringify(key)} is not a new key`,
      );
    }
    metadata[key] = value;
  }
  onnx.metadataProps = Object.entries(metadata).map(([key, value]): OnnxStringEntry => ({
    key,
    value,
  }));
  return await sealOnnxModel(encodeOnnxModel(onnx));
}

/** Parameter k of layer i, checked to have the given shape. */
function expectShapeOf(
  params: { shape: number[]; data: Float32Array }[],
  i: number,
  k: number,
  shape: number[],
): Float32Array {
  const p = params[k];
  if (!p || p.shape.join() !== shape.join()) {
    throw new TypeError(
      `Cannot export layer ${i} to ONNX: parameter ${k} has shape [${
        p?.shape ?? ""
      }], expected [${shape}]`,
    );
  }
  return p.data;
}

function isImageLayer(layer: Layer): boolean {
  const type = layer.config.type;
  return type === "conv2d" || type === "maxpool2d";
}

/** Throws unless the layer is a Dense or Cellwise with a known activation, an LSTM or a GRU. */
function checkExportable(layer: Layer, i: number): void {
  const config = layer.config as { type?: unknown; activation?: unknown; units?: unknown };
  if (config.type === "dense" || config.type === "cellwise") {
    if (!ACTIVATIONS.includes(config.activation as (typeof ACTIVATIONS)[number])) {
      throw new TypeError(
        `Cannot export layer ${i} to ONNX: unsupported activation ${
          JSON.stringify(config.activation)
        }`,
      );
    }
  } else if (config.type === "gru") {
    const lbr = (config as { linearBeforeReset?: unknown }).linearBeforeReset;
    if (typeof lbr !== "boolean") {
      throw new TypeError(
        `Cannot export layer ${i} to ONNX: linearBeforeReset is ${JSON.stringify(lbr)}`,
      );
    }
  } else if (config.type === "conv2d" || config.type === "maxpool2d") {
    const activation = config.type === "conv2d" ? config.activation : "linear";
    if (!ACTIVATIONS.includes(activation as (typeof ACTIVATIONS)[number])) {
      throw new TypeError(
        `Cannot export layer ${i} to ONNX: unsupported activation ${JSON.stringify(activation)}`,
      );
    }
    return;
  } else if (config.type === "embedding") {
    const { vocabulary, size, ids } = config as {
      vocabulary?: unknown;
      size?: unknown;
      ids?: unknown;
    };
    for (const [name, value] of [["vocabulary", vocabulary], ["size", size], ["ids", ids]]) {
      if (!(Number.isSafeInteger(value) && (value as number) >= 1)) {
        throw new TypeError(`Cannot export layer ${i} to ONNX: ${name} is ${value}`);
      }
    }
    return;
  } else if (config.type !== "lstm") {
    throw new TypeError(
      `Cannot export layer ${i} to ONNX: unsupported layer type ${JSON.stringify(config.type)}`,
    );
  }
  const units = config.type === "cellwise" ? layer.units : config.units;
  if (!(Number.isSafeInteger(units) && (units as number) >= 1)) {
    throw new TypeError(`Cannot export layer ${i} to ONNX: units is ${units}`);
  }
}

/**
 * A Cellwise layer over `x` `[N, C·H·W]`: the board padded with one zero "outside" cell and one
 * outside-flag channel (1 only at the outside cell), every cell's neighbours gathered through a
 * constant `[H·W, (2r + 1)²]` table (neighbours beyond the edge point at the outside cell), the
 * patches laid out as {@linkcode Backend.unfoldPatches} does, then the shared `Gemm` layers and a
 * reshape to `[N, H·W]`.
 */
function cellwiseNodes(
  g: OnnxGraphBuilder,
  x: string,
  options: {
    height: number;
    width: number;
    radius: number;
    channels: number;
    activation: string;
    layers: { w: Float32Array; b: Float32Array; units: number }[];
    prefix: string;
    output?: string;
  },
): string {
  const { height: h, width: w, radius: r, channels: c, prefix } = options;
  const cells = h * w, side = 2 * r + 1;
  const table: number[] = [];
  for (let i = 0; i < cells; i++) {
    const y = Math.floor(i / w), xc = i % w;
    for (let n = 0; n < side * side; n++) {
      const yy = y + Math.floor(n / side) - r, xx = xc + (n % side) - r;
      table.push(yy < 0 || yy >= h || xx < 0 || xx >= w ? cells : yy * w + xx);
    }
  }
  const flag = new Float32Array((c + 1) * (cells + 1));
  flag[flag.length - 1] = 1;
  const node = (op: string, inputs: string[], name: string, attributes = {}) =>
    g.addNode(op, inputs, [g.freshName(`${prefix}.${name}`)], {
      name: g.freshName(`${prefix}.${name}_node`),
      ...attributes,
    })[0];
  const boards = node("Reshape", [
    x,
    g.addInt64Initializer(`${prefix}.board_shape`, [-1, c, cells], [3]),
  ], "boards");
  const padded = node("Pad", [
    boards,
    g.addInt64Initializer(`${prefix}.pads`, [0, 0, 0, 0, 1, 1], [6]),
  ], "padded");
  const flagged = node("Add", [
    padded,
    g.addInitializer(`${prefix}.outside`, flag, [c + 1, cells + 1]),
  ], "flagged");
  const gathered = node(
    "Gather",
    [
      flagged,
      g.addInt64Initializer(`${prefix}.neighbours`, table, [cells, side * side]),
    ],
    "gathered",
    { attributes: [intAttribute("axis", 2)] },
  );
  const cellMajor = node("Transpose", [gathered], "cell_major", {
    attributes: [intsAttribute("perm", [0, 2, 3, 1])],
  });
  let y = node("Reshape", [
    cellMajor,
    g.addInt64Initializer(`${prefix}.patch_shape`, [-1, side * side * (c + 1)], [2]),
  ], "patches");
  let features = side * side * (c + 1);
  options.layers.forEach((layer, k) => {
    const affine = g.gemm(y, {
      w: layer.w,
      b: layer.b,
      inFeatures: features,
      outFeatures: layer.units,
      prefix: `${prefix}.${k}`,
    });
    const hidden = k < options.layers.length - 1;
    if (!hidden || options.activation === "linear") y = affine;
    else if (options.activation === "relu") y = g.relu(affine);
    else if (options.activation === "tanh") y = g.tanh(affine);
    else y = g.sigmoid(affine);
    features = layer.units;
  });
  const outputShape = g.addInt64Initializer(`${prefix}.output_shape`, [-1, cells], [2]);
  const out = options.output ?? g.freshName(`${prefix}.y`);
  return g.addNode("Reshape", [y, outputShape], [out], { name: `${prefix}.reshape` })[0];
}

/**
 * An Embedding layer over `x` (`[.., I]`, rank 2 or 3): the first `ids` columns sliced off and
 * cast from float to int64 (the observation input stays float; `Cast` truncates, and the ids are
 * whole numbers), looked up in the table with `Gather` (axis 0) to `[.., ids, E]`, reshaped to
 * `[.., ids·E]`, and, when there are columns after the ids, concatenated with them.
 */
function embeddingNodes(
  g: OnnxGraphBuilder,
  x: string,
  options: {
    table: Float32Array;
    vocabulary: number;
    size: number;
    ids: number;
    inputSize: number;
    rank: number;
    prefix: string;
    output?: string;
  },
): string {
  const { prefix, ids, size, inputSize, rank } = options;
  const axis = rank - 1, passed = inputSize - ids;
  const node = (op: string, inputs: string[], name: string, attributes = {}, output?: string) =>
    g.addNode(op, inputs, [output ?? g.freshName(`${prefix}.${name}`)], {
      name: g.freshName(`${prefix}.${name}_node`),
      ...attributes,
    })[0];
  const slice = (from: number, to: number, name: string) =>
    node("Slice", [
      x,
      g.addInt64Initializer(`${prefix}.${name}_starts`, [from], [1]),
      g.addInt64Initializer(`${prefix}.${name}_ends`, [to], [1]),
      g.addInt64Initializer(`${prefix}.${name}_axes`, [axis], [1]),
    ], name);
  const idColumns = ids === inputSize ? x : slice(0, ids, "ids");
  const indices = node("Cast", [idColumns], "indices", {
    attributes: [intAttribute("to", 7)], // INT64
  });
  const table = g.addInitializer(`${prefix}.table`, options.table, [options.vocabulary, size]);
  const vectors = node("Gather", [table, indices], "vectors", {
    attributes: [intAttribute("axis", 0)],
  });
  const shape = [...new Array(rank - 1).fill(0), ids * size]; // 0 keeps the leading dims
  const flat = node(
    "Reshape",
    [vectors, g.addInt64Initializer(`${prefix}.shape`, shape, [rank])],
    "flat",
    {},
    passed === 0 ? options.output : undefined,
  );
  if (passed === 0) return flat;
  const rest = slice(ids, inputSize, "passed");
  return node("Concat", [flat, rest], "concat", {
    attributes: [intAttribute("axis", axis)],
  }, options.output);
}

/** `x · w + b` over the last axis of an input of any rank, as `MatMul` then `Add`. */
function matmulAdd(
  g: OnnxGraphBuilder,
  x: string,
  options: {
    w: Float32Array;
    b: Float32Array;
    inFeatures: number;
    outFeatures: number;
    prefix: string;
    out?: string;
  },
): string {
  const { prefix, inFeatures, outFeatures } = options;
  const w = g.addInitializer(`${prefix}.w`, options.w, [inFeatures, outFeatures]);
  const b = g.addInitializer(`${prefix}.b`, options.b, [outFeatures]);
  const product = g.freshName(`${prefix}.xw`);
  g.addNode("MatMul", [x, w], [product], { name: `${prefix}.matmul` });
  const output = options.out ?? g.freshName(`${prefix}.y`);
  return g.addNode("Add", [product, b], [output], { name: `${prefix}.add` })[0];
}

/** The metadata that says how to act from the output, checked against the model. */
function policyMetadata(options: ExportOnnxOptions, outputSize: number): Record<string, string> {
  const out: Record<string, string> = {};
  if (options.output !== undefined) {
    if (!ONNX_OUTPUT_KINDS.includes(options.output)) {
      throw new RangeError(
        `Cannot export to ONNX: output "${options.output}" is not one of ${
          ONNX_OUTPUT_KINDS.join(", ")
        }`,
      );
    }
    out[ONNX_METADATA_KEYS.output] = options.output;
  }
  if (options.policyOutputs !== undefined) {
    const n = options.policyOutputs;
    if (!(Number.isSafeInteger(n) && n >= 1 && n <= outputSize)) {
      throw new RangeError(
        `Cannot export to ONNX: policyOutputs ${n} is not between 1 and the ${outputSize} outputs`,
      );
    }
    out[ONNX_METADATA_KEYS.policyOutputs] = String(n);
  }
  if (options.actionBounds !== undefined) {
    const [low, high] = options.actionBounds;
    if (!(low < high)) {
      throw new RangeError(`Cannot export to ONNX: action bounds [${low}, ${high}] are empty`);
    }
    out[ONNX_METADATA_KEYS.actionBounds] = JSON.stringify([low, high]);
  }
  if (options.logStd !== undefined) {
    if (!Number.isFinite(options.logStd)) {
      throw new RangeError(`Cannot export to ONNX: logStd ${options.logStd} is not finite`);
    }
    out[ONNX_METADATA_KEYS.logStd] = String(options.logStd);
  }
  return out;
}

function checkDim(what: string, dim: number | string): number | string {
  if (typeof dim === "string") {
    if (dim === "") throw new TypeError(`Cannot export to ONNX: ${what} is an empty name`);
    return dim;
  }
  if (!(Number.isSafeInteger(dim) && dim >= 1)) {
    throw new RangeError(`Cannot export to ONNX: ${what} is ${dim}, expected a positive integer`);
  }
  return dim;
}
