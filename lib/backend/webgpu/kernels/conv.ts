/**
 * Convolution and pooling kernels: `convPatches` (im2col, one invocation per patch entry), its
 * adjoint (a gather, one invocation per input element summing in a fixed order, no atomics),
 * `maxPool` and its gradient (also a gather: each input element checks whether it is its window's
 * first maximum). The convolution itself is the existing matmul on the patches. Geometry goes in
 * the uniforms, so one pipeline serves every size.
 *
 * @module
 */

import type { ConvDims, PoolDims } from "../../conv_geometry.ts";
import {
  type Kernel,
  type KernelContext,
  LINEAR_WORKGROUP,
  linearWorkgroups,
  makeKernel,
  WGSL_LINEAR_INDEX,
} from "./kernel.ts";

const CONV_UNIFORMS = [
  ["batch", "u32"],
  ["channels", "u32"],
  ["height", "u32"],
  ["width", "u32"],
  ["kernel", "u32"],
  ["padding", "u32"],
  ["channels_first", "u32"],
  ["out_height", "u32"],
  ["out_width", "u32"],
  ["features", "u32"],
] as const;

const POOL_UNIFORMS = [
  ["batch", "u32"],
  ["channels", "u32"],
  ["height", "u32"],
  ["width", "u32"],
  ["size", "u32"],
  ["out_height", "u32"],
  ["out_width", "u32"],
] as const;

/** Where pixel (y, x) channel c of image b sits in the input's layout. */
const WGSL_PIXEL_INDEX = `
fn pixel_index(b: u32, y: u32, x: u32, c: u32) -> u32 {
  if (p.channels_first != 0u) { return ((b * p.channels + c) * p.height + y) * p.width + x; }
  return ((b * p.height + y) * p.width + x) * p.channels + c;
}`;

function convUniforms(d: ConvDims): number[] {
  return [
    d.batch,
    d.channels,
    d.height,
    d.width,
    d.kernel,
    d.padding,
    d.channelsFirst ? 1 : 0,
    d.outHeight,
    d.outWidth,
    d.features,
  ];
}

/** Kernel `conv_patches`: `out[b·H'·W' + oy·W' + ox, (dy·k + dx)·C + c]`. */
export function convPatchesKernel(): Kernel {
  return makeKernel({
    key: "conv_patches",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: CONV_UNIFORMS,
    buffers: [["x", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_PIXEL_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let e = linear_index(gid, groups);
  let cells = p.out_height * p.out_width;
  if (e >= p.batch * cells * p.features) { return; }
  let row = e / p.features;
  let f = e % p.features;
  let b = row / cells;
  let oy = (row % cells) / p.out_width;
  let ox = row % p.out_width;
  let offset = f / p.channels;
  let c = f % p.channels;
  // Kept unsigned: the pixel is (ys − p, xs − p), inside the image when ys, xs are in p..H + p − 1.
  let ys = oy + offset / p.kernel;
  let xs = ox + offset % p.kernel;
  if (ys < p.padding || ys >= p.height + p.padding || xs < p.padding || xs >= p.width + p.padding) {
    out[e] = 0.0;
  } else {
    out[e] = x[pixel_index(b, ys - p.padding, xs - p.padding, c)];
  }
}`,
  });
}

/** Encodes {@linkcode convPatchesKernel}. */
export function encodeConvPatches(
  ctx: KernelContext,
  x: GPUBuffer,
  out: GPUBuffer,
  dims: ConvDims,
): void {
  const count = dims.batch * dims.outHeight * dims.outWidth * dims.features;
  if (count === 0) return;
  ctx.dispatch(
    "conv_patches",
    convPatchesKernel,
    convUniforms(dims),
    [x, out],
    linearWorkgroups(ctx, count),
  );
}

/**
 * Kernel `conv_patches_adjoint`: input pixel (y, x) channel c sums, over kernel offsets (dy, dx)
 * in row-major order, the entry of the output pixel (y + p − dy, x + p − dx) that copied it.
 */
export function convPatchesAdjointKernel(): Kernel {
  return makeKernel({
    key: "conv_patches_adjoint",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: CONV_UNIFORMS,
    buffers: [["patches", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_PIXEL_INDEX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let e = linear_index(gid, groups);
  let pixels = p.height * p.width;
  if (e >= p.batch * pixels * p.channels) { return; }
  // e enumerates (b, y, x, c) channels-last; the result is written in the input's layout.
  let c = e % p.channels;
  let pixel = (e / p.channels) % pixels;
  let b = e / (p.channels * pixels);
  let y = pixel / p.width;
  let x = pixel % p.width;
  var total = 0.0;
  for (var dy = 0u; dy < p.kernel; dy++) {
    // oy = y + p − dy, kept unsigned: skip when y + p < dy or beyond the output.
    if (y + p.padding < dy || y + p.padding - dy >= p.out_height) { continue; }
    let oy = y + p.padding - dy;
    for (var dx = 0u; dx < p.kernel; dx++) {
      if (x + p.padding < dx || x + p.padding - dx >= p.out_width) { continue; }
      let ox = x + p.padding - dx;
      let row = (b * p.out_height + oy) * p.out_width + ox;
      total += patches[row * p.features + (dy * p.kernel + dx) * p.channels + c];
    }
  }
  out[pixel_index(b, y, x, c)] = total;
}`,
  });
}

/** Encodes {@linkcode convPatchesAdjointKernel}. */
export function encodeConvPatchesAdjoint(
  ctx: KernelContext,
  patches: GPUBuffer,
  out: GPUBuffer,
  dims: ConvDims,
): void {
  const count = dims.batch * dims.height * dims.width * dims.channels;
  if (count === 0) return;
  ctx.dispatch(
    "conv_patches_adjoint",
    convPatchesAdjointKernel,
    convUniforms(dims),
    [patches, out],
    linearWorkgroups(ctx, count),
  );
}

/** The first maximum of window (oy, ox), channel c, of image b: its index in x. */
const WGSL_WINDOW_ARGMAX = `
fn window_argmax(b: u32, oy: u32, ox: u32, c: u32) -> u32 {
  var best = ((b * p.height + oy * p.size) * p.width + ox * p.size) * p.channels + c;
  for (var wy = 0u; wy < p.size; wy++) {
    for (var wx = 0u; wx < p.size; wx++) {
      let at = ((b * p.height + oy * p.size + wy) * p.width + ox * p.size + wx) * p.channels + c;
      if (x[at] > x[best]) { best = at; }
    }
  }
  return best;
}`;

function poolUniforms(d: PoolDims): number[] {
  return [d.batch, d.channels, d.height, d.width, d.size, d.outHeight, d.outWidth];
}

/** Kernel `max_pool`: one invocation per output element. */
export function maxPoolKernel(): Kernel {
  return makeKernel({
    key: "max_pool",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: POOL_UNIFORMS,
    buffers: [["x", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_WINDOW_ARGMAX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let e = linear_index(gid, groups);
  let cells = p.out_height * p.out_width;
  if (e >= p.batch * cells * p.channels) { return; }
  let c = e % p.channels;
  let cell = (e / p.channels) % cells;
  let b = e / (p.channels * cells);
  out[e] = x[window_argmax(b, cell / p.out_width, cell % p.out_width, c)];
}`,
  });
}

/** Encodes {@linkcode maxPoolKernel}. */
export function encodeMaxPool(
  ctx: KernelContext,
  x: GPUBuffer,
  out: GPUBuffer,
  dims: PoolDims,
): void {
  const count = dims.batch * dims.outHeight * dims.outWidth * dims.channels;
  if (count === 0) return;
  ctx.dispatch(
    "max_pool",
    maxPoolKernel,
    poolUniforms(dims),
    [x, out],
    linearWorkgroups(ctx, count),
  );
}

/** Kernel `max_pool_backward`: one invocation per input element. */
export function maxPoolBackwardKernel(): Kernel {
  return makeKernel({
    key: "max_pool_backward",
    workgroupSize: [LINEAR_WORKGROUP, 1, 1],
    uniforms: POOL_UNIFORMS,
    buffers: [["x", "read"], ["dy", "read"], ["out", "write"]],
    body: `
${WGSL_LINEAR_INDEX}
${WGSL_WINDOW_ARGMAX}
@compute @workgroup_size(${LINEAR_WORKGROUP}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let e = linear_index(gid, groups);
  let pixels = p.height * p.width;
  if (e >= p.batch * pixels * p.channels) { return; }
  let c = e % p.channels;
  let pixel = (e / p.channels) % pixels;
  let b = e / (p.channels * pixels);
  let oy = (pixel / p.width) / p.size;
  let ox = (pixel % p.width) / p.size;
  var grad = 0.0;
  if (oy < p.out_height && ox < p.out_width && window_argmax(b, oy, ox, c) == e) {
    grad = dy[((b * p.out_height + oy) * p.out_width + ox) * p.channels + c];
  }
  out[e] = grad;
}`,
  });
}

/** Encodes {@linkcode maxPoolBackwardKernel}. */
export function encodeMaxPoolBackward(
  ctx: KernelContext,
  x: GPUBuffer,
  dy: GPUBuffer,
  out: GPUBuffer,
  dims: PoolDims,
): void {
  const count = dims.batch * dims.height * dims.width * dims.channels;
  if (count === 0) return;
  ctx.dispatch(
    "max_pool_backward",
    maxPoolBackwardKernel,
    poolUniforms(dims),
    [x, dy, out],
    linearWorkgroups(ctx, count),
  );
}
