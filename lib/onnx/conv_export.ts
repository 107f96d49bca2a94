/**
 * The ONNX nodes of the image layers: a flat observation reshaped to ONNX's NCHW, `Conv` with its
 * activation, `MaxPool`, and the NCHW image flattened back to rnnrl's channels-last rows for the
 * layers after it. Between consecutive image layers the tensor stays NCHW.
 *
 * @module
 */

import { intAttribute, intsAttribute, type OnnxGraphBuilder } from "./graph.ts";

/** An NCHW tensor of the graph and its size. */
export interface OnnxImage {
  /** The tensor's name, `[N, C, H, W]`. */
  name: string;
  /** Channels. */
  channels: number;
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
}

function node(
  g: OnnxGraphBuilder,
  op: string,
  inputs: string[],
  prefix: string,
  part: string,
  options: { attributes?: ReturnType<typeof intAttribute>[]; output?: string } = {},
): string {
  return g.addNode(op, inputs, [options.output ?? g.freshName(`${prefix}.${part}`)], {
    name: g.freshName(`${prefix}.${part}_node`),
    attributes: options.attributes,
  })[0];
}

/**
 * Reshapes flat rows (`[N, H·W·C]`, or `[T, B, H·W·C]` in a recurrent model) to `[N·…, C, H, W]`:
 * directly for a channels-first input, through `[.., H, W, C]` and a `Transpose` otherwise.
 */
export function imageFromRows(
  g: OnnxGraphBuilder,
  x: string,
  image: { height: number; width: number; channels: number; channelsFirst: boolean },
  prefix: string,
): OnnxImage {
  const { height: h, width: w, channels: c } = image;
  const dims = image.channelsFirst ? [-1, c, h, w] : [-1, h, w, c];
  const shape = g.addInt64Initializer(g.freshName(`${prefix}.image_shape`), dims, [4]);
  let name = node(g, "Reshape", [x, shape], prefix, "image");
  if (!image.channelsFirst) {
    name = node(g, "Transpose", [name], prefix, "nchw", {
      attributes: [intsAttribute("perm", [0, 3, 1, 2])],
    });
  }
  return { name, channels: c, height: h, width: w };
}

/**
 * A convolution with stride 1 and symmetric zero padding, then its activation. `w` is rnnrl's
 * `[k²·C, F]` (rows in kernel-row, kernel-column, channel order), transposed here to ONNX's
 * `[F, C, k, k]`.
 */
export function convNodes(
  g: OnnxGraphBuilder,
  x: OnnxImage,
  options: {
    w: Float32Array;
    b: Float32Array;
    filters: number;
    kernel: number;
    padding: number;
    activation: string;
    prefix: string;
  },
): OnnxImage {
  const { filters: f, kernel: k, padding: p, prefix } = options;
  const c = x.channels;
  const weight = new Float32Array(f * c * k * k);
  for (let o = 0; o < f; o++) {
    for (let ch = 0; ch < c; ch++) {
      for (let dy = 0; dy < k; dy++) {
        for (let dx = 0; dx < k; dx++) {
          weight[((o * c + ch) * k + dy) * k + dx] = options.w[((dy * k + dx) * c + ch) * f + o];
        }
      }
    }
  }
  const wName = g.addInitializer(`${prefix}.w`, weight, [f, c, k, k]);
  const bName = g.addInitializer(`${prefix}.b`, options.b, [f]);
  let y = node(g, "Conv", [x.name, wName, bName], prefix, "conv", {
    attributes: [
      intsAttribute("kernel_shape", [k, k]),
      intsAttribute("pads", [p, p, p, p]),
      intsAttribute("strides", [1, 1]),
    ],
  });
  if (options.activation === "relu") y = g.relu(y);
  else if (options.activation === "tanh") y = g.tanh(y);
  else if (options.activation === "sigmoid") y = g.sigmoid(y);
  return { name: y, channels: f, height: x.height + 2 * p - k + 1, width: x.width + 2 * p - k + 1 };
}

/** `MaxPool` over `s×s` windows with stride s and no padding (a remainder is dropped). */
export function maxPoolNodes(
  g: OnnxGraphBuilder,
  x: OnnxImage,
  options: { size: number; prefix: string },
): OnnxImage {
  const s = options.size;
  const name = node(g, "MaxPool", [x.name], options.prefix, "maxpool", {
    attributes: [intsAttribute("kernel_shape", [s, s]), intsAttribute("strides", [s, s])],
  });
  return {
    name,
    channels: x.channels,
    height: Math.floor(x.height / s),
    width: Math.floor(x.width / s),
  };
}

/**
 * Flattens an NCHW image back to channels-last rows: `Transpose` to NHWC, then `Reshape` to
 * `[N, H·W·C]`, or, given `lead` (the int64 `[T, B]` of a recurrent model's input), to
 * `[T, B, H·W·C]`.
 */
export function rowsFromImage(
  g: OnnxGraphBuilder,
  x: OnnxImage,
  options: { prefix: string; lead?: string; output?: string },
): string {
  const { prefix } = options;
  const features = x.height * x.width * x.channels;
  const nhwc = node(g, "Transpose", [x.name], prefix, "nhwc", {
    attributes: [intsAttribute("perm", [0, 2, 3, 1])],
  });
  let shape: string;
  if (options.lead) {
    const last = g.addInt64Initializer(g.freshName(`${prefix}.features`), [features], [1]);
    shape = node(g, "Concat", [options.lead, last], prefix, "rows_shape", {
      attributes: [intAttribute("axis", 0)],
    });
  } else {
    shape = g.addInt64Initializer(g.freshName(`${prefix}.rows_shape`), [-1, features], [2]);
  }
  return node(g, "Reshape", [nhwc, shape], prefix, "rows", { output: options.output });
}

/** The int64 `[T, B]` of a recurrent model's `[T, B, I]` input, as `Shape` then `Slice`. */
export function leadDims(g: OnnxGraphBuilder, input: string, prefix: string): string {
  const shape = node(g, "Shape", [input], prefix, "input_shape");
  const starts = g.addInt64Initializer(g.freshName(`${prefix}.lead_starts`), [0], [1]);
  const ends = g.addInt64Initializer(g.freshName(`${prefix}.lead_ends`), [2], [1]);
  return node(g, "Slice", [shape, starts, ends], prefix, "lead");
}
