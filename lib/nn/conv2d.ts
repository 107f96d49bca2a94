/**
 * Convolution and pooling layers for images: {@linkcode Conv2D} (stride 1, "same" or "valid"
 * padding, im2col patches times a weight matrix) and {@linkcode MaxPool2D}. Their outputs are
 * channels-last images, flat (`[..., H·W·C]`), which a Dense, LSTM or GRU layer after them takes
 * as they are, and which the next convolution or pooling reads with the image size the previous
 * one reports ({@linkcode Layer.outputImage}), so only the first layer of a stack is told it.
 *
 * @module
 */

import { type Activation, ACTIVATIONS, type Backend, type Tensor } from "../backend/backend.ts";
import {
  checkConvGeometry,
  checkPoolGeometry,
  type ConvGeometry,
  type PoolGeometry,
} from "../backend/conv_geometry.ts";
import type { Rng } from "../io/rng.ts";
import { Dense } from "./dense.ts";
import type {
  ForwardOptions,
  ImageShape,
  Layer,
  LayerBackward,
  LayerConfig,
  LayerForward,
} from "./layer.ts";
import type { Parameter } from "./parameter.ts";

/** How a convolution pads: "same" keeps the size (odd kernels), "valid" adds nothing. */
export type ConvPadding = "same" | "valid";

/** The image layouts a first convolution reads. */
export type ImageLayout = "channels-last" | "channels-first";

/** Options of {@linkcode Conv2D}. */
export interface Conv2DOptions {
  /** Output channels (filters). */
  filters: number;
  /** Side of the square kernel. */
  kernelSize: number;
  /** "same" (default; the kernel must be odd) or "valid". */
  padding?: ConvPadding;
  /** The activation after the convolution (default "linear"). */
  activation?: Activation;
  /** Rows of the input image; needed unless a convolution or pooling comes before. */
  height?: number;
  /** Columns of the input image; as `height`. */
  width?: number;
  /**
   * The input's layout (default "channels-last"); "channels-first" for observations laid out
   * `[C, H, W]` (Minesweeper's one-hot board). The output is always channels-last.
   */
  inputLayout?: ImageLayout;
}

/** The image a layer reads: given in its options, else the one the layer before gives. */
function inputImage(
  what: string,
  own: { height?: number; width?: number },
  before: ImageShape | undefined,
  inputSize: number,
): ImageShape {
  const height = own.height ?? before?.height, width = own.width ?? before?.width;
  if (height === undefined || width === undefined) {
    throw new RangeError(
      `Cannot build a ${what} layer: give its height and width (no convolution or pooling comes before it)`,
    );
  }
  const channels = inputSize / (height * width);
  if (!(Number.isSafeInteger(channels) && channels >= 1)) {
    throw new RangeError(
      `Cannot build a ${what} layer: ${inputSize} inputs are not a whole number of channels of a ${height}×${width} image`,
    );
  }
  return { height, width, channels };
}

function checkActivation(activation: Activation, what: string): void {
  if (!ACTIVATIONS.includes(activation)) {
    throw new RangeError(
      `Cannot make a ${what} layer: activation must be one of ${
        ACTIVATIONS.join(", ")
      }, got ${activation}`,
    );
  }
}

function checkOptionalSize(value: number | undefined, name: string, what: string): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(
      `Cannot make a ${what} layer: ${name} is ${value}, expected an integer >= 1`,
    );
  }
}

/**
 * A 2-D convolution with stride 1: every output pixel is `act(patch · W + b)`, the patch being
 * the `k×k×C` input pixels under the kernel (zeros beyond the edge). The weight is `[k²·C, F]`
 * (rows in kernel-row, kernel-column, channel order) and the bias `[F]`; ONNX's `Conv` weight
 * `[F, C, k, k]` is its transpose. Leading axes before the last are a batch, so it applies to
 * `[B, I]` batches and `[T, B, I]` sequences alike.
 *
 * @example
 * ```ts
 * import { Conv2D, createCpuBackend, Dense, MaxPool2D, Sequential } from "@rnnrl/rnnrl";
 * const model = new Sequential(createCpuBackend(), {
 *   inputSize: 28 * 28, // one grey channel
 *   layers: [
 *     new Conv2D({ filters: 8, kernelSize: 3, activation: "relu", height: 28, width: 28 }),
 *     new MaxPool2D({ size: 2 }), // 14×14×8
 *     new Dense({ units: 10 }),
 *   ],
 *   seed: 1,
 * });
 * const { output } = model.forward(model.backend.zeros([2, 28 * 28]));
 * if (output.shape.join() !== "2,10") throw new Error("ten scores per image expected");
 * ```
 */
export class Conv2D implements Layer {
  /** Convolutions carry no state. */
  readonly recurrent: boolean = false;
  /** No state. */
  readonly stateNames: readonly string[] = [];
  /** No state. */
  readonly stateSizes: readonly number[] = [];
  /** Output channels. */
  readonly filters: number;
  /** Kernel side. */
  readonly kernelSize: number;
  /** The padding rule. */
  readonly padding: ConvPadding;
  /** The activation. */
  readonly activation: Activation;
  /** The input's layout. */
  readonly inputLayout: ImageLayout;
  /** The affine map applied to every patch (weight `[k²·C, F]`, bias `[F]`). */
  readonly affine: Dense;
  readonly #options: Conv2DOptions;
  #geometry: ConvGeometry | null = null;
  #output: ImageShape | null = null;
  #backend: Backend | null = null;
  #rows = 0; // images of the last training forward; 0 when nothing is cached

  /** Describes the layer; {@linkcode Sequential} builds it. */
  constructor(options: Conv2DOptions) {
    const what = "Conv2D";
    checkOptionalSize(options.filters, "filters", what);
    checkOptionalSize(options.kernelSize, "kernelSize", what);
    checkOptionalSize(options.height, "height", what);
    checkOptionalSize(options.width, "width", what);
    if (options.filters === undefined || options.kernelSize === undefined) {
      throw new RangeError(`Cannot make a Conv2D layer: give filters and kernelSize`);
    }
    const padding = options.padding ?? "same";
    if (padding !== "same" && padding !== "valid") {
      throw new RangeError(
        `Cannot make a Conv2D layer: padding must be "same" or "valid", got ${padding}`,
      );
    }
    if (padding === "same" && options.kernelSize % 2 === 0) {
      throw new RangeError(
        `Cannot make a Conv2D layer: "same" padding needs an odd kernel, got ${options.kernelSize}`,
      );
    }
    const inputLayout = options.inputLayout ?? "channels-last";
    if (inputLayout !== "channels-last" && inputLayout !== "channels-first") {
      throw new RangeError(
        `Cannot make a Conv2D layer: inputLayout must be "channels-last" or "channels-first", got ${inputLayout}`,
      );
    }
    const activation = options.activation ?? "linear";
    checkActivation(activation, what);
    this.filters = options.filters;
    this.kernelSize = options.kernelSize;
    this.padding = padding;
    this.activation = activation;
    this.inputLayout = inputLayout;
    this.affine = new Dense({ units: this.filters, activation });
    this.#options = { ...options };
  }

  /** The patch geometry; valid after {@linkcode Conv2D.build}. */
  get geometry(): ConvGeometry {
    return this.#requireBuilt().geometry;
  }

  /** The output image, channels-last; valid after {@linkcode Conv2D.build}. */
  get outputImage(): ImageShape | undefined {
    return this.#output ?? undefined;
  }

  /** Output features: `H'·W'·F`. */
  get units(): number {
    const o = this.#output;
    return o ? o.height * o.width * o.channels : 0;
  }

  /** The weight `[k²·C, F]` and the bias `[F]`. */
  get parameters(): readonly Parameter[] {
    return this.affine.parameters;
  }

  /** The serialisable description (with the input image's size, resolved at build). */
  get config(): LayerConfig {
    const g = this.#geometry;
    return {
      type: "conv2d",
      filters: this.filters,
      kernelSize: this.kernelSize,
      padding: this.padding,
      activation: this.activation,
      height: g?.height ?? this.#options.height ?? 0,
      width: g?.width ?? this.#options.width ?? 0,
      inputLayout: this.inputLayout,
    };
  }

  /**
   * Builds the weights for the input image.
   *
   * @throws {RangeError} When the image size is unknown, `inputSize` is not a whole number of its
   *   channels, or the kernel does not fit.
   */
  build(backend: Backend, inputSize: number, rng: Rng, prefix: string, image?: ImageShape): void {
    const { height, width, channels } = inputImage("Conv2D", this.#options, image, inputSize);
    const geometry: ConvGeometry = {
      height,
      width,
      channels,
      kernel: this.kernelSize,
      padding: this.padding === "same" ? (this.kernelSize - 1) / 2 : 0,
      channelsFirst: this.inputLayout === "channels-first",
    };
    const { outHeight, outWidth } = checkConvGeometry(geometry, "build a Conv2D layer");
    this.#backend = backend;
    this.#geometry = geometry;
    this.#output = { height: outHeight, width: outWidth, channels: this.filters };
    this.affine.build(backend, this.kernelSize * this.kernelSize * channels, rng, prefix);
  }

  /** Convolutions have no state. */
  initialState(_batch: number): undefined {
    return undefined;
  }

  /** Convolves: `[..., H·W·C]` → `[..., H'·W'·F]`. */
  forward(input: Tensor, _state: undefined, options: ForwardOptions): LayerForward {
    const { backend, geometry } = this.#requireBuilt();
    const inputSize = geometry.height * geometry.width * geometry.channels;
    if (input.shape[input.shape.length - 1] !== inputSize) {
      throw new TypeError(
        `Cannot apply a Conv2D layer: expected ${inputSize} input features, got shape [${
          input.shape.join(", ")
        }]`,
      );
    }
    const rows = input.size / inputSize;
    const images = backend.reshape(input, [rows, inputSize]);
    const patches = backend.convPatches(images, geometry);
    backend.dispose(images);
    this.clearCache();
    // The Dense keeps its own handle on the patches for backward.
    const pixels = this.affine.forward(patches, undefined, options).output;
    backend.dispose(patches);
    const output = backend.reshape(pixels, [...input.shape.slice(0, -1), this.units]);
    backend.dispose(pixels);
    if (options.training) this.#rows = rows;
    return { output };
  }

  /** Back-propagates through the affine map and folds the patch gradients onto the input. */
  backward(dOutput: Tensor): LayerBackward {
    const { backend, geometry } = this.#requireBuilt();
    if (this.#rows === 0) {
      throw new Error("Cannot run Conv2D backward: no training forward pass to back-propagate");
    }
    const pixels = this.#rows * this.units / this.filters;
    if (dOutput.size !== this.#rows * this.units) {
      throw new TypeError(
        `Cannot run Conv2D backward: the gradient has ${dOutput.size} values, expected ${
          this.#rows * this.units
        }`,
      );
    }
    const d = backend.reshape(dOutput, [pixels, this.filters]);
    const dPatches = this.affine.backward(d).dInput;
    backend.dispose(d);
    const folded = backend.convPatchesAdjoint(dPatches, geometry);
    backend.dispose(dPatches);
    const inputSize = geometry.height * geometry.width * geometry.channels;
    const dInput = backend.reshape(folded, [...dOutput.shape.slice(0, -1), inputSize]);
    backend.dispose(folded);
    return { dInput };
  }

  /** Releases what the affine map cached. */
  clearCache(): void {
    this.affine.clearCache();
    this.#rows = 0;
  }

  #requireBuilt(): { backend: Backend; geometry: ConvGeometry } {
    if (!this.#backend || !this.#geometry) {
      throw new Error("Cannot use a Conv2D layer before it is built");
    }
    return { backend: this.#backend, geometry: this.#geometry };
  }
}

/** Options of {@linkcode MaxPool2D}. */
export interface MaxPool2DOptions {
  /** Side of the square window, which is also the stride (default 2). */
  size?: number;
  /** Rows of the input image; needed unless a convolution or pooling comes before. */
  height?: number;
  /** Columns of the input image; as `height`. */
  width?: number;
}

/**
 * Max pooling over `s×s` windows with stride s, on a channels-last image: `[..., H·W·C]` →
 * `[..., H'·W'·C]`, `H' = floor(H / s)` (as ONNX's `MaxPool` without padding). The gradient goes
 * to each window's first maximum.
 *
 * @example
 * ```ts
 * import { createCpuBackend, MaxPool2D, Sequential } from "@rnnrl/rnnrl";
 * const model = new Sequential(createCpuBackend(), {
 *   inputSize: 16,
 *   layers: [new MaxPool2D({ size: 2, height: 4, width: 4 })],
 * });
 * const x = model.backend.tensor(Array.from({ length: 16 }, (_, i) => i), [1, 16]);
 * const max = await model.backend.read(model.forward(x).output);
 * if (max.join() !== "5,7,13,15") throw new Error("each window's largest pixel expected");
 * ```
 */
export class MaxPool2D implements Layer {
  /** Pooling carries no state. */
  readonly recurrent: boolean = false;
  /** No state. */
  readonly stateNames: readonly string[] = [];
  /** No state. */
  readonly stateSizes: readonly number[] = [];
  /** No parameters. */
  readonly parameters: readonly Parameter[] = [];
  /** The window side and stride. */
  readonly size: number;
  readonly #options: MaxPool2DOptions;
  #geometry: PoolGeometry | null = null;
  #output: ImageShape | null = null;
  #backend: Backend | null = null;
  #input: Tensor | null = null;

  /** Describes the layer; {@linkcode Sequential} builds it. */
  constructor(options: MaxPool2DOptions = {}) {
    const what = "MaxPool2D";
    checkOptionalSize(options.size, "size", what);
    checkOptionalSize(options.height, "height", what);
    checkOptionalSize(options.width, "width", what);
    this.size = options.size ?? 2;
    this.#options = { ...options };
  }

  /** The output image, channels-last; valid after {@linkcode MaxPool2D.build}. */
  get outputImage(): ImageShape | undefined {
    return this.#output ?? undefined;
  }

  /** Output features: `H'·W'·C`. */
  get units(): number {
    const o = this.#output;
    return o ? o.height * o.width * o.channels : 0;
  }

  /** The serialisable description (with the input image's size, resolved at build). */
  get config(): LayerConfig {
    const g = this.#geometry;
    return {
      type: "maxpool2d",
      size: this.size,
      height: g?.height ?? this.#options.height ?? 0,
      width: g?.width ?? this.#options.width ?? 0,
    };
  }

  /**
   * Takes the input image's size.
   *
   * @throws {RangeError} When the image size is unknown or the window does not fit it.
   */
  build(backend: Backend, inputSize: number, _rng: Rng, _prefix: string, image?: ImageShape): void {
    const { height, width, channels } = inputImage("MaxPool2D", this.#options, image, inputSize);
    const geometry = { height, width, channels, size: this.size };
    checkPoolGeometry(geometry, "build a MaxPool2D layer");
    this.#backend = backend;
    this.#geometry = geometry;
    this.#output = {
      height: Math.floor(height / this.size),
      width: Math.floor(width / this.size),
      channels,
    };
  }

  /** Pooling has no state. */
  initialState(_batch: number): undefined {
    return undefined;
  }

  /** Pools: `[..., H·W·C]` → `[..., H'·W'·C]`. */
  forward(input: Tensor, _state: undefined, options: ForwardOptions): LayerForward {
    const { backend, geometry } = this.#requireBuilt();
    const inputSize = geometry.height * geometry.width * geometry.channels;
    if (input.shape[input.shape.length - 1] !== inputSize) {
      throw new TypeError(
        `Cannot apply a MaxPool2D layer: expected ${inputSize} input features, got shape [${
          input.shape.join(", ")
        }]`,
      );
    }
    const images = backend.reshape(input, [input.size / inputSize, inputSize]);
    const pooled = backend.maxPool(images, geometry);
    this.clearCache();
    if (options.training) this.#input = images;
    else backend.dispose(images);
    const output = backend.reshape(pooled, [...input.shape.slice(0, -1), this.units]);
    backend.dispose(pooled);
    return { output };
  }

  /** Routes each window's gradient to its maximum. */
  backward(dOutput: Tensor): LayerBackward {
    const { backend, geometry } = this.#requireBuilt();
    const input = this.#input;
    if (!input) {
      throw new Error("Cannot run MaxPool2D backward: no training forward pass to back-propagate");
    }
    const d = backend.reshape(dOutput, [input.shape[0], this.units]);
    const dx = backend.maxPoolBackward(input, d, geometry);
    backend.dispose(d);
    const dInput = backend.reshape(dx, [...dOutput.shape.slice(0, -1), input.shape[1]]);
    backend.dispose(dx);
    return { dInput };
  }

  /** Releases the cached input. */
  clearCache(): void {
    if (this.#input && this.#backend) this.#backend.dispose(this.#input);
    this.#input = null;
  }

  #requireBuilt(): { backend: Backend; geometry: PoolGeometry } {
    if (!this.#backend || !this.#geometry) {
      throw new Error("Cannot use a MaxPool2D layer before it is built");
    }
    return { backend: this.#backend, geometry: this.#geometry };
  }
}
