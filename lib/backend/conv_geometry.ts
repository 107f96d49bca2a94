/**
 * The geometry of the convolution and pooling ops (the backend's `convPatches`, `maxPool`
 * and their adjoints): the options a caller gives, and the sizes
 * derived and checked from them and a tensor's shape, shared by the CPU and WebGPU backends.
 *
 * Images are flat rows. A convolution's input may be channels-first (`[C, H, W]`, channel c of
 * pixel i at `c·H·W + i`: Minesweeper's one-hot layout and ONNX's) or channels-last
 * (`[H, W, C]`, at `i·C + c`); everything a convolution or a pooling gives is channels-last,
 * since a convolution's product is one row of C filters per pixel.
 *
 * @module
 */

import type { Tensor } from "./backend.ts";

/** Options of the backend's `convPatches` and its adjoint: stride 1, a square kernel. */
export interface ConvGeometry {
  /** Rows of the input image. */
  height: number;
  /** Columns of the input image. */
  width: number;
  /** Channels of the input image. */
  channels: number;
  /** The side k of the square kernel. */
  kernel: number;
  /** Zero pixels added on every side, `0..k − 1` (`(k − 1) / 2` keeps the size for odd k). */
  padding: number;
  /** True when the input is channels-first `[C, H, W]` (default false: `[H, W, C]`). */
  channelsFirst?: boolean;
}

/** The sizes of a convolution patch op, as {@linkcode convDims} derives and checks them. */
export interface ConvDims {
  /** Images in the batch. */
  batch: number;
  /** Input channels C. */
  channels: number;
  /** Input rows H. */
  height: number;
  /** Input columns W. */
  width: number;
  /** Kernel side k. */
  kernel: number;
  /** Padding p on every side. */
  padding: number;
  /** Whether the input is channels-first. */
  channelsFirst: boolean;
  /** Output rows, `H + 2p − k + 1`. */
  outHeight: number;
  /** Output columns, `W + 2p − k + 1`. */
  outWidth: number;
  /** Features per patch, `k²·C`. */
  features: number;
}

/** Options of the backend's `maxPool` and its gradient: square windows, stride = window. */
export interface PoolGeometry {
  /** Rows of the input image. */
  height: number;
  /** Columns of the input image. */
  width: number;
  /** Channels of the input image (channels-last). */
  channels: number;
  /** The side of a window, which is also the stride. */
  size: number;
}

/** The sizes of a pooling op, as {@linkcode poolDims} derives and checks them. */
export interface PoolDims {
  /** Images in the batch. */
  batch: number;
  /** Channels C. */
  channels: number;
  /** Input rows H. */
  height: number;
  /** Input columns W. */
  width: number;
  /** Window side s. */
  size: number;
  /** Output rows, `floor(H / s)`. */
  outHeight: number;
  /** Output columns, `floor(W / s)`. */
  outWidth: number;
}

function checkPositive(options: object, names: readonly string[], what: string): void {
  for (const name of names) {
    const value = (options as Record<string, unknown>)[name];
    if (!(Number.isSafeInteger(value) && (value as number) >= 1)) {
      throw new RangeError(`Cannot ${what}: ${name} is ${value}, expected an integer >= 1`);
    }
  }
}

/**
 * Checks a convolution's geometry: positive height, width, channels and kernel, a padding in
 * `0..k − 1`, and an output of at least one pixel.
 *
 * @param what What is being done, for the message: "Cannot <what>: …".
 * @returns The output rows and columns.
 * @throws {RangeError} For a value out of range.
 */
export function checkConvGeometry(
  options: ConvGeometry,
  what: string,
): { outHeight: number; outWidth: number } {
  checkPositive(options, ["height", "width", "channels", "kernel"], what);
  const { height, width, kernel, padding } = options;
  if (!(Number.isSafeInteger(padding) && padding >= 0 && padding < kernel)) {
    throw new RangeError(
      `Cannot ${what}: padding is ${padding}, expected an integer in 0..${kernel - 1}`,
    );
  }
  const outHeight = height + 2 * padding - kernel + 1;
  const outWidth = width + 2 * padding - kernel + 1;
  if (outHeight < 1 || outWidth < 1) {
    throw new RangeError(
      `Cannot ${what}: a ${kernel}×${kernel} kernel with padding ${padding} does not fit a ${height}×${width} image`,
    );
  }
  return { outHeight, outWidth };
}

/**
 * Derives a convolution patch op's sizes from the images `[B, H·W·C]` (`adjoint`: false) or from
 * the patches `[B·H'·W', k²·C]` (`adjoint`: true).
 *
 * @throws {RangeError} For a geometry out of range ({@linkcode checkConvGeometry}).
 * @throws {TypeError} For a tensor whose shape does not fit the geometry.
 */
export function convDims(t: Tensor, options: ConvGeometry, adjoint: boolean): ConvDims {
  const what = adjoint ? "fold convolution patches" : "take convolution patches";
  const { outHeight, outWidth } = checkConvGeometry(options, what);
  const { height, width, channels, kernel, padding } = options;
  const features = kernel * kernel * channels;
  const rowSize = adjoint ? features : height * width * channels;
  const perImage = adjoint ? outHeight * outWidth : 1;
  if (t.shape.length !== 2 || t.shape[1] !== rowSize || t.shape[0] % perImage !== 0) {
    const expected = adjoint ? `[B·${perImage}, ${features}]` : `[B, ${rowSize}]`;
    throw new TypeError(
      `Cannot ${what}: expected shape ${expected}, got [${t.shape.join(", ")}]`,
    );
  }
  return {
    batch: t.shape[0] / perImage,
    channels,
    height,
    width,
    kernel,
    padding,
    channelsFirst: options.channelsFirst ?? false,
    outHeight,
    outWidth,
    features,
  };
}

/**
 * Checks a pooling's geometry: positive height, width, channels and window, and a window no
 * larger than the image.
 *
 * @throws {RangeError} For a value out of range.
 */
export function checkPoolGeometry(options: PoolGeometry, what: string): void {
  checkPositive(options, ["height", "width", "channels", "size"], what);
  if (options.size > options.height || options.size > options.width) {
    throw new RangeError(
      `Cannot ${what}: a ${options.size}×${options.size} window does not fit a ${options.height}×${options.width} image`,
    );
  }
}

/**
 * Derives a pooling op's sizes from its input `[B, H·W·C]` (channels-last).
 *
 * @throws {RangeError} For a geometry out of range.
 * @throws {TypeError} For a tensor whose shape does not fit the geometry.
 */
export function poolDims(x: Tensor, options: PoolGeometry, what: string): PoolDims {
  checkPoolGeometry(options, what);
  const { height, width, channels, size } = options;
  const rowSize = height * width * channels;
  if (x.shape.length !== 2 || x.shape[1] !== rowSize) {
    throw new TypeError(
      `Cannot ${what}: expected shape [B, ${rowSize}], got [${x.shape.join(", ")}]`,
    );
  }
  return {
    batch: x.shape[0],
    channels,
    height,
    width,
    size,
    outHeight: Math.floor(height / size),
    outWidth: Math.floor(width / size),
  };
}
