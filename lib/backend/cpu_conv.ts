/**
 * The CPU loops of the convolution and pooling ops: im2col patches and their adjoint, max pooling
 * and its gradient. Sums are rounded after every addition by `round` (`Math.fround` for float32
 * tensors), in the same order as the WGSL kernels add, so the two backends agree bit for bit.
 *
 * @module
 */

import type { ConvDims, PoolDims } from "./conv_geometry.ts";
import type { FloatArray } from "./cpu.ts";

/** Where pixel (y, x) channel c of image b sits in a flat batch of the given layout. */
function pixelIndex(d: ConvDims, b: number, y: number, x: number, c: number): number {
  const { height: H, width: W, channels: C } = d;
  return d.channelsFirst ? ((b * C + c) * H + y) * W + x : ((b * H + y) * W + x) * C + c;
}

/** Fills `dst` (`[B·H'·W', k²·C]`, zeroed) with the patches of `src` (`[B, H·W·C]`). */
export function convPatchesInto(src: FloatArray, dst: FloatArray, d: ConvDims): void {
  const { batch, height: H, width: W, channels: C, kernel: k, padding: p } = d;
  const { outHeight: Ho, outWidth: Wo, features: F } = d;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        const row = ((b * Ho + oy) * Wo + ox) * F;
        for (let dy = 0; dy < k; dy++) {
          const y = oy + dy - p;
          if (y < 0 || y >= H) continue;
          for (let dx = 0; dx < k; dx++) {
            const x = ox + dx - p;
            if (x < 0 || x >= W) continue;
            const at = row + (dy * k + dx) * C;
            for (let c = 0; c < C; c++) dst[at + c] = src[pixelIndex(d, b, y, x, c)];
          }
        }
      }
    }
  }
}

/**
 * Fills `dst` (`[B, H·W·C]`) with the adjoint of {@linkcode convPatchesInto}: every pixel sums the
 * entries copied from it, kernel offsets in row-major order.
 */
export function convPatchesAdjointInto(
  src: FloatArray,
  dst: FloatArray,
  d: ConvDims,
  round: (v: number) => number,
): void {
  const { batch, height: H, width: W, channels: C, kernel: k, padding: p } = d;
  const { outHeight: Ho, outWidth: Wo, features: F } = d;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < C; c++) {
          let total = 0;
          for (let dy = 0; dy < k; dy++) {
            const oy = y + p - dy;
            if (oy < 0 || oy >= Ho) continue;
            for (let dx = 0; dx < k; dx++) {
              const ox = x + p - dx;
              if (ox < 0 || ox >= Wo) continue;
              total = round(total + src[((b * Ho + oy) * Wo + ox) * F + (dy * k + dx) * C + c]);
            }
          }
          dst[pixelIndex(d, b, y, x, c)] = total;
        }
      }
    }
  }
}

/** The flat index of the first maximal element of window (oy, ox), channel c, of image b. */
function windowArgmax(
  src: FloatArray,
  d: PoolDims,
  b: number,
  oy: number,
  ox: number,
  c: number,
): number {
  const { height: H, width: W, channels: C, size: s } = d;
  let best = ((b * H + oy * s) * W + ox * s) * C + c;
  for (let wy = 0; wy < s; wy++) {
    for (let wx = 0; wx < s; wx++) {
      const at = ((b * H + oy * s + wy) * W + ox * s + wx) * C + c;
      if (src[at] > src[best]) best = at;
    }
  }
  return best;
}

/** Fills `dst` (`[B, H'·W'·C]`) with the window maxima of `src` (`[B, H·W·C]`). */
export function maxPoolInto(src: FloatArray, dst: FloatArray, d: PoolDims): void {
  const { batch, channels: C, outHeight: Ho, outWidth: Wo } = d;
  for (let b = 0; b < batch; b++) {
    for (let oy = 0; oy < Ho; oy++) {
      for (let ox = 0; ox < Wo; ox++) {
        for (let c = 0; c < C; c++) {
          dst[((b * Ho + oy) * Wo + ox) * C + c] = src[windowArgmax(src, d, b, oy, ox, c)];
        }
      }
    }
  }
}

/**
 * Fills `dst` (`[B, H·W·C]`) with the gradient of {@linkcode maxPoolInto}: each element gets its
 * window's upstream gradient if it is the window's first maximum, else 0.
 */
export function maxPoolBackwardInto(
  src: FloatArray,
  dOutput: FloatArray,
  dst: FloatArray,
  d: PoolDims,
): void {
  const { batch, height: H, width: W, channels: C, size: s, outHeight: Ho, outWidth: Wo } = d;
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const oy = Math.floor(y / s), ox = Math.floor(x / s);
        for (let c = 0; c < C; c++) {
          const at = ((b * H + y) * W + x) * C + c;
          const inWindow = oy < Ho && ox < Wo;
          dst[at] = inWindow && windowArgmax(src, d, b, oy, ox, c) === at
            ? dOutput[((b * Ho + oy) * Wo + ox) * C + c]
            : 0;
        }
      }
    }
  }
}
